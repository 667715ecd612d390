// SPDX-License-Identifier: Apache-2.0
/**
 * The desired state as the server sends it (control/'s `DesiredState`), and its translation into
 * the mirror engine's `MirrorState` for the datapath. Interfaces are matched to Linux names by MAC
 * (then by primary address), since that is what the agent registered. Also the enforcement part
 * (security groups and network ACLs) into the policy engine's `PolicyState`.
 * @module
 */
import type {
  DesiredInterface,
  DesiredInterfaceSecurity,
  DesiredNetworkAclEntry,
  DesiredState,
} from '../control/index.ts'
import {
  DEFAULT_AMAZON_DNS_RESOLVERS,
  type MirrorState,
  type TrafficMirrorFilterRule,
} from '../mirror/index.ts'
import type { PolicyNetworkAclEntry, PolicySecurityGroupRule, PolicyState } from '../policy/index.ts'
import type { HostInterface } from './inventory.ts'

export type { DesiredFlowLog, DesiredInterface, DesiredState } from '../control/index.ts'

/** The local interface an ENI of the desired state is, or undefined when it is not on this host. */
export function localInterfaceOf(
  eni: DesiredInterface,
  inventory: readonly HostInterface[],
): HostInterface | undefined {
  const mac = eni.macAddress.toLowerCase()
  return inventory.find((i) => i.mac === mac) ?? inventory.find((i) => i.ipv4[0] === eni.privateIpAddress)
}

function rule(
  r: DesiredInterface['sessions'][number]['filter']['ingressRules'][number],
): TrafficMirrorFilterRule {
  return {
    ruleNumber: r.ruleNumber,
    ruleAction: r.ruleAction,
    protocol: r.protocol ?? undefined,
    sourceCidrBlock: r.sourceCidrBlock,
    destinationCidrBlock: r.destinationCidrBlock,
    sourcePortRange: r.sourcePortRange ?? undefined,
    destinationPortRange: r.destinationPortRange ?? undefined,
  }
}

/**
 * The mirroring part of a desired state, for this host. `vpcResolvers` adds each VPC's
 * CIDR-base+2 resolver to the `amazon-dns` service when known.
 */
export function toMirrorState(
  d: DesiredState,
  inventory: readonly HostInterface[],
  extraResolvers: readonly string[] = [],
): MirrorState {
  const state: MirrorState = {
    sources: [],
    targets: [],
    filters: [],
    sessions: [],
    amazonDnsResolvers: [...DEFAULT_AMAZON_DNS_RESOLVERS, ...extraResolvers],
  }
  const targets = new Set<string>()
  const filters = new Set<string>()
  for (const eni of d.interfaces) {
    if (eni.sessions.length === 0) continue
    const local = localInterfaceOf(eni, inventory)
    if (local === undefined) continue
    state.sources.push({
      networkInterfaceId: eni.networkInterfaceId,
      ifname: local.name,
      mac: eni.macAddress.toLowerCase(),
      addresses: [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses, ...eni.ipv6Addresses],
    })
    for (const s of eni.sessions) {
      if (s.target.addresses.length === 0) continue
      if (!targets.has(s.target.targetId)) {
        targets.add(s.target.targetId)
        state.targets.push({
          trafficMirrorTargetId: s.target.targetId,
          type:
            s.target.addresses.length > 1 || s.target.type === 'network-load-balancer'
              ? 'network-load-balancer'
              : 'network-interface',
          addresses: [...s.target.addresses],
        })
      }
      if (!filters.has(s.filter.filterId)) {
        filters.add(s.filter.filterId)
        state.filters.push({
          trafficMirrorFilterId: s.filter.filterId,
          ingressFilterRules: s.filter.ingressRules.map(rule),
          egressFilterRules: s.filter.egressRules.map(rule),
          networkServices: s.filter.networkServices.filter((n): n is 'amazon-dns' => n === 'amazon-dns'),
        })
      }
      state.sessions.push({
        trafficMirrorSessionId: s.sessionId,
        networkInterfaceId: eni.networkInterfaceId,
        trafficMirrorTargetId: s.target.targetId,
        trafficMirrorFilterId: s.filter.filterId,
        sessionNumber: s.sessionNumber,
        packetLength: s.packetLength ?? undefined,
        virtualNetworkId: s.virtualNetworkId,
      })
    }
  }
  return state
}

/** First NFLOG group the agent gives an interface's drops (`POLICY_LOG_GROUP_BASE + slot`). */
export const POLICY_LOG_GROUP_BASE = 20000
/** Most interfaces one agent enforces on (NFLOG groups 20001–24096). */
export const POLICY_LOG_GROUP_SLOTS = 4096
/**
 * An enforced mirror source's inbound drops also go to NFLOG group `logGroup + MIRROR_LOG_GROUP_OFFSET`
 * (30001–34096), read by its user-space mirror worker (one NFLOG group has one reader).
 */
