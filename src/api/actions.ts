// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 actions: each handler reads its parameters (spec-traffic-mirroring §5.3,
 * spec-flow-logs §5), calls `ctx.ready()` (unknown parameters, then DryRun), runs the control
 * plane and renders the response body. Business rules live in control/, not here.
 * @module
 */
import {
  ApiError,
  deliveryOf,
  type ControlPlane,
  type FlowLog,
  type Idempotency,
  type Instance,
  type NetworkInterface,
  type PortRange,
  type Resource,
  type RuleFields,
  type Subnet,
  type Tag,
  type TrafficMirrorFilter,
  type TrafficMirrorFilterRule,
  type TrafficMirrorSession,
  type TrafficMirrorTarget,
  type Vpc,
} from '../control/index.ts'
import { byIds, compileFilters, page, readFilters, readPaging, type FilterField } from './describe.ts'
import type { Params } from './params.ts'
import {
  filterShape,
  flowLogShape,
  instanceInterfaces,
  networkInterfaceShape,
  reservationShape,
  ruleShape,
  sessionShape,
  subnetShape,
  targetShape,
  vpcShape,
} from './render.ts'
import { L, toXml, type Node } from './xml.ts'

/** What a handler gets. */
export interface ActionContext {
  cp: ControlPlane
  p: Params
  action: string
  /** The access key that signed the request. */
  accessKeyId: string
  /** Rejects unread parameters, then answers `DryRunOperation` when DryRun=true. */
  ready(): void
  /** The idempotency key of a Create (ClientToken + fingerprint of the other parameters). */
  idem(): Idempotency
}

export type Handler = (ctx: ActionContext) => string

/** Reads `TagSpecification.N` for a create whose resource type is `type`. */
export function readTagSpecs(p: Params, type: string): Tag[] {
  const tags: Tag[] = []
  const seenTypes = new Set<string>()
  for (const spec of p.structs('TagSpecification')) {
    const rt = spec.str('ResourceType')
    const list = spec.structs('Tag').map((t) => {
      const key = t.str('Key')
      const value = t.str('Value') ?? ''
      t.done()
      if (key === undefined) throw new ApiError('InvalidParameterValue', 'Tag key cannot be null.')
      return { key, value }
    })
    spec.done()
    if (rt === undefined || rt === '')
      throw new ApiError('InvalidParameterValue', 'Tag specification resource type must have a value')
    if (rt !== type) {
      throw new ApiError(
        'InvalidParameterValue',
        `'${rt.slice(0, 64)}' is not a valid taggable resource type for this operation.`,
      )
    }
    if (seenTypes.has(rt)) {
      throw new ApiError(
        'InvalidParameterValue',
        'The same resource type may not be specified more than once in tag specifications',
      )
    }
    seenTypes.add(rt)
    tags.push(...list)
  }
  return tags
}

function portRange(p: Params, name: string): Partial<PortRange> | undefined {
  const s = p.struct(name)
  if (s === undefined) return undefined
  const fromPort = s.int('FromPort')
  const toPort = s.int('ToPort')
  s.done()
  const r: Partial<PortRange> = {}
  if (fromPort !== undefined) r.fromPort = fromPort
  if (toPort !== undefined) r.toPort = toPort
  return r
}

