// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// The event store's bounds and lookups; trail delivery in AWS's key layout; digests that detect tampering.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { LocalBucketStore } from '../../flowlogs/index.ts'
import { ControlPlane } from '../control-plane.ts'
import { ApiError } from '../core/errors.ts'
import type { ChangeSet, ControlStore, StoreSnapshot } from '../core/store.ts'
import { DIGEST_PUBLIC_KEY_FILE, validateTrailFiles } from './digest.ts'
import { EVENT_VERSION, type CloudTrailRecord } from './model.ts'
import type { RenderedEvent } from './event-log.ts'
import { EventStore, type EventQuery, type EventRow } from './event-store.ts'

class MemStore implements ControlStore {
  load(): StoreSnapshot {
    return { resources: [], idempotency: [], accessKeys: [], version: 0 }
  }
  commit(_c: ChangeSet): void {}
  close(): void {}
}

function event(name: string, i: number, extra: Partial<CloudTrailRecord> = {}): RenderedEvent {
  const record: CloudTrailRecord = {
    eventVersion: EVENT_VERSION,
    userIdentity: {
      type: 'IAMUser',
      accountId: '123456789012',
      accessKeyId: `AKIA${String(i).padStart(16, '0')}`,
      userName: `u${i % 3}`,
    },
    eventTime: new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: name,
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    userAgent: 'test',
    requestParameters: { vpcId: `vpc-${String(i).padStart(17, '0')}` },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `ev-${i}`,
    readOnly: name.startsWith('Describe'),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '123456789012',
    eventCategory: 'Management',
    ...extra,
  }
  return {
    record,
    resources: [{ type: 'AWS::EC2::VPC', name: `vpc-${String(i).padStart(17, '0')}` }],
    username: record.userIdentity.userName,
  }
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof ApiError) return err.awsCode
    throw err
  }
  return 'none'
}

test('lookups by each attribute, newest first, paged with a token bound to its query', () => {
  const cp = new ControlPlane(new MemStore(), { accountId: '123456789012', region: 'us-east-1' })
  try {
    for (let i = 0; i < 30; i++) cp.cloudtrail.log.add(event(i % 2 === 0 ? 'CreateVpc' : 'DescribeVpcs', i))
    const all = cp.cloudtrail.lookup({ maxResults: 50 })
    assert.equal(all.events.length, 30)
    assert.equal(all.events[0]!.eventId, 'ev-29')
    assert.equal(
      cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'EventName', value: 'CreateVpc' }] }).events.length,
      15,
    )
    assert.equal(
      cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'ReadOnly', value: 'true' }] }).events.length,
      15,
    )
    assert.equal(
      cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'Username', value: 'u1' }] }).events.length,
      10,
    )
    assert.deepEqual(
      cp.cloudtrail
        .lookup({ lookupAttributes: [{ key: 'ResourceName', value: `vpc-${'7'.padStart(17, '0')}` }] })
        .events.map((e) => e.eventId),
      ['ev-7'],
    )
    assert.equal(
      cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'ResourceType', value: 'AWS::EC2::VPC' }] }).events
        .length,
      30,
    )
    assert.equal(
      cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'EventId', value: 'ev-3' }] }).events.length,
      1,
    )
    assert.equal(
      cp.cloudtrail.lookup({
        lookupAttributes: [{ key: 'AccessKeyId', value: `AKIA${'4'.padStart(16, '0')}` }],
      }).events.length,
      1,
    )
    assert.equal(
      cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'EventSource', value: 'ec2.amazonaws.com' }] }).events
        .length,
      30,
    )
    const p1 = cp.cloudtrail.lookup({ maxResults: 20 })
    assert.equal(p1.events.length, 20)
    const p2 = cp.cloudtrail.lookup({ maxResults: 20, nextToken: p1.nextToken })
    assert.equal(p2.events.length, 10)
    assert.equal(p2.nextToken, undefined)
    assert.equal(p2.events[0]!.eventId, 'ev-9')
    assert.equal(
      code(() =>
        cp.cloudtrail.lookup({
          nextToken: p1.nextToken,
          lookupAttributes: [{ key: 'EventName', value: 'x' }],
        }),
      ),
      'InvalidNextTokenException',
    )
    assert.equal(
      code(() => cp.cloudtrail.lookup({ nextToken: 'garbage' })),
      'InvalidNextTokenException',
    )
    assert.equal(
      code(() =>
        cp.cloudtrail.lookup({
          lookupAttributes: [
            { key: 'EventName', value: 'a' },
            { key: 'Username', value: 'b' },
          ],
        }),
      ),
      'InvalidLookupAttributesException',
    )
    assert.equal(
      code(() => cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'Bogus', value: 'a' }] })),
      'InvalidLookupAttributesException',
    )
    assert.equal(
      code(() => cp.cloudtrail.lookup({ startTime: 2000, endTime: 1000 })),
      'InvalidTimeRangeException',
    )
    assert.equal(
      code(() => cp.cloudtrail.lookup({ maxResults: 51 })),
      'InvalidMaxResultsException',
    )
    assert.equal(
      code(() => cp.cloudtrail.lookup({ eventCategory: 'data' })),
      'InvalidEventCategoryException',
    )
    assert.equal(cp.cloudtrail.lookup({ endTime: Date.now() - 3_600_000 }).events.length, 0)
  } finally {
    cp.close()
  }
})

