// SPDX-License-Identifier: Apache-2.0
/**
 * The mirroring model the datapaths work from: sources (network interfaces), targets, filters with
 * their rules, and sessions — AWS's concepts under AWS's names (spec-traffic-mirroring.md §1).
 * `validateMirrorState()` checks a state before it is compiled; `assignVni()` picks a random unused VNI.
 * @module
 */
import { randomInt } from 'node:crypto'
import { MirrorConfigError } from './errors.ts'
import { tryParseCidr } from '../packet/index.ts'
import { checkFilterRule } from './rule-check.ts'

export type TrafficDirection = 'ingress' | 'egress'
export type RuleAction = 'accept' | 'reject'

/** An inclusive port range (`FromPort`..`ToPort`). */
export interface PortRange {
  fromPort: number
  toPort: number
}

/** One filter rule (AWS `TrafficMirrorFilterRule`). `protocol` undefined means all protocols. */
export interface TrafficMirrorFilterRule {
  ruleNumber: number
  ruleAction: RuleAction
  protocol?: number | undefined
  sourceCidrBlock: string
  destinationCidrBlock: string
  sourcePortRange?: PortRange | undefined
  destinationPortRange?: PortRange | undefined
}

/** A filter (AWS `TrafficMirrorFilter`): ingress and egress rule lists and network services. */
export interface TrafficMirrorFilter {
  trafficMirrorFilterId: string
  ingressFilterRules: TrafficMirrorFilterRule[]
  egressFilterRules: TrafficMirrorFilterRule[]
  /** Only `amazon-dns` exists (spec §1.3). */
  networkServices: 'amazon-dns'[]
}

/**
 * A target. `network-interface`: one address. `network-load-balancer`: mirrorflow's equivalent of an
 * NLB with a UDP 4789 listener — a group of appliance addresses; each inner flow goes to one of
 * them, chosen by a symmetric hash so both directions of a flow reach the same appliance (spec §2.6).
 */
export interface TrafficMirrorTarget {
  trafficMirrorTargetId: string
  type: 'network-interface' | 'network-load-balancer'
  /** One address for an interface target; the appliances, in order, for a load balancer. */
  addresses: string[]
}

/** A session (AWS `TrafficMirrorSession`). `packetLength` undefined means the whole packet. */
export interface TrafficMirrorSession {
  trafficMirrorSessionId: string
  networkInterfaceId: string
  trafficMirrorTargetId: string
  trafficMirrorFilterId: string
  sessionNumber: number
  packetLength?: number | undefined
  virtualNetworkId: number
}

/**
 * A source network interface. `addresses[0]` is its primary address (the outer source of the VXLAN
 * packets, spec §2.1); `mac` and the addresses tell egress (sent by it) from ingress (received).
 */
export interface MirrorSource {
  networkInterfaceId: string
  /** Linux interface name (the datapaths attach to it); may be absent offline. */
  ifname?: string | undefined
  /** Network namespace the interface lives in, when not the current one. */
  netns?: string | undefined
  mac: string
  addresses: string[]
  /**
   * The NFLOG group the interface's security groups and network ACL log the arriving packets they
   * drop to, for the mirror (absent: the interface is not enforced). An enforced interface's arriving
   * packets are mirrored only once the rules have let them in, as on AWS: the user-space path holds
   * each arriving frame until its verdict is known (see `kernelCapable`).
   */
  verdictGroup?: number | undefined
}

/** Everything a datapath needs: the desired state. */
export interface MirrorState {
  sources: MirrorSource[]
  targets: TrafficMirrorTarget[]
  filters: TrafficMirrorFilter[]
  sessions: TrafficMirrorSession[]
  /**
   * The VPC's resolver addresses: the `amazon-dns` network service (spec §1.3). Defaults to the
   * Route 53 Resolver link-local addresses; a VPC adds its CIDR base + 2.
   */
  amazonDnsResolvers: string[]
}

/** Route 53 Resolver link-local addresses (spec §1.3, [VPCUG]). */
export const DEFAULT_AMAZON_DNS_RESOLVERS: readonly string[] = ['169.254.169.253', 'fd00:ec2::253']

/** Session numbers: 1 (highest priority) to 32766 (spec §1.5). */
export const SESSION_NUMBER_MIN = 1
export const SESSION_NUMBER_MAX = 32766
/**
 * Rule numbers: the model has no bounds; UNCONFIRMED (spec §7.1) — we follow the recommendation
 * 1–32766, unique per filter and direction.
 */
export const RULE_NUMBER_MIN = 1
export const RULE_NUMBER_MAX = 32766
/** Packet length: 1–8500 (spec §1.5); the 35/55 floor is applied in the data plane (spec §7.4). */
export const PACKET_LENGTH_MAX = 8500
/** VNI: 24 bits. UNCONFIRMED range (spec §7.3): we accept 0–16777215. */
export const VNI_MAX = 0xffffff

function checkInt(v: unknown, min: number, max: number, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new MirrorConfigError(`${what}: ${String(v)} is not an integer in ${min}..${max}`)
  }
}