/** Common shape of the Describe handlers. */
function describe<R extends Resource>(
  ctx: ActionContext,
  o: {
    idParam: string
    all: () => Iterable<R>
    lookup: (id: string) => R
    fields: Record<string, FilterField<R>>
    wrapper: [string, string]
    shape: (r: R) => Node[]
    /** DescribeInstances refuses ids together with MaxResults. */
    idsWithMaxResults?: boolean
    extra?: (p: Params) => (r: R) => boolean
  },
): string {
  const p = ctx.p
  const ids = p.list(o.idParam)
  const filters = readFilters(p, new Set(Object.keys(o.fields)))
  const paging = readPaging(p, ctx.action)
  const extra = o.extra?.(p)
  ctx.ready()
  if (o.idsWithMaxResults === false && ids.length > 0 && paging.maxResults !== undefined) {
    throw new ApiError(
      'InvalidParameterCombination',
      `The parameter ${o.idParam} cannot be used with the parameter maxResults`,
    )
  }
  const match = compileFilters(filters, o.fields)
  const res = page(
    byIds(ids, o.all(), o.lookup),
    extra === undefined ? match : (r) => match(r) && extra(r),
    paging,
  )
  return toXml([
    [o.wrapper[0], o.wrapper[1], L(res.items.map(o.shape))],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

// ------------------------------------------------------------------------------------------------
// VPCs, subnets, interfaces, instances

const createVpc: Handler = (ctx) => {
  const p = ctx.p
  const cidr = p.str('CidrBlock', true)
  const tenancy = p.str('InstanceTenancy')
  const amazonIpv6 = p.bool('AmazonProvidedIpv6CidrBlock')
  const tags = readTagSpecs(p, 'vpc')
  ctx.ready()
  if (amazonIpv6 === true) {
    throw new ApiError(
      'InvalidParameterValue',
      'Amazon-provided IPv6 CIDR blocks are not supported by mirrorflow.',
    )
  }
  const vpc = ctx.cp.ec2.vpcs.createVpc(cidr, tenancy, tags)
  return toXml([['vpc', 'Vpc', vpcShape(ctx.cp, vpc)]])
}

function vpcFields(cp: ControlPlane): Record<string, FilterField<Vpc>> {
  return {
    cidr: (v) => v.cidrBlock,
    'cidr-block-association.cidr-block': (v) => v.cidrBlock,
    'cidr-block-association.association-id': (v) => v.cidrAssociationId,
    'cidr-block-association.state': () => 'associated',
    'dhcp-options-id': () => 'default',
    'is-default': () => 'false',
    'owner-id': () => cp.accountId,
    state: () => 'available',
    'vpc-id': (v) => v.id,
    'instance-tenancy': (v) => v.instanceTenancy,
  }
}

const describeVpcs: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'VpcId',
    all: () => ctx.cp.state.table('vpc').values(),
    lookup: (id) => ctx.cp.ec2.vpcs.vpc(id),
    fields: vpcFields(ctx.cp),
    wrapper: ['vpcSet', 'Vpcs'],
    shape: (v) => vpcShape(ctx.cp, v),
  })

const deleteVpc: Handler = (ctx) => {
  const id = ctx.p.str('VpcId', true)
  ctx.ready()
  ctx.cp.ec2.vpcs.deleteVpc(id)
  return ''
}

const createSubnet: Handler = (ctx) => {
  const p = ctx.p
  const vpcId = p.str('VpcId', true)
  const cidrBlock = p.str('CidrBlock', true)
  const availabilityZone = p.str('AvailabilityZone')
  const availabilityZoneId = p.str('AvailabilityZoneId')
  const tags = readTagSpecs(p, 'subnet')
  ctx.ready()
  const s = ctx.cp.ec2.vpcs.createSubnet({ vpcId, cidrBlock, availabilityZone, availabilityZoneId }, tags)
  return toXml([['subnet', 'Subnet', subnetShape(ctx.cp, s)]])
}

function subnetFields(cp: ControlPlane): Record<string, FilterField<Subnet>> {
  return {
    'availability-zone': (s) => s.availabilityZone,
    'availability-zone-id': (s) => s.availabilityZoneId,
    'available-ip-address-count': (s) => cp.ec2.vpcs.availableIpAddressCount(s),
    'cidr-block': (s) => s.cidrBlock,
    cidr: (s) => s.cidrBlock,
    cidrBlock: (s) => s.cidrBlock,
    'default-for-az': () => 'false',
    defaultForAz: () => 'false',
    'map-public-ip-on-launch': () => 'false',
    'owner-id': () => cp.accountId,
    state: () => 'available',
    'subnet-arn': (s) => `arn:aws:ec2:${cp.region}:${cp.accountId}:subnet/${s.id}`,
    'subnet-id': (s) => s.id,
    'vpc-id': (s) => s.vpcId,
  }
}

const describeSubnets: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'SubnetId',
    all: () => ctx.cp.state.table('subnet').values(),
    lookup: (id) => ctx.cp.ec2.vpcs.subnet(id),
    fields: subnetFields(ctx.cp),
    wrapper: ['subnetSet', 'Subnets'],
    shape: (s) => subnetShape(ctx.cp, s),
  })

