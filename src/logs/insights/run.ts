// SPDX-License-Identifier: Apache-2.0
/**
 * Runs a parsed Logs Insights query over the event store: only the events of the asked groups in
 * the asked time range are read (the store's (group, time) index), each turned into a row whose
 * fields are found lazily — `@timestamp`, `@message`, `@logStream`, `@log`, `@ingestionTime`, the
 * flow-log fields of flow-log records, the fields of JSON events, and those made by `fields` and
 * `parse`. Row commands (fields, parse, filter) run per event; then either `stats` aggregates, or
 * the matching rows are kept (top-k by the sort, default `@timestamp` descending). Result commands
 * (sort, limit, dedup, display, and after `stats` also filter and fields) run on the result rows.
 * @module
 */
import { InsightsQueryError } from '../errors.ts'
import { splitFields } from '../filter-pattern.ts'
import { DEFAULT_FLOW_FORMAT, type FlowFormat } from '../flowlog-fields.ts'
import type { LogStore, ScanCursor } from '../store.ts'
import { exprText, parseQuery, type Command, type Expr, type Named } from './parse.ts'

type Value = string | number | boolean | null | undefined

export interface QueryInput {
  /** Group ids and names, in the order asked. */
  groups: readonly { id: number; name: string }[]
  accountId: string
  /** Stream names by id. */
  streamName: (sid: number) => string
  /** Inclusive range, ms. */
  start: number
  end: number
  /** Most result rows when the query has no `limit` (StartQuery's `limit`, default 1000). */
  limit: number
  /** Flow-log formats known for these groups (the default format is always tried last). */
  formats: readonly FlowFormat[]
  /** Called every 64 Ki events; returning true stops the query (StopQuery). */
  cancelled?: () => boolean
}

export interface ResultField {
  field: string
  value: string
}

export interface QueryOutput {
  results: ResultField[][]
  statistics: { recordsMatched: number; recordsScanned: number; bytesScanned: number }
  cancelled: boolean
}

/** Most groups `stats … by` may make, and rows a query may hold before its sort. */
const MAX_GROUPS = 1_000_000
const MAX_HELD_ROWS = 1_000_000

function fail(msg: string): never {
  throw new InsightsQueryError(msg)
}

/** `2026-12-03 20:26:50.590`, as Insights shows timestamps. */
export function formatTime(ms: number): string {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return String(ms)
  return d.toISOString().replace('T', ' ').replace('Z', '')
}

const NUM = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/

function toNum(v: Value): number {
  if (typeof v === 'number') return v
  if (typeof v === 'string') {
    // Flow-log counters are plain digits: read them without the regular expression.
    const len = v.length
    if (len > 0 && len <= 15) {
      let x = 0
      let k = 0
      for (; k < len; k++) {
        const d = v.charCodeAt(k) - 48
        if (d < 0 || d > 9) break
        x = x * 10 + d
      }
      if (k === len) return x
    }
    if (len < 64 && NUM.test(v)) return Number(v)
  }
  if (typeof v === 'boolean') return v ? 1 : 0
  return NaN
}

function truthy(v: Value): boolean {
  return v !== undefined && v !== null && v !== false && v !== '' && v !== 0
}

function toStr(v: Value): string {
  if (v === undefined || v === null) return ''
  return typeof v === 'string' ? v : String(v)
}

/** Equality as Insights compares: numerically when both sides read as numbers and one is a number. */
function equal(a: Value, b: Value): boolean {
  if (a === undefined || b === undefined || a === null || b === null) return false
  if (typeof a === 'number' || typeof b === 'number') {
    const x = toNum(a)
    const y = toNum(b)
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x === y
    return toStr(a) === toStr(b)
  }
  return toStr(a) === toStr(b)
}

function order(a: Value, b: Value): number {
  const x = toNum(a)
  const y = toNum(b)
  if (!Number.isNaN(x) && !Number.isNaN(y)) return x < y ? -1 : x > y ? 1 : 0
  const s = toStr(a)
  const t = toStr(b)
  return s < t ? -1 : s > t ? 1 : 0
}

function ipv4(s: string): number {
  const p = s.split('.')
  if (p.length !== 4) return -1
  let n = 0
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x)) return -1
    const v = Number(x)
    if (v > 255) return -1
    n = n * 256 + v
  }
  return n
}

