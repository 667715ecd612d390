// SPDX-License-Identifier: Apache-2.0
/**
 * The mirror target: receives VXLAN (RFC 7348, UDP 4789) from mirrorflow agents or from real AWS
 * Traffic Mirroring, decapsulates, separates sessions by (VNI, outer source address), and writes a
 * pcap ring per session; inner frames can also go to flow logs and to a local interface.
 *
 * Two receive modes (`receive-socket.ts`, `receive-capture.ts`) feed ONE batch path (`ingest`:
 * `demuxVxlanBatch` over the bounded session table, then the pcap staging, the forwarder and the
 * flow-log stage, each once per batch). A session is what AWS calls one: a VNI. AWS sends from the
 * source ENI's primary address, so (VNI, source) separates the same VNI coming from two sources.
 * Both numbers can be spoofed by anyone who can send UDP here: `sessions.ts` bounds what they can
 * make, `pcap-disk.ts` bounds descriptors and disk.
 * @module
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Registry } from 'prom-client'
import type { FrameBatch } from '../packet/index.ts'
import { AllowList } from './allow-list.ts'
import { validateTargetConfig, type TargetConfig } from './config.ts'
import { FrameForwarder } from './forwarder.ts'
import { demuxVxlanBatch, type DemuxContext } from './ingest.ts'
import { createTargetMetrics } from './metrics.ts'
import { PcapDisk, sessionDirName } from './pcap-disk.ts'
import { PcapRing } from './pcap-ring.ts'
import { PcapStaging } from './pcap-staging.ts'
import { CaptureReceiver } from './receive-capture.ts'
import { CopyBatcher, readUdpSocketDrops, UdpReceiver } from './receive-socket.ts'
import { SessionTable, type TargetSession } from './sessions.ts'
import type { TargetStatus } from './status.ts'
import { parseHostPort, StatusFileWriter, StatusServer } from '../runtime/index.ts'
import { TargetBindError } from './errors.ts'
import { TargetEvents, type TargetLog } from './target-runtime.ts'

export type { TargetSession } from './sessions.ts'
export type { TargetStatus } from './status.ts'
export { readUdpSocketDrops } from './receive-socket.ts'

/**
 * Something that consumes the decapsulated frames: the flow-log stage. It gets each session's frames
 * as they are written to its pcap (in time order, cut to the snaplen, with their wire lengths), so a
 * session evicted before its frames were written — a pair spoofed once — costs it nothing.
 * Implementations must not keep references to the batch.
 */
export interface InnerFrameSink {
  onFrames(s: TargetSession, batch: FrameBatch): void
  /** The session is gone (evicted or stop): finish what it holds. */
  evict(s: TargetSession): void
  /** Called about once a second with the current time, to close aggregation windows. */
  tick(nowSec: number): void
  close(): Promise<void>
  status(): Record<string, unknown>
}

/** Options beyond the configuration. */
export interface TargetOptions {
  sinks?: InnerFrameSink[]
  /** Structured log of state changes (default: none). */
  log?: TargetLog
}

export class MirrorTarget {
  readonly config: TargetConfig
  readonly registry: Registry
  datagrams = 0
  /**
   * Invalid VXLAN datagrams by reason; in capture mode also damaged outer frames, keyed
   * `outer_<packet-layer reason>` (added at their first occurrence).
   */
  readonly malformed: Record<string, number> = { vxlan_truncated: 0, vxlan_flags: 0, inner_truncated: 0 }
  /** Frames lost, by stage (see `TargetStatus.drops`). */
  readonly drops: Record<string, number> = {
    socket: 0,
    capture: 0,
    reassembly: 0,
    forward: 0,
    refused: 0,
    evicted: 0,
    pcap_write: 0,
  }
  readonly table: SessionTable
  readonly disk: PcapDisk
  private readonly staging: PcapStaging
  private readonly refused = { frames: 0 }
  private readonly sessionOf = new Int32Array(4096)
  private readonly demux: DemuxContext
  private readonly batcher: CopyBatcher
  private readonly udp: UdpReceiver
  private capture: CaptureReceiver | null = null
  private forwarder: FrameForwarder | null = null
  private sinks: InnerFrameSink[] = []
  private http: StatusServer | null = null
  private statusWriter: StatusFileWriter | null = null
  private timers: NodeJS.Timeout[] = []
  private readonly startedAt = new Date()
  private readonly listeners: Array<(s: TargetSession) => void> = []
  private readonly events: TargetEvents
  private stopped = false
  /** Packets and bytes of sessions no longer in the table (so that totals never go down). */
  private readonly evictedTotals = { packets: 0, bytes: 0, late: 0 }

