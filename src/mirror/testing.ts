// SPDX-License-Identifier: Apache-2.0
/** Test helpers of the mirroring domain: frame builders and state builders. Never imported by production code. @module */
import {
  decodeFrame,
  encodeEthernet,
  encodeIPv4,
  encodeIPv6,
  LinkType,
  PacketMeta,
  parseIPv4,
  parseIPv6,
  parseMAC,
} from '../packet/index.ts'
import type { MirrorState, TrafficMirrorFilterRule } from './model.ts'

/** What `buildFrame` builds: an Ethernet frame with IPv4/IPv6 and TCP/UDP/ICMP (or ARP). */
export interface FrameSpec {
  srcMac?: string
  dstMac?: string
  /** 'arp' builds an ARP request; otherwise addresses pick IPv4 or IPv6. */
  kind?: 'ip' | 'arp'
  src?: string
  dst?: string
  proto?: number
  sport?: number
  dport?: number
  payload?: number
  /**
   * Fragment offset (8-byte units); non-zero means a later fragment without L4 header. IPv4: the
   * header's offset field; IPv6: a fragment extension header is added when this or `moreFragments` is set.
   */
  fragOffset?: number
  /** The "more fragments" flag (IPv4 MF; IPv6 fragment header M). */
  moreFragments?: boolean
}

/** Builds one frame; returns its bytes. */
export function buildFrame(f: FrameSpec): Uint8Array {
  const srcMac = parseMAC(f.srcMac ?? '02:00:00:00:00:01')
  const dstMac = parseMAC(f.dstMac ?? '02:00:00:00:00:02')
  if (f.kind === 'arp') {
    const b = new Uint8Array(42)
    const v = new DataView(b.buffer)
    encodeEthernet(v, 0, parseMAC('ff:ff:ff:ff:ff:ff'), srcMac, 0x0806)
    v.setUint16(14, 1)
    v.setUint16(16, 0x0800)
    v.setUint8(18, 6)
    v.setUint8(19, 4)
    v.setUint16(20, 1)
    return b
  }
  const src = f.src ?? '10.0.0.1'
  const dst = f.dst ?? '10.0.0.2'
  const six = src.includes(':')
  const proto = f.proto ?? 6
  const l4len = proto === 6 ? 20 : 8
  const payload = f.payload ?? 0
  const later = (f.fragOffset ?? 0) !== 0
  const mf = f.moreFragments === true
  const frag6 = six && (later || mf)
  const l4total = (later ? 0 : l4len) + payload
  const l3len = six ? (frag6 ? 48 : 40) : 20
  const b = new Uint8Array(14 + l3len + l4total)
  const v = new DataView(b.buffer)
  let off = encodeEthernet(v, 0, dstMac, srcMac, six ? 0x86dd : 0x0800)
  if (frag6) {
    off = encodeIPv6(v, off, parseIPv6(src), parseIPv6(dst), 44, 8 + l4total, 64)
    v.setUint8(off, proto)
    v.setUint16(off + 2, (((f.fragOffset ?? 0) & 0x1fff) << 3) | (mf ? 1 : 0))
    v.setUint32(off + 4, 0x4d46)
    off += 8
  } else if (six) off = encodeIPv6(v, off, parseIPv6(src), parseIPv6(dst), proto, l4total, 64)
  else {
    off = encodeIPv4(v, off, parseIPv4(src), parseIPv4(dst), proto, 20 + l4total, 64, 1, false)
    if (later || mf) v.setUint16(20, ((f.fragOffset ?? 0) & 0x1fff) | (mf ? 0x2000 : 0))
  }
  if (!later) {
    if (proto === 6 || proto === 17) {
      v.setUint16(off, f.sport ?? 40000)
      v.setUint16(off + 2, f.dport ?? 80)
      if (proto === 6) v.setUint8(off + 12, 0x50)
      else v.setUint16(off + 4, 8 + payload)
    } else if (proto === 1 || proto === 58) {
      v.setUint8(off, proto === 1 ? 8 : 128)
    }
  }
  return b
}

/** Decodes a frame built by `buildFrame` into a fresh PacketMeta. */
export function decodeBuilt(b: Uint8Array): PacketMeta {
  const m = new PacketMeta()
  decodeFrame(new DataView(b.buffer, b.byteOffset, b.byteLength), 0, b.length, LinkType.Ethernet, m)
  return m
}

/** A rule with defaults (accept, all protocols, 0.0.0.0/0 both ways). */
export function rule(n: number, over: Partial<TrafficMirrorFilterRule> = {}): TrafficMirrorFilterRule {
  return {
    ruleNumber: n,
    ruleAction: 'accept',
    sourceCidrBlock: '0.0.0.0/0',
    destinationCidrBlock: '0.0.0.0/0',
    ...over,
  }
}

/** Accept-all rules for both families (rule numbers 100 and 101). */
export function acceptAll(): TrafficMirrorFilterRule[] {
  return [rule(100), rule(101, { sourceCidrBlock: '::/0', destinationCidrBlock: '::/0' })]
}

/**
 * A one-source state: source `eni-src` (MAC 02:00:00:00:00:01, 10.0.0.1, fd00::1), target `tmt-1`
 * at 10.9.0.9 (or an NLB with three appliances as `tmt-nlb`), and the sessions/filters given.
 */
export function simpleState(
  sessions: {
    number: number
    ingress?: TrafficMirrorFilterRule[]
    egress?: TrafficMirrorFilterRule[]
    dns?: boolean
    packetLength?: number
    vni?: number
    nlb?: boolean
  }[],
): MirrorState {
  return {
    sources: [
      { networkInterfaceId: 'eni-src', mac: '02:00:00:00:00:01', addresses: ['10.0.0.1', 'fd00::1'] },
    ],
    targets: [
      { trafficMirrorTargetId: 'tmt-1', type: 'network-interface', addresses: ['10.9.0.9'] },
      {
        trafficMirrorTargetId: 'tmt-nlb',
        type: 'network-load-balancer',
        addresses: ['10.9.1.1', '10.9.1.2', '10.9.1.3'],
      },
    ],
    filters: sessions.map((s, i) => ({
      trafficMirrorFilterId: `tmf-${i}`,
      ingressFilterRules: s.ingress ?? [],
      egressFilterRules: s.egress ?? [],
      networkServices: s.dns === true ? ['amazon-dns' as const] : [],
    })),
    sessions: sessions.map((s, i) => ({
      trafficMirrorSessionId: `tms-${s.number}`,
      networkInterfaceId: 'eni-src',
      trafficMirrorTargetId: s.nlb === true ? 'tmt-nlb' : 'tmt-1',
      trafficMirrorFilterId: `tmf-${i}`,
      sessionNumber: s.number,
      packetLength: s.packetLength,
      virtualNetworkId: s.vni ?? 1000 + s.number,
    })),
    amazonDnsResolvers: ['10.0.0.2', '169.254.169.253', 'fd00:ec2::253'],
  }
}
