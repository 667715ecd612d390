// SPDX-License-Identifier: Apache-2.0
/**
 * The filter evaluator: decides, for a decoded packet seen at a source interface in one direction,
 * which session (if any) mirrors it — spec-traffic-mirroring.md §1.4.2. A `MirrorState` is compiled
 * once into flat typed arrays; `evaluate()` then walks them with no allocation per packet.
 *
 * ```ts
 * const ev = new MirrorEvaluator(state)
 * const dir = ev.directionOf(src, m, bytes)              // Direction.Ingress / Egress / -1
 * const k = dir < 0 ? -1 : ev.evaluate(src, dir, m, bytes)
 * if (k >= 0) send(ev.sessionVni[k], ev.sessionPacketLength[k], ...)
 * ```
 * @module
 */
import {
  ETHERTYPE_ARP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  isDhcpPorts,
  VXLAN_PORT,
  LinkType,
  parseMAC,
} from '../packet/index.ts'
import type { PacketMeta } from '../packet/index.ts'
import { cidr6Contains, parseCidr, type Cidr } from '../packet/index.ts'
import {
  rulesOf,
  sessionsOf,
  validateMirrorState,
  type MirrorState,
  type TrafficMirrorSession,
  type TrafficMirrorTarget,
} from './model.ts'

/** Packet direction at the source interface: ingress = received by it, egress = sent by it. */
export const Direction = { Ingress: 0, Egress: 1 } as const
export type Direction = (typeof Direction)[keyof typeof Direction]

const ETHERTYPE_RARP = 0x8035

/**
 * IPv4 link-local AWS services that are never mirrored (spec §2.4): instance metadata (.254), Amazon
 * Time Sync (.123) and the Windows activation (KMS) servers (.250, .251). The spec interprets
 * "instance metadata, NTP, Windows activation" as these link-local services; NTP to any other server
 * IS mirrored (observed in the AWS capture). All sit in 169.254.169.0/24 (the kernel path relies on it).
 */
export const NEVER_MIRRORED_IPV4: readonly string[] = [
  '169.254.169.254',
  '169.254.169.123',
  '169.254.169.250',
  '169.254.169.251',
]
/** IPv6 counterparts (IMDS and Time Sync on Nitro); all in fd00:ec2::/64 (the kernel path relies on it). */
export const NEVER_MIRRORED_IPV6: readonly string[] = ['fd00:ec2::254', 'fd00:ec2::123']

/** An address list split by family for allocation-free membership tests. */
class AddressSet {
  readonly v4: Uint32Array
  readonly v6: Uint8Array
  readonly n6: number
  constructor(addrs: readonly string[]) {
    const c = addrs.map((a) => parseCidr(a.split('/')[0]!))
    const c4 = c.filter((x) => x.family === 4)
    const c6 = c.filter((x) => x.family === 6)
    this.v4 = Uint32Array.from(c4.map((x) => x.v4))
    this.n6 = c6.length
    this.v6 = new Uint8Array(16 * c6.length)
    c6.forEach((x, i) => this.v6.set(x.v6, 16 * i))
  }
  has4(a: number): boolean {
    const v = this.v4
    for (let i = 0; i < v.length; i++) if (v[i] === a) return true
    return false
  }
  has6(b: Uint8Array, off: number): boolean {
    for (let k = 0; k < this.n6; k++) {
      let i = 0
      while (i < 16 && this.v6[16 * k + i] === b[off + i]) i++
      if (i === 16) return true
    }
    return false
  }
  /** True when the packet's source or destination is in the set. */
  hasEither(m: PacketMeta, b: Uint8Array): boolean {
    if (m.ipVersion === 4) return this.has4(m.src4 >>> 0) || this.has4(m.dst4 >>> 0)
    if (m.ipVersion === 6) return this.has6(b, m.src6Offset) || this.has6(b, m.dst6Offset)
    return false
  }
  hasDst(m: PacketMeta, b: Uint8Array): boolean {
    if (m.ipVersion === 4) return this.has4(m.dst4 >>> 0)
    if (m.ipVersion === 6) return this.has6(b, m.dst6Offset)
    return false
  }
  hasSrc(m: PacketMeta, b: Uint8Array): boolean {
    if (m.ipVersion === 4) return this.has4(m.src4 >>> 0)
    if (m.ipVersion === 6) return this.has6(b, m.src6Offset)
    return false
  }
}

