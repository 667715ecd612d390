// SPDX-License-Identifier: Apache-2.0
/**
 * The socket receive mode, and the copying path both modes share: datagrams from the UDP socket (or
 * IPv4 datagrams the capture mode reassembled) are copied into one FrameBatch as they arrive and
 * handed to the batch path once per event-loop turn, or when the batch is full. Stamped with the
 * time this process received them (Node gives no SO_TIMESTAMP), in microseconds.
 *
 * In capture mode the socket only holds the port (so that the kernel does not answer ICMP port
 * unreachable): its receive is stopped and what it would receive is counted nowhere.
 * @module
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { LinkType, newFrameBatch, type FrameBatch } from '../packet/index.ts'
import { TargetBindError } from './errors.ts'

const BATCH_FRAMES = 2048
const BATCH_BYTES = 4 * 1024 * 1024
/** SO_RCVBUF asked for the socket that capture mode keeps bound only to hold the port. */
const DRAIN_RCVBUF = 4096

/** The batch path: frame i holds a VXLAN payload at `bytes[vxStart[i], ends[i])` from `sources[i]`. */
export type IngestFn = (b: FrameBatch, vxStart: Int32Array, sources: string[]) => void

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

/** Copies datagram payloads into a batch; the batch goes to `ingest` once per turn or when full. */
export class CopyBatcher {
  private readonly batch: FrameBatch
  /** Per frame of `batch`: where its VXLAN header starts, and its outer source address. */
  private readonly vx = new Int32Array(BATCH_FRAMES)
  private readonly src: string[] = new Array<string>(BATCH_FRAMES).fill('')
  private scheduled = false
  private readonly ingest: IngestFn

  constructor(ingest: IngestFn) {
    this.ingest = ingest
    this.batch = newFrameBatch(BATCH_FRAMES, new Uint8Array(BATCH_BYTES))
    this.batch.linkTypes.fill(LinkType.Ethernet)
  }

  /** Copies `src[start, end)` (a VXLAN datagram payload, < 64 KiB) received at `sec`.`nsec`. */
  enqueue(src: Uint8Array, start: number, end: number, source: string, sec: number, nsec: number): void {
    const len = end - start
    const b = this.batch
    if (b.count === BATCH_FRAMES || (b.count > 0 && (b.ends[b.count - 1] as number) + len > b.bytes.length))
      this.flush()
    const i = b.count
    const at = i === 0 ? 0 : (b.ends[i - 1] as number)
    b.bytes.set(src.subarray(start, end), at)
    b.starts[i] = at
    b.ends[i] = at + len
    b.origLens[i] = len
    b.tsSec[i] = sec
    b.tsNsec[i] = nsec
    this.vx[i] = at
    this.src[i] = source
    b.count = i + 1
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** Hands the batch to the batch path now. */
  flush(): void {
    this.scheduled = false
    if (this.batch.count > 0) this.ingest(this.batch, this.vx, this.src)
    this.batch.count = 0
  }
}

/** The UDP socket on the listen address: receives (socket mode) or only holds the port (capture mode). */
export class UdpReceiver {
  private sock: Socket | null = null
  port = 0
  host = ''
  /** SO_RCVBUF the kernel granted. */
  recvBuffer = 0

  private readonly batcher: CopyBatcher

  constructor(batcher: CopyBatcher) {
    this.batcher = batcher
  }

  /** Binds; in socket mode datagrams go to the batcher. Throws TargetBindError. */
  bind(host: string, port: number, receive: boolean, recvBufferBytes: number): Promise<void> {
    const family = host.includes(':') ? 'udp6' : 'udp4'
    const sock = createSocket({ type: family, recvBufferSize: receive ? recvBufferBytes : DRAIN_RCVBUF })
    this.sock = sock
    return new Promise((resolvePromise, reject) => {
      sock.once('error', (err) => reject(new TargetBindError(`cannot bind ${host}:${port}: ${err.message}`)))
      sock.bind(port, host, () => {
        sock.removeAllListeners('error')
        sock.on('error', () => {
          // A receive error on a UDP socket (ICMP feedback) is not fatal to a receiver.
        })
        const a = sock.address()
        this.port = a.port
        this.host = a.address
        this.recvBuffer = sock.getRecvBufferSize()
        if (receive) sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo))
        else stopReceiving(sock)
        resolvePromise()
      })
    })
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const now = performance.timeOrigin + performance.now()
    const sec = Math.floor(now / 1000)
    this.batcher.enqueue(msg, 0, msg.length, rinfo.address, sec, Math.floor((now - sec * 1000) * 1000) * 1000)
  }

  async close(): Promise<void> {
    const sock = this.sock
    this.sock = null
    if (sock === null) return
    await new Promise<void>((r) => {
      try {
        sock.close(() => r())
      } catch {
        r()
      }
    })
  }
}
