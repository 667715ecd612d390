// SPDX-License-Identifier: Apache-2.0
/**
 * The mirror target: receives VXLAN (RFC 7348, UDP 4789) from mirrorflow agents or from real AWS
 * Traffic Mirroring, decapsulates, separates sessions by (VNI, outer source address), and writes a
 * pcap ring per session; inner frames can also go to flow logs and to a local interface.
 *
 * Two receive modes feed ONE batch path (`ingest`: `demuxVxlanBatch`, then the pcap, forwarding and
 * flow-log stages, each once per batch):
 * - `socket`: datagrams from a UDP socket are copied into a FrameBatch as they arrive, processed once
 *   per event-loop turn (or when full), stamped with the time this process received them (Node gives
 *   no SO_TIMESTAMP), in microseconds;
 * - `capture`: tcpdump captures the UDP traffic to the listen address on its interface; each batch of
 *   captured outer frames is decoded and decapsulated in place, with the kernel's timestamps (ns).
 *   IPv4 fragments are reassembled (`Ipv4Reassembler`) and go through the copying path. The UDP
 *   socket stays bound, so that the kernel does not answer ICMP port unreachable, with a minimal
 *   receive buffer; what it receives is discarded and counted nowhere.
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
import {
  decodeFrame,
  formatIPv4,
  IPPROTO_UDP,
  LinkType,
  MALFORMED_NAMES,
  newFrameBatch,
  PacketMeta,
  type FrameBatch,
} from '../packet/index.ts'
import { captureFilter, interfaceOf, TcpdumpCapture } from './capture.ts'
import { parseHostPort, validateTargetConfig, type ReceiveMode, type TargetConfig } from './config.ts'
import { TargetBindError } from './errors.ts'
import { demuxVxlanBatch, Ipv6SourceName, type DemuxContext } from './ingest.ts'
import { Ipv4Reassembler } from './reassembly.ts'
import { FrameForwarder } from './forwarder.ts'
import { createTargetMetrics } from './metrics.ts'
import { PcapRing } from './pcap-ring.ts'

const BATCH_FRAMES = 2048
/** Frames per batch read from tcpdump. */
const CAPTURE_BATCH = 2048
/** SO_RCVBUF asked for the socket that capture mode keeps bound only to hold the port. */
const DRAIN_RCVBUF = 4096
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
  receive: ReceiveMode
  /** Capture mode: tcpdump's interface, filter and own counters; null in socket mode. */
  capture: {
    interface: string
    filter: string
    linkType: string
    bufferKiB: number
    captured: number
    kernelDrops: number
    fragmentsReassembled: number
    ignored: number
    /** Times tcpdump ended on its own and a new capture was started. */
    restarts: number
  } | null
  /** SO_RCVBUF the kernel granted (capped by net.core.rmem_max; Linux doubles the request). */
  recvBufferBytes: number
  datagrams: number
  packets: number
  bytes: number
  malformed: Record<string, number>
  drops: Record<string, number>
  /** Failed pcap file writes/flushes/closes over all sessions (disk full); see `MF_TARGET_WRITE`. */
  writeErrors: number
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
    pcapWriteErrors: number
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

/**
 * Capture mode: the socket only holds the port. Node has no public way to leave a bound UDP socket
 * unread, and reading datagrams only to discard them costs a callback and a Buffer each; so this
 * stops the libuv receive through the socket's internal handle when it is there (Node 20: the
 * `state symbol` property's `handle.recvStop()`). Otherwise datagrams are read, into a minimal
 * receive buffer, and discarded (no listener). Either way the kernel queues and drops them.
 */
function stopReceiving(sock: Socket): void {
  const sym = Object.getOwnPropertySymbols(sock).find((x) => x.description === 'state symbol')
  if (sym === undefined) return
  const state = (sock as unknown as Record<symbol, { handle?: { recvStop?: () => number } } | undefined>)[sym]
  const handle = state?.handle
  if (typeof handle?.recvStop === 'function') handle.recvStop()
}

