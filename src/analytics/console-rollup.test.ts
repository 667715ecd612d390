// SPDX-License-Identifier: Apache-2.0
// test-group: fast
// The console's roll-up answers exactly what the same questions over every record answer: traffic
// series and top-N (ranges on and off minute edges, filters), flow search pages sorted by time (both
// orders, several pages) and by another column, exports; and it follows objects that arrive, change
// and disappear. Over its row cap it evicts the oldest objects and still answers exactly.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { after, test } from 'node:test'
import { Registry } from 'prom-client'
import type { FlowFilter, FlowSearch } from '../api/index.ts'
import { FlowRollup } from './console-rollup.ts'
import { QueryEngine, sqlString } from './engine.ts'
import { openAnalytics } from './session.ts'
import { exportFlows, searchFlows, topN, trafficSeries } from './traffic.ts'

const base = mkdtempSync(join(tmpdir(), 'mf-rollup-'))
after(() => rmSync(base, { recursive: true, force: true }))
/** The bucket root of the test running (each test its own), and its objects' directory. */
let root = ''
let dir = ''
function useRoot(name: string): void {
  resetReference()
  root = join(base, name)
  dir = join(root, 'b', 'AWSLogs', '123456789012', 'vpcflowlogs', 'us-east-1', '2026', '12', '03')
  mkdirSync(dir, { recursive: true })
}
const T0 = Date.UTC(2026, 11, 3, 10) / 1000 // 10:00:00

/** A deterministic pseudo-random sequence. */
function rng(seed: number): () => number {
  let x = seed
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    return x / 2 ** 32
  }
}

const HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'

/** A text object of `n` records with starts in [t0, t0 + span). */
function textObject(name: string, seed: number, n: number, t0: number, span: number): string {
  const r = rng(seed)
  const lines = [HEADER]
  for (let i = 0; i < n; i++) {
    const start = t0 + Math.floor(r() * span)
    const eni = `eni-${String(Math.floor(r() * 3)).padStart(17, '0')}`
    if (r() < 0.05) {
      lines.push(`2 123456789012 ${eni} - - - - - - - ${start} ${start + 60} - NODATA`)
      continue
    }
    const src = `10.0.${Math.floor(r() * 3)}.${1 + Math.floor(r() * 5)}`
    const dst = `10.1.0.${1 + Math.floor(r() * 4)}`
    const sport = 30000 + Math.floor(r() * 5)
    const dport = [22, 80, 443][Math.floor(r() * 3)]!
    const proto = r() < 0.8 ? 6 : 17
    const action = r() < 0.2 ? 'REJECT' : 'ACCEPT'
    const packets = 1 + Math.floor(r() * 20)
    lines.push(
      `2 123456789012 ${eni} ${src} ${dst} ${sport} ${dport} ${proto} ${packets} ${packets * 70} ${start} ${start + 5} ${action} OK`,
    )
  }
  const path = join(
    dir,
    `123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261203T1000Z_${name}.log.gz`,
  )
  writeFileSync(path, gzipSync(lines.join('\n') + '\n'))
  return path
}

async function parquetObject(name: string, n: number, t0: number, span: number): Promise<string> {
  const path = join(
    dir,
    `123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261203T1000Z_${name}.log.parquet`,
  )
  const e = await QueryEngine.open({ threads: 1 })
  try {
    await e.exec(`COPY (
      SELECT 2::INTEGER AS version, '123456789012' AS account_id,
        'eni-' || lpad(((i * 7) % 3)::VARCHAR, 17, '0') AS interface_id,
        '10.0.' || (i % 3)::VARCHAR || '.' || (1 + (i * 3) % 5)::VARCHAR AS srcaddr,
        '10.1.0.' || (1 + (i * 5) % 4)::VARCHAR AS dstaddr,
        (30000 + i % 5)::INTEGER AS srcport, ([22, 80, 443][(i % 3) + 1])::INTEGER AS dstport,
        (CASE WHEN i % 7 = 0 THEN 17 ELSE 6 END)::INTEGER AS protocol,
        (1 + i % 9)::BIGINT AS packets, (70 * (1 + i % 9))::BIGINT AS bytes,
        (${t0} + (i * 7919) % ${span})::BIGINT AS start, (${t0} + (i * 7919) % ${span} + 3)::BIGINT AS "end",
        CASE WHEN i % 6 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS action, 'OK' AS log_status
      FROM range(0, ${n}) r(i)) TO ${sqlString(path)} (FORMAT PARQUET)`)
  } finally {
    e.close()
  }
  return path
}

