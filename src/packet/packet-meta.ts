// SPDX-License-Identifier: Apache-2.0
import { Malformed } from './malformed.ts'

/**
 * The one flat record a frame is decoded into. The caller owns it and reuses it for every
 * frame of a batch: its fields are valid until the next `reset()` (decoders call it). It holds
 * offsets into the batch's bytes, never copies of bytes, and never a string.
 *
 * Offsets are absolute offsets into the `DataView`/`Uint8Array` the frame was decoded from;
 * -1 means "layer absent". IPv4 addresses are unsigned 32-bit numbers; IPv6 addresses are the
 * offsets of their 16 bytes (`src6Offset`, `dst6Offset`).
 */
export class PacketMeta {
  /** Link type the frame was decoded with (LinkType). */
  linkType = 0
  /** Offset of the frame's first byte and one past its last captured byte. */
  frameStart = 0
  frameEnd = 0
  /** Number of 802.1Q/802.1ad tags, and the VLAN ids of the outermost two (0 when absent). */
  vlanCount = 0
  vlanOuter = 0
  vlanInner = 0
  /** Offset of the outermost tag's TCI (tag k's TCI is at `vlanOffset + 4k`), or -1 without tags. */
  vlanOffset = -1
  /** Offset of the Ethernet frame inside an MPLS pseudowire (after its control word), or -1. */
  pwOffset = -1
  /** EtherType after any VLAN tags (0 for link types without one, e.g. raw IP). */
  etherType = 0
  l3Offset = -1
  /** 4 or 6 when an IP header was decoded, else 0. */
  ipVersion = 0
  /** IP length: IPv4 total length, IPv6 40 + payload length (what AWS and Zeek count as bytes). */
  ipLength = 0
  /** Final upper-layer protocol (after IPv6 extension headers). */
  ipProto = 0
  ttl = 0
  /** Fragment offset in 8-byte units; `isFragment` is 1 for any fragment (first or later). */
  fragOffset = 0
  isFragment = 0
  src4 = 0
  dst4 = 0
  src6Offset = -1
  dst6Offset = -1
  l4Offset = -1
  /** Ports for TCP/UDP/SCTP/UDP-Lite, only on first fragments; 0 otherwise. */
  srcPort = 0
  dstPort = 0
  /** The TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  tcpFlags = 0
  /** ICMP/ICMPv6 type and code; -1 when not ICMP. */
  icmpType = -1
  icmpCode = -1
  /** Offset of the L4 payload, or -1. */
  payloadOffset = -1
  /** VXLAN (UDP 4789, I flag set): the VNI, else -1; `innerOffset` is the inner Ethernet frame's offset. */
  vni = -1
  innerOffset = -1
  malformed: Malformed = Malformed.None
  malformedAt = -1

  /** Sets every field back to its initial value, in declaration order. */
  reset(): void {
    this.linkType = 0
    this.frameStart = 0
    this.frameEnd = 0
    this.vlanCount = 0
    this.vlanOuter = 0
    this.vlanInner = 0
    this.vlanOffset = -1
    this.pwOffset = -1
    this.etherType = 0
    this.l3Offset = -1
    this.ipVersion = 0
    this.ipLength = 0
    this.ipProto = 0
    this.ttl = 0
    this.fragOffset = 0
    this.isFragment = 0
    this.src4 = 0
    this.dst4 = 0
    this.src6Offset = -1
    this.dst6Offset = -1
    this.l4Offset = -1
    this.srcPort = 0
    this.dstPort = 0
    this.tcpFlags = 0
    this.icmpType = -1
    this.icmpCode = -1
    this.payloadOffset = -1
    this.vni = -1
    this.innerOffset = -1
    this.malformed = Malformed.None
    this.malformedAt = -1
  }

  /** Records why decoding stopped; returns -1 so a decoder can `return m.fail(…)`. */
  fail(reason: Malformed, at: number): -1 {
    this.malformed = reason
    this.malformedAt = at
    return -1
  }
}
