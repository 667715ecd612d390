// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// Issue 13: a data directory written before IAM users keeps every key working — each key gets a user
// with its old role's policy (admin → AdministratorAccess, user → MirrorflowUserAccess, agent →
// MirrorflowAgentAccess), once; and the authorization step decides for each as the old roles did.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import Database from 'better-sqlite3'
import { ApiError, ControlPlane, SqliteStore } from '../../control/index.ts'
import type { ServiceEndpoint } from '../protocols/index.ts'
import { Authorizer } from './authorize.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-iam-upgrade-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** The key table as the previous version wrote it (no user or status columns). */
function writeLegacyStore(): void {
  const db = new Database(join(dir, 'control.sqlite'))
  db.exec(`
    CREATE TABLE resources (id TEXT PRIMARY KEY, kind TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, secret_access_key TEXT NOT NULL, created_at TEXT NOT NULL,
      admin INTEGER NOT NULL, description TEXT NOT NULL, role TEXT, instance_id TEXT);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('version', '7');
  `)
  const ins = db.prepare('INSERT INTO access_keys VALUES (?, ?, ?, ?, ?, ?, ?)')
  ins.run(
    'AKIAADMINADMINADMIN2',
    'secret-admin',
    '2026-01-01T00:00:00.000Z',
    1,
    'admin key created at first start',
    null,
    null,
  )
  ins.run('AKIAUSERUSERUSERUSE2', 'secret-user', '2026-01-02T00:00:00.000Z', 0, 'ops', 'user', null)
  ins.run(
    'AKIAOLDUSEROLDUSERO2',
    'secret-old',
    '2026-01-03T00:00:00.000Z',
    0,
    'from before roles',
    null,
    null,
  )
  ins.run(
    'AKIAAGENTAGENTAGENT2',
    'secret-agent',
    '2026-01-04T00:00:00.000Z',
    0,
    'host-1',
    'agent',
    'i-0123456789abcdef0',
  )
  db.close()
}

const ec2 = { signingName: 'ec2', protocol: 'ec2-query', iamPrefix: 'ec2' } as ServiceEndpoint

function decide(a: Authorizer, key: string, action: string, prefix?: string): string {
  try {
    a.check(
      ec2,
      { action, ...(prefix === undefined ? {} : { prefix }) },
      { accessKeyId: key, headers: {}, sourceIp: '127.0.0.1' },
    )
    return 'allowed'
  } catch (e) {
    assert.ok(e instanceof ApiError)
    return e.awsCode
  }
}

test('every key of a store from before IAM users keeps working, with its old role', () => {
  writeLegacyStore()
  const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
  try {
    const users = new Map(cp.iam.list().map((k) => [k.accessKeyId, k.userName]))
    assert.equal(users.get('AKIAADMINADMINADMIN2'), 'admin-AKIAADMINADMINADMIN2')
    assert.equal(users.get('AKIAAGENTAGENTAGENT2'), 'agent-AKIAAGENTAGENTAGENT2')
    assert.equal(users.get('AKIAOLDUSEROLDUSERO2'), 'user-AKIAOLDUSEROLDUSERO2')
    assert.equal(cp.iam.secretOf('AKIAUSERUSERUSERUSE2'), 'secret-user')
    assert.deepEqual(cp.iam.user('agent-AKIAAGENTAGENTAGENT2').attached, [
      'arn:aws:iam::aws:policy/mirrorflow/MirrorflowAgentAccess',
    ])
    assert.equal(cp.iam.get('AKIAAGENTAGENTAGENT2')?.instanceId, 'i-0123456789abcdef0')
    const a = new Authorizer(cp)
    // The admin key: everything, making keys too.
    assert.equal(decide(a, 'AKIAADMINADMINADMIN2', 'CreateAccessKey', 'mirrorflow'), 'allowed')
    assert.equal(decide(a, 'AKIAADMINADMINADMIN2', 'CreateUser', 'iam'), 'allowed')
    // User keys (with a role, and from before roles): everything but keys and IAM.
    for (const k of ['AKIAUSERUSERUSERUSE2', 'AKIAOLDUSEROLDUSERO2']) {
      assert.equal(decide(a, k, 'CreateTrafficMirrorSession'), 'allowed')
      assert.equal(decide(a, k, 'DescribeStatus', 'mirrorflow'), 'allowed')
      assert.equal(decide(a, k, 'CreateAccessKey', 'mirrorflow'), 'UnauthorizedOperation')
      assert.equal(decide(a, k, 'ListAccessKeys', 'mirrorflow'), 'UnauthorizedOperation')
    }
    // The agent key: reads and its own registration only.
    assert.equal(decide(a, 'AKIAAGENTAGENTAGENT2', 'DescribeTrafficMirrorSessions'), 'allowed')
    assert.equal(decide(a, 'AKIAAGENTAGENTAGENT2', 'RegisterInstance', 'mirrorflow'), 'allowed')
    assert.equal(decide(a, 'AKIAAGENTAGENTAGENT2', 'GetDesiredState', 'mirrorflow'), 'allowed')
    assert.equal(decide(a, 'AKIAAGENTAGENTAGENT2', 'ReportAgentStatus', 'mirrorflow'), 'allowed')
    assert.equal(decide(a, 'AKIAAGENTAGENTAGENT2', 'CreateTrafficMirrorSession'), 'UnauthorizedOperation')
    assert.equal(
      decide(a, 'AKIAAGENTAGENTAGENT2', 'RegisterLoadBalancer', 'mirrorflow'),
      'UnauthorizedOperation',
    )
    assert.equal(decide(a, 'AKIANOSUCHKEYNOSUCH2', 'DescribeVpcs'), 'AuthFailure')
  } finally {
    cp.close()
  }
  // A second start adds nothing: the users exist.
  const again = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
  try {
    assert.equal(again.iam.users().length, 4)
    assert.equal(again.iam.get('AKIAADMINADMINADMIN2')?.userName, 'admin-AKIAADMINADMINADMIN2')
  } finally {
    again.close()
  }
})