test('the store keeps at most maxEvents, evicting the oldest; a full buffer drops and counts', () => {
  const cp = new ControlPlane(new MemStore(), {
    accountId: '123456789012',
    region: 'us-east-1',
    cloudtrail: { maxEvents: 1000, maxPending: 1500 },
  })
  try {
    for (let i = 0; i < 1600; i++) cp.cloudtrail.log.add(event('CreateVpc', i))
    assert.equal(cp.cloudtrail.log.stats.dropped, 100)
    cp.cloudtrail.log.flush()
    assert.equal(cp.cloudtrail.events.count(), 1000)
    assert.equal(cp.cloudtrail.events.evicted, 500)
    const oldest = cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'EventId', value: 'ev-499' }] })
    assert.equal(oldest.events.length, 0)
    assert.equal(
      cp.cloudtrail.lookup({ lookupAttributes: [{ key: 'EventId', value: 'ev-500' }] }).events.length,
      1,
    )
    // The resource index goes with its events.
    assert.equal(
      cp.cloudtrail.lookup({
        lookupAttributes: [{ key: 'ResourceName', value: `vpc-${'10'.padStart(17, '0')}` }],
      }).events.length,
      0,
    )
  } finally {
    cp.close()
  }
})

test('events older than maxAgeDays go with the batch that finds them, their resources too; newer ones stay', () => {
  const store = new EventStore(undefined, { maxAgeDays: 1 })
  const row = (i: number, time: number): EventRow => ({
    time,
    eventId: `ev-${i}`,
    eventName: 'CreateVpc',
    eventSource: 'ec2.amazonaws.com',
    username: 'u',
    accessKeyId: 'AKIAEXAMPLEEXAMPLE01',
    readOnly: false,
    resources: [{ type: 'AWS::EC2::VPC', name: `vpc-${String(i).padStart(17, '0')}` }],
    json: '{}',
  })
  try {
    const now = Date.now()
    store.insert([row(1, now - 3 * 86_400_000), row(2, now - 1000), row(3, now - 2 * 86_400_000)])
    // The age bound evicts up to the newest old event (seqs go in order of arrival).
    assert.equal(store.count(), 0)
    assert.equal(store.evicted, 3)
    store.insert([row(4, now - 1000), row(5, now)])
    assert.equal(store.count(), 2)
    assert.equal(store.evicted, 3)
    const q = (name: string): number =>
      store.query({
        startTime: 0,
        endTime: now + 1,
        limit: 10,
        attribute: { key: 'ResourceName', value: name },
      }).length
    assert.equal(q(`vpc-${'2'.padStart(17, '0')}`), 0)
    assert.equal(q(`vpc-${'4'.padStart(17, '0')}`), 1)
  } finally {
    store.close()
  }
  // Across blocks: whole blocks of old events go, and the block the bound cuts keeps the rest.
  const many = new EventStore(undefined, { maxAgeDays: 1 })
  try {
    const now = Date.now()
    many.insert(
      Array.from({ length: 1100 }, (_, i) => row(i + 1, i < 1030 ? now - 3 * 86_400_000 : now - 1000)),
    )
    assert.equal(many.count(), 70)
    assert.equal(many.evicted, 1030)
    const db = (many as unknown as { db: { prepare(sql: string): { all(): unknown[] } } }).db
    assert.deepEqual(db.prepare('SELECT block, t_min FROM blocks').all(), [{ block: 2, t_min: now - 1000 }])
    const ids = (name: string): string[] =>
      many
        .query({ startTime: 0, endTime: now, limit: 10, attribute: { key: 'ResourceName', value: name } })
        .map((e) => e.eventId)
    assert.deepEqual(ids(`vpc-${'1030'.padStart(17, '0')}`), [])
    assert.deepEqual(ids(`vpc-${'1031'.padStart(17, '0')}`), ['ev-1031'])
    assert.equal(many.query({ startTime: 0, endTime: now, limit: 100 }).length, 70)
  } finally {
    many.close()
  }
})

