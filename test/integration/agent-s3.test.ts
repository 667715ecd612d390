// SPDX-License-Identifier: Apache-2.0
// test-group: process
// Flow-log delivery to an S3-compatible endpoint (s3rver on loopback) through @aws-sdk/client-s3:
// while the endpoint is down, objects stay in the spool and are retried with back-off; once it is
// up they are delivered under the exact key, byte for byte, and leave the spool.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import S3rver from 's3rver'
import { S3EndpointStore, SpoolDeliverer } from '../../src/flowlogs/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-agent-s3-'))
let s3: S3rver | null = null
after(async () => {
  if (s3 !== null) await s3.close()
  rmSync(dir, { recursive: true, force: true })
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

function walk(d: string): string[] {
  try {
    return readdirSync(d).flatMap((n) =>
      statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)],
    )
  } catch {
    return []
  }
}

test('spooled flow-log objects reach an S3-compatible endpoint once it is up', async () => {
  // s3rver's default key pair; the agent's S3 client uses the standard AWS credential chain.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  const delivered: string[] = []
  const dv = new SpoolDeliverer(join(dir, 'spool'), new S3EndpointStore(endpoint, 'us-east-1'), (_f, b, k) =>
    delivered.push(`${b}/${k}`),
  )
  const key =
    'pfx/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/25/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261125T2210Z_0badcafe.log.gz'
  const spoolFile = join(dv.spoolFor('fl-0123456789abcdef0', 'flow-bucket'), ...key.split('/'))
  mkdirSync(join(spoolFile, '..'), { recursive: true })
  const body = Buffer.from('version account-id\n2 123456789012\n')
  writeFileSync(spoolFile, body)
  dv.kick()
  for (let i = 0; i < 200 && dv.stats.failures === 0; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(dv.stats.failures, 1, 'the first attempt fails: nothing listens')
  assert.deepEqual(walk(join(dir, 'spool')), [spoolFile])
  s3 = new S3rver({
    port,
    address: '127.0.0.1',
    directory: join(dir, 's3rver'),
    silent: true,
    configureBuckets: [{ name: 'flow-bucket', configs: [] }],
  })
  await s3.run()
  for (let i = 0; i < 500 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
  await dv.close()
  assert.deepEqual(delivered, [`flow-bucket/${key}`])
  assert.deepEqual(walk(join(dir, 'spool')), [])
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true })
  const got = await client.send(new GetObjectCommand({ Bucket: 'flow-bucket', Key: key }))
  assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body)
  client.destroy()
})
