// SPDX-License-Identifier: Apache-2.0
/**
 * Compiles the security groups and network ACLs of every interface of a namespace into ONE nftables
 * `inet` table, replaced atomically. Pure: text out, no I/O.
 *
 * ```
 * table inet mirrorflow_sg {
 *   chain pre  { type filter hook prerouting priority -150; …    # after conntrack, before DNAT
 *     iifname != @ifs return                                     # not an enforced interface
 *     jump exempt_in                                             # what AWS never filters: accept
 *     iifname vmap @nacl_in                                      # NACL inbound first (stateless)
 *     jump sg_in }                                               # then the security groups
 *   chain post { type filter hook postrouting priority -150; …   # before SNAT
 *     oifname != @ifs return
 *     jump exempt_out                                            # incl. this host's mirror copies
 *     jump sg_out                                                # security groups first
 *     oifname vmap @nacl_out }                                   # then NACL outbound
 *   chain sg_in { ct state established,related return            # stateful: tracked flows pass
 *     <ifname . peer . proto . port lookups in interval sets> return
 *     iifname vmap @rej_in }                                     # nothing allowed it: reject
 *   chain n<k>_in { <entry 1> return | iifname vmap @rej_in      # one chain per distinct ACL,
 *     …  <*: deny> }                                             # entries in rule-number order
 *   chain r<n>_in { log group <g> snaplen 128 queue-threshold 1; drop }   # per interface
 * }
 * ```
 *
 * The security-group rules of all interfaces live in 16 interval sets keyed by interface name
 * (direction × family × {every protocol, TCP/UDP ports, ICMP type/code, other protocol}), so a
 * packet costs one lookup per set whatever the number of rules or interfaces, and 1,000 interfaces
 * compile into one short ruleset. The kernel refuses overlapping elements in such sets, so the rules
 * of one interface are first cut into disjoint boxes (address range × port or type/code range).
 *
 * A drop goes through the interface's `r<n>` chain, which hands the packet's first 128 bytes to
 * NFLOG group `logGroup` before dropping it: the flow-log capture of that interface reads the group
 * and records the packet as REJECT in its direction. An interface with a `mirrorLogGroup` logs its
 * inbound drops to that group as well (`r<n>_in` has two `log` rules): its user-space mirror worker
 * reads it and does not mirror them.
 * @module
 */
import { createHash } from 'node:crypto'
import { parseCidr } from '../packet/index.ts'
import {
  validatePolicyState,
  type PolicyInterface,
  type PolicyNetworkAclEntry,
  type PolicySecurityGroupRule,
  type PolicyState,
} from './model.ts'

/** Names of the enforcement table. */
export interface PolicyNaming {
  /** The `inet` table (default `mirrorflow_sg`). */
  table: string
}

export const DEFAULT_POLICY_NAMING: PolicyNaming = { table: 'mirrorflow_sg' }

/** Priority of both base chains: after conntrack (-200), before NAT (-100 / 100). */
export const POLICY_PRIORITY = -150

/** Bytes of each dropped packet handed to NFLOG (network header on). */
export const NFLOG_SNAPLEN = 128

/** The compiled table of one namespace. */
export interface CompiledPolicy {
  table: string
  /** The `nft -f` script that atomically replaces the table (or only deletes it: no interface). */
  script: string
  /** The table body (what the hash covers). */
  ruleset: string
  /** Hash of `ruleset`, kept in the table's comment: equal hash = nothing to change. */
  hash: string
  /** Set elements written, all sets together (a measure of the table's size). */
  elements: number
}

/** Link-local services AWS never filters (IMDS, Time Sync, the link-local DNS resolver). */
export const EXEMPT_IPV4 = ['169.254.169.254', '169.254.169.123', '169.254.169.253']
export const EXEMPT_IPV6 = ['fd00:ec2::254', 'fd00:ec2::123', 'fd00:ec2::253']
/** ICMPv6 neighbour discovery and MLD: the link itself, never filtered (AWS answers ND for the instance). */
const ICMPV6_LINK_TYPES = [130, 131, 132, 133, 134, 135, 136, 137, 143]

type Fam = 4 | 6

// ---- address ranges ------------------------------------------------------------------------------

interface Range {
  lo: bigint
  hi: bigint
}