export const MIRROR_LOG_GROUP_OFFSET = 10000

/**
 * Ties mirroring to enforcement for every interface that is both a mirror source (with a session)
 * and enforced: the policy logs its inbound drops to a second group, and the mirror source carries
 * that group (`verdictGroup`), so that the datapath mirrors arriving packets only after the rules
 * let them in. Changes both states in place.
 */
export function linkVerdictGroups(ms: MirrorState, ps: PolicyState): void {
  const mirrored = new Set(ms.sessions.map((x) => x.networkInterfaceId))
  const byName = new Map(ps.interfaces.map((i) => [i.ifname, i]))
  for (const src of ms.sources) {
    const pi = src.ifname === undefined ? undefined : byName.get(src.ifname)
    if (pi === undefined || !mirrored.has(src.networkInterfaceId)) continue
    pi.mirrorLogGroup = pi.logGroup + MIRROR_LOG_GROUP_OFFSET
    src.verdictGroup = pi.mirrorLogGroup
  }
}

/**
 * NFLOG groups by Linux interface name, kept stable while an interface stays (its capture keeps
 * running): a new interface takes the lowest free slot, a vanished one frees its slot.
 */
export class LogGroups {
  readonly #byName = new Map<string, number>()

  /** Makes the map hold exactly `ifnames`; returns it. Throws RangeError beyond the slots. */
  sync(ifnames: Iterable<string>): ReadonlyMap<string, number> {
    const want = new Set(ifnames)
    for (const n of [...this.#byName.keys()]) if (!want.has(n)) this.#byName.delete(n)
    const used = new Set(this.#byName.values())
    let next = POLICY_LOG_GROUP_BASE + 1
    for (const n of [...want].sort()) {
      if (this.#byName.has(n)) continue
      while (used.has(next)) next++
      if (next > POLICY_LOG_GROUP_BASE + POLICY_LOG_GROUP_SLOTS)
        throw new RangeError(`more than ${POLICY_LOG_GROUP_SLOTS} enforced interfaces`)
      this.#byName.set(n, next)
      used.add(next)
    }
    return this.#byName
  }
}

/** The `security` field of a desired interface (absent from servers that do not enforce). */
function securityOf(eni: DesiredInterface): DesiredInterfaceSecurity | null {
  return (eni as DesiredInterface & { security?: DesiredInterfaceSecurity | null }).security ?? null
}

function sgRule(r: DesiredInterfaceSecurity['ingressRules'][number]): PolicySecurityGroupRule {
  return {
    protocol: r.protocol,
    portRange: r.portRange,
    icmpType: r.icmpType,
    icmpCode: r.icmpCode,
    cidrBlocks: r.cidrBlocks,
  }
}

function aclEntry(e: DesiredNetworkAclEntry): PolicyNetworkAclEntry {
  return {
    ruleNumber: e.ruleNumber,
    ruleAction: e.ruleAction,
    protocol: e.protocol,
    cidrBlock: e.cidrBlock,
    portRange: e.portRange,
    icmpType: e.icmpType,
    icmpCode: e.icmpCode,
  }
}

/**
 * The enforcement part of a desired state, for this host: every interface of this host that the
 * server sent security groups and a network ACL for. `groups` gives each its NFLOG group;
 * `mirrorTargets` are the outer addresses of this host's mirror copies (never filtered).
 */
export function toPolicyState(
  d: DesiredState,
  inventory: readonly HostInterface[],
  logGroups: LogGroups,
  mirrorTargets: readonly string[] = [],
): PolicyState {
  const found: Array<{ eni: DesiredInterface; sec: DesiredInterfaceSecurity; ifname: string }> = []
  for (const eni of d.interfaces) {
    const sec = securityOf(eni)
    if (sec === null) continue
    const local = localInterfaceOf(eni, inventory)
    if (local === undefined) continue
    if (found.some((f) => f.ifname === local.name)) continue
    found.push({ eni, sec, ifname: local.name })
  }
  const groups = logGroups.sync(found.map((f) => f.ifname))
  return {
    interfaces: found.map(({ eni, sec, ifname }) => ({
      networkInterfaceId: eni.networkInterfaceId,
      ifname,
      ingressRules: sec.ingressRules.map(sgRule),
      egressRules: sec.egressRules.map(sgRule),
      networkAcl: {
        networkAclId: sec.networkAcl.networkAclId,
        ingress: sec.networkAcl.ingress.map(aclEntry),
        egress: sec.networkAcl.egress.map(aclEntry),
      },
      logGroup: groups.get(ifname)!,
      ownAddresses: sec.sourceDestCheck
        ? [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses, ...eni.ipv6Addresses]
        : undefined,
    })),
    mirrorTargets: [...new Set(mirrorTargets)],
    exemptAddresses: [],
  }
}