const cidrCache = new Map<string, [number, number] | null>()

function inSubnet(ip: string, cidr: string): boolean {
  let c = cidrCache.get(cidr)
  if (c === undefined) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr)
    const base = m === null ? -1 : ipv4(m[1]!)
    const bits = m === null ? -1 : Number(m[2])
    c = base < 0 || bits > 32 ? null : [base, bits]
    if (cidrCache.size < 1000) cidrCache.set(cidr, c)
  }
  if (c === null) fail(`'${cidr.slice(0, 40)}' is not an IPv4 CIDR block.`)
  const a = ipv4(ip)
  if (a < 0) return false
  const size = 2 ** (32 - c[1])
  return Math.floor(a / size) === Math.floor(c[0] / size)
}

/** Whether an expression's value is a time (shown as a date). */
function isTime(e: Expr): boolean {
  if (e.t === 'field') return e.name === '@timestamp' || e.name === '@ingestionTime'
  if (e.t === 'call') return ['bin', 'datefloor', 'dateceil', 'frommillis'].includes(e.fn)
  if (e.t === 'agg')
    return ['min', 'max', 'earliest', 'latest'].includes(e.fn) && e.args[0] !== undefined && isTime(e.args[0])
  return false
}

/** One event as a row: fields found on demand. */
class Row {
  ts = 0
  msg = ''
  sid = 0
  gid = 0
  ingest = 0
  extra: Map<string, Value> | null = null
  private split = -2
  private fmt: FlowFormat | null = null
  private json: unknown = undefined
  readonly starts = new Int32Array(128)
  readonly ends = new Int32Array(128)
  private readonly q: QueryInput
  private readonly groupNames: Map<number, string>

  constructor(q: QueryInput, groupNames: Map<number, string>) {
    this.q = q
    this.groupNames = groupNames
  }

  reset(ts: number, msg: string, sid: number, ingest: number, gid: number): void {
    this.ts = ts
    this.msg = msg
    this.sid = sid
    this.ingest = ingest
    this.gid = gid
    this.extra = null
    this.split = -2
    this.fmt = null
    this.json = undefined
  }

  set(name: string, v: Value): void {
    if (this.extra === null) this.extra = new Map()
    this.extra.set(name, v)
  }

  get(name: string): Value {
    if (this.extra !== null && this.extra.has(name)) return this.extra.get(name)
    switch (name) {
      case '@timestamp':
        return this.ts
      case '@message':
        return this.msg
      case '@logStream':
        return this.q.streamName(this.sid)
      case '@log':
        return `${this.q.accountId}:${this.groupNames.get(this.gid) ?? ''}`
      case '@ingestionTime':
        return this.ingest
    }
    if (this.split === -2) {
      this.split = splitFields(this.msg, this.starts, this.ends)
      for (const f of this.q.formats)
        if (f.names.length === this.split) {
          this.fmt = f
          break
        }
      if (this.fmt === null && this.split === DEFAULT_FLOW_FORMAT.names.length) this.fmt = DEFAULT_FLOW_FORMAT
    }
    if (this.fmt !== null) {
      const i = this.fmt.index.get(name)
      if (i !== undefined) return this.msg.slice(this.starts[i], this.ends[i])
    }
    if (this.msg.charCodeAt(0) === 123) {
      if (this.json === undefined) {
        try {
          this.json = this.msg.length <= 256 * 1024 ? JSON.parse(this.msg) : null
        } catch {
          this.json = null
        }
      }
      let v: unknown = this.json
      for (const k of name.split('.')) {
        if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return undefined
        v = (v as Record<string, unknown>)[k]
      }
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return v
      return v === undefined ? undefined : JSON.stringify(v)
    }
    return undefined
  }
}

/** A field source: a row, or a result row after stats. */
interface Fields {
  get(name: string): Value
  readonly ts?: number
}

