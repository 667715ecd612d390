// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 1 (writer side): every writer of a path derived from the API or the wire stays inside its
// root, and an object that cannot be written is counted and reported, never lost silently.
import assert from 'node:assert/strict'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { hasCode } from '../errors.ts'
import { FlowAggregator } from './aggregator.ts'
import { LocalBucketStore, parseS3Arn, SpoolDeliverer, type ObjectStore } from './delivery.ts'
import { S3DirectoryDestination, type S3DirectoryOptions } from './destination.ts'
import type { FlowLogsWriteError } from './errors.ts'
import { parseLogFormat } from './log-format.ts'
import { synthBatch } from './testing.ts'

const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mf-confined-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
function files(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root).flatMap((n) => {
    const p = join(root, n)
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

/** Three records (three flows) in one 5-minute window, through a real aggregator. */
function writeRecords(dest: S3DirectoryDestination): void {
  const agg = new FlowAggregator({
    interfaces: [{ interfaceId: 'eni-1', accountId: '123456789012' }],
    maxAggregationInterval: 60,
    onRecords: (b) => dest.write(b),
  })
  const T = 1_700_000_100
  agg.addBatch(
    synthBatch(
      [1, 2, 3].map((p) => ({
        src: '10.0.0.1',
        dst: '10.0.0.2',
        proto: 17,
        sport: p,
        dport: 53,
        ipLength: 40,
        ts: T,
      })),
    ),
  )
  agg.finish()
}

function destination(dir: string, over: Partial<S3DirectoryOptions> = {}): S3DirectoryDestination {
  return new S3DirectoryDestination({
    dir,
    format: parseLogFormat(),
    accountId: '123456789012',
    region: 'us-east-1',
    flowLogId: 'fl-0123456789abcdef0',
    ...over,
  })
}

describe('parseS3Arn: the prefix names a folder inside the bucket', () => {
  const refused = [
    'arn:aws:s3:::bucket/../../../../outside',
    'arn:aws:s3:::bucket/../../x',
    'arn:aws:s3:::bucket/a/../../b',
    'arn:aws:s3:::bucket/./x',
    'arn:aws:s3:::bucket//x',
    'arn:aws:s3:::bucket/a//b',
    'arn:aws:s3:::bucket/..',
    'arn:aws:s3:::a..b/x',
    `arn:aws:s3:::bucket/${'x'.repeat(1100)}`,
    's3://bucket',
  ]
  for (const arn of refused) {
    test(`refuses ${arn.slice(0, 60)}`, () =>
      assert.throws(
        () => parseS3Arn(arn),
        (e: unknown) => hasCode(e, 'MF_FLOWLOGS_DESTINATION'),
      ))
  }
  test('accepts a nested prefix, with trailing slashes dropped', () => {
    assert.deepEqual(parseS3Arn('arn:aws:s3:::my.bucket-1/a/b.c/..d/'), {
      bucket: 'my.bucket-1',
      prefix: 'a/b.c/..d',
    })
  })
})

describe('S3DirectoryDestination stays inside its directory', () => {
  test('a prefix with .. is refused when the destination is made, nothing is written outside', async () => {
    const root = tmp()
    const dir = join(root, 'spool', 'fl-0123456789abcdef0', 'bucket')
    for (const prefix of ['../../outside', '../x', 'a/../../..', '/abs/olute', 'a//b']) {
      assert.throws(
        () => destination(dir, { prefix }),
        (e: unknown) => hasCode(e, 'MF_FLOWLOGS_DESTINATION'),
        prefix,
      )
    }
    assert.deepEqual(files(root), [])
  })

  test('a symbolic link inside the directory is not followed: refused, counted, reported', async () => {
    const root = tmp()
    const dir = join(root, 'bucket')
    const outside = join(root, 'outside')
    mkdirSync(dir)
    mkdirSync(outside)
    symlinkSync(outside, join(dir, 'AWSLogs'))
    const errors: [FlowLogsWriteError, number][] = []
    const dest = destination(dir, { onWriteError: (e, n) => errors.push([e, n]) })
    writeRecords(dest)
    await dest.close()
    assert.deepEqual(files(outside), [])
    assert.equal(dest.stats.writeErrors, 1)
    assert.equal(dest.stats.droppedRecords, 3)
    assert.equal(dest.stats.objects, 0)
    assert.equal(errors.length, 1)
    assert.equal(errors[0]![0].code, 'MF_FLOWLOGS_WRITE')
    assert.equal(errors[0]![0].reason, 'refused-path')
    assert.equal(errors[0]![1], 3)
    assert.match(dest.stats.lastWriteError ?? '', /refused .*AWSLogs: a symbolic link/)
  })

  test('an over-long prefix segment loses no record silently: ENAMETOOLONG counted with its records', async () => {
    const dir = tmp()
    const dest = destination(dir, { prefix: 'x'.repeat(300) })
    writeRecords(dest)
    await dest.flush() // resolves: a failed object is counted, never thrown
    assert.equal(dest.stats.writeErrors, 1)
    assert.equal(dest.stats.droppedRecords, 3)
    assert.match(dest.stats.lastWriteError ?? '', /ENAMETOOLONG|300 bytes/)
    assert.deepEqual(files(dir), [])
  })

  test('a file where a folder should be: refused and counted, the next object still written', async () => {
    const dir = tmp()
    writeFileSync(join(dir, 'AWSLogs'), 'not a folder')
    const dest = destination(dir, { prefix: 'ok' })
    writeRecords(dest)
    await dest.flush()
    assert.equal(dest.stats.writeErrors, 0)
    assert.equal(dest.stats.objects, 1)
    const bad = destination(dir)
    writeRecords(bad)
    await bad.flush()
    assert.equal(bad.stats.writeErrors, 1)
    assert.equal(bad.stats.droppedRecords, 3)
  })
})

test('an interface id that could name a path (the agent journals per interface id) is refused', () => {
  for (const interfaceId of ['../../outside', 'a/b', '..', '.', 'x\0y', 'i'.repeat(256)]) {
    assert.throws(
      () =>
        new FlowAggregator({
          interfaces: [{ interfaceId, accountId: '123456789012' }],
          onRecords: () => {},
        }),
      (e: unknown) => hasCode(e, 'MF_FLOWLOGS_CONFIG'),
      interfaceId.slice(0, 20),
    )
  }
  assert.doesNotThrow(
    () =>
      new FlowAggregator({
        interfaces: [{ interfaceId: 'vni-7@2001:db8::1', accountId: '123456789012' }],
        onRecords: () => {},
      }),
  )
})

describe('LocalBucketStore and SpoolDeliverer stay inside their roots', () => {
  test('a key with .. or an absolute path is refused; nothing is written outside the root', async () => {
    const d = tmp()
    const src = join(d, 'object')
    writeFileSync(src, 'x')
    const store = new LocalBucketStore(join(d, 's3'))
    for (const [bucket, key] of [
      ['bkt', '../../outside/x.log.gz'],
      ['bkt', 'a/../../../x.log.gz'],
      ['bkt', '/etc/x.log.gz'],
      ['..', 'x.log.gz'],
      ['bkt', 'a//x.log.gz'],
    ] as const) {
      await assert.rejects(
        store.put(bucket, key, src),
        (e: unknown) => hasCode(e, 'MF_FLOWLOGS_WRITE'),
        `${bucket}/${key}`,
      )
    }
    assert.deepEqual(
      files(d).map((f) => f.slice(d.length)),
      ['/object'],
    )
  })

  test('a link planted in the bucket directory is not followed', async () => {
    const d = tmp()
    const outside = join(d, 'outside')
    mkdirSync(outside)
    mkdirSync(join(d, 's3', 'bkt'), { recursive: true })
    symlinkSync(outside, join(d, 's3', 'bkt', 'AWSLogs'))
    const src = join(d, 'object')
    writeFileSync(src, 'x')
    await assert.rejects(
      new LocalBucketStore(join(d, 's3')).put('bkt', 'AWSLogs/1/x.log.gz', src),
      (e: unknown) => hasCode(e, 'MF_FLOWLOGS_WRITE'),
    )
    assert.deepEqual(files(outside), [])
  })

  test('spoolFor refuses a flow-log id or bucket that is not one', () => {
    const dv = new SpoolDeliverer(join(tmp(), 'spool'), new LocalBucketStore(tmp()))
    for (const [id, bucket] of [
      ['..', 'bkt'],
      ['fl-0123456789abcdef0/../..', 'bkt'],
      ['fl-0123456789abcdef0', '..'],
      ['fl-0123456789abcdef0', 'a/b'],
    ] as const) {
      assert.throws(
        () => dv.spoolFor(id, bucket),
        (e: unknown) => hasCode(e, 'MF_FLOWLOGS_DESTINATION'),
      )
    }
  })

  test('an object the store can never take is counted as rejected and does not hold back the others', async () => {
    const d = tmp()
    const s3 = join(d, 's3')
    mkdirSync(join(s3, 'bad'), { recursive: true })
    symlinkSync(join(d, 'elsewhere'), join(s3, 'bad', 'AWSLogs'))
    const dv = new SpoolDeliverer(join(d, 'spool'), new LocalBucketStore(s3))
    for (const bucket of ['bad', 'good']) {
      const dir = join(dv.spoolFor('fl-0123456789abcdef0', bucket), 'AWSLogs', '1')
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `${bucket === 'bad' ? 'a' : 'b'}.log.gz`), bucket)
    }
    dv.kick()
    await dv.close()
    assert.equal(dv.stats.rejected, 1)
    assert.equal(dv.stats.delivered, 1)
    assert.equal(dv.stats.failures, 0)
    assert.match(dv.stats.lastError ?? '', /refused/)
    assert.deepEqual(files(join(d, 'spool')), [])
    assert.ok(existsSync(join(s3, 'good', 'AWSLogs', '1', 'b.log.gz')))
  })

  test('a failure a retry may cure (the store is down) keeps the object for the retry', async () => {
    const d = tmp()
    const down: ObjectStore = {
      kind: 'down',
      put: () => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })),
    }
    const dv = new SpoolDeliverer(join(d, 'spool'), down)
    const dir = dv.spoolFor('fl-0123456789abcdef0', 'bkt')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'x.log.gz'), 'x')
    dv.kick()
    await dv.close()
    assert.equal(dv.stats.failures, 1)
    assert.equal(dv.stats.rejected, 0)
    assert.equal(files(join(d, 'spool')).length, 1)
  })
})
