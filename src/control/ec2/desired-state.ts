// SPDX-License-Identifier: Apache-2.0
/**
 * The desired state of one instance, for its agent: each registered interface with the sessions
 * it is the source of (in session-number order, target resolved to addresses, filter rules in
 * rule-number order), the flow logs covering it (interface, subnet or VPC scope), and what it
 * enforces: its security groups' rules and its subnet's network ACL.
 * @module
 */
import type { FlowLog, PortRange, TrafficMirrorFilterRule } from './model.ts'
import type { DesiredInterfaceSecurity } from './security/desired.ts'
import { EnforcementView } from './security/enforcement.ts'
import type { Ec2 } from './service.ts'

export interface DesiredRule {
  ruleId: string
  ruleNumber: number
  ruleAction: 'accept' | 'reject'
  protocol: number | null
  sourceCidrBlock: string
  destinationCidrBlock: string
  sourcePortRange: PortRange | null
  destinationPortRange: PortRange | null
}

export interface DesiredSession {
  sessionId: string
  sessionNumber: number
  virtualNetworkId: number
  /** Bytes of the inner frame to keep; null = whole packet. */
  packetLength: number | null
  target: {
    targetId: string
    type: string
    networkInterfaceId: string | null
    networkLoadBalancerArn: string | null
    gatewayLoadBalancerEndpointId: string | null
    /** Where the VXLAN packets go (UDP 4789): the ENI's private IP, or the appliances. */
    addresses: string[]
  }
  filter: {
    filterId: string
    networkServices: string[]
    ingressRules: DesiredRule[]
    egressRules: DesiredRule[]
  }
}

export interface DesiredFlowLog {
  flowLogId: string
  resourceId: string
  resourceType: FlowLog['resourceType']
  trafficType: FlowLog['trafficType']
  logFormat: string
  maxAggregationInterval: number
  logDestinationType: FlowLog['logDestinationType']
  logDestination: string | null
  logGroupName: string | null
  destinationOptions: FlowLog['destinationOptions'] | null
}

export interface DesiredInterface {
  networkInterfaceId: string
  deviceName: string | null
  macAddress: string
  privateIpAddress: string
  secondaryPrivateIpAddresses: string[]
  ipv6Addresses: string[]
  subnetId: string
  vpcId: string
  /** Targets this interface is (it receives mirrored traffic). */
  targetIds: string[]
  sessions: DesiredSession[]
  flowLogs: DesiredFlowLog[]
  /** Its security groups' rules and its subnet's network ACL, resolved (see `security/desired.ts`). */
  security: DesiredInterfaceSecurity
}

export interface DesiredState {
  instanceId: string
  hostname: string
  accountId: string
  region: string
  interfaces: DesiredInterface[]
}

function rule(r: TrafficMirrorFilterRule): DesiredRule {
  return {
    ruleId: r.id,
    ruleNumber: r.ruleNumber,
    ruleAction: r.ruleAction,
    protocol: r.protocol ?? null,
    sourceCidrBlock: r.sourceCidrBlock,
    destinationCidrBlock: r.destinationCidrBlock,
    sourcePortRange: r.sourcePortRange ?? null,
    destinationPortRange: r.destinationPortRange ?? null,
  }
}

/** Computes the desired state of an instance (throws `InvalidInstanceID.NotFound` if unknown). */
export function desiredState(ec2: Ec2, instanceId: string): DesiredState {
  const inst = ec2.instances.instance(instanceId)
  const st = ec2.ledger.state
  const x = ec2.index
  const enis = ec2.instances.interfacesOf(inst.id)
  const enforcement = new EnforcementView(ec2.ledger, ec2.securityGroups, ec2.networkAcls, ec2.interfaces)
  return {
    instanceId: inst.id,
    hostname: inst.hostname,
    accountId: ec2.accountId,
    region: ec2.region,
    interfaces: enis.map((eni) => {
      const sessions = [...x.sessionsByEni.get(eni.id)]
        .map((id) => st.get('traffic-mirror-session', id)!)
        .sort((a, b) => a.sessionNumber - b.sessionNumber)
        .map((s): DesiredSession => {
          const t = st.get('traffic-mirror-target', s.targetId)!
          const f = st.get('traffic-mirror-filter', s.filterId)!
          return {
            sessionId: s.id,
            sessionNumber: s.sessionNumber,
            virtualNetworkId: s.virtualNetworkId,
            packetLength: s.packetLength ?? null,
            target: {
              targetId: t.id,
              type: t.type,
              networkInterfaceId: t.networkInterfaceId ?? null,
              networkLoadBalancerArn: t.networkLoadBalancerArn ?? null,
              gatewayLoadBalancerEndpointId: t.gatewayLoadBalancerEndpointId ?? null,
              addresses: ec2.targets.targetAddresses(t),
            },
            filter: {
              filterId: f.id,
              networkServices: [...f.networkServices],
              ingressRules: ec2.filters.rulesOf(f.id, 'ingress').map(rule),
              egressRules: ec2.filters.rulesOf(f.id, 'egress').map(rule),
            },
          }
        })
      return {
        networkInterfaceId: eni.id,
        deviceName: eni.deviceName ?? null,
        macAddress: eni.macAddress,
        privateIpAddress: eni.privateIpAddress,
        secondaryPrivateIpAddresses: [...eni.secondaryPrivateIpAddresses],
        ipv6Addresses: [...eni.ipv6Addresses],
        subnetId: eni.subnetId,
        vpcId: eni.vpcId,
        targetIds: [...x.targetsByEni.get(eni.id)],
        sessions,
        flowLogs: ec2.flowLogs.flowLogsFor(eni).map((f) => ({
          flowLogId: f.id,
          resourceId: f.resourceId,
          resourceType: f.resourceType,
          trafficType: f.trafficType,
          logFormat: f.logFormat,
          maxAggregationInterval: f.maxAggregationInterval,
          logDestinationType: f.logDestinationType,
          logDestination: f.logDestination ?? null,
          logGroupName: f.logGroupName ?? null,
          destinationOptions: f.destinationOptions ?? null,
        })),
        security: enforcement.of(eni),
      }
    }),
  }
}
