// SPDX-License-Identifier: Apache-2.0
/**
 * bench/api: the CloudTrail event store alone — CPU and wall time to store an event, and the time of
 * a lookup by resource name, on a store already holding BENCH_STORE_EVENTS events (default
 * 200,000; the store's cap is 1,000,000).
 *
 * Rows are shaped like the trail's: a 1.4 kB record, two resources of which one is a new random id
 * (as `tms-…` ids are) and one of a few shared ones, five event names, three users. Each case
 * fills a fresh on-disk store (WAL, as the server opens it), then times 5 rounds of 100 batches of
 * 100 events (the writer's batches are of that order under load). Two cases in one run: event ids as
 * the trail makes them (version-7, time first) and random version-4 ids, the form used before, to
 * show what an id index that grows at its end saves. Lookups: a resource name in the newest
 * events, one in the oldest, and one that matches nothing (every bucket probed).
 *
 * Run: `npm run bench:trail-store`.
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventId } from '../../src/api/services/cloudtrail/call.ts'
import { EventStore, type EventRow } from '../../src/control/cloudtrail/event-store.ts'
import { emit } from '../emit.ts'

const PREFILL = Number(process.env.BENCH_STORE_EVENTS ?? 200_000)
const ROUNDS = 5
const BATCHES = 100
const BATCH = 100

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

function run(ids: 'v7' | 'random'): void {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bench-trail-store-'))
  const store = new EventStore(dir, { maxEvents: 10_000_000 })
  let t = Date.now() - 86_400_000
  let n = 0
  let first = ''
  let last = ''
  const row = (): EventRow => {
    t += 1
    n += 1
    const session = `tms-${randomBytes(9).toString('hex').slice(0, 17)}`
    if (first === '') first = session
    last = session
    return {
      time: t,
      eventId: ids === 'v7' ? eventId(t) : randomUUID(),
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
    const lookup = (name: string): number => {
      const times: number[] = []
      for (let i = 0; i < 21; i++) {
        const t0 = process.hrtime.bigint()
        store.query({
          startTime: 0,
          endTime: Date.now() + 86_400_000,
          limit: 50,
          attribute: { key: 'ResourceName', value: name },
        })
        times.push(Number(process.hrtime.bigint() - t0) / 1e6)
      }
      return Number(median(times).toFixed(3))
    }
    emit({
      case: `trail-store/${ids}-ids`,
      storedBefore: PREFILL,
      events: ROUNDS * BATCHES * BATCH,
      cpuMicrosPerEvent: cpu.map((x) => Number(x.toFixed(1))),
      medianCpuMicrosPerEvent: Number(median(cpu).toFixed(1)),
      medianWallMicrosPerEvent: Number(median(wall).toFixed(1)),
      lookupByResourceNameMs: {
        newest: lookup(last),
        oldest: lookup(first),
        none: lookup('tms-00000000000000000'),
      },
    })
  } finally {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

run('v7')
run('random')
