// SPDX-License-Identifier: Apache-2.0
/**
 * The desired state as the server sends it (control/'s `DesiredState`), and its translation into
 * the mirror engine's `MirrorState` for the datapath. Interfaces are matched to Linux names by MAC
 * (then by primary address), since that is what the agent registered.
 * @module
 */
import type { DesiredInterface, DesiredState } from '../control/index.ts'
import {
  DEFAULT_AMAZON_DNS_RESOLVERS,
  type MirrorState,
  type TrafficMirrorFilterRule,
} from '../mirror/index.ts'
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