  private constructor(config: TargetConfig, o: TargetOptions) {
    validateTargetConfig(config)
    this.config = config
    this.sinks = o.sinks ?? []
    this.events = new TargetEvents(o.log)
    const l = config.limits
    this.disk = new PcapDisk(
      join(config.dataDir, 'pcap'),
      config.pcap.maxTotalBytes,
      config.pcap.maxTotalFiles,
      l.maxOpenFiles,
      (code, message) => this.events.fileError(code, message),
    )
    this.table = new SessionTable(
      l.maxSessions,
      l.probationSeconds,
      l.idleSeconds,
      new AllowList(l.allowSources, l.allowVnis),
      (index, generation, vni, source, nowSec) => this.newSession(index, generation, vni, source, nowSec),
      (s) => this.onEvict(s),
    )
    this.staging = new PcapStaging(
      config.pcap.stagingBytes,
      config.pcap.snaplen,
      config.pcap.reorderMs,
      this.table.slotCount,
      {
        ringOf: (slot, generation) => {
          const s = this.table.at(slot)
          return s !== null && s.generation === generation ? s.ring : null
        },
        hold: (slot, generation, nowSec) => {
          // A pair seen once waits (in the arena, no file) until it is seen again or is old enough:
          // a flood of pairs spoofed once never costs a file or a flow table.
          const s = this.table.at(slot)
          return (
            s !== null &&
            s.generation === generation &&
            s.packets <= 1 &&
            nowSec - s.firstSeen < config.limits.probationSeconds
          )
        },
        frames:
          this.sinks.length === 0
            ? undefined
            : (slot, batch) => {
                const s = this.table.at(slot)
                if (s !== null) for (const sink of this.sinks) sink.onFrames(s, batch)
              },
      },
    )
    this.demux = {
      malformed: this.malformed,
      refused: this.refused,
      sessionFor: (vni, source, tsSec) => this.table.lookup(vni, source, tsSec),
    }
    this.batcher = new CopyBatcher((b, vx, src) => this.ingest(b, vx, src))
    this.udp = new UdpReceiver(this.batcher)
    this.registry = createTargetMetrics(this)
    this.table.onEstablished = (s) => {
      for (const fn of this.listeners) fn(s)
    }
  }

  /** Binds the socket (and the metrics listener), starts timers; resolves once receiving. */
  static async start(config: TargetConfig, o: TargetOptions | InnerFrameSink[] = {}): Promise<MirrorTarget> {
    const t = new MirrorTarget(config, Array.isArray(o) ? { sinks: o } : o)
    mkdirSync(join(config.dataDir, 'pcap'), { recursive: true })
    t.disk.scan()
    try {
      if (config.forwardTo !== null) t.forwarder = new FrameForwarder(config.forwardTo)
      const capture = config.receive === 'capture'
      await t.udp.bind(config.listenHost, config.listenPort, !capture, config.recvBufferBytes)
      if (capture) {
        t.capture = new CaptureReceiver(
          {
            host: t.udp.host,
            port: t.udp.port,
            iface: config.captureInterface,
            bufferKiB: config.captureBufferKiB,
            malformed: t.malformed,
            onState: (state, message) => t.events.capture(state, message),
          },
          (b, vx, src) => t.ingest(b, vx, src),
          t.batcher,
        )
        await t.capture.start()
      }
      if (config.metricsListen !== null) {
        // `--metrics PORT` is loopback: these pages need no key and describe the host's traffic.
        const listen = parseHostPort(config.metricsListen, '--metrics')
        t.http = new StatusServer({ listen, registry: t.registry, status: () => t.status() })
        try {
          await t.http.start()
        } catch (err) {
          throw new TargetBindError((err as Error).message, { cause: err })
        }
      }
    } catch (err) {
      await t.stop()
      throw err
    }
    t.timers.push(setInterval(() => t.flushFiles(), 100))
    t.timers.push(setInterval(() => t.everySecond(), 1000))
    if (config.statusFile !== null) t.timers.push(setInterval(() => t.writeStatus(), config.statusIntervalMs))
    for (const timer of t.timers) timer.unref()
    return t
  }

