// SPDX-License-Identifier: Apache-2.0
/**
 * The console's questions about traffic, answered in SQL over `vpc_flow_logs` (the API the server's
 * console routes call; every input is checked and turned into SQL literals, never pasted in):
 *
 * - `trafficSeries(session, q)` — bytes, packets and flows per time bucket, one series per action
 *   (accepted vs rejected), VPC, subnet or interface, as aligned arrays for a chart;
 * - `topN(session, q)` — top talkers (source, destination, pair), top ports, top rejected sources…;
 * - `searchFlows(session, q)` — flow records matching a filter, sorted, one page at a time, with the
 *   total and a token for the next page;
 * - `exportFlows(session, q)` — the same records (up to a cap) as a CSV or Parquet file.
 *
 * Time: a record belongs to the bucket (and the range) holding its `start`; ranges are half-open,
 * `[from, to)`, in Unix seconds. Records without traffic (NODATA, SKIPDATA) have no bytes and count
 * as no flow. A `-` in a string column counts as unknown (as NULL).
 *
 * Use through an `AnalyticsStore` (store.ts) in the server, so that queries are serialised and the
 * table follows what agents deliver:
 *
 * ```ts
 * const store = new AnalyticsStore({ storeRoots: [join(dataDir, 's3')] })
 * const s = await store.use((session) => trafficSeries(session, { from, to, groupBy: 'action' }))
 * ```
 * @module
 */
import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseCidr, type Cidr } from '../packet/index.ts'
import { sqlIdent, sqlString, type CellValue, type ResultColumn } from './engine.ts'
import { AnalyticsArgumentError } from './errors.ts'
import type { AnalyticsSession } from './session.ts'

/** What every question may filter on. Omitted fields do not filter. */
export interface TrafficFilter {
  /** Unix seconds, inclusive. */
  from?: number | undefined
  /** Unix seconds, exclusive. */
  to?: number | undefined
  action?: 'ACCEPT' | 'REJECT' | undefined
  /** IANA protocol number (6 TCP, 17 UDP, 1 ICMP, …). */
  protocol?: number | undefined
  /** Either side's address in one of these blocks (IPv4 or IPv6 CIDR, or a bare address). */
  cidrs?: readonly string[] | undefined
  srcCidrs?: readonly string[] | undefined
  dstCidrs?: readonly string[] | undefined
  /** Either side's port is one of these. */
  ports?: readonly number[] | undefined
  srcPorts?: readonly number[] | undefined
  dstPorts?: readonly number[] | undefined
  interfaceIds?: readonly string[] | undefined
  vpcIds?: readonly string[] | undefined
  subnetIds?: readonly string[] | undefined
}

/** Most values in one list filter (CIDRs, ports, ids). */
export const MAX_FILTER_VALUES = 100
/** Most buckets in one series. */
export const MAX_BUCKETS = 10_000
/** Most series in one answer: the rest are summed into `other`. */
export const MAX_SERIES = 20
/** Most rows of a page, of a top-N, of an export. */
export const MAX_PAGE = 1000
export const MAX_TOP = 1000
export const MAX_EXPORT_ROWS = 1_000_000

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/

const bad = (msg: string): never => {
  throw new AnalyticsArgumentError(msg)
}

function checkInt(v: number, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(`${what} must be a whole number from ${min} to ${max}, got ${String(v).slice(0, 40)}`)
  return v
}

function checkList<T>(xs: readonly T[] | undefined, what: string): readonly T[] {
  if (xs === undefined) return []
  if (!Array.isArray(xs) || xs.length > MAX_FILTER_VALUES)
    bad(`${what}: at most ${MAX_FILTER_VALUES} values in a list`)
  return xs
}

/** `a.b.c.d` as an unsigned number. */
function v4text(c: Cidr, last: boolean): string {
  const n = last ? (c.v4 | ~c.mask4) >>> 0 : c.v4
  return String(n)
}

