// SPDX-License-Identifier: Apache-2.0
/**
 * Compiles the sessions of every source interface of a namespace into ONE nftables `netdev` table,
 * plus the vxlan devices it duplicates to. Pure: text and device specs out, no I/O.
 *
 * Shape of the table (spec-traffic-mirroring.md §1.4.2 written as nftables):
 *
 * ```
 * table netdev mirrorflow {                         # name = the configured prefix
 *   comment "mirrorflow:<hash of the whole ruleset>"
 *   chain in_<if> { type filter hook ingress device "<if>" priority 0; policy accept;
 *     <never-mirrored classes> accept             # ARP, DHCP, IMDS…, mirror traffic itself
 *                                                 #   (with its later IP fragments)
 *     jump s<number>_<if>_in  …                   # one jump per session, session-number order
 *   }
 *   chain out_<if> { … hook egress … }            # the same for egress
 *   chain s1_<if>_in {                            # one chain per session and direction
 *     <amazon-dns: resolver> dup to "<dev>" accept | return
 *     <rule 10 match> dup to "<dev>" accept        # accept rule: mirror, and stop (mirror once)
 *     <rule 20 match> return                       # reject rule: this session is done, next one
 *   }                                              # no match: falls off the end = next session
 * }
 * ```
 *
 * `accept` in a netdev base chain ends the hook's evaluation for the packet (which continues on its
 * way), so a packet accepted by session 1 is never seen by session 2: mirror-once. `return` leaves
 * only the session's chain.
 *
 * Limits of the kernel path, found on Linux 6.18 / nft 1.0.6, and why they go to user space:
 * - packet-length truncation: `dup` copies whole frames;
 * - load-balancer targets (several appliances, one VNI): Linux refuses to bring up a second vxlan
 *   device with the same VNI and UDP port ("A VXLAN device with the specified VNI already exists" /
 *   EADDRINUSE), and nft 1.0.6 cannot set tunnel metadata on an `external` device; so the per-flow
 *   appliance choice (`symhash`) has no device to `dup` to;
 * - VLAN-tagged frames are not parsed by `ip`/`ip6` matches (the user-space decoder reads them).
 * @module
 */
import { createHash } from 'node:crypto'
import { parseCidr } from '../../packet/index.ts'
import { NEVER_MIRRORED_IPV4, NEVER_MIRRORED_IPV6 } from '../evaluator.ts'
import {
  rulesOf,
  sessionsOf,
  type MirrorSource,
  type MirrorState,
  type TrafficMirrorFilterRule,
} from '../model.ts'

/** A vxlan device the table duplicates into: one per (session, appliance). */
export interface VxlanDeviceSpec {
  name: string
  vni: number
  local: string
  remote: string
  sessionId: string
}

/** The compiled form of one namespace's sources. */
export interface CompiledNftables {
  table: string
  /** The `nft -f` script that atomically replaces the table (or deletes it when there is no session). */
  script: string
  /** The table definition alone (what the comment hash covers). */
  ruleset: string
  /** Hash of `ruleset`, stored in the table's comment: equal hash = nothing to change. */
  hash: string
  devices: VxlanDeviceSpec[]
}

/** Naming of mirrorflow's kernel objects. Every name starts with the prefix, so none collides with the host's. */
export interface NftNaming {
  /** Table name (default `mirrorflow`). */
  table: string
  /** Device name prefix, at most 5 characters (default `mfv`): devices are `<prefix><8 hex><appliance>`. */
  devicePrefix: string
}

export const DEFAULT_NFT_NAMING: NftNaming = { table: 'mirrorflow', devicePrefix: 'mfv' }

/** Lowest and highest outer UDP source port of the vxlan devices (AWS observed 0xFF80–0xFFF5, spec §2.2). */
export const VXLAN_SRCPORT_MIN = 0xff80
export const VXLAN_SRCPORT_MAX = 0xffff

function quote(s: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(s)) throw new Error(`unsafe name for nftables: ${JSON.stringify(s)}`)
  return `"${s}"`
}

function chainId(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_')
}

/** Device name for (session, appliance): stable for equal parameters, different when VNI or addresses change. */
export function deviceName(
  naming: NftNaming,
  sessionId: string,
  vni: number,
  local: string,
  remote: string,
  appliance: number,
): string {
  const h = createHash('sha256').update(`${sessionId}|${vni}|${local}|${remote}`).digest('hex').slice(0, 8)
  const name = `${naming.devicePrefix}${h}${appliance.toString(36)}`
  if (name.length > 15) throw new Error(`device name too long: ${name}`)
  return name
}

