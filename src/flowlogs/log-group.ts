// SPDX-License-Identifier: Apache-2.0
/**
 * Flow-log delivery to a CloudWatch Logs log group, with a spool so that a server that is down
 * loses nothing. As AWS publishes them: one log stream per network interface, named by the
 * interface id; one event per record, whose timestamp is the record's `start` (in ms) and whose
 * message is the record's line in the flow log's format.
 *
 * - {@link LogGroupSpoolDestination} writes each batch's records as event files,
 *   `<spool>/<flow-log-id>/<interface-id>/<first start>-<pid>-<seq>.events` (a line per event:
 *   `timestamp-ms TAB message`), written whole then renamed into place.
 * - {@link LogGroupDeliverer} sends each file with PutLogEvents through a {@link LogEventsSink} (in
 *   batches within AWS's limits: 10,000 events, 1,048,576 bytes, 24 hours), oldest first, and
 *   deletes it once delivered. A failure keeps the file and retries with exponential back-off (1 s
 *   doubling to 60 s); a log group that is missing and cannot be created, or that the flow log's
 *   role does not let the service write, is reported per flow log (`groupErrors`), never skipped
 *   silently.
 * @module
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { lstat, readdir, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { FlowLogsDestinationError, FlowLogsWriteError } from './errors.ts'
import type { FlowLogDestination } from './destination.ts'
import type { LogFormat } from './log-format.ts'
import type { FlowRecordBatch } from './record.ts'
import { renderRecordLine } from './render.ts'

const FLOW_LOG_ID = /^fl-(?:[0-9a-f]{8}|[0-9a-f]{17})$/
/** Log stream names the spool writes (interface ids; the target's `vni-<VNI>@<source>`). */
const STREAM = /^[A-Za-z0-9._@-]{1,512}$/
/** PutLogEvents' limits. */
const MAX_EVENTS = 10_000
const MAX_BYTES = 1_048_576
const MAX_SPAN_MS = 24 * 3600 * 1000
const OVERHEAD = 26
/**
 * Largest request body a batch may make: the server takes 8 MiB from CloudWatch Logs callers (a
 * full batch is at most ~7 MiB as JSON, control characters escaped); kept below it.
 */
const MAX_JSON = 7 * 1024 * 1024

export interface LogGroupSpoolStats {
  writeErrors: number
  droppedRecords: number
  lastWriteError: string | null
}

let fileSeq = 0

/** Writes flow-log records as per-interface event files into a flow log's spool directory. */
export class LogGroupSpoolDestination implements FlowLogDestination {
  readonly dir: string
  readonly stats: LogGroupSpoolStats = { writeErrors: 0, droppedRecords: 0, lastWriteError: null }
  private readonly format: LogFormat
  private readonly onWriteError: ((e: FlowLogsWriteError) => void) | undefined

  constructor(o: { dir: string; format: LogFormat; onWriteError?: (e: FlowLogsWriteError) => void }) {
    this.dir = o.dir
    this.format = o.format
    this.onWriteError = o.onWriteError
  }

