// SPDX-License-Identifier: Apache-2.0
/**
 * Resource shapes, in the EC2 model's element order (spec-traffic-mirroring §5.3 "Output
 * structures"; the botocore model for VPC, subnet, network interface, instance, flow log).
 * @module
 */
import type {
  ControlPlane,
  FlowLog,
  Instance,
  NetworkInterface,
  Subnet,
  Tag,
  TrafficMirrorFilter,
  TrafficMirrorFilterRule,
  TrafficMirrorSession,
  TrafficMirrorTarget,
  Vpc,
} from '../../../control/index.ts'
import { deliveryOf } from '../../../control/index.ts'
import { L, type Node } from '../../protocols/ec2-query/xml.ts'

/** `tagSet` / `Tags` (JSON name varies: NetworkInterface uses `TagSet`). */
export function tagSet(tags: readonly Tag[], jsonName = 'Tags'): Node {
  return [
    'tagSet',
    jsonName,
    L(
      tags.map((t): Node[] => [
        ['key', 'Key', t.key],
        ['value', 'Value', t.value],
      ]),
    ),
  ]
}

export function vpcShape(cp: ControlPlane, v: Vpc): Node[] {
  return [
    ['vpcId', 'VpcId', v.id],
    ['ownerId', 'OwnerId', cp.accountId],
    ['state', 'State', 'available'],
    ['cidrBlock', 'CidrBlock', v.cidrBlock],
    [
      'cidrBlockAssociationSet',
      'CidrBlockAssociationSet',
      L([
        [
          ['cidrBlock', 'CidrBlock', v.cidrBlock],
          ['associationId', 'AssociationId', v.cidrAssociationId],
          ['cidrBlockState', 'CidrBlockState', [['state', 'State', 'associated']]],
        ],
      ]),
    ],
    ['dhcpOptionsId', 'DhcpOptionsId', 'default'],
    tagSet(v.tags),
    ['instanceTenancy', 'InstanceTenancy', v.instanceTenancy],
    ['isDefault', 'IsDefault', false],
  ]
}

export function subnetShape(cp: ControlPlane, s: Subnet): Node[] {
  const a = s.attributes ?? {}
  return [
    ['subnetId', 'SubnetId', s.id],
    ['subnetArn', 'SubnetArn', `arn:aws:ec2:${cp.region}:${cp.accountId}:subnet/${s.id}`],
    ['state', 'State', 'available'],
    ['ownerId', 'OwnerId', cp.accountId],
    ['vpcId', 'VpcId', s.vpcId],
    ['cidrBlock', 'CidrBlock', s.cidrBlock],
    ['ipv6CidrBlockAssociationSet', 'Ipv6CidrBlockAssociationSet', L([])],
    ['availableIpAddressCount', 'AvailableIpAddressCount', cp.ec2.vpcs.availableIpAddressCount(s)],
    ['availabilityZone', 'AvailabilityZone', s.availabilityZone],
    ['availabilityZoneId', 'AvailabilityZoneId', s.availabilityZoneId],
    ['defaultForAz', 'DefaultForAz', false],
    ['mapPublicIpOnLaunch', 'MapPublicIpOnLaunch', a.mapPublicIpOnLaunch ?? false],
    ['mapCustomerOwnedIpOnLaunch', 'MapCustomerOwnedIpOnLaunch', false],
    ['assignIpv6AddressOnCreation', 'AssignIpv6AddressOnCreation', a.assignIpv6AddressOnCreation ?? false],
    tagSet(s.tags),
    ['enableDns64', 'EnableDns64', a.enableDns64 ?? false],
    ['ipv6Native', 'Ipv6Native', false],
    [
      'privateDnsNameOptionsOnLaunch',
      'PrivateDnsNameOptionsOnLaunch',
      [
        ['hostnameType', 'HostnameType', a.privateDnsHostnameTypeOnLaunch ?? 'ip-name'],
        [
          'enableResourceNameDnsARecord',
          'EnableResourceNameDnsARecord',
          a.enableResourceNameDnsARecordOnLaunch ?? false,
        ],
        [
          'enableResourceNameDnsAAAARecord',
          'EnableResourceNameDnsAAAARecord',
          a.enableResourceNameDnsAAAARecordOnLaunch ?? false,
        ],
      ],
    ],
  ]
}

