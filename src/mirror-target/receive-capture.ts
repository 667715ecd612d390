// SPDX-License-Identifier: Apache-2.0
/**
 * The capture receive mode: tcpdump captures the UDP traffic to the listen address on its interface;
 * each batch of captured outer frames is decoded and its VXLAN payloads located in place (any link
 * type the packet layer decodes: Ethernet, Linux SLL/SLL2 for `any`), with the kernel's timestamps.
 * IPv4 fragments are reassembled (`Ipv4Reassembler`) and go through the copying path, flushed right
 * after the batch they completed in. A tcpdump that ends on its own is restarted after a back-off.
 * @module
 */
import {
  decodeFrame,
  formatIPv4,
  IPPROTO_UDP,
  MALFORMED_NAMES,
  PacketMeta,
  type FrameBatch,
} from '../packet/index.ts'
import { defaultCaptureOptions, LiveCapture, SNAPLEN_WHOLE } from '../capture/index.ts'
import { captureFilter, interfaceOf } from './capture.ts'
import { TargetCaptureError } from './errors.ts'
import { Ipv6SourceName } from './ingest.ts'
import { Ipv4Reassembler } from './reassembly.ts'
import type { CopyBatcher, IngestFn } from './receive-socket.ts'

/**
 * The malformed-counter key of each packet-layer reason a captured outer frame can fail with
 * (`Ipv4BadHeaderLength` → `outer_ipv4_bad_header_length`).
 */
const OUTER_MALFORMED_KEYS: readonly string[] = MALFORMED_NAMES.map(
  (n) => `outer_${n.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`,
)

export interface CaptureReceiverOptions {
  host: string
  port: number
  iface: string | null
  bufferKiB: number
  /** Counters of damaged outer frames, by `outer_<reason>` (shared with the target's `malformed`). */
  malformed: Record<string, number>
  /** Told when the capture ends on its own, with the delay before the next attempt; and when it runs again. */
  onState: (state: 'running' | 'failed', message: string) => void
}

/** What the status shows of the capture (null before the first start). */
export interface CaptureStatus {
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
}

export class CaptureReceiver {
  /** Captured frames that were not VXLAN to our port (should stay 0). */
  ignored = 0
  /** How often tcpdump ended on its own and was started again. */
  restarts = 0
  private capture: LiveCapture | null = null
  /** Kernel drops of the captures that ended before the current one. */
  private dropsBase = 0
  private readonly reassembler: Ipv4Reassembler
  private readonly meta = new PacketMeta()
  private vx = new Int32Array(2048)
  private src: string[] = new Array<string>(2048).fill('')
  private lastSrc4 = -1
  private lastSrc4Str = ''
  private readonly src6Name = new Ipv6SourceName()
  private stopped = false
  private completed = 0

  private readonly o: CaptureReceiverOptions
  private readonly ingest: IngestFn
  private readonly batcher: CopyBatcher

  constructor(o: CaptureReceiverOptions, ingest: IngestFn, batcher: CopyBatcher) {
    this.o = o
    this.ingest = ingest
    this.batcher = batcher
    this.reassembler = new Ipv4Reassembler(o.port)
  }

  /** Starts the capture (`LiveCapture`: tcpdump); throws TargetCaptureError if it cannot. */
  async start(): Promise<void> {
    const o = this.o
    const opts = {
      ...defaultCaptureOptions(o.iface ?? interfaceOf(o.host), captureFilter(o.host, o.port)),
      direction: 'in' as const,
      snaplen: SNAPLEN_WHOLE,
      bufferKiB: o.bufferKiB,
    }
    try {
      this.capture = await LiveCapture.start(
        opts,
        (batch) => this.onCaptured(batch),
        (err) => this.onFailure(err),
      )
    } catch (err) {
      throw new TargetCaptureError((err as Error).message, { cause: err })
    }
  }

