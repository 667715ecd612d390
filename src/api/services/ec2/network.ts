// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 network actions: VPCs, subnets, network interfaces and instances (Create/Describe/Delete),
 * with their Describe filter tables.
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
import { toXml } from '../../protocols/ec2-query/xml.ts'
import { describe, readTagSpecs, type Handler } from './context.ts'
import {
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
]