function cidrRange(text: string): { fam: Fam; r: Range } {
  const c = parseCidr(text)
  const bits = c.family === 4 ? 32n : 128n
  let base: bigint
  if (c.family === 4) base = BigInt(c.v4 >>> 0)
  else {
    base = 0n
    for (const b of c.v6) base = (base << 8n) | BigInt(b)
  }
  const size = 1n << (bits - BigInt(c.prefixLength))
  return { fam: c.family, r: { lo: base, hi: base + size - 1n } }
}

function addrText(fam: Fam, v: bigint): string {
  if (fam === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.')
  const parts: string[] = []
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(((v >> s) & 0xffffn).toString(16))
  return parts.join(':')
}

/** A range as nftables text: a CIDR block when it is one, else `a-b`. */
function rangeText(fam: Fam, r: Range): string {
  const bits = fam === 4 ? 32n : 128n
  const size = r.hi - r.lo + 1n
  if ((size & (size - 1n)) === 0n && r.lo % size === 0n) {
    let p = bits
    for (let s = size; s > 1n; s >>= 1n) p--
    return p === bits ? addrText(fam, r.lo) : `${addrText(fam, r.lo)}/${p}`
  }
  return `${addrText(fam, r.lo)}-${addrText(fam, r.hi)}`
}

function numRange(lo: number, hi: number): string {
  return lo === hi ? String(lo) : `${lo}-${hi}`
}

/** Sorted, disjoint, merged union of number ranges. */
function mergeNums(rs: Array<[number, number]>): Array<[number, number]> {
  const s = [...rs].sort((a, b) => a[0] - b[0])
  const out: Array<[number, number]> = []
  for (const [lo, hi] of s) {
    const last = out[out.length - 1]
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi)
    else out.push([lo, hi])
  }
  return out
}

function mergeRanges(rs: Range[]): Range[] {
  const s = [...rs].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0))
  const out: Range[] = []
  for (const r of s) {
    const last = out[out.length - 1]
    if (last !== undefined && r.lo <= last.hi + 1n) {
      if (r.hi > last.hi) last.hi = r.hi
    } else out.push({ lo: r.lo, hi: r.hi })
  }
  return out
}

/** A box: an address range × a (merged) list of number ranges (ports, or ICMP type<<8|code). */
interface Box {
  addr: Range
  nums: Array<[number, number]>
}

/**
 * Cuts the union of `boxes` into disjoint boxes: the address line is split at every box edge, each
 * piece gets the union of the number ranges of the boxes covering it, and neighbouring pieces with
 * equal unions are joined again.
 */
export function disjointBoxes(boxes: Box[]): Box[] {
  if (boxes.length === 0) return []
  const cuts = new Set<bigint>()
  for (const b of boxes) {
    cuts.add(b.addr.lo)
    cuts.add(b.addr.hi + 1n)
  }
  const points = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const out: Box[] = []
  let prevKey = ''
  for (let k = 0; k + 1 < points.length; k++) {
    const lo = points[k]!
    const hi = points[k + 1]! - 1n
    const nums: Array<[number, number]> = []
    for (const b of boxes) if (b.addr.lo <= lo && b.addr.hi >= hi) nums.push(...b.nums)
    if (nums.length === 0) {
      prevKey = ''
      continue
    }
    const merged = mergeNums(nums)
    const key = JSON.stringify(merged)
    const last = out[out.length - 1]
    if (key === prevKey && last !== undefined && last.addr.hi + 1n === lo) last.addr.hi = hi
    else out.push({ addr: { lo, hi }, nums: merged })
    prevKey = key
  }
  return out
}

// ---- security groups -----------------------------------------------------------------------------

/** The 8 sets of one direction, by family: every protocol, ports (tcp/udp), ICMP, other protocol. */
interface DirSets {
  all: Record<Fam, string[]>
  ports: Record<Fam, string[]>
  icmp: Record<Fam, string[]>
  other: Record<Fam, string[]>
}

function emptyDirSets(): DirSets {
  return { all: { 4: [], 6: [] }, ports: { 4: [], 6: [] }, icmp: { 4: [], 6: [] }, other: { 4: [], 6: [] } }
}

/** ICMP type/code as one number: type<<8 | code; null type = every type, null code = every code. */
function icmpNums(type: number | null, code: number | null): [number, number] {
  if (type === null) return [0, 0xffff]
  if (code === null) return [type << 8, (type << 8) | 0xff]
  return [(type << 8) | code, (type << 8) | code]
}

