// SPDX-License-Identifier: Apache-2.0
/**
 * The mirror target: receives VXLAN (RFC 7348, UDP 4789) from mirrorflow agents or from real AWS
 * Traffic Mirroring, decapsulates, separates sessions by (VNI, outer source address), and writes a
 * pcap ring per session; inner frames can also go to flow logs and to a local interface.
 *
 * Receiving is batched: datagrams are copied into one FrameBatch as they arrive and the batch is
 * processed once per event-loop turn (or when full), so the pcap, flow-log and forwarding stages
 * each run once per batch. The pcap timestamp is the time of receipt by this process (Node gives
 * no SO_TIMESTAMP), in microseconds.
 *
 * A session is what AWS calls one: a VNI. AWS sends from the source ENI's primary address, so
 * (VNI, source) separates the same VNI coming from two sources, as the spec §2.1 describes.
 * @module
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:http'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Registry } from 'prom-client'
import { LinkType, type FrameBatch } from '../packet/index.ts'
import { parseHostPort, validateTargetConfig, type TargetConfig } from './config.ts'
import { TargetBindError } from './errors.ts'
import { FrameForwarder } from './forwarder.ts'
import { createTargetMetrics } from './metrics.ts'
import { PcapRing } from './pcap-ring.ts'

const VXLAN_HEADER = 8
const ETHERNET_HEADER = 14
const BATCH_FRAMES = 2048
const BATCH_BYTES = 4 * 1024 * 1024

/** One mirror session as the target sees it. */
export interface TargetSession {
  /** Index in the target's session list (stable for the target's life). */
  readonly index: number
  readonly vni: number
  /** Outer source address (the mirrored interface's primary address). */
  readonly source: string
  packets: number
  /** Inner frame bytes (Ethernet header included). */
  bytes: number
  /** Seconds since the epoch of the first and last packet received. */
  firstSeen: number
  lastSeen: number
  readonly ring: PcapRing
}

/**
 * Something that consumes the decapsulated frames of every batch: the flow-log stage. `sessionOf[i]`
 * is the session index of frame i. Implementations must not keep references to the batch.
 */
export interface InnerFrameSink {
  onBatch(batch: FrameBatch, sessionOf: Int32Array, sessions: readonly TargetSession[]): void
  /** Called about once a second with the current time, to close aggregation windows. */
  tick(nowSec: number): void
  close(): Promise<void>
  status(): Record<string, unknown>
}

/** The JSON status file's shape (also returned by `stop()`). */
export interface TargetStatus {
  startedAt: string
  updatedAt: string
  listen: string
  /** SO_RCVBUF the kernel granted (capped by net.core.rmem_max; Linux doubles the request). */
  recvBufferBytes: number
  datagrams: number
  packets: number
  bytes: number
  malformed: Record<string, number>
  drops: Record<string, number>
  forward: { interface: string; forwarded: number; dropped: number } | null
  sessions: Array<{
    vni: number
    source: string
    packets: number
    bytes: number
    firstSeen: string
    lastSeen: string
    pcapDir: string
    currentFile: string | null
    files: Array<{ path: string; bytes: number }>
  }>
  flowLogs: Record<string, unknown> | null
}

/** Drop counter of the UDP sockets bound to `port`, read from /proc/net/udp{,6} (namespace-local). */
export function readUdpSocketDrops(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  let drops = 0
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      if (cols.length < 13) continue
      const local = cols[1] as string
      if (local.slice(local.lastIndexOf(':') + 1) === hexPort) drops += Number(cols[cols.length - 1])
    }
  }
  return drops
}

function sessionDirName(vni: number, source: string): string {
  return `vni-${vni}_${source.replace(/:/g, '-')}`
}

