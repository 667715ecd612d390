// test-group: golden
// SPDX-License-Identifier: Apache-2.0
/**
 * Every saved query (the VPC console's predefined Athena queries and Athena's documented examples) and
 * every console aggregation, run on two data sets — mirrorflow's own output (text in a custom v5 format
 * under the plain S3 prefix, and Parquet under Hive prefixes, from synthetic traffic on two interfaces)
 * and the real AWS samples in shared/data (text with comments and repeated headers, Parquet, custom
 * formats) — and checked against the same answer computed here in plain TypeScript over records parsed
 * by this file (gunzip + split, hyparquet), not through DuckDB.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import {
  ADMIN_PORTS,
  exportFlows,
  openAnalytics,
  SAVED_QUERIES,
  searchFlows,
  topN,
  trafficSeries,
  type AnalyticsSession,
  type CellValue,
} from '../../src/analytics/index.ts'
import { FlowAggregator, parseLogFormat, S3DirectoryDestination } from '../../src/flowlogs/index.ts'
import { synthBatch, type SynthPacket } from '../../src/flowlogs/testing.ts'
import { sharedData } from '../helpers/shared.ts'

type Rec = Record<string, string | number | null>

const NUMERIC = new Set([
  'version',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'tcp_flags',
  'traffic_path',
])

function files(dir: string, out: string[] = []): string[] {
  if (!statSync(dir).isDirectory()) return [...out, dir]
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n)
    if (statSync(p).isDirectory()) files(p, out)
    else out.push(p)
  }
  return out
}

/** The `date` partition: the prefix's day, else the object name's stamp, else start's UTC day. */
function dateOf(path: string, start: number | null): string | null {
  const m =
    /year=(\d{4})\/month=(\d\d)\/day=(\d\d)\//.exec(path) ??
    /vpcflowlogs\/[^/]+\/(\d{4})\/(\d\d)\/(\d\d)\//.exec(path) ??
    /_(\d{4})(\d\d)(\d\d)T\d{4}Z_/.exec(path)
  if (m) return `${m[1]}-${m[2]}-${m[3]}`
  return start === null ? null : new Date(start * 1000).toISOString().slice(0, 10)
}

/** A text flow-log file as Athena reads it: strings keep `-`, numbers `-` → null. */
function parseText(path: string): Rec[] {
  let raw = readFileSync(path)
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw)
  const lines = raw.toString('utf8').split('\n')
  let i = 0
  while (lines[i]!.startsWith('#')) i++
  const cols = lines[i]!.split(' ').map((f) => f.replaceAll('-', '_'))
  const head0 = lines[i]!.split(' ')[0]
  const out: Rec[] = []
  for (const line of lines.slice(i + 1)) {
    if (line === '' || line.startsWith('#') || line.split(' ')[0] === head0) continue
    const v = line.split(' ')
    if (v.length > cols.length) continue
    const r: Rec = {}
    cols.forEach((c, k) => {
      const x = v[k]
      r[c] = x === undefined ? null : NUMERIC.has(c) ? (/^-?\d+$/.test(x) ? Number(x) : null) : x
    })
    r.date = dateOf(path, r.start as number | null)
    out.push(r)
  }
  return out
}

async function parseParquet(path: string): Promise<Rec[]> {
  const objs = (await parquetReadObjects({ file: await asyncBufferFromFile(path), compressors })) as Record<
    string,
    unknown
  >[]
  return objs.map((o) => {
    const r: Rec = {}
    for (const [k, v] of Object.entries(o))
      r[k] = typeof v === 'bigint' ? Number(v) : (v as string | number | null)
    r.date = dateOf(path, r.start as number | null)
    return r
  })
}

async function parseAll(paths: string[]): Promise<Rec[]> {
  const out: Rec[] = []
  for (const p of paths) {
    if (p.endsWith('.parquet')) {
      if (p.includes('ocsf')) continue // not a flow-log file (the table skips it too)
      out.push(...(await parseParquet(p)))
    } else if (p.endsWith('.log') || p.endsWith('.log.gz')) out.push(...parseText(p))
  }
  return out
}