/**
 * A compiled `MirrorState`. Sources, sessions and rules are numbered densely; the public typed arrays
 * describe the sessions (index `k` as returned by `evaluate`). Immutable once built: compile a new one
 * when the state changes.
 */
export class MirrorEvaluator {
  /** The state it was compiled from. */
  readonly state: MirrorState
  /** Source `i` is `state.sources[i]`. */
  readonly sourceCount: number
  /** Compiled session `k`: the state's session object (in evaluation order, grouped by source). */
  readonly sessions: readonly TrafficMirrorSession[]
  readonly sessionTargets: readonly TrafficMirrorTarget[]
  /** The session's VNI. */
  readonly sessionVni: Uint32Array
  /** Bytes of the inner frame to keep; 0 = the whole frame. */
  readonly sessionPacketLength: Uint32Array
  /** Index of the session's source. */
  readonly sessionSource: Uint32Array

  // Sessions of source i: [srcSessStart[i], srcSessEnd[i]).
  readonly #srcSessStart: Uint32Array
  readonly #srcSessEnd: Uint32Array
  // Rules of session k, direction d: [ruleStart[2k+d], ruleEnd[2k+d]).
  readonly #ruleStart: Uint32Array
  readonly #ruleEnd: Uint32Array
  readonly #sessDns: Uint8Array
  // Rule tables (struct of arrays).
  readonly #rAccept: Uint8Array
  readonly #rFamily: Uint8Array
  /** -1 = all protocols. */
  readonly #rProto: Int16Array
  readonly #rSrc4: Uint32Array
  readonly #rSrcMask4: Uint32Array
  readonly #rDst4: Uint32Array
  readonly #rDstMask4: Uint32Array
  readonly #rSrc6: Cidr[]
  readonly #rDst6: Cidr[]
  /** Port ranges; lo = -1 means "no range". */
  readonly #rSpLo: Int32Array
  readonly #rSpHi: Int32Array
  readonly #rDpLo: Int32Array
  readonly #rDpHi: Int32Array
  // Source identity: MAC as hi16/lo32 (macHi -1 = unknown) and addresses.
  readonly #macHi: Int32Array
  readonly #macLo: Uint32Array
  readonly #srcAddrs: AddressSet[]
  readonly #dns: AddressSet
  readonly #never: AddressSet
  readonly #targets: AddressSet

