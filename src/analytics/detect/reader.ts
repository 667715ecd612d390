// SPDX-License-Identifier: Apache-2.0
/**
 * Flow-log records for the detection engine: from flow-log files (AWS's S3 objects or mirrorflow's:
 * text `.log.gz` or plain in any custom format — the first line names the fields —, and Parquet),
 * from directories of them (the S3 key layout, walked in name order), and from the flow-log engine's
 * columnar batches (a capture turned into records in process). Each source fills one reused
 * {@link DetectRecord}; NODATA and SKIPDATA rows are skipped.
 *
 * Parquet goes through the query engine's `vpc_flow_logs` table (DuckDB; the same column matching,
 * types and checks as `mirrorflow query`), rows in file order. Text is parsed here, streaming, line
 * by line: handing every row of a DuckDB result to JavaScript costs about twice the CPU of splitting
 * the lines here (5M records: 17 against 8 CPU-seconds, gunzip included), and detection reads every
 * record.
 * @module
 */
import { createReadStream, type Dirent } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import type { FlowRecordBatch } from '../../flowlogs/index.ts'
import { Action, Direction, LogStatus, TCP_FLAGS_NONE } from '../../flowlogs/index.ts'
import { formatIPv4, formatIPv6Words } from '../../packet/index.ts'
import { AnalyticsQueryError, AnalyticsSourceError } from '../errors.ts'
import { openAnalytics } from '../session.ts'
import { emptyRecord, type DetectRecord } from './engine.ts'
import { DetectInputError } from './errors.ts'

/** Most files a directory walk visits. */
export const MAX_FILES = 1_000_000
/** Deepest directory nesting walked (the S3 layout is about 8 deep). */
export const MAX_DEPTH = 16
/** Longest line read (bytes): a longer one is counted as malformed and skipped. */
export const MAX_LINE = 64 * 1024

export interface ReadStats {
  files: number
  lines: number
  records: number
  skippedStatus: number
  malformed: number
}

/**
 * Every flow-log file under the paths (files as given; directories walked for `.log.gz`, `.log` and
 * `.parquet`), in name order per directory.
 */
export async function flowLogFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = []
  async function walk(dir: string, depth: number): Promise<void> {
    if (depth > MAX_DEPTH || out.length >= MAX_FILES) return
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      throw new DetectInputError(
        dir,
        `cannot read the directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      )
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p, depth + 1)
      else if (
        e.isFile() &&
        (e.name.endsWith('.log.gz') || e.name.endsWith('.log') || e.name.endsWith('.parquet'))
      ) {
        if (out.length < MAX_FILES) out.push(p)
      }
    }
  }
  for (const p of paths) {
    let st
    try {
      st = await stat(p)
    } catch (err) {
      throw new DetectInputError(
        p,
        `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      )
    }
    if (st.isDirectory()) await walk(p, 0)
    else out.push(p)
  }
  return out
}

/** Column indexes of the fields the engine reads (-1: not in the format). */
interface Columns {
  account: number
  iface: number
  instance: number
  vpc: number
  subnet: number
  src: number
  dst: number
  sport: number
  dport: number
  proto: number
  packets: number
  bytes: number
  start: number
  end: number
  action: number
  status: number
  flags: number
  direction: number
  width: number
}

function columns(header: string, file: string): Columns {
  const names = header.trim().split(/\s+/)
  const at = (n: string): number => names.indexOf(n)
  const c: Columns = {
    account: at('account-id'),
    iface: at('interface-id'),
    instance: at('instance-id'),
    vpc: at('vpc-id'),
    subnet: at('subnet-id'),
    src: at('srcaddr'),
    dst: at('dstaddr'),
    sport: at('srcport'),
    dport: at('dstport'),
    proto: at('protocol'),
    packets: at('packets'),
    bytes: at('bytes'),
    start: at('start'),
    end: at('end'),
    action: at('action'),
    status: at('log-status'),
    flags: at('tcp-flags'),
    direction: at('flow-direction'),
    width: names.length,
  }
  if (c.src < 0 || c.dst < 0) {
    throw new DetectInputError(
      file,
      `the first line names no srcaddr/dstaddr fields: it is not a flow-log header ('${header.slice(0, 120)}')`,
    )
  }
  return c
}

