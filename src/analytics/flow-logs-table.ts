// SPDX-License-Identifier: Apache-2.0
/**
 * The `vpc_flow_logs` table: Athena's table for VPC flow logs, over any mix of
 * - S3-layout text objects (`.log.gz`, or plain `.log`) in any log format: the fields of each file come
 *   from its header line (lines before it starting with `#` are skipped);
 * - Parquet objects (`.parquet`, `.log.parquet`), columns matched by name;
 * from mirrorflow or from AWS, in plain, per-hour or Hive-compatible prefixes.
 *
 * Columns: every flow-log field (versions 2–11) named as Athena names it (`-` → `_`), typed as
 * Athena's documented DDL types them (`protocol`, `packets`, `bytes`, `start`, `end` BIGINT; ports,
 * `version`, `tcp_flags`, `traffic_path` INTEGER; the rest VARCHAR), then the partition column `date`
 * (DATE) taken from the object's prefix (`…/YYYY/MM/DD/…` or `year=/month=/day=`), else from the
 * object name's `YYYYMMDDTHHmmZ` stamp, else the UTC day of the record's `start`.
 *
 * Values, as Athena reads them: in text files `-` or a malformed number is NULL in a number column
 * and `-` is the string `-` in a string column; Parquet NULLs stay NULL. A text line with fewer fields
 * than its header has NULL in the missing ones; a line with more is skipped. Files with different
 * formats are combined by column name: a column a file lacks is NULL for its rows.
 *
 * Text is read by DuckDB's CSV reader (gzip included, no extension): every field as text, then cast,
 * so that a malformed value costs one NULL, not the record. A gzip stream is decompressed by one
 * thread, so the objects of a prefix are spread over DuckDB's threads.
 * @module
 */
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { FIELDS, FIELDS_BY_NAME, columnName } from '../flowlogs/index.ts'
import { sqlIdent, sqlString } from './engine.ts'
import { AnalyticsSourceError } from './errors.ts'
import { discoverFiles, readPrefix, type DiscoveredFile } from './files.ts'
import type { ColumnDef, PlanContext, TableDefinition, TableInputs, TablePlan } from './registry.ts'

/** Athena's types where they differ from the flow-log catalogue's Parquet types. */
const ATHENA_OVERRIDES: Record<string, 'BIGINT'> = { protocol: 'BIGINT' }

const ATHENA_NAMES: Record<string, string> = {
  VARCHAR: 'string',
  INTEGER: 'int',
  BIGINT: 'bigint',
  DATE: 'date',
}

/** The table's columns: flow-log fields in AWS's order, then `date`. */
export const FLOW_LOG_COLUMNS: readonly ColumnDef[] = [
  ...FIELDS.map((f) => {
    const name = columnName(f.name)
    const type = ATHENA_OVERRIDES[name] ?? f.duckdb
    return { name, type, athenaType: ATHENA_NAMES[type]! }
  }),
  { name: 'date', type: 'DATE', athenaType: 'date' },
]

const COLUMN_TYPES = new Map(FLOW_LOG_COLUMNS.map((c) => [c.name, c.type]))

/** Longest header line read (bytes), most `#` lines before it, most fields in it. */
const MAX_HEADER_BYTES = 64 * 1024
const MAX_COMMENT_LINES = 16
const MAX_FIELDS = 128
/** Flow-log columns a Parquet file needs to count as a flow log (OCSF files share a name or two). */
const MIN_PARQUET_COLUMNS = 3
/** A header token: a field name (AWS's are lowercase with `-`; `_` accepted, as in column names). */
const FIELD_TOKEN = /^[a-z][a-z0-9_-]{0,63}$/

/** A text file's layout. */
interface TextLayout {
  kind: 'text'
  gzip: boolean
  /** Lines before the first record (comments + header). */
  skip: number
  /** Column name per field, in file order. */
  columns: string[]
  /** The header line's first field name as written. */
  header0: string
}

interface ParquetLayout {
  kind: 'parquet'
}

/** Whether a file met while walking a directory is a flow-log object. */
export function isFlowLogObjectName(path: string): boolean {
  return (
    path.endsWith('.log.gz') ||
    path.endsWith('.log') ||
    path.endsWith('.parquet') ||
    path.endsWith('.log.parquet')
  )
}

/** Whether an object in a bucket directory is a VPC flow-log object. */
export function isStoreFlowLog(path: string): boolean {
  return (
    (path.includes('/vpcflowlogs/') || path.includes('/aws-service=vpcflowlogs/')) &&
    (path.endsWith('.log.gz') || path.endsWith('.parquet'))
  )
}