// ------------------------------------------------------------------------------- the independent answers

const g = (r: Rec, c: string): string | number | null => (r[c] === undefined ? null : r[c]!)
const isoDow = (d: string): number => {
  const w = new Date(d + 'T00:00:00Z').getUTCDay()
  return w === 0 ? 7 : w
}
/** SQL ordering: nulls last, numbers numerically, strings by code unit. */
function cmp(a: CellValue | undefined, b: CellValue | undefined): number {
  if (a === b) return 0
  if (a === null || a === undefined) return 1
  if (b === null || b === undefined) return -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a) < String(b) ? -1 : 1
}
const sortRows = (rows: CellValue[][]): CellValue[][] =>
  [...rows].sort((x, y) => {
    for (let i = 0; i < x.length; i++) {
      const c = cmp(x[i], y[i])
      if (c !== 0) return c
    }
    return 0
  })
const sum = (rs: Rec[], c: string): number | null => {
  const v = rs.map((r) => g(r, c)).filter((x): x is number => typeof x === 'number')
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0)
}
const LIST_COLS = [
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
]

function listAnswer(recs: Rec[], pred: (r: Rec) => boolean): CellValue[][] {
  const rows = recs.filter(pred)
  assert.ok(rows.length <= 100, 'the data sets stay under the LIMIT, so the expected rows are exact')
  return rows.map((r) => [
    isoDow(r.date as string),
    r.date as string,
    g(r, 'interface_id'),
    ...LIST_COLS.map((c) => g(r, c)),
  ])
}

function topAnswer(recs: Rec[], keys: string[], n: number, pred: (r: Rec) => boolean): CellValue[][] {
  const groups = new Map<string, Rec[]>()
  for (const r of recs.filter(pred)) {
    const k = JSON.stringify(keys.map((c) => g(r, c)))
    groups.set(k, [...(groups.get(k) ?? []), r])
  }
  const rows = [...groups.entries()].map(([k, rs]) => [
    ...(JSON.parse(k) as CellValue[]),
    sum(rs, 'bytes'),
    sum(rs, 'packets'),
  ])
  rows.sort((x, y) => {
    const c = cmp(y[keys.length], x[keys.length])
    if (c !== 0) return c
    for (let i = 0; i < keys.length; i++) {
      const d = cmp(x[i], y[i])
      if (d !== 0) return d
    }
    return 0
  })
  return rows.slice(0, n)
}

const known = (c: string) => (r: Rec) => g(r, c) !== null && g(r, c) !== '-' && g(r, 'bytes') !== null
const family = (r: Rec): string | null => {
  const t = g(r, 'type')
  if (t !== null && t !== '-') return String(t)
  const s = g(r, 'srcaddr')
  return s === null ? null : String(s).includes(':') ? 'IPv6' : String(s).includes('.') ? 'IPv4' : null
}
const tcp = (r: Rec): boolean => g(r, 'protocol') === 6
const admin = new Set<number>(ADMIN_PORTS)