/** A type<<8|code range as (type range, code range) pieces. */
function icmpPieces(lo: number, hi: number): string[] {
  const tl = lo >> 8
  const th = hi >> 8
  if (tl === th) return [`${tl} . ${numRange(lo & 255, hi & 255)}`]
  const out: string[] = []
  let t0 = tl
  if ((lo & 255) !== 0) {
    out.push(`${tl} . ${numRange(lo & 255, 255)}`)
    t0 = tl + 1
  }
  let t1 = th
  if ((hi & 255) !== 255) {
    t1 = th - 1
  }
  if (t0 <= t1) out.push(`${numRange(t0, t1)} . 0-255`)
  if ((hi & 255) !== 255) out.push(`${th} . ${numRange(0, hi & 255)}`)
  return out
}

/** Adds one interface's rules of one direction to the sets. */
function addRules(sets: DirSets, ifname: string, rules: readonly PolicySecurityGroupRule[]): void {
  const q = `"${ifname}"`
  const all: Record<Fam, Range[]> = { 4: [], 6: [] }
  const ports = new Map<string, Box[]>() // `${fam}/${proto}`
  const icmp: Record<Fam, Box[]> = { 4: [], 6: [] }
  const other = new Map<string, Range[]>() // `${fam}/${proto}`
  const push = <T>(m: Map<string, T[]>, k: string, v: T): void => {
    const l = m.get(k)
    if (l === undefined) m.set(k, [v])
    else l.push(v)
  }
  for (const r of rules) {
    for (const block of r.cidrBlocks) {
      const { fam, r: addr } = cidrRange(block)
      if (r.protocol === -1) all[fam].push(addr)
      else if (r.protocol === 6 || r.protocol === 17) {
        const p = r.portRange ?? { fromPort: 0, toPort: 65535 }
        push(ports, `${fam}/${r.protocol}`, { addr, nums: [[p.fromPort, p.toPort]] })
      } else if ((r.protocol === 1 && fam === 4) || (r.protocol === 58 && fam === 6))
        icmp[fam].push({ addr, nums: [icmpNums(r.icmpType, r.icmpCode)] })
      else push(other, `${fam}/${r.protocol}`, addr)
    }
  }
  for (const fam of [4, 6] as const) {
    for (const a of mergeRanges(all[fam])) sets.all[fam].push(`${q} . ${rangeText(fam, a)}`)
    for (const b of disjointBoxes(icmp[fam]))
      for (const [lo, hi] of b.nums)
        for (const tc of icmpPieces(lo, hi)) sets.icmp[fam].push(`${q} . ${rangeText(fam, b.addr)} . ${tc}`)
  }
  for (const [k, boxes] of ports) {
    const [f, proto] = k.split('/')
    const fam = Number(f) as Fam
    for (const b of disjointBoxes(boxes))
      for (const [lo, hi] of b.nums)
        sets.ports[fam].push(`${q} . ${rangeText(fam, b.addr)} . ${proto} . ${numRange(lo, hi)}`)
  }
  for (const [k, addrs] of other) {
    const [f, proto] = k.split('/')
    const fam = Number(f) as Fam
    for (const a of mergeRanges(addrs)) sets.other[fam].push(`${q} . ${rangeText(fam, a)} . ${proto}`)
  }
}

const SET_TYPES = {
  all: { 4: 'ifname . ipv4_addr', 6: 'ifname . ipv6_addr' },
  ports: {
    4: 'ifname . ipv4_addr . inet_proto . inet_service',
    6: 'ifname . ipv6_addr . inet_proto . inet_service',
  },
  icmp: {
    4: 'ifname . ipv4_addr . icmp_type . icmp_code',
    6: 'ifname . ipv6_addr . icmpv6_type . icmpv6_code',
  },
  other: { 4: 'ifname . ipv4_addr . inet_proto', 6: 'ifname . ipv6_addr . inet_proto' },
} as const

function setDef(name: string, type: string, elements: readonly string[], interval = true): string {
  const flags = interval ? ' flags interval;' : ''
  const els = elements.length === 0 ? '' : ` elements = { ${elements.join(', ')} }`
  return `\tset ${name} { type ${type};${flags}${els} }\n`
}

