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
 * @module
 */
import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import {
  FlowAggregator,
  parseLogFormat,
  S3DirectoryDestination,
  type FlowRecordBatch,
} from '../flowlogs/index.ts'
import type { FrameBatch } from '../packet/index.ts'
import type { TargetConfig } from './config.ts'
import type { InnerFrameSink, TargetSession } from './target.ts'

/** A flow-log id (`fl-` + 17 hex digits) stable for one output directory. */
export function targetFlowLogId(dir: string): string {
  return 'fl-' + createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 17)
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

  constructor(cfg: TargetConfig, logFormat?: string) {
    this.cfg = cfg
    this.flowLogId = targetFlowLogId(cfg.flowLogs.dir)
    this.dest = new S3DirectoryDestination({
      dir: cfg.flowLogs.dir,
      accountId: cfg.flowLogs.accountId,
      region: cfg.flowLogs.region,
      flowLogId: this.flowLogId,
      format: parseLogFormat(logFormat),
    })
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
  }

  async close(): Promise<void> {
    for (const p of this.perSession) p?.agg.finish()
    this.publish()
    await this.publishing.catch(() => undefined)
    await this.dest.close()
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
    }
  }
}