/** What a file is, by its first bytes: Parquet (`PAR1`), gzip text, or plain text. */
export async function flowLogFileKind(file: string): Promise<'parquet' | 'gzip' | 'text'> {
  let b: Buffer
  let n: number
  try {
    const fh = await open(file, 'r')
    try {
      b = Buffer.alloc(4)
      n = (await fh.read(b, 0, 4, 0)).bytesRead
    } finally {
      await fh.close()
    }
  } catch (err) {
    throw new DetectInputError(
      file,
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
  if (n === 4 && b.toString('latin1') === 'PAR1') return 'parquet'
  if (file.endsWith('.parquet')) throw new DetectInputError(file, 'not a Parquet file (no PAR1 signature)')
  return n >= 2 && b[0] === 0x1f && b[1] === 0x8b ? 'gzip' : 'text'
}

/**
 * Reads one text flow-log file (gzip or plain, by its first bytes) and calls `onRecord` for every
 * record row, with one reused record.
 */
export async function readFlowLogFile(
  file: string,
  onRecord: (r: DetectRecord) => void,
  stats: ReadStats,
): Promise<void> {
  const kind = await flowLogFileKind(file)
  if (kind === 'parquet') {
    await readParquetFlowLogs([file], onRecord, stats)
    return
  }
  const gz = kind === 'gzip'
  stats.files++
  const rec = emptyRecord()
  let cols: Columns | null = null
  // Field starts of the current line (a space ends each field); grown to the header's width.
  let at = new Int32Array(64)
  /** The value of field `i` as text (latin1, as AWS writes ASCII). */
  const text = (b: Buffer, i: number): string => b.toString('latin1', at[i]!, at[i + 1]! - 1)
  /** Field `i` is exactly `-`. */
  const dash = (b: Buffer, i: number): boolean => at[i + 1]! - at[i]! === 2 && b[at[i]!] === 45
  /** Field `i` equals the ASCII `word`. */
  const is = (b: Buffer, i: number, word: string): boolean => {
    const from = at[i]!
    if (at[i + 1]! - 1 - from !== word.length) return false
    for (let k = 0; k < word.length; k++) if (b[from + k] !== word.charCodeAt(k)) return false
    return true
  }
  /** Field `i` as a number, as `Number()` reads it (digits parsed in place); `-` or not a number: 0. */
  const num = (b: Buffer, i: number): number => {
    const from = at[i]!
    const to = at[i + 1]! - 1
    if (to - from > 0 && to - from < 16) {
      let n = 0
      let k = from
      for (; k < to; k++) {
        const d = b[k]! - 48
        if (d < 0 || d > 9) break
        n = n * 10 + d
      }
      if (k === to) return n
    }
    if (to - from === 1 && b[from] === 45) return 0
    const n = Number(b.toString('latin1', from, to))
    return Number.isFinite(n) ? n : 0
  }
  /** One line, bytes [from, to) of `b` (no line end). */
  const line = (b: Buffer, from: number, to: number): void => {
    if (to === from || b[from] === 35) return // empty, or '#': a comment line
    if (cols === null) {
      cols = columns(b.toString('latin1', from, to), file)
      if (at.length < cols.width + 1) at = new Int32Array(cols.width + 1)
      return
    }
    stats.lines++
    const c = cols
    // Split on every space, as split(' ') does: n fields, at[i] the start of field i, at[n] = to + 1.
    let n = 1
    at[0] = from
    for (let k = from; k < to; k++) {
      if (b[k] === 32) {
        if (n >= c.width) {
          n++
          break
        }
        at[n++] = k + 1
      }
    }
    if (n !== c.width) {
      stats.malformed++
      return
    }
    at[n] = to + 1
    if (c.status >= 0 && !is(b, c.status, 'OK')) {
      stats.skippedStatus++
      return
    }
    if (dash(b, c.src) || dash(b, c.dst)) {
      stats.skippedStatus++
      return
    }
    rec.accountId = c.account >= 0 ? text(b, c.account) : ''
    rec.interfaceId = c.iface >= 0 ? text(b, c.iface) : ''
    rec.instanceId = c.instance >= 0 && !dash(b, c.instance) ? text(b, c.instance) : ''
    rec.vpcId = c.vpc >= 0 && !dash(b, c.vpc) ? text(b, c.vpc) : ''
    rec.subnetId = c.subnet >= 0 && !dash(b, c.subnet) ? text(b, c.subnet) : ''
    rec.srcaddr = text(b, c.src)
    rec.dstaddr = text(b, c.dst)
    rec.srcport = c.sport >= 0 ? num(b, c.sport) : 0
    rec.dstport = c.dport >= 0 ? num(b, c.dport) : 0
    rec.protocol = c.proto >= 0 ? num(b, c.proto) : 0
    rec.packets = c.packets >= 0 ? num(b, c.packets) : 0
    rec.bytes = c.bytes >= 0 ? num(b, c.bytes) : 0
    rec.start = c.start >= 0 ? num(b, c.start) : 0
    rec.end = c.end >= 0 ? num(b, c.end) : rec.start
    rec.rejected = c.action >= 0 && is(b, c.action, 'REJECT')
    rec.tcpFlags = c.flags >= 0 && !dash(b, c.flags) ? num(b, c.flags) : -1
    rec.direction =
      c.direction < 0 ? 0 : is(b, c.direction, 'ingress') ? 1 : is(b, c.direction, 'egress') ? 2 : 0
    stats.records++
    onRecord(rec)
  }
  const stream = gz ? createReadStream(file).pipe(createGunzip()) : createReadStream(file)
  // The unfinished last line of the previous chunk; `skipping`: inside a line longer than MAX_LINE.
  let carry: Buffer | null = null
  let skipping = false
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0
      let nl = chunk.indexOf(10)
      if (carry !== null || skipping) {
        if (nl < 0) {
          if (!skipping) {
            carry = Buffer.concat([carry!, chunk])
            if (carry.length > MAX_LINE) {
              stats.malformed++
              carry = null
              skipping = true
            }
          }
          continue
        }
        if (!skipping) {
          const whole: Buffer = Buffer.concat([carry!, chunk.subarray(0, nl)])
          const end = whole.length > 0 && whole[whole.length - 1] === 13 ? whole.length - 1 : whole.length
          if (end <= MAX_LINE) line(whole, 0, end)
          else stats.malformed++
        }
        carry = null
        skipping = false
        from = nl + 1
        nl = chunk.indexOf(10, from)
      }
      for (; nl >= 0; nl = chunk.indexOf(10, from)) {
        const end = nl > from && chunk[nl - 1] === 13 ? nl - 1 : nl
        if (end - from <= MAX_LINE) line(chunk, from, end)
        else stats.malformed++
        from = nl + 1
      }
      if (from < chunk.length) {
        if (chunk.length - from > MAX_LINE) {
          stats.malformed++
          skipping = true
        } else carry = Buffer.from(chunk.subarray(from))
      }
    }
    if (carry !== null) {
      const end = carry.length > 0 && carry[carry.length - 1] === 13 ? carry.length - 1 : carry.length
      line(carry, 0, end)
    }
  } catch (err) {
    if (err instanceof DetectInputError) throw err
    throw new DetectInputError(
      file,
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
}

/** The columns detection reads, in this order, from the `vpc_flow_logs` table. */
const PARQUET_SELECT = `SELECT account_id, interface_id, instance_id, vpc_id, subnet_id, srcaddr, dstaddr,
  CAST(srcport AS DOUBLE), CAST(dstport AS DOUBLE), CAST(protocol AS DOUBLE), CAST(packets AS DOUBLE),
  CAST(bytes AS DOUBLE), CAST("start" AS DOUBLE), CAST("end" AS DOUBLE), "action", log_status,
  CAST(tcp_flags AS DOUBLE), flow_direction FROM vpc_flow_logs`

/**
 * Reads Parquet flow-log files through the query engine's `vpc_flow_logs` table, in file order, and
 * calls `onRecord` for every traffic row (one reused record). A value the file lacks reads as the
 * text reader's `-` does.
 */
export async function readParquetFlowLogs(
  files: readonly string[],
  onRecord: (r: DetectRecord) => void,
  stats: ReadStats,
): Promise<void> {
  const rec = emptyRecord()
  let session
  try {
    session = await openAnalytics({ inputs: { vpc_flow_logs: files }, preserveInsertionOrder: true })
  } catch (err) {
    if (err instanceof AnalyticsSourceError) {
      const m = err.message.startsWith(`${err.path}: `) ? err.message.slice(err.path.length + 2) : err.message
      throw new DetectInputError(err.path, m)
    }
    throw err
  }
  try {
    stats.files += session.fileCounts['vpc_flow_logs'] ?? 0
    const str = (v: unknown): string => (typeof v === 'string' && v !== '-' ? v : '')
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
    for await (const chunk of session.chunks(PARQUET_SELECT)) {
      const col = Array.from({ length: 18 }, (_, i) => chunk.getColumnVector(i))
      const [account, iface, instance, vpc, subnet, src, dst, sport, dport, proto, packets] = col
      const [bytes, start, end, action, status, flags, direction] = col.slice(11)
      for (let i = 0; i < chunk.rowCount; i++) {
        stats.lines++
        const st = status!.getItem(i)
        if (st !== null && st !== 'OK') {
          stats.skippedStatus++
          continue
        }
        const s = str(src!.getItem(i))
        const d = str(dst!.getItem(i))
        if (s === '' || d === '') {
          stats.skippedStatus++
          continue
        }
        rec.accountId = str(account!.getItem(i))
        rec.interfaceId = str(iface!.getItem(i))
        rec.instanceId = str(instance!.getItem(i))
        rec.vpcId = str(vpc!.getItem(i))
        rec.subnetId = str(subnet!.getItem(i))
        rec.srcaddr = s
        rec.dstaddr = d
        rec.srcport = num(sport!.getItem(i))
        rec.dstport = num(dport!.getItem(i))
        rec.protocol = num(proto!.getItem(i))
        rec.packets = num(packets!.getItem(i))
        rec.bytes = num(bytes!.getItem(i))
        rec.start = num(start!.getItem(i))
        const e = end!.getItem(i)
        rec.end = typeof e === 'number' ? e : rec.start
        rec.rejected = action!.getItem(i) === 'REJECT'
        const f = flags!.getItem(i)
        rec.tcpFlags = typeof f === 'number' ? f : -1
        const dir = direction!.getItem(i)
        rec.direction = dir === 'ingress' ? 1 : dir === 'egress' ? 2 : 0
        stats.records++
        onRecord(rec)
      }
    }
  } catch (err) {
    if (err instanceof AnalyticsQueryError) {
      throw new DetectInputError(
        files.length === 1 ? files[0]! : `${files.length} Parquet files`,
        err.message,
      )
    }
    throw err
  } finally {
    session.close()
  }
}

/** Calls `onRecord` for every traffic row of a flow-log engine batch (one reused record). */
export function batchRecords(
  b: FlowRecordBatch,
  onRecord: (r: DetectRecord) => void,
  rec = emptyRecord(),
): void {
  for (let i = 0; i < b.count; i++) {
    if (b.logStatus[i] !== LogStatus.OK || b.family[i] === 0) continue
    const info = b.interfaces[b.iface[i]!]?.info
    rec.accountId = info?.accountId ?? ''
    rec.interfaceId = info?.interfaceId ?? ''
    rec.instanceId = info?.instanceId ?? ''
    rec.vpcId = info?.vpcId ?? ''
    rec.subnetId = info?.subnetId ?? ''
    if (b.family[i] === 4) {
      rec.srcaddr = formatIPv4(b.src[i * 4]!)
      rec.dstaddr = formatIPv4(b.dst[i * 4]!)
    } else {
      rec.srcaddr = formatIPv6Words(b.src, i * 4)
      rec.dstaddr = formatIPv6Words(b.dst, i * 4)
    }
    rec.srcport = b.srcPort[i]!
    rec.dstport = b.dstPort[i]!
    rec.protocol = b.protocol[i]!
    rec.packets = b.packets[i]!
    rec.bytes = b.bytes[i]!
    rec.start = b.start[i]!
    rec.end = b.end[i]!
    rec.rejected = b.action[i] === Action.REJECT
    rec.tcpFlags = b.tcpFlags[i] === TCP_FLAGS_NONE ? -1 : b.tcpFlags[i]!
    const d = b.direction[i]
    rec.direction = d === Direction.Ingress ? 1 : d === Direction.Egress ? 2 : 0
    onRecord(rec)
  }
}