/** The nftables match of one filter rule (empty string = matches everything of its family). */
export function ruleMatch(r: TrafficMirrorFilterRule): string {
  const src = parseCidr(r.sourceCidrBlock)
  const dst = parseCidr(r.destinationCidrBlock)
  const fam = src.family === 4 ? 'ip' : 'ip6'
  const parts = [`meta protocol ${fam}`]
  if (src.prefixLength > 0) parts.push(`${fam} saddr ${src.text}`)
  if (dst.prefixLength > 0) parts.push(`${fam} daddr ${dst.text}`)
  if (r.protocol !== undefined) parts.push(`meta l4proto ${r.protocol}`)
  const ports = r.sourcePortRange !== undefined || r.destinationPortRange !== undefined
  // Port ranges apply to TCP and UDP only (spec §1.4.1). `th` reads the transport header, which
  // nftables does not find on later fragments: those never match, as in the user-space evaluator.
  if (ports && r.protocol === undefined) parts.push('meta l4proto { 6, 17 }')
  const range = (p: { fromPort: number; toPort: number }) =>
    p.fromPort === p.toPort ? `${p.fromPort}` : `${p.fromPort}-${p.toPort}`
  if (r.sourcePortRange !== undefined) parts.push(`th sport ${range(r.sourcePortRange)}`)
  if (r.destinationPortRange !== undefined) parts.push(`th dport ${range(r.destinationPortRange)}`)
  return parts.join(' ')
}

/**
 * Lines of a base chain that let never-mirrored packets pass untouched (spec §2.4), ordered so that
 * ordinary TCP traffic fails each one on a single compare: the link-local services all sit in
 * 169.254.169.0/24 and fd00:ec2::/64, checked before the exact sets, and the UDP-only classes are in
 * the shared `never_udp` chain, entered for UDP only.
 */
function neverMirroredLines(): string[] {
  return [
    'ether type { arp, 0x8035 } accept',
    'meta l4proto udp jump never_udp',
    `ip saddr 169.254.169.0/24 ip saddr { ${NEVER_MIRRORED_IPV4.join(', ')} } accept`,
    `ip daddr 169.254.169.0/24 ip daddr { ${NEVER_MIRRORED_IPV4.join(', ')} } accept`,
    `ip6 saddr fd00:ec2::/64 ip6 saddr { ${NEVER_MIRRORED_IPV6.join(', ')} } accept`,
    `ip6 daddr fd00:ec2::/64 ip6 daddr { ${NEVER_MIRRORED_IPV6.join(', ')} } accept`,
  ]
}

/**
 * The shared `never_udp` chain: DHCP, and mirror traffic itself (UDP 4789 to a target, and the later
 * fragments of UDP to a target, which carry no port).
 */
function neverUdpChain(targets: string[]): string {
  const t4 = targets.filter((a) => !a.includes(':'))
  const t6 = targets.filter((a) => a.includes(':'))
  const lines = [
    'meta protocol ip udp sport { 67, 68 } udp dport { 67, 68 } accept',
    'meta protocol ip6 udp sport { 546, 547 } udp dport { 546, 547 } accept',
  ]
  // Mirror traffic itself is never mirrored (required to avoid loops; spec §2.4, UNCONFIRMED in AWS docs).
  // An outer packet above the path MTU leaves as fragments (DF is 0; the kernel cannot truncate as
  // AWS does, spec §2.3). The first fragment holds the UDP header and matches `udp dport 4789`; the
  // later ones have none (`udp dport` never matches them, while `meta l4proto udp` still does), so
  // every later UDP fragment to a target address is let through unmirrored as well.
  if (t4.length > 0) {
    lines.push(`ip daddr { ${t4.join(', ')} } udp dport 4789 accept`)
    lines.push(`ip daddr { ${t4.join(', ')} } ip frag-off & 0x1fff != 0 accept`)
  }
  if (t6.length > 0) {
    lines.push(`ip6 daddr { ${t6.join(', ')} } udp dport 4789 accept`)
    lines.push(`ip6 daddr { ${t6.join(', ')} } frag frag-off != 0 accept`)
  }
  return `\tchain never_udp {\n${lines.map((l) => `\t\t${l}\n`).join('')}\t}`
}

/**
 * True when a source can be served by the kernel path: no session of it truncates or targets several
 * appliances, and it is not an enforced interface whose sessions can mirror arriving packets. The
 * netdev ingress hook runs before netfilter, so a `dup` there would also copy the packets the
 * interface's security groups or network ACL then drop, which AWS never mirrors; nothing after the
 * inet filter can send the original Ethernet frame, so such a source goes to the user-space path,
 * which holds each arriving frame until its verdict is known (`MirrorSource.verdictGroup`).
 */
export function kernelCapable(state: MirrorState, source: MirrorSource): boolean {
  const targets = new Map(state.targets.map((t) => [t.trafficMirrorTargetId, t]))
  const filters = new Map(state.filters.map((f) => [f.trafficMirrorFilterId, f]))
  return sessionsOf(state, source.networkInterfaceId).every((s) => {
    if (s.packetLength !== undefined || targets.get(s.trafficMirrorTargetId)?.addresses.length !== 1)
      return false
    if (source.verdictGroup === undefined) return true
    const f = filters.get(s.trafficMirrorFilterId)
    return (
      f !== undefined &&
      !f.networkServices.includes('amazon-dns') &&
      !rulesOf(f, 'ingress').some((r) => r.ruleAction === 'accept')
    )
  })
}

