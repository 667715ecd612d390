// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 resource model, with AWS's names: VPCs, subnets, instances and their network interfaces,
 * traffic mirror targets, filters, rules and sessions, flow logs, and the load balancers targets
 * point at. Every record extends the core's base (`kind`, `id`, `seq`, `tags`); the kinds join the
 * core's registry at the end of this file.
 * @module
 */
import type { ResourceBase, Tag } from '../core/model.ts'

export type { Tag }

type Base = Omit<ResourceBase, 'kind'>

export interface Vpc extends Base {
  kind: 'vpc'
  cidrBlock: string
  cidrAssociationId: string
  instanceTenancy: string
  createdAt: string
  /** VPC attributes (ModifyVpcAttribute); absent = AWS's defaults (true, false, false). */
  enableDnsSupport?: boolean
  enableDnsHostnames?: boolean
  enableNetworkAddressUsageMetrics?: boolean
}

export interface Subnet extends Base {
  kind: 'subnet'
  vpcId: string
  cidrBlock: string
  availabilityZone: string
  availabilityZoneId: string
  createdAt: string
  /** Subnet attributes (ModifySubnetAttribute); absent = AWS's defaults. */
  attributes?: SubnetAttributes
}

/** The settable subnet attributes (all false / `ip-name` by default). */
export interface SubnetAttributes {
  mapPublicIpOnLaunch?: boolean
  assignIpv6AddressOnCreation?: boolean
  enableDns64?: boolean
  privateDnsHostnameTypeOnLaunch?: 'ip-name' | 'resource-name'
  enableResourceNameDnsARecordOnLaunch?: boolean
  enableResourceNameDnsAAAARecordOnLaunch?: boolean
}

/** A host (or namespace) running an agent, registered through the admin API. */
export interface Instance extends Base {
  kind: 'instance'
  hostname: string
  instanceType: string
  launchTime: string
  reservationId: string
}

export interface NetworkInterface extends Base {
  kind: 'network-interface'
  subnetId: string
  vpcId: string
  availabilityZone: string
  /** The Linux interface name on the host (mirrorflow extension), when known. */
  deviceName?: string
  instanceId?: string
  attachmentId?: string
  deviceIndex?: number
  attachTime?: string
  macAddress: string
  privateIpAddress: string
  /** Secondary private IPv4 addresses. */
  secondaryPrivateIpAddresses: string[]
  ipv6Addresses: string[]
  description: string
  createdAt: string
  /**
   * The interface's security groups, in the order they were set; absent = its VPC's default
   * group (interfaces registered by agents start there, as every AWS interface is in a group).
   */
  groupIds?: string[]
  /** Source/destination check; absent = true (AWS's default). */
  sourceDestCheck?: boolean
}

export interface SecurityGroup extends Base {
  kind: 'security-group'
  groupName: string
  description: string
  vpcId: string
  /** The VPC's `default` group: created with the VPC, never deleted by a user. */
  isDefault: boolean
  createdAt: string
}

/**
 * One security-group rule: one peer (a CIDR block, a referenced group or a prefix list) for one
 * protocol and port range, as DescribeSecurityGroupRules lists it.
 */
export interface SecurityGroupRule extends Base {
  kind: 'security-group-rule'
  groupId: string
  isEgress: boolean
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `-1`, or another protocol's number as text. */
  ipProtocol: string
  /** Ports for TCP/UDP, ICMP type for ICMP; -1 when not applicable or any. */
  fromPort: number
  /** Ports for TCP/UDP, ICMP code for ICMP; -1 when not applicable or any. */
  toPort: number
  cidrIpv4?: string
  cidrIpv6?: string
  prefixListId?: string
  referencedGroupId?: string
  description?: string
}

/** One entry of a managed prefix list: a CIDR block of the list's family. */
export interface PrefixListEntry {
  cidr: string
  description?: string
}

/**
 * A customer-managed prefix list: a named, versioned set of CIDR blocks of one family that
 * security-group rules reference. Adding or removing entries makes a new version.
 */
export interface ManagedPrefixList extends Base {
  kind: 'prefix-list'
  prefixListName: string
  addressFamily: 'IPv4' | 'IPv6'
  maxEntries: number
  version: number
  state: 'create-complete' | 'modify-complete' | 'modify-failed' | 'restore-complete'
  /** Why the last modification failed (state `modify-failed`). */
  stateMessage?: string
  /** The current version's entries, in the order they were added. */
  entries: PrefixListEntry[]
  /** Earlier versions' entries (GetManagedPrefixListEntries' TargetVersion), oldest first, bounded. */
  history: Array<{ version: number; entries: PrefixListEntry[] }>
}