  /** The UDP address actually bound (port 0 in the config picks a free one). */
  get address(): { host: string; port: number } {
    return { host: this.udp.host, port: this.udp.port }
  }

  /** The port of the /metrics listener (0 if none). */
  get metricsAddressPort(): number {
    return this.http?.address?.port ?? 0
  }

  /** Calls `fn` when a session (VNI, source) becomes established (see `sessions.ts`). */
  onEstablished(fn: (s: TargetSession) => void): void {
    this.listeners.push(fn)
  }

  /** Live sessions, in slot order. */
  sessions(): readonly TargetSession[] {
    return this.table.list()
  }

  private newSession(
    index: number,
    generation: number,
    vni: number,
    source: string,
    nowSec: number,
  ): TargetSession {
    const s: TargetSession = {
      index,
      generation,
      vni,
      source,
      packets: 0,
      bytes: 0,
      firstSeen: nowSec,
      lastSeen: nowSec,
      established: false,
      ring: new PcapRing(this.disk, sessionDirName(vni, source), this.config.pcap),
    }
    return s
  }

  private onEvict(s: TargetSession): void {
    const e = this.evictedTotals
    e.packets += s.packets
    e.bytes += s.bytes
    e.late += s.ring.late
    s.ring.detach()
    for (const sink of this.sinks) sink.evict(s)
  }

  /**
   * THE batch path of both receive modes: decapsulates and demultiplexes the batch's VXLAN
   * datagrams in place (`demuxVxlanBatch`), then runs every stage over the inner frames.
   */
  private ingest(b: FrameBatch, vxStart: Int32Array, sources: string[]): void {
    if (b.count === 0) return
    this.datagrams += demuxVxlanBatch(b, vxStart, sources, this.sessionOf, this.demux)
    const n = b.count
    if (n > 0) {
      const sessionOf = this.sessionOf
      const staging = this.staging
      const table = this.table
      for (let i = 0; i < n; i++) {
        const slot = sessionOf[i] as number
        staging.add(
          b.bytes,
          b.starts[i] as number,
          b.ends[i] as number,
          b.origLens[i] as number,
          b.tsSec[i] as number,
          b.tsNsec[i] as number,
          slot,
          table.generationOf(slot),
        )
      }
      const fwd = this.forwarder
      if (fwd !== null) {
        for (let i = 0; i < n; i++) fwd.push(b.bytes, b.starts[i] as number, b.ends[i] as number)
        fwd.flush()
      }
    }
    b.count = 0
    this.table.release()
    this.staging.afterBatch()
  }

  private flushFiles(): void {
    this.batcher.flush()
    this.staging.tick()
    this.disk.enforce()
    this.updateDrops()
  }

  private everySecond(): void {
    const now = Date.now() / 1000
    this.table.tick()
    for (const s of this.sinks) s.tick(now)
    this.readDrops(now)
    this.events.observe(this)
  }

  private updateDrops(): void {
    this.drops.refused = this.refused.frames
    this.drops.evicted = this.staging.evictedFrames
    this.drops.pcap_write = this.staging.lostFrames
    if (this.forwarder !== null) this.drops.forward = this.forwarder.dropped
  }

  private readDrops(nowSec: number): void {
    if (this.capture !== null) {
      this.drops.capture = this.capture.kernelDrops
      this.drops.reassembly = this.capture.reassemblyLost(nowSec)
    }
    // In capture mode the socket only holds the port: its drops are expected and not counted.
    if (this.config.receive === 'socket' && this.udp.port !== 0) {
      const n = readUdpSocketDrops(this.udp.port)
      if (n > (this.drops.socket ?? 0)) this.drops.socket = n
    }
  }

  /** Failed pcap file operations over all sessions (the ledger counts every one, by code). */
  writeErrors(): number {
    let n = 0
    for (const v of Object.values(this.disk.errors)) n += v
    return n
  }

