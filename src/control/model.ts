// SPDX-License-Identifier: Apache-2.0
/**
 * The resource model, with AWS's names. Every record has a `kind`, an `id`, a creation sequence
 * number `seq` (stable listing order and pagination) and `tags`. Records are plain JSON: the store
 * keeps them as documents, so a new field needs no migration.
 * @module
 */

/** An EC2 tag. */
export interface Tag {
  key: string
  value: string
}

interface Base {
  id: string
  seq: number
  tags: Tag[]
}

export interface Vpc extends Base {
  kind: 'vpc'
  cidrBlock: string
  cidrAssociationId: string
  instanceTenancy: string
  createdAt: string
}

export interface Subnet extends Base {
  kind: 'subnet'
  vpcId: string
  cidrBlock: string
  availabilityZone: string
  availabilityZoneId: string
  createdAt: string
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

/** Any stored resource. */
export type Resource =
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

export type ResourceKind = Resource['kind']

/** A SigV4 access key. */
export interface AccessKey {
  accessKeyId: string
  secretAccessKey: string
  createdAt: string
  admin: boolean
  description: string
}

/** A remembered idempotent Create: same token and fingerprint → same stored result. */
export interface IdempotencyRecord {
  key: string
  fingerprint: string
  result: unknown
  /** When the token was first used (ms since the epoch). */
  createdAt: number
}