/** The lookups of one direction's security-group chain (`in`: source + iifname; `out`: destination + oifname). */
function sgChain(dir: 'in' | 'out'): string {
  const ifk = dir === 'in' ? 'iifname' : 'oifname'
  const peer = dir === 'in' ? 'saddr' : 'daddr'
  const d = dir === 'in' ? 'i' : 'o'
  return (
    `\tchain sg_${dir} {\n` +
    '\t\tct state established,related return\n' +
    `\t\tmeta l4proto { tcp, udp } ${ifk} . ip ${peer} . meta l4proto . th dport @p4${d} return\n` +
    `\t\tmeta l4proto { tcp, udp } ${ifk} . ip6 ${peer} . meta l4proto . th dport @p6${d} return\n` +
    `\t\tmeta l4proto icmp ${ifk} . ip ${peer} . icmp type . icmp code @c4${d} return\n` +
    `\t\tmeta l4proto ipv6-icmp ${ifk} . ip6 ${peer} . icmpv6 type . icmpv6 code @c6${d} return\n` +
    `\t\t${ifk} . ip ${peer} . meta l4proto @o4${d} return\n` +
    `\t\t${ifk} . ip6 ${peer} . meta l4proto @o6${d} return\n` +
    `\t\t${ifk} . ip ${peer} @a4${d} return\n` +
    `\t\t${ifk} . ip6 ${peer} @a6${d} return\n` +
    `\t\t${ifk} vmap @rej_${dir}\n` +
    '\t}\n'
  )
}

// ---- network ACLs --------------------------------------------------------------------------------

/** The nftables text of one ACL entry (in: the block is the source; out: the destination). */
export function aclEntryRule(e: PolicyNetworkAclEntry, dir: 'in' | 'out'): string {
  const c = parseCidr(e.cidrBlock)
  const fam = c.family === 4 ? 'ip' : 'ip6'
  const parts: string[] = []
  if (c.prefixLength === 0) parts.push(`meta nfproto ${c.family === 4 ? 'ipv4' : 'ipv6'}`)
  else parts.push(`${fam} ${dir === 'in' ? 'saddr' : 'daddr'} ${c.text}`)
  if (e.protocol === 6 || e.protocol === 17) {
    parts.push(`meta l4proto ${e.protocol === 6 ? 'tcp' : 'udp'}`)
    if (e.portRange !== null && !(e.portRange.fromPort === 0 && e.portRange.toPort === 65535))
      parts.push(`th dport ${numRange(e.portRange.fromPort, e.portRange.toPort)}`)
  } else if (e.protocol === 1 && c.family === 4) {
    parts.push('meta l4proto icmp')
    if (e.icmpType !== null) parts.push(`icmp type ${e.icmpType}`)
    if (e.icmpCode !== null) parts.push(`icmp code ${e.icmpCode}`)
  } else if (e.protocol === 58 && c.family === 6) {
    parts.push('meta l4proto ipv6-icmp')
    if (e.icmpType !== null) parts.push(`icmpv6 type ${e.icmpType}`)
    if (e.icmpCode !== null) parts.push(`icmpv6 code ${e.icmpCode}`)
  } else if (e.protocol !== -1) parts.push(`meta l4proto ${e.protocol}`)
  const verdict =
    e.ruleAction === 'allow' ? 'return' : `${dir === 'in' ? 'iifname' : 'oifname'} vmap @rej_${dir}`
  return `${parts.join(' ')} ${verdict}`
}

function aclChain(name: string, entries: readonly PolicyNetworkAclEntry[], dir: 'in' | 'out'): string {
  const sorted = [...entries].sort((a, b) => a.ruleNumber - b.ruleNumber)
  const lines = sorted.map((e) => `\t\t${aclEntryRule(e, dir)}\n`)
  // The `*` entry: whatever no entry matched is denied (also when the list lacks it).
  lines.push(`\t\t${dir === 'in' ? 'iifname' : 'oifname'} vmap @rej_${dir}\n`)
  return `\tchain ${name} {\n${lines.join('')}\t}\n`
}

// ---- the table -----------------------------------------------------------------------------------