/** `groupSet`: an interface's security groups (id and name). */
export function groupSet(cp: ControlPlane, e: NetworkInterface, jsonName = 'Groups'): Node {
  return [
    'groupSet',
    jsonName,
    L(
      cp.ec2.interfaces.groupsOf(e).map((g): Node[] => [
        ['groupName', 'GroupName', g.groupName],
        ['groupId', 'GroupId', g.id],
      ]),
    ),
  ]
}

/** The private DNS name AWS gives an address in us-east-1 / other regions. */
export function privateDnsName(cp: ControlPlane, ip: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`
  return cp.region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${cp.region}.compute.internal`
}

function addresses(cp: ControlPlane, e: NetworkInterface): Node {
  const all = [e.privateIpAddress, ...e.secondaryPrivateIpAddresses]
  return [
    'privateIpAddressesSet',
    'PrivateIpAddresses',
    L(
      all.map((ip, i): Node[] => [
        ['privateIpAddress', 'PrivateIpAddress', ip],
        ['privateDnsName', 'PrivateDnsName', privateDnsName(cp, ip)],
        ['primary', 'Primary', i === 0],
      ]),
    ),
  ]
}

function ipv6(e: NetworkInterface): Node {
  return [
    'ipv6AddressesSet',
    'Ipv6Addresses',
    L(e.ipv6Addresses.map((a): Node[] => [['ipv6Address', 'Ipv6Address', a]])),
  ]
}

export function networkInterfaceShape(cp: ControlPlane, e: NetworkInterface): Node[] {
  const attached = e.instanceId !== undefined
  return [
    ['networkInterfaceId', 'NetworkInterfaceId', e.id],
    ['subnetId', 'SubnetId', e.subnetId],
    ['vpcId', 'VpcId', e.vpcId],
    ['availabilityZone', 'AvailabilityZone', e.availabilityZone],
    ['description', 'Description', e.description],
    ['ownerId', 'OwnerId', cp.accountId],
    ['requesterManaged', 'RequesterManaged', false],
    ['status', 'Status', attached ? 'in-use' : 'available'],
    ['macAddress', 'MacAddress', e.macAddress],
    ['privateIpAddress', 'PrivateIpAddress', e.privateIpAddress],
    ['privateDnsName', 'PrivateDnsName', privateDnsName(cp, e.privateIpAddress)],
    ['sourceDestCheck', 'SourceDestCheck', e.sourceDestCheck ?? true],
    groupSet(cp, e),
    [
      'attachment',
      'Attachment',
      attached
        ? [
            ['attachmentId', 'AttachmentId', e.attachmentId],
            ['instanceId', 'InstanceId', e.instanceId],
            ['instanceOwnerId', 'InstanceOwnerId', cp.accountId],
            ['deviceIndex', 'DeviceIndex', e.deviceIndex ?? 0],
            ['status', 'Status', 'attached'],
            ['attachTime', 'AttachTime', e.attachTime],
            ['deleteOnTermination', 'DeleteOnTermination', false],
            ['networkCardIndex', 'NetworkCardIndex', 0],
          ]
        : undefined,
    ],
    tagSet(e.tags, 'TagSet'),
    addresses(cp, e),
    ipv6(e),
    ['interfaceType', 'InterfaceType', 'interface'],
  ]
}

function instanceNetworkInterface(cp: ControlPlane, e: NetworkInterface): Node[] {
  return [
    ['networkInterfaceId', 'NetworkInterfaceId', e.id],
    ['subnetId', 'SubnetId', e.subnetId],
    ['vpcId', 'VpcId', e.vpcId],
    ['description', 'Description', e.description],
    ['ownerId', 'OwnerId', cp.accountId],
    ['status', 'Status', 'in-use'],
    ['macAddress', 'MacAddress', e.macAddress],
    ['privateIpAddress', 'PrivateIpAddress', e.privateIpAddress],
    ['privateDnsName', 'PrivateDnsName', privateDnsName(cp, e.privateIpAddress)],
    ['sourceDestCheck', 'SourceDestCheck', e.sourceDestCheck ?? true],
    groupSet(cp, e),
    [
      'attachment',
      'Attachment',
      [
        ['attachmentId', 'AttachmentId', e.attachmentId],
        ['deviceIndex', 'DeviceIndex', e.deviceIndex ?? 0],
        ['status', 'Status', 'attached'],
        ['attachTime', 'AttachTime', e.attachTime],
        ['deleteOnTermination', 'DeleteOnTermination', false],
        ['networkCardIndex', 'NetworkCardIndex', 0],
      ],
    ],
    addresses(cp, e),
    ipv6(e),
    ['interfaceType', 'InterfaceType', 'interface'],
  ]
}

