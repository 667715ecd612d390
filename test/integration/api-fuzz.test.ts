// SPDX-License-Identifier: Apache-2.0
// test-group: fuzz
/**
 * Fuzz: at least 10,000 malformed or random requests from a seeded PRNG (FUZZ_SEED, default 1;
 * FUZZ_COUNT, default 10,000): bad percent-encodings and invalid UTF-8, huge values, missing and
 * repeated parameters, wrong types, bad enums, absurd list indices, random bytes, unsigned and
 * mis-signed requests. Every answer must be a well-formed EC2 XML error (spec-traffic-mirroring
 * §5.7) — or, for a read-only Describe that happens to be valid, a well-formed success — never a
 * 5xx other than InternalError; the server must still answer afterwards, and a full Describe
 * snapshot must be identical before and after (every mutating request is built with at least one
 * fatal defect, so every one of them must be rejected).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { SignatureV4 } from '@smithy/signature-v4'
import {
  AttachNetworkInterfaceCommand,
  AuthorizeSecurityGroupEgressCommand,
  CreateFlowLogsCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateManagedPrefixListCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  CreateTrafficMirrorFilterCommand,
  CreateTrafficMirrorFilterRuleCommand,
  CreateTrafficMirrorSessionCommand,
  CreateTrafficMirrorTargetCommand,
  CreateVpcCommand,
} from '@aws-sdk/client-ec2'
import {
  EC2_NS,
  NodeSha256,
  httpClient,
  parseEc2Error,
  parseXml,
  prng,
  registerInterfaceApi,
  signRequest,
  snapshot,
  startApiTestServer,
  type ApiTestServer,
  type HttpResult,
  type RawRequest,
} from '../helpers/api-server.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 1)
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000)
const CONCURRENCY = 16

let srv: ApiTestServer
const real = {
  vpc: '',
  subnet: '',
  eni: '',
  eni2: '',
  target: '',
  filter: '',
  rule: '',
  session: '',
  flowLog: '',
  sg: '',
  defaultSg: '',
  sgrIn: '',
  sgrOut: '',
  acl: '',
  defaultAcl: '',
  assoc: '',
  apiEni: '',
  apiEni2: '',
  primaryAttachment: '',
  pl: '',
}

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-api-fuzz' })
  const ec2 = srv.ec2
  real.vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!
  real.subnet = (
    await ec2.send(new CreateSubnetCommand({ VpcId: real.vpc, CidrBlock: '10.40.1.0/24' }))
  ).Subnet!.SubnetId!
  const [a, b] = await Promise.all([
    registerInterfaceApi(srv, {
      subnetId: real.subnet,
      privateIp: '10.40.1.5',
      instanceId: 'i-0fedcba9876543210',
    }),
    registerInterfaceApi(srv, { subnetId: real.subnet, privateIp: '10.40.1.6' }),
  ])
  real.eni = a.NetworkInterfaceId
  real.eni2 = b.NetworkInterfaceId
  real.target = (
    await ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: real.eni2 }))
  ).TrafficMirrorTarget!.TrafficMirrorTargetId!
  real.filter = (
    await ec2.send(
      new CreateTrafficMirrorFilterCommand({
        Description: 'fuzz',
        TagSpecifications: [{ ResourceType: 'traffic-mirror-filter', Tags: [{ Key: 'k', Value: 'v' }] }],
      }),
    )
  ).TrafficMirrorFilter!.TrafficMirrorFilterId!
  real.rule = (
    await ec2.send(
      new CreateTrafficMirrorFilterRuleCommand({
        TrafficMirrorFilterId: real.filter,
        TrafficDirection: 'ingress',
        RuleNumber: 10,
        RuleAction: 'accept',
        Protocol: 6,
        DestinationPortRange: { FromPort: 80, ToPort: 80 },
        SourceCidrBlock: '0.0.0.0/0',
        DestinationCidrBlock: '0.0.0.0/0',
      }),
    )
  ).TrafficMirrorFilterRule!.TrafficMirrorFilterRuleId!
  real.session = (
    await ec2.send(
      new CreateTrafficMirrorSessionCommand({
        NetworkInterfaceId: real.eni,
        TrafficMirrorTargetId: real.target,
        TrafficMirrorFilterId: real.filter,
        SessionNumber: 1,
      }),
    )
  ).TrafficMirrorSession!.TrafficMirrorSessionId!
  real.flowLog = (
    await ec2.send(
      new CreateFlowLogsCommand({
        ResourceType: 'VPC',
        ResourceIds: [real.vpc],
        TrafficType: 'ALL',
        LogDestinationType: 's3',
        LogDestination: 'arn:aws:s3:::fuzz',
      }),
    )
  ).FlowLogIds![0]
  // Security groups, network ACLs and API-managed interfaces (issue 11).
  real.sg = (
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'fz', Description: 'fz', VpcId: real.vpc }))
  ).GroupId!
  const auth = await ec2.send(
    new AuthorizeSecurityGroupEgressCommand({
      GroupId: real.sg,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
      ],
    }),
  )
  real.sgrOut = auth.SecurityGroupRules![0]!.SecurityGroupRuleId!
  const rules = await ec2.send(new DescribeSecurityGroupRulesCommand({}))
  const def = rules.SecurityGroupRules!.find((r) => !r.IsEgress && r.ReferencedGroupInfo !== undefined)!
  real.defaultSg = def.GroupId!
  real.sgrIn = def.SecurityGroupRuleId!
  real.pl = (
    await ec2.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: 'fz',
        AddressFamily: 'IPv4',
        MaxEntries: 3,
        Entries: [{ Cidr: '10.0.0.0/8' }],
      }),
    )
  ).PrefixList!.PrefixListId!
  real.acl = (await ec2.send(new CreateNetworkAclCommand({ VpcId: real.vpc }))).NetworkAcl!.NetworkAclId!
  await ec2.send(
    new CreateNetworkAclEntryCommand({
      NetworkAclId: real.acl,
      RuleNumber: 100,
      Egress: false,
      RuleAction: 'allow',
      Protocol: '-1',
      CidrBlock: '0.0.0.0/0',
    }),
  )
  const acls = await ec2.send(
    new DescribeNetworkAclsCommand({ Filters: [{ Name: 'default', Values: ['true'] }] }),
  )
  real.defaultAcl = acls.NetworkAcls![0]!.NetworkAclId!
  real.assoc = acls.NetworkAcls![0]!.Associations![0]!.NetworkAclAssociationId!
  real.apiEni = (
    await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: real.subnet, Groups: [real.sg] }))
  ).NetworkInterface!.NetworkInterfaceId!
  real.apiEni2 = (
    await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: real.subnet }))
  ).NetworkInterface!.NetworkInterfaceId!
  await ec2.send(
    new AttachNetworkInterfaceCommand({
      NetworkInterfaceId: real.apiEni2,
      InstanceId: 'i-0fedcba9876543210',
      DeviceIndex: 1,
    }),
  )
  real.primaryAttachment = (
    await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [real.eni] }))
  ).NetworkInterfaces![0]!.Attachment!.AttachmentId!
})

after(async () => {
  await srv?.close()
})

type Params = [string, string][]

/** A valid request per action (built from the real ids), from which defects are made. */
function templates(): Record<string, { params: Params; mutating: boolean; fatal: Params[] }> {
  const V = real
  const bad = (k: string, ...vals: string[]): Params[] => vals.map((v) => [[k, v]])
  return {
    CreateVpc: {
      params: [['CidrBlock', '10.99.0.0/16']],
      mutating: true,
      fatal: bad('CidrBlock', '10.99.0.0/33', 'x', '', '10.99.0.0/40'),
    },
    CreateSubnet: {
      params: [
        ['VpcId', V.vpc],
        ['CidrBlock', '10.40.2.0/24'],
      ],
      mutating: true,
      fatal: [
        ...bad('VpcId', 'vpc-zz', 'vpc-0000000000000000f'),
        ...bad('CidrBlock', '11.0.0.0/24', '10.40.1.0/24', '10.40.2.0/99'),
      ],
    },
    DeleteVpc: {
      params: [['VpcId', V.vpc]],
      mutating: true,
      fatal: bad('VpcId', 'vpc-0000000000000000f', 'vpc-', 'subnet-0000000000000000f'),
    },
    DeleteSubnet: {
      params: [['SubnetId', V.subnet]],
      mutating: true,
      fatal: bad('SubnetId', 'subnet-0000000000000000f', 'subnet-', V.vpc),
    },
    CreateTrafficMirrorTarget: {
      params: [
        ['NetworkInterfaceId', V.eni2],
        ['Description', 'd'],
      ],
      mutating: true,
      fatal: [
        ...bad('NetworkInterfaceId', 'eni-0000000000000000f', 'eni-', V.eni, V.eni2),
        [['NetworkLoadBalancerArn', 'not-an-arn']],
      ],
    },
    CreateTrafficMirrorFilter: {
      params: [['Description', 'x']],
      mutating: true,
      fatal: [
        [
          ['TagSpecification.1.ResourceType', 'traffic-mirror-session'],
          ['TagSpecification.1.Tag.1.Key', 'a'],
          ['TagSpecification.1.Tag.1.Value', 'b'],
        ],
        [
          ['TagSpecification.1.ResourceType', 'traffic-mirror-filter'],
          ['TagSpecification.1.Tag.1.Key', 'aws:x'],
          ['TagSpecification.1.Tag.1.Value', 'b'],
        ],
        [['DryRun', 'true']],
      ],
    },
    CreateTrafficMirrorFilterRule: {
      params: [
        ['TrafficMirrorFilterId', V.filter],
        ['TrafficDirection', 'egress'],
        ['RuleNumber', '20'],
        ['RuleAction', 'accept'],
        ['Protocol', '17'],
        ['DestinationPortRange.FromPort', '53'],
        ['DestinationPortRange.ToPort', '53'],
        ['SourceCidrBlock', '0.0.0.0/0'],
        ['DestinationCidrBlock', '0.0.0.0/0'],
      ],
      mutating: true,
      fatal: [
        ...bad('TrafficDirection', 'both', 'INGRESS', ''),
        ...bad('RuleAction', 'drop', 'Accept'),
        ...bad('RuleNumber', '0', '32767', '-1', 'ten', '1.5', '99999999999999999999'),
        ...bad('Protocol', '256', '-6', 'tcp'),
        ...bad('SourceCidrBlock', '::/0', '0.0.0.0/33', '1.2.3.4', 'a/b'),
        ...bad('DestinationPortRange.FromPort', '70000', '-1', 'x', '54'),
        ...bad('TrafficMirrorFilterId', 'tmf-0000000000000000f', 'tmf-x', V.target),
      ],
    },
    CreateTrafficMirrorSession: {
      params: [
        ['NetworkInterfaceId', V.eni],
        ['TrafficMirrorTargetId', V.target],
        ['TrafficMirrorFilterId', V.filter],
        ['SessionNumber', '2'],
        ['PacketLength', '100'],
        ['VirtualNetworkId', '77'],
      ],
      mutating: true,
      fatal: [
        ...bad('SessionNumber', '0', '32767', 'two', '1'),
        ...bad('PacketLength', '0', '8501', '-5', '1e3'),
        ...bad('VirtualNetworkId', '16777216', '-1', 'vni'),
        ...bad('NetworkInterfaceId', V.eni2, 'eni-0000000000000000f', 'eni-'),
        ...bad('TrafficMirrorTargetId', 'tmt-0000000000000000f', 'tmt-'),
        ...bad('TrafficMirrorFilterId', 'tmf-0000000000000000f', V.rule),
      ],
    },
    ModifyTrafficMirrorFilterNetworkServices: {
      params: [
        ['TrafficMirrorFilterId', V.filter],
        ['AddNetworkService.1', 'amazon-dns'],
      ],
      mutating: true,
      fatal: [
        ...bad('AddNetworkService.1', 'amazon-ntp', 'AMAZON-DNS'),
        ...bad('TrafficMirrorFilterId', 'tmf-0000000000000000f', 'tmf-'),
      ],
    },
    ModifyTrafficMirrorFilterRule: {
      params: [
        ['TrafficMirrorFilterRuleId', V.rule],
        ['RuleAction', 'reject'],
      ],
      mutating: true,
      fatal: [
        ...bad('RuleAction', 'nope'),
        ...bad('TrafficDirection', 'sideways'),
        ...bad('RemoveField.1', 'cidr', 'source-cidr-block'),
        ...bad('SourceCidrBlock', '::/0', '999.0.0.0/8'),
        ...bad('TrafficMirrorFilterRuleId', 'tmfr-0000000000000000f', 'tmfr-'),
        ...bad('RuleNumber', '0', 'x'),
      ],
    },
    ModifyTrafficMirrorSession: {
      params: [
        ['TrafficMirrorSessionId', V.session],
        ['SessionNumber', '3'],
      ],
      mutating: true,
      fatal: [
        ...bad('SessionNumber', '0', 'x', '40000'),
        ...bad('PacketLength', '9000'),
        ...bad('RemoveField.1', 'session-number', 'PACKET-LENGTH'),
        ...bad('TrafficMirrorTargetId', 'tmt-0000000000000000f'),
        ...bad('TrafficMirrorSessionId', 'tms-0000000000000000f', 'tms-'),
      ],
    },
    DeleteTrafficMirrorTarget: {
      params: [['TrafficMirrorTargetId', V.target]],
      mutating: true,
      fatal: bad('TrafficMirrorTargetId', 'tmt-0000000000000000f', 'tmt-', V.filter),
    },
    DeleteTrafficMirrorFilter: {
      params: [['TrafficMirrorFilterId', V.filter]],
      mutating: true,
      fatal: bad('TrafficMirrorFilterId', 'tmf-0000000000000000f', 'tmf-'),
    },
    DeleteTrafficMirrorFilterRule: {
      params: [['TrafficMirrorFilterRuleId', V.rule]],
      mutating: true,
      fatal: bad('TrafficMirrorFilterRuleId', 'tmfr-0000000000000000f', 'tmfr-', V.filter),
    },
    DeleteTrafficMirrorSession: {
      params: [['TrafficMirrorSessionId', V.session]],
      mutating: true,
      fatal: bad('TrafficMirrorSessionId', 'tms-0000000000000000f', 'tms-', V.target),
    },
    CreateFlowLogs: {
      params: [
        ['ResourceType', 'VPC'],
        ['ResourceId.1', V.vpc],
        ['TrafficType', 'ACCEPT'],
        ['LogDestinationType', 's3'],
        ['LogDestination', 'arn:aws:s3:::fuzz2'],
      ],
      mutating: true,
      fatal: [
        ...bad('ResourceType', 'Vpc', 'Elephant'),
        ...bad('TrafficType', 'accept', 'SOME'),
        ...bad('LogDestinationType', 'ftp'),
        ...bad('MaxAggregationInterval', '61', 'x'),
        ...bad('LogFormat', '${nope}', '$version'),
      ],
    },
    DeleteFlowLogs: {
      params: [['FlowLogId.1', V.flowLog]],
      mutating: true,
      fatal: [[['DryRun', 'true']], [['DryRun', 'yes']]],
    },
    CreateTags: {
      params: [
        ['ResourceId.1', V.filter],
        ['Tag.1.Key', 'fz'],
        ['Tag.1.Value', 'v'],
      ],
      mutating: true,
      fatal: [
        ...bad('Tag.1.Key', 'aws:x', 'k'.repeat(200)),
        ...bad('Tag.1.Value', 'v'.repeat(300)),
        ...bad('ResourceId.1', 'nothing-123', 'tmf-0000000000000000f'),
      ],
    },
    DeleteTags: {
      params: [
        ['ResourceId.1', V.filter],
        ['Tag.1.Key', 'k'],
      ],
      mutating: true,
      fatal: [...bad('ResourceId.1', 'nothing-123'), [['DryRun', 'true']]],
    },
    DescribeVpcs: {
      params: [
        ['Filter.1.Name', 'vpc-id'],
        ['Filter.1.Value.1', V.vpc],
      ],
      mutating: false,
      fatal: [],
    },
    DescribeSubnets: { params: [['SubnetId.1', V.subnet]], mutating: false, fatal: [] },
    DescribeNetworkInterfaces: { params: [['NetworkInterfaceId.1', V.eni]], mutating: false, fatal: [] },
    DescribeInstances: {
      params: [
        ['Filter.1.Name', 'instance-id'],
        ['Filter.1.Value.1', 'i-0fedcba9876543210'],
      ],
      mutating: false,
      fatal: [],
    },
    DescribeTrafficMirrorTargets: { params: [['MaxResults', '5']], mutating: false, fatal: [] },
    DescribeTrafficMirrorFilters: {
      params: [['TrafficMirrorFilterId.1', V.filter]],
      mutating: false,
      fatal: [],
    },
    DescribeTrafficMirrorSessions: {
      params: [
        ['Filter.1.Name', 'session-number'],
        ['Filter.1.Value.1', '1'],
      ],
      mutating: false,
      fatal: [],
    },
    DescribeTrafficMirrorFilterRules: {
      params: [['TrafficMirrorFilterId', V.filter]],
      mutating: false,
      fatal: [],
    },
    DescribeFlowLogs: { params: [['FlowLogId.1', V.flowLog]], mutating: false, fatal: [] },
    // Issue 11: security groups, network ACLs, API-managed interfaces, attributes, region reads.
    CreateSecurityGroup: {
      params: [
        ['GroupName', 'fz2'],
        ['GroupDescription', 'd'],
        ['VpcId', V.vpc],
      ],
      mutating: true,
      fatal: [
        ...bad('GroupName', 'default', 'sg-1', '', 'fz', 'é'),
        ...bad('GroupDescription', '', 'é', 'x'.repeat(256)),
        ...bad('VpcId', 'vpc-0000000000000000f', 'vpc-zz'),
      ],
    },
    DeleteSecurityGroup: {
      params: [['GroupId', V.sg]],
      mutating: true,
      fatal: bad('GroupId', 'sg-0000000000000000f', 'sg-', V.defaultSg, V.vpc),
    },
    AuthorizeSecurityGroupIngress: {
      params: [
        ['GroupId', V.sg],
        ['IpPermissions.1.IpProtocol', 'tcp'],
        ['IpPermissions.1.FromPort', '22'],
        ['IpPermissions.1.ToPort', '22'],
        ['IpPermissions.1.IpRanges.1.CidrIp', '10.40.0.0/16'],
      ],
      mutating: true,
      fatal: [
        ...bad('GroupId', 'sg-0000000000000000f', 'sg-zz'),
        ...bad('IpPermissions.1.IpProtocol', 'bogus', '256', 'TCPX'),
        ...bad('IpPermissions.1.IpRanges.1.CidrIp', '10.40.0.1/16', '::/0', '300.0.0.0/8', 'x'),
        ...bad('IpPermissions.1.FromPort', '70000', '23', 'x'),
        [['IpPermissions.1.Groups.1.GroupId', 'sg-0000000000000000f']],
        [['IpPermissions.1.PrefixListIds.1.PrefixListId', 'pl-0000000000000000f']],
      ],
    },
    AuthorizeSecurityGroupEgress: {
      params: [
        ['GroupId', V.sg],
        ['IpPermissions.1.IpProtocol', '-1'],
        ['IpPermissions.1.Ipv6Ranges.1.CidrIpv6', '2001:db8::/32'],
      ],
      mutating: true,
      fatal: [
        ...bad('GroupId', 'sg-0000000000000000f', ''),
        ...bad('IpPermissions.1.Ipv6Ranges.1.CidrIpv6', '10.0.0.0/8', '2001:db8::1/32', '::/129'),
        [
          ['IpPermissions.1.IpProtocol', 'tcp'],
          ['IpPermissions.1.Ipv6Ranges.1.CidrIpv6', '::/0'],
          ['IpPermissions.1.FromPort', '443'],
          ['IpPermissions.1.ToPort', '443'],
          ['IpPermissions.1.Ipv6Ranges.1.Description', 'é'],
        ],
      ],
    },
    RevokeSecurityGroupIngress: {
      params: [
        ['GroupId', V.defaultSg],
        ['SecurityGroupRuleId.1', V.sgrIn],
      ],
      mutating: true,
      fatal: [
        ...bad('SecurityGroupRuleId.1', 'sgr-0000000000000000f', 'sgr-zz', V.sgrOut),
        ...bad('GroupId', 'sg-0000000000000000f', V.sg),
      ],
    },
    RevokeSecurityGroupEgress: {
      params: [
        ['GroupId', V.sg],
        ['SecurityGroupRuleId.1', V.sgrOut],
      ],
      mutating: true,
      fatal: [
        ...bad('SecurityGroupRuleId.1', 'sgr-0000000000000000f', V.sgrIn),
        [
          ['IpPermissions.1.IpProtocol', 'udp'],
          ['IpPermissions.1.FromPort', '9'],
          ['IpPermissions.1.ToPort', '9'],
          ['IpPermissions.1.IpRanges.1.CidrIp', '9.9.9.0/24'],
          ['SecurityGroupRuleId.1', ''],
        ],
      ],
    },
    ModifySecurityGroupRules: {
      params: [
        ['GroupId', V.sg],
        ['SecurityGroupRule.1.SecurityGroupRuleId', V.sgrOut],
        ['SecurityGroupRule.1.SecurityGroupRule.IpProtocol', 'tcp'],
        ['SecurityGroupRule.1.SecurityGroupRule.FromPort', '8443'],
        ['SecurityGroupRule.1.SecurityGroupRule.ToPort', '8443'],
        ['SecurityGroupRule.1.SecurityGroupRule.CidrIpv4', '10.0.0.0/8'],
      ],
      mutating: true,
      fatal: [
        ...bad('SecurityGroupRule.1.SecurityGroupRule.CidrIpv4', '10.0.0.1/8', 'x'),
        ...bad('SecurityGroupRule.1.SecurityGroupRuleId', 'sgr-0000000000000000f', V.sgrIn),
        ...bad('SecurityGroupRule.1.SecurityGroupRule.IpProtocol', 'nope'),
        ...bad('GroupId', 'sg-0000000000000000f'),
      ],
    },
    UpdateSecurityGroupRuleDescriptionsIngress: {
      params: [
        ['GroupId', V.defaultSg],
        ['SecurityGroupRuleDescription.1.SecurityGroupRuleId', V.sgrIn],
        ['SecurityGroupRuleDescription.1.Description', 'd'],
      ],
      mutating: true,
      fatal: [
        ...bad('SecurityGroupRuleDescription.1.Description', 'é', 'x'.repeat(256)),
        ...bad('SecurityGroupRuleDescription.1.SecurityGroupRuleId', 'sgr-0000000000000000f', V.sgrOut),
      ],
    },
    UpdateSecurityGroupRuleDescriptionsEgress: {
      params: [
        ['GroupId', V.sg],
        ['SecurityGroupRuleDescription.1.SecurityGroupRuleId', V.sgrOut],
        ['SecurityGroupRuleDescription.1.Description', 'd'],
      ],
      mutating: true,
      fatal: [
        ...bad('SecurityGroupRuleDescription.1.Description', '<é>'),
        ...bad('SecurityGroupRuleDescription.1.SecurityGroupRuleId', V.sgrIn),
      ],
    },
    CreateNetworkAcl: {
      params: [['VpcId', V.vpc]],
      mutating: true,
      fatal: [...bad('VpcId', 'vpc-0000000000000000f', 'vpc-', ''), [['DryRun', 'true']]],
    },
    DeleteNetworkAcl: {
      params: [['NetworkAclId', V.acl]],
      mutating: true,
      fatal: bad('NetworkAclId', 'acl-0000000000000000f', 'acl-', V.defaultAcl),
    },
    CreateNetworkAclEntry: {
      params: [
        ['NetworkAclId', V.acl],
        ['RuleNumber', '50'],
        ['Egress', 'false'],
        ['RuleAction', 'allow'],
        ['Protocol', '6'],
        ['CidrBlock', '0.0.0.0/0'],
        ['PortRange.From', '1'],
        ['PortRange.To', '2'],
      ],
      mutating: true,
      fatal: [
        ...bad('RuleNumber', '0', '32767', 'x', '-1'),
        [
          ['RuleNumber', '100'],
          ['Egress', 'false'],
        ],
        ...bad('RuleAction', 'ALLOW', 'permit'),
        ...bad('Protocol', 'x', '300', ''),
        ...bad('CidrBlock', '10.0.0.1/8', '::/0', 'x'),
        ...bad('PortRange.From', '70000', '3'),
        ...bad('Egress', 'maybe'),
        ...bad('NetworkAclId', 'acl-0000000000000000f'),
      ],
    },
    ReplaceNetworkAclEntry: {
      params: [
        ['NetworkAclId', V.acl],
        ['RuleNumber', '100'],
        ['Egress', 'false'],
        ['RuleAction', 'deny'],
        ['Protocol', '1'],
        ['CidrBlock', '0.0.0.0/0'],
        ['Icmp.Type', '8'],
        ['Icmp.Code', '-1'],
      ],
      mutating: true,
      fatal: [
        ...bad('RuleNumber', '555', '0', 'x'),
        ...bad('Icmp.Type', '256', 'x'),
        ...bad('Protocol', 'icmpx'),
        ...bad('Egress', 'true'),
      ],
    },
    DeleteNetworkAclEntry: {
      params: [
        ['NetworkAclId', V.acl],
        ['RuleNumber', '100'],
        ['Egress', 'false'],
      ],
      mutating: true,
      fatal: [
        ...bad('RuleNumber', '555', 'x'),
        ...bad('NetworkAclId', 'acl-0000000000000000f'),
        ...bad('Egress', 'true'),
      ],
    },
    ReplaceNetworkAclAssociation: {
      params: [
        ['AssociationId', V.assoc],
        ['NetworkAclId', V.acl],
      ],
      mutating: true,
      fatal: [
        ...bad('AssociationId', 'aclassoc-0000000000000000f', 'x', ''),
        ...bad('NetworkAclId', 'acl-0000000000000000f', V.vpc),
      ],
    },
    CreateNetworkInterface: {
      params: [
        ['SubnetId', V.subnet],
        ['Description', 'd'],
      ],
      mutating: true,
      fatal: [
        ...bad('SubnetId', 'subnet-0000000000000000f', 'subnet-'),
        ...bad('PrivateIpAddress', '10.40.1.1', '10.40.1.5', '10.41.0.9', 'x', '10.40.1.255'),
        ...bad('SecurityGroupId.1', 'sg-0000000000000000f', 'sg-zz'),
        ...bad('SecondaryPrivateIpAddressCount', '2'),
      ],
    },
    DeleteNetworkInterface: {
      params: [['NetworkInterfaceId', V.apiEni]],
      mutating: true,
      fatal: bad('NetworkInterfaceId', 'eni-0000000000000000f', 'eni-', V.eni, V.apiEni2),
    },
    AttachNetworkInterface: {
      params: [
        ['NetworkInterfaceId', V.apiEni],
        ['InstanceId', 'i-0fedcba9876543210'],
        ['DeviceIndex', '3'],
      ],
      mutating: true,
      fatal: [
        ...bad('DeviceIndex', '0', '1', '-1', '256', 'x'),
        ...bad('InstanceId', 'i-0000000000000000f', 'i-'),
        ...bad('NetworkInterfaceId', V.eni, V.apiEni2, 'eni-0000000000000000f'),
        ...bad('NetworkCardIndex', '1'),
      ],
    },
    DetachNetworkInterface: {
      params: [['AttachmentId', V.primaryAttachment]],
      mutating: true,
      fatal: bad('AttachmentId', V.primaryAttachment, 'eni-attach-0000000000000000f', ''),
    },
    ModifyNetworkInterfaceAttribute: {
      params: [
        ['NetworkInterfaceId', V.apiEni],
        ['Description.Value', 'x'],
      ],
      mutating: true,
      fatal: [
        ...bad('NetworkInterfaceId', 'eni-0000000000000000f', 'eni-'),
        ...bad('Description.Value', 'x'.repeat(256)),
        [
          ['SourceDestCheck.Value', 'false'],
          ['Description.Value', 'x'],
        ],
        [
          ['SecurityGroupId.1', V.sg],
          ['Description.Value', 'x'],
        ],
      ],
    },
    ModifyVpcAttribute: {
      params: [
        ['VpcId', V.vpc],
        ['EnableDnsSupport.Value', 'true'],
      ],
      mutating: true,
      fatal: [
        ...bad('EnableDnsSupport.Value', 'maybe', ''),
        ...bad('VpcId', 'vpc-0000000000000000f'),
        [
          ['EnableDnsHostnames.Value', 'true'],
          ['EnableDnsSupport.Value', 'true'],
        ],
      ],
    },
    ModifySubnetAttribute: {
      params: [
        ['SubnetId', V.subnet],
        ['MapPublicIpOnLaunch.Value', 'true'],
      ],
      mutating: true,
      fatal: [
        ...bad('MapPublicIpOnLaunch.Value', 'maybe'),
        ...bad('SubnetId', 'subnet-0000000000000000f'),
        [
          ['EnableDns64.Value', 'false'],
          ['MapPublicIpOnLaunch.Value', 'true'],
        ],
        [['PrivateDnsHostnameTypeOnLaunch', 'nope']],
      ],
    },
    DescribeSecurityGroups: {
      params: [
        ['Filter.1.Name', 'ip-permission.protocol'],
        ['Filter.1.Value.1', 'tcp'],
      ],
      mutating: false,
      fatal: [],
    },
    DescribeSecurityGroupRules: { params: [['SecurityGroupRuleId.1', V.sgrIn]], mutating: false, fatal: [] },
    DescribeNetworkAcls: {
      params: [
        ['Filter.1.Name', 'entry.rule-number'],
        ['Filter.1.Value.1', '100'],
      ],
      mutating: false,
      fatal: [],
    },
    CreateManagedPrefixList: {
      params: [
        ['PrefixListName', 'fz2'],
        ['AddressFamily', 'IPv4'],
        ['MaxEntries', '5'],
        ['Entry.1.Cidr', '192.168.0.0/16'],
      ],
      mutating: true,
      fatal: [
        ...bad('AddressFamily', 'IPv5', 'ipv4'),
        ...bad('MaxEntries', '0', '1001', 'x'),
        ...bad('Entry.1.Cidr', '2001:db8::/32', '192.168.0.1/16', 'x'),
        ...bad('PrefixListName', 'com.amazonaws.fz', ''),
      ],
    },
    ModifyManagedPrefixList: {
      params: [
        ['PrefixListId', V.pl],
        ['AddEntry.1.Cidr', '172.16.0.0/12'],
      ],
      mutating: true,
      fatal: [
        ...bad('PrefixListId', 'pl-0000000000000000f', 'pl-x', V.sg),
        ...bad('CurrentVersion', '99', 'x'),
        ...bad('MaxEntries', '0', '1001'),
        ...bad('AddEntry.1.Cidr', '10.0.0.0/8', '2001:db8::/32', 'x'),
        [['RemoveEntry.1.Cidr', '172.16.0.0/12']],
      ],
    },
    RestoreManagedPrefixListVersion: {
      params: [
        ['PrefixListId', V.pl],
        ['PreviousVersion', '1'],
        ['CurrentVersion', '1'],
      ],
      mutating: true,
      fatal: [...bad('CurrentVersion', '99', 'x'), ...bad('PrefixListId', 'pl-0000000000000000f', 'pl-')],
    },
    DeleteManagedPrefixList: {
      params: [['PrefixListId', V.pl]],
      mutating: true,
      fatal: bad('PrefixListId', 'pl-0000000000000000f', 'pl-', V.sg),
    },
    DescribeManagedPrefixLists: {
      params: [
        ['Filter.1.Name', 'prefix-list-name'],
        ['Filter.1.Value.1', 'fz'],
      ],
      mutating: false,
      fatal: [],
    },
    GetManagedPrefixListEntries: { params: [['PrefixListId', V.pl]], mutating: false, fatal: [] },
    GetManagedPrefixListAssociations: { params: [['PrefixListId', V.pl]], mutating: false, fatal: [] },
    DescribeNetworkInterfaceAttribute: {
      params: [
        ['NetworkInterfaceId', V.apiEni],
        ['Attribute', 'groupSet'],
      ],
      mutating: false,
      fatal: [],
    },
    DescribeVpcAttribute: {
      params: [
        ['VpcId', V.vpc],
        ['Attribute', 'enableDnsSupport'],
      ],
      mutating: false,
      fatal: [],
    },
    DescribeAvailabilityZones: { params: [['ZoneName.1', 'us-east-1a']], mutating: false, fatal: [] },
    DescribeRegions: { params: [['RegionName.1', 'us-east-1']], mutating: false, fatal: [] },
    DescribeAccountAttributes: {
      params: [['AttributeName.1', 'supported-platforms']],
      mutating: false,
      fatal: [],
    },
    DescribeRouteTables: {
      params: [
        ['Filter.1.Name', 'association.main'],
        ['Filter.1.Value.1', 'true'],
      ],
      mutating: false,
      fatal: [],
    },
    DescribeTags: {
      params: [
        ['Filter.1.Name', 'resource-id'],
        ['Filter.1.Value.1', V.filter],
      ],
      mutating: false,
      fatal: [],
    },
  }
}