function evalExpr(e: Expr, r: Fields, aggs?: Map<Expr, Value>): Value {
  switch (e.t) {
    case 'num':
      return e.v
    case 'str':
      return e.v
    case 'dur':
      return e.ms
    case 'field':
      return r.get(e.name)
    case 'regex':
      return fail('a regular expression is not a value.')
    case 'list':
      return fail('a list is not a value.')
    case 'agg':
      if (aggs === undefined || !aggs.has(e)) fail(`${e.fn}() is allowed only in stats.`)
      return aggs.get(e)
    case 'not':
      return !truthy(evalExpr(e.a, r, aggs))
    case 'neg':
      return -toNum(evalExpr(e.a, r, aggs))
    case 'bin': {
      if (e.op === 'and') return truthy(evalExpr(e.a, r, aggs)) && truthy(evalExpr(e.b, r, aggs))
      if (e.op === 'or') return truthy(evalExpr(e.a, r, aggs)) || truthy(evalExpr(e.b, r, aggs))
      const a = evalExpr(e.a, r, aggs)
      if (e.op === 'like') {
        if (a === undefined || a === null) return false
        return e.b.t === 'regex' ? e.b.re.test(toStr(a)) : toStr(a).includes((e.b as { v: string }).v)
      }
      if (e.op === 'in') return (e.b as { items: Expr[] }).items.some((x) => equal(a, evalExpr(x, r, aggs)))
      const b = evalExpr(e.b, r, aggs)
      switch (e.op) {
        case '=':
          return equal(a, b)
        case '!=':
          return a !== undefined && b !== undefined && !equal(a, b)
        case '<':
          return a !== undefined && b !== undefined && order(a, b) < 0
        case '<=':
          return a !== undefined && b !== undefined && order(a, b) <= 0
        case '>':
          return a !== undefined && b !== undefined && order(a, b) > 0
        case '>=':
          return a !== undefined && b !== undefined && order(a, b) >= 0
        case '+':
          return toNum(a) + toNum(b)
        case '-':
          return toNum(a) - toNum(b)
        case '*':
          return toNum(a) * toNum(b)
        case '/':
          return toNum(a) / toNum(b)
        case '%':
          return toNum(a) % toNum(b)
      }
      return fail(`unknown operator ${e.op}.`)
    }
    case 'call':
      return call(e.fn, e.args, r, aggs)
  }
}

function call(fn: string, args: Expr[], r: Fields, aggs?: Map<Expr, Value>): Value {
  switch (fn) {
    case 'isipv4insubnet':
    case 'isipinsubnet': {
      const ip = evalExpr(args[0]!, r, aggs)
      return ip !== undefined && ip !== null && inSubnet(toStr(ip), toStr(evalExpr(args[1]!, r, aggs)))
    }
    case 'ispresent':
      return evalExpr(args[0]!, r, aggs) !== undefined
    case 'isempty': {
      const x = evalExpr(args[0]!, r, aggs)
      return x === undefined || x === null || x === ''
    }
    case 'isblank': {
      const x = evalExpr(args[0]!, r, aggs)
      return x === undefined || x === null || toStr(x).trim() === ''
    }
    case 'strlen':
      return toStr(evalExpr(args[0]!, r, aggs)).length
    case 'toupper':
      return toStr(evalExpr(args[0]!, r, aggs)).toUpperCase()
    case 'tolower':
      return toStr(evalExpr(args[0]!, r, aggs)).toLowerCase()
    case 'trim':
      return toStr(evalExpr(args[0]!, r, aggs)).trim()
    case 'concat':
      return args.map((_a, i) => toStr(evalExpr(args[i]!, r, aggs))).join('')
    case 'substr': {
      const s = toStr(evalExpr(args[0]!, r, aggs))
      const start = toNum(evalExpr(args[1]!, r, aggs))
      return args.length > 2 ? s.substr(start, toNum(evalExpr(args[2]!, r, aggs))) : s.slice(start)
    }
    case 'replace':
      return toStr(evalExpr(args[0]!, r, aggs))
        .split(toStr(evalExpr(args[1]!, r, aggs)))
        .join(toStr(evalExpr(args[2]!, r, aggs)))
    case 'strcontains':
      return toStr(evalExpr(args[0]!, r, aggs)).includes(toStr(evalExpr(args[1]!, r, aggs)))
    case 'abs':
      return Math.abs(toNum(evalExpr(args[0]!, r, aggs)))
    case 'ceil':
      return Math.ceil(toNum(evalExpr(args[0]!, r, aggs)))
    case 'floor':
      return Math.floor(toNum(evalExpr(args[0]!, r, aggs)))
    case 'greatest':
      return Math.max(...args.map((_a, i) => toNum(evalExpr(args[i]!, r, aggs))))
    case 'least':
      return Math.min(...args.map((_a, i) => toNum(evalExpr(args[i]!, r, aggs))))
    case 'coalesce':
      for (let i = 0; i < args.length; i++) {
        const x = evalExpr(args[i]!, r, aggs)
        if (x !== undefined && x !== null) return x
      }
      return undefined
    case 'bin': {
      const p = toNum(evalExpr(args[0]!, r, aggs))
      if (!(p > 0)) fail('bin() needs a positive period such as 5m.')
      const ts = r.ts ?? toNum(r.get('@timestamp'))
      return Math.floor(ts / p) * p
    }
    case 'datefloor':
    case 'dateceil': {
      const t = toNum(evalExpr(args[0]!, r, aggs))
      const p = toNum(evalExpr(args[1]!, r, aggs))
      if (!(p > 0)) fail(`${fn}() needs a positive period.`)
      return fn === 'datefloor' ? Math.floor(t / p) * p : Math.ceil(t / p) * p
    }
    case 'frommillis':
    case 'tomillis':
      return toNum(evalExpr(args[0]!, r, aggs))
  }
  return fail(`unknown function ${fn}.`)
}

