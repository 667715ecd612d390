// SPDX-License-Identifier: Apache-2.0
/**
 * Zero-copy frame decoder: L2 (Ethernet II, 802.1Q/802.1ad stacks, Linux SLL/SLL2, BSD null/loop,
 * raw IP) → IPv4/IPv6 → TCP/UDP/ICMP/ICMPv6, plus VXLAN detection. Everything lands in one reused
 * `PacketMeta`; nothing is allocated and nothing is thrown (STYLE.md §3.5).
 * @module
 */
import { Malformed } from './malformed.ts'
import type { PacketMeta } from './packet-meta.ts'
import { LinkType } from './link-type.ts'
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_MPLS,
  ETHERTYPE_MPLS_MULTICAST,
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_OLD,
  ETHERTYPE_VLAN,
  IPPROTO_AH,
  IPPROTO_DCCP,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HIP,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_MH,
  IPPROTO_ROUTING,
  IPPROTO_SCTP,
  IPPROTO_SHIM6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  MAX_IPV6_EXT_HEADERS,
  MAX_MPLS_DEPTH,
  MAX_VLAN_DEPTH,
  VXLAN_PORT,
} from './constants.ts'

/** IPv6 extension headers that share the generic "next header, length" layout (table lookup, §3.5.6). */
const IPV6_EXT = new Uint8Array(256)
IPV6_EXT[IPPROTO_HOPOPTS] = 1
IPV6_EXT[IPPROTO_ROUTING] = 1
IPV6_EXT[IPPROTO_DSTOPTS] = 1
IPV6_EXT[IPPROTO_MH] = 1
IPV6_EXT[IPPROTO_HIP] = 1
IPV6_EXT[IPPROTO_SHIM6] = 1
IPV6_EXT[IPPROTO_FRAGMENT] = 2
IPV6_EXT[IPPROTO_AH] = 3

/** Protocols whose first 4 bytes are source and destination ports (other than TCP/UDP). */
const PORTS_AT_0 = new Uint8Array(256)
PORTS_AT_0[IPPROTO_SCTP] = 1
PORTS_AT_0[IPPROTO_UDPLITE] = 1
PORTS_AT_0[IPPROTO_DCCP] = 1

function isVlanTpid(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_OLD
}

/**
 * Decodes the frame `view[start, end)` of link type `linkType` into `m` (reset first).
 * Returns 0, or -1 with `m.malformed`/`m.malformedAt` set; fields decoded before the damage stay set.
 * A frame whose L3 is neither IPv4 nor IPv6 (ARP, LLDP…) decodes fine with `ipVersion` 0.
 */
export function decodeFrame(
  view: DataView,
  start: number,
  end: number,
  linkType: number,
  m: PacketMeta,
): number {
  m.reset()
  m.linkType = linkType
  if (start < 0) start = 0
  if (end > view.byteLength) end = view.byteLength
  if (end < start) end = start
  m.frameStart = start
  m.frameEnd = end
  switch (linkType) {
    case LinkType.Ethernet:
      if (end - start < 14) return m.fail(Malformed.EthernetTruncated, start)
      return decodeEtherType(view, start + 12, end, m)
    case LinkType.Raw:
    case 12: // DLT_RAW as written by some BSDs
    case 14: // DLT_RAW on OpenBSD
      return decodeRawIp(view, start, end, m)
    case LinkType.IPv4:
      return decodeIPv4(view, start, end, m)
    case LinkType.IPv6:
      return decodeIPv6(view, start, end, m)
    case LinkType.LinuxSLL:
      if (end - start < 16) return m.fail(Malformed.SllTruncated, start)
      return decodeEtherType(view, start + 14, end, m)
    case LinkType.LinuxSLL2:
      if (end - start < 20) return m.fail(Malformed.SllTruncated, start)
      return decodeEtherType(view, start, end, m, start + 20)
    case LinkType.Null:
    case LinkType.Loop: {
      if (end - start < 4) return m.fail(Malformed.NullTruncated, start)
      // DLT_NULL is in the writer's byte order: a family fits in 16 bits, so a big-endian reading above 0xffff means little-endian.
      let family = view.getUint32(start, false)
      if (linkType === LinkType.Null && family > 0xffff) family = view.getUint32(start, true)
      const l3 = start + 4
      if (family === 2) {
        m.etherType = ETHERTYPE_IPV4
        return decodeIPv4(view, l3, end, m)
      }
      if (family === 10 || family === 24 || family === 28 || family === 30) {
        m.etherType = ETHERTYPE_IPV6
        return decodeIPv6(view, l3, end, m)
      }
      // Some writers put an EtherType in the low half instead of a family (Wireshark accepts it too).
      const low = view.getUint16(start + 2, false)
      if (low === ETHERTYPE_IPV4 || low === ETHERTYPE_IPV6) return decodeEtherType(view, start + 2, end, m)
      return 0
    }
    default:
      return m.fail(Malformed.UnknownLinkType, start)
  }
}