/**
 * Compiles `sources` (all in one namespace, each with an `ifname`) into a table and its devices.
 * The state must be valid (`validateMirrorState`).
 */
export function compileNftables(
  state: MirrorState,
  sources: MirrorSource[],
  naming: NftNaming = DEFAULT_NFT_NAMING,
): CompiledNftables {
  const filters = new Map(state.filters.map((f) => [f.trafficMirrorFilterId, f]))
  const targets = new Map(state.targets.map((t) => [t.trafficMirrorTargetId, t]))
  const allTargets = [...new Set(state.targets.flatMap((t) => t.addresses))].sort()
  const dns4 = state.amazonDnsResolvers.filter((a) => !a.includes(':'))
  const dns6 = state.amazonDnsResolvers.filter((a) => a.includes(':'))
  const devices: VxlanDeviceSpec[] = []
  const chains: string[] = []
  for (const src of sources) {
    if (src.ifname === undefined) throw new Error(`source ${src.networkInterfaceId} has no interface name`)
    const sessions = sessionsOf(state, src.networkInterfaceId)
    if (sessions.length === 0) continue
    const ifq = quote(src.ifname)
    const ifc = chainId(src.ifname)
    for (const dir of ['ingress', 'egress'] as const) {
      const d = dir === 'ingress' ? 'in' : 'out'
      const jumps: string[] = []
      for (const s of sessions) {
        const target = targets.get(s.trafficMirrorTargetId)!
        const filter = filters.get(s.trafficMirrorFilterId)!
        const chain = `s${s.sessionNumber}_${ifc}_${d}`
        if (target.addresses.length !== 1) {
          throw new Error(
            `session ${s.trafficMirrorSessionId}: a load-balancer target needs the user-space path`,
          )
        }
        // The outer source is the interface's primary address of the target's family (spec §2.1).
        const devs = target.addresses.map((remote, i) => {
          const local = src.addresses.find((a) => a.includes(':') === remote.includes(':'))
          if (local === undefined)
            throw new Error(`source ${src.networkInterfaceId} has no address of ${remote}'s family`)
          const name = deviceName(naming, s.trafficMirrorSessionId, s.virtualNetworkId, local, remote, i)
          if (dir === 'ingress')
            devices.push({
              name,
              vni: s.virtualNetworkId,
              local,
              remote,
              sessionId: s.trafficMirrorSessionId,
            })
          return name
        })
        const body: string[] = []
        const mirror = `dup to ${quote(devs[0]!)} accept`
        // Amazon DNS (spec §1.3, UNCONFIRMED interpretation §7.6): mirrored by this session when its
        // filter has the service, whatever the rules; never by a session whose filter lacks it.
        const dnsVerdict = filter.networkServices.includes('amazon-dns') ? mirror : 'return'
        if (dns4.length > 0) {
          body.push(`meta protocol ip ip saddr { ${dns4.join(', ')} } ${dnsVerdict}`)
          body.push(`meta protocol ip ip daddr { ${dns4.join(', ')} } ${dnsVerdict}`)
        }
        if (dns6.length > 0) {
          body.push(`meta protocol ip6 ip6 saddr { ${dns6.join(', ')} } ${dnsVerdict}`)
          body.push(`meta protocol ip6 ip6 daddr { ${dns6.join(', ')} } ${dnsVerdict}`)
        }
        for (const r of rulesOf(filter, dir)) {
          body.push(
            `${ruleMatch(r)} ${r.ruleAction === 'accept' ? mirror : 'return'} comment "rule ${r.ruleNumber}"`,
          )
        }
        chains.push(`\tchain ${chain} {\n${body.map((l) => `\t\t${l}\n`).join('')}\t}`)
        jumps.push(`jump ${chain}`)
      }
      const base = [
        `type filter hook ${dir} device ${ifq} priority 0; policy accept;`,
        ...neverMirroredLines(),
        ...jumps,
      ]
      chains.unshift(`\tchain ${d}_${ifc} {\n${base.map((l) => `\t\t${l}\n`).join('')}\t}`)
    }
  }
  if (chains.length > 0) chains.push(neverUdpChain(allTargets))
  const body = chains.join('\n')
  const hash = createHash('sha256').update(body).update(JSON.stringify(devices)).digest('hex').slice(0, 16)
  const ruleset = `table netdev ${naming.table} {\n\tcomment "mirrorflow:${hash}"\n${body}\n}\n`
  // `table` first makes the delete valid when the table does not exist yet; all of it is one transaction.
  const script =
    chains.length === 0
      ? `table netdev ${naming.table}\ndelete table netdev ${naming.table}\n`
      : `table netdev ${naming.table}\ndelete table netdev ${naming.table}\n${ruleset}`
  return { table: naming.table, script, ruleset, hash, devices }
}
