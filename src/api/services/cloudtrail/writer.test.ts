// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// The trail's writer: a call's encoding crosses to the writer thread intact; the thread renders and
// stores every call, a synchronous flush sees them stored, subscribers get the records, close ends it;
// callers are named as IAM names them (IAMUser, AssumedRole with its session context).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import {
  ControlPlane,
  EventLog,
  EventStore,
  SqliteStore,
  type DeliveredEvent,
} from '../../../control/index.ts'
import { startWorker } from '../../../entry-points.ts'
import { callBound, decodeCall, encodeCall, eventId, renderCall, writeCall, type RawCall } from './call.ts'
import { defaultPrincipals } from './recorder.ts'

const identity = {
  type: 'IAMUser' as const,
  principalId: 'AIDAEXAMPLEEXAMPLE01',
  arn: 'arn:aws:iam::123456789012:user/alice',
  accountId: '123456789012',
  accessKeyId: 'AKIAEXAMPLEEXAMPLE01',
  userName: 'alice',
}

/** Takes a call as the recorder does: its bytes written into the log's chunk. */
function add(log: EventLog, c: RawCall, identityJson: string): void {
  const id = Buffer.from(identityJson)
  log.addBytes(callBound(c, id), (buf, at) => writeCall(c, id, buf, at))
}

function call(i: number, over: Partial<RawCall> = {}): RawCall {
  return {
    identity,
    time: Date.UTC(2026, 11, 4, 2, 0, i % 60),
    service: 'ec2',
    protocol: 'ec2-query',
    action: i % 2 === 0 ? 'CreateTrafficMirrorFilter' : 'DeleteTrafficMirrorFilter',
    region: 'eu-west-1',
    sourceIp: '192.0.2.7',
    userAgent: 'aws-cli/2 test',
    requestId: `req-${i}`,
    accountId: '123456789012',
    readOnly: false,
    query: '',
    body: Buffer.from(`Action=CreateTrafficMirrorFilter&Version=2016-11-15&Description=d${i}`),
    error: undefined,
    response: {
      contentType: 'text/xml',
      body: `<CreateTrafficMirrorFilterResponse><requestId>req-${i}</requestId><trafficMirrorFilter><trafficMirrorFilterId>tmf-${(i + 0x10000000).toString(16)}</trafficMirrorFilterId></trafficMirrorFilter></CreateTrafficMirrorFilterResponse>`,
    },
    ...over,
  }
}

test('a call survives its encoding: separators, line breaks, non-ASCII and absent fields', () => {
  const c = call(1, {
    userAgent: '5:ab-:c\n\u0000é😀',
    body: Buffer.from('Description=é:1-2', 'utf8'),
    error: { awsCode: 'UnauthorizedOperation', httpStatus: 403, message: 'no: you -' },
    response: undefined,
    readOnly: true,
  })
  const back = decodeCall(encodeCall(c, JSON.stringify(identity)))
  assert.deepEqual(back, c)
  assert.throws(() => decodeCall(Buffer.from('12:short')), /malformed call/)
  const bytes = encodeCall(call(2), JSON.stringify(identity))
  assert.throws(() => decodeCall(bytes.subarray(0, bytes.length - 1)), /malformed call/)
  assert.throws(() => decodeCall(Buffer.concat([bytes, Buffer.from([0])])), /malformed call/)
  // Version-7 UUIDs: unique though made in the same millisecond, and ordered by their time.
  const t = Date.UTC(2026, 11, 4, 12, 30, 15, 123)
  const ids = new Set(Array.from({ length: 600 }, () => eventId(t)))
  assert.equal(ids.size, 600)
  for (const id of ids) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), t)
  }
  assert.ok(eventId(t + 1) > eventId(t))
})