const deleteSubnet: Handler = (ctx) => {
  const id = ctx.p.str('SubnetId', true)
  ctx.ready()
  ctx.cp.ec2.vpcs.deleteSubnet(id)
  return ''
}

function eniFields(cp: ControlPlane): Record<string, FilterField<NetworkInterface>> {
  const ips = (e: NetworkInterface): string[] => [e.privateIpAddress, ...e.secondaryPrivateIpAddresses]
  return {
    'addresses.private-ip-address': ips,
    'addresses.primary': () => ['true', 'false'],
    'attachment.attachment-id': (e) => e.attachmentId,
    'attachment.instance-id': (e) => e.instanceId,
    'attachment.instance-owner-id': (e) => (e.instanceId === undefined ? undefined : cp.accountId),
    'attachment.device-index': (e) => e.deviceIndex,
    'attachment.status': (e) => (e.instanceId === undefined ? undefined : 'attached'),
    'attachment.delete-on-termination': (e) => (e.instanceId === undefined ? undefined : 'false'),
    'availability-zone': (e) => e.availabilityZone,
    description: (e) => e.description,
    'interface-type': () => 'interface',
    'ipv6-addresses.ipv6-address': (e) => e.ipv6Addresses,
    'mac-address': (e) => e.macAddress,
    'network-interface-id': (e) => e.id,
    'owner-id': () => cp.accountId,
    'private-ip-address': ips,
    'private-dns-name': (e) => `ip-${e.privateIpAddress.replace(/\./g, '-')}`,
    'requester-managed': () => 'false',
    'source-dest-check': () => 'true',
    status: (e) => (e.instanceId === undefined ? 'available' : 'in-use'),
    'subnet-id': (e) => e.subnetId,
    'vpc-id': (e) => e.vpcId,
  }
}

const describeNetworkInterfaces: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'NetworkInterfaceId',
    all: () => ctx.cp.state.table('network-interface').values(),
    lookup: (id) => ctx.cp.ec2.instances.networkInterface(id),
    fields: eniFields(ctx.cp),
    wrapper: ['networkInterfaceSet', 'NetworkInterfaces'],
    shape: (e) => networkInterfaceShape(ctx.cp, e),
  })

function instanceFields(cp: ControlPlane): Record<string, FilterField<Instance>> {
  const enis = (i: Instance): NetworkInterface[] => instanceInterfaces(cp, i)
  return {
    'instance-id': (i) => i.id,
    'instance-type': (i) => i.instanceType,
    'instance-state-name': (i) => cp.ec2.presence.state(i.id).name,
    'instance-state-code': (i) => cp.ec2.presence.state(i.id).code,
    'availability-zone': (i) => enis(i)[0]?.availabilityZone,
    'subnet-id': (i) => enis(i).map((e) => e.subnetId),
    'vpc-id': (i) => enis(i).map((e) => e.vpcId),
    'private-ip-address': (i) => enis(i)[0]?.privateIpAddress,
    'network-interface.network-interface-id': (i) => enis(i).map((e) => e.id),
    'network-interface.addresses.private-ip-address': (i) =>
      enis(i).flatMap((e) => [e.privateIpAddress, ...e.secondaryPrivateIpAddresses]),
    'network-interface.mac-address': (i) => enis(i).map((e) => e.macAddress),
    'network-interface.subnet-id': (i) => enis(i).map((e) => e.subnetId),
    'network-interface.vpc-id': (i) => enis(i).map((e) => e.vpcId),
    'owner-id': () => cp.accountId,
    'reservation-id': (i) => i.reservationId,
    'launch-time': (i) => i.launchTime,
  }
}

