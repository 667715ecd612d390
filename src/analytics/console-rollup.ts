// SPDX-License-Identifier: Apache-2.0
/**
 * The console's flow-log store, kept as flow logs arrive: a roll-up of every delivered object, so that
 * the Overview and the Flows search never scan every record.
 *
 * **The roll-up.** Every few seconds (and before a question, when due) the bucket directories are
 * listed; each new or changed flow-log object is read once, in its own sealed DuckDB engine, and
 * reduced to per-minute aggregates — by object, minute of `start`, interface, action, source,
 * destination, destination port and protocol: bytes, packets, flows (records with traffic) and records.
 * These rows go into one in-memory table. An object that changes is read again (its rows replaced); an
 * object that disappears loses its rows. The minute range of every object is kept beside it.
 *
 * **Questions.**
 * - Traffic series and top-N (the Overview) are answered from the roll-up for the whole minutes of the
 *   range; the partial minutes at its two ends (a range need not start on a minute) are read from the
 *   records of the few objects that hold those minutes, and added. The answers are exactly those of the
 *   same SQL over every record (traffic.ts), which is what the fallback runs.
 * - A flow search sorted by time counts the matches per minute in the roll-up (the total), finds the
 *   minute where the requested page ends, and reads the records of only the objects holding minutes
 *   from there on: a search over a day of records reads the last minutes' objects. Other sorts read
 *   only the objects the roll-up says hold a match.
 * - Filters the roll-up cannot answer (source ports) read every object whose minutes meet the range.
 *
 * Memory: the roll-up holds one row per (object, minute, interface, action, pair, port); traffic that
 * repeats the same pairs (the usual case) rolls up by orders of magnitude; traffic where every record
 * is a new pair costs about a tenth of its records' size.
 *
 * **The cap.** Flow records are made by whoever sends packets (spoofed sources included), so the rows
 * are capped: at most `maxRows` ({@link ROLLUP_MAX_ROWS} by default). A row costs about 170 bytes of
 * DuckDB memory when every row is distinct (measured: `node --expose-gc --import tsx
 * bench/web/rollup-memory.ts` — 2,000,000 distinct rows take 320 MB with IPv4 pairs, 335 MB with
 * IPv6), so the default cap holds the roll-up to about 340 MB. When an object read would take the
 * rows over the cap, the objects with the oldest last minute (the newest object read last among equals)
 * leave the roll-up — their rows are deleted, or never inserted — until the rest fit. An evicted object
 * stays known with its minute range, and every question whose range meets its minutes reads its
 * records for the whole range (as for the partial minutes at a range's ends), so the answers stay
 * exactly those of the records: only slower. An evicted object returns to the roll-up only when it
 * changes (it is read again and placed by its last minute like any other). Evictions are counted in
 * {@link RollupStats} and the server's `/metrics`.
 * @module
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { Counter, Gauge, type Registry } from 'prom-client'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FlowAnalytics, FlowFilter, FlowPage, FlowSearch, TrafficAnswer } from '../api/index.ts'
import { QueryEngine, sqlIdent, sqlString, type CellValue } from './engine.ts'
import { discoverFiles } from './files.ts'
import {
  findFlowLogSources,
  flowLogsViewSql,
  isStoreFlowLog,
  type FlowLogSources,
} from './flow-logs-table.ts'
import { macroStatements } from './presto.ts'
import { openAnalytics, type AnalyticsSession } from './session.ts'
import {
  AUTO_BUCKETS,
  MAX_BUCKETS,
  MAX_SERIES,
  SEARCH_COLUMNS,
  exportFlows,
  filterSql,
  searchFlows,
  topN,
  trafficSeries,
  type Series,
  type TrafficFilter,
} from './traffic.ts'
import { AnalyticsArgumentError } from './errors.ts'

/** Objects read by one ingestion engine. */
const INGEST_BATCH = 64
/** Default seconds between two listings of the bucket directories. */
export const ROLLUP_REFRESH_MS = 3000
/** Default cap on the roll-up's rows (about 340 MB of memory when every row is distinct). */
export const ROLLUP_MAX_ROWS = 2_000_000

interface StoredObject {
  id: number
  size: number
  mtimeMs: number
  /** First and last minute (Unix seconds) of its records' `start`; null without one. */
  firstMinute: number | null
  lastMinute: number | null
  records: number
  /** Its rows in the roll-up (while not evicted). */
  rows: number
  /** Out of the roll-up (over the cap): its minutes are answered from its records. */
  evicted: boolean
}