test('the writer thread renders and stores every call, in passes of its own or at a flush; subscribers get the records', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-trail-writer-'))
  const store = new EventStore(dir)
  const log = new EventLog(store, { flushMs: 60_000 })
  try {
    log.useRenderer(renderCall)
    const got: DeliveredEvent[] = []
    log.subscribe((batch) => got.push(...batch.events()))
    log.useWorker((workerData, transferList) => startWorker('trail-writer', { workerData, transferList }), 0)
    // Until the thread has opened its store, calls are stored here; wait for it to take them.
    const until = Date.now() + 20_000
    while (!log.threaded && Date.now() < until) await delay(20)
    assert.equal(log.threaded, true, log.stats.lastError ?? 'the writer thread did not start')
    const json = JSON.stringify(identity)
    // With the thread, passes come every threadFlushMs (20 ms), not flushMs: stored without a flush.
    for (let i = 0; i < 50; i++) add(log, call(i), json)
    const t0 = Date.now()
    while (log.stats.recorded < 50 && Date.now() - t0 < 5_000) await delay(5)
    assert.equal(log.stats.recorded, 50)
    assert.ok(Date.now() - t0 < 2_000, `stored after ${Date.now() - t0} ms`)
    for (let i = 50; i < 300; i++) add(log, call(i), json)
    log.flush()
    assert.equal(log.stats.recorded, 300)
    assert.equal(log.stats.workerFailures, 0)
    assert.equal(log.waiting, 0)
    assert.equal(store.count(), 300)
    assert.equal(got.length, 300)
    const [newest] = store.query({ startTime: 0, endTime: Date.now(), limit: 1 })
    const rec = JSON.parse(newest!.json) as Record<string, unknown>
    assert.equal(rec.eventName, 'DeleteTrafficMirrorFilter')
    assert.equal(rec.requestID, 'req-299')
    assert.equal(rec.awsRegion, 'eu-west-1')
    assert.deepEqual(rec.userIdentity, identity)
    assert.deepEqual(rec.requestParameters, { description: 'd299' })
    assert.deepEqual(newest!.resources, [{ type: 'AWS::EC2::TrafficMirrorFilter', name: 'tmf-1000012b' }])
    assert.equal(Buffer.from(got[299]!.json).toString('utf8'), newest!.json)
    assert.equal(got[0]!.region, 'eu-west-1')
    assert.equal(got[0]!.eventSource, 'ec2.amazonaws.com')
    // Calls after the flush go the same way; close stores them and ends the thread.
    // A call larger than a chunk travels in a chunk of its own, between the others, intact.
    for (let i = 300; i < 305; i++) add(log, call(i), json)
    add(log, call(305, { userAgent: `big-${'é'.repeat(400_000)}` }), json)
    for (let i = 306; i < 310; i++) add(log, call(i), json)
    log.flush()
    const big = store
      .query({ startTime: 0, endTime: Date.now(), limit: 400 })
      .find((e) => e.json.includes('"req-305"'))
    assert.equal((JSON.parse(big!.json) as { userAgent: string }).userAgent.length, 400_004)
    log.close()
    assert.equal(log.stats.recorded, 310)
    assert.equal(store.count(), 310)
  } finally {
    log.close()
    store.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a writer thread that fails to start loses and delays nothing: its calls are stored here', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-trail-fail-'))
  const store = new EventStore(dir)
  const log = new EventLog(store, { flushMs: 60_000 })
  try {
    log.useRenderer(renderCall)
    let worker: Worker | undefined
    log.useWorker(() => (worker = new Worker('throw new Error("no native module here")', { eval: true })), 0)
    assert.ok(worker !== undefined)
    const json = JSON.stringify(identity)
    for (let i = 0; i < 300; i++) add(log, call(i), json)
    const t0 = Date.now()
    log.flush()
    assert.ok(Date.now() - t0 < 2_000, `flush took ${Date.now() - t0} ms`)
    assert.equal(store.count(), 300)
    assert.equal(log.stats.recorded, 300)
    // The log unrefs its thread: poll (a pending timer keeps this test's loop alive) until it reports.
    const until = Date.now() + 20_000
    while (log.stats.workerFailures === 0 && Date.now() < until) await delay(20)
    assert.equal(log.stats.workerFailures, 1)
    assert.equal(log.threaded, false)
    assert.match(log.stats.lastError ?? '', /no native module here/)
    for (let i = 300; i < 310; i++) add(log, call(i), json)
    log.close()
    assert.equal(store.count(), 310)
    assert.equal(log.stats.dropped, 0)
  } finally {
    log.close()
    store.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a caller is named as AWS names it: an IAM user, an assumed role with its session context', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-trail-who-'))
  const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
  try {
    const user = cp.iam.createUser('alice', '/team/', [])
    const key = cp.iam.createAccessKey('alice')
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
      ],
    })
    const role = cp.iam.createRole('auditor', '/', trust, '', 3600, [])
    const t0 = Date.now()
    const creds = cp.iam.assumeRole(role, 'night-shift', 900)
    const who = defaultPrincipals(cp)
    assert.deepEqual(who(key.accessKeyId), {
      type: 'IAMUser',
      principalId: user.id,
      arn: 'arn:aws:iam::123456789012:user/team/alice',
      accountId: '123456789012',
      accessKeyId: key.accessKeyId,
      userName: 'alice',
    })
    assert.match(user.id, /^AIDA[A-Z2-7]{17}$/)
    const assumed = who(creds.accessKeyId)!
    const created = Date.parse(assumed.sessionContext!.attributes.creationDate)
    assert.ok(created >= Math.floor(t0 / 1000) * 1000 && created <= Date.now(), String(created))
    assert.deepEqual(assumed, {
      type: 'AssumedRole',
      principalId: `${role.id}:night-shift`,
      arn: 'arn:aws:sts::123456789012:assumed-role/auditor/night-shift',
      accountId: '123456789012',
      accessKeyId: creds.accessKeyId,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: role.id,
          arn: 'arn:aws:iam::123456789012:role/auditor',
          accountId: '123456789012',
          userName: 'auditor',
        },
        webIdFederationData: {},
        attributes: {
          creationDate: assumed.sessionContext!.attributes.creationDate,
          mfaAuthenticated: 'false',
        },
      },
    })
    assert.equal(who('AKIAUNKNOWNUNKNOWN00'), undefined)
  } finally {
    cp.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