/** 32 hex digits of an IPv6 block's first (or last) address. */
function v6hex(c: Cidr, last: boolean): string {
  let out = ''
  for (let i = 0; i < 16; i++) {
    const bits = Math.min(8, Math.max(0, c.prefixLength - i * 8))
    const hostMask = 0xff >> bits
    const b = last ? c.v6[i]! | hostMask : c.v6[i]!
    out += b.toString(16).padStart(2, '0')
  }
  return out
}

/** A predicate: `col` lies in one of `cidrs`. */
function cidrPredicate(col: string, cidrs: readonly string[], what: string): string {
  const parts: string[] = []
  for (const text of cidrs) {
    let c: Cidr
    try {
      c = parseCidr(String(text))
    } catch {
      return bad(`${what}: '${String(text).slice(0, 60)}' is not a CIDR block or address`)
    }
    parts.push(
      c.family === 4
        ? `mf_ipv4_num(${col}) BETWEEN ${v4text(c, false)} AND ${v4text(c, true)}`
        : `mf_ipv6_hex(${col}) BETWEEN '${v6hex(c, false)}' AND '${v6hex(c, true)}'`,
    )
  }
  return `(${parts.join(' OR ')})`
}

function portList(ports: readonly number[], what: string): string {
  return ports.map((p) => checkInt(p, 0, 65535, what)).join(', ')
}

function idList(ids: readonly string[], what: string): string {
  return ids
    .map((id) => {
      if (typeof id !== 'string' || !ID.test(id)) bad(`${what}: '${String(id).slice(0, 60)}' is not an id`)
      return sqlString(id)
    })
    .join(', ')
}

/** The WHERE clause of a filter (`true` when nothing filters). Throws `AnalyticsArgumentError`. */
export function filterSql(f: TrafficFilter = {}): string {
  const w: string[] = []
  if (f.from !== undefined) w.push(`start >= ${checkInt(f.from, 0, 2 ** 40, 'from')}`)
  if (f.to !== undefined) w.push(`start < ${checkInt(f.to, 0, 2 ** 40, 'to')}`)
  if (f.from !== undefined && f.to !== undefined && f.to <= f.from) bad('to must be after from')
  if (f.action !== undefined) {
    if (f.action !== 'ACCEPT' && f.action !== 'REJECT') bad(`action must be ACCEPT or REJECT`)
    w.push(`action = '${f.action}'`)
  }
  if (f.protocol !== undefined) w.push(`protocol = ${checkInt(f.protocol, 0, 255, 'protocol')}`)
  const cidrs = checkList(f.cidrs, 'cidrs')
  if (cidrs.length > 0) {
    w.push(`(${cidrPredicate('srcaddr', cidrs, 'cidrs')} OR ${cidrPredicate('dstaddr', cidrs, 'cidrs')})`)
  }
  const src = checkList(f.srcCidrs, 'srcCidrs')
  if (src.length > 0) w.push(cidrPredicate('srcaddr', src, 'srcCidrs'))
  const dst = checkList(f.dstCidrs, 'dstCidrs')
  if (dst.length > 0) w.push(cidrPredicate('dstaddr', dst, 'dstCidrs'))
  const ports = checkList(f.ports, 'ports')
  if (ports.length > 0) {
    const l = portList(ports, 'ports')
    w.push(`(srcport IN (${l}) OR dstport IN (${l}))`)
  }
  const sp = checkList(f.srcPorts, 'srcPorts')
  if (sp.length > 0) w.push(`srcport IN (${portList(sp, 'srcPorts')})`)
  const dp = checkList(f.dstPorts, 'dstPorts')
  if (dp.length > 0) w.push(`dstport IN (${portList(dp, 'dstPorts')})`)
  for (const [key, col] of [
    ['interfaceIds', 'interface_id'],
    ['vpcIds', 'vpc_id'],
    ['subnetIds', 'subnet_id'],
  ] as const) {
    const ids = checkList(f[key], key)
    if (ids.length > 0) w.push(`${col} IN (${idList(ids, key)})`)
  }
  return w.length === 0 ? 'true' : w.join(' AND ')
}

// ---------------------------------------------------------------------------------------------- series