/** What each saved query should answer; `ordered` when the query's ORDER BY fixes the row order. */
function expected(
  name: string,
  recs: Rec[],
  params: Record<string, string>,
): { rows: CellValue[][]; ordered: boolean } {
  const unordered = (rows: CellValue[][]) => ({ rows, ordered: false })
  const ordered = (rows: CellValue[][]) => ({ rows, ordered: true })
  const today = new Date().toISOString().slice(0, 10)
  const weekAgo = new Date(Date.parse(today) - 7 * 86400e3).toISOString().slice(0, 10)
  switch (name) {
    case 'VpcFlowLogsAcceptedTraffic':
      return unordered(listAnswer(recs, (r) => g(r, 'action') === 'ACCEPT' && tcp(r)))
    case 'VpcFlowLogsRejectedTCPTraffic':
      return unordered(listAnswer(recs, (r) => g(r, 'action') === 'REJECT' && tcp(r)))
    case 'VpcFlowLogsRejectedTraffic':
      return unordered(listAnswer(recs, (r) => g(r, 'action') === 'REJECT'))
    case 'VpcFlowLogsSshRdpTraffic':
      return unordered(
        listAnswer(
          recs,
          (r) =>
            [22, 3389].includes(g(r, 'srcport') as number) || [22, 3389].includes(g(r, 'dstport') as number),
        ),
      )
    case 'VpcFlowLogsTrafficFrmSrcAddr':
      return unordered(listAnswer(recs, (r) => g(r, 'srcaddr') === params.srcaddr))
    case 'VpcFlowLogsTrafficToDstAddr':
      return unordered(listAnswer(recs, (r) => g(r, 'dstaddr') === params.dstaddr))
    case 'VpcFlowLogsAdminPortTraffic':
      return ordered(
        topAnswer(
          recs,
          ['srcaddr'],
          10,
          (r) => admin.has(g(r, 'dstport') as number) && g(r, 'bytes') !== null,
        ),
      )
    case 'VpcFlowLogsTopTalkers':
      return ordered(topAnswer(recs, ['srcaddr'], 50, (r) => g(r, 'bytes') !== null))
    case 'VpcFlowLogsTopTalkersPacketLevel':
      return ordered(topAnswer(recs, ['pkt_srcaddr'], 50, known('pkt_srcaddr')))
    case 'VpcFlowLogsTopTalkingInstances':
      return ordered(topAnswer(recs, ['instance_id'], 50, known('instance_id')))
    case 'VpcFlowLogsTopTalkingSubnets':
      return ordered(topAnswer(recs, ['subnet_id'], 50, known('subnet_id')))
    case 'VpcFlowLogsTotalBytesTransferred':
      return ordered(topAnswer(recs, ['srcaddr', 'dstaddr'], 50, (r) => g(r, 'bytes') !== null))
    case 'VpcFlowLogsTotalBytesTransferredPacketLevel':
      return ordered(
        topAnswer(
          recs,
          ['pkt_srcaddr', 'pkt_dstaddr'],
          50,
          (r) => known('pkt_srcaddr')(r) && known('pkt_dstaddr')(r),
        ),
      )
    case 'VpcFlowLogsTopTCPTraffic':
      return ordered(
        topAnswer(recs, ['dstaddr', 'dstport'], 100, (r) => tcp(r) && g(r, 'srcaddr') === params.srcaddr),
      )
    case 'VpcFlowLogsIPv4Traffic':
    case 'VpcFlowLogsIPv6Traffic': {
      const rs = recs.filter((r) => family(r) === (name.includes('IPv4') ? 'IPv4' : 'IPv6'))
      return ordered([[sum(rs, 'bytes'), sum(rs, 'packets')]])
    }
    case 'AthenaRecordsOfDay':
      return unordered(
        recs.filter((r) => r.date === params.day).map((r) => [g(r, 'srcaddr'), g(r, 'start'), g(r, 'bytes')]),
      )
    case 'AthenaRejectedTcpByDay':
      return unordered(
        recs
          .filter((r) => g(r, 'action') === 'REJECT' && tcp(r))
          .map((r) => [
            isoDow(r.date as string),
            r.date as string,
            g(r, 'interface_id'),
            g(r, 'srcaddr'),
            'REJECT',
            6,
          ]),
      )
    case 'AthenaTopHttpsServers': {
      const rows = topAnswer(
        recs,
        ['dstaddr'],
        10,
        (r) => g(r, 'dstport') === 443 && (r.date as string) > weekAgo,
      )
      return ordered(rows.map((x) => [x[2]!, x[0]!])) // packetcount, dstaddr (ties: see below)
    }
  }
  throw new Error(`no expected answer for ${name}`)
}

// ------------------------------------------------------------------------------------------- data sets