/**
 * Capture mode: the malformed-counter key of each packet-layer reason a captured outer frame can
 * fail with (`Ipv4BadHeaderLength` → `outer_ipv4_bad_header_length`).
 */
const OUTER_MALFORMED_KEYS: readonly string[] = MALFORMED_NAMES.map(
  (n) => `outer_${n.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`,
)

function sessionDirName(vni: number, source: string): string {
  return `vni-${vni}_${source.replace(/:/g, '-')}`
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
  /**
   * `socket`: the kernel's drop counter of the VXLAN socket (socket mode); `capture`: frames the
   * kernel capture ring dropped (capture mode); `reassembly`: fragmented datagrams never completed;
   * `forward`: frames the interface hand-off could not queue.
   */
  readonly drops: Record<string, number> = { socket: 0, capture: 0, reassembly: 0, forward: 0 }
  /** Capture mode: captured frames that were not VXLAN to our port (should stay 0). */
  captureIgnored = 0
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
  /** Per frame of `batch`: where its VXLAN header starts, and its outer source address. */
  private readonly copiedVx = new Int32Array(BATCH_FRAMES)
  private readonly copiedSrc: string[] = new Array<string>(BATCH_FRAMES).fill('')
  private readonly sessionOf = new Int32Array(Math.max(BATCH_FRAMES, CAPTURE_BATCH))
  private readonly demux: DemuxContext
  private capture: TcpdumpCapture | null = null
  /** Capture mode: how often tcpdump ended on its own and was started again. */
  captureRestarts = 0
  /** Capture mode: kernel drops of the captures that ended before the current one. */
  private captureDropsBase = 0
  private reassembler: Ipv4Reassembler | null = null
  private readonly meta = new PacketMeta()
  private capVx = new Int32Array(CAPTURE_BATCH)
  private capSrc: string[] = new Array<string>(CAPTURE_BATCH).fill('')
  private lastSrc4 = -1
  private lastSrc4Str = ''
  private readonly src6Name = new Ipv6SourceName()
  private readonly listeners: Array<(s: TargetSession) => void> = []

  private constructor(config: TargetConfig) {
    validateTargetConfig(config)
    this.config = config
    this.batch = newFrameBatch(BATCH_FRAMES, new Uint8Array(BATCH_BYTES))
    this.batch.linkTypes.fill(LinkType.Ethernet)
    this.demux = {
      malformed: this.malformed,
      sessionFor: (vni, source, tsSec) => this.sessionFor(vni, source, tsSec),
    }
    this.registry = createTargetMetrics({
      datagrams: () => this.datagrams,
      malformed: this.malformed,
      drops: this.drops,
      writeErrors: () => this.writeErrors(),
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
      if (config.receive === 'capture') await t.startCapture()
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
        t.readCaptureDrops(now)
      }, 1000),
    )
    if (config.statusFile !== null) t.timers.push(setInterval(() => t.writeStatus(), config.statusIntervalMs))
    for (const timer of t.timers) timer.unref()
    return t
  }

  private bind(): Promise<void> {
    const c = this.config
    const family = c.listenHost.includes(':') ? 'udp6' : 'udp4'
    const capture = c.receive === 'capture'
    const sock = createSocket({ type: family, recvBufferSize: capture ? DRAIN_RCVBUF : c.recvBufferBytes })
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
        if (!capture) sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo))
        else stopReceiving(sock)
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
    const now = performance.timeOrigin + performance.now()
    const sec = Math.floor(now / 1000)
    this.enqueue(msg, 0, msg.length, rinfo.address, sec, Math.floor((now - sec * 1000) * 1000) * 1000)
  }

  /**
   * Copies one VXLAN datagram payload `src[start, end)` into the receive batch (socket datagrams,
   * reassembled fragments); the batch is ingested once per event-loop turn or when full.
   */
  private enqueue(
    src: Uint8Array,
    start: number,
    end: number,
    source: string,
    sec: number,
    nsec: number,
  ): void {
    const len = end - start
    const b = this.batch
    if (b.count === BATCH_FRAMES || (b.count > 0 && (b.ends[b.count - 1] as number) + len > b.bytes.length))
      this.flushCopied()
    const i = b.count
    const at = i === 0 ? 0 : (b.ends[i - 1] as number)
    // A UDP datagram (< 64 KiB) always fits the 4 MiB batch.
    b.bytes.set(src.subarray(start, end), at)
    b.starts[i] = at
    b.ends[i] = at + len
    b.origLens[i] = len
    b.tsSec[i] = sec
    b.tsNsec[i] = nsec
    this.copiedVx[i] = at
    this.copiedSrc[i] = source
    b.count = i + 1
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flushCopied())
    }
  }

  private flushCopied(): void {
    this.flushScheduled = false
    this.ingest(this.batch, this.copiedVx, this.copiedSrc)
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
      const list = this.list
      const sessionOf = this.sessionOf
      for (let i = 0; i < n; i++) {
        ;(list[sessionOf[i] as number] as TargetSession).ring.write(
          b.bytes,
          b.starts[i] as number,
          b.ends[i] as number,
          b.origLens[i] as number,
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
    }
    b.count = 0
  }

  /** Capture mode: starts tcpdump on the listen address's interface. */
  private async startCapture(): Promise<void> {
    const c = this.config
    this.reassembler = new Ipv4Reassembler(this.boundPort)
    this.capture = await TcpdumpCapture.start(
      {
        iface: c.captureInterface ?? interfaceOf(this.boundHost),
        filter: captureFilter(this.boundHost, this.boundPort),
        bufferKiB: c.captureBufferKiB,
      },
      (batch) => this.onCaptured(batch),
      (err) => this.onCaptureFailure(err),
    )
  }

  /**
   * Capture mode: tcpdump ended without being asked to. Says so on stderr, counts it, and starts a
   * new capture after a back-off (1 s doubling to 30 s) until one runs or the target stops.
   */
  private onCaptureFailure(err: Error): void {
    if (this.stopped) return
    this.captureRestarts++
    if (this.capture !== null) this.captureDropsBase += this.capture.kernelDrops
    this.capture = null
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(5, this.captureRestarts - 1))
    process.stderr.write(`mirrorflow target: ${err.message}; capturing again in ${delay / 1000} s\n`)
    const timer = setTimeout(() => {
      if (this.stopped) return
      this.startCapture().catch((e: unknown) => this.onCaptureFailure(e as Error))
    }, delay)
    timer.unref()
  }

  /**
   * Capture mode: locates the VXLAN payload of each captured outer frame (any link type the packet
   * layer decodes: Ethernet, Linux SLL/SLL2 for `any`), hands fragments to the reassembler, and
   * ingests the batch in place.
   */
  private onCaptured(b: FrameBatch): void {
    const n = b.count
    if (this.capVx.length < n) {
      this.capVx = new Int32Array(n)
      this.capSrc = new Array<string>(n).fill('')
    }
    const vx = this.capVx
    const srcs = this.capSrc
    const m = this.meta
    const view = b.view
    const port = this.boundPort
    for (let i = 0; i < n; i++) {
      vx[i] = -1
      const end = b.ends[i] as number
      if (decodeFrame(view, b.starts[i] as number, end, b.linkTypes[i] as number, m) < 0) {
        // A damaged outer frame: counted by the packet layer's reason, not as "not for us".
        const key = OUTER_MALFORMED_KEYS[m.malformed] ?? `outer_reason${m.malformed}`
        this.malformed[key] = (this.malformed[key] ?? 0) + 1
        continue
      }
      if (m.ipVersion === 4 && m.isFragment === 1) {
        this.onFragment(b, i)
        continue
      }
      if (m.ipProto !== IPPROTO_UDP || m.dstPort !== port || m.payloadOffset < 0) {
        this.captureIgnored++
        continue
      }
      // The UDP length bounds the payload (a short frame may carry link-layer padding).
      const udpEnd = m.l4Offset + view.getUint16(m.l4Offset + 4, false)
      if (udpEnd < m.payloadOffset) {
        this.captureIgnored++
        continue
      }
      if (udpEnd < end) {
        b.origLens[i] = (b.origLens[i] as number) - (end - udpEnd)
        b.ends[i] = udpEnd
      }
      vx[i] = m.payloadOffset
      if (m.ipVersion === 4) {
        if (m.src4 !== this.lastSrc4) {
          this.lastSrc4 = m.src4
          this.lastSrc4Str = formatIPv4(m.src4)
        }
        srcs[i] = this.lastSrc4Str
      } else {
        srcs[i] = this.src6Name.of(b.bytes, m.src6Offset)
      }
    }
    this.ingest(b, vx, srcs)
  }

  /** Capture mode, slow path: one IPv4 fragment (the meta holds its decode). */
  private onFragment(b: FrameBatch, i: number): void {
    const m = this.meta
    const end = b.ends[i] as number
    const l3End = m.l3Offset + m.ipLength < end ? m.l3Offset + m.ipLength : end
    const sec = b.tsSec[i] as number
    const ip = (this.reassembler as Ipv4Reassembler).add(b.view, m.l3Offset, l3End, sec)
    if (ip === null) return
    const udpLen = ((ip[4] as number) << 8) | (ip[5] as number)
    const udpEnd = udpLen >= 8 && udpLen < ip.length ? udpLen : ip.length
    this.enqueue(ip, 8, udpEnd, formatIPv4(m.src4), sec, b.tsNsec[i] as number)
  }

  private flushFiles(): void {
    this.flushCopied()
    for (const s of this.list) s.ring.flush()
    if (this.forwarder !== null) this.drops.forward = this.forwarder.dropped
  }

  private readCaptureDrops(nowSec: number): void {
    if (this.capture !== null) this.drops.capture = this.captureDropsBase + this.capture.kernelDrops
    if (this.reassembler !== null) {
      this.reassembler.expire(nowSec)
      this.drops.reassembly = this.reassembler.lost
    }
  }

  private readSocketDrops(): void {
    // In capture mode the socket only holds the port: its drops are expected and not counted.
    if (this.socket === null || this.boundPort === 0 || this.config.receive !== 'socket') return
    const n = readUdpSocketDrops(this.boundPort)
    if (n > (this.drops.socket ?? 0)) this.drops.socket = n
  }

  /** Failed pcap file operations over all sessions. */
  writeErrors(): number {
    let n = 0
    for (const s of this.list) n += s.ring.writeErrors
    return n
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
      receive: this.config.receive,
      capture:
        this.capture === null
          ? null
          : {
              interface: this.capture.spec.iface,
              filter: this.capture.spec.filter,
              linkType: this.capture.linkType,
              bufferKiB: this.capture.spec.bufferKiB,
              captured: this.capture.captured,
              kernelDrops: this.capture.kernelDrops,
              fragmentsReassembled: this.reassembler?.reassembled ?? 0,
              ignored: this.captureIgnored,
              restarts: this.captureRestarts,
            },
      recvBufferBytes: this.recvBuffer,
      datagrams: this.datagrams,
      packets,
      bytes,
      malformed: { ...this.malformed },
      drops: { ...this.drops },
      writeErrors: this.writeErrors(),
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
        pcapWriteErrors: s.ring.writeErrors,
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
      if (this.capture !== null) {
        await this.capture.stop()
        // Datagrams still missing fragments now never will be complete: count them lost.
        this.readCaptureDrops(Number.POSITIVE_INFINITY)
      }
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
      this.flushCopied()
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