export interface NetworkAclEntry {
  ruleNumber: number
  egress: boolean
  ruleAction: 'allow' | 'deny'
  /** A protocol number as text, or `-1`. */
  protocol: string
  cidrBlock?: string
  ipv6CidrBlock?: string
  portRange?: { from: number; to: number }
  icmpTypeCode?: { type: number; code: number }
}

export interface NetworkAcl extends Base {
  kind: 'network-acl'
  vpcId: string
  isDefault: boolean
  /** The numbered entries (1–32766), without the closing `*` entries (implicit). */
  entries: NetworkAclEntry[]
  createdAt: string
}

/** An explicit subnet ↔ ACL association; a subnet without one is associated with its VPC's default ACL. */
export interface NetworkAclAssociation extends Base {
  kind: 'network-acl-association'
  networkAclId: string
  subnetId: string
}

export type TargetType = 'network-interface' | 'network-load-balancer' | 'gateway-load-balancer-endpoint'

export interface TrafficMirrorTarget extends Base {
  kind: 'traffic-mirror-target'
  type: TargetType
  networkInterfaceId?: string
  networkLoadBalancerArn?: string
  gatewayLoadBalancerEndpointId?: string
  description?: string
}

export interface TrafficMirrorFilter extends Base {
  kind: 'traffic-mirror-filter'
  description?: string
  networkServices: string[]
}

export interface PortRange {
  fromPort: number
  toPort: number
}

export interface TrafficMirrorFilterRule extends Base {
  kind: 'traffic-mirror-filter-rule'
  filterId: string
  trafficDirection: 'ingress' | 'egress'
  ruleNumber: number
  ruleAction: 'accept' | 'reject'
  protocol?: number
  destinationPortRange?: PortRange
  sourcePortRange?: PortRange
  destinationCidrBlock: string
  sourceCidrBlock: string
  description?: string
}

export interface TrafficMirrorSession extends Base {
  kind: 'traffic-mirror-session'
  networkInterfaceId: string
  targetId: string
  filterId: string
  sessionNumber: number
  packetLength?: number
  virtualNetworkId: number
  description?: string
}

export interface DestinationOptions {
  fileFormat: 'plain-text' | 'parquet'
  hiveCompatiblePartitions: boolean
  perHourPartition: boolean
}

export interface TagFieldSpecification {
  resourceType: string
  tagKeys: string[]
}

export interface FlowLog extends Base {
  kind: 'flow-log'
  resourceId: string
  resourceType: 'VPC' | 'Subnet' | 'NetworkInterface'
  trafficType: 'ACCEPT' | 'REJECT' | 'ALL'
  logDestinationType: 'cloud-watch-logs' | 's3' | 'kinesis-data-firehose'
  logDestination?: string
  logGroupName?: string
  deliverLogsPermissionArn?: string
  deliverCrossAccountRole?: string
  logFormat: string
  maxAggregationInterval: 60 | 600
  destinationOptions?: DestinationOptions
  tagFieldSpecifications?: TagFieldSpecification[]
  creationTime: string
}

/**
 * A load balancer (NLB ARN) or Gateway Load Balancer endpoint (vpce-…) that mirrorflow knows the
 * appliance addresses of, registered through the admin API so that targets can point at it.
 */
export interface LoadBalancer extends Base {
  kind: 'load-balancer'
  type: 'network-load-balancer' | 'gateway-load-balancer-endpoint'
  addresses: string[]
}

/** Any EC2 record. */
export type Ec2Resource =
  | Vpc
  | Subnet
  | Instance
  | NetworkInterface
  | TrafficMirrorTarget
  | TrafficMirrorFilter
  | TrafficMirrorFilterRule
  | TrafficMirrorSession
  | FlowLog
  | LoadBalancer
  | SecurityGroup
  | SecurityGroupRule
  | NetworkAcl
  | NetworkAclAssociation
  | ManagedPrefixList

declare module '../core/model.ts' {
  interface ResourceKinds {
    vpc: Vpc
    subnet: Subnet
    instance: Instance
    'network-interface': NetworkInterface
    'traffic-mirror-target': TrafficMirrorTarget
    'traffic-mirror-filter': TrafficMirrorFilter
    'traffic-mirror-filter-rule': TrafficMirrorFilterRule
    'traffic-mirror-session': TrafficMirrorSession
    'flow-log': FlowLog
    'load-balancer': LoadBalancer
    'security-group': SecurityGroup
    'security-group-rule': SecurityGroupRule
    'network-acl': NetworkAcl
    'network-acl-association': NetworkAclAssociation
    'prefix-list': ManagedPrefixList
  }
}