  /** A snapshot of every counter and of each live session's files. */
  status(): TargetStatus {
    this.updateDrops()
    const iso = (sec: number): string => new Date(sec * 1000).toISOString()
    const list = this.table.list()
    let packets = 0
    let bytes = 0
    for (const s of list) {
      packets += s.packets
      bytes += s.bytes
    }
    const c = this.table.counters
    const flow = this.sinks.length > 0 ? this.sinks.map((s) => s.status()) : null
    const st = this.staging
    return {
      startedAt: this.startedAt.toISOString(),
      updatedAt: new Date().toISOString(),
      listen: `${this.udp.host}:${this.udp.port}`,
      receive: this.config.receive,
      state: this.stopped ? 'stopped' : this.events.state,
      lastError: this.events.lastError,
      capture: this.capture === null ? null : this.capture.status(),
      recvBufferBytes: this.udp.recvBuffer,
      datagrams: this.datagrams,
      packets: packets + this.evictedTotals.packets,
      bytes: bytes + this.evictedTotals.bytes,
      malformed: { ...this.malformed },
      drops: { ...this.drops },
      writeErrors: this.writeErrors(),
      limits: this.config.limits,
      sessionTable: {
        active: this.table.size,
        established: this.table.establishedCount,
        created: c.created,
        evictedProbation: c.evictedProbation,
        evictedIdle: c.evictedIdle,
        refusedFull: c.refusedFull,
        refusedSource: c.refusedSource,
        refusedVni: c.refusedVni,
      },
      pcap: {
        totalBytes: this.disk.totalBytes,
        totalFiles: this.disk.totalFiles,
        maxTotalBytes: this.disk.maxTotalBytes,
        maxTotalFiles: this.disk.maxTotalFiles,
        openFiles: this.disk.openFiles,
        maxOpenFiles: this.disk.maxOpenFiles,
        reclaimedFiles: this.disk.reclaimedFiles,
        fileErrors: { ...this.disk.errors },
        reorderMs: this.config.pcap.reorderMs,
        reordered: st.reordered,
        late: this.lateTotal(),
        forcedFlushes: st.forcedFlushes,
      },
      forward:
        this.forwarder === null
          ? null
          : {
              interface: this.forwarder.ifname,
              forwarded: this.forwarder.forwarded,
              dropped: this.forwarder.dropped,
            },
      sessions: list.map((s) => ({
        vni: s.vni,
        source: s.source,
        established: s.established,
        packets: s.packets,
        bytes: s.bytes,
        firstSeen: iso(s.firstSeen),
        lastSeen: iso(s.lastSeen),
        pcapDir: resolve(s.ring.dir),
        currentFile: s.ring.current === null ? null : resolve(s.ring.current),
        files: s.ring.files().map((f) => ({ path: resolve(f.path), bytes: f.bytes })),
        pcapWriteErrors: s.ring.writeErrors,
      })),
      flowLogs:
        flow === null ? null : flow.length === 1 ? (flow[0] as Record<string, unknown>) : { sinks: flow },
    }
  }

  private lateTotal(): number {
    let n = this.evictedTotals.late
    for (const s of this.table.list()) n += s.ring.late
    return n
  }

  /** Rewrites the status file atomically; a failure is counted and reported, never thrown. */
  writeStatus(): void {
    const f = this.config.statusFile
    if (f === null) return
    if (this.statusWriter === null || this.statusWriter.path !== f)
      this.statusWriter = new StatusFileWriter(f)
    const w = this.statusWriter
    this.events.statusFile(w.write(this.status()) ? null : w.lastError)
  }

  /** Stops receiving, writes everything out, closes files and sinks; returns the final status. */
  async stop(): Promise<TargetStatus> {
    if (!this.stopped) {
      this.stopped = true
      for (const t of this.timers) clearInterval(t)
      this.timers = []
      if (this.capture !== null) {
        await this.capture.stop()
        // Datagrams still missing fragments now never will be complete: count them lost.
        this.readDrops(Number.POSITIVE_INFINITY)
      } else {
        // Socket mode: what the kernel already queued for us is read before the socket closes (a
        // datagram still queued at close would be lost and counted nowhere): until nothing came
        // for 100 ms, at most 2 s.
        let last = -1
        for (let waited = 0; waited < 2000 && this.datagrams !== last; waited += 100) {
          last = this.datagrams
          await new Promise((r) => setTimeout(r, 100))
        }
        this.readDrops(Date.now() / 1000)
      }
      await this.udp.close()
      this.batcher.flush()
      this.staging.flushAll()
      for (const s of this.table.list()) s.ring.close()
      for (const sink of this.sinks) await sink.close()
      if (this.forwarder !== null) await this.forwarder.close()
      this.updateDrops()
      if (this.http !== null) {
        await this.http.stop()
        this.http = null
      }
      this.writeStatus()
      this.events.stopped()
    }
    return this.status()
  }
}