export type SeriesGroup = 'action' | 'vpc' | 'subnet' | 'interface' | 'none'

const GROUP_COLUMN: Record<SeriesGroup, string | null> = {
  action: 'action',
  vpc: 'vpc_id',
  subnet: 'subnet_id',
  interface: 'interface_id',
  none: null,
}

/** Bucket sizes chosen when none is given: the smallest giving at most 500 buckets. */
export const AUTO_BUCKETS = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400] as const

export interface SeriesQuery extends TrafficFilter {
  from: number
  to: number
  /** Seconds per bucket (60 to 7 days; default: chosen from the range). */
  bucketSeconds?: number | undefined
  /** One series per action (default), VPC, subnet, interface, or a single series. */
  groupBy?: SeriesGroup | undefined
}

export interface Series {
  /** The group's value (`ACCEPT`, a VPC id, …; `total` for a single series; `other` for the rest). */
  key: string
  bytes: number[]
  packets: number[]
  flows: number[]
}

export interface SeriesResult {
  bucketSeconds: number
  /** Start (Unix seconds) of each bucket, from `from` rounded down to a bucket edge, to before `to`. */
  buckets: number[]
  /** Largest `bytes` total first; at most MAX_SERIES (the rest summed into `other`). */
  series: Series[]
}

/** Bytes, packets and flows per time bucket, per group. */
export async function trafficSeries(session: AnalyticsSession, q: SeriesQuery): Promise<SeriesResult> {
  if (q.from === undefined || q.to === undefined) bad('a series needs from and to')
  const where = filterSql(q)
  const span = q.to - q.from
  const bucket =
    q.bucketSeconds !== undefined
      ? checkInt(q.bucketSeconds, 60, 7 * 86400, 'bucketSeconds')
      : (AUTO_BUCKETS.find((b) => span / b <= 500) ?? AUTO_BUCKETS[AUTO_BUCKETS.length - 1]!)
  const first = Math.floor(q.from / bucket) * bucket
  const n = Math.ceil((q.to - first) / bucket)
  if (n > MAX_BUCKETS) bad(`${n} buckets: at most ${MAX_BUCKETS} (choose a larger bucketSeconds)`)
  const groupBy = q.groupBy ?? 'action'
  if (!Object.hasOwn(GROUP_COLUMN, groupBy)) bad(`groupBy must be action, vpc, subnet, interface or none`)
  const col = GROUP_COLUMN[groupBy]
  const key = col === null ? `'total'` : `coalesce(nullif(${col}, '-'), 'unknown')`
  const r = await session.query(
    `SELECT ${key} AS k, CAST((start - ${first}) // ${bucket} AS BIGINT) AS b,
       CAST(coalesce(sum(bytes), 0) AS DOUBLE) AS bytes, CAST(coalesce(sum(packets), 0) AS DOUBLE) AS packets,
       count(*) FILTER (WHERE packets IS NOT NULL) AS flows
     FROM vpc_flow_logs WHERE ${where} AND start IS NOT NULL
     GROUP BY ALL`,
  )
  const byKey = new Map<string, Series>()
  const totals = new Map<string, number>()
  const blank = (k: string): Series => ({
    key: k,
    bytes: new Array<number>(n).fill(0),
    packets: new Array<number>(n).fill(0),
    flows: new Array<number>(n).fill(0),
  })
  for (const [k, b, bytes, packets, flows] of r.rows) {
    const i = Number(b)
    if (i < 0 || i >= n) continue
    const name = String(k)
    let s = byKey.get(name)
    if (s === undefined) byKey.set(name, (s = blank(name)))
    s.bytes[i]! += Number(bytes)
    s.packets[i]! += Number(packets)
    s.flows[i]! += Number(flows)
    totals.set(name, (totals.get(name) ?? 0) + Number(bytes))
  }
  const ordered = [...byKey.values()].sort(
    (a, b) => totals.get(b.key)! - totals.get(a.key)! || (a.key < b.key ? -1 : 1),
  )
  let series = ordered
  if (ordered.length > MAX_SERIES) {
    series = ordered.slice(0, MAX_SERIES - 1)
    const other = blank('other')
    for (const s of ordered.slice(MAX_SERIES - 1)) {
      for (let i = 0; i < n; i++) {
        other.bytes[i]! += s.bytes[i]!
        other.packets[i]! += s.packets[i]!
        other.flows[i]! += s.flows[i]!
      }
    }
    series.push(other)
  }
  return { bucketSeconds: bucket, buckets: Array.from({ length: n }, (_, i) => first + i * bucket), series }
}

