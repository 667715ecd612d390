// test-group: process
// SPDX-License-Identifier: Apache-2.0
/**
 * `AwsBatch` (test/helpers/aws-batch.ts): the real /usr/bin/aws, many commands in one Python process,
 * each with its own environment. Commands of one batch that carry different keys are signed as
 * different callers, in any order: nothing of one command's credentials (keys, session, profile)
 * is left for the next, and the batch's own environment comes back after each override.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { cliEnv, startApiTestServer, type ApiTestServer } from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

const ACCOUNT = '123456789012'
let srv: ApiTestServer
let cli: AwsBatch

interface Key {
  AccessKeyId: string
  SecretAccessKey: string
}

function keyEnv(key: Key): Record<string, string | undefined> {
  return {
    AWS_PROFILE: undefined,
    AWS_ACCESS_KEY_ID: key.AccessKeyId,
    AWS_SECRET_ACCESS_KEY: key.SecretAccessKey,
    AWS_DEFAULT_REGION: srv.region,
  }
}

async function whoAmI(env: Record<string, string | undefined>): Promise<string> {
  const r = await cli.runAs(env, 'sts', 'get-caller-identity')
  assert.equal(r.code, 0, r.stderr)
  return (r.json as { Arn: string }).Arn
}

async function user(name: string): Promise<Key> {
  const c = await cli.run('iam', 'create-user', '--user-name', name)
  assert.equal(c.code, 0, c.stderr)
  const k = await cli.run('iam', 'create-access-key', '--user-name', name)
  assert.equal(k.code, 0, k.stderr)
  return (k.json as { AccessKey: Key }).AccessKey
}

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-aws-batch', accountId: ACCOUNT })
  cli = new AwsBatch(cliEnv(srv.dataDir), srv.url)
})

after(async () => {
  await cli?.close()
  await srv?.close()
})

test('two commands of one batch with different keys are signed as different callers; the profile comes back', async () => {
  const alice = await user('alice')
  const bob = await user('bob')
  assert.notEqual(alice.AccessKeyId, bob.AccessKeyId)
  const admin = `arn:aws:iam::${ACCOUNT}:user/admin`
  assert.equal(await whoAmI({}), admin)
  assert.equal(await whoAmI(keyEnv(alice)), `arn:aws:iam::${ACCOUNT}:user/alice`)
  assert.equal(await whoAmI(keyEnv(bob)), `arn:aws:iam::${ACCOUNT}:user/bob`)
  assert.equal(await whoAmI(keyEnv(alice)), `arn:aws:iam::${ACCOUNT}:user/alice`)
  // The override is gone after its command: the batch's profile (the admin) signs again.
  assert.equal(await whoAmI({}), admin)
  assert.equal(await whoAmI(keyEnv(bob)), `arn:aws:iam::${ACCOUNT}:user/bob`)
  // Bob's key id with a wrong secret right after a good one: the secret was not kept either.
  const wrong = await cli.runAs(
    keyEnv({ AccessKeyId: bob.AccessKeyId, SecretAccessKey: alice.SecretAccessKey }),
    'sts',
    'get-caller-identity',
  )
  assert.equal(wrong.code, 254, wrong.stderr)
  assert.match(wrong.stderr, /An error occurred \(SignatureDoesNotMatch\) when calling the GetCallerIdentity/)
  assert.equal(cli.runs, 11)
})

test('a variable unset for one command is back for the next, with its value', async () => {
  const none = await cli.runAs(
    {
      AWS_PROFILE: undefined,
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_DEFAULT_REGION: srv.region,
    },
    'sts',
    'get-caller-identity',
  )
  assert.equal(none.code, 253, `${none.code} ${none.stderr}`)
  assert.match(none.stderr, /Unable to locate credentials/)
  assert.equal(await whoAmI({}), `arn:aws:iam::${ACCOUNT}:user/admin`)
})
