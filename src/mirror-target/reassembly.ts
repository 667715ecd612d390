// SPDX-License-Identifier: Apache-2.0
/**
 * IPv4 reassembly of fragmented VXLAN datagrams for the capture receive mode (the socket mode gets
 * them reassembled by the kernel). A VXLAN datagram larger than the path MTU (an inner 1500-byte
 * packet plus AWS's 50 bytes of outer headers on a 1500-byte link) arrives as fragments, and only
 * the first one carries the UDP header.
 *
 * Bounded: at most `maxDatagrams` datagrams in progress (64 KiB buffer each, allocated on demand
 * and reused), each given up `timeoutSec` after its first fragment (RFC 791's reassembly timer;
 * Linux uses 30 s, a VXLAN stream needs far less). A datagram given up whose first fragment showed
 * our UDP port counts in `lost`; fragments of other UDP traffic (the capture filter cannot tell
 * them apart before the first fragment) are discarded silently. Overlapping fragments: the later
 * bytes win (RFC 5722 forbids overlaps for IPv6; for IPv4 this is what Linux did before it, too).
 * Not on the hot path: only fragments come here.
 * @module
 */

const MAX_IP_PAYLOAD = 65535 - 20

interface Pending {
  key: string
  firstSec: number
  /** 0: unknown (no first fragment yet), 1: our port, 2: someone else's (discard). */
  ours: number
  buf: Uint8Array | null
  /** One bit per 8-byte unit received. */
  units: Uint8Array
  unitsSeen: number
  /** Payload length, known once the last fragment (MF clear) arrived; -1 until then. */
  total: number
}

export class Ipv4Reassembler {
  readonly port: number
  readonly maxDatagrams: number
  readonly timeoutSec: number
  /** VXLAN datagrams given up (timeout or eviction) after their first fragment was seen. */
  lost = 0
  /** Datagrams completed. */
  reassembled = 0
  private readonly pending = new Map<string, Pending>()
  private readonly free: Uint8Array[] = []

  constructor(port: number, maxDatagrams = 256, timeoutSec = 5) {
    this.port = port
    this.maxDatagrams = maxDatagrams
    this.timeoutSec = timeoutSec
  }

  /** Datagrams in progress. */
  get size(): number {
    return this.pending.size
  }

  /**
   * Adds the IPv4 fragment at `view[l3, l3End)` (header included) received at `nowSec`. Returns the
   * reassembled IP payload (UDP header first) when this fragment completes a datagram for our port,
   * else null. The returned bytes are valid until the next call.
   */
  add(view: DataView, l3: number, l3End: number, nowSec: number): Uint8Array | null {
    this.expire(nowSec)
    const ihl = (view.getUint8(l3) & 0x0f) << 2
    const fragField = view.getUint16(l3 + 6, false)
    const offset = (fragField & 0x1fff) << 3
    const more = (fragField & 0x2000) !== 0
    const dataLen = l3End - l3 - ihl
    if (dataLen <= 0 || offset + dataLen > MAX_IP_PAYLOAD) return null
    const key = `${view.getUint32(l3 + 12, false)}/${view.getUint32(l3 + 16, false)}/${view.getUint16(l3 + 4, false)}/${view.getUint8(l3 + 9)}`
    let p = this.pending.get(key)
    if (p === undefined) {
      if (this.pending.size >= this.maxDatagrams) this.evictOldest()
      p = { key, firstSec: nowSec, ours: 0, buf: null, units: new Uint8Array(8192), unitsSeen: 0, total: -1 }
      this.pending.set(key, p)
    }
    if (p.ours === 2) return null
    if (offset === 0) {
      if (dataLen < 8 || view.getUint16(l3 + ihl + 2, false) !== this.port) {
        this.release(p, 2)
        return null
      }
      p.ours = 1
    }
    // A non-final fragment's length is a multiple of 8; anything else is damage.
    if (more && (dataLen & 7) !== 0) return null
    if (!more) p.total = offset + dataLen
    if (p.buf === null) p.buf = this.free.pop() ?? new Uint8Array(MAX_IP_PAYLOAD)
    const src = new Uint8Array(view.buffer, view.byteOffset + l3 + ihl, dataLen)
    p.buf.set(src, offset)
    const u0 = offset >> 3
    const u1 = (offset + dataLen + 7) >> 3
    for (let u = u0; u < u1; u++) {
      const bit = 1 << (u & 7)
      const byte = p.units[u >> 3] as number
      if ((byte & bit) === 0) {
        p.units[u >> 3] = byte | bit
        p.unitsSeen++
      }
    }
    if (p.total < 0 || p.ours !== 1 || p.unitsSeen !== (p.total + 7) >> 3) return null
    this.pending.delete(key)
    const out = p.buf.subarray(0, p.total)
    // The buffer goes back to the pool; the caller copies the datagram before the next call.
    this.free.push(p.buf)
    p.buf = null
    this.reassembled++
    return out
  }

  /** Gives up every datagram whose first fragment is older than the timeout. */
  expire(nowSec: number): void {
    for (const p of this.pending.values()) {
      // Map order is insertion order, so the oldest come first.
      if (nowSec - p.firstSec < this.timeoutSec) break
      this.drop(p)
    }
  }

  private evictOldest(): void {
    const first = this.pending.values().next()
    if (first.done !== true) this.drop(first.value)
  }

  private drop(p: Pending): void {
    if (p.ours === 1) this.lost++
    this.pending.delete(p.key)
    this.release(p, p.ours)
  }

  private release(p: Pending, ours: number): void {
    p.ours = ours
    if (p.buf !== null) {
      this.free.push(p.buf)
      p.buf = null
    }
  }
}