export interface RollupOptions {
  /** Milliseconds between two listings of the roots; default {@link ROLLUP_REFRESH_MS}. */
  refreshMs?: number
  /** List and roll up on a timer (default), not only before questions. */
  background?: boolean
  /** The most rows the roll-up holds; default {@link ROLLUP_MAX_ROWS}. */
  maxRows?: number
}

export interface RollupStats {
  /** Objects known (rolled up or evicted). */
  objects: number
  /** Their records. */
  records: number
  rollupRows: number
  /** The cap on `rollupRows`. */
  maxRows: number
  /** Objects now out of the roll-up (answered from their records), and their records. */
  evictedObjects: number
  evictedRecords: number
  /** Objects evicted since the start, in all (one evicted again after a change counts again). */
  evictions: number
  skipped: number
  /** Seconds spent reading objects into the roll-up, in all. */
  ingestSeconds: number
}

/** The roll-up table (bench/web/rollup-memory.ts measures its memory a row). */
export const ROLLUP_TABLE_SQL = `CREATE TABLE rollup (file INTEGER, minute BIGINT, interface_id VARCHAR,
  action VARCHAR, srcaddr VARCHAR, dstaddr VARCHAR, dstport INTEGER, protocol BIGINT, bytes DOUBLE,
  packets DOUBLE, flows BIGINT, records BIGINT)`

/** Columns of a roll-up row, in order (the ingestion writes them, the questions read them). */
const ROW_COLUMNS =
  'minute, interface_id, action, srcaddr, dstaddr, dstport, protocol, bytes, packets, flows, records'

/** Records of `vpc_flow_logs` as roll-up rows (one each), filtered by `where`. */
function recordRows(where: string, table = 'vpc_flow_logs'): string {
  return `SELECT CAST(start // 60 * 60 AS BIGINT) AS minute, interface_id, action, srcaddr, dstaddr, dstport, protocol,
    CAST(bytes AS DOUBLE) AS bytes, CAST(packets AS DOUBLE) AS packets,
    CAST(packets IS NOT NULL AS BIGINT) AS flows, CAST(1 AS BIGINT) AS records
  FROM ${table} WHERE ${where}`
}

function bad(msg: string): never {
  throw new AnalyticsArgumentError(msg)
}

function toTraffic(f: FlowFilter): TrafficFilter {
  return {
    from: f.from,
    to: f.to,
    action: f.action,
    protocol: f.protocol,
    cidrs: f.cidrs,
    srcCidrs: f.srcCidrs,
    dstCidrs: f.dstCidrs,
    srcPorts: f.srcPorts,
    dstPorts: f.dstPorts,
    interfaceIds: f.interfaceIds,
  }
}

/** Whether the roll-up's columns can answer the filter (source ports are not kept). */
function rollable(f: FlowFilter): boolean {
  return (f.srcPorts ?? []).length === 0
}

/** The filter without its time bounds, as SQL over roll-up rows or records. */
function dimsSql(f: FlowFilter): string {
  return filterSql({ ...toTraffic(f), from: undefined, to: undefined })
}

/** The whole minutes `[a, b)` of `[from, to)`, and its partial ends. */
function split(from: number, to: number): { a: number; b: number; edges: Array<[number, number]> } {
  const a = Math.ceil(from / 60) * 60
  const b = Math.floor(to / 60) * 60
  if (a >= b) return { a, b: a, edges: [[from, to]] }
  const edges: Array<[number, number]> = []
  if (from < a) edges.push([from, a])
  if (b < to) edges.push([b, to])
  return { a, b, edges }
}

/** A FlowAnalytics over local bucket roots, answered from a roll-up kept as objects arrive. */
export class FlowRollup implements FlowAnalytics {
  private readonly roots: readonly string[]
  private readonly refreshMs: number
  private readonly staging: string
  private db: QueryEngine | null = null
  private readonly objects = new Map<string, StoredObject>()
  /** Objects that could not be read, by path, with the size and time they had. */
  private readonly skipped = new Map<string, { size: number; mtimeMs: number; reason: string }>()
  private nextId = 1
  private refreshedAt = 0
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private timer: NodeJS.Timeout | null = null
  private ingestSeconds = 0
  private readonly maxRows: number
  /** Rows in the roll-up table (the sum of the rolled-up objects' rows). */
  private rows = 0
  private evictions = 0
  private evictionCounter: Counter | null = null
  /** Messages about objects skipped (the latest 100). */
  readonly warnings: string[] = []

