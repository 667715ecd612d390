// SPDX-License-Identifier: Apache-2.0
/**
 * Live detection in the server. Agents and targets deliver flow logs as S3 objects into a bucket
 * directory (the server's `DATA_DIR/s3` when they share its data directory, as the demo's do; any
 * directory with `--detect-dir`). The server polls those directories (every second by default), reads
 * each new flow-log object (`.log.gz`, or `.log.parquet` when the flow log delivers Parquet) once, feeds its records to the detection engine of the enabled detector
 * and stores the findings that changed (GuardDuty's `upsertFindings`, which tells the delivery). A
 * finding therefore exists about a second after the object holding the activity lands.
 *
 * Bounded: the set of objects already read is capped (the oldest forgotten first; an object is only
 * read if it appeared after the server started, so a forgotten name is never read twice unless it
 * is rewritten); each poll reads at most `maxFilesPerPoll` objects; a file that cannot be read
 * (EMFILE, ENOENT between listing and reading, a damaged gzip) is counted and skipped.
 * @module
 */
import { readdir, stat } from 'node:fs/promises'
import { Counter, Gauge, type Registry } from 'prom-client'
import { join } from 'node:path'
import type { ControlPlane, NetworkInterface } from '../../control/index.ts'
import type { DetectConfig } from './config.ts'
import { DetectionEngine, type InterfaceInfo } from './engine.ts'
import { readFlowLogFile, type ReadStats } from './reader.ts'

export interface LiveDetectionOptions {
  cp: ControlPlane
  /** Bucket directories to watch (`<dir>/<bucket>/<key>`). */
  dirs: readonly string[]
  config: DetectConfig
  pollMs?: number
  maxFilesPerPoll?: number
  /** Most object names remembered. */
  maxSeen?: number
}

export interface LiveDetectionStats {
  polls: number
  objects: number
  records: number
  unreadable: number
  lastError: string | null
  /** Seconds from an object's modification time to its findings being stored, last object with findings. */
  lastLatencySeconds: number | null
}

const MAX_DEPTH = 16

export class LiveDetection {
  readonly stats: LiveDetectionStats = {
    polls: 0,
    objects: 0,
    records: 0,
    unreadable: 0,
    lastError: null,
    lastLatencySeconds: null,
  }
  private readonly opts: LiveDetectionOptions
  private readonly seen = new Map<string, number>()
  private readonly startedMs = Date.now()
  private engine: DetectionEngine | null = null
  private engineFor = ''
  private listsVersion = -1
  private timer: NodeJS.Timeout | null = null
  private running = false
  private stopped = false
  private metrics: {
    objects: Counter
    records: Counter
    unreadable: Counter
    findings: Counter
  } | null = null