/** The answers of traffic.ts over every record (what the store answered before the roll-up). */
let refSession: Awaited<ReturnType<typeof openAnalytics>> | null = null
async function reference<T>(fn: (s: Awaited<ReturnType<typeof openAnalytics>>) => Promise<T>): Promise<T> {
  refSession ??= await openAnalytics({ storeRoots: [root], threads: 1 })
  return fn(refSession)
}
function resetReference(): void {
  refSession?.close()
  refSession = null
}
after(resetReference)

async function refTraffic(f: FlowFilter, n: number): Promise<unknown> {
  return reference(async (s) => {
    const series = await trafficSeries(s, { ...f, groupBy: 'action' })
    const talkers = await topN(s, { ...f, by: 'srcaddr', metric: 'bytes', limit: n })
    const ports = await topN(s, { ...f, by: 'dstport', metric: 'bytes', limit: n })
    const rejected =
      f.action === 'ACCEPT'
        ? []
        : await topN(s, { ...f, action: 'REJECT', by: 'srcaddr', metric: 'flows', limit: n })
    const addr = (r: (typeof talkers)[number]): object => ({
      address: String(r.key.srcaddr),
      bytes: r.bytes,
      packets: r.packets,
      flows: r.flows,
    })
    return {
      bucketSeconds: series.bucketSeconds,
      buckets: series.buckets,
      series: series.series,
      talkers: talkers.map(addr),
      ports: ports.map((r) => ({
        port: Number(r.key.dstport),
        protocol: Number(r.key.protocol),
        bytes: r.bytes,
        packets: r.packets,
        flows: r.flows,
      })),
      rejectedSources: rejected.map(addr),
    }
  })
}

async function refSearch(q: FlowSearch): Promise<unknown> {
  return reference(async (s) => {
    const r = await searchFlows(s, q)
    return { rows: r.rows, total: r.total, nextToken: r.nextToken }
  })
}

test('the roll-up answers exactly as the records do, and follows the objects', async () => {
  useRoot('follow')
  textObject('a', 1, 400, T0, 600) // 10:00–10:10
  textObject('b', 2, 300, T0 + 420, 600) // 10:07–10:17 (overlaps a)
  const pq = await parquetObject('c', 2000, T0 + 900, 900) // 10:15–10:30
  const store = new FlowRollup([root], { refreshMs: 60_000, background: false })
  try {
    const stats = await store.caughtUp()
    assert.equal(stats.objects, 3)
    assert.equal(stats.records, 2700)
    assert.ok(stats.rollupRows < 2700, `rolled up: ${stats.rollupRows} rows`)

    const filters: FlowFilter[] = [
      { from: T0, to: T0 + 1800 }, // whole minutes
      { from: T0 + 17, to: T0 + 1333 }, // partial minutes at both ends
      { from: T0 + 125, to: T0 + 160 }, // inside one minute and a bit
      { from: T0 + 61, to: T0 + 1799, dstPorts: [443], srcCidrs: ['10.0.1.0/24'] },
      {
        from: T0 + 30,
        to: T0 + 1800,
        action: 'REJECT',
        interfaceIds: ['eni-00000000000000001'],
        protocol: 6,
      },
      { from: T0 + 1, to: T0 + 1800, srcPorts: [30001] }, // not in the roll-up: read from records
    ]
    for (const f of filters) {
      assert.deepEqual(await store.traffic(f, undefined, 5), await refTraffic(f, 5), JSON.stringify(f))
      assert.deepEqual(
        await store.traffic(f, 120, 3),
        await refTraffic({ ...f, bucketSeconds: 120 } as FlowFilter, 3),
      )
    }
    // Each sort with two of the filters (in turn, so every filter is searched), both pages each: the
    // whole cross product is three times the engine work for no other path through the code.
    const sorts = [
      ['start', 'desc'],
      ['start', 'asc'],
      ['bytes', 'desc'],
    ] as const
    for (const [i, f] of filters.entries())
      for (const [sort, order] of [sorts[i % 3]!]) {
        for (const pageToken of [undefined, '40']) {
          const q: FlowSearch = { ...f, sort, order, pageSize: 7, ...(pageToken ? { pageToken } : {}) }
          const got = await store.search(q)
          assert.deepEqual(
            { rows: got.rows, total: got.total, nextToken: got.nextToken },
            await refSearch(q),
            JSON.stringify(q),
          )
        }
      }
    const q: FlowSearch & { format: 'csv' } = {
      from: T0 + 13,
      to: T0 + 1500,
      dstPorts: [22],
      sort: 'start',
      order: 'desc',
      pageSize: 50,
      format: 'csv',
    }
    assert.deepEqual(
      Buffer.from(await store.export(q)).toString(),
      Buffer.from(await reference((s) => exportFlows(s, q))).toString(),
    )

    // An object arrives, another disappears: the next refresh follows.
    textObject('d', 3, 50, T0 + 1200, 300)
    unlinkSync(pq)
    resetReference()
    const after = await store.caughtUp()
    assert.equal(after.objects, 3)
    assert.equal(after.records, 750)
    const f = { from: T0 + 5, to: T0 + 1795 }
    assert.deepEqual(await store.traffic(f, undefined, 5), await refTraffic(f, 5))
  } finally {
    store.close()
  }
})