function exemptChains(state: PolicyState): string {
  const extra4 = state.exemptAddresses.filter((a) => !a.includes(':'))
  const extra6 = state.exemptAddresses.filter((a) => a.includes(':'))
  const v4 = [...EXEMPT_IPV4, ...extra4]
  const v6 = [...EXEMPT_IPV6, ...extra6]
  const t4 = state.mirrorTargets.filter((a) => !a.includes(':'))
  const t6 = state.mirrorTargets.filter((a) => a.includes(':'))
  const common = (peer: string) =>
    '\t\tmeta nfproto ipv4 udp sport { 67, 68 } udp dport { 67, 68 } accept\n' +
    '\t\tmeta nfproto ipv6 udp sport { 546, 547 } udp dport { 546, 547 } accept\n' +
    `\t\ticmpv6 type { ${ICMPV6_LINK_TYPES.join(', ')} } accept\n` +
    `\t\tip ${peer} { ${v4.join(', ')} } accept\n` +
    `\t\tip6 ${peer} { ${v6.join(', ')} } accept\n`
  const cp = (dir: 'in' | 'out') =>
    (state.controlPlane ?? [])
      .map((c) => {
        const fam = c.address.includes(':') ? 'ip6' : 'ip'
        const [peer, port] = dir === 'in' ? ['saddr', 'sport'] : ['daddr', 'dport']
        return `\t\t${fam} ${peer} ${c.address} tcp ${port} ${c.port} accept\n`
      })
      .join('')
  let out = `\tchain exempt_in {\n${common('saddr')}${cp('in')}\t}\n`
  out += `\tchain exempt_out {\n${common('daddr')}${cp('out')}`
  // This host's mirror copies (VXLAN to a target) are not checked against the source's rules.
  if (t4.length > 0) out += `\t\tip daddr { ${t4.join(', ')} } udp dport 4789 accept\n`
  if (t6.length > 0) out += `\t\tip6 daddr { ${t6.join(', ')} } udp dport 4789 accept\n`
  out += '\t}\n'
  return out
}

/**
 * The source/destination check of the interfaces that have it on (`ownAddresses`): an arriving
 * packet to an address that is not the interface's own, or a leaving one from such an address, goes
 * to the interface's reject chain (logged, dropped), before the network ACL and the groups. IPv6
 * link-local and multicast destinations (neighbour discovery, MLD) are not checked. Nothing at all
 * when no interface has the check on.
 */
function sourceDestCheck(ifaces: readonly PolicyInterface[]): {
  text: string
  jumpIn: string
  jumpOut: string
} {
  const on = ifaces.filter((i) => i.ownAddresses !== undefined)
  if (on.length === 0) return { text: '', jumpIn: '', jumpOut: '' }
  const own = (fam: 4 | 6) =>
    on.flatMap((i) =>
      i.ownAddresses!.filter((a) => a.includes(':') === (fam === 6)).map((a) => `"${i.ifname}" . ${a}`),
    )
  let text = setDef(
    'sdc',
    'ifname',
    on.map((i) => `"${i.ifname}"`),
    false,
  )
  text += setDef('own4', 'ifname . ipv4_addr', own(4), false)
  text += setDef('own6', 'ifname . ipv6_addr', own(6), false)
  for (const dir of ['in', 'out'] as const) {
    const ifk = dir === 'in' ? 'iifname' : 'oifname'
    const a = dir === 'in' ? 'daddr' : 'saddr'
    text +=
      `\tchain sdc_${dir} {\n\t\t${ifk} != @sdc return\n` +
      `\t\tmeta nfproto ipv4 ${ifk} . ip ${a} != @own4 ${ifk} vmap @rej_${dir}\n` +
      `\t\tip6 ${a} { fe80::/10, ff00::/8 } return\n` +
      `\t\tmeta nfproto ipv6 ${ifk} . ip6 ${a} != @own6 ${ifk} vmap @rej_${dir}\n\t}\n`
  }
  return { text, jumpIn: '\t\tjump sdc_in\n', jumpOut: '\t\tjump sdc_out\n' }
}

function aclKey(i: PolicyInterface): string {
  return JSON.stringify([i.networkAcl.networkAclId, i.networkAcl.ingress, i.networkAcl.egress])
}

/**
 * Compiles a namespace's state. Throws `PolicyConfigError` on an invalid state. Interfaces are taken
 * in name order, so the same state always gives the same text (and hash).
 */