test('lookups walk the blocks newest first, paged, skipping by time and filter; an older store is converted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-trail-blocks-'))
  const now = Date.now()
  const row = (i: number, names: string[], over: Partial<EventRow> = {}): EventRow => ({
    time: now - 5000 + i,
    eventId: `ev-${i}`,
    eventName: 'CreateTags',
    eventSource: 'ec2.amazonaws.com',
    username: 'u',
    accessKeyId: 'AKIAEXAMPLEEXAMPLE01',
    readOnly: false,
    resources: names.map((name) => ({ type: 'AWS::EC2::VPC', name })),
    json: `{"i":${i}}`,
    ...over,
  })
  try {
    // A file of the earlier schema, with events: per-column indexes and a resource table.
    const Database = (await import('better-sqlite3')).default
    const old = new Database(join(dir, 'cloudtrail.sqlite'))
    old.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, event_id TEXT NOT NULL,
      event_name TEXT NOT NULL, event_source TEXT NOT NULL, username TEXT, access_key_id TEXT,
      read_only INTEGER NOT NULL, resources TEXT NOT NULL, json TEXT NOT NULL);
      CREATE INDEX events_time ON events(time); CREATE INDEX events_name ON events(event_name, seq);
      CREATE TABLE event_resources (seq INTEGER NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL);
      CREATE INDEX event_resources_name ON event_resources(name, seq);`)
    const put = old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    for (const i of [1, 2, 3]) {
      const r = row(i, [`vpc-old-${i}`], {
        eventName: i === 2 ? 'DeleteVpc' : 'CreateTags',
        readOnly: i === 3,
      })
      put.run(
        i,
        r.time,
        r.eventId,
        r.eventName,
        r.eventSource,
        r.username,
        r.accessKeyId,
        r.readOnly ? 1 : 0,
        // Entries that are not resources are skipped, not fatal.
        i === 1 ? `[null,{},${JSON.stringify(r.resources[0])}]` : JSON.stringify(r.resources),
        r.json,
      )
    }
    old.close()
    const store = new EventStore(dir)
    try {
      const db = (store as unknown as { db: InstanceType<typeof Database> }).db
      // Converted: the old indexes and table gone, the old events found through their block.
      assert.deepEqual(
        db
          .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'event%' ORDER BY name")
          .all()
          .map((r) => (r as { name: string }).name),
        ['events'],
      )
      assert.equal(db.pragma('user_version', { simple: true }), 2)
      const q = (attribute: EventQuery['attribute'], limit: number, more: Partial<EventQuery> = {}) =>
        store
          .query({
            startTime: 0,
            endTime: now,
            limit,
            ...(attribute === undefined ? {} : { attribute }),
            ...more,
          })
          .map((e) => e.eventId)
      assert.deepEqual(q({ key: 'ResourceName', value: 'vpc-old-2' }, 50), ['ev-2'])
      assert.deepEqual(q({ key: 'EventName', value: 'DeleteVpc' }, 50), ['ev-2'])
      assert.deepEqual(q({ key: 'ReadOnly', value: 'true' }, 50), ['ev-3'])
      const rows: EventRow[] = []
      // Seqs 4–3,000 span six blocks of 512; the shared name is in three, a read-only event in one.
      for (let i = 4; i <= 3000; i++)
        rows.push(row(i, [`vpc-${String(i).padStart(17, '0')}`, ...(i % 1400 === 5 ? ['vpc-shared'] : [])]))
      store.insert(rows)
      assert.equal(store.count(), 3000)
      const byName = (name: string, limit: number, beforeSeq?: number) =>
        q({ key: 'ResourceName', value: name }, limit, beforeSeq === undefined ? {} : { beforeSeq })
      assert.deepEqual(byName('vpc-shared', 2), ['ev-2805', 'ev-1405'])
      assert.deepEqual(byName('vpc-shared', 2, 1405), ['ev-5'])
      assert.deepEqual(byName('vpc-shared', 50), ['ev-2805', 'ev-1405', 'ev-5'])
      assert.deepEqual(byName(`vpc-${'4'.padStart(17, '0')}`, 50), ['ev-4'])
      assert.deepEqual(byName('vpc-none', 50), [])
      // A value inside another member, or a prefix of a name, is no match.
      assert.deepEqual(byName('AWS::EC2::VPC', 50), [])
      assert.deepEqual(byName('vpc-shar', 50), [])
      assert.deepEqual(q({ key: 'ResourceType', value: 'AWS::EC2::VPC' }, 2), ['ev-3000', 'ev-2999'])
      assert.deepEqual(q({ key: 'EventId', value: 'ev-700' }, 50), ['ev-700'])
      assert.deepEqual(q({ key: 'ReadOnly', value: 'true' }, 50), ['ev-3'])
      assert.deepEqual(q({ key: 'Username', value: 'nobody' }, 50), [])
      // Time bounds, with and without an attribute.
      assert.deepEqual(
        q({ key: 'ResourceName', value: 'vpc-shared' }, 50, {
          startTime: now - 5000 + 1000,
          endTime: now - 5000 + 2000,
        }),
        ['ev-1405'],
      )
      assert.deepEqual(q(undefined, 3, { startTime: now - 5000 + 1000, endTime: now - 5000 + 1001 }), [
        'ev-1001',
        'ev-1000',
      ])
      assert.deepEqual(q(undefined, 50, { startTime: 0, endTime: now - 5000 }), [])
      // Pages of the whole store, newest first, meet every event once.
      const seen: string[] = []
      let before: number | undefined
      for (;;) {
        const page = store.query({
          startTime: 0,
          endTime: now,
          limit: 50,
          ...(before === undefined ? {} : { beforeSeq: before }),
        })
        if (page.length === 0) break
        seen.push(...page.map((e) => e.eventId))
        before = page[page.length - 1]!.seq
      }
      assert.equal(seen.length, 3000)
      assert.equal(new Set(seen).size, 3000)
      assert.equal(seen[0], 'ev-3000')
      assert.equal(seen[2999], 'ev-1')
      // One filter row a block.
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM blocks').get() as { n: number }).n, 6)
    } finally {
      store.close()
    }
    const raw = () => new Database(join(dir, 'cloudtrail.sqlite'))
    // Opened again, nothing is converted twice: a block row changed by hand stays as it is.
    let db = raw()
    db.prepare('UPDATE blocks SET t_max = t_max + 7 WHERE block = 5').run()
    const marked = (db.prepare('SELECT t_max FROM blocks WHERE block = 5').get() as { t_max: number }).t_max
    db.close()
    const byName = (st: EventStore, name: string) =>
      st
        .query({ startTime: 0, endTime: now, limit: 5, attribute: { key: 'ResourceName', value: name } })
        .map((e) => e.eventId)
    const again = new EventStore(dir)
    try {
      assert.equal(again.count(), 3000)
      assert.deepEqual(byName(again, 'vpc-old-1'), ['ev-1'])
      assert.deepEqual(
        again.query({
          startTime: 0,
          endTime: now,
          limit: 50,
          attribute: { key: 'EventId', value: 'ev-1' },
        })[0]!.resources,
        [{ type: 'AWS::EC2::VPC', name: 'vpc-old-1' }],
      )
    } finally {
      again.close()
    }
    db = raw()
    assert.equal(
      (db.prepare('SELECT t_max FROM blocks WHERE block = 5').get() as { t_max: number }).t_max,
      marked,
    )
    // An earlier build opens the file again: its index comes back and it stores an event without a
    // block. The next open converts again, and the event is found.
    db.exec('CREATE INDEX events_time ON events(time)')
    const late = row(3001, ['vpc-rollback'])
    db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      3001,
      late.time,
      late.eventId,
      late.eventName,
      late.eventSource,
      late.username,
      late.accessKeyId,
      0,
      JSON.stringify(late.resources),
      late.json,
    )
    db.close()
    const third = new EventStore(dir)
    try {
      assert.deepEqual(byName(third, 'vpc-rollback'), ['ev-3001'])
      assert.equal(third.count(), 3001)
    } finally {
      third.close()
    }
    db = raw()
    assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events_time'").get(), undefined)
    db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('trails: names, quota, start/stop, delete', () => {
  const cp = new ControlPlane(new MemStore(), { accountId: '123456789012', region: 'us-east-1' })
  try {
    const t = cp.cloudtrail.trails
    assert.equal(
      code(() => t.create({ name: 'a', s3BucketName: 'bucket' })),
      'InvalidTrailNameException',
    )
    assert.equal(
      code(() => t.create({ name: 'my--trail', s3BucketName: 'bucket' })),
      'InvalidTrailNameException',
    )
    assert.equal(
      code(() => t.create({ name: 'good', s3BucketName: 'Bad_Bucket' })),
      'InvalidS3BucketNameException',
    )
    assert.equal(
      code(() => t.create({ name: 'good', s3BucketName: 'bucket', s3KeyPrefix: 'a/../b' })),
      'InvalidS3PrefixException',
    )
    for (let i = 0; i < 5; i++) t.create({ name: `trail${i}`, s3BucketName: 'bucket' })
    assert.equal(
      code(() => t.create({ name: 'trail0', s3BucketName: 'bucket' })),
      'TrailAlreadyExistsException',
    )
    assert.equal(
      code(() => t.create({ name: 'trail5', s3BucketName: 'bucket' })),
      'MaximumNumberOfTrailsExceededException',
    )
    assert.equal(t.startLogging('arn:aws:cloudtrail:us-east-1:123456789012:trail/trail1').isLogging, true)
    assert.equal(t.stopLogging('trail1').isLogging, false)
    t.delete('trail1')
    assert.equal(
      code(() => t.get('trail1')),
      'TrailNotFoundException',
    )
  } finally {
    cp.close()
  }
})

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n)
    if (statSync(p).isDirectory()) filesUnder(p, out)
    else out.push(p)
  }
  return out
}

/** A control plane whose trails deliver to bucket directories under `DIR/s3`, every hour unless asked. */
function deliveringPlane(prefix: string): { dir: string; buckets: string; cp: ControlPlane } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const buckets = join(dir, 's3')
  const cp = new ControlPlane(new MemStore(), {
    accountId: '123456789012',
    region: 'us-east-1',
    cloudtrail: { dataDir: dir, objectStore: new LocalBucketStore(buckets), deliveryIntervalMs: 3_600_000 },
  })
  return { dir, buckets, cp }
}

test('delivery writes AWS-named gzip log files and signed digests; validation detects a changed byte, a removed file, a forged digest', async () => {
  const { dir, buckets, cp } = deliveringPlane('mf-trail-')
  try {
    cp.cloudtrail.trails.create({
      name: 'audit',
      s3BucketName: 'audit-bucket',
      s3KeyPrefix: 'org',
      enableLogFileValidation: true,
    })
    cp.cloudtrail.trails.startLogging('audit')
    for (let i = 0; i < 5; i++) cp.cloudtrail.log.add(event('CreateVpc', i))
    await cp.cloudtrail.delivery!.deliver()
    for (let i = 5; i < 8; i++) cp.cloudtrail.log.add(event('DeleteVpc', i))
    await cp.cloudtrail.delivery!.digest()
    await cp.cloudtrail.delivery!.deliver()
    cp.cloudtrail.log.add(event('CreateVpc', 9))
    // Digest names carry whole seconds: a second digest within the same second would be skipped.
    await new Promise((r) => setTimeout(r, 1100))
    await cp.cloudtrail.delivery!.digest()
    const bucketDir = join(buckets, 'audit-bucket')
    const files = filesUnder(bucketDir).map((p) => p.slice(bucketDir.length + 1))
    const logs = files.filter((f) => f.includes('/CloudTrail/'))
    assert.equal(logs.length, 3)
    for (const f of logs) {
      assert.match(
        f,
        /^org\/AWSLogs\/123456789012\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/123456789012_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$/,
      )
    }
    const records = logs.flatMap(
      (f) =>
        (
          JSON.parse(gunzipSync(readFileSync(join(bucketDir, f))).toString()) as {
            Records: CloudTrailRecord[]
          }
        ).Records,
    )
    assert.deepEqual(records.map((r) => r.eventID).sort(), [
      'ev-0',
      'ev-1',
      'ev-2',
      'ev-3',
      'ev-4',
      'ev-5',
      'ev-6',
      'ev-7',
      'ev-9',
    ])
    const digests = files.filter((f) => f.includes('/CloudTrail-Digest/') && f.endsWith('.json.gz'))
    assert.equal(digests.length, 2)
    for (const f of digests) {
      assert.match(
        f,
        /^org\/AWSLogs\/123456789012\/CloudTrail-Digest\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/123456789012_CloudTrail-Digest_us-east-1_audit_us-east-1_\d{8}T\d{6}Z\.json\.gz$/,
      )
    }
    const opts = {
      bucketDir,
      bucket: 'audit-bucket',
      prefix: 'org',
      accountId: '123456789012',
      region: 'us-east-1',
      publicKeys: [readFileSync(join(dir, DIGEST_PUBLIC_KEY_FILE), 'utf8')],
    }
    const ok = validateTrailFiles(opts)
    assert.deepEqual(ok.problems, [])
    assert.equal(ok.digestsValid, 2)
    assert.equal(ok.logsValid, 3)

    // One byte of one log file's records changed (and re-compressed, so the file still reads).
    const victim = join(bucketDir, logs[0]!)
    const original = readFileSync(victim)
    const text = gunzipSync(original).toString()
    writeFileSync(victim, gzipSync(Buffer.from(text.replace('"ec2.amazonaws.com"', '"ec3.amazonaws.com"'))))
    const altered = validateTrailFiles(opts)
    assert.equal(altered.logsInvalid, 1)
    assert.deepEqual(
      altered.problems.map((p) => [p.kind, p.key, p.reason]),
      [['log', logs[0]!, 'its content does not match the digest (altered)']],
    )
    // A raw byte flipped in the compressed file.
    const flipped = Buffer.from(original)
    flipped[flipped.length - 10]! ^= 0xff
    writeFileSync(victim, flipped)
    assert.equal(validateTrailFiles(opts).logsInvalid, 1)
    // Removed.
    unlinkSync(victim)
    assert.deepEqual(
      validateTrailFiles(opts).problems.map((p) => p.reason),
      ['missing'],
    )
    writeFileSync(victim, original)
    assert.deepEqual(validateTrailFiles(opts).problems, [])
    // A digest rewritten without the key: its signature no longer matches.
    const d0 = join(bucketDir, digests.sort()[0]!)
    const dOrig = readFileSync(d0)
    const dj = JSON.parse(gunzipSync(dOrig).toString()) as { logFiles: unknown[] }
    dj.logFiles = []
    writeFileSync(d0, gzipSync(Buffer.from(JSON.stringify(dj))))
    const forged = validateTrailFiles(opts)
    assert.ok(
      forged.problems.some(
        (p) => p.kind === 'digest' && p.reason === 'its signature does not match its content',
      ),
    )
    writeFileSync(d0, dOrig)
    // A deleted digest breaks the chain.
    unlinkSync(d0)
    unlinkSync(`${d0}.sig`)
    assert.ok(validateTrailFiles(opts).problems.some((p) => p.reason.startsWith('the previous digest')))
  } finally {
    await cp.cloudtrail.close()
    cp.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test("each trail's files hold its records only: its home region unless multi-region, IAM's only with global events", async () => {
  const { dir, buckets, cp } = deliveringPlane('mf-trail-sel-')
  try {
    const trails = cp.cloudtrail.trails
    trails.create({ name: 'all', s3BucketName: 'b-all', isMultiRegionTrail: true })
    trails.create({ name: 'home', s3BucketName: 'b-home' })
    trails.create({ name: 'no-iam', s3BucketName: 'b-no-iam', includeGlobalServiceEvents: false })
    for (const n of ['all', 'home', 'no-iam']) trails.startLogging(n)
    const iam = { eventSource: 'iam.amazonaws.com' }
    // Three batches (a flush after each), records of two regions and IAM's interleaved.
    let i = 0
    for (const batch of [
      [{}, { awsRegion: 'eu-west-1' }, iam],
      [{ awsRegion: 'eu-west-1' }],
      [iam, {}, { awsRegion: 'eu-west-1' }, {}],
    ]) {
      for (const extra of batch) cp.cloudtrail.log.add(event('CreateVpc', i++, extra))
      cp.cloudtrail.log.flush()
    }
    await cp.cloudtrail.delivery!.deliver()
    const got = (bucket: string): Record<string, string[]> => {
      const root = join(buckets, bucket)
      const out: Record<string, string[]> = {}
      for (const f of filesUnder(root).filter((p) => p.endsWith('.json.gz'))) {
        const region = /\/CloudTrail\/([^/]+)\//.exec(f)![1]!
        const text = gunzipSync(readFileSync(f)).toString()
        const recs = (JSON.parse(text) as { Records: CloudTrailRecord[] }).Records
        out[region] = [...(out[region] ?? []), ...recs.map((r) => r.eventID)]
      }
      return out
    }
    assert.deepEqual(got('b-all'), {
      'us-east-1': ['ev-0', 'ev-2', 'ev-4', 'ev-5', 'ev-7'],
      'eu-west-1': ['ev-1', 'ev-3', 'ev-6'],
    })
    assert.deepEqual(got('b-home'), { 'us-east-1': ['ev-0', 'ev-2', 'ev-4', 'ev-5', 'ev-7'] })
    assert.deepEqual(got('b-no-iam'), { 'us-east-1': ['ev-0', 'ev-5', 'ev-7'] })
  } finally {
    await cp.cloudtrail.close()
    cp.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
