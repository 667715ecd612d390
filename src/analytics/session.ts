// SPDX-License-Identifier: Apache-2.0
/**
 * A query session: one sealed DuckDB engine with the Presto macros and every registered table built
 * from its inputs. `openAnalytics` is what the CLI (`mirrorflow query`), the console API and the
 * tests call.
 * @module
 */
import { QueryEngine, type CellValue, type QueryEngineOptions, type QueryResult } from './engine.ts'
import { macroStatements } from './presto.ts'
import { registeredTables } from './registry.ts'
import './tables.ts'
import type { DuckDBDataChunk, DuckDBValue } from '@duckdb/node-api'

export interface AnalyticsOptions extends QueryEngineOptions {
  /** Input paths per table name (`{ vpc_flow_logs: ['./bucket'] }`); tables not named get none. */
  inputs?: Readonly<Record<string, readonly string[]>> | undefined
  /** Local bucket roots (`<root>/<bucket>/<key>`) every table looks into for its own objects. */
  storeRoots?: readonly string[] | undefined
}

/** An open session. Close it when done (it holds native memory and a temporary directory). */
export interface AnalyticsSession {
  /** Inputs that were skipped, each with its reason. */
  readonly warnings: readonly string[]
  /** Number of input files per table. */
  readonly fileCounts: Readonly<Record<string, number>>
  query(
    sql: string,
    params?: DuckDBValue[] | Record<string, DuckDBValue>,
    maxRows?: number,
  ): Promise<QueryResult>
  /** One statement's rows, chunk by chunk (64-bit integers as strings). */
  stream(sql: string): AsyncGenerator<CellValue[][]>
  /** One statement's result as DuckDB column chunks (typed column access, for many rows). */
  chunks(sql: string): AsyncGenerator<DuckDBDataChunk>
  /** Directory user SQL may write to (`COPY … TO`); removed on close. */
  readonly exportDir: string
  close(): void
}

/** Opens a session: macros, tables, then the engine sealed to the tables' files. */
export async function openAnalytics(opts: AnalyticsOptions = {}): Promise<AnalyticsSession> {
  const engine = await QueryEngine.open(opts)
  try {
    await engine.exec("SET TimeZone = 'UTC'")
    for (const stmt of macroStatements()) await engine.exec(stmt)
    const files = new Set<string>()
    const warnings: string[] = []
    const fileCounts: Record<string, number> = {}
    const ctx = { query: (sql: string) => engine.query(sql) }
    for (const table of registeredTables()) {
      const plan = await table.plan(
        { paths: opts.inputs?.[table.name] ?? [], storeRoots: opts.storeRoots ?? [] },
        ctx,
      )
      for (const s of plan.statements) await engine.exec(s)
      for (const f of plan.files) files.add(f)
      warnings.push(...plan.warnings)
      fileCounts[table.name] = plan.files.length
    }
    await engine.seal([...files])
    return {
      warnings,
      fileCounts,
      exportDir: engine.exportDir,
      query: (sql, params, maxRows) => engine.query(sql, params, maxRows),
      stream: (sql) => engine.stream(sql),
      chunks: (sql) => engine.chunks(sql),
      close: () => engine.close(),
    }
  } catch (err) {
    engine.close()
    throw err
  }
}