export class MirrorTarget {
  readonly config: TargetConfig
  readonly registry: Registry
  datagrams = 0
  readonly malformed: Record<string, number> = { vxlan_truncated: 0, vxlan_flags: 0, inner_truncated: 0 }
  readonly drops: Record<string, number> = { socket: 0, forward: 0 }
  private readonly list: TargetSession[] = []
  private readonly byKey = new Map<string, TargetSession>()
  private lastKeyVni = -1
  private lastKeySrc = ''
  private lastSession: TargetSession | null = null
  private socket: Socket | null = null
  private http: Server | null = null
  private forwarder: FrameForwarder | null = null
  private sinks: InnerFrameSink[] = []
  private timers: NodeJS.Timeout[] = []
  private readonly startedAt = new Date()
  private boundPort = 0
  private boundHost = ''
  private recvBuffer = 0
  private metricsPort = 0
  private flushScheduled = false
  private stopped = false
  private readonly batch: FrameBatch
  private readonly sessionOf = new Int32Array(BATCH_FRAMES)
  private readonly listeners: Array<(s: TargetSession) => void> = []

  private constructor(config: TargetConfig) {
    validateTargetConfig(config)
    this.config = config
    const bytes = new Uint8Array(BATCH_BYTES)
    this.batch = {
      bytes,
      view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      count: 0,
      starts: new Uint32Array(BATCH_FRAMES),
      ends: new Uint32Array(BATCH_FRAMES),
      origLens: new Uint32Array(BATCH_FRAMES),
      tsSec: new Float64Array(BATCH_FRAMES),
      tsNsec: new Uint32Array(BATCH_FRAMES),
      linkTypes: new Uint16Array(BATCH_FRAMES).fill(LinkType.Ethernet),
      ifIndex: new Uint16Array(BATCH_FRAMES),
    }
    this.registry = createTargetMetrics({
      datagrams: () => this.datagrams,
      malformed: this.malformed,
      drops: this.drops,
      sessions: () =>
        this.list.map((s) => ({
          vni: s.vni,
          source: s.source,
          packets: s.packets,
          bytes: s.bytes,
          pcapFiles: s.ring.files().length,
        })),
    })
  }

  /** Binds the socket (and the metrics listener), starts timers; resolves once receiving. */
  static async start(config: TargetConfig, sinks: InnerFrameSink[] = []): Promise<MirrorTarget> {
    const t = new MirrorTarget(config)
    t.sinks = sinks
    mkdirSync(join(config.dataDir, 'pcap'), { recursive: true })
    try {
      if (config.forwardTo !== null) t.forwarder = new FrameForwarder(config.forwardTo)
      await t.bind()
      if (config.metricsListen !== null) await t.listenMetrics(config.metricsListen)
    } catch (err) {
      await t.stop()
      throw err
    }
    t.timers.push(setInterval(() => t.flushFiles(), 100))
    t.timers.push(
      setInterval(() => {
        const now = Date.now() / 1000
        for (const s of t.sinks) s.tick(now)
        t.readSocketDrops()
      }, 1000),
    )
    if (config.statusFile !== null) t.timers.push(setInterval(() => t.writeStatus(), config.statusIntervalMs))
    for (const timer of t.timers) timer.unref()
    return t
  }