test('over its row cap the roll-up evicts the oldest objects and still answers exactly', async () => {
  useRoot('cap')
  textObject('old', 4, 200, T0, 600) // 10:00–10:10
  textObject('mid', 5, 200, T0 + 300, 600) // 10:05–10:15 (overlaps old)
  textObject('new', 6, 200, T0 + 720, 600) // 10:12–10:22
  const store = new FlowRollup([root], { refreshMs: 60_000, background: false, maxRows: 450 })
  const registry = new Registry()
  store.registerMetrics(registry)
  try {
    // Read in one batch: the oldest object is never inserted.
    const stats = await store.caughtUp()
    assert.equal(stats.objects, 3)
    assert.equal(stats.records, 600)
    assert.equal(stats.maxRows, 450)
    assert.equal(stats.evictedObjects, 1)
    assert.equal(stats.evictedRecords, 200)
    assert.equal(stats.evictions, 1)
    assert.ok(stats.rollupRows > 0 && stats.rollupRows <= 450, `${stats.rollupRows} rows`)

    // A newer object arrives: the next oldest, already rolled up, leaves (its rows are deleted).
    textObject('newer', 7, 200, T0 + 1500, 300) // 10:25–10:30
    const after = await store.caughtUp()
    assert.equal(after.objects, 4)
    assert.equal(after.evictedObjects, 2)
    assert.equal(after.evictedRecords, 400)
    assert.equal(after.evictions, 2)
    assert.ok(after.rollupRows <= 450, `${after.rollupRows} rows`)

    // Rows left behind by either eviction would count twice: the answers equal the records'.
    {
      const whole = { from: T0, to: T0 + 1800 } // whole minutes: the roll-up would rank alone
      const edges = { from: T0 + 17, to: T0 + 1333, dstPorts: [443] }
      for (const f of [whole, edges])
        assert.deepEqual(await store.traffic(f, undefined, 5), await refTraffic(f, 5), JSON.stringify(f))
      const searches: FlowSearch[] = [
        { ...whole, sort: 'start', order: 'desc', pageSize: 7, pageToken: '100' },
        { ...edges, sort: 'start', order: 'asc', pageSize: 7 },
        { ...whole, sort: 'bytes', order: 'desc', pageSize: 7 },
      ]
      for (const q of searches) {
        const got = await store.search(q)
        assert.deepEqual(
          { rows: got.rows, total: got.total, nextToken: got.nextToken },
          await refSearch(q),
          JSON.stringify(q),
        )
      }
    }
    const text = await registry.metrics()
    // The rows the store keeps count of (the cap's measure) are the rows in its table.
    assert.match(text, new RegExp(`^mirrorflow_console_rollup_rows ${after.rollupRows}$`, 'm'))
    assert.match(text, /^mirrorflow_console_rollup_evicted_objects 2$/m)
    assert.match(text, /^mirrorflow_console_rollup_evictions_total 2$/m)
    assert.match(text, /^mirrorflow_console_rollup_max_rows 450$/m)
  } finally {
    store.close()
  }
})