const describeInstances: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'InstanceId',
    all: () => ctx.cp.state.table('instance').values(),
    lookup: (id) => ctx.cp.ec2.instances.instance(id),
    fields: instanceFields(ctx.cp),
    wrapper: ['reservationSet', 'Reservations'],
    shape: (i) => reservationShape(ctx.cp, i),
    idsWithMaxResults: false,
  })

// ------------------------------------------------------------------------------------------------
// Traffic mirroring

const createTarget: Handler = (ctx) => {
  const p = ctx.p
  const input = {
    networkInterfaceId: p.str('NetworkInterfaceId'),
    networkLoadBalancerArn: p.str('NetworkLoadBalancerArn'),
    gatewayLoadBalancerEndpointId: p.str('GatewayLoadBalancerEndpointId'),
    description: p.str('Description'),
    tags: readTagSpecs(p, 'traffic-mirror-target'),
  }
  const token = p.str('ClientToken')
  ctx.ready()
  const t = ctx.cp.ec2.targets.createTarget(input, ctx.idem())
  return toXml([
    ['trafficMirrorTarget', 'TrafficMirrorTarget', targetShape(ctx.cp, t)],
    ['clientToken', 'ClientToken', token],
  ])
}

const createFilter: Handler = (ctx) => {
  const p = ctx.p
  const description = p.str('Description')
  const tags = readTagSpecs(p, 'traffic-mirror-filter')
  const token = p.str('ClientToken')
  ctx.ready()
  const f = ctx.cp.ec2.filters.createFilter(description, tags, ctx.idem())
  return toXml([
    ['trafficMirrorFilter', 'TrafficMirrorFilter', filterShape(ctx.cp, f)],
    ['clientToken', 'ClientToken', token],
  ])
}

function ruleFields(p: Params): RuleFields {
  return {
    trafficDirection: p.str('TrafficDirection'),
    ruleNumber: p.int('RuleNumber'),
    ruleAction: p.str('RuleAction'),
    protocol: p.int('Protocol'),
    destinationPortRange: portRange(p, 'DestinationPortRange'),
    sourcePortRange: portRange(p, 'SourcePortRange'),
    destinationCidrBlock: p.str('DestinationCidrBlock'),
    sourceCidrBlock: p.str('SourceCidrBlock'),
    description: p.str('Description'),
  }
}

const createRule: Handler = (ctx) => {
  const p = ctx.p
  const filterId = p.str('TrafficMirrorFilterId', true)
  for (const k of [
    'TrafficDirection',
    'RuleNumber',
    'RuleAction',
    'DestinationCidrBlock',
    'SourceCidrBlock',
  ]) {
    if (!p.map.has(k)) throw new ApiError('MissingParameter', `The request must contain the parameter ${k}`)
  }
  const fields = ruleFields(p)
  const tags = readTagSpecs(p, 'traffic-mirror-filter-rule')
  const token = p.str('ClientToken')
  ctx.ready()
  const r = ctx.cp.ec2.filters.createRule(filterId, fields, tags, ctx.idem())
  return toXml([
    ['trafficMirrorFilterRule', 'TrafficMirrorFilterRule', ruleShape(r)],
    ['clientToken', 'ClientToken', token],
  ])
}

const createSession: Handler = (ctx) => {
  const p = ctx.p
  const input = {
    networkInterfaceId: p.str('NetworkInterfaceId', true),
    targetId: p.str('TrafficMirrorTargetId', true),
    filterId: p.str('TrafficMirrorFilterId', true),
    packetLength: p.int('PacketLength'),
    sessionNumber: p.int('SessionNumber', true),
    virtualNetworkId: p.int('VirtualNetworkId'),
    description: p.str('Description'),
    tags: readTagSpecs(p, 'traffic-mirror-session'),
  }
  const token = p.str('ClientToken')
  ctx.ready()
  const s = ctx.cp.ec2.sessions.createSession(input, ctx.idem())
  return toXml([
    ['trafficMirrorSession', 'TrafficMirrorSession', sessionShape(ctx.cp, s)],
    ['clientToken', 'ClientToken', token],
  ])
}

