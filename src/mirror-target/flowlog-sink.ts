// SPDX-License-Identifier: Apache-2.0
/**
 * Flow logs of the inner packets the target receives: one `FlowAggregator` per session, all
 * writing to one S3-layout directory (`S3DirectoryDestination`) under one flow-log id.
 *
 * What stands for the "interface" of these records (our choice; AWS has no such flow log): the
 * mirrored interface is not known by id at the target, but AWS sends from its primary private
 * address (spec §2.1), so each session's aggregator gets that outer source address as the
 * interface's address — which makes flow-direction, srcaddr and dstaddr come out as they would on
 * the source ENI — and `interface-id` is `vni-<VNI>` (or `vni-<VNI>@<source>` for a second source
 * of the same VNI). Objects are published whenever an aggregation interval closes, and at stop.
 *
 * With a log group (`mirrorflow target --log-group G --server URL`) the same records also go to
 * CloudWatch Logs by the agents' path: written as event files to a spool
 * (`DATA_DIR/spool-logs/<flow-log-id>/<interface>/`) and delivered with PutLogEvents, one log
 * stream per interface id (`vni-<VNI>`), kept and retried with back-off while the server is down.
 * @module
 */
import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import {
  FlowAggregator,
  LogGroupDeliverer,
  LogGroupSpoolDestination,
  parseLogFormat,
  S3DirectoryDestination,
  type FlowRecordBatch,
  type LogEventsSink,
} from '../flowlogs/index.ts'
import type { FrameBatch } from '../packet/index.ts'
import type { TargetConfig } from './config.ts'
import type { InnerFrameSink, TargetSession } from './target.ts'

/** A flow-log id (`fl-` + 17 hex digits) stable for one output directory. */
export function targetFlowLogId(dir: string): string {
  return 'fl-' + createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 17)
}

/** Where the target's flow logs go besides the S3-layout directory: a CloudWatch Logs log group. */
export interface TargetLogGroup {
  /** The log group's name. */
  group: string
  /** PutLogEvents to the server (the CLI passes the agents' HTTP sink). */
  sink: LogEventsSink
  /** The spool directory (event files wait here until delivered). */
  spoolDir: string
}

interface PerSession {
  agg: FlowAggregator
  interfaceId: string
}

export class TargetFlowLogSink implements InnerFrameSink {
  readonly flowLogId: string
  private readonly cfg: TargetConfig
  private readonly dest: S3DirectoryDestination
  private readonly perSession: Array<PerSession | undefined> = []
  private readonly vniSources = new Map<number, number>()
  private records = 0
  private pendingRecords = 0
  private publishing: Promise<void> = Promise.resolve()
  private lastError: string | null = null
  private readonly logGroup: string | undefined
  private readonly cwl: LogGroupSpoolDestination | undefined
  private readonly deliverer: LogGroupDeliverer | undefined

  constructor(cfg: TargetConfig, logFormat?: string, logGroup?: TargetLogGroup) {
    this.cfg = cfg
    this.flowLogId = targetFlowLogId(cfg.flowLogs.dir)
    const format = parseLogFormat(logFormat)
    this.dest = new S3DirectoryDestination({
      dir: cfg.flowLogs.dir,
      accountId: cfg.flowLogs.accountId,
      region: cfg.flowLogs.region,
      flowLogId: this.flowLogId,
      format,
    })
    if (logGroup !== undefined) {
      const id = this.flowLogId
      this.logGroup = logGroup.group
      this.deliverer = new LogGroupDeliverer(logGroup.spoolDir, logGroup.sink, (fl) =>
        fl === id ? logGroup.group : undefined,
      )
      this.cwl = new LogGroupSpoolDestination({ dir: this.deliverer.spoolFor(id), format })
      // Whatever an earlier run left in the spool goes first.
      this.deliverer.kick()
    }
  }

  private aggregatorFor(s: TargetSession): FlowAggregator {
    let p = this.perSession[s.index]
    if (p === undefined) {
      const nth = this.vniSources.get(s.vni) ?? 0
      this.vniSources.set(s.vni, nth + 1)
      const interfaceId = nth === 0 ? `vni-${s.vni}` : `vni-${s.vni}@${s.source}`
      const agg = new FlowAggregator({
        interfaces: [
          {
            interfaceId,
            accountId: this.cfg.flowLogs.accountId,
            region: this.cfg.flowLogs.region,
            addresses: [s.source],
          },
        ],
        maxAggregationInterval: this.cfg.flowLogs.aggregationSeconds,
        flowTableSize: this.cfg.flowLogs.flowTableSize,
        recordBatchSize: 256,
        onRecords: (b: FlowRecordBatch) => {
          this.dest.write(b)
          this.cwl?.write(b)
          this.records += b.count
          this.pendingRecords += b.count
        },
      })
      p = { agg, interfaceId }
      this.perSession[s.index] = p
    }
    return p.agg
  }

  onFrames(s: TargetSession, batch: FrameBatch): void {
    this.aggregatorFor(s).addBatch(batch, 0)
  }

  /** The session is gone: its flows become records now, and its slot may get another session. */
  evict(s: TargetSession): void {
    const p = this.perSession[s.index]
    if (p === undefined) return
    p.agg.finish()
    this.perSession[s.index] = undefined
    const nth = (this.vniSources.get(s.vni) ?? 1) - 1
    if (nth > 0) this.vniSources.set(s.vni, nth)
    else this.vniSources.delete(s.vni)
  }

  tick(nowSec: number): void {
    for (const p of this.perSession) p?.agg.flush(nowSec)
    if (this.pendingRecords > 0) this.publish()
  }

  private publish(): void {
    this.pendingRecords = 0
    this.publishing = this.publishing.then(
      () => this.dest.flush(),
      () => this.dest.flush(),
    )
    this.publishing.catch((err: unknown) => (this.lastError = String(err)))
    this.deliverer?.kick()
  }

  async close(): Promise<void> {
    for (const p of this.perSession) p?.agg.finish()
    this.publish()
    await this.publishing.catch(() => undefined)
    await this.dest.close()
    // A last delivery pass (unless the server is failing: then the spool keeps the events).
    await this.deliverer?.close()
  }

  status(): Record<string, unknown> {
    const dir = resolve(this.cfg.flowLogs.dir)
    return {
      flowLogId: this.flowLogId,
      dir,
      records: this.records,
      interfaces: this.perSession.filter((p) => p !== undefined).map((p) => p.interfaceId),
      files: this.dest.written.map((f) => resolve(dir, f)),
      // Objects that could not be written (disk full, no descriptor…) are counted, not thrown.
      writeErrors: this.dest.stats.writeErrors,
      droppedRecords: this.dest.stats.droppedRecords,
      error: this.lastError ?? this.dest.stats.lastWriteError,
      ...(this.deliverer !== undefined
        ? {
            logGroup: {
              name: this.logGroup,
              deliveredEvents: this.deliverer.stats.deliveredEvents,
              failures: this.deliverer.stats.failures,
              lastError: this.deliverer.stats.lastError,
              groupError: this.deliverer.stats.groupErrors[this.flowLogId] ?? null,
              spooledObjects: this.deliverer.stats.spooledObjects,
              spoolWriteErrors: this.cwl!.stats.writeErrors,
            },
          }
        : {}),
    }
  }
}