// ----------------------------------------------------------------------------------------------- top N

export type TopBy = 'srcaddr' | 'dstaddr' | 'pair' | 'srcport' | 'dstport' | 'interface' | 'protocol'
export type TopMetric = 'bytes' | 'packets' | 'flows'

const TOP_KEYS: Record<TopBy, string[]> = {
  srcaddr: ['srcaddr'],
  dstaddr: ['dstaddr'],
  pair: ['srcaddr', 'dstaddr'],
  srcport: ['srcport', 'protocol'],
  dstport: ['dstport', 'protocol'],
  interface: ['interface_id'],
  protocol: ['protocol'],
}

export interface TopQuery extends TrafficFilter {
  by: TopBy
  /** What ranks the rows (default bytes). */
  metric?: TopMetric | undefined
  /** How many rows (default 10, at most 1000). */
  limit?: number | undefined
}

export interface TopRow {
  /** The key's values by column name (`srcaddr`, `dstport` + `protocol`, …). */
  key: Record<string, CellValue>
  bytes: number
  packets: number
  flows: number
}

/**
 * The top rows by `metric`: top talkers (`by: 'srcaddr'`, `'pair'`), top ports (`'dstport'`), top
 * rejected sources (`by: 'srcaddr', action: 'REJECT', metric: 'flows'`). Ties are broken by key.
 */
export async function topN(session: AnalyticsSession, q: TopQuery): Promise<TopRow[]> {
  if (!Object.hasOwn(TOP_KEYS, q.by)) bad(`by must be one of ${Object.keys(TOP_KEYS).join(', ')}`)
  const metric = q.metric ?? 'bytes'
  if (metric !== 'bytes' && metric !== 'packets' && metric !== 'flows')
    bad('metric must be bytes, packets or flows')
  const limit = checkInt(q.limit ?? 10, 1, MAX_TOP, 'limit')
  const keys = TOP_KEYS[q.by]
  const where = filterSql(q)
  const notDash = keys.map((k) => `${sqlIdent(k)} IS NOT NULL`).join(' AND ')
  const keySel = keys.map((k) => sqlIdent(k)).join(', ')
  const r = await session.query(
    `SELECT ${keySel}, CAST(coalesce(sum(bytes), 0) AS DOUBLE) AS bytes, CAST(coalesce(sum(packets), 0) AS DOUBLE) AS packets,
       count(*) FILTER (WHERE packets IS NOT NULL) AS flows
     FROM vpc_flow_logs
     WHERE ${where} AND packets IS NOT NULL AND ${notDash}${keys.includes('srcaddr') || keys.includes('dstaddr') || keys.includes('interface_id') ? ` AND ${keys.map((k) => `CAST(${sqlIdent(k)} AS VARCHAR) <> '-'`).join(' AND ')}` : ''}
     GROUP BY ${keySel}
     ORDER BY ${metric} DESC, ${keySel}
     LIMIT ${limit}`,
  )
  return r.rows.map((row) => ({
    key: Object.fromEntries(keys.map((k, i) => [k, row[i]!])),
    bytes: Number(row[keys.length]),
    packets: Number(row[keys.length + 1]),
    flows: Number(row[keys.length + 2]),
  }))
}

// ------------------------------------------------------------------------------------------ flow search

/** Columns a search returns, and may sort by. */
export const SEARCH_COLUMNS = [
  'start',
  'end',
  'interface_id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'action',
  'log_status',
  'tcp_flags',
  'flow_direction',
  'vpc_id',
  'subnet_id',
  'instance_id',
] as const
export type SearchColumn = (typeof SEARCH_COLUMNS)[number]