  constructor(roots: readonly string[], opts: RollupOptions = {}) {
    this.roots = roots
    this.refreshMs = opts.refreshMs ?? ROLLUP_REFRESH_MS
    this.maxRows = opts.maxRows ?? ROLLUP_MAX_ROWS
    if (!Number.isSafeInteger(this.maxRows) || this.maxRows < 0)
      throw new RangeError(`maxRows must be a whole number, got ${opts.maxRows}`)
    this.staging = mkdtempSync(join(tmpdir(), 'mirrorflow-rollup-'))
    if (opts.background !== false) {
      // Kept as logs arrive: the listing runs on its own, not only when a question comes.
      this.timer = setInterval(() => {
        void this.run(async () => undefined).catch(() => undefined)
      }, this.refreshMs)
      this.timer.unref()
      void this.run(async () => undefined).catch(() => undefined)
    }
  }

  /** Resolves once every object now in the roots is in the roll-up. */
  async caughtUp(): Promise<RollupStats> {
    return this.run(async () => this.stats(), true)
  }

  /** The figures, with the rows counted in the table itself (currentStats keeps count as it goes). */
  private async stats(): Promise<RollupStats> {
    const r = await (await this.engine()).query('SELECT count(*) FROM rollup')
    return { ...this.currentStats(), rollupRows: Number(r.rows[0]![0]) }
  }

  /** The figures as they stand (without waiting for a refresh). */
  currentStats(): RollupStats {
    let records = 0
    let evictedObjects = 0
    let evictedRecords = 0
    for (const o of this.objects.values()) {
      records += o.records
      if (o.evicted) {
        evictedObjects++
        evictedRecords += o.records
      }
    }
    return {
      objects: this.objects.size,
      records,
      rollupRows: this.rows,
      maxRows: this.maxRows,
      evictedObjects,
      evictedRecords,
      evictions: this.evictions,
      skipped: this.skipped.size,
      ingestSeconds: this.ingestSeconds,
    }
  }