const HIVE_DATE = /\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\//
const PLAIN_DATE = /\/vpcflowlogs\/[^/]+\/(\d{4})\/(\d{2})\/(\d{2})\//
const NAME_DATE = /_(\d{4})(\d{2})(\d{2})T\d{4}Z_[^/]*$/

/** The `date` partition of an object from its key, or null when its path holds none. */
export function partitionDate(path: string): string | null {
  const m = HIVE_DATE.exec(path) ?? PLAIN_DATE.exec(path) ?? NAME_DATE.exec(path)
  if (m === null) return null
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970) return null
  return `${m[1]}-${m[2]}-${m[3]}`
}

/**
 * Splits the start of a text file into lines up to and including the first line not starting with
 * `#` (the header). Returns null when more bytes are needed; at `eof` the last line may lack its `\n`.
 */
function headerLines(buf: Buffer, eof: boolean): string[] | null {
  const text = buf.subarray(0, MAX_HEADER_BYTES).toString('utf8')
  const lines: string[] = []
  let start = 0
  while (start < text.length) {
    const nl = text.indexOf('\n', start)
    if (nl < 0 && !eof) return null
    const line = text.slice(start, nl < 0 ? text.length : nl).replace(/\r$/, '')
    lines.push(line)
    if (!line.startsWith('#') || lines.length > MAX_COMMENT_LINES || nl < 0) return lines
    start = nl + 1
  }
  return eof ? lines : null
}

/** Reads the first lines of a text file (gunzipped if `gzip`) up to its header line. */
async function readHeaderLines(path: string, gzip: boolean): Promise<string[]> {
  const src = createReadStream(path, { start: 0, end: 4 * 1024 * 1024 - 1 })
  const stream = gzip ? pipeline(src, createGunzip(), () => {}) : src
  let buf = Buffer.alloc(0)
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      buf = Buffer.concat([buf, chunk])
      const lines = headerLines(buf, false)
      if (lines !== null) return lines
      if (buf.length >= MAX_HEADER_BYTES) break
    }
  } catch (err) {
    // A damaged or cut stream after the header is the reader's business (DuckDB's), not ours.
    const lines = headerLines(buf, true)
    if (lines !== null && lines.length > 0 && !lines[lines.length - 1]!.startsWith('#')) return lines
    throw new AnalyticsSourceError(path, `cannot read the header line (${(err as Error).message})`, {
      cause: err,
    })
  } finally {
    src.destroy()
  }
  return headerLines(buf, true) ?? []
}

/** Decides how a file is read: Parquet by its magic number, otherwise text with a header line. */
async function layoutOf(path: string): Promise<TextLayout | ParquetLayout> {
  const magic = await readPrefix(path, 4)
  if (magic.length === 4 && magic.toString('latin1') === 'PAR1') return { kind: 'parquet' }
  if (path.endsWith('.parquet'))
    throw new AnalyticsSourceError(path, 'not a Parquet file (no PAR1 signature)')
  const gzip = magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b
  const lines = await readHeaderLines(path, gzip)
  let skip = 0
  while (skip < lines.length && lines[skip]!.startsWith('#')) skip++
  if (skip >= lines.length) {
    throw new AnalyticsSourceError(
      path,
      `no header line within the first ${MAX_HEADER_BYTES} bytes and ${MAX_COMMENT_LINES} comment lines`,
    )
  }
  const header = lines[skip]!
  if (header.length > MAX_HEADER_BYTES) throw new AnalyticsSourceError(path, 'header line too long')
  const tokens = header.split(' ').filter((t) => t.length > 0)
  if (tokens.length === 0 || tokens.length > MAX_FIELDS) {
    throw new AnalyticsSourceError(
      path,
      `a header line has 1 to ${MAX_FIELDS} field names, got ${tokens.length}`,
    )
  }
  const columns: string[] = []
  const seen = new Set<string>()
  let known = 0
  for (const t of tokens) {
    if (!FIELD_TOKEN.test(t)) {
      throw new AnalyticsSourceError(
        path,
        `the header line is not a list of flow-log field names ('${t.slice(0, 64)}'): is this a flow-log file?`,
      )
    }
    const col = columnName(t)
    if (seen.has(col)) throw new AnalyticsSourceError(path, `field '${t}' appears twice in the header line`)
    seen.add(col)
    if (FIELDS_BY_NAME.has(t) || COLUMN_TYPES.has(col)) known++
    columns.push(col)
  }
  if (known === 0) throw new AnalyticsSourceError(path, 'the header line names no flow-log field')
  return { kind: 'text', gzip, skip: skip + 1, columns, header0: tokens[0]! }
}

