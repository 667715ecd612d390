// SPDX-License-Identifier: Apache-2.0
/**
 * The index of a pcap ring's files, kept while they are written, so that the packets of one flow
 * are found without reading every file: per file, the time of its first and last frame and a
 * 8192-bit Bloom filter of the flows (the 5-tuple, either direction, hashed) it holds. A file that
 * cannot hold the flow — wrong time, or a hash bit unset — is never opened. Files left by an earlier
 * run have no index: their first frame's time is in their name, and they are read when in range.
 *
 * The hash is computed in place from the frame's bytes (Ethernet, 802.1Q/802.1ad tags, IPv4 without
 * fragments' offsets, IPv6's fixed header): no allocation per frame.
 * @module
 */

/** Bits of a file's flow filter (a power of two). */
export const INDEX_BITS = 8192
const MASK = INDEX_BITS - 1

export interface FileIndex {
  /** Time of the first and last frame written (µs since the epoch); -1 before the first. */
  firstUs: number
  lastUs: number
  /** The flows' Bloom filter: two bits per flow. */
  readonly bloom: Uint32Array
  /** Frames written. */
  frames: number
}

export function newFileIndex(): FileIndex {
  return { firstUs: -1, lastUs: -1, bloom: new Uint32Array(INDEX_BITS / 32), frames: 0 }
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

/** The symmetric hash of one endpoint pair: the same for both directions of a flow. */
export function flowHash(addrA: number, portA: number, addrB: number, portB: number, proto: number): number {
  const a = mix(addrA ^ Math.imul(portA + 1, 0x9e3779b1))
  const b = mix(addrB ^ Math.imul(portB + 1, 0x9e3779b1))
  return mix(((a + b) | 0) ^ Math.imul(proto + 1, 0x85ebca6b))
}

/** True for protocols whose flows have ports (TCP, UDP, SCTP). */
export function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132
}

/** Folds an IPv6 address (16 bytes at `o`) to 32 bits. */
function fold6(v: DataView, o: number): number {
  return (v.getUint32(o) ^ v.getUint32(o + 4) ^ v.getUint32(o + 8) ^ v.getUint32(o + 12)) | 0
}

/**
 * The flow hash of the Ethernet frame at `b[p, end)`, or -1 when it is not IP (or too short).
 * Ports count only for TCP, UDP and SCTP; a non-first IPv4 fragment hashes with ports 0.
 */
export function frameFlowHash(v: DataView, b: Uint8Array, p: number, end: number): number {
  if (end - p < 14) return -1
  let o = p + 12
  let et = v.getUint16(o)
  while ((et === 0x8100 || et === 0x88a8) && o + 6 <= end) {
    o += 4
    et = v.getUint16(o)
  }
  o += 2
  let src: number
  let dst: number
  let proto: number
  let l4: number
  let firstFragment = true
  if (et === 0x0800) {
    if (o + 20 > end) return -1
    src = v.getInt32(o + 12)
    dst = v.getInt32(o + 16)
    proto = b[o + 9] as number
    l4 = o + ((b[o] as number) & 0x0f) * 4
    firstFragment = (v.getUint16(o + 6) & 0x1fff) === 0
  } else if (et === 0x86dd) {
    if (o + 40 > end) return -1
    src = fold6(v, o + 8)
    dst = fold6(v, o + 24)
    proto = b[o + 6] as number
    l4 = o + 40
  } else return -1
  let sp = 0
  let dp = 0
  if (hasPorts(proto) && firstFragment && l4 + 4 <= end) {
    sp = v.getUint16(l4)
    dp = v.getUint16(l4 + 2)
  }
  return flowHash(src, sp, dst, dp, proto)
}

/** Records one frame (its flow hash, or -1, and its time) in a file's index. */
export function indexFrame(ix: FileIndex, hash: number, us: number): void {
  if (ix.firstUs < 0) ix.firstUs = us
  if (us > ix.lastUs) ix.lastUs = us
  ix.frames++
  if (hash < 0) return
  const b1 = hash & MASK
  const b2 = (hash >>> 13) & MASK
  ix.bloom[b1 >>> 5]! |= 1 << (b1 & 31)
  ix.bloom[b2 >>> 5]! |= 1 << (b2 & 31)
}

/** False when the file surely holds no frame of the flow with this hash. */
export function mayHold(ix: FileIndex, hash: number): boolean {
  const b1 = hash & MASK
  const b2 = (hash >>> 13) & MASK
  return ((ix.bloom[b1 >>> 5]! >>> (b1 & 31)) & 1) === 1 && ((ix.bloom[b2 >>> 5]! >>> (b2 & 31)) & 1) === 1
}