/** Noise that may be added to any request: it must never make a server crash or 500. */
function noise(r: () => number): [string, string] {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]
  const huge = (n: number): string => 'A'.repeat(n)
  const kind = Math.floor(r() * 12)
  switch (kind) {
    case 0:
      return [pick(['Description', 'Foo', 'X']), huge(pick([300, 5000, 100_000]))]
    case 1:
      return [`Filter.${pick(['0', '-1', '99999999999999999999', '1.5', 'x', ''])}.Name`, 'description']
    case 2:
      return [`Filter.1.Value.${pick(['0', '1001', '2', 'a'])}`, 'v']
    case 3:
      return [
        pick(['MaxResults', 'NextToken']),
        pick(['-1', '0', '3', '1001', 'NaN', '1e400', 'Infinity', '%%%', huge(2000), 'eyJ2IjoxfQ==']),
      ]
    case 4:
      return ['TagSpecification.1.Tag.1.Key', pick(['', 'aws:', '\u0000', '\ud800', huge(200)])]
    case 5:
      return [pick(['Unknown', 'action', 'ACTION', 'Version ']), pick(['1', ''])]
    case 6:
      return [
        String.fromCharCode(
          ...Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 0x3000)),
        ),
        'x',
      ]
    case 7:
      return ['DryRun', pick(['false', 'FALSE', '0', ''])]
    case 8:
      return ['Description', pick(['<script>', ']]>', '&amp;', '\u202e', '😀'.repeat(50), '\r\n'])]
    case 9:
      return [`ResourceId.${Math.floor(r() * 2000)}`, 'vpc-0000000000000000f']
    case 10:
      return ['ClientToken', pick([huge(65), huge(10_000), '', ' '])]
    default:
      return ['Version', pick(['2016-11-15', '2014-01-01', ''])]
  }
}