function checkRule(r: TrafficMirrorFilterRule, where: string): void {
  const bad = checkFilterRule(r)
  if (bad !== null) throw new MirrorConfigError(`${where} rule ${String(r.ruleNumber)}: ${bad.message}`)
}

/** Parses an address or CIDR block of a configuration; `MirrorConfigError` when it is neither. */
function checkCidr(text: string, what: string): void {
  if (tryParseCidr(text) === undefined)
    throw new MirrorConfigError(`${what}: bad CIDR block: ${JSON.stringify(text)}`)
}

/** Throws `MirrorConfigError` (MF_MIRROR_CONFIG) for the first problem found in a state. */
export function validateMirrorState(state: MirrorState): void {
  const sources = new Map(state.sources.map((s) => [s.networkInterfaceId, s]))
  const targets = new Map(state.targets.map((t) => [t.trafficMirrorTargetId, t]))
  const filters = new Map(state.filters.map((f) => [f.trafficMirrorFilterId, f]))
  for (const s of state.sources) {
    if (s.addresses.length === 0) throw new MirrorConfigError(`source ${s.networkInterfaceId}: no address`)
    for (const a of s.addresses) checkCidr(a, `source ${s.networkInterfaceId}`)
    const g = s.verdictGroup
    if (g !== undefined && !(Number.isInteger(g) && g >= 1 && g <= 65535))
      throw new MirrorConfigError(`source ${s.networkInterfaceId}: verdict group must be 1-65535`)
  }
  for (const t of state.targets) {
    if (t.addresses.length === 0) throw new MirrorConfigError(`target ${t.trafficMirrorTargetId}: no address`)
    if (t.type === 'network-interface' && t.addresses.length !== 1) {
      throw new MirrorConfigError(
        `target ${t.trafficMirrorTargetId}: a network-interface target has one address`,
      )
    }
    for (const a of t.addresses) checkCidr(a, `target ${t.trafficMirrorTargetId}`)
  }
  for (const f of state.filters) {
    for (const [dir, rules] of [
      ['ingress', f.ingressFilterRules],
      ['egress', f.egressFilterRules],
    ] as const) {
      const seen = new Set<number>()
      for (const r of rules) {
        checkRule(r, `filter ${f.trafficMirrorFilterId} ${dir}`)
        if (seen.has(r.ruleNumber)) {
          throw new MirrorConfigError(
            `filter ${f.trafficMirrorFilterId} ${dir}: duplicate rule number ${r.ruleNumber}`,
          )
        }
        seen.add(r.ruleNumber)
      }
    }
  }
  for (const a of state.amazonDnsResolvers) checkCidr(a, 'Amazon DNS resolver')
  const numbers = new Set<string>()
  for (const s of state.sessions) {
    const id = s.trafficMirrorSessionId
    checkInt(s.sessionNumber, SESSION_NUMBER_MIN, SESSION_NUMBER_MAX, `session ${id} session number`)
    checkInt(s.virtualNetworkId, 0, VNI_MAX, `session ${id} VNI`)
    if (s.packetLength !== undefined)
      checkInt(s.packetLength, 1, PACKET_LENGTH_MAX, `session ${id} packet length`)
    if (!sources.has(s.networkInterfaceId))
      throw new MirrorConfigError(`session ${id}: unknown source ${s.networkInterfaceId}`)
    if (!targets.has(s.trafficMirrorTargetId))
      throw new MirrorConfigError(`session ${id}: unknown target ${s.trafficMirrorTargetId}`)
    if (!filters.has(s.trafficMirrorFilterId))
      throw new MirrorConfigError(`session ${id}: unknown filter ${s.trafficMirrorFilterId}`)
    // UNCONFIRMED (spec §1.5): we follow the recommendation and reject duplicate numbers on one source.
    const key = `${s.networkInterfaceId}/${s.sessionNumber}`
    if (numbers.has(key))
      throw new MirrorConfigError(
        `session ${id}: session number ${s.sessionNumber} already used on ${s.networkInterfaceId}`,
      )
    numbers.add(key)
  }
}

/**
 * A random VNI not in `used` ("an account-wide unique ID is chosen at random", spec §1.5). Never 0,
 * so a VNI is never mistaken for "unset".
 */
export function assignVni(used: ReadonlySet<number>): number {
  if (used.size >= VNI_MAX) throw new MirrorConfigError('no unused VNI left')
  for (;;) {
    const v = randomInt(1, VNI_MAX + 1)
    if (!used.has(v)) return v
  }
}

/** Sessions of one source, in evaluation order (session number ascending, spec §1.4.2). */
export function sessionsOf(state: MirrorState, networkInterfaceId: string): TrafficMirrorSession[] {
  return state.sessions
    .filter((s) => s.networkInterfaceId === networkInterfaceId)
    .sort((a, b) => a.sessionNumber - b.sessionNumber)
}

/** A filter's rules for one direction, in evaluation order (rule number ascending). */
export function rulesOf(filter: TrafficMirrorFilter, direction: TrafficDirection): TrafficMirrorFilterRule[] {
  const rules = direction === 'ingress' ? filter.ingressFilterRules : filter.egressFilterRules
  return [...rules].sort((a, b) => a.ruleNumber - b.ruleNumber)
}