const modifyNetworkServices: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('TrafficMirrorFilterId', true)
  const add = p.list('AddNetworkService')
  const remove = p.list('RemoveNetworkService')
  ctx.ready()
  const f = ctx.cp.ec2.filters.modifyNetworkServices(id, add, remove)
  return toXml([['trafficMirrorFilter', 'TrafficMirrorFilter', filterShape(ctx.cp, f)]])
}

const modifyRule: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('TrafficMirrorFilterRuleId', true)
  const fields = ruleFields(p)
  const remove = p.list('RemoveField')
  ctx.ready()
  const r = ctx.cp.ec2.filters.modifyRule(id, fields, remove)
  // Model: "Tags are not returned for ModifyTrafficMirrorFilterRule".
  return toXml([['trafficMirrorFilterRule', 'TrafficMirrorFilterRule', ruleShape(r, false)]])
}

const modifySession: Handler = (ctx) => {
  const p = ctx.p
  const input = {
    sessionId: p.str('TrafficMirrorSessionId', true),
    targetId: p.str('TrafficMirrorTargetId'),
    filterId: p.str('TrafficMirrorFilterId'),
    packetLength: p.int('PacketLength'),
    sessionNumber: p.int('SessionNumber'),
    virtualNetworkId: p.int('VirtualNetworkId'),
    description: p.str('Description'),
    removeFields: p.list('RemoveField'),
  }
  ctx.ready()
  const s = ctx.cp.ec2.sessions.modifySession(input)
  return toXml([['trafficMirrorSession', 'TrafficMirrorSession', sessionShape(ctx.cp, s)]])
}

function deleter(param: string, xml: string, run: (cp: ControlPlane, id: string) => void): Handler {
  return (ctx) => {
    const id = ctx.p.str(param, true)
    ctx.ready()
    run(ctx.cp, id)
    return toXml([[xml, param, id]])
  }
}

function targetFields(cp: ControlPlane): Record<string, FilterField<TrafficMirrorTarget>> {
  return {
    description: (t) => t.description,
    'network-interface-id': (t) => t.networkInterfaceId,
    'network-load-balancer-arn': (t) => t.networkLoadBalancerArn,
    'gateway-load-balancer-endpoint-id': (t) => t.gatewayLoadBalancerEndpointId,
    'owner-id': () => cp.accountId,
    'traffic-mirror-target-id': (t) => t.id,
    type: (t) => t.type,
  }
}

const filterFields: Record<string, FilterField<TrafficMirrorFilter>> = {
  description: (f) => f.description,
  'traffic-mirror-filter-id': (f) => f.id,
}

function sessionFields(cp: ControlPlane): Record<string, FilterField<TrafficMirrorSession>> {
  return {
    description: (s) => s.description,
    'network-interface-id': (s) => s.networkInterfaceId,
    'owner-id': () => cp.accountId,
    'packet-length': (s) => s.packetLength,
    'session-number': (s) => s.sessionNumber,
    'traffic-mirror-filter-id': (s) => s.filterId,
    'traffic-mirror-session-id': (s) => s.id,
    'traffic-mirror-target-id': (s) => s.targetId,
    'virtual-network-id': (s) => s.virtualNetworkId,
  }
}

const ruleFilterFields: Record<string, FilterField<TrafficMirrorFilterRule>> = {
  'traffic-mirror-filter-rule-id': (r) => r.id,
  'traffic-mirror-filter-id': (r) => r.filterId,
  'rule-number': (r) => r.ruleNumber,
  'rule-action': (r) => r.ruleAction,
  'traffic-direction': (r) => r.trafficDirection,
  protocol: (r) => r.protocol,
  'source-cidr-block': (r) => r.sourceCidrBlock,
  'destination-cidr-block': (r) => r.destinationCidrBlock,
  description: (r) => r.description,
}