  write(b: FlowRecordBatch): void {
    // Group rows by interface; each interface's events in start-time order (PutLogEvents wants it).
    const byIface = new Map<number, number[]>()
    for (let i = 0; i < b.count; i++) {
      const k = b.iface[i] as number
      const l = byIface.get(k)
      if (l === undefined) byIface.set(k, [i])
      else l.push(i)
    }
    for (const [k, rows] of byIface) {
      // A log stream name may not hold ':' (an IPv6 source in the target's interface ids).
      const eni = b.interfaces[k]!.info.interfaceId.replaceAll(':', '.')
      rows.sort((x, y) => (b.start[x] as number) - (b.start[y] as number))
      let text = ''
      for (const i of rows)
        text += `${Math.round((b.start[i] as number) * 1000)}\t${renderRecordLine(this.format, b, i)}\n`
      const first = Math.floor(b.start[rows[0]!] as number)
      const dir = join(this.dir, eni)
      const name = `${String(first).padStart(12, '0')}-${process.pid}-${fileSeq++}.events`
      try {
        if (!STREAM.test(eni))
          throw Object.assign(new Error(`'${eni.slice(0, 64)}' is not a stream name`), {
            code: 'refused-path',
          })
        mkdirSync(dir, { recursive: true })
        // Written under a dot name, then renamed: the deliverer never sees half a file.
        writeFileSync(join(dir, `.${name}`), text)
        renameSync(join(dir, `.${name}`), join(dir, name))
      } catch (err) {
        const e = new FlowLogsWriteError(
          join(dir, name),
          (err as { code?: string }).code ?? 'EIO',
          (err as Error).message,
          { cause: err },
        )
        this.stats.writeErrors++
        this.stats.droppedRecords += rows.length
        this.stats.lastWriteError = e.message
        this.onWriteError?.(e)
      }
    }
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

/** One event as PutLogEvents takes it. */
export interface LogEvent {
  timestamp: number
  message: string
}

/** Why a put failed, as the deliverer needs to tell. */
export class LogGroupMissingError extends Error {
  readonly group: string
  constructor(group: string, detail?: string) {
    super(detail ?? `Access error: the log group ${group.slice(0, 512)} does not exist.`)
    this.group = group
  }
}

/**
 * The flow log's IAM role does not let the flow-logs service write to the log group (or create it):
 * the flow log's "Access error". Retried with back-off like any failure (the role may be fixed).
 */
export class LogGroupAccessError extends LogGroupMissingError {}

/** What delivery needs of CloudWatch Logs (the agent implements it over the server's API). */
export interface LogEventsSink {
  /**
   * Puts one batch to the stream, creating the log group and the stream if they do not exist.
   * Throws {@link LogGroupAccessError} when that is not allowed (the flow log's role),
   * {@link LogGroupMissingError} when the log group does not exist and cannot be created, anything
   * else for a failure a retry may cure.
   */
  put(group: string, stream: string, events: readonly LogEvent[]): Promise<void>
}

export interface LogGroupDeliveryStats {
  delivered: number
  deliveredEvents: number
  failures: number
  rejected: number
  spooledObjects: number
  spooledBytes: number
  lastError: string | null
  backoffSeconds: number
  /** Flow-log id → the delivery error it has now (a missing log group…); absent once delivery works. */
  groupErrors: Record<string, string>
}

/**
 * Splits events into PutLogEvents batches: at most 10,000 events, 1,048,576 bytes as AWS counts
 * them, a 24-hour span, and a JSON body under 7 MiB (the server takes 8 MiB for CloudWatch Logs).
 */
export function batchEvents(events: readonly LogEvent[]): LogEvent[][] {
  const out: LogEvent[][] = []
  let cur: LogEvent[] = []
  let bytes = 0
  let json = 200
  for (const e of events) {
    const b = Buffer.byteLength(e.message) + OVERHEAD
    const j = Buffer.byteLength(JSON.stringify(e.message)) + 40
    if (
      cur.length > 0 &&
      (cur.length >= MAX_EVENTS ||
        bytes + b > MAX_BYTES ||
        json + j > MAX_JSON ||
        e.timestamp - cur[0]!.timestamp > MAX_SPAN_MS)
    ) {
      out.push(cur)
      cur = []
      bytes = 0
      json = 200
    }
    cur.push(e)
    bytes += b
    json += j
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/** Parses an event file; lines that do not parse are skipped (and counted by the caller). */
export function parseEventFile(text: string): { events: LogEvent[]; bad: number } {
  const events: LogEvent[] = []
  let bad = 0
  for (const line of text.split('\n')) {
    if (line === '') continue
    const tab = line.indexOf('\t')
    const ts = tab > 0 ? Number(line.slice(0, tab)) : NaN
    if (!Number.isSafeInteger(ts) || ts < 0 || tab === line.length - 1) {
      bad++
      continue
    }
    events.push({ timestamp: ts, message: line.slice(tab + 1) })
  }
  events.sort((a, b) => a.timestamp - b.timestamp)
  return { events, bad }
}

/** Moves spooled event files to their log groups. `kick()` asks for a pass; passes never overlap. */
export class LogGroupDeliverer {
  readonly spoolDir: string
  readonly stats: LogGroupDeliveryStats = {
    delivered: 0,
    deliveredEvents: 0,
    failures: 0,
    rejected: 0,
    spooledObjects: 0,
    spooledBytes: 0,
    lastError: null,
    backoffSeconds: 0,
    groupErrors: {},
  }
  private readonly sink: LogEventsSink
  private readonly groupOf: (flowLogId: string) => string | undefined
  private running: Promise<void> | null = null
  private again = false
  private backoffMs = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(spoolDir: string, sink: LogEventsSink, groupOf: (flowLogId: string) => string | undefined) {
    this.spoolDir = spoolDir
    this.sink = sink
    this.groupOf = groupOf
  }

  /** Where a flow log's event files are spooled. */
  spoolFor(flowLogId: string): string {
    if (!FLOW_LOG_ID.test(flowLogId))
      throw new FlowLogsDestinationError(`'${flowLogId}' is not a flow-log id`)
    return join(this.spoolDir, flowLogId)
  }

  /** Every spooled file: [flow-log id, interface id, path], oldest first. */
  private async files(): Promise<[string, string, string, number][]> {
    const out: [string, string, string, number][] = []
    const fls = await readdir(this.spoolDir).catch(() => [] as string[])
    for (const fl of fls) {
      if (!FLOW_LOG_ID.test(fl)) continue
      const enis = await readdir(join(this.spoolDir, fl)).catch(() => [] as string[])
      for (const eni of enis) {
        if (!STREAM.test(eni)) continue
        const names = await readdir(join(this.spoolDir, fl, eni)).catch(() => [] as string[])
        for (const n of names) {
          if (n.startsWith('.') || !n.endsWith('.events')) continue
          const p = join(this.spoolDir, fl, eni, n)
          const s = await lstat(p).catch(() => null)
          if (s === null || !s.isFile()) continue
          out.push([fl, eni, p, s.size])
        }
      }
    }
    const name = (p: string) => p.slice(p.lastIndexOf('/') + 1)
    return out.sort((a, b) => (name(a[2]) < name(b[2]) ? -1 : name(a[2]) > name(b[2]) ? 1 : 0))
  }

  async measure(): Promise<number> {
    const files = await this.files()
    this.stats.spooledObjects = files.length
    this.stats.spooledBytes = files.reduce((a, f) => a + f[3], 0)
    return this.stats.spooledBytes
  }

  kick(): void {
    if (this.closed) return
    if (this.running !== null) {
      this.again = true
      return
    }
    if (this.timer !== null) return
    this.running = this.pass().finally(() => {
      this.running = null
      if (this.again && this.backoffMs === 0) {
        this.again = false
        this.kick()
      }
    })
  }

  private async pass(): Promise<void> {
    const failedFlowLogs = new Set<string>()
    let failed = false
    for (const [fl, eni, path] of await this.files()) {
      if (failedFlowLogs.has(fl)) continue
      const group = this.groupOf(fl)
      if (group === undefined) continue // a flow log this agent does not run (now): kept for later
      try {
        const text = await readFile(path, 'utf8')
        const { events, bad } = parseEventFile(text)
        this.stats.rejected += bad
        for (const batch of batchEvents(events)) await this.sink.put(group, eni, batch)
        await unlink(path)
        this.stats.delivered++
        this.stats.deliveredEvents += events.length
        delete this.stats.groupErrors[fl]
      } catch (err) {
        this.stats.failures++
        this.stats.lastError = (err as Error).message
        if (err instanceof LogGroupMissingError) this.stats.groupErrors[fl] = err.message
        // The stream's later files wait behind this one (order); other flow logs go on.
        failedFlowLogs.add(fl)
        failed = true
      }
    }
    if (failed) {
      this.backoffMs = this.backoffMs === 0 ? 1000 : Math.min(this.backoffMs * 2, 60_000)
      this.stats.backoffSeconds = this.backoffMs / 1000
      if (!this.closed) {
        this.timer = setTimeout(() => {
          this.timer = null
          this.kick()
        }, this.backoffMs)
        this.timer.unref()
      }
    } else {
      this.backoffMs = 0
      this.stats.backoffSeconds = 0
    }
    await this.measure()
  }

  async close(): Promise<void> {
    if (this.running !== null) await this.running
    if (this.backoffMs === 0) {
      this.running = this.pass()
      await this.running
      this.running = null
    }
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}

/** Bytes of a file, for callers that size the spool. */
export async function fileSize(path: string): Promise<number> {
  return (await stat(path).catch(() => ({ size: 0 }))).size
}
