// SPDX-License-Identifier: Apache-2.0
/**
 * Flow-log files in, flow-log files out (`mirrorflow flowlogs --flow-logs PATH…`): records read through
 * the `vpc_flow_logs` table (any format, text or Parquet, from AWS or mirrorflow) and written again in
 * another log format — as text lines on a stream, or as a directory in the S3 layout (one object per
 * account, region and 5-minute delivery window of `end`, gzip text with its header line, or Parquet).
 *
 * A field the input lacks is `-` (NULL in Parquet). `version` is the output format's version.
 * `account-id` and `region` of a record without them come from the options (they name the objects).
 * @module
 */
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import {
  DELIVERY_WINDOW_SECONDS,
  columnName,
  objectHash,
  s3ObjectName,
  s3ObjectPrefix,
  validateS3Layout,
  writeFileWithin,
  writeParquetFile,
  writeError,
  type FlowLogsWriteError,
  type LogFormat,
} from '../flowlogs/index.ts'
import { sqlIdent, sqlString, type CellValue } from './engine.ts'
import { FLOW_LOG_COLUMNS } from './flow-logs-table.ts'
import { openAnalytics } from './session.ts'

export interface RerenderOptions {
  /** Flow-log files and directories. */
  inputs: readonly string[]
  format: LogFormat
  /** A function that writes text (stream output), or a directory for the S3 layout. */
  output: { write: (text: string) => void } | { dir: string }
  fileFormat?: 'plain-text' | 'parquet' | undefined
  /** Stream output: the header line first. */
  header?: boolean | undefined
  accountId: string
  region: string
  flowLogId: string
  hiveCompatiblePartitions?: boolean | undefined
  perHourPartition?: boolean | undefined
  onWarning?: ((msg: string) => void) | undefined
}

export interface RerenderStats {
  records: number
  objects: number
  writeErrors: number
  droppedRecords: number
  firstError: FlowLogsWriteError | null
}

const TYPES = new Map(FLOW_LOG_COLUMNS.map((c) => [c.name, c.type]))

/** Re-renders every record of the inputs. */
export async function rerenderFlowLogs(o: RerenderOptions): Promise<RerenderStats> {
  const session = await openAnalytics({ inputs: { vpc_flow_logs: o.inputs } })
  const stats: RerenderStats = { records: 0, objects: 0, writeErrors: 0, droppedRecords: 0, firstError: null }
  try {
    for (const w of session.warnings) o.onWarning?.(w)
    const parquet = 'dir' in o.output && o.fileFormat === 'parquet'
    const cols = o.format.fields.map((f) => {
      const c = columnName(f.name)
      if (f.name === 'version') return parquet ? `${o.format.version}` : `'${o.format.version}'`
      const isString = (TYPES.get(c) ?? 'VARCHAR') === 'VARCHAR'
      if (parquet) return isString ? `nullif(${sqlIdent(c)}, '-')` : sqlIdent(c)
      return isString ? `coalesce(${sqlIdent(c)}, '-')` : `coalesce(CAST(${sqlIdent(c)} AS VARCHAR), '-')`
    })
    const sel = parquet
      ? cols.map((c, i) => `${c} AS c${i}`).join(', ')
      : `concat_ws(' ', ${cols.join(', ')}) AS line`
    const acct = `coalesce(nullif(account_id, '-'), ${sqlString(o.accountId)})`
    const region = `coalesce(nullif(region, '-'), ${sqlString(o.region)})`
    const win = `CAST("end" // ${DELIVERY_WINDOW_SECONDS} * ${DELIVERY_WINDOW_SECONDS} AS BIGINT)`
    const order = `start, "end", interface_id, srcaddr, dstaddr, srcport, dstport, protocol`
    if (!('dir' in o.output)) {
      const out = o.output
      if (o.header === true) out.write(o.format.header + '\n')
      for await (const rows of session.stream(`SELECT ${sel} FROM vpc_flow_logs ORDER BY ${order}`)) {
        let text = ''
        for (const r of rows) text += `${r[0] as string}\n`
        out.write(text)
        stats.records += rows.length
      }
      return stats
    }
    const dir = o.output.dir
    // One object at a time, in key order: memory holds one object's records.
    let key = ''
    let keyParts: [string, string, number] = ['', '', 0]
    let lines: string[] = []
    let rows: CellValue[][] = []
    const flush = async (): Promise<void> => {
      const n = parquet ? rows.length : lines.length
      if (n === 0) return
      const [account, reg, w] = keyParts
      const layout = {
        accountId: account,
        region: reg,
        flowLogId: o.flowLogId,
        hiveCompatiblePartitions: o.hiveCompatiblePartitions,
        perHourPartition: o.perHourPartition,
        fileFormat: parquet ? ('parquet' as const) : ('plain-text' as const),
      }
      const folder = s3ObjectPrefix(layout, w)
      try {
        validateS3Layout(layout)
        let bytes: Uint8Array
        if (parquet) {
          bytes = await writeParquetFile(
            join(session.exportDir, `object-${stats.objects}.parquet`),
            o.format,
            rows as (string | number | null)[][],
          )
        } else {
          bytes = gzipSync(o.format.header + '\n' + lines.join('\n') + '\n')
        }
        await writeFileWithin(dir, folder.slice(0, -1), s3ObjectName(layout, w, objectHash(bytes)), bytes)
        stats.objects++
        stats.records += n
      } catch (err) {
        const e = writeError(join(dir, folder), err)
        stats.writeErrors++
        stats.droppedRecords += n
        stats.firstError ??= e
      }
      lines = []
      rows = []
    }
    for await (const chunk of session.stream(
      `SELECT ${acct} AS a, ${region} AS r, ${win} AS w, ${sel} FROM vpc_flow_logs WHERE "end" IS NOT NULL ORDER BY a, r, w, ${order}`,
    )) {
      for (const r of chunk) {
        const k = `${r[0] as string}\0${r[1] as string}\0${r[2] as string}`
        if (k !== key) {
          await flush()
          key = k
          keyParts = [String(r[0]), String(r[1]), Number(r[2])]
        }
        if (parquet) rows.push(r.slice(3))
        else lines.push(r[3] as string)
      }
    }
    await flush()
    return stats
  } finally {
    session.close()
  }
}