  /** Validates and compiles a state. Throws `MirrorConfigError` when the state is invalid. */
  constructor(state: MirrorState) {
    validateMirrorState(state)
    this.state = state
    this.sourceCount = state.sources.length
    const filters = new Map(state.filters.map((f) => [f.trafficMirrorFilterId, f]))
    const targets = new Map(state.targets.map((t) => [t.trafficMirrorTargetId, t]))
    const sessions: TrafficMirrorSession[] = []
    this.#srcSessStart = new Uint32Array(this.sourceCount)
    this.#srcSessEnd = new Uint32Array(this.sourceCount)
    state.sources.forEach((src, i) => {
      this.#srcSessStart[i] = sessions.length
      sessions.push(...sessionsOf(state, src.networkInterfaceId))
      this.#srcSessEnd[i] = sessions.length
    })
    this.sessions = sessions
    this.sessionTargets = sessions.map((s) => targets.get(s.trafficMirrorTargetId)!)
    const n = sessions.length
    this.sessionVni = Uint32Array.from(sessions.map((s) => s.virtualNetworkId))
    this.sessionPacketLength = Uint32Array.from(sessions.map((s) => s.packetLength ?? 0))
    const srcIndex = new Map(state.sources.map((s, i) => [s.networkInterfaceId, i]))
    this.sessionSource = Uint32Array.from(sessions.map((s) => srcIndex.get(s.networkInterfaceId)!))
    this.#sessDns = Uint8Array.from(
      sessions.map((s) =>
        filters.get(s.trafficMirrorFilterId)!.networkServices.includes('amazon-dns') ? 1 : 0,
      ),
    )
    this.#ruleStart = new Uint32Array(2 * n)
    this.#ruleEnd = new Uint32Array(2 * n)
    const flat: {
      accept: boolean
      proto: number
      src: Cidr
      dst: Cidr
      sp: [number, number]
      dp: [number, number]
    }[] = []
    sessions.forEach((s, k) => {
      const f = filters.get(s.trafficMirrorFilterId)!
      for (const d of [Direction.Ingress, Direction.Egress]) {
        this.#ruleStart[2 * k + d] = flat.length
        for (const r of rulesOf(f, d === Direction.Ingress ? 'ingress' : 'egress')) {
          flat.push({
            accept: r.ruleAction === 'accept',
            proto: r.protocol ?? -1,
            src: parseCidr(r.sourceCidrBlock),
            dst: parseCidr(r.destinationCidrBlock),
            sp: r.sourcePortRange ? [r.sourcePortRange.fromPort, r.sourcePortRange.toPort] : [-1, -1],
            dp: r.destinationPortRange
              ? [r.destinationPortRange.fromPort, r.destinationPortRange.toPort]
              : [-1, -1],
          })
        }
        this.#ruleEnd[2 * k + d] = flat.length
      }
    })
    this.#rAccept = Uint8Array.from(flat.map((r) => (r.accept ? 1 : 0)))
    this.#rFamily = Uint8Array.from(flat.map((r) => r.src.family))
    this.#rProto = Int16Array.from(flat.map((r) => r.proto))
    this.#rSrc4 = Uint32Array.from(flat.map((r) => r.src.v4))
    this.#rSrcMask4 = Uint32Array.from(flat.map((r) => r.src.mask4))
    this.#rDst4 = Uint32Array.from(flat.map((r) => r.dst.v4))
    this.#rDstMask4 = Uint32Array.from(flat.map((r) => r.dst.mask4))
    this.#rSrc6 = flat.map((r) => r.src)
    this.#rDst6 = flat.map((r) => r.dst)
    this.#rSpLo = Int32Array.from(flat.map((r) => r.sp[0]))
    this.#rSpHi = Int32Array.from(flat.map((r) => r.sp[1]))
    this.#rDpLo = Int32Array.from(flat.map((r) => r.dp[0]))
    this.#rDpHi = Int32Array.from(flat.map((r) => r.dp[1]))
    this.#macHi = new Int32Array(this.sourceCount).fill(-1)
    this.#macLo = new Uint32Array(this.sourceCount)
    state.sources.forEach((s, i) => {
      if (s.mac === '') return
      const mac = parseMAC(s.mac)
      this.#macHi[i] = (mac[0]! << 8) | mac[1]!
      this.#macLo[i] = ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0
    })
    this.#srcAddrs = state.sources.map((s) => new AddressSet(s.addresses))
    this.#dns = new AddressSet(state.amazonDnsResolvers)
    this.#never = new AddressSet([...NEVER_MIRRORED_IPV4, ...NEVER_MIRRORED_IPV6])
    this.#targets = new AddressSet(state.targets.flatMap((t) => t.addresses))
  }

  /** Index of a source by its interface id, or -1. */
  sourceIndex(networkInterfaceId: string): number {
    return this.state.sources.findIndex((s) => s.networkInterfaceId === networkInterfaceId)
  }

  /**
   * The direction of a frame at source `i`, or -1 when the frame is not that interface's. Ethernet
   * frames: sent by its MAC = egress; to its MAC, broadcast or multicast = ingress. Without a MAC (or
   * link types without Ethernet): source address is one of its addresses = egress, destination = ingress.
   */
  directionOf(i: number, m: PacketMeta, bytes: Uint8Array): number {
    if (m.linkType === LinkType.Ethernet && this.#macHi[i]! >= 0 && m.frameEnd - m.frameStart >= 14) {
      const o = m.frameStart
      const hi = this.#macHi[i]!
      const lo = this.#macLo[i]!
      if (
        ((bytes[o + 6]! << 8) | bytes[o + 7]!) === hi &&
        ((bytes[o + 8]! << 24) | (bytes[o + 9]! << 16) | (bytes[o + 10]! << 8) | bytes[o + 11]!) >>> 0 === lo
      ) {
        return Direction.Egress
      }
      if (
        ((bytes[o]! << 8) | bytes[o + 1]!) === hi &&
        ((bytes[o + 2]! << 24) | (bytes[o + 3]! << 16) | (bytes[o + 4]! << 8) | bytes[o + 5]!) >>> 0 === lo
      ) {
        return Direction.Ingress
      }
      return (bytes[o]! & 1) === 1 ? Direction.Ingress : -1
    }
    const a = this.#srcAddrs[i]!
    if (a.hasSrc(m, bytes)) return Direction.Egress
    if (a.hasDst(m, bytes)) return Direction.Ingress
    return -1
  }

  /**
   * True for packets that are never mirrored, whatever the filters say (spec §2.4): ARP/RARP, DHCP,
   * the link-local AWS services, and mirror traffic itself (UDP to port 4789 of a target address —
   * UNCONFIRMED in AWS's docs, required to avoid loops).
   *
   * Mirror traffic larger than the path MTU leaves the host as IP fragments (the outer DF bit is 0 and
   * Linux fragments where AWS would truncate, spec §2.3). The first fragment carries the UDP header
   * and is caught by the port test; the later ones carry no UDP header, so every later UDP fragment
   * (IPv4 offset ≠ 0, or IPv6 fragment header with offset ≠ 0) to a target address is never mirrored
   * either. This also spares later fragments of other UDP traffic to a target address: the port is
   * unknowable without reassembly, and mirroring them again would loop.
   */
  isNeverMirrored(m: PacketMeta, bytes: Uint8Array): boolean {
    if (m.etherType === ETHERTYPE_ARP || m.etherType === ETHERTYPE_RARP) return true
    if (m.ipVersion === 0) return false
    if (m.ipProto === IPPROTO_UDP) {
      if (m.fragOffset !== 0) {
        if (this.#targets.hasDst(m, bytes)) return true
      } else {
        // DHCP (v4: 67/68, v6: 546/547) is never mirrored (spec §2.4): a UDP packet between two such ports.
        if (isDhcpPorts(m.srcPort, m.dstPort)) return true
        if (m.dstPort === VXLAN_PORT && this.#targets.hasDst(m, bytes)) return true
      }
    }
    return this.#never.hasEither(m, bytes)
  }

  /** True for Amazon DNS traffic: to or from one of the VPC's resolver addresses (spec §1.3). */
  isAmazonDns(m: PacketMeta, bytes: Uint8Array): boolean {
    return this.#dns.hasEither(m, bytes)
  }

  /**
   * The session that mirrors a packet seen at source `i` in direction `d`, or -1 (spec §1.4.2):
   * sessions in session-number order; in each, the filter's rules for `d` in rule-number order, the
   * first matching rule decides — accept: this session mirrors the packet (and no other session
   * does); reject or no match: this session does not, the next one is tried. UNCONFIRMED (spec §7.5):
   * a reject in one session does not stop lower-priority sessions. Amazon DNS traffic is mirrored
   * by a session exactly when its filter has the `amazon-dns` network service, whatever its rules
   * (UNCONFIRMED, spec §7.6: we follow the recommendation).
   */
  evaluate(i: number, d: number, m: PacketMeta, bytes: Uint8Array): number {
    const end = this.#srcSessEnd[i]!
    let k = this.#srcSessStart[i]!
    if (k === end || this.isNeverMirrored(m, bytes)) return -1
    if (m.ipVersion === 0) return -1
    const dns = this.isAmazonDns(m, bytes)
    for (; k < end; k++) {
      if (dns) {
        if (this.#sessDns[k] === 1) return k
        continue
      }
      const rEnd = this.#ruleEnd[2 * k + d]!
      for (let r = this.#ruleStart[2 * k + d]!; r < rEnd; r++) {
        if (this.#matches(r, m, bytes)) {
          if (this.#rAccept[r] === 1) return k
          break
        }
      }
    }
    return -1
  }

  #matches(r: number, m: PacketMeta, bytes: Uint8Array): boolean {
    if (this.#rFamily[r] !== m.ipVersion) return false
    const proto = this.#rProto[r]!
    if (proto >= 0 && proto !== m.ipProto) return false
    if (m.ipVersion === 4) {
      if ((m.src4 & this.#rSrcMask4[r]!) >>> 0 !== this.#rSrc4[r]) return false
      if ((m.dst4 & this.#rDstMask4[r]!) >>> 0 !== this.#rDst4[r]) return false
    } else {
      if (!cidr6Contains(this.#rSrc6[r]!, bytes, m.src6Offset)) return false
      if (!cidr6Contains(this.#rDst6[r]!, bytes, m.dst6Offset)) return false
    }
    const spLo = this.#rSpLo[r]!
    const dpLo = this.#rDpLo[r]!
    if (spLo >= 0 || dpLo >= 0) {
      // Port ranges apply to TCP and UDP only, and need the L4 header: later fragments never match.
      if ((m.ipProto !== IPPROTO_TCP && m.ipProto !== IPPROTO_UDP) || m.fragOffset !== 0 || m.l4Offset < 0)
        return false
      if (spLo >= 0 && (m.srcPort < spLo || m.srcPort > this.#rSpHi[r]!)) return false
      if (dpLo >= 0 && (m.dstPort < dpLo || m.dstPort > this.#rDpHi[r]!)) return false
    }
    return true
  }
}