let tmp: string
const sets: {
  name: string
  paths: string[]
  recs: Rec[]
  session: AnalyticsSession
  params: Record<string, string>
}[] = []

/** Synthetic traffic on two interfaces over two days (yesterday and three days ago, so the 7-day query sees it). */
async function writeOwnOutput(dir: string): Promise<void> {
  const day = 86400
  const base = Math.floor(Date.now() / 1000 / day) * day - day + 3600
  const ifaces = [
    {
      interfaceId: 'eni-0a0000000000000a1',
      accountId: '123456789012',
      vpcId: 'vpc-0a1',
      subnetId: 'subnet-0a1',
      instanceId: 'i-0a1',
      region: 'eu-west-3',
      addresses: ['10.0.1.10', '2001:db8::10'],
    },
    {
      interfaceId: 'eni-0b0000000000000b2',
      accountId: '123456789012',
      vpcId: 'vpc-0a1',
      subnetId: 'subnet-0b2',
      instanceId: 'i-0b2',
      region: 'eu-west-3',
      addresses: ['10.0.2.20'],
    },
  ]
  const pk = (
    t: number,
    src: string,
    dst: string,
    proto: number,
    sport: number,
    dport: number,
    len: number,
  ): SynthPacket => ({
    ts: t,
    src,
    dst,
    proto,
    sport,
    dport,
    ipLength: len,
    ...(proto === 6 ? { tcpFlags: 2 } : {}),
  })
  const traffic: SynthPacket[][] = [[], []]
  for (const [d, t0] of [
    [0, base - 2 * day],
    [1, base],
  ] as const) {
    traffic[0]!.push(
      pk(t0 + 1, '198.51.100.7', '10.0.1.10', 6, 40000 + d, 22, 60),
      pk(t0 + 2, '198.51.100.7', '10.0.1.10', 6, 40000 + d, 22, 1500),
      pk(t0 + 3, '10.0.1.10', '198.51.100.7', 6, 22, 40000 + d, 900),
      pk(t0 + 4, '203.0.113.9', '10.0.1.10', 6, 51000, 3389, 60),
      pk(t0 + 5, '10.0.1.10', '192.0.2.53', 17, 53000, 53, 80 + d),
      pk(t0 + 6, '2001:db8::99', '2001:db8::10', 6, 50001, 443, 1280),
      pk(t0 + 7, '10.0.2.20', '10.0.1.10', 6, 41000, 8080, 400),
    )
    traffic[1]!.push(
      pk(t0 + 1, '10.0.1.10', '10.0.2.20', 6, 41001, 443, 700),
      pk(t0 + 2, '10.0.2.20', '10.0.1.10', 6, 443, 41001, 5000),
      pk(t0 + 3, '198.51.100.7', '10.0.2.20', 6, 40100, 22, 60),
      pk(t0 + 8, '203.0.113.9', '10.0.2.20', 6, 51001, 9090, 60),
    )
  }
  const fmt = parseLogFormat(
    '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${flow-direction}',
  )
  for (const [k, iface] of ifaces.entries()) {
    for (const fileFormat of ['plain-text', 'parquet'] as const) {
      const dest = new S3DirectoryDestination({
        dir: join(dir, fileFormat),
        format: fileFormat === 'parquet' ? parseLogFormat() : fmt,
        accountId: iface.accountId,
        region: iface.region,
        flowLogId: k === 0 ? 'fl-0123456789abcdef0' : 'fl-0123456789abcdef1',
        fileFormat,
        hiveCompatiblePartitions: fileFormat === 'parquet',
        perHourPartition: fileFormat === 'parquet',
      })
      const agg = new FlowAggregator({
        interfaces: [iface],
        maxAggregationInterval: 60,
        onRecords: (b) => dest.write(b),
      })
      const pkts = traffic[k]!
      // Traffic from 203.0.113.9 is rejected (as a security group would).
      const action = Uint8Array.from(pkts.map((p) => (p.src === '203.0.113.9' ? 1 : 0)))
      agg.addBatch(synthBatch(pkts), 0, null, action)
      agg.finish()
      await dest.close()
    }
  }
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'mf-query-athena-'))
  await writeOwnOutput(tmp)
  const own = files(tmp)
  // The AWS samples by directory (as a user names them): the table picks the flow-log files itself.
  const aws = [sharedData('real-vpcflow-samples'), sharedData('flowlog-vectors', 'otel-contrib')]
  for (const [name, paths, params] of [
    ['mirrorflow output', own, { srcaddr: '198.51.100.7', dstaddr: '10.0.1.10' }],
    ['AWS samples', aws, { srcaddr: '172.31.39.167', dstaddr: '172.31.39.167' }],
  ] as const) {
    const recs = await parseAll(paths.flatMap((p) => files(p)))
    const session = await openAnalytics({ inputs: { vpc_flow_logs: [...paths] } })
    const days = [...new Set(recs.map((r) => r.date as string))].sort()
    sets.push({ name, paths: [...paths], recs, session, params: { ...params, day: days[0]! } })
  }
})