/**
 * Reads the EtherType at `typeAt`, walks VLAN tags, then decodes IPv4/IPv6 or MPLS. `payloadAt` is where
 * the payload starts when it is not `typeAt + 2` (SLL2 has its protocol field first). The VLAN fields
 * of `m` describe the first tag stack of the frame: the tags of an Ethernet frame carried in an MPLS
 * pseudowire are recorded only when the outer frame had none.
 */
function decodeEtherType(view: DataView, typeAt: number, end: number, m: PacketMeta, payloadAt = -1): number {
  let etherType = view.getUint16(typeAt, false)
  let off = payloadAt >= 0 ? payloadAt : typeAt + 2
  const record = m.vlanCount === 0
  let depth = 0
  while (isVlanTpid(etherType)) {
    if (depth === MAX_VLAN_DEPTH) {
      m.etherType = etherType
      return m.fail(Malformed.VlanTooDeep, off)
    }
    if (end - off < 4) {
      m.etherType = etherType
      return m.fail(Malformed.VlanTruncated, off)
    }
    if (record) {
      const vid = view.getUint16(off, false) & 0x0fff
      if (depth === 0) {
        m.vlanOuter = vid
        m.vlanOffset = off
      } else if (depth === 1) m.vlanInner = vid
      m.vlanCount = depth + 1
    }
    depth++
    etherType = view.getUint16(off + 2, false)
    off += 4
  }
  m.etherType = etherType
  if (etherType === ETHERTYPE_IPV4) return decodeIPv4(view, off, end, m)
  if (etherType === ETHERTYPE_IPV6) return decodeIPv6(view, off, end, m)
  if (etherType === ETHERTYPE_MPLS || etherType === ETHERTYPE_MPLS_MULTICAST)
    return decodeMpls(view, off, end, m)
  return 0
}

/*
 * MPLS label stack entry (RFC 3032 §2.1), repeated until the S bit is set:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                Label                  | TC  |S|      TTL      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * What follows the bottom label is told by its first nibble (RFC 4385 §2): 4 is IPv4, 6 is IPv6, 0 is
 * the generic pseudowire control word, after which an Ethernet pseudowire (RFC 4448 §3) carries a whole
 * Ethernet frame without its FCS:
 *
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |0 0 0 0| Flags |FRG|  Length   |        Sequence number        |  control word
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |       inner Ethernet: destination, source, [tags,] type …     |
 *
 * 1 (the associated channel, OAM) and anything else are left undecoded (`ipVersion` 0), as is an
 * Ethernet pseudowire without a control word, which nothing in the label stack announces.
 */

/** Bytes of the PW control word plus the inner Ethernet header. */
const PW_ETH_MIN = 4 + 14