interface Case {
  req: RawRequest
  action: string
  mutating: boolean
  kind: string
}

test(`fuzz: ${COUNT} malformed or random requests, seed ${SEED}`, { timeout: 120_000 }, async () => {
  const before = await snapshot(srv.ec2)
  const T = templates()
  const actions = Object.keys(T)
  const r = prng(SEED)
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]
  const cases: Case[] = []

  const enc = (s: string): string => {
    try {
      return encodeURIComponent(s)
    } catch {
      return escape(s) // lone surrogates: send them %uXXXX-style, which is itself malformed
    }
  }

  const bodyOf = (params: Params): string => params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')
  for (let i = 0; i < COUNT; i++) {
    const action = pick(actions)
    const t = T[action]
    let params: Params = [['Action', action], ['Version', '2016-11-15'], ...t.params]
    const mode = r()
    const kind =
      mode < 0.1
        ? 'unsigned'
        : mode < 0.2
          ? 'mis-signed'
          : mode < 0.27
            ? 'random-bytes'
            : mode < 0.35
              ? 'bad-encoding'
              : mode < 0.4
                ? 'content-type'
                : mode < 0.43
                  ? 'method'
                  : mode < 0.47
                    ? 'get-query'
                    : mode < 0.472
                      ? 'oversize'
                      : 'mutated'
    // Noise first, then (for mutating actions) one fatal defect that the noise never touches.
    const nNoise = Math.floor(r() * 4)
    for (let j = 0; j < nNoise; j++) params.push(noise(r))
    const m = r()
    if (m < 0.2 && t.params.length > 0) {
      const drop = pick(t.params)[0]
      params = params.filter(([k]) => k !== drop)
    } else if (m < 0.35 && t.params.length > 0) {
      params.push([pick(t.params)[0], pick(['', 'x', '1', '-1'])])
    } else if (m < 0.5) {
      params = params.map(([k, v]) =>
        k === 'Action' || k === 'Version' || r() < 0.5
          ? [k, v]
          : [k, pick(['', 'null', '[]', '{}', 'true', '-0', '0x1f', ' 1'])],
      )
    }
    const authFails = kind === 'unsigned' || kind === 'mis-signed' || kind === 'method'
    if (t.mutating && !authFails) {
      if (t.fatal.length === 0) throw new Error(`no fatal defect for ${action}`)
      const defect = pick(t.fatal)
      const keys = new Set(defect.map(([k]) => k))
      params = params.filter(([k]) => !keys.has(k)).concat(defect)
    }
    let body: string | Buffer = bodyOf(params)
    if (kind === 'random-bytes')
      body = Buffer.from(Array.from({ length: Math.floor(r() * 400) }, () => Math.floor(r() * 256)))
    if (kind === 'oversize') body += '&Description=' + 'A'.repeat(2_000_000)
    if (kind === 'bad-encoding') {
      body += pick([
        '&Description=%ZZ',
        '&Description=%C3%28',
        '&Description=%',
        '&Des%00cription=x',
        '&=&&&=',
        '&Description=%ED%A0%80',
        '&%FF%FE=1',
      ])
    }
    const contentType =
      kind === 'content-type'
        ? pick(['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml'])
        : 'application/x-www-form-urlencoded; charset=utf-8'
    let req: RawRequest
    if (kind === 'unsigned') {
      req = { method: 'POST', path: '/', headers: { 'content-type': contentType }, body }
    } else if (kind === 'mis-signed') {
      req = await signRequest(srv.url, body, {
        credentials: pick([
          { accessKeyId: srv.credentials.accessKeyId, secretAccessKey: 'wrong-secret' },
          { accessKeyId: 'AKIAFUZZFUZZFUZZFUZZ', secretAccessKey: 'x' },
        ]),
        region: pick([srv.region, 'xx-fake-1']),
        date: pick([new Date(), new Date(Date.now() - 3_600_000)]),
      })
    } else if (kind === 'method') {
      // A correctly signed body sent with a method the Query API does not have.
      req = await signRequest(srv.url, body, { credentials: srv.credentials, region: srv.region })
      req.method = pick(['PUT', 'DELETE', 'PATCH'])
    } else if (kind === 'get-query') {
      req = await signRequest(srv.url, body, {
        credentials: srv.credentials,
        region: srv.region,
        method: 'GET',
      })
    } else {
      // Signed over the content type actually sent, so only the named defect is wrong.
      req = await signRequest(srv.url, body, {
        credentials: srv.credentials,
        region: srv.region,
        extraHeaders: { 'content-type': contentType },
      })
    }
    const mustFail = t.mutating || authFails || kind === 'random-bytes' || kind === 'oversize'
    cases.push({ req, action, mutating: mustFail, kind })
  }

  const client = httpClient(srv.url, CONCURRENCY)
  const stats: Record<string, number> = {}
  const failures: string[] = []
  let next = 0
  const check = (c: Case, res: HttpResult): void => {
    const tag = `${c.kind} ${c.action} → ${res.status}`
    if (res.status === 200) {
      if (c.mutating)
        throw new Error(
          `${tag}: a request that must be rejected succeeded: ${String(c.req.body).slice(0, 300)}`,
        )
      const root = parseXml(res.body)
      if (
        root.name !== `${c.action}Response` ||
        root.attrs.xmlns !== EC2_NS ||
        root.children[0]?.name !== 'requestId'
      ) {
        throw new Error(`${tag}: bad success envelope ${res.body.slice(0, 200)}`)
      }
      stats['200'] = (stats['200'] ?? 0) + 1
      return
    }
    const e = parseEc2Error(res.body)
    if (res.status >= 500 && e.code !== 'InternalError') throw new Error(`${tag}: 5xx with ${e.code}`)
    if (res.status < 400 || res.status >= 600) throw new Error(`${tag}: status out of range`)
    stats[e.code] = (stats[e.code] ?? 0) + 1
  }
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) {
        const c = cases[next++]
        let res: HttpResult
        try {
          res = await client.request(c.req)
        } catch (err) {
          failures.push(`${c.kind} ${c.action}: transport error ${(err as Error).message}`)
          continue
        }
        try {
          check(c, res)
        } catch (err) {
          if (failures.length < 20) failures.push((err as Error).message)
          else failures.push('…')
        }
      }
    }),
  )
  client.close()
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} bad answers`)
  // Alive, and nothing changed.
  const health = await srv.raw({ method: 'GET', path: '/health' })
  assert.equal(health.status, 200)
  assert.deepEqual(await snapshot(srv.ec2), before)
  const total = Object.values(stats).reduce((a, b) => a + b, 0)
  assert.equal(total, COUNT)
  // A spread of errors proves the defects reached the validators, not just one gate.
  assert.ok(Object.keys(stats).length >= 8, `error codes seen: ${JSON.stringify(stats)}`)
  process.stdout.write(`# fuzz answers: ${JSON.stringify(stats)}\n`)
})