export function compilePolicy(
  state: PolicyState,
  naming: PolicyNaming = DEFAULT_POLICY_NAMING,
): CompiledPolicy {
  validatePolicyState(state)
  const t = naming.table
  if (!/^[A-Za-z0-9_]{1,64}$/.test(t)) throw new TypeError(`bad table name ${t}`)
  const ifaces = [...state.interfaces].sort((a, b) =>
    a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0,
  )
  if (ifaces.length === 0) {
    return {
      table: t,
      script: `table inet ${t}\ndelete table inet ${t}\n`,
      ruleset: '',
      hash: '',
      elements: 0,
    }
  }
  const inSets = emptyDirSets()
  const outSets = emptyDirSets()
  const acls = new Map<string, number>()
  const aclText: string[] = []
  const naclIn: string[] = []
  const naclOut: string[] = []
  const rejIn: string[] = []
  const rejOut: string[] = []
  const rejChains: string[] = []
  ifaces.forEach((i, n) => {
    addRules(inSets, i.ifname, i.ingressRules)
    addRules(outSets, i.ifname, i.egressRules)
    const key = aclKey(i)
    let k = acls.get(key)
    if (k === undefined) {
      k = acls.size
      acls.set(key, k)
      aclText.push(aclChain(`n${k}_in`, i.networkAcl.ingress, 'in'))
      aclText.push(aclChain(`n${k}_out`, i.networkAcl.egress, 'out'))
    }
    const q = `"${i.ifname}"`
    naclIn.push(`${q} : jump n${k}_in`)
    naclOut.push(`${q} : jump n${k}_out`)
    rejIn.push(`${q} : goto r${n}_in`)
    rejOut.push(`${q} : goto r${n}_out`)
    const log = `log group ${i.logGroup} snaplen ${NFLOG_SNAPLEN} queue-threshold 1`
    const mlog =
      i.mirrorLogGroup === undefined
        ? ''
        : `\t\tlog group ${i.mirrorLogGroup} snaplen ${NFLOG_SNAPLEN} queue-threshold 1\n`
    rejChains.push(`\tchain r${n}_in {\n\t\t${log}\n${mlog}\t\tdrop\n\t}\n`)
    rejChains.push(`\tchain r${n}_out {\n\t\t${log}\n\t\tdrop\n\t}\n`)
  })
  let body = ''
  let elements = 0
  body += setDef(
    'ifs',
    'ifname',
    ifaces.map((i) => `"${i.ifname}"`),
    false,
  )
  for (const [d, sets] of [
    ['i', inSets],
    ['o', outSets],
  ] as const) {
    for (const fam of [4, 6] as const) {
      body += setDef(`a${fam}${d}`, SET_TYPES.all[fam], sets.all[fam])
      body += setDef(`p${fam}${d}`, SET_TYPES.ports[fam], sets.ports[fam])
      body += setDef(`c${fam}${d}`, SET_TYPES.icmp[fam], sets.icmp[fam])
      body += setDef(`o${fam}${d}`, SET_TYPES.other[fam], sets.other[fam])
      elements +=
        sets.all[fam].length + sets.ports[fam].length + sets.icmp[fam].length + sets.other[fam].length
    }
  }
  body += rejChains.join('')
  body += `\tmap rej_in { type ifname : verdict; elements = { ${rejIn.join(', ')} } }\n`
  body += `\tmap rej_out { type ifname : verdict; elements = { ${rejOut.join(', ')} } }\n`
  body += aclText.join('')
  body += `\tmap nacl_in { type ifname : verdict; elements = { ${naclIn.join(', ')} } }\n`
  body += `\tmap nacl_out { type ifname : verdict; elements = { ${naclOut.join(', ')} } }\n`
  body += exemptChains(state)
  const sdc = sourceDestCheck(ifaces)
  body += sdc.text
  body += sgChain('in')
  body += sgChain('out')
  body +=
    `\tchain pre {\n\t\ttype filter hook prerouting priority ${POLICY_PRIORITY}; policy accept;\n` +
    `\t\tiifname != @ifs return\n\t\tjump exempt_in\n${sdc.jumpIn}\t\tiifname vmap @nacl_in\n\t\tjump sg_in\n\t}\n`
  body +=
    `\tchain post {\n\t\ttype filter hook postrouting priority ${POLICY_PRIORITY}; policy accept;\n` +
    `\t\toifname != @ifs return\n\t\tjump exempt_out\n${sdc.jumpOut}\t\tjump sg_out\n\t\toifname vmap @nacl_out\n\t}\n`
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 32)
  const ruleset = `table inet ${t} {\n\tcomment "mirrorflow-policy:${hash}"\n${body}}\n`
  return { table: t, script: `table inet ${t}\ndelete table inet ${t}\n${ruleset}`, ruleset, hash, elements }
}
