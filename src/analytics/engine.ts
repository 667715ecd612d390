// SPDX-License-Identifier: Apache-2.0
/**
 * The embedded DuckDB engine (`@duckdb/node-api`) that every analytics query runs in. One engine per
 * query session, in memory. It never installs or loads an extension: auto-install and auto-load are
 * off, community extensions refused; what it uses (Parquet, JSON, ICU, gzip text) is built into the
 * DuckDB binary. Once the tables are defined, `seal()` confines it: file access only to the input
 * files (and a private export directory), no `SET`, `INSTALL`, `LOAD` or `ATTACH` from user SQL.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBResultReader,
  DuckDBValue,
} from '@duckdb/node-api'
import { AnalyticsQueryError } from './errors.ts'

/** A value of a result cell as mirrorflow hands it out: JSON-safe. */
export type CellValue = string | number | boolean | null | CellValue[] | { [k: string]: CellValue }

export interface ResultColumn {
  name: string
  /** DuckDB's type name (`VARCHAR`, `BIGINT`, `DATE`, `TIMESTAMP WITH TIME ZONE`, …). */
  type: string
}

export interface QueryResult {
  columns: ResultColumn[]
  rows: CellValue[][]
  /** True when the result had more than the requested maximum of rows (only that many are in `rows`). */
  truncated: boolean
}

export interface QueryEngineOptions {
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  threads?: number | undefined
  /** DuckDB memory limit, e.g. `'2GB'` (default: DuckDB's, 80 % of RAM). */
  memoryLimit?: string | undefined
  /**
   * Rows of a query without ORDER BY come in the order of the files and of the rows in them (default
   * false: no order, which lets scans and COPY run in parallel). Streaming consumers whose state
   * depends on time order (detections) set it.
   */
  preserveInsertionOrder?: boolean | undefined
}

/** Settings given at creation: nothing is ever downloaded or loaded from outside the binary. */
const BASE_CONFIG: Record<string, string> = {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  allow_community_extensions: 'false',
  allow_unsigned_extensions: 'false',
  // Results without ORDER BY have no order (as in Athena): lets COPY and scans run in parallel.
  preserve_insertion_order: 'false',
}

