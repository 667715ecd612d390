// SPDX-License-Identifier: Apache-2.0
/**
 * One flow log on this host: an aggregator over the interfaces it covers, writing finished S3
 * objects into the spool, from which the deliverer moves them to the destination.
 *
 * Journal (crash safety): every captured header is also appended, in the same callback, to a pcap
 * journal per interface and aggregation interval (`<journalDir>/<interface-id>/<interval start>-…pcap`,
 * 128-byte frames, written through to the file system before the callback returns). Journal files
 * of an interval are deleted once its records are in the spool. A restarted agent replays what is
 * left before it captures again, so even `kill -9` loses no record of a packet the agent had read:
 * delivery is at-least-once (a crash between spooling an interval and deleting its journal delivers
 * that interval twice).
 *
 * Verdicts: a capture with the interface's NFLOG group hands over the packets the security groups or
 * network ACL dropped as frames of pcapng interface `REJECTED_IF_INDEX`; they are aggregated as
 * REJECT, and journaled in files of their own (`…-r.pcap`) so that a replay keeps their verdict.
 *
 * Spool full: when the spool already holds `spoolMaxBytes`, a record batch is not written; each
 * interface that lost records gets, once space is back, one SKIPDATA record whose start/end span
 * the records lost (spec-flow-logs §2.3: "some flow log records were skipped during the aggregation
 * interval… an internal capacity constraint"). Nothing is lost silently.
 * @module
 */
