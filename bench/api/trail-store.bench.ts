// SPDX-License-Identifier: Apache-2.0
/**
 * bench/api: the CloudTrail event store alone — CPU and wall time to store an event, and the time of
 * a lookup by resource name, on a store already holding BENCH_STORE_EVENTS events (default
 * 200,000; the store's cap is 1,000,000).
 *
 * Rows are shaped like the trail's: a 1.4 kB record, two resources of which one is a new random id
 * (as `tms-…` ids are) and one of a few shared ones, five event names, three users, none
 * read-only. The store is filled on disk (WAL, as the server opens it), then 5 rounds of 10,000
 * events are timed in batches of BENCH_STORE_BATCH (default 100; under load the writer's batches
 * are tens to hundreds). Lookups (median of 21): a resource name in the newest events, one in the
 * oldest, one that matches nothing (every block's filter read), an event id in the oldest events,
 * read-only events (none: every block's filter read), the newest page of an event name, and a
 * time range an hour before the first event (every block's time range read).
 *
 * Run: `npm run bench:trail-store`.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventId } from '../../src/api/services/cloudtrail/call.ts'
import { EventStore, type EventQuery, type EventRow } from '../../src/control/cloudtrail/event-store.ts'
import { emit } from '../emit.ts'

const PREFILL = Number(process.env.BENCH_STORE_EVENTS ?? 200_000)
const ROUNDS = 5
const BATCH = Number(process.env.BENCH_STORE_BATCH ?? 100)
const BATCHES = Math.ceil(10_000 / BATCH)

const NAMES = [
  'CreateTrafficMirrorSession',
  'CreateTrafficMirrorFilter',
  'CreateTrafficMirrorFilterRule',
  'DescribeTrafficMirrorSessions',
  'CreateTags',
]
const FILLER = randomBytes(1100).toString('base64').slice(0, 1400)

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y)
  return s[Math.floor(s.length / 2)]!
}

function run(): void {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bench-trail-store-'))
  const store = new EventStore(dir, { maxEvents: 10_000_000 })
  let t = Date.now() - 86_400_000
  let n = 0
  let first = ''
  let firstId = ''
  let last = ''
  const row = (): EventRow => {
    t += 1
    n += 1
    const session = `tms-${randomBytes(9).toString('hex').slice(0, 17)}`
    const id = eventId(t)
    if (first === '') [first, firstId] = [session, id]
    last = session
    return {
      time: t,
      eventId: id,
      eventName: NAMES[n % NAMES.length]!,
      eventSource: 'ec2.amazonaws.com',
      username: `user${n % 3}`,
      accessKeyId: `AKIAEXAMPLEEXAMPLE0${n % 3}`,
      readOnly: false,
      resources: [
        { type: 'AWS::EC2::TrafficMirrorSession', name: session },
        { type: 'AWS::EC2::TrafficMirrorTarget', name: `tmt-0123456789abcdef${n % 4}` },
      ],
      json: `{"eventID":"${session}","filler":"${FILLER}"}`,
    }
  }
  const batch = (k: number): EventRow[] => Array.from({ length: k }, row)
  try {
    for (let i = 0; i < PREFILL; i += 1000) store.insert(batch(Math.min(1000, PREFILL - i)))
    const cpu: number[] = []
    const wall: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const batches = Array.from({ length: BATCHES }, () => batch(BATCH))
      const c0 = process.cpuUsage()
      const w0 = process.hrtime.bigint()
      for (const b of batches) store.insert(b)
      const c = process.cpuUsage(c0)
      wall.push(Number(process.hrtime.bigint() - w0) / 1e3 / (BATCHES * BATCH))
      cpu.push((c.user + c.system) / (BATCHES * BATCH))
    }
    const lookup = (
      attribute: EventQuery['attribute'],
      startTime = 0,
      endTime = Date.now() + 86_400_000,
    ): number => {
      const times: number[] = []
      for (let i = 0; i < 21; i++) {
        const t0 = process.hrtime.bigint()
        store.query({ startTime, endTime, limit: 50, ...(attribute === undefined ? {} : { attribute }) })
        times.push(Number(process.hrtime.bigint() - t0) / 1e6)
      }
      return Number(median(times).toFixed(3))
    }
    const firstTime = Date.now() - 86_400_000
    emit({
      case: 'trail-store/store',
      storedBefore: PREFILL,
      events: ROUNDS * BATCHES * BATCH,
      batch: BATCH,
      cpuMicrosPerEvent: cpu.map((x) => Number(x.toFixed(1))),
      medianCpuMicrosPerEvent: Number(median(cpu).toFixed(1)),
      medianWallMicrosPerEvent: Number(median(wall).toFixed(1)),
      lookupMs: {
        resourceNameNewest: lookup({ key: 'ResourceName', value: last }),
        resourceNameOldest: lookup({ key: 'ResourceName', value: first }),
        resourceNameNone: lookup({ key: 'ResourceName', value: 'tms-00000000000000000' }),
        eventIdOldest: lookup({ key: 'EventId', value: firstId }),
        readOnlyNone: lookup({ key: 'ReadOnly', value: 'true' }),
        eventNameNewest: lookup({ key: 'EventName', value: NAMES[0]! }),
        timeRangeNone: lookup(undefined, firstTime - 7_200_000, firstTime - 3_600_000),
      },
    })
  } finally {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

run()
