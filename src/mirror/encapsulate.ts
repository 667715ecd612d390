// SPDX-License-Identifier: Apache-2.0
/**
 * VXLAN encapsulation exactly as AWS Traffic Mirroring sends it (spec-traffic-mirroring.md §2.1,
 * checked field by field against the real capture suricata-verify/vxlan-decoder-03):
 *
 * ```
 *  outer Ethernet (14)  dst = next hop, src = source interface, type 0x0800 / 0x86DD
 *  outer IPv4 (20)      src = source interface's primary address, dst = target; TTL 255, DF 0,
 *                       ID 0, DSCP/ECN 0 (OBSERVED, spec §2.1); header checksum computed
 *  (or IPv6 (40)        hop limit 255, traffic class and flow label 0)
 *  UDP (8)              src = 0xFF80 | 7-bit symmetric flow hash (UNCONFIRMED, spec §2.2),
 *                       dst = 4789, checksum 0 on IPv4 (OBSERVED); computed on IPv6 (mandatory)
 *  VXLAN (8)            flags 0x08 (I), reserved 0, VNI = the session's   (RFC 7348 §5)
 *  inner frame          the original Ethernet frame, cut to the session's packet length
 * ```
 *
 * Headroom model (STYLE.md §3.5.9): the caller places the inner frame at offset ≥ `HEADROOM` of a
 * scratch buffer; headers are written in place in front of it, innermost first. Nothing is allocated
 * per packet.
 * @module
 */
import {
  encodeEthernet,
  encodeIPv4,
  encodeIPv6,
  encodeUDP,
  encodeVXLAN,
  udpChecksumIPv6,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  IPPROTO_UDP,
  VXLAN_PORT,
} from '../packet/index.ts'
import type { PacketMeta } from '../packet/index.ts'

/** Bytes in front of the inner frame for the largest outer stack: Ethernet 14 + IPv6 40 + UDP 8 + VXLAN 8. */
export const HEADROOM = 70
/** VXLAN header length. */
export const VXLAN_HEADER = 8
/** Outer TTL / hop limit AWS uses (OBSERVED 255 on every packet, spec §2.1). */
export const OUTER_TTL = 255

/**
 * How many bytes of an inner frame a session with `packetLength` sends (spec §1.5, §2.3): the whole
 * frame when `packetLength` is 0 (unset); else `packetLength`, but never cutting into the inner L3
 * header: AWS's guide gives a floor of 35 (IPv4) / 55 (IPv6) = L2 + L3 header + 1. The API accepts
 * 1–8500 and the floor is applied here, in the data plane (UNCONFIRMED, spec §7.4: its recommendation).
 */
export function mirroredLength(m: PacketMeta, packetLength: number): number {
  const frameLen = m.frameEnd - m.frameStart
  if (packetLength === 0 || packetLength >= frameLen) return frameLen
  let floor = 0
  if (m.l3Offset >= 0 && m.ipVersion !== 0)
    floor = m.l3Offset - m.frameStart + (m.ipVersion === 6 ? 40 : 20) + 1
  const n = packetLength < floor ? floor : packetLength
  return n < frameLen ? n : frameLen
}

/** Writes the VXLAN header in front of the inner frame at `innerStart`; returns the VXLAN header's offset. */
export function prependVXLAN(view: DataView, innerStart: number, vni: number): number {
  const off = innerStart - VXLAN_HEADER
  encodeVXLAN(view, off, vni)
  return off
}

/** Outer addressing of one source → target pair, parsed once. */
export interface OuterAddressing {
  srcMac: Uint8Array
  dstMac: Uint8Array
  /** 4 or 6; both addresses are of this family. */
  family: 4 | 6
  src4: number
  dst4: number
  src6: Uint8Array
  dst6: Uint8Array
}

/**
 * Writes outer Ethernet, IP and UDP headers in front of a VXLAN header at `vxlanStart` whose packet
 * (VXLAN header + inner bytes) is `vxlanLen` bytes long. Returns the offset of the outer frame's first
 * byte; the outer frame ends at `vxlanStart + vxlanLen`.
 */
export function prependOuter(
  view: DataView,
  vxlanStart: number,
  vxlanLen: number,
  a: OuterAddressing,
  srcPort: number,
): number {
  const udpLen = 8 + vxlanLen
  const udp = vxlanStart - 8
  encodeUDP(view, udp, srcPort, VXLAN_PORT, udpLen, 0)
  if (a.family === 4) {
    const ip = udp - 20
    encodeIPv4(view, ip, a.src4, a.dst4, IPPROTO_UDP, 20 + udpLen, OUTER_TTL, 0, false)
    const eth = ip - 14
    encodeEthernet(view, eth, a.dstMac, a.srcMac, ETHERTYPE_IPV4)
    return eth
  }
  view.setUint16(udp + 6, udpChecksumIPv6(view, udp, udpLen, a.src6, a.dst6), false)
  const ip = udp - 40
  encodeIPv6(view, ip, a.src6, a.dst6, IPPROTO_UDP, udpLen, OUTER_TTL)
  const eth = ip - 14
  encodeEthernet(view, eth, a.dstMac, a.srcMac, ETHERTYPE_IPV6)
  return eth
}
