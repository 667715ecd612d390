// SPDX-License-Identifier: Apache-2.0
/**
 * Header encoders for mirroring: build VXLAN/UDP/IP/Ethernet headers in front of a mirrored frame in a
 * buffer with headroom (STYLE.md §3.5.9). Each writes at `off` and returns the offset after it.
 * @module
 */

/** Ethernet II header (14 bytes). */
export function encodeEthernet(
  view: DataView,
  off: number,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  etherType: number,
): number {
  for (let i = 0; i < 6; i++) {
    view.setUint8(off + i, dstMac[i] ?? 0)
    view.setUint8(off + 6 + i, srcMac[i] ?? 0)
  }
  view.setUint16(off + 12, etherType, false)
  return off + 14
}

/** One's-complement sum of `len` bytes at `off` (odd tail padded with zero), not folded. */
function sum16(view: DataView, off: number, len: number, acc: number): number {
  const end = off + (len & ~1)
  let i = off
  for (; i < end; i += 2) acc += view.getUint16(i, false)
  if ((len & 1) !== 0) acc += view.getUint8(i) << 8
  return acc
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 65536)
  return acc
}

/** The IPv4 header checksum of the `len`-byte header at `off` (its checksum field counted as zero). */
export function ipv4HeaderChecksum(view: DataView, off: number, len: number): number {
  const acc = sum16(view, off, len, 0) - view.getUint16(off + 10, false)
  return ~fold(acc) & 0xffff
}

/** IPv4 header without options (20 bytes), checksum filled in. `totalLength` includes this header. */
export function encodeIPv4(
  view: DataView,
  off: number,
  src: number,
  dst: number,
  proto: number,
  totalLength: number,
  ttl: number,
  id: number,
  dontFragment: boolean,
): number {
  view.setUint8(off, 0x45)
  view.setUint8(off + 1, 0)
  view.setUint16(off + 2, totalLength, false)
  view.setUint16(off + 4, id & 0xffff, false)
  view.setUint16(off + 6, dontFragment ? 0x4000 : 0, false)
  view.setUint8(off + 8, ttl)
  view.setUint8(off + 9, proto)
  view.setUint16(off + 10, 0, false)
  view.setUint32(off + 12, src >>> 0, false)
  view.setUint32(off + 16, dst >>> 0, false)
  view.setUint16(off + 10, ipv4HeaderChecksum(view, off, 20), false)
  return off + 20
}

/** IPv6 header (40 bytes), traffic class and flow label zero. */
export function encodeIPv6(
  view: DataView,
  off: number,
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  payloadLength: number,
  hopLimit: number,
): number {
  view.setUint32(off, 0x60000000, false)
  view.setUint16(off + 4, payloadLength, false)
  view.setUint8(off + 6, nextHeader)
  view.setUint8(off + 7, hopLimit)
  for (let i = 0; i < 16; i++) {
    view.setUint8(off + 8 + i, src[i] ?? 0)
    view.setUint8(off + 24 + i, dst[i] ?? 0)
  }
  return off + 40
}

/** UDP header (8 bytes). `length` includes the header; `checksum` 0 means "none" (allowed on IPv4). */
export function encodeUDP(
  view: DataView,
  off: number,
  srcPort: number,
  dstPort: number,
  length: number,
  checksum: number,
): number {
  view.setUint16(off, srcPort, false)
  view.setUint16(off + 2, dstPort, false)
  view.setUint16(off + 4, length, false)
  view.setUint16(off + 6, checksum, false)
  return off + 8
}

/** VXLAN header (RFC 7348, 8 bytes): flags 0x08 (I), reserved bytes zero, 24-bit VNI. */
export function encodeVXLAN(view: DataView, off: number, vni: number): number {
  view.setUint32(off, 0x08000000, false)
  view.setUint32(off + 4, ((vni & 0xffffff) << 8) >>> 0, false)
  return off + 8
}

/**
 * UDP checksum over the IPv4 pseudo-header and the `udpLength` bytes at `udpOff` (whose checksum field
 * is counted as zero). Returns the value to store (0xffff for a computed zero, RFC 768).
 */
export function udpChecksumIPv4(
  view: DataView,
  udpOff: number,
  udpLength: number,
  src: number,
  dst: number,
): number {
  let acc = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 17 + udpLength
  acc = sum16(view, udpOff, udpLength, acc) - view.getUint16(udpOff + 6, false)
  const c = ~fold(acc) & 0xffff
  return c === 0 ? 0xffff : c
}

/** UDP checksum over the IPv6 pseudo-header (RFC 8200 §8.1); mandatory on IPv6. */
export function udpChecksumIPv6(
  view: DataView,
  udpOff: number,
  udpLength: number,
  src: Uint8Array,
  dst: Uint8Array,
): number {
  let acc = 17 + (udpLength >>> 16) + (udpLength & 0xffff)
  for (let i = 0; i < 16; i += 2)
    acc += (((src[i] ?? 0) << 8) | (src[i + 1] ?? 0)) + (((dst[i] ?? 0) << 8) | (dst[i + 1] ?? 0))
  acc = sum16(view, udpOff, udpLength, acc) - view.getUint16(udpOff + 6, false)
  const c = ~fold(acc) & 0xffff
  return c === 0 ? 0xffff : c
}
