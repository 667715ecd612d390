// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// The key of the encoded authorization messages and STS's temporary credentials survive a restart:
// kept in the data directory (mode 0600); expired sessions and damaged lines are dropped on load.
import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ControlPlane, MESSAGE_KEY_FILE, SESSIONS_FILE, SqliteStore } from '../../control/index.ts'
import { decodeAuthorizationMessage, encodeAuthorizationMessage } from './messages.ts'

const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
  ],
})

function open(dir: string): ControlPlane {
  const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
  cp.iam.persistIn(dir)
  return cp
}

test('a restart keeps the message key and the temporary credentials in force, and only those', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-iam-persist-'))
  try {
    const cp = open(dir)
    const role = cp.iam.createRole('ops', '/', trust, '', 3600, [])
    const live = cp.iam.assumeRole(role, 'day', 3600)
    const short = cp.iam.assumeRole(role, 'brief', 900)
    const message = encodeAuthorizationMessage(cp.iam.messageKey, { allowed: false })
    cp.close()
    for (const f of [MESSAGE_KEY_FILE, SESSIONS_FILE])
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f)
    // A line cut by a crash, and one that is not a session, are skipped.
    appendFileSync(join(dir, SESSIONS_FILE), '{"accessKeyId":"ASIA\n{"accessKeyId":"AKIAXXXXXXXXXXXXXXXX"}\n')

    // 20 minutes later: the 15-minute session has expired and is not loaded.
    const later = Date.now() + 20 * 60_000
    const again = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
    try {
      again.iam.persistIn(dir, later)
      assert.equal(decodeAuthorizationMessage(again.iam.messageKey, message), '{"allowed":false}')
      assert.equal(again.iam.checkSession(live.accessKeyId, live.sessionToken, later), undefined)
      assert.equal(again.iam.checkSession(live.accessKeyId, 'wrong', later), 'InvalidToken')
      assert.equal(again.iam.secretOf(live.accessKeyId), live.secretAccessKey)
      assert.equal(
        again.iam.principalOf(live.accessKeyId)?.arn,
        'arn:aws:sts::123456789012:assumed-role/ops/day',
      )
      assert.equal(again.iam.session(short.accessKeyId), undefined)
      assert.equal(again.iam.persistence?.errors, 0)
      // The file was compacted to what is in force.
      const lines = readFileSync(join(dir, SESSIONS_FILE), 'utf8').trim().split('\n')
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { accessKeyId: string }).accessKeyId),
        [live.accessKeyId],
      )
    } finally {
      again.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a server without a data directory keeps both in memory; a message of another key does not decode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-iam-mem-'))
  try {
    const a = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
    const b = open(dir)
    const m = encodeAuthorizationMessage(a.iam.messageKey, { allowed: false })
    assert.equal(a.iam.persistence, undefined)
    assert.equal(decodeAuthorizationMessage(b.iam.messageKey, m), undefined)
    a.close()
    b.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