/** MPLS label stack up to the bottom-of-stack bit, then IPv4, IPv6 or an Ethernet pseudowire. */
function decodeMpls(view: DataView, off: number, end: number, m: PacketMeta): number {
  for (let depth = 0; ; depth++) {
    if (depth === MAX_MPLS_DEPTH) return m.fail(Malformed.MplsTooDeep, off)
    if (end - off < 4) return m.fail(Malformed.MplsTruncated, off)
    const bos = view.getUint8(off + 2) & 0x01
    off += 4
    if (bos === 1) break
  }
  if (end - off < 1) return 0
  const nibble = view.getUint8(off) >> 4
  if (nibble === 4) return decodeIPv4(view, off, end, m)
  if (nibble === 6) return decodeIPv6(view, off, end, m)
  if (nibble === 0) {
    if (end - off < PW_ETH_MIN) return m.fail(Malformed.MplsPwTruncated, off)
    m.pwOffset = off + 4
    return decodeEtherType(view, off + 4 + 12, end, m)
  }
  return 0
}

function decodeRawIp(view: DataView, off: number, end: number, m: PacketMeta): number {
  if (end - off < 1) return m.fail(Malformed.Ipv4Truncated, off)
  const version = view.getUint8(off) >> 4
  if (version === 6) return decodeIPv6(view, off, end, m)
  return decodeIPv4(view, off, end, m)
}

function decodeIPv4(view: DataView, off: number, end: number, m: PacketMeta): number {
  m.l3Offset = off
  if (end - off < 20) return m.fail(Malformed.Ipv4Truncated, off)
  const vihl = view.getUint8(off)
  if (vihl >> 4 !== 4) return m.fail(Malformed.Ipv4BadVersion, off)
  m.ipVersion = 4
  if (m.etherType === 0) m.etherType = ETHERTYPE_IPV4
  const ihl = (vihl & 0x0f) << 2
  const totalLength = view.getUint16(off + 2, false)
  const fragField = view.getUint16(off + 6, false)
  m.ttl = view.getUint8(off + 8)
  m.ipProto = view.getUint8(off + 9)
  m.src4 = view.getUint32(off + 12, false)
  m.dst4 = view.getUint32(off + 16, false)
  m.fragOffset = fragField & 0x1fff
  m.isFragment = (fragField & 0x3fff) !== 0 ? 1 : 0
  if (ihl < 20) return m.fail(Malformed.Ipv4BadHeaderLength, off)
  // Total length 0 is what TSO/GSO hands to a capture: the captured bytes are the packet.
  let l3End: number
  if (totalLength === 0) {
    m.ipLength = end - off
    l3End = end
  } else {
    m.ipLength = totalLength
    if (totalLength < ihl) return m.fail(Malformed.Ipv4BadTotalLength, off)
    l3End = off + totalLength < end ? off + totalLength : end
  }
  if (end - off < ihl) return m.fail(Malformed.Ipv4Truncated, off)
  const l4 = off + ihl
  if (l4 > l3End) return m.fail(Malformed.Ipv4BadTotalLength, off)
  m.l4Offset = l4
  if (m.fragOffset !== 0) {
    // Later fragments carry no transport header: nothing more to decode.
    m.payloadOffset = l4
    return 0
  }
  return decodeL4(view, l4, l3End, m, m.ipProto)
}