/** SQL text of a string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}

/** SQL text of a quoted identifier. */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`
}

const INTEGER_TYPES = new Set(['BIGINT', 'HUGEINT', 'UBIGINT', 'UHUGEINT'])

/** One embedded DuckDB database with one connection. Not safe for concurrent queries: serialise calls. */
export class QueryEngine {
  private readonly instance: DuckDBInstance
  private readonly conn: DuckDBConnection
  /** A private directory user SQL may write to (COPY … TO) once sealed; removed on close. */
  readonly exportDir: string
  private sealedState = false
  private closed = false

  private constructor(instance: DuckDBInstance, conn: DuckDBConnection, exportDir: string) {
    this.instance = instance
    this.conn = conn
    this.exportDir = exportDir
  }

  static async open(opts: QueryEngineOptions = {}): Promise<QueryEngine> {
    // Loaded on first use: the native module is large and most commands never need it.
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const config: Record<string, string> = { ...BASE_CONFIG }
    if (opts.threads !== undefined) config['threads'] = String(opts.threads)
    if (opts.memoryLimit !== undefined) config['memory_limit'] = opts.memoryLimit
    if (opts.preserveInsertionOrder === true) config['preserve_insertion_order'] = 'true'
    const instance = await DuckDBInstance.create(':memory:', config)
    let conn: DuckDBConnection
    try {
      conn = await instance.connect()
    } catch (err) {
      instance.closeSync()
      throw err
    }
    const exportDir = mkdtempSync(join(tmpdir(), 'mirrorflow-query-'))
    return new QueryEngine(instance, conn, exportDir)
  }

  get sealed(): boolean {
    return this.sealedState
  }

  /**
   * Confines the engine: from now on DuckDB reads only `files` (and the files under `dirs`), writes
   * only under `exportDir`, and refuses any configuration change, extension install/load or ATTACH.
   */
  async seal(files: readonly string[], dirs: readonly string[] = []): Promise<void> {
    const list = (xs: readonly string[]): string => `[${xs.map(sqlString).join(', ')}]`
    await this.exec(`SET allowed_paths = ${list(files)}`)
    await this.exec(`SET allowed_directories = ${list([...dirs, this.exportDir])}`)
    await this.exec('SET enable_external_access = false')
    await this.exec('SET lock_configuration = true')
    this.sealedState = true
  }

  /** Runs statements whose results are not needed (definitions). */
  async exec(sql: string): Promise<void> {
    try {
      await this.conn.run(sql)
    } catch (err) {
      throw new AnalyticsQueryError((err as Error).message, { cause: err })
    }
  }

  /**
   * Runs `sql` (one or more statements; the last one's result is returned) with optional `$1…`/`$name`
   * parameters, reading at most `maxRows` rows (default 1,000,000).
   */
  async query(
    sql: string,
    params?: DuckDBValue[] | Record<string, DuckDBValue>,
    maxRows = 1_000_000,
  ): Promise<QueryResult> {
    let reader: DuckDBResultReader
    try {
      if (params === undefined) {
        const stmts = await this.conn.extractStatements(sql)
        const n = stmts.count
        if (n === 0) throw new Error('no SQL statement given')
        for (let i = 0; i < n - 1; i++) await (await stmts.prepare(i)).run()
        const last = await stmts.prepare(n - 1)
        reader = await last.streamAndReadUntil(maxRows + 1)
      } else {
        const prepared = await this.conn.prepare(sql)
        prepared.bind(params)
        reader = await prepared.streamAndReadUntil(maxRows + 1)
      }
    } catch (err) {
      throw new AnalyticsQueryError((err as Error).message, { cause: err })
    }
    const names = reader.columnNames()
    const types = reader.columnTypes().map((t) => t.toString())
    const columns = names.map((name, i) => ({ name, type: types[i]! }))
    const all = reader.getRowsJson() as CellValue[][]
    const truncated = all.length > maxRows
    const rows = truncated ? all.slice(0, maxRows) : all
    // Json conversion gives 64-bit integers as strings: numbers where exact, strings beyond 2^53.
    const intCols = types.flatMap((t, i) => (INTEGER_TYPES.has(t) ? [i] : []))
    if (intCols.length > 0) {
      for (const row of rows) {
        for (const k of intCols) {
          const v = row[k]
          if (typeof v === 'string') {
            const n = Number(v)
            if (Number.isSafeInteger(n)) row[k] = n
          }
        }
      }
    }
    return { columns, rows, truncated }
  }

  /**
   * Runs one statement and hands its rows out chunk by chunk (about 2,048 rows each), as JSON-safe
   * values (64-bit integers as strings): for results too large to hold at once.
   */
  async *stream(sql: string): AsyncGenerator<CellValue[][]> {
    let result
    try {
      result = await this.conn.stream(sql)
    } catch (err) {
      throw new AnalyticsQueryError((err as Error).message, { cause: err })
    }
    try {
      for await (const rows of result.yieldRowsJson()) yield rows as CellValue[][]
    } catch (err) {
      throw new AnalyticsQueryError((err as Error).message, { cause: err })
    }
  }

  /**
   * Runs one statement and hands its result out as DuckDB's own column chunks (about 2,048 rows
   * each): typed column access without a value object per cell, for consumers of many rows.
   */
  async *chunks(sql: string): AsyncGenerator<DuckDBDataChunk> {
    try {
      const result = await this.conn.stream(sql)
      for (;;) {
        const chunk = await result.fetchChunk()
        if (chunk === null || chunk.rowCount === 0) return
        yield chunk
      }
    } catch (err) {
      throw new AnalyticsQueryError((err as Error).message, { cause: err })
    }
  }

  /** Stops a running query (from another async context). */
  interrupt(): void {
    this.conn.interrupt()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.conn.closeSync()
    } finally {
      this.instance.closeSync()
      rmSync(this.exportDir, { recursive: true, force: true })
    }
  }
}
