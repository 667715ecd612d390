// SPDX-License-Identifier: Apache-2.0
// test-group: fast
// A server's bucket directory appears with its first flow-log delivery: until then the console's
// roll-up answers with nothing (it answered every Overview question with an internal error).
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { test } from 'node:test'
import { FlowRollup } from './console-rollup.ts'

test('a store root that does not exist yet holds nothing; its first object is read once it appears', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mf-rollup-empty-'))
  const bucket = join(root, 's3')
  const store = new FlowRollup([bucket], { refreshMs: 0, background: false })
  try {
    const t0 = Date.UTC(2026, 11, 3, 10) / 1000
    const f = { from: t0, to: t0 + 600 }
    const empty = await store.traffic(f, undefined, 5)
    assert.deepEqual(empty.talkers, [])
    assert.equal((await store.search({ ...f, sort: 'start', order: 'desc', pageSize: 5 })).total, 0)
    assert.equal((await store.caughtUp()).objects, 0)

    const dir = join(bucket, 'AWSLogs', '123456789012', 'vpcflowlogs', 'us-east-1', '2026', '12', '03')
    mkdirSync(dir, { recursive: true })
    const lines = [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      `2 123456789012 eni-00000000000000001 10.0.0.1 10.1.0.1 30000 443 6 3 210 ${t0 + 5} ${t0 + 10} ACCEPT OK`,
    ]
    writeFileSync(
      join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261203T1000Z_a.log.gz'),
      gzipSync(lines.join('\n') + '\n'),
    )
    const stats = await store.caughtUp()
    assert.equal(stats.objects, 1)
    assert.equal(stats.records, 1)
    const got = await store.traffic(f, undefined, 5)
    assert.deepEqual(
      got.talkers.map((t) => [t.address, t.bytes]),
      [['10.0.0.1', 210]],
    )
  } finally {
    store.close()
    rmSync(root, { recursive: true, force: true })
  }
})