after(() => {
  for (const s of sets) s.session.close()
  rmSync(tmp, { recursive: true, force: true })
})

describe('saved queries against an independent computation', () => {
  for (const setName of ['mirrorflow output', 'AWS samples']) {
    for (const q of SAVED_QUERIES) {
      test(`${setName}: ${q.name}`, async () => {
        const set = sets.find((s) => s.name === setName)!
        assert.ok(set.recs.length > 20, 'the data set has records')
        const params = Object.fromEntries(Object.keys(q.params).map((k) => [k, set.params[k]!]))
        const r = await set.session.query(q.sql, Object.keys(params).length > 0 ? params : undefined)
        const want = expected(q.name, set.recs, params)
        let got = r.rows
        if (q.name === 'AthenaRecordsOfDay') {
          const ix = ['srcaddr', 'start', 'bytes'].map((c) => r.columns.findIndex((x) => x.name === c))
          got = got.map((row) => ix.map((i) => row[i]!))
        }
        if (q.name === 'AthenaTopHttpsServers') {
          // Athena's example orders by packetcount only: compare as sets (ties may come in any order).
          assert.deepEqual(sortRows(got), sortRows(want.rows.map((x) => [x[0]!, x[1]!])))
          if (setName === 'mirrorflow output') assert.ok(got.length > 0, 'recent own traffic on 443 is found')
          return
        }
        if (want.ordered) assert.deepEqual(got, want.rows)
        else assert.deepEqual(sortRows(got), sortRows(want.rows))
        if (
          ![
            'VpcFlowLogsIPv6Traffic',
            'VpcFlowLogsTopTalkersPacketLevel',
            'VpcFlowLogsTopTalkingInstances',
            'VpcFlowLogsTopTalkingSubnets',
            'VpcFlowLogsTotalBytesTransferredPacketLevel',
            'VpcFlowLogsAdminPortTraffic',
            'VpcFlowLogsSshRdpTraffic',
          ].includes(q.name) ||
          setName === 'mirrorflow output'
        ) {
          assert.ok(got.length > 0 && got[0]!.some((v) => v !== null), `${q.name} finds something`)
        }
      })
    }
  }
})