  constructor(opts: LiveDetectionOptions) {
    this.opts = opts
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return
      this.timer = setTimeout(() => {
        void this.poll().finally(tick)
      }, this.opts.pollMs ?? 1000)
      this.timer.unref()
    }
    tick()
  }

  /**
   * Registers the live detection's Prometheus metrics (the server's `/metrics`): objects and records
   * read, unreadable objects, findings made or updated, and the seconds from the last object with
   * findings landing to its findings being stored.
   */
  registerMetrics(registry: Registry): void {
    const counter = (name: string, help: string): Counter =>
      new Counter({ name, help, registers: [registry] })
    this.metrics = {
      objects: counter('mirrorflow_detect_objects_total', 'Flow-log objects read by live detection'),
      records: counter('mirrorflow_detect_records_total', 'Flow-log records analysed by live detection'),
      unreadable: counter(
        'mirrorflow_detect_unreadable_total',
        'Flow-log objects live detection could not read (skipped)',
      ),
      findings: counter(
        'mirrorflow_detect_findings_changed_total',
        'Findings made or updated by live detection (each change once)',
      ),
    }
    const stats = this.stats
    new Gauge({
      name: 'mirrorflow_detect_last_latency_seconds',
      help: 'Seconds from the last flow-log object with findings landing to its findings being stored',
      registers: [registry],
      collect() {
        if (stats.lastLatencySeconds !== null) this.set(stats.lastLatencySeconds)
      },
    })
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
  }

  /** One pass over the directories (also called by tests). */
  async poll(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      this.stats.polls++
      const gd = this.opts.cp.guardduty
      const det = gd.activeDetector()
      const files = await this.newFiles()
      if (det === undefined) return
      if (this.engine === null || this.engineFor !== det.id) {
        this.engine = new DetectionEngine({
          config: this.opts.config,
          detectorId: det.id,
          accountId: gd.accountId,
          region: gd.region,
          partition: gd.partition,
          interfaceInfo: (id) => this.interfaceInfo(id),
        })
        this.engineFor = det.id
        this.listsVersion = -1
      }
      if (this.listsVersion !== gd.version) {
        const lists = gd.activeLists(det.id)
        this.engine.setLists(lists.threat, lists.trusted)
        this.listsVersion = gd.version
      }
      const engine = this.engine
      const read: ReadStats = { files: 0, lines: 0, records: 0, skippedStatus: 0, malformed: 0 }
      const m = this.metrics
      for (const f of files) {
        const before = read.records
        try {
          await readFlowLogFile(f.path, (r) => engine.add(r), read)
          this.stats.objects++
          m?.objects.inc()
        } catch (err) {
          this.stats.unreadable++
          m?.unreadable.inc()
          this.stats.lastError = (err as Error).message.slice(0, 300)
        }
        m?.records.inc(read.records - before)
        const changed = engine.drain()
        if (changed.length > 0) {
          gd.upsertFindings(changed)
          m?.findings.inc(changed.length)
          this.stats.lastLatencySeconds = (Date.now() - f.mtimeMs) / 1000
        }
      }
      this.stats.records += read.records
    } catch (err) {
      this.stats.lastError = (err as Error).message.slice(0, 300)
    } finally {
      this.running = false
    }
  }

  private interfaceInfo(id: string): InterfaceInfo | undefined {
    const r = this.opts.cp.state.byId.get(id) as NetworkInterface | undefined
    if (r === undefined || r.kind !== 'network-interface') return undefined
    return {
      addresses: [r.privateIpAddress, ...r.secondaryPrivateIpAddresses, ...r.ipv6Addresses],
      instanceId: r.instanceId,
      vpcId: r.vpcId,
      subnetId: r.subnetId,
    }
  }

  /** Objects not read yet, oldest first; objects older than the server's start are never read. */
  private async newFiles(): Promise<{ path: string; mtimeMs: number }[]> {
    const max = this.opts.maxFilesPerPoll ?? 1000
    const maxSeen = this.opts.maxSeen ?? 200_000
    const out: { path: string; mtimeMs: number }[] = []
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > MAX_DEPTH || out.length >= max) return
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'ENOENT') this.stats.lastError = `${dir}: ${code ?? (err as Error).message}`
        return
      }
      for (const e of entries) {
        if (out.length >= max) return
        const p = join(dir, e.name)
        if (e.isDirectory()) await walk(p, depth + 1)
        else if (
          e.isFile() &&
          (e.name.endsWith('.log.gz') || e.name.endsWith('.log.parquet')) &&
          !e.name.startsWith('.')
        ) {
          let st
          try {
            st = await stat(p)
          } catch {
            continue
          }
          const prev = this.seen.get(p)
          if (prev === st.mtimeMs) continue
          if (this.seen.size >= maxSeen) this.seen.delete(this.seen.keys().next().value as string)
          this.seen.set(p, st.mtimeMs)
          // Objects that were there before the server started are history, not news.
          if (st.mtimeMs < this.startedMs - 1000) continue
          out.push({ path: p, mtimeMs: st.mtimeMs })
        }
      }
    }
    for (const d of this.opts.dirs) await walk(d, 0)
    return out.sort((a, b) => a.mtimeMs - b.mtimeMs)
  }
}