const describeTargets: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'TrafficMirrorTargetId',
    all: () => ctx.cp.state.table('traffic-mirror-target').values(),
    lookup: (id) => ctx.cp.ec2.targets.target(id),
    fields: targetFields(ctx.cp),
    wrapper: ['trafficMirrorTargetSet', 'TrafficMirrorTargets'],
    shape: (t) => targetShape(ctx.cp, t),
  })

const describeFilters: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'TrafficMirrorFilterId',
    all: () => ctx.cp.state.table('traffic-mirror-filter').values(),
    lookup: (id) => ctx.cp.ec2.filters.filter(id),
    fields: filterFields,
    wrapper: ['trafficMirrorFilterSet', 'TrafficMirrorFilters'],
    shape: (f) => filterShape(ctx.cp, f),
  })

const describeSessions: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'TrafficMirrorSessionId',
    all: () => ctx.cp.state.table('traffic-mirror-session').values(),
    lookup: (id) => ctx.cp.ec2.sessions.session(id),
    fields: sessionFields(ctx.cp),
    wrapper: ['trafficMirrorSessionSet', 'TrafficMirrorSessions'],
    shape: (s) => sessionShape(ctx.cp, s),
  })

const describeRules: Handler = (ctx) => {
  let filterId: string | undefined
  return describe(ctx, {
    idParam: 'TrafficMirrorFilterRuleId',
    all: () => {
      if (filterId === undefined) return ctx.cp.state.table('traffic-mirror-filter-rule').values()
      const f = ctx.cp.ec2.filters.filter(filterId)
      return [...ctx.cp.ec2.index.rulesByFilter.get(f.id)]
        .map((id) => ctx.cp.state.get('traffic-mirror-filter-rule', id)!)
        .sort((a, b) => a.seq - b.seq)
    },
    lookup: (id) => ctx.cp.ec2.filters.rule(id),
    fields: ruleFilterFields,
    wrapper: ['trafficMirrorFilterRuleSet', 'TrafficMirrorFilterRules'],
    shape: (r) => ruleShape(r),
    extra: (p) => {
      filterId = p.str('TrafficMirrorFilterId')
      const id = filterId
      return (r) => id === undefined || r.filterId === id
    },
  })
}

// ------------------------------------------------------------------------------------------------
// Flow logs

const createFlowLogs: Handler = (ctx) => {
  const p = ctx.p
  const resourceIds = p.list('ResourceId')
  const resourceType = p.str('ResourceType', true)
  if (resourceIds.length === 0)
    throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
  const opts = p.struct('DestinationOptions')
  let destinationOptions:
    | {
        fileFormat?: 'plain-text' | 'parquet'
        hiveCompatiblePartitions?: boolean
        perHourPartition?: boolean
      }
    | undefined
  if (opts !== undefined) {
    destinationOptions = {}
    const ff = opts.str('FileFormat')
    const hive = opts.bool('HiveCompatiblePartitions')
    const hour = opts.bool('PerHourPartition')
    opts.done()
    if (ff !== undefined) destinationOptions.fileFormat = ff as 'parquet'
    if (hive !== undefined) destinationOptions.hiveCompatiblePartitions = hive
    if (hour !== undefined) destinationOptions.perHourPartition = hour
  }
  const tfs = p.structs('TagFieldSpecification').map((s) => {
    const resourceType = s.str('ResourceType', true)
    const tagKeys = s.list('TagKey')
    s.done()
    return { resourceType, tagKeys }
  })
  const input = {
    resourceIds,
    resourceType,
    trafficType: p.str('TrafficType'),
    logDestinationType: p.str('LogDestinationType'),
    logDestination: p.str('LogDestination'),
    logGroupName: p.str('LogGroupName'),
    deliverLogsPermissionArn: p.str('DeliverLogsPermissionArn'),
    deliverCrossAccountRole: p.str('DeliverCrossAccountRole'),
    logFormat: p.str('LogFormat'),
    maxAggregationInterval: p.int('MaxAggregationInterval'),
    destinationOptions,
    tagFieldSpecifications: tfs.length === 0 ? undefined : tfs,
    tags: readTagSpecs(p, 'vpc-flow-log'),
  }
  const token = p.str('ClientToken')
  ctx.ready()
  const r = ctx.cp.ec2.flowLogs.createFlowLogs(input, ctx.idem())
  return toXml([
    ['clientToken', 'ClientToken', token],
    ['flowLogIdSet', 'FlowLogIds', L(r.flowLogIds)],
    ['unsuccessful', 'Unsuccessful', L(r.unsuccessful.map(unsuccessfulItem))],
  ])
}