  /**
   * Registers the roll-up's Prometheus metrics (the server's `/metrics`): its rows and cap, the
   * objects known, evicted (now and in all) and skipped.
   */
  registerMetrics(registry: Registry): void {
    const gauge = (name: string, help: string, value: (s: RollupStats) => number): void => {
      const stats = (): RollupStats => this.currentStats()
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value(stats()))
        },
      })
    }
    gauge('mirrorflow_console_rollup_rows', "Rows in the console's flow-log roll-up", (s) => s.rollupRows)
    gauge('mirrorflow_console_rollup_max_rows', "The cap on the roll-up's rows", (s) => s.maxRows)
    gauge(
      'mirrorflow_console_rollup_objects',
      'Flow-log objects known to the console store',
      (s) => s.objects,
    )
    gauge(
      'mirrorflow_console_rollup_evicted_objects',
      'Flow-log objects out of the roll-up over its cap (answered from their records)',
      (s) => s.evictedObjects,
    )
    gauge(
      'mirrorflow_console_rollup_skipped_objects',
      'Flow-log objects the console store could not read (skipped until they change)',
      (s) => s.skipped,
    )
    this.evictionCounter = new Counter({
      name: 'mirrorflow_console_rollup_evictions_total',
      help: 'Flow-log objects evicted from the roll-up over its cap, in all',
      registers: [registry],
    })
    if (this.evictions > 0) this.evictionCounter.inc(this.evictions)
  }

  /** Runs `fn` after the calls before it, with the roll-up refreshed when due (or `force`). */
  private run<T>(fn: () => Promise<T>, force = false): Promise<T> {
    const go = async (): Promise<T> => {
      if (this.closed) throw new Error('the flow-log store is closed')
      if (force || Date.now() - this.refreshedAt >= this.refreshMs) await this.refresh()
      return fn()
    }
    const p = this.queue.then(go, go)
    this.queue = p.catch(() => undefined)
    return p
  }

  private async engine(): Promise<QueryEngine> {
    if (this.db !== null) return this.db
    const db = await QueryEngine.open()
    try {
      await db.exec("SET TimeZone = 'UTC'")
      for (const s of macroStatements()) await db.exec(s)
      await db.exec(ROLLUP_TABLE_SQL)
      // The roll-up engine reads nothing but the staging files the ingestion writes.
      await db.seal([], [this.staging])
    } catch (err) {
      db.close()
      throw err
    }
    this.db = db
    return db
  }

  /** Lists the roots; reads new and changed objects; forgets removed ones. */
  private async refresh(): Promise<void> {
    const started = Date.now()
    const db = await this.engine()
    // A bucket's directory appears with its first delivery: until then it holds nothing.
    const roots = this.roots.filter((r) => existsSync(r))
    const found = roots.length === 0 ? [] : await discoverFiles(roots, { accept: isStoreFlowLog })
    const seen = new Set<string>()
    const fresh: Array<{ path: string; size: number; mtimeMs: number }> = []
    const drop: number[] = []
    for (const f of found) {
      seen.add(f.path)
      let st
      try {
        st = statSync(f.path)
      } catch {
        continue // removed meanwhile: forgotten below at the next listing
      }
      const known = this.objects.get(f.path)
      const skip = this.skipped.get(f.path)
      if (known !== undefined && known.size === st.size && known.mtimeMs === st.mtimeMs) continue
      if (skip !== undefined && skip.size === st.size && skip.mtimeMs === st.mtimeMs) continue
      if (known !== undefined) {
        this.forget(known, drop)
        this.objects.delete(f.path)
      }
      this.skipped.delete(f.path)
      fresh.push({ path: f.path, size: st.size, mtimeMs: st.mtimeMs })
    }
    for (const [path, o] of this.objects)
      if (!seen.has(path)) {
        this.forget(o, drop)
        this.objects.delete(path)
      }
    for (const path of this.skipped.keys()) if (!seen.has(path)) this.skipped.delete(path)
    if (drop.length > 0) await db.exec(`DELETE FROM rollup WHERE file IN (${drop.join(', ')})`)
    for (let i = 0; i < fresh.length; i += INGEST_BATCH)
      await this.ingest(db, fresh.slice(i, i + INGEST_BATCH))
    if (fresh.length > 0) this.ingestSeconds += (Date.now() - started) / 1000
    this.refreshedAt = Date.now()
  }

  /** Notes an object's rows for deletion (an evicted one has none left). */
  private forget(o: StoredObject, drop: number[]): void {
    if (o.evicted) return
    drop.push(o.id)
    this.rows -= o.rows
  }

  private warn(msg: string): void {
    this.warnings.push(msg)
    if (this.warnings.length > 100) this.warnings.shift()
  }

  /** Reads a batch of objects into the roll-up (one at a time after a failure, to skip only the bad). */
  private async ingest(
    db: QueryEngine,
    batch: Array<{ path: string; size: number; mtimeMs: number }>,
  ): Promise<void> {
    try {
      await this.ingestBatch(db, batch)
    } catch (err) {
      if (batch.length === 1) {
        const f = batch[0]!
        this.skipped.set(f.path, { size: f.size, mtimeMs: f.mtimeMs, reason: (err as Error).message })
        this.warn(`skipped ${f.path}: ${(err as Error).message.slice(0, 300)}`)
        return
      }
      for (const f of batch) await this.ingest(db, [f])
    }
  }

  private async ingestBatch(
    db: QueryEngine,
    batch: Array<{ path: string; size: number; mtimeMs: number }>,
  ): Promise<void> {
    const engine = await QueryEngine.open()
    const out = join(this.staging, `batch-${this.nextId}.parquet`)
    const ids = new Map<string, number>()
    try {
      await engine.exec("SET TimeZone = 'UTC'")
      for (const s of macroStatements()) await engine.exec(s)
      const src = await findFlowLogSources(
        { paths: batch.map((f) => f.path), storeRoots: [] },
        { query: (sql: string) => engine.query(sql) },
      )
      await engine.seal(
        batch.map((f) => f.path),
        [this.staging],
      )
      // One view per object, so that each row knows its object.
      const views: Array<{ path: string; id: number; view: string; src: FlowLogSources }> = []
      for (const t of src.text)
        views.push({ path: t.path, id: 0, view: '', src: { text: [t], parquet: [], warnings: [] } })
      for (const p of src.parquet)
        views.push({ path: p.path, id: 0, view: '', src: { text: [], parquet: [p], warnings: [] } })
      if (views.length === 0) return
      const selects: string[] = []
      for (const v of views) {
        v.id = this.nextId++
        v.view = `obj_${v.id}`
        ids.set(v.path, v.id)
        await engine.exec(flowLogsViewSql(v.src, v.view))
        selects.push(
          `SELECT ${v.id} AS file, minute, interface_id, action, srcaddr, dstaddr, dstport, protocol,
             sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows, sum(records) AS records
           FROM (${recordRows('true', v.view)}) GROUP BY ALL`,
        )
      }
      await engine.exec(
        `COPY (${selects.join('\nUNION ALL\n')}) TO ${sqlString(out)} (FORMAT PARQUET, COMPRESSION SNAPPY)`,
      )
    } finally {
      engine.close()
    }
    try {
      const r = await db.query(
        `SELECT file, min(minute), max(minute), sum(records), count(*) FROM read_parquet(${sqlString(out)}) GROUP BY file`,
      )
      const stats = new Map(r.rows.map((row) => [Number(row[0]), row]))
      const added: Array<[string, StoredObject]> = []
      for (const f of batch) {
        const id = ids.get(f.path)
        if (id === undefined) continue
        const row = stats.get(id)
        added.push([
          f.path,
          {
            id,
            size: f.size,
            mtimeMs: f.mtimeMs,
            firstMinute: row?.[1] === null || row === undefined ? null : Number(row[1]),
            lastMinute: row?.[2] === null || row === undefined ? null : Number(row[2]),
            records: row === undefined ? 0 : Number(row[3]),
            rows: row === undefined ? 0 : Number(row[4]),
            evicted: false,
          },
        ])
      }
      // Over the cap: the oldest objects leave (rolled-up ones are deleted, new ones never inserted).
      const fresh = added.map(([, o]) => o)
      const someEvicted = await this.evict(db, fresh)
      const keep = fresh.filter((o) => !o.evicted).map((o) => o.id)
      if (keep.length > 0) {
        const where = someEvicted ? ` WHERE file IN (${keep.join(', ')})` : ''
        await db.exec(`INSERT INTO rollup SELECT * FROM read_parquet(${sqlString(out)})${where}`)
      }
      for (const [path, o] of added) {
        if (!o.evicted) this.rows += o.rows
        this.objects.set(path, o)
      }
    } finally {
      rmSync(out, { force: true })
    }
  }

  /**
   * Marks objects evicted, oldest last minute first, until the rolled-up objects and `fresh` (read,
   * not yet inserted) fit in the cap; deletes the rows of the rolled-up ones. Whether any of `fresh`
   * was evicted.
   */
  private async evict(db: QueryEngine, fresh: StoredObject[]): Promise<boolean> {
    let total = this.rows
    for (const o of fresh) total += o.rows
    if (total <= this.maxRows) return false
    const isFresh = new Set(fresh)
    const candidates = [...fresh]
    for (const o of this.objects.values()) if (!o.evicted) candidates.push(o)
    const last = (o: StoredObject): number => o.lastMinute ?? -Infinity
    candidates.sort((x, y) => last(x) - last(y) || x.id - y.id)
    const gone: StoredObject[] = []
    for (const o of candidates) {
      if (total <= this.maxRows) break
      if (o.rows === 0) continue
      gone.push(o)
      total -= o.rows
    }
    const inTable = gone.filter((o) => !isFresh.has(o))
    if (inTable.length > 0)
      await db.exec(`DELETE FROM rollup WHERE file IN (${inTable.map((o) => o.id).join(', ')})`)
    for (const o of gone) {
      o.evicted = true
      if (!isFresh.has(o)) this.rows -= o.rows
    }
    this.evictions += gone.length
    this.evictionCounter?.inc(gone.length)
    this.warn(
      `roll-up over ${this.maxRows} rows: ${gone.length} object(s) evicted (answered from their records)`,
    )
    return gone.some((o) => isFresh.has(o))
  }

  /** Objects with records whose minutes meet `[from, to)` (those `pick` accepts). */
  private objectsIn(from: number, to: number, pick?: (o: StoredObject) => boolean): string[] {
    const out: string[] = []
    for (const [path, o] of this.objects) {
      if (o.firstMinute === null || o.lastMinute === null) continue
      if (o.lastMinute + 60 <= from || o.firstMinute >= to) continue
      if (pick !== undefined && !pick(o)) continue
      out.push(path)
    }
    return out.sort()
  }

  /** Evicted objects whose minutes meet `[from, to)`: read whole, not from the roll-up. */
  private evictedIn(from: number, to: number): string[] {
    return this.objectsIn(from, to, (o) => o.evicted)
  }

  /** A sealed session over these objects' records (`vpc_flow_logs`), closed after `fn`. */
  private async withRecords<T>(
    paths: readonly string[],
    fn: (s: AnalyticsSession) => Promise<T>,
  ): Promise<T> {
    const s = await openAnalytics({ inputs: { vpc_flow_logs: paths } })
    try {
      return await fn(s)
    } finally {
      s.close()
    }
  }

  /**
   * Rows of `sql(source)` over the roll-up for the whole minutes of the range, over the records of
   * its partial ends, and over the records of the evicted objects in the range (the whole range: they
   * have no rows); `source` is a subquery of roll-up rows.
   */
  private async both(
    f: FlowFilter,
    sql: (source: string) => string,
    readers: RecordReaders,
  ): Promise<CellValue[][]> {
    const db = await this.engine()
    const dims = dimsSql(f)
    const { a, b, edges } = split(f.from, f.to)
    const rows: CellValue[][] = []
    if (a < b) {
      const r = await db.query(
        sql(`SELECT ${ROW_COLUMNS} FROM rollup WHERE minute >= ${a} AND minute < ${b} AND ${dims}`),
        undefined,
        10_000_000,
      )
      rows.push(...r.rows)
    }
    const evicted = this.evictedIn(f.from, f.to)
    if (evicted.length > 0) {
      const where = filterSql(toTraffic(f))
      const s = await readers.get(evicted)
      rows.push(...(await s.query(sql(recordRows(where)), undefined, 10_000_000)).rows)
    }
    for (const [from, to] of edges) {
      const paths = this.objectsIn(from, to, (o) => !o.evicted)
      if (paths.length === 0) continue
      const where = filterSql({ ...toTraffic(f), from, to })
      const s = await readers.get(paths)
      rows.push(...(await s.query(sql(recordRows(where)), undefined, 10_000_000)).rows)
    }
    return rows
  }

  traffic(f: FlowFilter, bucketSeconds: number | undefined, n: number): Promise<TrafficAnswer> {
    return this.run(async () => {
      const span = f.to - f.from
      const bucket =
        bucketSeconds ?? AUTO_BUCKETS.find((x) => span / x <= 500) ?? AUTO_BUCKETS[AUTO_BUCKETS.length - 1]!
      if (!rollable(f) || bucket % 60 !== 0 || !Number.isInteger(bucket) || bucket < 60)
        return this.trafficFromRecords(f, bucketSeconds, n)
      if (bucket > 7 * 86400) bad(`bucketSeconds must be a whole number from 60 to ${7 * 86400}`)
      filterSql(toTraffic(f)) // the same argument checks as the records' questions
      // The series and the three top lists read the same objects' records: one session each set.
      const readers = new RecordReaders()
      try {
        return await this.rolledTraffic(f, bucket, n, readers)
      } finally {
        await readers.close()
      }
    })
  }

  /** The Overview's answer from the roll-up (and the records it does not cover). */
  private async rolledTraffic(
    f: FlowFilter,
    bucket: number,
    n: number,
    readers: RecordReaders,
  ): Promise<TrafficAnswer> {
    const first = Math.floor(f.from / bucket) * bucket
    const count = Math.ceil((f.to - first) / bucket)
    if (count > MAX_BUCKETS) bad(`${count} buckets: at most ${MAX_BUCKETS} (choose a larger bucketSeconds)`)
    const key = `coalesce(nullif(action, '-'), 'unknown')`
    const seriesRows = await this.both(
      f,
      (src) => `SELECT ${key} AS k, CAST((minute - ${first}) // ${bucket} AS BIGINT) AS b,
          CAST(coalesce(sum(bytes), 0) AS DOUBLE), CAST(coalesce(sum(packets), 0) AS DOUBLE),
          CAST(coalesce(sum(flows), 0) AS BIGINT)
          FROM (${src}) WHERE minute IS NOT NULL GROUP BY ALL`,
      readers,
    )
    const series = buildSeries(seriesRows, count)
    const top = async (
      by: 'srcaddr' | 'dstport',
      metric: 'bytes' | 'flows',
      extra: FlowFilter,
    ): Promise<CellValue[][]> => {
      const keys = by === 'srcaddr' ? ['srcaddr'] : ['dstport', 'protocol']
      const keySel = keys.map(sqlIdent).join(', ')
      const notDash = keys
        .map((k) => `${sqlIdent(k)} IS NOT NULL${k === 'srcaddr' ? ` AND ${sqlIdent(k)} <> '-'` : ''}`)
        .join(' AND ')
      const { edges } = split(extra.from, extra.to)
      const agg = `CAST(coalesce(sum(bytes), 0) AS DOUBLE) AS bytes, CAST(coalesce(sum(packets), 0) AS DOUBLE) AS packets, CAST(coalesce(sum(flows), 0) AS BIGINT) AS flows`
      // Without partial minutes or evicted objects the roll-up ranks alone; with them every group
      // is merged here.
      const alone = edges.length === 0 && this.evictedIn(extra.from, extra.to).length === 0
      const limit = alone ? ` ORDER BY ${metric} DESC, ${keySel} LIMIT ${n}` : ''
      const rows = await this.both(
        extra,
        (src) =>
          `SELECT ${keySel}, ${agg} FROM (${src}) WHERE flows > 0 AND ${notDash} GROUP BY ${keySel}${limit}`,
        readers,
      )
      return rankTop(rows, keys.length, metric, n)
    }
    const talkers = await top('srcaddr', 'bytes', f)
    const ports = await top('dstport', 'bytes', f)
    const rejected = f.action === 'ACCEPT' ? [] : await top('srcaddr', 'flows', { ...f, action: 'REJECT' })
    const addr = (r: CellValue[]): { address: string; bytes: number; packets: number; flows: number } => ({
      address: String(r[0]),
      bytes: Number(r[1]),
      packets: Number(r[2]),
      flows: Number(r[3]),
    })
    return {
      bucketSeconds: bucket,
      buckets: Array.from({ length: count }, (_, i) => first + i * bucket),
      series,
      talkers: talkers.map(addr),
      ports: ports.map((r) => ({
        port: Number(r[0]),
        protocol: Number(r[1]),
        bytes: Number(r[2]),
        packets: Number(r[3]),
        flows: Number(r[4]),
      })),
      rejectedSources: rejected.map(addr),
    }
  }

  /** The Overview's answer from the records of the objects in range (filters the roll-up lacks). */
  private async trafficFromRecords(
    f: FlowFilter,
    bucketSeconds: number | undefined,
    n: number,
  ): Promise<TrafficAnswer> {
    return this.withRecords(this.objectsIn(f.from, f.to), async (s) => {
      const base = toTraffic(f)
      const series = await trafficSeries(s, {
        ...base,
        from: f.from,
        to: f.to,
        bucketSeconds,
        groupBy: 'action',
      })
      const talkers = await topN(s, { ...base, by: 'srcaddr', metric: 'bytes', limit: n })
      const ports = await topN(s, { ...base, by: 'dstport', metric: 'bytes', limit: n })
      const rejected =
        f.action === 'ACCEPT'
          ? []
          : await topN(s, { ...base, action: 'REJECT', by: 'srcaddr', metric: 'flows', limit: n })
      const addr = (r: (typeof talkers)[number]): TrafficAnswer['talkers'][number] => ({
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

  /** Matching records per minute (whole minutes from the roll-up, partial ones from records). */
  private async perMinute(f: FlowFilter): Promise<Map<number, number>> {
    const readers = new RecordReaders()
    let rows: CellValue[][]
    try {
      rows = await this.both(
        f,
        (src) =>
          `SELECT minute, CAST(sum(records) AS BIGINT) FROM (${src}) WHERE minute IS NOT NULL GROUP BY minute`,
        readers,
      )
    } finally {
      await readers.close()
    }
    const out = new Map<number, number>()
    for (const [m, c] of rows) out.set(Number(m), (out.get(Number(m)) ?? 0) + Number(c))
    return out
  }

  /**
   * The objects holding a record that matches (whole minutes; partial ones and evicted objects: by
   * time only).
   */
  private async holding(f: FlowFilter): Promise<string[]> {
    const db = await this.engine()
    const { a, b, edges } = split(f.from, f.to)
    const ids = new Set<number>()
    if (a < b) {
      const r = await db.query(
        `SELECT DISTINCT file FROM rollup WHERE minute >= ${a} AND minute < ${b} AND ${dimsSql(f)}`,
        undefined,
        10_000_000,
      )
      for (const [id] of r.rows) ids.add(Number(id))
    }
    const paths = new Set(this.objectsIn(f.from, f.to, (o) => ids.has(o.id) || o.evicted))
    for (const [from, to] of edges) for (const p of this.objectsIn(from, to)) paths.add(p)
    return [...paths].sort()
  }

  search(q: FlowSearch): Promise<FlowPage> {
    return this.run(async () => {
      const size = q.pageSize
      if (!Number.isInteger(size) || size < 1 || size > 1000)
        bad('pageSize must be a whole number from 1 to 1000')
      let offset = 0
      if (q.pageToken !== undefined) {
        if (!/^[0-9]{1,12}$/.test(q.pageToken)) bad('pageToken is not a page token')
        offset = Number(q.pageToken)
      }
      filterSql(toTraffic(q))
      const page = async (paths: string[], narrowed: FlowSearch, total?: number): Promise<FlowPage> => {
        if (paths.length === 0 && total !== undefined)
          return { columns: [...SEARCH_COLUMNS], rows: [], total, nextToken: null }
        return this.withRecords(paths, async (s) => {
          const r = await searchFlows(s, {
            ...toTraffic(narrowed),
            sort: narrowed.sort,
            order: narrowed.order,
            pageSize: size,
            pageToken: narrowed.pageToken,
          })
          const t = total ?? r.total
          const next = offset + r.rows.length
          return {
            columns: r.columns.map((c) => c.name),
            rows: r.rows,
            total: t,
            nextToken: next < t && r.rows.length > 0 ? String(next) : null,
          }
        })
      }
      if (!rollable(q)) return page(this.objectsIn(q.from, q.to), q)
      if (q.sort !== 'start') return page(await this.holding(q), q)
      // Sorted by time: the page lies in the minutes from the one where `offset + size` matches are
      // reached (counting from the newest, or the oldest), so only their objects are read.
      const counts = await this.perMinute(q)
      let total = 0
      for (const c of counts.values()) total += c
      if (total === 0 || offset >= total) return page([], q, total)
      const minutes = [...counts.keys()].sort((x, y) => (q.order === 'desc' ? y - x : x - y))
      const need = offset + size
      let acc = 0
      let cut = minutes[minutes.length - 1]!
      for (const m of minutes) {
        acc += counts.get(m)!
        if (acc >= need) {
          cut = m
          break
        }
      }
      const narrowed: FlowSearch =
        q.order === 'desc' ? { ...q, from: Math.max(q.from, cut) } : { ...q, to: Math.min(q.to, cut + 60) }
      return page(await this.holding(narrowed), narrowed, total)
    })
  }

  export(q: FlowSearch & { format: 'csv' | 'parquet' }): Promise<Uint8Array> {
    return this.run(async () => {
      filterSql(toTraffic(q))
      const paths = rollable(q) ? await this.holding(q) : this.objectsIn(q.from, q.to)
      return this.withRecords(paths, (s) =>
        exportFlows(s, {
          ...toTraffic(q),
          sort: q.sort,
          order: q.order,
          pageSize: q.pageSize,
          format: q.format,
        }),
      )
    })
  }

  close(): void {
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    const done = (): void => {
      this.db?.close()
      this.db = null
      rmSync(this.staging, { recursive: true, force: true })
    }
    // After the call running, if any (its engine is in use).
    void this.queue.then(done, done)
  }
}

/** Sealed sessions over objects' records, opened once a set for one question; closed after it. */
class RecordReaders {
  private readonly open = new Map<string, Promise<AnalyticsSession>>()

  get(paths: readonly string[]): Promise<AnalyticsSession> {
    const key = paths.join('\n')
    let s = this.open.get(key)
    if (s === undefined) {
      s = openAnalytics({ inputs: { vpc_flow_logs: paths } })
      this.open.set(key, s)
    }
    return s
  }

  async close(): Promise<void> {
    for (const s of this.open.values()) (await s.catch(() => null))?.close()
    this.open.clear()
  }
}

/** Series from (key, bucket, bytes, packets, flows) rows, as trafficSeries orders them. */
function buildSeries(rows: CellValue[][], n: number): Series[] {
  const byKey = new Map<string, Series>()
  const totals = new Map<string, number>()
  const blank = (k: string): Series => ({
    key: k,
    bytes: new Array<number>(n).fill(0),
    packets: new Array<number>(n).fill(0),
    flows: new Array<number>(n).fill(0),
  })
  for (const [k, b, bytes, packets, flows] of rows) {
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
  if (ordered.length <= MAX_SERIES) return ordered
  const series = ordered.slice(0, MAX_SERIES - 1)
  const other = blank('other')
  for (const s of ordered.slice(MAX_SERIES - 1))
    for (let i = 0; i < n; i++) {
      other.bytes[i]! += s.bytes[i]!
      other.packets[i]! += s.packets[i]!
      other.flows[i]! += s.flows[i]!
    }
  series.push(other)
  return series
}

/** Merges (key…, bytes, packets, flows) rows by key, ranks by `metric` then key, keeps `n`. */
function rankTop(rows: CellValue[][], keys: number, metric: 'bytes' | 'flows', n: number): CellValue[][] {
  const m = new Map<string, CellValue[]>()
  for (const r of rows) {
    const k = JSON.stringify(r.slice(0, keys))
    const prev = m.get(k)
    if (prev === undefined)
      m.set(k, [...r.slice(0, keys), Number(r[keys]), Number(r[keys + 1]), Number(r[keys + 2])])
    else for (let i = 0; i < 3; i++) prev[keys + i] = Number(prev[keys + i]) + Number(r[keys + i])
  }
  const col = keys + (metric === 'bytes' ? 0 : 2)
  const cmpKey = (x: CellValue, y: CellValue): number => {
    if (typeof x === 'number' || typeof y === 'number' || typeof x === 'bigint') return Number(x) - Number(y)
    const a = String(x)
    const b = String(y)
    return a < b ? -1 : a > b ? 1 : 0
  }
  return [...m.values()]
    .sort((x, y) => {
      const d = Number(y[col]) - Number(x[col])
      if (d !== 0) return d
      for (let i = 0; i < keys; i++) {
        const c = cmpKey(x[i]!, y[i]!)
        if (c !== 0) return c
      }
      return 0
    })
    .slice(0, n)
}