describe('console aggregations against an independent computation', () => {
  for (const setName of ['mirrorflow output', 'AWS samples']) {
    test(`${setName}: series, top-N, search pages, export`, async () => {
      const set = sets.find((s) => s.name === setName)!
      const recs = set.recs.filter((r) => g(r, 'start') !== null)
      const starts = recs.map((r) => r.start as number)
      const from = Math.min(...starts)
      const to = Math.max(...starts) + 1
      // Series per action, hourly buckets.
      const s = await trafficSeries(set.session, {
        from,
        to,
        bucketSeconds: setName === 'AWS samples' ? 7 * 86400 : 3600,
        groupBy: 'action',
      })
      const bs = s.bucketSeconds
      const first = Math.floor(from / bs) * bs
      for (const series of s.series) {
        const mine = recs.filter(
          (r) =>
            (g(r, 'action') === '-' || g(r, 'action') === null ? 'unknown' : g(r, 'action')) === series.key,
        )
        const bytes = new Array<number>(s.buckets.length).fill(0)
        const flows = new Array<number>(s.buckets.length).fill(0)
        for (const r of mine) {
          const i = Math.floor(((r.start as number) - first) / bs)
          bytes[i]! += (g(r, 'bytes') as number | null) ?? 0
          if (g(r, 'packets') !== null) flows[i]!++
        }
        assert.deepEqual(series.bytes, bytes, `bytes of ${series.key}`)
        assert.deepEqual(series.flows, flows, `flows of ${series.key}`)
      }
      assert.ok(s.series.some((x) => x.key === 'REJECT') && s.series.some((x) => x.key === 'ACCEPT'))
      // Top talkers by bytes, top destination ports, top rejected sources by flows.
      const top = await topN(set.session, { by: 'srcaddr', limit: 5 })
      const want = topAnswer(recs, ['srcaddr'], 5, (r) => g(r, 'packets') !== null && g(r, 'srcaddr') !== '-')
      assert.deepEqual(
        top.map((t) => [t.key.srcaddr, t.bytes]),
        want.map((w) => [w[0], w[1]]),
      )
      const rejected = await topN(set.session, { by: 'srcaddr', action: 'REJECT', metric: 'flows', limit: 3 })
      const counts = new Map<string, number>()
      for (const r of recs)
        if (g(r, 'action') === 'REJECT' && g(r, 'packets') !== null)
          counts.set(String(r.srcaddr), (counts.get(String(r.srcaddr)) ?? 0) + 1)
      const wantRej = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3)
      assert.deepEqual(
        rejected.map((t) => [t.key.srcaddr, t.flows]),
        wantRej,
      )
      // Search: TCP in a private block, 4 per page, newest first; pages joined = the whole sorted answer.
      const block = setName === 'AWS samples' ? '172.31.0.0/16' : '10.0.0.0/8'
      const [lo, hi] = block === '172.31.0.0/16' ? ['172.31.', ''] : ['10.', '']
      const inBlock = (a: unknown): boolean => typeof a === 'string' && a.startsWith(lo) && hi === ''
      const match = recs.filter((r) => tcp(r) && (inBlock(r.srcaddr) || inBlock(r.dstaddr)))
      const rows: CellValue[][] = []
      let token: string | null | undefined
      let total = -1
      do {
        const page = await searchFlows(set.session, {
          cidrs: [block],
          protocol: 6,
          pageSize: 4,
          pageToken: token ?? undefined,
        })
        total = page.total
        rows.push(...page.rows)
        token = page.nextToken
      } while (token !== null)
      assert.equal(total, match.length)
      assert.equal(rows.length, match.length)
      const startIx = 0
      for (let i = 1; i < rows.length; i++)
        assert.ok(cmp(rows[i - 1]![startIx], rows[i]![startIx]) >= 0, 'newest first')
      assert.deepEqual(
        sortRows(rows.map((r) => [r[0]!, r[3]!, r[4]!, r[9]!])),
        sortRows(match.map((r) => [g(r, 'start'), g(r, 'srcaddr'), g(r, 'dstaddr'), g(r, 'bytes')])),
      )
      // Export: CSV (header + one line per record) and Parquet (read back here).
      const csv = Buffer.from(
        await exportFlows(set.session, { cidrs: [block], protocol: 6, format: 'csv' }),
      ).toString('utf8')
      assert.equal(csv.trim().split('\n').length, match.length + 1)
      const pq = await exportFlows(set.session, { cidrs: [block], protocol: 6, format: 'parquet' })
      const back = await parquetReadObjects({
        file: pq.buffer.slice(pq.byteOffset, pq.byteOffset + pq.byteLength) as ArrayBuffer,
        compressors,
      })
      assert.equal(back.length, match.length)
    })
  }
})