/** The SELECT list projecting a source with `present` columns (name → source expression) onto the table. */
function projection(present: ReadonlyMap<string, string>, date: string | null): string {
  const items: string[] = []
  for (const c of FLOW_LOG_COLUMNS) {
    if (c.name === 'date') {
      items.push(
        date !== null
          ? `DATE ${sqlString(date)} AS "date"`
          : present.has('start')
            ? `CAST(to_timestamp(${present.get('start')!}) AS DATE) AS "date"`
            : `CAST(NULL AS DATE) AS "date"`,
      )
      continue
    }
    const src = present.get(c.name)
    items.push(
      src === undefined ? `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}` : `${src} AS ${sqlIdent(c.name)}`,
    )
  }
  return items.join(', ')
}

/** The statement list of a (possibly empty) union of SELECTs. */
function viewSql(name: string, branches: string[]): string {
  if (branches.length === 0) {
    return `CREATE OR REPLACE VIEW ${name} AS SELECT ${projection(new Map(), null)} WHERE false`
  }
  return `CREATE OR REPLACE VIEW ${name} AS\n${branches.join('\nUNION ALL\n')}`
}

/** Groups `items` by `key`, keeping first-seen order. */
function groupBy<T>(items: readonly T[], key: (t: T) => string): T[][] {
  const m = new Map<string, T[]>()
  for (const it of items) {
    const k = key(it)
    const g = m.get(k)
    if (g === undefined) m.set(k, [it])
    else g.push(it)
  }
  return [...m.values()]
}

/**
 * A text group's read_csv branch. Every field is read as text and cast in the projection, as Athena's
 * text reader does: `-` or a malformed number is NULL in a number column, `-` stays `-` in a string
 * column; a line with fewer fields has NULL in the missing ones, a line with more is skipped.
 */
function textBranch(files: string[], layout: TextLayout, date: string | null): string {
  const cols = layout.columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ')
  const opts = [
    `delim=' '`,
    `header=false`,
    `skip=${layout.skip}`,
    `auto_detect=false`,
    `quote=''`,
    `escape=''`,
    `compression=${layout.gzip ? "'gzip'" : "'none'"}`,
    `null_padding=true`,
    `ignore_errors=true`,
    `columns={${cols}}`,
  ]
  const present = new Map<string, string>()
  for (const c of layout.columns) {
    const type = COLUMN_TYPES.get(c)
    if (type === undefined || c === 'date') continue
    present.set(c, type === 'VARCHAR' ? sqlIdent(c) : `TRY_CAST(${sqlIdent(c)} AS ${type})`)
  }
  // Concatenated objects repeat their comment and header lines mid-file: those are not records.
  const first = sqlIdent(layout.columns[0]!)
  const where = `${first} IS NULL OR NOT (starts_with(${first}, '#') OR ${first} = ${sqlString(layout.header0)})`
  return `SELECT ${projection(present, date)} FROM read_csv([${files.map(sqlString).join(', ')}], ${opts.join(', ')}) WHERE ${where}`
}

/** A Parquet group's read_parquet branch; `columns` are the group's flow-log column names. */
function parquetBranch(files: string[], columns: readonly string[], date: string | null): string {
  const present = new Map<string, string>()
  for (const c of columns) {
    const type = COLUMN_TYPES.get(c)
    if (type !== undefined && c !== 'date') present.set(c, `TRY_CAST(${sqlIdent(c)} AS ${type})`)
  }
  return `SELECT ${projection(present, date)} FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name=true, hive_partitioning=false)`
}

/** The top-level column names of each Parquet file (metadata only). */
async function readParquetSchemas(
  files: readonly string[],
  ctx: PlanContext,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  // In slices: one statement's text stays bounded however many files there are.
  for (let i = 0; i < files.length; i += 1000) {
    const slice = files.slice(i, i + 1000)
    const r = await ctx.query(
      `SELECT file_name, name, coalesce(num_children, 0) FROM parquet_schema([${slice.map(sqlString).join(', ')}])`,
    )
    // Rows come depth-first per file, the root first: a column is top-level when the stack of open
    // groups holds only the root.
    let file = ''
    let stack: number[] = []
    for (const [f, name, children] of r.rows) {
      const n = Number(children)
      if (String(f) !== file || stack.length === 0) {
        file = String(f)
        stack = [n]
        if (!out.has(file)) out.set(file, [])
        continue
      }
      if (stack.length === 1) out.get(file)!.push(String(name))
      stack[stack.length - 1]!--
      if (n > 0) stack.push(n)
      while (stack.length > 1 && stack[stack.length - 1] === 0) stack.pop()
    }
  }
  return out
}