/**
 * The robustness pass of issue 9 ("Done when"): wildcard patterns, presigned requests and bodies
 * around and far beyond the size limit, each against its own server. Property-based (fast-check,
 * fixed seeds): every answer is exactly the one right answer, the server stays responsive, and
 * nothing is changed by a request that must be refused.
 */
describe('robustness: wildcards, presigned requests, oversized bodies', () => {
  let s: ApiTestServer
  /** Filter id → description, for the reference matcher. */
  const descriptions = new Map<string, string>()
  const LIMIT = 64 * 1024
  before(async () => {
    // A small body limit, so the boundary is cheap to probe (the default 1 MiB is the same code).
    s = await startApiTestServer({ prefix: 'mf-api-robust', bodyLimit: LIMIT })
    const r = prng(7)
    const texts = [
      'a'.repeat(255),
      'a'.repeat(254) + 'b',
      'ab'.repeat(127),
      '*literal?star\\',
      'x😀y',
      '',
      ...Array.from({ length: 34 }, () =>
        Array.from(
          { length: Math.floor(r() * 255) },
          () => 'ab*?\\'[Math.floor(r() * (r() < 0.9 ? 2 : 5))],
        ).join(''),
      ),
    ]
    for (const d of texts) {
      const f = await s.ec2.send(new CreateTrafficMirrorFilterCommand({ Description: d }))
      descriptions.set(f.TrafficMirrorFilter!.TrafficMirrorFilterId!, d)
    }
  })
  after(async () => {
    await s?.close()
  })

  /** Reference semantics: DP over code points; `\` escapes only `*`, `?`, `\`. */
  function reference(p: string, t: string): boolean {
    const pt: (string | 1 | 2)[] = []
    const pc = [...p]
    for (let i = 0; i < pc.length; i++) {
      if (pc[i] === '*') pt.push(1)
      else if (pc[i] === '?') pt.push(2)
      else if (pc[i] === '\\' && i + 1 < pc.length && '*?\\'.includes(pc[i + 1]!)) pt.push(pc[++i]!)
      else pt.push(pc[i]!)
    }
    const tc = [...t]
    let row = new Array<boolean>(tc.length + 1).fill(false)
    row[0] = true
    for (const tok of pt) {
      const next = new Array<boolean>(tc.length + 1).fill(false)
      for (let j = 0; j <= tc.length; j++) {
        if (tok === 1) next[j] = row[j]! || (j > 0 && next[j - 1]!)
        else if (j > 0) next[j] = row[j - 1]! && (tok === 2 || tok === tc[j - 1])
      }
      row = next
    }
    return row[tc.length]!
  }

  async function describeIds(values: string[]): Promise<string[]> {
    const p: Record<string, string> = {
      Action: 'DescribeTrafficMirrorFilters',
      Version: '2016-11-15',
      'Filter.1.Name': 'description',
    }
    values.forEach((v, i) => (p[`Filter.1.Value.${i + 1}`] = v))
    const res = await s.signed(p)
    assert.equal(res.status, 200, res.body.slice(0, 300))
    return [...res.body.matchAll(/<trafficMirrorFilterId>([^<]+)<\/trafficMirrorFilterId>/g)]
      .map((m) => m[1]!)
      .sort()
  }

  test('wildcard filters return exactly what the reference matcher selects', async () => {
    const piece = fc.constantFrom(
      'a',
      'b',
      '*',
      '?',
      '\\',
      '\\*',
      '\\?',
      '😀',
      'a'.repeat(40),
      '?'.repeat(30),
      '*a*a*a*a',
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 10 }).map((xs) => xs.join('')),
        async (pattern) => {
          const want = [...descriptions]
            .filter(([, d]) => reference(pattern, d))
            .map(([id]) => id)
            .sort()
          assert.deepEqual(await describeIds([pattern]), want, JSON.stringify(pattern))
        },
      ),
      { numRuns: 150, seed: 11 },
    )
  })

  test('200 adversarial patterns against 255-character descriptions: answered, /health stays up', async () => {
    const evil = Array.from({ length: 200 }, (_, i) =>
      i % 4 === 0
        ? '*a'.repeat(1 + (i % 60)) + '*c'
        : i % 4 === 1
          ? `*${'a'.repeat(1 + (i % 200))}c*`
          : i % 4 === 2
            ? `${'*?'.repeat(1 + (i % 120))}c`
            : `*${'?'.repeat(1 + (i % 250))}c`,
    )
    const t0 = process.hrtime.bigint()
    const [ids, health] = await Promise.all([describeIds(evil), s.raw({ method: 'GET', path: '/health' })])
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    const want = [...descriptions]
      .filter(([, d]) => evil.some((p) => reference(p, d)))
      .map(([id]) => id)
      .sort()
    assert.deepEqual(ids, want)
    assert.equal(health.status, 200)
    // Reported, not asserted: the old regular expressions took minutes for one such value.
    process.stdout.write(
      `# 200 adversarial patterns × ${descriptions.size} descriptions: ${ms.toFixed(1)} ms\n`,
    )
  })

  test('presigned requests with any body are refused and change nothing', async () => {
    const before = await snapshot(s.ec2)
    const u = new URL(s.url)
    const signer = new SignatureV4({
      credentials: s.credentials,
      region: s.region,
      service: 'ec2',
      sha256: NodeSha256,
    })
    const body = fc.oneof(
      fc.constantFrom('Admin=true', 'Action=CreateVpc&CidrBlock=10.7.0.0/16', 'CidrBlock=10.8.0.0/16'),
      fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => Buffer.from(b)),
    )
    const action = fc.constantFrom(
      'CreateVpc',
      'MirrorflowCreateAccessKey',
      'DescribeVpcs',
      'CreateTrafficMirrorFilter',
    )
    await fc.assert(
      fc.asyncProperty(action, body, fc.boolean(), async (a, b, chunked) => {
        const query: Record<string, string> = { Action: a, Version: '2016-11-15' }
        if (a === 'CreateVpc') query.DryRun = 'true'
        const p = await signer.presign(
          {
            method: 'POST',
            protocol: 'http:',
            hostname: u.hostname,
            port: Number(u.port),
            path: '/',
            query,
            headers: { host: u.host },
          },
          { expiresIn: 60 },
        )
        const path =
          '/?' +
          Object.entries(p.query ?? {})
            .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
            .join('&')
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
        if (chunked) headers['transfer-encoding'] = 'chunked'
        const res = await s.raw({ method: 'POST', path, headers, body: b })
        assert.equal(res.status, 403, res.body)
        assert.equal(parseEc2Error(res.body).code, 'SignatureDoesNotMatch')
      }),
      { numRuns: 200, seed: 12 },
    )
    assert.deepEqual(await snapshot(s.ec2), before)
  })

  test('bodies around and beyond the limit: signed ones up to it parsed, beyond 413, unsigned ones 401', async () => {
    const before = await snapshot(s.ec2)
    // A valid Describe padded to exactly n bytes with an ignored-by-nobody parameter: the padding
    // makes it fail as UnknownParameter, which proves it was parsed.
    const padded = (n: number): string => {
      const head = 'Action=DescribeVpcs&Version=2016-11-15&Pad='
      return head + 'p'.repeat(n - head.length)
    }
    for (const n of [LIMIT - 1, LIMIT, LIMIT + 1, 4 * LIMIT, 16 * 1024 * 1024]) {
      const body = padded(n)
      const signedRes = await s.signed(body)
      if (n <= LIMIT) {
        assert.equal(signedRes.status, 400, `${n}: ${signedRes.body}`)
        assert.equal(parseEc2Error(signedRes.body).code, 'UnknownParameter')
      } else {
        assert.equal(signedRes.status, 413, `${n}`)
        assert.equal(parseEc2Error(signedRes.body).code, 'RequestEntityTooLarge')
        assert.match(parseEc2Error(signedRes.body).message, new RegExp(`${LIMIT} bytes`))
      }
      const unsigned = await s.raw({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      assert.equal(unsigned.status, 401, `${n}`)
    }
    // Chunked (no length announced) and beyond the limit: cut off, 413, still alive.
    const big = padded(4 * LIMIT)
    const req = await signRequest(s.url, big, { credentials: s.credentials, region: s.region })
    const chunked = await s.raw({ ...req, headers: { ...req.headers, 'transfer-encoding': 'chunked' } })
    assert.equal(chunked.status, 413)
    assert.equal((await s.raw({ method: 'GET', path: '/health' })).status, 200)
    assert.deepEqual(await snapshot(s.ec2), before)
  })
})
