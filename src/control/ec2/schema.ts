// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 kinds as the ledger knows them — id prefix, `Malformed`/`NotFound` codes and messages,
 * tag resource-type names — and the secondary indexes every EC2 family reads (subnets per VPC,
 * sessions per interface, …). The lowest layer of the EC2 service: every family builds on it.
 * @module
 */
import type { Index } from '../core/state.ts'
import type { Ledger } from '../core/ledger.ts'
import './errors.ts'
import type {
  FlowLog,
  Instance,
  NetworkInterface,
  Subnet,
  TrafficMirrorFilterRule,
  TrafficMirrorSession,
  TrafficMirrorTarget,
} from './model.ts'

/** Declares the EC2 kinds in the ledger's lookup table. */
function defineKinds(l: Ledger): void {
  l.defineKind('vpc', {
    prefix: 'vpc',
    malformed: 'InvalidVpcID.Malformed',
    notFound: 'InvalidVpcID.NotFound',
    notFoundMessage: (id) => `The vpc ID '${id}' does not exist`,
    resourceType: 'vpc',
  })
  l.defineKind('subnet', {
    prefix: 'subnet',
    malformed: 'InvalidSubnetID.Malformed',
    notFound: 'InvalidSubnetID.NotFound',
    notFoundMessage: (id) => `The subnet ID '${id}' does not exist`,
    resourceType: 'subnet',
  })
  l.defineKind('network-interface', {
    prefix: 'eni',
    // AWS spells the two codes of this kind differently (Id / ID).
    malformed: 'InvalidNetworkInterfaceId.Malformed',
    notFound: 'InvalidNetworkInterfaceID.NotFound',
    notFoundMessage: (id) => `The networkInterface ID '${id}' does not exist`,
    resourceType: 'network-interface',
  })
  l.defineKind('instance', {
    prefix: 'i',
    malformed: 'InvalidInstanceID.Malformed',
    notFound: 'InvalidInstanceID.NotFound',
    notFoundMessage: (id) => `The instance ID '${id}' does not exist`,
    resourceType: 'instance',
  })
  l.defineKind('traffic-mirror-target', {
    prefix: 'tmt',
    malformed: 'InvalidTrafficMirrorTargetId.Malformed',
    notFound: 'InvalidTrafficMirrorTargetId.NotFound',
    notFoundMessage: (id) => `The traffic mirror target '${id}' does not exist.`,
    resourceType: 'traffic-mirror-target',
  })
  l.defineKind('traffic-mirror-filter', {
    prefix: 'tmf',
    malformed: 'InvalidTrafficMirrorFilterId.Malformed',
    notFound: 'InvalidTrafficMirrorFilterId.NotFound',
    notFoundMessage: (id) => `The traffic mirror filter '${id}' does not exist.`,
    resourceType: 'traffic-mirror-filter',
  })
  l.defineKind('traffic-mirror-filter-rule', {
    prefix: 'tmfr',
    malformed: 'InvalidTrafficMirrorFilterRuleId.Malformed',
    notFound: 'InvalidTrafficMirrorFilterRuleId.NotFound',
    notFoundMessage: (id) => `The traffic mirror filter rule '${id}' does not exist.`,
    resourceType: 'traffic-mirror-filter-rule',
  })
  l.defineKind('traffic-mirror-session', {
    prefix: 'tms',
    malformed: 'InvalidTrafficMirrorSessionId.Malformed',
    notFound: 'InvalidTrafficMirrorSessionId.NotFound',
    notFoundMessage: (id) => `The traffic mirror session '${id}' does not exist.`,
    resourceType: 'traffic-mirror-session',
  })
  l.defineKind('flow-log', {
    prefix: 'fl',
    notFound: 'InvalidFlowLogId.NotFound',
    notFoundMessage: (id) => `The flow log ID '${id}' does not exist`,
    resourceType: 'vpc-flow-log',
  })
}

/** The EC2 indexes over the ledger's state, and the kinds' lookup table. */
export class Ec2Schema {
  readonly subnetsByVpc: Index<Subnet>
  readonly enisBySubnet: Index<NetworkInterface>
  readonly enisByInstance: Index<NetworkInterface>
  readonly enisByMac: Index<NetworkInterface>
  /** `subnetId|address` of every private IPv4 address. */
  readonly enisByAddress: Index<NetworkInterface>
  readonly rulesByFilter: Index<TrafficMirrorFilterRule>
  readonly sessionsByEni: Index<TrafficMirrorSession>
  readonly sessionsByTarget: Index<TrafficMirrorSession>
  readonly sessionsByFilter: Index<TrafficMirrorSession>
  readonly sessionsByVni: Index<TrafficMirrorSession>
  readonly targetsByEni: Index<TrafficMirrorTarget>
  readonly targetsByNlb: Index<TrafficMirrorTarget>
  readonly targetsByGwlbe: Index<TrafficMirrorTarget>
  readonly flowLogsByResource: Index<FlowLog>
  readonly instancesByHostname: Index<Instance>

  constructor(l: Ledger) {
    defineKinds(l)
    const st = l.state
    this.subnetsByVpc = st.index('subnet', (s) => s.vpcId)
    this.enisBySubnet = st.index('network-interface', (e) => e.subnetId)
    this.enisByInstance = st.index('network-interface', (e) => e.instanceId)
    this.enisByMac = st.index('network-interface', (e) => e.macAddress)
    this.enisByAddress = st.index('network-interface', (e) =>
      [e.privateIpAddress, ...e.secondaryPrivateIpAddresses].map((a) => `${e.subnetId}|${a}`),
    )
    this.rulesByFilter = st.index('traffic-mirror-filter-rule', (r) => r.filterId)
    this.sessionsByEni = st.index('traffic-mirror-session', (s) => s.networkInterfaceId)
    this.sessionsByTarget = st.index('traffic-mirror-session', (s) => s.targetId)
    this.sessionsByFilter = st.index('traffic-mirror-session', (s) => s.filterId)
    this.sessionsByVni = st.index('traffic-mirror-session', (s) => String(s.virtualNetworkId))
    this.targetsByEni = st.index('traffic-mirror-target', (t) => t.networkInterfaceId)
    this.targetsByNlb = st.index('traffic-mirror-target', (t) => t.networkLoadBalancerArn)
    this.targetsByGwlbe = st.index('traffic-mirror-target', (t) => t.gatewayLoadBalancerEndpointId)
    this.flowLogsByResource = st.index('flow-log', (f) => f.resourceId)
    this.instancesByHostname = st.index('instance', (i) => i.hostname)
  }
}