  /**
   * tcpdump ended without being asked to: counted, reported, and a new capture is started after a
   * back-off (1 s doubling to 30 s) until one runs or the target stops.
   */
  private onFailure(err: Error): void {
    if (this.stopped) return
    this.restarts++
    if (this.capture !== null) this.dropsBase += this.capture.stats.kernelDrops
    this.capture = null
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(5, this.restarts - 1))
    this.o.onState('failed', `${err.message}; capturing again in ${delay / 1000} s`)
    const timer = setTimeout(() => {
      if (this.stopped) return
      this.start().then(
        () => this.o.onState('running', 'capturing again'),
        (e: unknown) => this.onFailure(e as Error),
      )
    }, delay)
    timer.unref()
  }

  /** One batch of captured outer frames: locate each VXLAN payload, reassemble fragments, ingest. */
  onCaptured(b: FrameBatch): void {
    const n = b.count
    if (this.vx.length < n) {
      this.vx = new Int32Array(n)
      this.src = new Array<string>(n).fill('')
    }
    const vx = this.vx
    const srcs = this.src
    const m = this.meta
    const view = b.view
    const port = this.o.port
    const malformed = this.o.malformed
    this.completed = 0
    for (let i = 0; i < n; i++) {
      vx[i] = -1
      const end = b.ends[i] as number
      if (decodeFrame(view, b.starts[i] as number, end, b.linkTypes[i] as number, m) < 0) {
        // A damaged outer frame: counted by the packet layer's reason, not as "not for us".
        const key = OUTER_MALFORMED_KEYS[m.malformed] ?? `outer_reason${m.malformed}`
        malformed[key] = (malformed[key] ?? 0) + 1
        continue
      }
      if (m.ipVersion === 4 && m.isFragment === 1) {
        this.onFragment(b, i)
        continue
      }
      if (m.ipProto !== IPPROTO_UDP || m.dstPort !== port || m.payloadOffset < 0) {
        this.ignored++
        continue
      }
      // The UDP length bounds the payload (a short frame may carry link-layer padding).
      const udpEnd = m.l4Offset + view.getUint16(m.l4Offset + 4, false)
      if (udpEnd < m.payloadOffset) {
        this.ignored++
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
    // Datagrams completed by this batch's fragments follow it at once (the staging puts them in place).
    if (this.completed > 0) this.batcher.flush()
  }

  /** Slow path: one IPv4 fragment (the meta holds its decode). */
  private onFragment(b: FrameBatch, i: number): void {
    const m = this.meta
    const end = b.ends[i] as number
    const l3End = m.l3Offset + m.ipLength < end ? m.l3Offset + m.ipLength : end
    const sec = b.tsSec[i] as number
    const ip = this.reassembler.add(b.view, m.l3Offset, l3End, sec)
    if (ip === null) return
    const udpLen = ((ip[4] as number) << 8) | (ip[5] as number)
    const udpEnd = udpLen >= 8 && udpLen < ip.length ? udpLen : ip.length
    this.completed++
    this.batcher.enqueue(ip, 8, udpEnd, formatIPv4(m.src4), sec, b.tsNsec[i] as number)
  }

  /** Kernel drops of every capture so far. */
  get kernelDrops(): number {
    return this.dropsBase + (this.capture?.stats.kernelDrops ?? 0)
  }

  /** Fragmented VXLAN datagrams given up; expires those older than the reassembly timeout. */
  reassemblyLost(nowSec: number): number {
    this.reassembler.expire(nowSec)
    return this.reassembler.lost
  }

  /** Null while no capture runs (during a restart's back-off). */
  status(): CaptureStatus | null {
    const c = this.capture
    if (c === null) return null
    return {
      interface: c.options.iface,
      filter: c.options.filter,
      linkType: c.linkType,
      bufferKiB: c.options.bufferKiB,
      captured: c.stats.captured,
      kernelDrops: c.stats.kernelDrops,
      fragmentsReassembled: this.reassembler.reassembled,
      ignored: this.ignored,
      restarts: this.restarts,
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.capture !== null) await this.capture.stop()
  }
}
