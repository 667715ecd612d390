// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { LocalBucketStore, parseS3Arn, SpoolDeliverer, type ObjectStore } from './delivery.ts'

const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mf-delivery-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
function walk(d: string): string[] {
  if (!existsSync(d)) return []
  return readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]))
}

describe('delivery', () => {
  test('parseS3Arn', () => {
    assert.deepEqual(parseS3Arn('arn:aws:s3:::my-bucket/prefix/x/'), {
      bucket: 'my-bucket',
      prefix: 'prefix/x',
    })
    assert.deepEqual(parseS3Arn('arn:aws:s3:::my-bucket'), { bucket: 'my-bucket', prefix: '' })
    assert.throws(() => parseS3Arn('s3://bucket'), { code: 'MF_FLOWLOGS_DESTINATION' })
  })

  test('a destination that is down keeps objects in the spool and retries with back-off until delivered', async () => {
    const d = tmp()
    let down = true
    const local = new LocalBucketStore(join(d, 's3'))
    const flaky: ObjectStore = {
      kind: 'flaky',
      put: async (bucket, key, file) => {
        if (down) throw new Error('connection refused')
        await local.put(bucket, key, file)
      },
    }
    const delivered: string[] = []
    const dv = new SpoolDeliverer(join(d, 'spool'), flaky, (_fl, bucket, key) =>
      delivered.push(`${bucket}/${key}`),
    )
    const spool = dv.spoolFor('fl-0123456789abcdef0', 'bkt')
    mkdirSync(join(spool, 'AWSLogs', '1', 'vpcflowlogs'), { recursive: true })
    writeFileSync(join(spool, 'AWSLogs', '1', 'vpcflowlogs', 'a.log.gz'), 'x')
    dv.kick()
    for (let i = 0; i < 50 && dv.stats.failures === 0; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(dv.stats.failures, 1)
    assert.equal(dv.stats.backoffSeconds, 1)
    assert.equal(walk(join(d, 'spool')).length, 1)
    down = false
    for (let i = 0; i < 300 && dv.stats.delivered === 0; i++) await new Promise((r) => setTimeout(r, 10))
    await dv.close()
    assert.deepEqual(delivered, ['bkt/AWSLogs/1/vpcflowlogs/a.log.gz'])
    assert.equal(readFileSync(join(d, 's3', 'bkt', 'AWSLogs', '1', 'vpcflowlogs', 'a.log.gz'), 'utf8'), 'x')
    assert.equal(walk(join(d, 'spool')).length, 0)
  })
})