// ------------------------------------------------------------ aggregates

interface Acc {
  n: number
  sum: number
  sq: number
  min: Value
  max: Value
  set?: Set<string>
  vals?: number[]
  atTs: number
  at: Value
}

function newAcc(): Acc {
  return { n: 0, sum: 0, sq: 0, min: undefined, max: undefined, atTs: NaN, at: undefined }
}

function collectAggs(e: Expr, out: Extract<Expr, { t: 'agg' }>[]): void {
  switch (e.t) {
    case 'agg':
      for (const a of e.args) if (hasAggInside(a)) fail('aggregates cannot be nested.')
      out.push(e)
      return
    case 'bin':
      collectAggs(e.a, out)
      collectAggs(e.b, out)
      return
    case 'neg':
    case 'not':
      collectAggs(e.a, out)
      return
    case 'call':
      for (const a of e.args) collectAggs(a, out)
      return
    default:
      return
  }
}

function hasAggInside(e: Expr): boolean {
  const l: Extract<Expr, { t: 'agg' }>[] = []
  collectAggs(e, l)
  return l.length > 0
}

/** Values held by count_distinct/pct in the running step (each run saves and restores its own). */
let heldValues = 0

function accumulate(a: Acc, node: Extract<Expr, { t: 'agg' }>, r: Row): void {
  if (node.star) {
    a.n++
    return
  }
  const arg = node.args[0]
  if (arg === undefined) fail(`${node.fn}() needs an argument.`)
  const v = evalExpr(arg, r)
  if (v === undefined || v === null || v === '') return
  a.n++
  switch (node.fn) {
    case 'sum':
    case 'avg':
    case 'stddev': {
      const x = toNum(v)
      if (!Number.isNaN(x)) {
        a.sum += x
        a.sq += x * x
      } else a.n--
      return
    }
    case 'min':
      if (a.min === undefined || order(v, a.min) < 0) a.min = v
      return
    case 'max':
      if (a.max === undefined || order(v, a.max) > 0) a.max = v
      return
    case 'count_distinct': {
      a.set ??= new Set()
      const before = a.set.size
      a.set.add(toStr(v))
      if (a.set.size > before && ++heldValues > MAX_HELD_ROWS * 4)
        fail('count_distinct holds too many values.')
      return
    }
    case 'earliest':
      if (Number.isNaN(a.atTs) || r.ts < a.atTs) {
        a.atTs = r.ts
        a.at = v
      }
      return
    case 'latest':
      if (Number.isNaN(a.atTs) || r.ts >= a.atTs) {
        a.atTs = r.ts
        a.at = v
      }
      return
    case 'pct': {
      const x = toNum(v)
      if (Number.isNaN(x)) return
      a.vals ??= []
      a.vals.push(x)
      if (++heldValues > MAX_HELD_ROWS * 4) fail('pct holds too many values.')
      return
    }
    case 'count':
      return
  }
  fail(`unknown aggregate ${node.fn}.`)
}