function unsuccessfulItem(u: { resourceId: string; code: string; message: string }): Node[] {
  return [
    [
      'error',
      'Error',
      [
        ['code', 'Code', u.code],
        ['message', 'Message', u.message],
      ],
    ],
    ['resourceId', 'ResourceId', u.resourceId],
  ]
}

const flowLogFields: Record<string, FilterField<FlowLog>> = {
  'deliver-log-status': (f) => deliveryOf(f).status,
  'log-destination-type': (f) => f.logDestinationType,
  'flow-log-id': (f) => f.id,
  'log-group-name': (f) => f.logGroupName,
  'resource-id': (f) => f.resourceId,
  'traffic-type': (f) => f.trafficType,
}

const describeFlowLogs: Handler = (ctx) => {
  const p = ctx.p
  const ids = new Set(p.list('FlowLogId'))
  if (ids.size > 1000)
    throw new ApiError('InvalidParameterValue', 'The number of FlowLogIds cannot exceed 1000.')
  const filters = readFilters(p, new Set(Object.keys(flowLogFields)))
  const paging = readPaging(p, ctx.action)
  ctx.ready()
  const match = compileFilters(filters, flowLogFields)
  // DescribeFlowLogs does not fail on unknown ids: they are simply not listed.
  const res = page(
    ctx.cp.state.table('flow-log').values(),
    (f) => (ids.size === 0 || ids.has(f.id)) && match(f),
    paging,
  )
  return toXml([
    ['flowLogSet', 'FlowLogs', L(res.items.map(flowLogShape))],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

const deleteFlowLogs: Handler = (ctx) => {
  const ids = ctx.p.list('FlowLogId')
  ctx.ready()
  const unsuccessful = ctx.cp.ec2.flowLogs.deleteFlowLogs(ids)
  return toXml([['unsuccessful', 'Unsuccessful', L(unsuccessful.map(unsuccessfulItem))]])
}

// ------------------------------------------------------------------------------------------------
// Tags

function readTags(p: Params, valueRequired: boolean): { key: string; value?: string | undefined }[] {
  return p.structs('Tag').map((t) => {
    const key = t.str('Key')
    const value = t.str('Value')
    t.done()
    if (key === undefined) throw new ApiError('InvalidParameterValue', 'Tag key cannot be null.')
    return valueRequired ? { key, value: value ?? '' } : { key, value }
  })
}

const createTags: Handler = (ctx) => {
  const ids = ctx.p.list('ResourceId')
  const tags = readTags(ctx.p, true) as Tag[]
  ctx.ready()
  if (ids.length === 0)
    throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
  if (tags.length === 0) throw new ApiError('MissingParameter', 'The request must contain the parameter Tag')
  ctx.cp.ec2.tags.createTags(ids, tags)
  return toXml([['return', 'Return', true]])
}

const deleteTags: Handler = (ctx) => {
  const ids = ctx.p.list('ResourceId')
  const tags = readTags(ctx.p, false)
  ctx.ready()
  if (ids.length === 0)
    throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
  ctx.cp.ec2.tags.deleteTags(ids, tags)
  return toXml([['return', 'Return', true]])
}

/** One row of DescribeTags (its own `tags` is empty: DescribeTags has no tag filters). */
interface TagRow {
  seq: number
  resource: Resource
  /** The resource-type name of the resource's kind. */
  type: string
  key: string
  value: string
  tags: Tag[]
}

const tagRowFields: Record<string, FilterField<TagRow>> = {
  key: (r) => r.key,
  value: (r) => r.value,
  'resource-id': (r) => r.resource.id,
  'resource-type': (r) => r.type,
}

const describeTags: Handler = (ctx) => {
  const p = ctx.p
  const filters = readFilters(p, new Set(Object.keys(tagRowFields)), false)
  const paging = readPaging(p, ctx.action, 5, 1000)
  ctx.ready()
  const match = compileFilters(filters, tagRowFields)
  // Rows are numbered resource seq × 64 + tag index (≤ 50 tags each), so a token points between two tags.
  const rows = function* (): Generator<TagRow> {
    for (const r of ctx.cp.state.byId.values()) {
      const type = ctx.cp.ec2.tags.resourceTypeOf(r)
      if (type === undefined) continue
      for (let i = 0; i < r.tags.length; i++) {
        const t = r.tags[i]!
        yield { seq: r.seq * 64 + i, resource: r, type, key: t.key, value: t.value, tags: [] }
      }
    }
  }
  const sorted = [...rows()].sort((a, b) => a.seq - b.seq)
  const res = page(sorted, match, paging)
  return toXml([
    [
      'tagSet',
      'Tags',
      L(
        res.items.map((r): Node[] => [
          ['resourceId', 'ResourceId', r.resource.id],
          ['resourceType', 'ResourceType', r.type],
          ['key', 'Key', r.key],
          ['value', 'Value', r.value],
        ]),
      ),
    ],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

// ------------------------------------------------------------------------------------------------

/** Every EC2 action the server answers. */
export const ACTIONS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['CreateVpc', createVpc],
  ['DescribeVpcs', describeVpcs],
  ['DeleteVpc', deleteVpc],
  ['CreateSubnet', createSubnet],
  ['DescribeSubnets', describeSubnets],
  ['DeleteSubnet', deleteSubnet],
  ['DescribeNetworkInterfaces', describeNetworkInterfaces],
  ['DescribeInstances', describeInstances],
  ['CreateTrafficMirrorTarget', createTarget],
  ['CreateTrafficMirrorFilter', createFilter],
  ['CreateTrafficMirrorFilterRule', createRule],
  ['CreateTrafficMirrorSession', createSession],
  ['ModifyTrafficMirrorFilterNetworkServices', modifyNetworkServices],
  ['ModifyTrafficMirrorFilterRule', modifyRule],
  ['ModifyTrafficMirrorSession', modifySession],
  [
    'DeleteTrafficMirrorTarget',
    deleter('TrafficMirrorTargetId', 'trafficMirrorTargetId', (cp, id) => cp.ec2.targets.deleteTarget(id)),
  ],
  [
    'DeleteTrafficMirrorFilter',
    deleter('TrafficMirrorFilterId', 'trafficMirrorFilterId', (cp, id) => cp.ec2.filters.deleteFilter(id)),
  ],
  [
    'DeleteTrafficMirrorFilterRule',
    deleter('TrafficMirrorFilterRuleId', 'trafficMirrorFilterRuleId', (cp, id) =>
      cp.ec2.filters.deleteRule(id),
    ),
  ],
  [
    'DeleteTrafficMirrorSession',
    deleter('TrafficMirrorSessionId', 'trafficMirrorSessionId', (cp, id) =>
      cp.ec2.sessions.deleteSession(id),
    ),
  ],
  ['DescribeTrafficMirrorTargets', describeTargets],
  ['DescribeTrafficMirrorFilters', describeFilters],
  ['DescribeTrafficMirrorSessions', describeSessions],
  ['DescribeTrafficMirrorFilterRules', describeRules],
  ['CreateFlowLogs', createFlowLogs],
  ['DescribeFlowLogs', describeFlowLogs],
  ['DeleteFlowLogs', deleteFlowLogs],
  ['CreateTags', createTags],
  ['DeleteTags', deleteTags],
  ['DescribeTags', describeTags],
])