import {
  FlowAggregator,
  FlowRecordBatch,
  LogStatus,
  parseLogFormat,
  S3DirectoryDestination,
  type FlowLogInterface,
  type FlowLogsWriteError,
} from '../flowlogs/index.ts'
import { mkdirSync, readdirSync, rmSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { REJECTED_IF_INDEX } from '../capture/index.ts'
import { PcapWriter, readCapture, type FrameBatch } from '../packet/index.ts'
import type { DesiredFlowLog } from './desired.ts'
import { DEFAULT_ACCOUNT_ID, parseS3Arn, type SpoolDeliverer } from '../flowlogs/index.ts'
import { AgentDestinationError, AgentWriteError } from './errors.ts'

export interface FlowLogRunnerOptions {
  flowLog: DesiredFlowLog
  interfaces: FlowLogInterface[]
  deliverer: SpoolDeliverer
  spoolMaxBytes: number
  /** Shared view of the spool's size, updated by the agent after each publish. */
  spoolBytes: () => number
  /** Where this flow log's capture journal lives (none: no journal). */
  journalDir?: string | undefined
}

/** The journal file being appended for one interface. */
interface JournalFile {
  window: number
  writer: PcapWriter
}

let journalSeq = 0

/**
 * The flow-log action of each frame of a verdict capture's batch (Action values: frames of pcapng
 * interface `REJECTED_IF_INDEX` are REJECT), written into `scratch` (at least `batch.count` long);
 * null when every frame was accepted.
 */
export function verdictActions(batch: FrameBatch, scratch: Uint8Array): Uint8Array | null {
  const ix = batch.ifIndex
  let any = false
  for (let i = 0; i < batch.count; i++) {
    const r = ix[i] === REJECTED_IF_INDEX ? 1 : 0
    scratch[i] = r
    if (r === 1) any = true
  }
  return any ? scratch : null
}

export class FlowLogRunner {
  readonly flowLogId: string
  readonly bucket: string
  readonly interfaceIds: string[]
  records = 0
  skippedRecords = 0
  skipdataRecords = 0
  private readonly agg: FlowAggregator
  private readonly dest: S3DirectoryDestination
  private readonly o: FlowLogRunnerOptions
  private pending = 0
  /** Per interface index: [first start, last end] of records lost to a full spool. */
  private readonly lost = new Map<number, [number, number]>()
  private readonly skip: FlowRecordBatch
  private readonly interval: number
  /** Per interface index × 2 (+1: the REJECT journal). */
  private readonly journal: Array<JournalFile | null>
  /** Per-frame actions of the batch being added (reused; grown on demand). */
  private actions = new Uint8Array(4096)
  private readonly allReject = new Uint8Array(4096).fill(1)
  /** Frames replayed from a predecessor's journal. */
  replayedFrames = 0
  /**
   * Journal files whose replay stopped at damage (STYLE.md §3.4: counted, not dropped silently). A
   * crash normally cuts the last one short; every whole frame before the damage was replayed.
   */
  journalDamaged = 0
  /**
   * Failed opens, writes, flushes and closes of journal files (disk full, I/O error). Aggregation
   * goes on (records are not lost), only the crash safety of the frames involved is; the first
   * failure is reported once on stderr as `MF_AGENT_WRITE`.
   */
  writeErrors = 0
  private writeErrorReported = false
  private spoolErrorReported = false
  /** Journal files this runner wrote or replayed: the only ones it ever deletes. */
  private readonly owned = new Set<string>()

  constructor(o: FlowLogRunnerOptions) {
    const fl = o.flowLog
    if (fl.logDestinationType !== 's3' || fl.logDestination === null) {
      throw new AgentDestinationError(
        `flow log ${fl.flowLogId}: destination type ${fl.logDestinationType} is not delivered by the agent (only s3)`,
      )
    }
    const { bucket, prefix } = parseS3Arn(fl.logDestination)
    this.o = o
    this.flowLogId = fl.flowLogId
    this.bucket = bucket
    this.interfaceIds = o.interfaces.map((i) => i.interfaceId)
    const opts = fl.destinationOptions
    this.dest = new S3DirectoryDestination({
      dir: o.deliverer.spoolFor(fl.flowLogId, bucket),
      accountId: o.interfaces[0]?.accountId ?? DEFAULT_ACCOUNT_ID,
      region: o.interfaces[0]?.region ?? 'us-east-1',
      flowLogId: fl.flowLogId,
      prefix: prefix === '' ? undefined : prefix,
      hiveCompatiblePartitions: opts?.hiveCompatiblePartitions === true,
      perHourPartition: opts?.perHourPartition === true,
      fileFormat: opts?.fileFormat === 'parquet' ? 'parquet' : 'plain-text',
      format: parseLogFormat(fl.logFormat),
      // A spool object that cannot be written (disk full, name too long, refused path) is counted in
      // the destination's stats (writeErrors, droppedRecords) and reported once here.
      onWriteError: (e) => this.onWriteError(e),
    })
    this.agg = new FlowAggregator({
      interfaces: o.interfaces,
      maxAggregationInterval: fl.maxAggregationInterval === 60 ? 60 : 600,
      trafficType: fl.trafficType,
      nodata: true,
      excludeUnlogged: true,
      flowTableSize: 1 << 18,
      onRecords: (b) => {
        if (this.o.spoolBytes() >= this.o.spoolMaxBytes) {
          for (let i = 0; i < b.count; i++) {
            const k = b.iface[i] as number
            const cur = this.lost.get(k)
            const s = b.start[i] as number
            const e = b.end[i] as number
            this.lost.set(k, cur === undefined ? [s, e] : [Math.min(cur[0], s), Math.max(cur[1], e)])
          }
          this.skippedRecords += b.count
          return
        }
        this.writeSkipdata()
        this.dest.write(b)
        this.records += b.count
        this.pending += b.count
      },
    })
    this.skip = new FlowRecordBatch(Math.max(1, o.interfaces.length))
    this.skip.interfaces = this.agg.interfaces
    this.interval = this.agg.interval
    this.journal = [...o.interfaces, ...o.interfaces].map(() => null)
  }

  private journalDirOf(iface: number): string | null {
    const d = this.o.journalDir
    return d === undefined ? null : join(d, this.interfaceIds[iface] as string)
  }

  /**
   * Replays the journal a previous run left (frames it had read but whose interval was not
   * spooled yet). Call once, before live batches are added.
   */
  async replayJournal(): Promise<void> {
    for (let k = 0; k < this.interfaceIds.length; k++) {
      const dir = this.journalDirOf(k)
      if (dir === null) continue
      let names: string[]
      try {
        names = readdirSync(dir).filter((n) => n.endsWith('.pcap'))
      } catch {
        continue
      }
      names.sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]) || (a < b ? -1 : 1))
      for (const n of names) {
        this.owned.add(join(dir, n))
        const reject = n.endsWith('-r.pcap')
        try {
          for await (const b of readCapture(join(dir, n))) {
            this.agg.addBatch(b, k, null, reject ? this.rejectActions(b.count) : null)
            this.replayedFrames += b.count
          }
        } catch {
          // A journal cut short by the crash: every whole frame before the cut was replayed.
          this.journalDamaged++
        }
      }
    }
  }

  /** Counts a failed journal file operation; the first one is reported on stderr. */
  private onJournalError(e: unknown): void {
    this.writeErrors++
    if (this.writeErrorReported) return
    this.writeErrorReported = true
    const err = new AgentWriteError(
      `flow log ${this.flowLogId}: capture journal: ${(e as Error).message} (records are still made; further errors are only counted)`,
      { cause: e },
    )
    process.stderr.write(`mirrorflow agent: ${err.code}: ${err.message}\n`)
  }

  /** A spool object that could not be written (counted by the destination); the first is reported. */
  private onWriteError(e: FlowLogsWriteError): void {
    if (this.spoolErrorReported) return
    this.spoolErrorReported = true
    process.stderr.write(
      `mirrorflow agent: ${e.code}: flow log ${this.flowLogId}: ${e.message} (its records are counted as dropped; further errors are only counted)\n`,
    )
  }

  private rejectActions(n: number): Uint8Array {
    if (n <= this.allReject.length) return this.allReject
    return new Uint8Array(n).fill(1)
  }

  private appendJournal(batch: FrameBatch, iface: number, actions: Uint8Array | null): void {
    try {
      this.appendJournalFrames(batch, iface, actions, 0)
      if (actions !== null) this.appendJournalFrames(batch, iface, actions, 1)
    } catch (e) {
      this.onJournalError(e)
    }
  }

  /** Appends the frames of `batch` whose action is `act` (all of them when `actions` is null). */
  private appendJournalFrames(
    batch: FrameBatch,
    iface: number,
    actions: Uint8Array | null,
    act: number,
  ): void {
    const dir = this.journalDirOf(iface)
    if (dir === null) return
    const slot = iface * 2 + act
    let j = this.journal[slot] ?? null
    for (let i = 0; i < batch.count; i++) {
      if (actions !== null ? actions[i] !== act : act !== 0) continue
      const ts = batch.tsSec[i] as number
      const w = this.interval > 0 ? Math.floor(ts / this.interval) * this.interval : 0
      if (j === null || j.window !== w) {
        if (j !== null) j.writer.close().catch((e: unknown) => this.onJournalError(e))
        this.journal[slot] = null
        mkdirSync(dir, { recursive: true })
        const path = join(dir, `${w}-${process.pid}-${journalSeq++}${act === 1 ? '-r' : ''}.pcap`)
        this.owned.add(path)
        j = {
          window: w,
          writer: new PcapWriter(path, {
            linkType: batch.linkTypes[i] as number,
            snaplen: 65535,
            nanosecond: true,
          }),
        }
        this.journal[slot] = j
      }
      j.writer.write(
        batch.bytes,
        batch.starts[i] as number,
        batch.ends[i] as number,
        batch.origLens[i] as number,
        ts,
        batch.tsNsec[i] as number,
      )
    }
    // Hand the bytes to the kernel now: a kill -9 after this callback loses nothing.
    if (j !== null) j.writer.flush().catch((e: unknown) => this.onJournalError(e))
  }

  /** Deletes journal files of intervals that ended before `beforeSec` (their records are spooled). */
  private pruneJournal(beforeSec: number): void {
    for (let k = 0; k < this.interfaceIds.length; k++) {
      const dir = this.journalDirOf(k)
      if (dir === null) continue
      let names: string[]
      try {
        names = readdirSync(dir)
      } catch {
        continue
      }
      for (const n of names) {
        const w = Number(n.split('-')[0])
        if (!this.owned.has(join(dir, n)) || !(w + this.interval <= beforeSec)) continue
        for (const slot of [k * 2, k * 2 + 1]) {
          const cur = this.journal[slot]
          if (cur !== null && cur !== undefined && cur.window === w) {
            cur.writer.close().catch((e: unknown) => this.onJournalError(e))
            this.journal[slot] = null
          }
        }
        this.owned.delete(join(dir, n))
        try {
          unlinkSync(join(dir, n))
        } catch {
          // already gone
        }
      }
    }
  }

  private writeSkipdata(): void {
    if (this.lost.size === 0) return
    this.skip.count = 0
    for (const [k, [s, e]] of this.lost) this.skip.pushStatus(k, LogStatus.SKIPDATA, s, e)
    this.lost.clear()
    this.dest.write(this.skip)
    this.skipdataRecords += this.skip.count
    this.records += this.skip.count
    this.pending += this.skip.count
  }

  /** Index of an interface id in this flow log (-1 if it does not cover it). */
  indexOf(interfaceId: string): number {
    return this.interfaceIds.indexOf(interfaceId)
  }

  /**
   * Adds a batch captured on interface number `iface`; frames of pcapng interface
   * `REJECTED_IF_INDEX` (a verdict capture's drops) count as REJECT.
   */
  add(batch: FrameBatch, iface: number): void {
    if (this.actions.length < batch.count) this.actions = new Uint8Array(batch.count)
    const actions = verdictActions(batch, this.actions)
    this.appendJournal(batch, iface, actions)
    this.agg.addBatch(batch, iface, null, actions)
  }

  /** Closes the aggregation intervals that ended; publishes finished objects to the spool. */
  async tick(nowSec: number): Promise<boolean> {
    this.agg.flush(nowSec)
    if (this.lost.size > 0 && this.o.spoolBytes() < this.o.spoolMaxBytes) this.writeSkipdata()
    // Intervals before the current one are closed now; once their records are spooled, their
    // journal goes.
    const closedBefore = this.interval > 0 ? Math.floor(nowSec / this.interval) * this.interval : 0
    if (this.pending === 0) {
      this.pruneJournal(closedBefore)
      return false
    }
    this.pending = 0
    await this.dest.flush()
    this.pruneJournal(closedBefore)
    return true
  }

  /** Ends the open interval (its records are written now) and publishes everything. */
  async stop(): Promise<void> {
    this.agg.finish()
    if (this.lost.size > 0) this.writeSkipdata()
    await this.dest.close()
    for (const j of this.journal) {
      if (j === null) continue
      try {
        await j.writer.close()
      } catch (e) {
        this.onJournalError(e)
      }
    }
    this.journal.fill(null)
    // Every record is in the spool now: this runner's journal is no longer needed.
    for (const f of this.owned) rmSync(f, { force: true })
    this.owned.clear()
  }

  /** The last spool write failure of this flow log (`MF_FLOWLOGS_WRITE` message), or null. */
  get lastWriteError(): string | null {
    return this.dest.stats.lastWriteError
  }

  get stats(): Record<string, number> {
    const s = this.agg.stats
    return {
      packets: s.packets,
      records: this.records,
      nodataRecords: s.nodataRecords,
      skipdataRecords: s.skipdataRecords + this.skipdataRecords,
      skippedPackets: s.skippedPackets,
      malformedPackets: s.malformedPackets,
      skippedRecordsSpoolFull: this.skippedRecords,
      replayedFrames: this.replayedFrames,
      journalDamaged: this.journalDamaged,
      // Journal failures and spool objects that could not be written.
      writeErrors: this.writeErrors + this.dest.stats.writeErrors,
      /** Records lost with spool objects that could not be written. */
      droppedRecords: this.dest.stats.droppedRecords,
    }
  }
}