  private bind(): Promise<void> {
    const c = this.config
    const family = c.listenHost.includes(':') ? 'udp6' : 'udp4'
    const sock = createSocket({ type: family, recvBufferSize: c.recvBufferBytes })
    this.socket = sock
    return new Promise((resolvePromise, reject) => {
      sock.once('error', (err) =>
        reject(new TargetBindError(`cannot bind ${c.listenHost}:${c.listenPort}: ${err.message}`)),
      )
      sock.bind(c.listenPort, c.listenHost, () => {
        sock.removeAllListeners('error')
        sock.on('error', () => {
          // A receive error on a UDP socket (ICMP feedback) is not fatal to a receiver.
        })
        const a = sock.address()
        this.boundPort = a.port
        this.boundHost = a.address
        this.recvBuffer = sock.getRecvBufferSize()
        sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo))
        resolvePromise()
      })
    })
  }

  private listenMetrics(spec: string): Promise<void> {
    const { host, port } = parseHostPort(spec, '--metrics')
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.registry.contentType })
            res.end(text)
          },
          (err: unknown) => {
            res.writeHead(500)
            res.end(String(err))
          },
        )
      } else if (req.url === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(this.status(), null, 2))
      } else {
        res.writeHead(404)
        res.end('not found: try /metrics or /status\n')
      }
    })
    this.http = server
    return new Promise((resolvePromise, reject) => {
      server.once('error', (err) => reject(new TargetBindError(`cannot listen on ${spec}: ${err.message}`)))
      server.listen(port, host, () => {
        const a = server.address()
        if (a !== null && typeof a === 'object') this.metricsPort = a.port
        resolvePromise()
      })
    })
  }

  /** The UDP address actually bound (port 0 in the config picks a free one). */
  get address(): { host: string; port: number } {
    return { host: this.boundHost, port: this.boundPort }
  }

  /** The port of the /metrics listener (0 if none). */
  get metricsAddressPort(): number {
    return this.metricsPort
  }

  /** Calls `fn` when a new session (VNI, source) is first seen. */
  onSession(fn: (s: TargetSession) => void): void {
    this.listeners.push(fn)
  }

  /** Sessions seen so far, in order of first packet. */
  sessions(): readonly TargetSession[] {
    return this.list
  }

  private sessionFor(vni: number, source: string, nowSec: number): TargetSession {
    if (vni === this.lastKeyVni && source === this.lastKeySrc && this.lastSession !== null)
      return this.lastSession
    const key = `${vni}/${source}`
    let s = this.byKey.get(key)
    if (s === undefined) {
      const name = sessionDirName(vni, source)
      s = {
        index: this.list.length,
        vni,
        source,
        packets: 0,
        bytes: 0,
        firstSeen: nowSec,
        lastSeen: nowSec,
        ring: new PcapRing(join(this.config.dataDir, 'pcap', name), name, this.config.pcap),
      }
      this.list.push(s)
      this.byKey.set(key, s)
      for (const fn of this.listeners) fn(s)
    }
    this.lastKeyVni = vni
    this.lastKeySrc = source
    this.lastSession = s
    return s
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    this.datagrams++
    const len = msg.length
    if (len < VXLAN_HEADER) {
      this.malformed.vxlan_truncated = (this.malformed.vxlan_truncated ?? 0) + 1
      return
    }
    // RFC 7348 §5: the I flag (0x08) must be set for the VNI to be valid.
    if (((msg[0] as number) & 0x08) === 0) {
      this.malformed.vxlan_flags = (this.malformed.vxlan_flags ?? 0) + 1
      return
    }
    if (len < VXLAN_HEADER + ETHERNET_HEADER) {
      this.malformed.inner_truncated = (this.malformed.inner_truncated ?? 0) + 1
      return
    }
    const frameLen = len - VXLAN_HEADER
    const b = this.batch
    if (b.count === BATCH_FRAMES || (b.count > 0 && b.ends[b.count - 1] + frameLen > b.bytes.length))
      this.processBatch()
    const now = performance.timeOrigin + performance.now()
    const sec = Math.floor(now / 1000)
    const vni = ((msg[4] as number) << 16) | ((msg[5] as number) << 8) | (msg[6] as number)
    const s = this.sessionFor(vni, rinfo.address, sec)
    const i = b.count
    const start = i === 0 ? 0 : b.ends[i - 1]
    if (start + frameLen > b.bytes.length) {
      // A datagram larger than the whole batch buffer cannot happen with UDP (64 KiB < 4 MiB).
      this.drops.socket = (this.drops.socket ?? 0) + 1
      return
    }
    b.bytes.set(msg.subarray(VXLAN_HEADER), start)
    b.starts[i] = start
    b.ends[i] = start + frameLen
    b.origLens[i] = frameLen
    b.tsSec[i] = sec
    b.tsNsec[i] = Math.floor((now - sec * 1000) * 1000) * 1000
    this.sessionOf[i] = s.index
    b.count = i + 1
    s.packets++
    s.bytes += frameLen
    s.lastSeen = sec
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.processBatch())
    }
  }

  /** Runs every stage over the frames received since the last call. */
  private processBatch(): void {
    this.flushScheduled = false
    const b = this.batch
    const n = b.count
    if (n === 0) return
    const list = this.list
    const sessionOf = this.sessionOf
    for (let i = 0; i < n; i++) {
      ;(list[sessionOf[i] as number] as TargetSession).ring.write(
        b.bytes,
        b.starts[i] as number,
        b.ends[i] as number,
        b.tsSec[i] as number,
        b.tsNsec[i] as number,
      )
    }
    const fwd = this.forwarder
    if (fwd !== null) {
      for (let i = 0; i < n; i++) fwd.push(b.bytes, b.starts[i] as number, b.ends[i] as number)
      fwd.flush()
    }
    for (const sink of this.sinks) sink.onBatch(b, sessionOf, list)
    b.count = 0
  }

  private flushFiles(): void {
    this.processBatch()
    for (const s of this.list) s.ring.flush()
    if (this.forwarder !== null) this.drops.forward = this.forwarder.dropped
  }

  private readSocketDrops(): void {
    if (this.socket === null || this.boundPort === 0) return
    const n = readUdpSocketDrops(this.boundPort)
    if (n > (this.drops.socket ?? 0)) this.drops.socket = n
  }

  /** A snapshot of every counter and of each session's files. */
  status(): TargetStatus {
    const iso = (sec: number): string => new Date(sec * 1000).toISOString()
    let packets = 0
    let bytes = 0
    for (const s of this.list) {
      packets += s.packets
      bytes += s.bytes
    }
    const flow = this.sinks.length > 0 ? this.sinks.map((s) => s.status()) : null
    return {
      startedAt: this.startedAt.toISOString(),
      updatedAt: new Date().toISOString(),
      listen: `${this.boundHost}:${this.boundPort}`,
      recvBufferBytes: this.recvBuffer,
      datagrams: this.datagrams,
      packets,
      bytes,
      malformed: { ...this.malformed },
      drops: { ...this.drops },
      forward:
        this.forwarder === null
          ? null
          : {
              interface: this.forwarder.ifname,
              forwarded: this.forwarder.forwarded,
              dropped: this.forwarder.dropped,
            },
      sessions: this.list.map((s) => ({
        vni: s.vni,
        source: s.source,
        packets: s.packets,
        bytes: s.bytes,
        firstSeen: iso(s.firstSeen),
        lastSeen: iso(s.lastSeen),
        pcapDir: resolve(s.ring.dir),
        currentFile: s.ring.current === null ? null : resolve(s.ring.current),
        files: s.ring.files().map((f) => ({ path: resolve(f.path), bytes: f.bytes })),
      })),
      flowLogs:
        flow === null ? null : flow.length === 1 ? (flow[0] as Record<string, unknown>) : { sinks: flow },
    }
  }

  /** Rewrites the status file atomically (temporary file + rename). */
  writeStatus(): void {
    const f = this.config.statusFile
    if (f === null) return
    const tmp = `${f}.tmp`
    writeFileSync(tmp, JSON.stringify(this.status(), null, 2) + '\n')
    renameSync(tmp, f)
  }

  /** Stops receiving, writes everything out, closes files and sinks; returns the final status. */
  async stop(): Promise<TargetStatus> {
    if (!this.stopped) {
      this.stopped = true
      for (const t of this.timers) clearInterval(t)
      this.timers = []
      this.readSocketDrops()
      const sock = this.socket
      this.socket = null
      if (sock !== null) {
        await new Promise<void>((r) => {
          try {
            sock.close(() => r())
          } catch {
            r()
          }
        })
      }
      this.processBatch()
      for (const s of this.list) s.ring.close()
      for (const sink of this.sinks) await sink.close()
      if (this.forwarder !== null) {
        await this.forwarder.close()
        this.drops.forward = this.forwarder.dropped
      }
      if (this.http !== null) {
        const h = this.http
        this.http = null
        await new Promise<void>((r) => h.close(() => r()))
      }
      this.writeStatus()
    }
    return this.status()
  }
}