export interface SearchQuery extends TrafficFilter {
  /** Sort column (default `start`) and direction (default descending: newest first). */
  sort?: SearchColumn | undefined
  order?: 'asc' | 'desc' | undefined
  /** Rows per page (default 100, at most 1000). */
  pageSize?: number | undefined
  /** The `nextToken` of the previous page. */
  pageToken?: string | undefined
}

export interface SearchResult {
  columns: ResultColumn[]
  rows: CellValue[][]
  /** Records matching the filter, over all pages. */
  total: number
  /** Token of the next page, or null after the last. */
  nextToken: string | null
}

function orderSql(q: SearchQuery): string {
  const sort = q.sort ?? 'start'
  if (!(SEARCH_COLUMNS as readonly string[]).includes(sort))
    bad(`sort must be one of ${SEARCH_COLUMNS.join(', ')}`)
  const order = q.order ?? 'desc'
  if (order !== 'asc' && order !== 'desc') bad('order must be asc or desc')
  // A total order (every column after the sort key), so that pages neither repeat nor skip a row.
  const rest = SEARCH_COLUMNS.filter((c) => c !== sort).map((c) => `${sqlIdent(c)} ASC NULLS LAST`)
  return [`${sqlIdent(sort)} ${order.toUpperCase()} NULLS LAST`, ...rest].join(', ')
}

const selectList = SEARCH_COLUMNS.map((c) => sqlIdent(c)).join(', ')

/** One page of the flow records matching a filter. */
export async function searchFlows(session: AnalyticsSession, q: SearchQuery): Promise<SearchResult> {
  const where = filterSql(q)
  const order = orderSql(q)
  const size = checkInt(q.pageSize ?? 100, 1, MAX_PAGE, 'pageSize')
  let offset = 0
  if (q.pageToken !== undefined && q.pageToken !== null) {
    if (typeof q.pageToken !== 'string' || !/^[0-9]{1,12}$/.test(q.pageToken))
      bad('pageToken is not a page token')
    offset = Number(q.pageToken)
  }
  const total = Number((await session.query(`SELECT count(*) FROM vpc_flow_logs WHERE ${where}`)).rows[0]![0])
  const r = await session.query(
    `SELECT ${selectList} FROM vpc_flow_logs WHERE ${where} ORDER BY ${order} LIMIT ${size} OFFSET ${offset}`,
  )
  const next = offset + r.rows.length
  return {
    columns: r.columns,
    rows: r.rows,
    total,
    nextToken: next < total && r.rows.length > 0 ? String(next) : null,
  }
}

export interface ExportQuery extends SearchQuery {
  format: 'csv' | 'parquet'
  /** Most records written (default and cap 1,000,000). */
  maxRows?: number | undefined
}

/**
 * The records matching a filter, sorted, as a CSV (with a header line) or Parquet file's bytes (the
 * Parquet columns are the table's, with its types). At most `maxRows` records.
 */
export async function exportFlows(session: AnalyticsSession, q: ExportQuery): Promise<Uint8Array> {
  if (q.format !== 'csv' && q.format !== 'parquet') bad('format must be csv or parquet')
  const where = filterSql(q)
  const order = orderSql(q)
  const max = checkInt(q.maxRows ?? MAX_EXPORT_ROWS, 1, MAX_EXPORT_ROWS, 'maxRows')
  const file = join(session.exportDir, `flows-${randomBytes(8).toString('hex')}.${q.format}`)
  const opts = q.format === 'csv' ? `(FORMAT CSV, HEADER true)` : `(FORMAT PARQUET, COMPRESSION SNAPPY)`
  try {
    await session.query(
      `COPY (SELECT ${selectList} FROM vpc_flow_logs WHERE ${where} ORDER BY ${order} LIMIT ${max}) TO ${sqlString(file)} ${opts}`,
    )
    return new Uint8Array(await readFile(file))
  } finally {
    await rm(file, { force: true })
  }
}