/** The interfaces of an instance in device-index order. */
export function instanceInterfaces(cp: ControlPlane, i: Instance): NetworkInterface[] {
  return cp.ec2.instances.interfacesOf(i.id)
}

export function instanceShape(cp: ControlPlane, i: Instance): Node[] {
  const enis = instanceInterfaces(cp, i)
  const primary = enis[0]
  const az = primary?.availabilityZone ?? cp.ec2.vpcs.availabilityZones()[0]!
  const state = cp.ec2.presence.state(i.id)
  return [
    ['instanceId', 'InstanceId', i.id],
    ['imageId', 'ImageId', 'ami-00000000000000000'],
    [
      'instanceState',
      'State',
      [
        ['code', 'Code', state.code],
        ['name', 'Name', state.name],
      ],
    ],
    [
      'privateDnsName',
      'PrivateDnsName',
      primary === undefined ? '' : privateDnsName(cp, primary.privateIpAddress),
    ],
    ['dnsName', 'PublicDnsName', ''],
    ['reason', 'StateTransitionReason', state.reason],
    ['amiLaunchIndex', 'AmiLaunchIndex', 0],
    ['instanceType', 'InstanceType', i.instanceType],
    ['launchTime', 'LaunchTime', i.launchTime],
    [
      'placement',
      'Placement',
      [
        ['availabilityZone', 'AvailabilityZone', az],
        ['tenancy', 'Tenancy', 'default'],
      ],
    ],
    ['monitoring', 'Monitoring', [['state', 'State', 'disabled']]],
    ['subnetId', 'SubnetId', primary?.subnetId],
    ['vpcId', 'VpcId', primary?.vpcId],
    ['privateIpAddress', 'PrivateIpAddress', primary?.privateIpAddress],
    ['sourceDestCheck', 'SourceDestCheck', primary?.sourceDestCheck ?? true],
    primary === undefined ? ['groupSet', 'SecurityGroups', L([])] : groupSet(cp, primary, 'SecurityGroups'),
    ['architecture', 'Architecture', 'x86_64'],
    ['rootDeviceType', 'RootDeviceType', 'ebs'],
    ['blockDeviceMapping', 'BlockDeviceMappings', L([])],
    ['virtualizationType', 'VirtualizationType', 'hvm'],
    tagSet(i.tags),
    ['hypervisor', 'Hypervisor', 'xen'],
    ['networkInterfaceSet', 'NetworkInterfaces', L(enis.map((e) => instanceNetworkInterface(cp, e)))],
  ]
}

/** A reservation (DescribeInstances groups instances by reservation; one instance each here). */
export function reservationShape(cp: ControlPlane, i: Instance): Node[] {
  return [
    ['reservationId', 'ReservationId', i.reservationId],
    ['ownerId', 'OwnerId', cp.accountId],
    ['groupSet', 'Groups', L([])],
    ['instancesSet', 'Instances', L([instanceShape(cp, i)])],
  ]
}

export function targetShape(cp: ControlPlane, t: TrafficMirrorTarget): Node[] {
  return [
    ['trafficMirrorTargetId', 'TrafficMirrorTargetId', t.id],
    ['networkInterfaceId', 'NetworkInterfaceId', t.networkInterfaceId],
    ['networkLoadBalancerArn', 'NetworkLoadBalancerArn', t.networkLoadBalancerArn],
    ['type', 'Type', t.type],
    ['description', 'Description', t.description],
    ['ownerId', 'OwnerId', cp.accountId],
    tagSet(t.tags),
    ['gatewayLoadBalancerEndpointId', 'GatewayLoadBalancerEndpointId', t.gatewayLoadBalancerEndpointId],
  ]
}

function portRange(xml: string, json: string, p: { fromPort: number; toPort: number } | undefined): Node {
  return [
    xml,
    json,
    p === undefined
      ? undefined
      : [
          ['fromPort', 'FromPort', p.fromPort],
          ['toPort', 'ToPort', p.toPort],
        ],
  ]
}