function finish(a: Acc, node: Extract<Expr, { t: 'agg' }>): Value {
  switch (node.fn) {
    case 'count':
      return a.n
    case 'sum':
      return a.sum
    case 'avg':
      return a.n === 0 ? undefined : a.sum / a.n
    case 'stddev': {
      if (a.n < 2) return 0
      const mean = a.sum / a.n
      return Math.sqrt(Math.max(0, (a.sq - a.n * mean * mean) / (a.n - 1)))
    }
    case 'min':
      return a.min
    case 'max':
      return a.max
    case 'count_distinct':
      return a.set?.size ?? 0
    case 'earliest':
    case 'latest':
      return a.at
    case 'pct': {
      const p = node.args[1]
      const q = p !== undefined && p.t === 'num' ? p.v : fail('pct() needs a percentile number.')
      const vals = (a.vals ?? []).sort((x, y) => x - y)
      if (vals.length === 0) return undefined
      return vals[Math.min(vals.length - 1, Math.max(0, Math.ceil((q / 100) * vals.length) - 1))]
    }
  }
  return undefined
}

// ------------------------------------------------------------ the run

/** A result row: values by output name, and whether each is a time. */
class OutRow implements Fields {
  readonly values = new Map<string, Value>()
  seq = 0
  ts?: number
  get(name: string): Value {
    return this.values.get(name)
  }
}

function display(v: Value, time: boolean): string {
  if (v === undefined || v === null) return ''
  if (time && typeof v === 'number') return formatTime(v)
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6)
  return toStr(v)
}

function compareRows(keys: { name: string; desc: boolean }[]): (a: OutRow, b: OutRow) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = a.get(k.name)
      const y = b.get(k.name)
      // Missing values sort last either way.
      if (x === undefined && y === undefined) continue
      if (x === undefined) return 1
      if (y === undefined) return -1
      const c = order(x, y)
      if (c !== 0) return k.desc ? -c : c
    }
    return a.seq - b.seq
  }
}

/** Parses and runs a query. Throws {@link InsightsQueryError} for a query it cannot run. */
/** A query being run in steps: each `step` scans at most so many events; `finish` makes the results. */
export interface QueryRun {
  /** Scans up to `maxEvents` more events; true once the scan is done (or was cancelled). */
  step(maxEvents: number): boolean
  finish(): QueryOutput
}

/** Runs a query to its end at once (tests, small stores). */
export function runQuery(store: LogStore, query: string | Command[], q: QueryInput): QueryOutput {
  const run = prepareQuery(store, query, q)
  while (!run.step(Infinity));
  return run.finish()
}

/**
 * Prepares a query (a command or function that cannot run fails here, before any event is read)
 * to run in steps: the server runs a step of a few tens of thousands of events at a time and lets
 * other requests in between, so a long query never holds the event loop for long, and StopQuery
 * takes effect at the next step.
 */