function decodeIPv6(view: DataView, off: number, end: number, m: PacketMeta): number {
  m.l3Offset = off
  if (end - off < 40) return m.fail(Malformed.Ipv6Truncated, off)
  if (view.getUint8(off) >> 4 !== 6) return m.fail(Malformed.Ipv6BadVersion, off)
  m.ipVersion = 6
  if (m.etherType === 0) m.etherType = ETHERTYPE_IPV6
  const payloadLength = view.getUint16(off + 4, false)
  let next = view.getUint8(off + 6)
  m.ipProto = next
  m.ttl = view.getUint8(off + 7)
  m.src6Offset = off + 8
  m.dst6Offset = off + 24
  let l3End: number
  if (payloadLength === 0 && (next === IPPROTO_HOPOPTS || next === IPPROTO_TCP || next === IPPROTO_UDP)) {
    // Jumbogram (hop-by-hop jumbo option) or BIG TCP/GSO (TCP, or UDP tunnels carrying it): as tcpdump
    // presumes, the captured bytes are the packet.
    m.ipLength = end - off
    l3End = end
  } else {
    // Otherwise a payload length of 0 is an empty packet (tcpdump: invalid; tshark: 40 bytes).
    m.ipLength = 40 + payloadLength
    l3End = off + 40 + payloadLength < end ? off + 40 + payloadLength : end
  }
  let p = off + 40
  for (let i = 0; ; i++) {
    const kind = IPV6_EXT[next]
    if (kind === 0) break
    if (i === MAX_IPV6_EXT_HEADERS) return m.fail(Malformed.Ipv6ExtChainTooLong, p)
    if (l3End - p < 8) return m.fail(Malformed.Ipv6ExtTruncated, p)
    const hdrNext = view.getUint8(p)
    let len: number
    if (kind === 2) {
      // Fragment header: fixed 8 bytes.
      const fo = view.getUint16(p + 2, false)
      m.isFragment = 1
      m.fragOffset = fo >> 3
      len = 8
    } else if (kind === 3) {
      len = (view.getUint8(p + 1) + 2) << 2
    } else {
      len = (view.getUint8(p + 1) + 1) << 3
    }
    if (l3End - p < len) return m.fail(Malformed.Ipv6ExtTruncated, p)
    p += len
    next = hdrNext
    m.ipProto = next
    if (kind === 2 && m.fragOffset !== 0) {
      m.l4Offset = p
      m.payloadOffset = p
      return 0
    }
  }
  m.l4Offset = p
  return decodeL4(view, p, l3End, m, next)
}

function decodeL4(view: DataView, off: number, end: number, m: PacketMeta, proto: number): number {
  const avail = end - off
  if (proto === IPPROTO_TCP) {
    if (avail < 20) return m.fail(Malformed.TcpTruncated, off)
    m.srcPort = view.getUint16(off, false)
    m.dstPort = view.getUint16(off + 2, false)
    m.tcpFlags = view.getUint8(off + 13)
    const doff = (view.getUint8(off + 12) >> 4) << 2
    if (doff < 20) return m.fail(Malformed.TcpBadDataOffset, off)
    // Options cut by the snap length are not damage: the payload is just absent.
    if (doff <= avail) m.payloadOffset = off + doff
    return 0
  }
  if (proto === IPPROTO_UDP) {
    if (avail < 8) return m.fail(Malformed.UdpTruncated, off)
    const srcPort = view.getUint16(off, false)
    const dstPort = view.getUint16(off + 2, false)
    m.srcPort = srcPort
    m.dstPort = dstPort
    const p = off + 8
    m.payloadOffset = p
    // A UDP/4789 datagram too short for the 8-byte VXLAN header (RFC 7348 section 5) is still a valid UDP
    // datagram: it stays plain UDP (vni -1, not malformed) so flow logs count it, as tshark's UDP layer does.
    // RFC 7348: I flag (0x08) says the VNI is valid; without it this is not VXLAN for us.
    if (dstPort === VXLAN_PORT && end - p >= 8) {
      if ((view.getUint8(p) & 0x08) !== 0) {
        m.vni = view.getUint32(p + 4, false) >>> 8
        m.innerOffset = p + 8
      }
    }
    return 0
  }
  if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    if (avail < 4) return m.fail(Malformed.IcmpTruncated, off)
    m.icmpType = view.getUint8(off)
    m.icmpCode = view.getUint8(off + 1)
    m.payloadOffset = off + 4
    return 0
  }
  if (PORTS_AT_0[proto] === 1 && avail >= 4) {
    m.srcPort = view.getUint16(off, false)
    m.dstPort = view.getUint16(off + 2, false)
  }
  return 0
}
