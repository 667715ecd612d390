// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 network actions: VPCs, subnets, network interfaces and instances (Create/Describe/Delete), VPC
 * and subnet attributes, interfaces created, attached and modified through the API, with their
 * Describe filter tables.
 * @module
 */
import {
  ApiError,
  type ControlPlane,
  type Instance,
  type NetworkInterface,
  type Subnet,
  type Vpc,
} from '../../../control/index.ts'
import type { FilterField } from '../../protocols/ec2-query/describe.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { toXml, type Node } from '../../protocols/ec2-query/xml.ts'
import { describe, readTagSpecs, type Handler } from './context.ts'
import {
  groupSet,
  instanceInterfaces,
  networkInterfaceShape,
  reservationShape,
  subnetShape,
  vpcShape,
} from './shapes.ts'
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

export function vpcFields(cp: ControlPlane): Record<string, FilterField<Vpc>> {
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

export function subnetFields(cp: ControlPlane): Record<string, FilterField<Subnet>> {
  return {
    'availability-zone': (s) => s.availabilityZone,
    'availability-zone-id': (s) => s.availabilityZoneId,
    'available-ip-address-count': (s) => cp.ec2.vpcs.availableIpAddressCount(s),
    'cidr-block': (s) => s.cidrBlock,
    cidr: (s) => s.cidrBlock,
    cidrBlock: (s) => s.cidrBlock,
    'default-for-az': () => 'false',
    defaultForAz: () => 'false',
    'map-public-ip-on-launch': (s) => String(s.attributes?.mapPublicIpOnLaunch ?? false),
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

export function eniFields(cp: ControlPlane): Record<string, FilterField<NetworkInterface>> {
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
    'group-id': (e) => cp.ec2.interfaces.groupIdsOf(e),
    'group-name': (e) => cp.ec2.interfaces.groupsOf(e).map((g) => g.groupName),
    'requester-managed': () => 'false',
    'source-dest-check': (e) => String(e.sourceDestCheck ?? true),
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

export function instanceFields(cp: ControlPlane): Record<string, FilterField<Instance>> {
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
    'network-interface.group-id': (i) => enis(i).flatMap((e) => cp.ec2.interfaces.groupIdsOf(e)),
    'network-interface.group-name': (i) =>
      enis(i).flatMap((e) => cp.ec2.interfaces.groupsOf(e).map((g) => g.groupName)),
    'instance.group-id': (i) => (enis(i)[0] === undefined ? [] : cp.ec2.interfaces.groupIdsOf(enis(i)[0]!)),
    'instance.group-name': (i) =>
      enis(i)[0] === undefined ? [] : cp.ec2.interfaces.groupsOf(enis(i)[0]!).map((g) => g.groupName),
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

/** Reads `Name.Value` (an AttributeBooleanValue or AttributeValue structure). */
function attrValue(p: Params, name: string): string | undefined {
  const s = p.struct(name)
  if (s === undefined) return undefined
  const v = s.str('Value')
  s.done()
  if (v === undefined)
    throw new ApiError('MissingParameter', `The request must contain the parameter ${name}.Value`)
  return v
}

function attrBool(p: Params, name: string): boolean | undefined {
  const v = attrValue(p, name)
  if (v === undefined) return undefined
  const l = v.toLowerCase()
  if (l !== 'true' && l !== 'false')
    throw new ApiError(
      'InvalidParameterValue',
      `Invalid value '${v.slice(0, 64)}' for ${name}.Value: not a boolean.`,
    )
  return l === 'true'
}

const VPC_ATTRIBUTES = ['enableDnsSupport', 'enableDnsHostnames', 'enableNetworkAddressUsageMetrics'] as const

const describeVpcAttribute: Handler = (ctx) => {
  const p = ctx.p
  const vpcId = p.str('VpcId', true)
  const attribute = p.str('Attribute', true)
  ctx.ready()
  const vpc = ctx.cp.ec2.vpcs.vpc(vpcId)
  const name = VPC_ATTRIBUTES.find((a) => a === attribute)
  if (name === undefined)
    throw new ApiError(
      'InvalidParameterValue',
      `Value (${attribute.slice(0, 64)}) for parameter attribute is invalid. Valid values are ${VPC_ATTRIBUTES.join(', ')}.`,
    )
  const value =
    name === 'enableDnsSupport'
      ? (vpc.enableDnsSupport ?? true)
      : name === 'enableDnsHostnames'
        ? (vpc.enableDnsHostnames ?? false)
        : (vpc.enableNetworkAddressUsageMetrics ?? false)
  return toXml([
    ['vpcId', 'VpcId', vpc.id],
    [name, name[0]!.toUpperCase() + name.slice(1), [['value', 'Value', value]]],
  ])
}

const modifyVpcAttribute: Handler = (ctx) => {
  const p = ctx.p
  const vpcId = p.str('VpcId', true)
  const attr = {
    enableDnsSupport: attrBool(p, 'EnableDnsSupport'),
    enableDnsHostnames: attrBool(p, 'EnableDnsHostnames'),
    enableNetworkAddressUsageMetrics: attrBool(p, 'EnableNetworkAddressUsageMetrics'),
  }
  ctx.ready()
  ctx.cp.ec2.vpcs.modifyVpcAttribute(vpcId, attr)
  return toXml([['return', 'Return', true]])
}

const modifySubnetAttribute: Handler = (ctx) => {
  const p = ctx.p
  const subnetId = p.str('SubnetId', true)
  const hostnameType = p.str('PrivateDnsHostnameTypeOnLaunch')
  const attr = {
    mapPublicIpOnLaunch: attrBool(p, 'MapPublicIpOnLaunch'),
    assignIpv6AddressOnCreation: attrBool(p, 'AssignIpv6AddressOnCreation'),
    enableDns64: attrBool(p, 'EnableDns64'),
    enableResourceNameDnsARecordOnLaunch: attrBool(p, 'EnableResourceNameDnsARecordOnLaunch'),
    enableResourceNameDnsAAAARecordOnLaunch: attrBool(p, 'EnableResourceNameDnsAAAARecordOnLaunch'),
    privateDnsHostnameTypeOnLaunch: hostnameType as 'ip-name' | 'resource-name' | undefined,
  }
  const unsupported = [
    attrBool(p, 'MapCustomerOwnedIpOnLaunch'),
    p.str('CustomerOwnedIpv4Pool'),
    p.int('EnableLniAtDeviceIndex'),
    attrBool(p, 'DisableLniAtDeviceIndex'),
  ]
  ctx.ready()
  if (hostnameType !== undefined && hostnameType !== 'ip-name' && hostnameType !== 'resource-name')
    throw new ApiError(
      'InvalidParameterValue',
      `Value (${hostnameType.slice(0, 64)}) for parameter PrivateDnsHostnameTypeOnLaunch is invalid.`,
    )
  if (unsupported.some((v) => v !== undefined))
    throw new ApiError(
      'InvalidParameterValue',
      'Outposts and customer-owned addresses are not supported by mirrorflow.',
    )
  ctx.cp.ec2.vpcs.modifySubnetAttribute(subnetId, attr)
  return toXml([['return', 'Return', true]])
}

const createNetworkInterface: Handler = (ctx) => {
  const p = ctx.p
  const subnetId = p.str('SubnetId', true)
  const description = p.str('Description')
  const privateIpAddress = p.str('PrivateIpAddress')
  const groupIds = p.list('SecurityGroupId')
  const tags = readTagSpecs(p, 'network-interface')
  const token = p.str('ClientToken')
  const unsupported = [
    p.int('SecondaryPrivateIpAddressCount'),
    p.int('Ipv6AddressCount'),
    p.int('Ipv4PrefixCount'),
    p.int('Ipv6PrefixCount'),
    p.str('InterfaceType'),
    p.structs('PrivateIpAddresses').length > 0 ? true : undefined,
    p.structs('Ipv6Addresses').length > 0 ? true : undefined,
    p.structs('Ipv4Prefix').length > 0 ? true : undefined,
    p.structs('Ipv6Prefix').length > 0 ? true : undefined,
  ]
  ctx.ready()
  if (unsupported.some((v) => v !== undefined))
    throw new ApiError(
      'InvalidParameterValue',
      'mirrorflow creates interfaces with one private IPv4 address: secondary addresses, IPv6 addresses, prefixes and interface types are not supported.',
    )
  const eni = ctx.cp.ec2.interfaces.createInterface(
    { subnetId, description, privateIpAddress, groupIds },
    tags,
    ctx.idem(),
  )
  return toXml([
    ['networkInterface', 'NetworkInterface', networkInterfaceShape(ctx.cp, eni)],
    ['clientToken', 'ClientToken', token],
  ])
}

const deleteNetworkInterface: Handler = (ctx) => {
  const id = ctx.p.str('NetworkInterfaceId', true)
  ctx.ready()
  ctx.cp.ec2.interfaces.deleteInterface(id)
  return toXml([['return', 'Return', true]])
}

const attachNetworkInterface: Handler = (ctx) => {
  const p = ctx.p
  const eniId = p.str('NetworkInterfaceId', true)
  const instanceId = p.str('InstanceId', true)
  const deviceIndex = p.int('DeviceIndex', true)
  const card = p.int('NetworkCardIndex')
  const ena = p.struct('EnaSrdSpecification')
  ena?.str('EnaSrdEnabled')
  ena?.struct('EnaSrdUdpSpecification')
  ena?.done()
  ctx.ready()
  if (card !== undefined && card !== 0)
    throw new ApiError(
      'InvalidParameterValue',
      `Invalid value '${card}' for NetworkCardIndex: the instance has one network card.`,
    )
  const attachmentId = ctx.cp.ec2.interfaces.attach(eniId, instanceId, deviceIndex)
  return toXml([
    ['attachmentId', 'AttachmentId', attachmentId],
    ['networkCardIndex', 'NetworkCardIndex', 0],
  ])
}

const detachNetworkInterface: Handler = (ctx) => {
  const p = ctx.p
  const attachmentId = p.str('AttachmentId', true)
  p.bool('Force')
  ctx.ready()
  ctx.cp.ec2.interfaces.detach(attachmentId)
  return toXml([['return', 'Return', true]])
}

const modifyNetworkInterfaceAttribute: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('NetworkInterfaceId', true)
  const description = attrValue(p, 'Description')
  const sourceDestCheck = attrBool(p, 'SourceDestCheck')
  const groups = p.list('SecurityGroupId')
  const att = p.struct('Attachment')
  const attachment =
    att === undefined
      ? undefined
      : { attachmentId: att.str('AttachmentId', true), deleteOnTermination: att.bool('DeleteOnTermination') }
  att?.done()
  ctx.ready()
  ctx.cp.ec2.interfaces.modifyAttribute(id, {
    description,
    sourceDestCheck,
    groupIds: groups.length === 0 ? undefined : groups,
    attachment,
  })
  return toXml([['return', 'Return', true]])
}

const INTERFACE_ATTRIBUTES = ['description', 'groupSet', 'sourceDestCheck', 'attachment'] as const

const describeNetworkInterfaceAttribute: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('NetworkInterfaceId', true)
  const attribute = p.str('Attribute')
  ctx.ready()
  const e = ctx.cp.ec2.instances.networkInterface(id)
  if (attribute === undefined)
    throw new ApiError('MissingParameter', 'The request must contain the parameter Attribute')
  const name = INTERFACE_ATTRIBUTES.find((a) => a === attribute)
  if (name === undefined)
    throw new ApiError(
      'InvalidParameterValue',
      `Value (${attribute.slice(0, 64)}) for parameter attribute is invalid. Valid values are ${INTERFACE_ATTRIBUTES.join(', ')}.`,
    )
  const nodes: Node[] = [['networkInterfaceId', 'NetworkInterfaceId', e.id]]
  if (name === 'description') nodes.push(['description', 'Description', [['value', 'Value', e.description]]])
  else if (name === 'sourceDestCheck')
    nodes.push(['sourceDestCheck', 'SourceDestCheck', [['value', 'Value', e.sourceDestCheck ?? true]]])
  else if (name === 'groupSet') nodes.push(groupSet(ctx.cp, e))
  else if (e.instanceId !== undefined)
    nodes.push([
      'attachment',
      'Attachment',
      [
        ['attachmentId', 'AttachmentId', e.attachmentId],
        ['instanceId', 'InstanceId', e.instanceId],
        ['instanceOwnerId', 'InstanceOwnerId', ctx.cp.accountId],
        ['deviceIndex', 'DeviceIndex', e.deviceIndex ?? 0],
        ['status', 'Status', 'attached'],
        ['attachTime', 'AttachTime', e.attachTime],
        ['deleteOnTermination', 'DeleteOnTermination', false],
        ['networkCardIndex', 'NetworkCardIndex', 0],
      ],
    ])
  return toXml(nodes)
}

/** The network actions. */
export const NETWORK_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['CreateVpc', createVpc],
  ['DescribeVpcs', describeVpcs],
  ['DeleteVpc', deleteVpc],
  ['CreateSubnet', createSubnet],
  ['DescribeSubnets', describeSubnets],
  ['DeleteSubnet', deleteSubnet],
  ['DescribeNetworkInterfaces', describeNetworkInterfaces],
  ['DescribeInstances', describeInstances],
  ['DescribeVpcAttribute', describeVpcAttribute],
  ['ModifyVpcAttribute', modifyVpcAttribute],
  ['ModifySubnetAttribute', modifySubnetAttribute],
  ['CreateNetworkInterface', createNetworkInterface],
  ['DeleteNetworkInterface', deleteNetworkInterface],
  ['AttachNetworkInterface', attachNetworkInterface],
  ['DetachNetworkInterface', detachNetworkInterface],
  ['ModifyNetworkInterfaceAttribute', modifyNetworkInterfaceAttribute],
  ['DescribeNetworkInterfaceAttribute', describeNetworkInterfaceAttribute],
]
