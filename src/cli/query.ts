// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow query`: SQL over flow logs with Athena's table (`vpc_flow_logs`) and Presto functions,
 * in an embedded DuckDB. Inputs: files and directories (`--flow-logs PATH…`, and each registered
 * table's own option), or a server's or agent's store of delivered objects (`--data-dir DIR`, whose
 * buckets are DIR/s3, or `--s3-dir DIR`). The SQL comes from `--sql "…"`, `--sql -` (standard input)
 * or `--saved NAME`. Results print as a table, or `--format json|csv` for scripts. Exit status 1 when
 * an input or the SQL fails, 2 for a usage error.
 * @module
 */
import { join } from 'node:path'
import type { Command } from 'commander'
import {
  AnalyticsArgumentError,
  MACROS,
  openAnalytics,
  registeredTables,
  renderResult,
  SAVED_QUERIES,
  savedQuery,
  savedQueryParams,
  type OutputFormat,
} from '../analytics/index.ts'
import { UsageError } from '../errors.ts'

/** Largest SQL text read from standard input. */
const MAX_SQL_BYTES = 1024 * 1024

interface QueryOptions {
  sql?: string
  saved?: string
  param?: string[]
  format: string
  maxRows: string
  dataDir?: string[]
  s3Dir?: string[]
  listSaved?: boolean
  listTables?: boolean
  listFunctions?: boolean
  threads?: string
  [table: string]: unknown
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_SQL_BYTES)
      throw new UsageError(`--sql -: more than ${MAX_SQL_BYTES} bytes on standard input`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** commander's camel-case key of a `--kebab-case` flag. */
const optionKey = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())

export function registerQuery(program: Command): void {
  const cmd = program
    .command('query')
    .description('SQL over flow logs (Athena’s vpc_flow_logs table, Presto functions) in embedded DuckDB')
  for (const t of registeredTables())
    cmd.option(`--${t.option.flag} <paths...>`, `${t.name}: ${t.option.description}`)
  cmd
    .option(
      '--data-dir <dirs...>',
      "a server's or agent's data directory: query the objects delivered to DIR/s3",
    )
    .option('--s3-dir <dirs...>', 'a local buckets root (<dir>/<bucket>/<key>): query the objects in it')
    .option('--sql <sql>', 'the SQL to run ("-" reads it from standard input)')
    .option('--saved <name>', 'run a saved query (see --list-saved)')
    .option('--param <name=value...>', "a saved query's parameter")
    .option('--format <f>', 'table, json or csv', 'table')
    .option('--max-rows <n>', 'print at most this many rows', '1000000')
    .option('--threads <n>', 'DuckDB worker threads (default: one per core)')
    .option('--list-saved', 'list the saved queries')
    .option('--list-tables', 'list the tables and their columns')
    .option('--list-functions', 'list the Presto functions provided and their DuckDB translations')
    .action(async (opts: QueryOptions) => {
      await runQuery(opts)
    })
}

async function runQuery(opts: QueryOptions): Promise<void> {
  const format = opts.format as OutputFormat
  if (format !== 'table' && format !== 'json' && format !== 'csv') {
    throw new UsageError(`--format must be table, json or csv, got ${opts.format}`)
  }
  const maxRows = Number(opts.maxRows)
  if (!Number.isInteger(maxRows) || maxRows < 1)
    throw new UsageError(`--max-rows must be a positive whole number`)
  let threads: number | undefined
  if (opts.threads !== undefined) {
    threads = Number(opts.threads)
    if (!Number.isInteger(threads) || threads < 1 || threads > 256)
      throw new UsageError('--threads must be a whole number from 1 to 256')
  }
  if (opts.listSaved === true) {
    for (const q of SAVED_QUERIES) {
      const params = Object.keys(q.params)
        .map((p) => ` --param ${p}=…`)
        .join('')
      process.stdout.write(`${q.name}${params}\n    ${q.description}\n`)
    }
    return
  }
  if (opts.listTables === true) {
    for (const t of registeredTables()) {
      process.stdout.write(`${t.name} (--${t.option.flag}): ${t.description}\n`)
      for (const c of t.columns) process.stdout.write(`    ${c.name} ${c.type}\n`)
    }
    return
  }
  if (opts.listFunctions === true) {
    for (const m of MACROS)
      process.stdout.write(`${m.athena}  →  ${m.duckdb}${m.note ? `  (${m.note})` : ''}\n`)
    return
  }
  if ((opts.sql === undefined) === (opts.saved === undefined)) {
    throw new UsageError('give exactly one of --sql "…", --sql - or --saved NAME')
  }
  let sql: string
  let params: Record<string, string> | undefined
  const given: Record<string, string> = {}
  for (const p of opts.param ?? []) {
    const eq = p.indexOf('=')
    if (eq <= 0) throw new UsageError(`--param must be name=value, got '${p.slice(0, 100)}'`)
    given[p.slice(0, eq)] = p.slice(eq + 1)
  }
  if (opts.saved !== undefined) {
    let q
    try {
      q = savedQuery(opts.saved)
      params = savedQueryParams(q, given)
    } catch (err) {
      if (err instanceof AnalyticsArgumentError) throw new UsageError(err.message)
      throw err
    }
    sql = q.sql
    if (Object.keys(params).length === 0) params = undefined
  } else {
    if (opts.param !== undefined) throw new UsageError('--param goes with --saved')
    sql = opts.sql === '-' ? await readStdin() : opts.sql!
  }
  const inputs: Record<string, string[]> = {}
  for (const t of registeredTables()) {
    const v = opts[optionKey(t.option.flag)]
    if (Array.isArray(v)) inputs[t.name] = v as string[]
  }
  const storeRoots = [...(opts.dataDir ?? []).map((d) => join(d, 's3')), ...(opts.s3Dir ?? [])]
  if (Object.keys(inputs).length === 0 && storeRoots.length === 0) {
    const flags = registeredTables().map((t) => `--${t.option.flag}`)
    throw new UsageError(`name the inputs: ${flags.join(', ')} PATH…, --data-dir DIR or --s3-dir DIR`)
  }
  const session = await openAnalytics({ inputs, storeRoots, threads })
  try {
    for (const w of session.warnings) process.stderr.write(`mirrorflow query: ${w}\n`)
    const result = await session.query(sql, params, maxRows)
    process.stdout.write(renderResult(result, format))
    if (result.truncated) process.stderr.write(`mirrorflow query: only the first ${maxRows} rows are shown\n`)
  } finally {
    session.close()
  }
}