export function prepareQuery(store: LogStore, query: string | Command[], q: QueryInput): QueryRun {
  const cmds = typeof query === 'string' ? parseQuery(query) : query
  let myHeld = 0
  const statsAt = cmds.findIndex((c) => c.t === 'stats')
  const rowCmds =
    statsAt >= 0
      ? cmds.slice(0, statsAt)
      : cmds.filter((c) => ['fields', 'parse', 'filter', 'display'].includes(c.t))
  const resultCmds =
    statsAt >= 0
      ? cmds.slice(statsAt + 1)
      : cmds.filter((c) => !['fields', 'parse', 'filter', 'display'].includes(c.t))
  if (statsAt < 0) {
    // Row commands after a result command would need the rows in between: not supported.
    let seenResult = false
    for (const c of cmds) {
      if (c.t === 'sort' || c.t === 'limit' || c.t === 'dedup') seenResult = true
      else if (seenResult && c.t !== 'display') fail(`${c.t} after sort, limit or dedup is not supported.`)
    }
  } else {
    for (const c of rowCmds)
      if (c.t === 'sort' || c.t === 'limit' || c.t === 'dedup') fail(`${c.t} before stats is not supported.`)
  }
  const groupNames = new Map(q.groups.map((g) => [g.id, g.name]))
  const row = new Row(q, groupNames)
  const stats = statsAt >= 0 ? (cmds[statsAt] as Extract<Command, { t: 'stats' }>) : undefined

  // What each result shows (non-stats): the last display, else every fields item, else the defaults.
  const shown: string[] = []
  const timeNames = new Set<string>(['@timestamp', '@ingestionTime'])
  for (const c of rowCmds) {
    if (c.t === 'fields') {
      for (const it of c.items) {
        if (!shown.includes(it.name)) shown.push(it.name)
        if (isTime(it.expr)) timeNames.add(it.name)
      }
    }
  }
  const lastDisplay = [...cmds].reverse().find((c) => c.t === 'display') as
    Extract<Command, { t: 'display' }> | undefined
  if (statsAt < 0 && lastDisplay !== undefined) shown.splice(0, shown.length, ...lastDisplay.names)
  if (shown.length === 0) shown.push('@timestamp', '@message')
  const sortCmd = resultCmds.find((c) => c.t === 'sort') as Extract<Command, { t: 'sort' }> | undefined
  const limitCmd = resultCmds.find((c) => c.t === 'limit') as Extract<Command, { t: 'limit' }> | undefined
  const limit = limitCmd?.n ?? q.limit
  const sortKeys = statsAt < 0 ? (sortCmd?.keys ?? [{ name: '@timestamp', desc: true }]) : []
  const hasDedup = resultCmds.some((c) => c.t === 'dedup')
  const keep = [
    ...new Set([
      ...shown,
      ...sortKeys.map((k) => k.name),
      ...resultCmds.flatMap((c) => (c.t === 'dedup' ? c.names : [])),
    ]),
  ]

  // stats
  const aggNodes: Extract<Expr, { t: 'agg' }>[] = []
  if (stats !== undefined) for (const a of stats.aggs) collectAggs(a.expr, aggNodes)
  const groups = new Map<Value, { keys: Value[]; accs: Acc[] }>()

  let held: OutRow[] = []
  let seq = 0
  const cmp = compareRows(sortKeys)
  let scanned = 0
  let bytes = 0
  let matched = 0
  let cancelled = false
  const gids = q.groups.map((g) => g.id)

  const byExprs = stats === undefined ? [] : stats.by.map((b) => b.expr)
  const byCount = byExprs.length
  const cursor: ScanCursor = { g: 0, ts: -Infinity, id: -1 }
  const onEvent = (ts: number, msg: string, sid: number, ingest: number, gid: number): boolean => {
    scanned++
    bytes += msg.length
    if ((scanned & 0xffff) === 0 && q.cancelled?.() === true) {
      cancelled = true
      return false
    }
    row.reset(ts, msg, sid, ingest, gid)
    for (const c of rowCmds) {
      if (c.t === 'filter') {
        if (!truthy(evalExpr(c.expr, row))) return true
      } else if (c.t === 'fields') {
        for (const it of c.items)
          if (it.expr.t !== 'field' || it.expr.name !== it.name) row.set(it.name, evalExpr(it.expr, row))
      } else if (c.t === 'parse') parseInto(row, c)
    }
    matched++
    if (stats !== undefined) {
      // One key (a field, or a bin's number) is its own map key: no string built per event.
      let key: Value
      if (byCount === 1) key = evalExpr(byExprs[0]!, row)
      else {
        key = ''
        for (let k = 0; k < byCount; k++) key += (k > 0 ? '\u0000' : '') + toStr(evalExpr(byExprs[k]!, row))
      }
      let g = groups.get(key)
      if (g === undefined) {
        const keys: Value[] = []
        for (let k = 0; k < byCount; k++) keys.push(evalExpr(byExprs[k]!, row))
        if (groups.size >= MAX_GROUPS) fail(`stats makes more than ${MAX_GROUPS} groups.`)
        g = { keys, accs: aggNodes.map(() => newAcc()) }
        groups.set(key, g)
      }
      for (let k = 0; k < aggNodes.length; k++) accumulate(g.accs[k]!, aggNodes[k]!, row)
      return true
    }
    const out = new OutRow()
    out.seq = seq++
    for (const n of keep) out.values.set(n, row.get(n))
    out.values.set('@ptr', `${gid}:${ts}:${out.seq}`)
    held.push(out)
    if (!hasDedup && held.length > 4 * limit + 1024) {
      held.sort(cmp)
      held = held.slice(0, limit)
    } else if (held.length > MAX_HELD_ROWS)
      fail(`the query holds more than ${MAX_HELD_ROWS} rows: add a limit or stats.`)
    return true
  }

  let done = false
  const step = (maxEvents: number): boolean => {
    if (done) return true
    heldValues = myHeld
    try {
      done = store.scanEvents(gids, q.start, q.end, cursor, maxEvents, onEvent) || cancelled
    } finally {
      myHeld = heldValues
    }
    return done
  }
  return { step, finish: () => finishQuery() }

  function finishQuery(): QueryOutput {
    let rows: OutRow[]
    let names: string[]
    if (stats !== undefined) {
      names = [...stats.by.map((b) => b.name), ...stats.aggs.map((a) => a.name)]
      for (const b of stats.by) if (isTime(b.expr)) timeNames.add(b.name)
      for (const a of stats.aggs) if (isTime(a.expr)) timeNames.add(a.name)
      rows = []
      for (const g of groups.values()) {
        const out = new OutRow()
        out.seq = seq++
        stats.by.forEach((b, i) => out.values.set(b.name, g.keys[i]))
        const vals = new Map<Expr, Value>()
        aggNodes.forEach((n, i) => vals.set(n, finish(g.accs[i]!, n)))
        for (const a of stats.aggs) out.values.set(a.name, evalExpr(a.expr, out, vals))
        rows.push(out)
      }
      // Result commands after stats, in order.
      for (const c of resultCmds) {
        switch (c.t) {
          case 'sort':
            rows.sort(compareRows(c.keys))
            break
          case 'limit':
            rows = rows.slice(0, c.n)
            break
          case 'filter':
            rows = rows.filter((r) => truthy(evalExpr(c.expr, r)))
            break
          case 'fields':
            for (const r of rows) for (const it of c.items) r.values.set(it.name, evalExpr(it.expr, r))
            for (const it of c.items) if (!names.includes(it.name)) names.push(it.name)
            break
          case 'display':
            names = [...c.names]
            break
          case 'dedup':
            rows = dedup(rows, c.names)
            break
          case 'parse':
            fail('parse after stats is not supported.')
            break
          case 'stats':
            fail('only one stats command is supported.')
        }
      }
      if (limitCmd === undefined) rows = rows.slice(0, q.limit)
    } else {
      held.sort(cmp)
      rows = held
      for (const c of resultCmds) if (c.t === 'dedup') rows = dedup(rows, c.names)
      rows = rows.slice(0, limit)
      names = [...shown, '@ptr']
    }
    const results = rows.map((r) =>
      names
        .filter((n) => r.get(n) !== undefined)
        .map((n) => ({ field: n, value: display(r.get(n), timeNames.has(n)) })),
    )
    return {
      results,
      statistics: { recordsMatched: matched, recordsScanned: scanned, bytesScanned: bytes },
      cancelled,
    }
  }
}

function dedup(rows: OutRow[], names: string[]): OutRow[] {
  const seen = new Set<string>()
  return rows.filter((r) => {
    const k = names.map((n) => toStr(r.get(n))).join('\u0000')
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** `parse field "a * b *" as x, y`: the glob's literal parts matched left to right (linear). */
function parseInto(row: Row, c: Extract<Command, { t: 'parse' }>): void {
  const s = toStr(row.get(c.field))
  const parts = c.parts
  if (!s.startsWith(parts[0]!)) return
  let pos = parts[0]!.length
  const caps: string[] = []
  for (let i = 1; i < parts.length; i++) {
    const lit = parts[i]!
    if (i === parts.length - 1 && lit === '') {
      caps.push(s.slice(pos))
      pos = s.length
      break
    }
    const at = lit === '' ? pos : s.indexOf(lit, pos)
    if (at < 0) return
    caps.push(s.slice(pos, at))
    pos = at + lit.length
  }
  c.names.forEach((n, i) => row.set(n, caps[i]))
}

export { exprText, type Named }