/** What `planFlowLogs` found. */
export interface FlowLogSources {
  text: { path: string; layout: TextLayout; date: string | null }[]
  parquet: { path: string; columns: string[]; date: string | null }[]
  warnings: string[]
}

/** Finds and classifies the flow-log files of `inputs`. */
export async function findFlowLogSources(inputs: TableInputs, ctx: PlanContext): Promise<FlowLogSources> {
  const files: DiscoveredFile[] = [
    ...(await discoverFiles(inputs.paths, { accept: isFlowLogObjectName })),
    ...(inputs.storeRoots.length > 0
      ? await discoverFiles(inputs.storeRoots, { accept: isStoreFlowLog })
      : []),
  ]
  const out: FlowLogSources = { text: [], parquet: [], warnings: [] }
  const parquetFiles: DiscoveredFile[] = []
  const seen = new Set<string>()
  for (const f of files) {
    if (seen.has(f.path)) continue
    seen.add(f.path)
    try {
      const layout = await layoutOf(f.path)
      if (layout.kind === 'parquet') parquetFiles.push(f)
      else out.text.push({ path: f.path, layout, date: partitionDate(f.path) })
    } catch (err) {
      if (f.explicit || !(err instanceof AnalyticsSourceError)) throw err
      out.warnings.push(`skipped ${err.message}`)
    }
  }
  if (parquetFiles.length > 0) {
    let schemas: Map<string, string[]>
    try {
      schemas = await readParquetSchemas(
        parquetFiles.map((f) => f.path),
        ctx,
      )
    } catch (err) {
      throw new AnalyticsSourceError(
        parquetFiles.length === 1 ? parquetFiles[0]!.path : `${parquetFiles.length} Parquet files`,
        `cannot read the Parquet schema (${(err as Error).message})`,
        { cause: err },
      )
    }
    for (const f of parquetFiles) {
      const cols = schemas.get(f.path) ?? []
      const known = cols.filter((c) => COLUMN_TYPES.has(c) && c !== 'date')
      if (known.length < MIN_PARQUET_COLUMNS) {
        const what = `a Parquet file with ${known.length} flow-log column(s), not a VPC flow-log file (at least ${MIN_PARQUET_COLUMNS} needed)`
        const msg = `${f.path}: ${what}`
        if (f.explicit) throw new AnalyticsSourceError(f.path, what)
        out.warnings.push(`skipped ${msg}`)
        continue
      }
      out.parquet.push({ path: f.path, columns: known, date: partitionDate(f.path) })
    }
  }
  return out
}

/** The CREATE VIEW statement of `vpc_flow_logs` over classified sources. */
export function flowLogsViewSql(src: FlowLogSources, name = 'vpc_flow_logs'): string {
  const branches: string[] = []
  for (const g of groupBy(
    src.text,
    (t) =>
      `${t.layout.gzip ? 'gz' : 'plain'}|${t.layout.skip}|${t.layout.header0}|${t.layout.columns.join(' ')}|${t.date}`,
  )) {
    branches.push(
      textBranch(
        g.map((t) => t.path),
        g[0]!.layout,
        g[0]!.date,
      ),
    )
  }
  for (const g of groupBy(src.parquet, (p) => `${p.columns.join(' ')}|${p.date}`)) {
    branches.push(
      parquetBranch(
        g.map((p) => p.path),
        g[0]!.columns,
        g[0]!.date,
      ),
    )
  }
  return viewSql(name, branches)
}

/** The `vpc_flow_logs` table. */
export const FLOW_LOGS_TABLE: TableDefinition = {
  name: 'vpc_flow_logs',
  description: "VPC flow-log records (text .log.gz in any format, or Parquet) with Athena's columns",
  columns: FLOW_LOG_COLUMNS,
  option: { flag: 'flow-logs', description: 'flow-log files or directories (.log.gz, .log, .parquet)' },
  async plan(inputs: TableInputs, ctx: PlanContext): Promise<TablePlan> {
    const src = await findFlowLogSources(inputs, ctx)
    return {
      statements: [flowLogsViewSql(src)],
      files: [...src.text.map((t) => t.path), ...src.parquet.map((p) => p.path)],
      warnings: src.warnings,
    }
  },
}