export function ruleShape(r: TrafficMirrorFilterRule, withTags = true): Node[] {
  const n: Node[] = [
    ['trafficMirrorFilterRuleId', 'TrafficMirrorFilterRuleId', r.id],
    ['trafficMirrorFilterId', 'TrafficMirrorFilterId', r.filterId],
    ['trafficDirection', 'TrafficDirection', r.trafficDirection],
    ['ruleNumber', 'RuleNumber', r.ruleNumber],
    ['ruleAction', 'RuleAction', r.ruleAction],
    ['protocol', 'Protocol', r.protocol],
    portRange('destinationPortRange', 'DestinationPortRange', r.destinationPortRange),
    portRange('sourcePortRange', 'SourcePortRange', r.sourcePortRange),
    ['destinationCidrBlock', 'DestinationCidrBlock', r.destinationCidrBlock],
    ['sourceCidrBlock', 'SourceCidrBlock', r.sourceCidrBlock],
    ['description', 'Description', r.description],
  ]
  if (withTags) n.push(tagSet(r.tags))
  return n
}

export function filterShape(cp: ControlPlane, f: TrafficMirrorFilter): Node[] {
  return [
    ['trafficMirrorFilterId', 'TrafficMirrorFilterId', f.id],
    [
      'ingressFilterRuleSet',
      'IngressFilterRules',
      L(cp.ec2.filters.rulesOf(f.id, 'ingress').map((r) => ruleShape(r))),
    ],
    [
      'egressFilterRuleSet',
      'EgressFilterRules',
      L(cp.ec2.filters.rulesOf(f.id, 'egress').map((r) => ruleShape(r))),
    ],
    ['networkServiceSet', 'NetworkServices', L(f.networkServices)],
    ['description', 'Description', f.description],
    tagSet(f.tags),
  ]
}

export function sessionShape(cp: ControlPlane, s: TrafficMirrorSession): Node[] {
  return [
    ['trafficMirrorSessionId', 'TrafficMirrorSessionId', s.id],
    ['trafficMirrorTargetId', 'TrafficMirrorTargetId', s.targetId],
    ['trafficMirrorFilterId', 'TrafficMirrorFilterId', s.filterId],
    ['networkInterfaceId', 'NetworkInterfaceId', s.networkInterfaceId],
    ['ownerId', 'OwnerId', cp.accountId],
    ['packetLength', 'PacketLength', s.packetLength],
    ['sessionNumber', 'SessionNumber', s.sessionNumber],
    ['virtualNetworkId', 'VirtualNetworkId', s.virtualNetworkId],
    ['description', 'Description', s.description],
    tagSet(s.tags),
  ]
}

export function flowLogShape(f: FlowLog): Node[] {
  const o = f.destinationOptions
  const delivery = deliveryOf(f)
  return [
    ['creationTime', 'CreationTime', f.creationTime],
    ['deliverLogsErrorMessage', 'DeliverLogsErrorMessage', delivery.errorMessage],
    ['deliverLogsPermissionArn', 'DeliverLogsPermissionArn', f.deliverLogsPermissionArn],
    ['deliverCrossAccountRole', 'DeliverCrossAccountRole', f.deliverCrossAccountRole],
    ['deliverLogsStatus', 'DeliverLogsStatus', delivery.status],
    ['flowLogId', 'FlowLogId', f.id],
    ['flowLogStatus', 'FlowLogStatus', 'ACTIVE'],
    ['logGroupName', 'LogGroupName', f.logGroupName],
    ['resourceId', 'ResourceId', f.resourceId],
    ['trafficType', 'TrafficType', f.trafficType],
    ['logDestinationType', 'LogDestinationType', f.logDestinationType],
    ['logDestination', 'LogDestination', f.logDestination],
    ['logFormat', 'LogFormat', f.logFormat],
    tagSet(f.tags),
    ['maxAggregationInterval', 'MaxAggregationInterval', f.maxAggregationInterval],
    [
      'destinationOptions',
      'DestinationOptions',
      o === undefined
        ? undefined
        : [
            ['fileFormat', 'FileFormat', o.fileFormat],
            ['hiveCompatiblePartitions', 'HiveCompatiblePartitions', o.hiveCompatiblePartitions],
            ['perHourPartition', 'PerHourPartition', o.perHourPartition],
          ],
    ],
    [
      'tagFieldSpecificationSet',
      'TagFieldSpecifications',
      f.tagFieldSpecifications === undefined
        ? undefined
        : L(
            f.tagFieldSpecifications.map((s): Node[] => [
              ['resourceType', 'ResourceType', s.resourceType],
              ['tagKeySet', 'TagKeys', L(s.tagKeys)],
            ]),
          ),
    ],
  ]
}
