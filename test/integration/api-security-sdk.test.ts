// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * Security groups, network ACLs, interfaces managed through the API, VPC/subnet attributes and the
 * region/account reads, driven by @aws-sdk/client-ec2 against one in-process server: each action's
 * happy path with AWS's shapes, and each documented error with exactly one code and HTTP status.
 * Managed prefix lists: every action with AWS's shapes, and a rule by list in the agent's state.
 * Also: the quota-sized rule sets are accepted (60 + 60 rules, 5 groups per interface, 20 + 20 ACL
 * entries) and the next one is refused, and what the agent of an instance receives.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  AttachNetworkInterfaceCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteManagedPrefixListCommand,
  DeleteNetworkAclCommand,
  DeleteNetworkAclEntryCommand,
  DeleteNetworkInterfaceCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeAccountAttributesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfaceAttributeCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRegionsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DetachNetworkInterfaceCommand,
  GetManagedPrefixListAssociationsCommand,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ModifySecurityGroupRulesCommand,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  UpdateSecurityGroupRuleDescriptionsEgressCommand,
  UpdateSecurityGroupRuleDescriptionsIngressCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2'
import { idPattern, sdkError, startApiTestServer, type ApiTestServer } from '../helpers/api-server.ts'

let srv: ApiTestServer
let ec2: EC2Client
let vpcId: string
let subnetId: string
let defaultSg: string

/** Asserts the call fails with exactly this code and HTTP 400. */
async function fails(p: Promise<unknown>, code: string): Promise<void> {
  const e = await sdkError(p)
  assert.equal(e.code, code, e.message)
  assert.equal(e.status, 400)
}

async function registerInstance(
  hostname: string,
  ip: string,
  mac: string,
): Promise<{ instanceId: string; eniId: string }> {
  const r = await srv.signed({
    Action: 'MirrorflowRegisterInstance',
    Version: '2016-11-15',
    Hostname: hostname,
    'NetworkInterface.1.DeviceName': 'eth0',
    'NetworkInterface.1.MacAddress': mac,
    'NetworkInterface.1.PrivateIpAddress': ip,
  })
  assert.equal(r.status, 200, r.body)
  const j = JSON.parse(r.body) as {
    Instance: { InstanceId: string }
    NetworkInterfaces: { NetworkInterfaceId: string }[]
  }
  return { instanceId: j.Instance.InstanceId, eniId: j.NetworkInterfaces[0]!.NetworkInterfaceId }
}

async function desired(instanceId: string): Promise<{
  interfaces: { networkInterfaceId: string; deviceName: string | null; security: Record<string, unknown> }[]
}> {
  const r = await srv.signed({
    Action: 'MirrorflowGetDesiredState',
    Version: '2016-11-15',
    InstanceId: instanceId,
  })
  if (r.status === 200) return JSON.parse(r.body) as never
  throw new Error(`desired state: ${r.status} ${r.body.slice(0, 200)}`)
}

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-api-sg' })
  ec2 = srv.ec2
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!
  subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.40.1.0/24' }))).Subnet!
    .SubnetId!
})

after(async () => {
  await srv?.close()
})

describe('a VPC comes with its default security group, network ACL and main route table', () => {
  test('default group: ingress from itself, egress everywhere; CannotDelete', async () => {
    const out = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'group-name', Values: ['default'] },
        ],
      }),
    )
    assert.equal(out.SecurityGroups?.length, 1)
    const g = out.SecurityGroups![0]!
    defaultSg = g.GroupId!
    assert.match(defaultSg, idPattern('sg'))
    assert.equal(g.Description, 'default VPC security group')
    assert.deepEqual(g.IpPermissions, [
      {
        IpProtocol: '-1',
        UserIdGroupPairs: [{ UserId: srv.accountId, GroupId: defaultSg }],
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
      },
    ])
    assert.deepEqual(g.IpPermissionsEgress, [
      {
        IpProtocol: '-1',
        UserIdGroupPairs: [],
        IpRanges: [{ CidrIp: '0.0.0.0/0' }],
        Ipv6Ranges: [{ CidrIpv6: '::/0' }],
        PrefixListIds: [],
      },
    ])
    await fails(ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaultSg })), 'CannotDelete')
  })

  test('default ACL: rules 100 (IPv4) and 101 (IPv6) allow and the * deny, each way; the subnet associated with it', async () => {
    const out = await ec2.send(
      new DescribeNetworkAclsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'default', Values: ['true'] },
        ],
      }),
    )
    assert.equal(out.NetworkAcls?.length, 1)
    const acl = out.NetworkAcls![0]!
    assert.equal(acl.IsDefault, true)
    assert.deepEqual(
      acl.Entries!.map((e) => [
        e.RuleNumber,
        e.Egress,
        e.RuleAction,
        e.Protocol,
        e.CidrBlock ?? e.Ipv6CidrBlock,
      ]),
      [
        [100, true, 'allow', '-1', '0.0.0.0/0'],
        [101, true, 'allow', '-1', '::/0'],
        [32767, true, 'deny', '-1', '0.0.0.0/0'],
        [32767, true, 'deny', '-1', '::/0'],
        [100, false, 'allow', '-1', '0.0.0.0/0'],
        [101, false, 'allow', '-1', '::/0'],
        [32767, false, 'deny', '-1', '0.0.0.0/0'],
        [32767, false, 'deny', '-1', '::/0'],
      ],
    )
    assert.equal(acl.Associations?.length, 1)
    assert.equal(acl.Associations![0]!.SubnetId, subnetId)
    assert.match(acl.Associations![0]!.NetworkAclAssociationId!, idPattern('aclassoc'))
    await fails(
      ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: acl.NetworkAclId })),
      'InvalidParameterValue',
    )
  })

  test('main route table: the local route and the main association (Terraform reads it)', async () => {
    const out = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'association.main', Values: ['true'] },
        ],
      }),
    )
    assert.equal(out.RouteTables?.length, 1)
    const t = out.RouteTables![0]!
    assert.match(t.RouteTableId!, idPattern('rtb'))
    assert.deepEqual(t.Routes, [
      {
        DestinationCidrBlock: '10.40.0.0/16',
        GatewayId: 'local',
        State: 'active',
        Origin: 'CreateRouteTable',
      },
    ])
    assert.equal(t.Associations![0]!.Main, true)
    await fails(
      ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ['rtb-0123456789abcdef0'] })),
      'InvalidRouteTableID.NotFound',
    )
  })
})

describe('security groups', () => {
  let web: string
  let db: string

  test('CreateSecurityGroup: a group with the egress-to-everywhere rule; its errors', async () => {
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'web',
        Description: 'web servers',
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'tier', Value: 'web' }] }],
      }),
    )
    web = out.GroupId!
    assert.match(web, idPattern('sg'))
    assert.deepEqual(out.Tags, [{ Key: 'tier', Value: 'web' }])
    db = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db', Description: 'db', VpcId: vpcId }))
    ).GroupId!
    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [web] }] }),
    )
    // Outbound everything, to 0.0.0.0/0 and to ::/0 (every VPC is dual-stack here).
    assert.equal(rules.SecurityGroupRules?.length, 2)
    const r = rules.SecurityGroupRules![0]!
    assert.match(r.SecurityGroupRuleId!, idPattern('sgr'))
    assert.deepEqual(
      rules.SecurityGroupRules!.map((x) => [
        x.IsEgress,
        x.IpProtocol,
        x.FromPort,
        x.ToPort,
        x.CidrIpv4 ?? x.CidrIpv6,
        x.GroupOwnerId,
      ]),
      [
        [true, '-1', -1, -1, '0.0.0.0/0', srv.accountId],
        [true, '-1', -1, -1, '::/0', srv.accountId],
      ],
    )
    await fails(
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'again', VpcId: vpcId })),
      'InvalidGroup.Duplicate',
    )
    await fails(
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'default', Description: 'd', VpcId: vpcId })),
      'InvalidGroup.Reserved',
    )
    await fails(
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'd' })),
      'VPCIdNotSpecified',
    )
    await fails(
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'sg-x', Description: 'd', VpcId: vpcId })),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(
        new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'd', VpcId: 'vpc-0123456789abcdef0' }),
      ),
      'InvalidVpcID.NotFound',
    )
    await fails(
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'é', VpcId: vpcId })),
      'InvalidParameterValue',
    )
  })

  test('AuthorizeSecurityGroupIngress: CIDR v4/v6 and referenced groups, one rule per peer; duplicates refused', async () => {
    const out = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: web,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 80,
            ToPort: 80,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'http' }],
            Ipv6Ranges: [{ CidrIpv6: '::/0' }],
          },
          { IpProtocol: '6', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          { IpProtocol: 'icmp', FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: '10.40.0.0/16' }] },
        ],
      }),
    )
    assert.equal(out.Return, true)
    assert.deepEqual(
      out.SecurityGroupRules!.map((r) => [
        r.IpProtocol,
        r.FromPort,
        r.ToPort,
        r.CidrIpv4 ?? r.CidrIpv6,
        r.Description,
      ]),
      [
        ['tcp', 80, 80, '0.0.0.0/0', 'http'],
        ['tcp', 80, 80, '::/0', undefined],
        ['tcp', 443, 443, '0.0.0.0/0', undefined],
        ['icmp', 8, -1, '10.40.0.0/16', undefined],
      ],
    )
    const ref = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: db,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 5432,
            ToPort: 5432,
            UserIdGroupPairs: [{ GroupId: web, Description: 'from web' }],
          },
        ],
      }),
    )
    assert.equal(ref.SecurityGroupRules![0]!.ReferencedGroupInfo?.GroupId, web)
    const d = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [db] }))
    assert.deepEqual(d.SecurityGroups![0]!.IpPermissions, [
      {
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        UserIdGroupPairs: [{ Description: 'from web', UserId: srv.accountId, GroupId: web }],
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
      },
    ])
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: web,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          ],
        }),
      ),
      'InvalidPermission.Duplicate',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: 'sg-0123456789abcdef0',
          IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '1.2.3.0/24' }] }],
        }),
      ),
      'InvalidGroup.NotFound',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: 'sg-nothex',
          IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '1.2.3.0/24' }] }],
        }),
      ),
      'InvalidGroupId.Malformed',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: web,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 1, ToPort: 2, IpRanges: [{ CidrIp: '10.0.0.1/16' }] },
          ],
        }),
      ),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: web,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 90, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/16' }] },
          ],
        }),
      ),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: web,
          IpPermissions: [{ IpProtocol: 'bogus', IpRanges: [{ CidrIp: '10.0.0.0/16' }] }],
        }),
      ),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: web,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              PrefixListIds: [{ PrefixListId: 'pl-0123456789abcdef0' }],
            },
          ],
        }),
      ),
      'InvalidPrefixListID.NotFound',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupName: 'web',
          IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '1.2.3.0/24' }] }],
        }),
      ),
      'VPCIdNotSpecified',
    )
  })

  test('AuthorizeSecurityGroupEgress and RevokeSecurityGroupEgress (by permission and by rule id)', async () => {
    const out = await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: db,
        IpPermissions: [
          { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '10.40.0.2/32' }] },
        ],
      }),
    )
    const id = out.SecurityGroupRules![0]!.SecurityGroupRuleId!
    const rev = await ec2.send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: db,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    )
    assert.equal(rev.Return, true)
    assert.equal(rev.UnknownIpPermissions?.length ?? 0, 0)
    await fails(
      ec2.send(
        new RevokeSecurityGroupEgressCommand({
          GroupId: db,
          IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        }),
      ),
      'InvalidPermission.NotFound',
    )
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: db, SecurityGroupRuleIds: [id] }))
    await fails(
      ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: db, SecurityGroupRuleIds: [id] })),
      'InvalidSecurityGroupRuleId.NotFound',
    )
    await fails(
      ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: db, SecurityGroupRuleIds: ['sgr-zz'] })),
      'InvalidSecurityGroupRuleId.Malformed',
    )
    const d = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [db] }))
    assert.deepEqual(d.SecurityGroups![0]!.IpPermissionsEgress, [
      {
        IpProtocol: '-1',
        UserIdGroupPairs: [],
        IpRanges: [],
        Ipv6Ranges: [{ CidrIpv6: '::/0' }],
        PrefixListIds: [],
      },
    ])
  })

  test('RevokeSecurityGroupIngress: matched rules go, unmatched ones are answered as unknown', async () => {
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: web,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.40.9.0/24' }] },
        ],
      }),
    )
    const rev = await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: web,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: '10.40.9.0/24' }, { CidrIp: '10.40.8.0/24' }],
          },
        ],
      }),
    )
    assert.equal(rev.Return, true)
    assert.deepEqual(
      rev.UnknownIpPermissions?.map((p) => p.IpRanges?.map((r) => r.CidrIp)),
      [['10.40.8.0/24']],
    )
  })

  test('ModifySecurityGroupRules and UpdateSecurityGroupRuleDescriptions(Ingress|Egress)', async () => {
    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [web] }] }),
    )
    const http = rules.SecurityGroupRules!.find((r) => r.FromPort === 443)!
    await ec2.send(
      new ModifySecurityGroupRulesCommand({
        GroupId: web,
        SecurityGroupRules: [
          {
            SecurityGroupRuleId: http.SecurityGroupRuleId,
            SecurityGroupRule: {
              IpProtocol: 'tcp',
              FromPort: 8443,
              ToPort: 8443,
              CidrIpv4: '10.0.0.0/8',
              Description: 'alt',
            },
          },
        ],
      }),
    )
    const after1 = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [http.SecurityGroupRuleId!] }),
    )
    assert.deepEqual(
      [
        after1.SecurityGroupRules![0]!.FromPort,
        after1.SecurityGroupRules![0]!.CidrIpv4,
        after1.SecurityGroupRules![0]!.Description,
      ],
      [8443, '10.0.0.0/8', 'alt'],
    )
    await fails(
      ec2.send(
        new ModifySecurityGroupRulesCommand({
          GroupId: db,
          SecurityGroupRules: [
            {
              SecurityGroupRuleId: http.SecurityGroupRuleId,
              SecurityGroupRule: { IpProtocol: '-1', CidrIpv4: '1.0.0.0/8' },
            },
          ],
        }),
      ),
      'InvalidSecurityGroupRuleId.NotFound',
    )
    await ec2.send(
      new UpdateSecurityGroupRuleDescriptionsIngressCommand({
        GroupId: web,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 80,
            ToPort: 80,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'plain http' }],
          },
        ],
      }),
    )
    await ec2.send(
      new UpdateSecurityGroupRuleDescriptionsIngressCommand({
        GroupId: web,
        SecurityGroupRuleDescriptions: [
          { SecurityGroupRuleId: http.SecurityGroupRuleId, Description: 'tls' },
        ],
      }),
    )
    const all = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [web] }] }),
    )
    const desc = new Map(
      all.SecurityGroupRules!.map((r) => [`${r.FromPort}|${r.CidrIpv4 ?? r.CidrIpv6}`, r.Description]),
    )
    assert.equal(desc.get('80|0.0.0.0/0'), 'plain http')
    assert.equal(desc.get('8443|10.0.0.0/8'), 'tls')
    const egress = all.SecurityGroupRules!.find((r) => r.IsEgress)!
    await ec2.send(
      new UpdateSecurityGroupRuleDescriptionsEgressCommand({
        GroupId: web,
        SecurityGroupRuleDescriptions: [
          { SecurityGroupRuleId: egress.SecurityGroupRuleId, Description: 'out' },
        ],
      }),
    )
    await fails(
      ec2.send(
        new UpdateSecurityGroupRuleDescriptionsIngressCommand({
          GroupId: web,
          IpPermissions: [
            {
              IpProtocol: 'udp',
              FromPort: 1,
              ToPort: 1,
              IpRanges: [{ CidrIp: '9.9.9.0/24', Description: 'x' }],
            },
          ],
        }),
      ),
      'InvalidPermission.NotFound',
    )
  })

  test('DescribeSecurityGroups filters (ip-permission.*, egress.ip-permission.*) and DescribeSecurityGroupRules ids', async () => {
    const byPort = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.from-port', Values: ['5432'] }] }),
    )
    assert.deepEqual(
      byPort.SecurityGroups!.map((g) => g.GroupId),
      [db],
    )
    const byRef = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.group-id', Values: [web] }] }),
    )
    assert.deepEqual(
      byRef.SecurityGroups!.map((g) => g.GroupId),
      [db],
    )
    const byTag = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:tier', Values: ['web'] }] }),
    )
    assert.deepEqual(
      byTag.SecurityGroups!.map((g) => g.GroupId),
      [web],
    )
    await fails(
      ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })),
      'InvalidGroup.NotFound',
    )
    await fails(
      ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'nope', Values: ['x'] }] })),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: ['sgr-0123456789abcdef0'] })),
      'InvalidSecurityGroupRuleId.NotFound',
    )
  })

  test('DeleteSecurityGroup: refused while referenced or used; then gone with its rules', async () => {
    await fails(ec2.send(new DeleteSecurityGroupCommand({ GroupId: web })), 'DependencyViolation')
    const tmp = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'tmp', Description: 'tmp', VpcId: vpcId }))
    ).GroupId!
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [tmp] })))
      .NetworkInterface!
    await fails(ec2.send(new DeleteSecurityGroupCommand({ GroupId: tmp })), 'DependencyViolation')
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId }))
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: tmp }))
    await fails(ec2.send(new DeleteSecurityGroupCommand({ GroupId: tmp })), 'InvalidGroup.NotFound')
    const left = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [tmp] }] }),
    )
    assert.deepEqual(left.SecurityGroupRules, [])
  })
})

describe('quotas at their limits', () => {
  test('60 inbound + 60 outbound rules are accepted, the 61st is RulesPerSecurityGroupLimitExceeded', async () => {
    const g = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'full', Description: 'full', VpcId: vpcId }))
    ).GroupId!
    const ranges = (n: number, third: number) =>
      Array.from({ length: n }, (_, i) => ({ CidrIp: `10.${third}.${i}.0/24` }))
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: g,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: ranges(60, 1) }],
      }),
    )
    // Two egress rules exist already (everything to 0.0.0.0/0 and to ::/0): 58 more.
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: g,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: ranges(58, 2) }],
      }),
    )
    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [g] }] }),
    )
    assert.equal(rules.SecurityGroupRules?.length, 120)
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: g,
          IpPermissions: [
            { IpProtocol: 'udp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.3.0.0/24' }] },
          ],
        }),
      ),
      'RulesPerSecurityGroupLimitExceeded',
    )
    await fails(
      ec2.send(
        new AuthorizeSecurityGroupEgressCommand({
          GroupId: g,
          IpPermissions: [
            { IpProtocol: 'udp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.3.0.0/24' }] },
          ],
        }),
      ),
      'RulesPerSecurityGroupLimitExceeded',
    )
  })

  test('5 groups on an interface are accepted, 6 are SecurityGroupsPerInterfaceLimitExceeded', async () => {
    const ids: string[] = []
    for (let i = 0; i < 6; i++)
      ids.push(
        (
          await ec2.send(
            new CreateSecurityGroupCommand({ GroupName: `five-${i}`, Description: 'q', VpcId: vpcId }),
          )
        ).GroupId!,
      )
    const eni = (
      await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: ids.slice(0, 5) }))
    ).NetworkInterface!
    assert.equal(eni.Groups?.length, 5)
    await fails(
      ec2.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: eni.NetworkInterfaceId,
          Groups: ids,
        }),
      ),
      'SecurityGroupsPerInterfaceLimitExceeded',
    )
    await fails(
      ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: ids })),
      'SecurityGroupsPerInterfaceLimitExceeded',
    )
  })

  test('20 inbound + 20 outbound ACL entries are accepted, the 21st is NetworkAclEntryLimitExceeded', async () => {
    const acl = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl!.NetworkAclId!
    for (const egress of [false, true]) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          ec2.send(
            new CreateNetworkAclEntryCommand({
              NetworkAclId: acl,
              RuleNumber: (i + 1) * 10,
              Egress: egress,
              RuleAction: 'allow',
              Protocol: '6',
              CidrBlock: `10.${i}.0.0/16`,
              PortRange: { From: 1024, To: 65535 },
            }),
          ),
        ),
      )
    }
    await fails(
      ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: acl,
          RuleNumber: 999,
          Egress: false,
          RuleAction: 'deny',
          Protocol: '-1',
          CidrBlock: '0.0.0.0/0',
        }),
      ),
      'NetworkAclEntryLimitExceeded',
    )
    const d = await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [acl] }))
    assert.equal(d.NetworkAcls![0]!.Entries!.length, 44)
    await ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: acl }))
  })
})

describe('network ACLs', () => {
  let acl: string
  test('CreateNetworkAcl: only the * entries; entries created, replaced, deleted; their errors', async () => {
    const out = await ec2.send(
      new CreateNetworkAclCommand({
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'network-acl', Tags: [{ Key: 'Name', Value: 'strict' }] }],
      }),
    )
    acl = out.NetworkAcl!.NetworkAclId!
    assert.match(acl, idPattern('acl'))
    assert.equal(out.NetworkAcl!.IsDefault, false)
    assert.deepEqual(
      out.NetworkAcl!.Entries!.map((e) => e.RuleNumber),
      [32767, 32767, 32767, 32767],
    )
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: acl,
        RuleNumber: 100,
        Egress: false,
        RuleAction: 'allow',
        Protocol: 'tcp',
        CidrBlock: '0.0.0.0/0',
        PortRange: { From: 80, To: 80 },
      }),
    )
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: acl,
        RuleNumber: 110,
        Egress: false,
        RuleAction: 'allow',
        Protocol: '1',
        CidrBlock: '0.0.0.0/0',
        IcmpTypeCode: { Type: 8, Code: -1 },
      }),
    )
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: acl,
        RuleNumber: 100,
        Egress: true,
        RuleAction: 'allow',
        Protocol: '-1',
        Ipv6CidrBlock: '::/0',
      }),
    )
    await fails(
      ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: acl,
          RuleNumber: 100,
          Egress: false,
          RuleAction: 'deny',
          Protocol: '-1',
          CidrBlock: '0.0.0.0/0',
        }),
      ),
      'NetworkAclEntryAlreadyExists',
    )
    await fails(
      ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: acl,
          RuleNumber: 32767,
          Egress: false,
          RuleAction: 'deny',
          Protocol: '-1',
          CidrBlock: '0.0.0.0/0',
        }),
      ),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: acl,
          RuleNumber: 120,
          Egress: false,
          RuleAction: 'allow',
          Protocol: '6',
          CidrBlock: '0.0.0.0/0',
        }),
      ),
      'MissingParameter',
    )
    await fails(
      ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: 'acl-0123456789abcdef0',
          RuleNumber: 1,
          Egress: false,
          RuleAction: 'allow',
          Protocol: '-1',
          CidrBlock: '0.0.0.0/0',
        }),
      ),
      'InvalidNetworkAclID.NotFound',
    )
    await ec2.send(
      new ReplaceNetworkAclEntryCommand({
        NetworkAclId: acl,
        RuleNumber: 100,
        Egress: false,
        RuleAction: 'deny',
        Protocol: '17',
        CidrBlock: '10.0.0.0/8',
        PortRange: { From: 53, To: 53 },
      }),
    )
    await fails(
      ec2.send(
        new ReplaceNetworkAclEntryCommand({
          NetworkAclId: acl,
          RuleNumber: 555,
          Egress: false,
          RuleAction: 'deny',
          Protocol: '-1',
          CidrBlock: '0.0.0.0/0',
        }),
      ),
      'InvalidNetworkAclEntry.NotFound',
    )
    await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: acl, RuleNumber: 100, Egress: true }))
    await fails(
      ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: acl, RuleNumber: 100, Egress: true })),
      'InvalidNetworkAclEntry.NotFound',
    )
    const d = await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [acl] }))
    assert.deepEqual(
      d
        .NetworkAcls![0]!.Entries!.filter((e) => e.RuleNumber !== 32767)
        .map((e) => [
          e.RuleNumber,
          e.Egress,
          e.RuleAction,
          e.Protocol,
          e.CidrBlock,
          e.PortRange,
          e.IcmpTypeCode,
        ]),
      [
        [100, false, 'deny', '17', '10.0.0.0/8', { From: 53, To: 53 }, undefined],
        [110, false, 'allow', '1', '0.0.0.0/0', undefined, { Code: -1, Type: 8 }],
      ],
    )
  })

  test('ReplaceNetworkAclAssociation moves a subnet; DeleteNetworkAcl refused while associated', async () => {
    const def = await ec2.send(
      new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }),
    )
    const assoc = def.NetworkAcls![0]!.Associations!.find(
      (a) => a.SubnetId === subnetId,
    )!.NetworkAclAssociationId!
    const out = await ec2.send(
      new ReplaceNetworkAclAssociationCommand({ AssociationId: assoc, NetworkAclId: acl }),
    )
    assert.match(out.NewAssociationId!, idPattern('aclassoc'))
    const now = await ec2.send(
      new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }),
    )
    assert.deepEqual(
      now.NetworkAcls!.map((a) => a.NetworkAclId),
      [acl],
    )
    await fails(
      ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: assoc, NetworkAclId: acl })),
      'InvalidAssociationID.NotFound',
    )
    await fails(ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: acl })), 'DependencyViolation')
    const back = def.NetworkAcls![0]!.NetworkAclId!
    await ec2.send(
      new ReplaceNetworkAclAssociationCommand({ AssociationId: out.NewAssociationId, NetworkAclId: back }),
    )
    await ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: acl }))
    await fails(ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: acl })), 'InvalidNetworkAclID.NotFound')
  })
})

describe('interfaces through the API, bound to a host interface when its agent registers', () => {
  test('Create, attach to an agent-registered instance, bind at registration, detach, delete', async () => {
    const g = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'eni', Description: 'eni', VpcId: vpcId }))
    ).GroupId!
    const out = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnetId,
        PrivateIpAddress: '10.40.1.50',
        Groups: [g],
        Description: 'api eni',
      }),
    )
    const eni = out.NetworkInterface!
    assert.match(eni.NetworkInterfaceId!, idPattern('eni'))
    assert.deepEqual(
      [eni.Status, eni.PrivateIpAddress, eni.Description, eni.Groups],
      ['available', '10.40.1.50', 'api eni', [{ GroupName: 'eni', GroupId: g }]],
    )
    await fails(
      ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, PrivateIpAddress: '10.40.1.50' })),
      'InvalidIPAddress.InUse',
    )
    await fails(
      ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, PrivateIpAddress: '10.40.1.1' })),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0123456789abcdef0' })),
      'InvalidSubnetID.NotFound',
    )

    const host = await registerInstance('api-host', '10.40.1.10', '02:00:00:00:40:10')
    await fails(
      ec2.send(
        new AttachNetworkInterfaceCommand({
          NetworkInterfaceId: eni.NetworkInterfaceId,
          InstanceId: host.instanceId,
          DeviceIndex: 0,
        }),
      ),
      'InvalidParameterValue',
    )
    const att = await ec2.send(
      new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: eni.NetworkInterfaceId,
        InstanceId: host.instanceId,
        DeviceIndex: 1,
      }),
    )
    assert.match(att.AttachmentId!, idPattern('eni-attach'))
    await fails(
      ec2.send(
        new AttachNetworkInterfaceCommand({
          NetworkInterfaceId: eni.NetworkInterfaceId,
          InstanceId: host.instanceId,
          DeviceIndex: 2,
        }),
      ),
      'InvalidNetworkInterface.InUse',
    )
    await fails(
      ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId })),
      'InvalidNetworkInterface.InUse',
    )

    // The agent reports a Linux interface carrying the address: it binds to the API's interface.
    const r = await srv.signed({
      Action: 'MirrorflowRegisterInstance',
      Version: '2016-11-15',
      Hostname: 'api-host',
      InstanceId: host.instanceId,
      'NetworkInterface.1.DeviceName': 'eth0',
      'NetworkInterface.1.MacAddress': '02:00:00:00:40:10',
      'NetworkInterface.1.PrivateIpAddress': '10.40.1.10',
      'NetworkInterface.2.DeviceName': 'eth1',
      'NetworkInterface.2.MacAddress': '02:00:00:00:40:50',
      'NetworkInterface.2.PrivateIpAddress': '10.40.1.50',
    })
    assert.equal(r.status, 200, r.body)
    const reg = JSON.parse(r.body) as {
      NetworkInterfaces: { NetworkInterfaceId: string; DeviceName?: string }[]
    }
    assert.ok(reg.NetworkInterfaces.some((e) => e.NetworkInterfaceId === eni.NetworkInterfaceId))
    const bound = await ec2.send(
      new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni.NetworkInterfaceId!] }),
    )
    assert.equal(bound.NetworkInterfaces![0]!.MacAddress, '02:00:00:00:40:50')
    assert.deepEqual(
      bound.NetworkInterfaces![0]!.Groups,
      [{ GroupName: 'eni', GroupId: g }],
      'the groups survive the binding',
    )
    const ds = await desired(host.instanceId)
    const mine = ds.interfaces.find((i) => i.networkInterfaceId === eni.NetworkInterfaceId)!
    assert.equal(mine.deviceName, 'eth1')
    assert.deepEqual((mine.security.securityGroups as unknown[]).length, 1)

    await fails(
      ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-0123456789abcdef0' })),
      'InvalidAttachmentID.NotFound',
    )
    const primary = await ec2.send(
      new DescribeNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: host.eniId,
        Attribute: 'attachment',
      }),
    )
    await fails(
      ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: primary.Attachment!.AttachmentId })),
      'OperationNotPermitted',
    )
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: att.AttachmentId }))
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId }))
    await fails(
      ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId })),
      'InvalidNetworkInterfaceID.NotFound',
    )
  })

  test('ModifyNetworkInterfaceAttribute / DescribeNetworkInterfaceAttribute: groups, description, source-dest-check', async () => {
    const g = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'attr', Description: 'attr', VpcId: vpcId }))
    ).GroupId!
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId }))).NetworkInterface!
    const id = eni.NetworkInterfaceId!
    assert.deepEqual(
      eni.Groups,
      [{ GroupName: 'default', GroupId: defaultSg }],
      'no group given: the VPC default group',
    )
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Groups: [g, defaultSg] }),
    )
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: id,
        Description: { Value: 'changed' },
      }),
    )
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: id,
        SourceDestCheck: { Value: false },
      }),
    )
    const groups = await ec2.send(
      new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attribute: 'groupSet' }),
    )
    assert.deepEqual(groups.Groups, [
      { GroupName: 'attr', GroupId: g },
      { GroupName: 'default', GroupId: defaultSg },
    ])
    const d = await ec2.send(
      new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attribute: 'description' }),
    )
    assert.equal(d.Description?.Value, 'changed')
    const s = await ec2.send(
      new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attribute: 'sourceDestCheck' }),
    )
    assert.equal(s.SourceDestCheck?.Value, false)
    const f = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'group-id', Values: [g] }] }),
    )
    assert.deepEqual(
      f.NetworkInterfaces!.map((e) => e.NetworkInterfaceId),
      [id],
    )
    await fails(
      ec2.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: id,
          Groups: ['sg-0123456789abcdef0'],
        }),
      ),
      'InvalidGroup.NotFound',
    )
    await fails(
      ec2.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: id,
          Description: { Value: 'a' },
          SourceDestCheck: { Value: true },
        }),
      ),
      'InvalidParameterCombination',
    )
    await fails(
      ec2.send(
        new DescribeNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: 'eni-0123456789abcdef0',
          Attribute: 'description',
        }),
      ),
      'InvalidNetworkInterfaceID.NotFound',
    )
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }))
  })
})

describe('what Terraform reads around a VPC and a subnet', () => {
  test('DescribeVpcAttribute / ModifyVpcAttribute (the three attributes)', async () => {
    const get = async (a: 'enableDnsSupport' | 'enableDnsHostnames' | 'enableNetworkAddressUsageMetrics') =>
      ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: a }))
    assert.equal((await get('enableDnsSupport')).EnableDnsSupport?.Value, true)
    assert.equal((await get('enableDnsHostnames')).EnableDnsHostnames?.Value, false)
    assert.equal(
      (await get('enableNetworkAddressUsageMetrics')).EnableNetworkAddressUsageMetrics?.Value,
      false,
    )
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }))
    assert.equal((await get('enableDnsHostnames')).EnableDnsHostnames?.Value, true)
    await fails(
      ec2.send(
        new ModifyVpcAttributeCommand({
          VpcId: vpcId,
          EnableDnsSupport: { Value: false },
          EnableDnsHostnames: { Value: false },
        }),
      ),
      'InvalidParameterCombination',
    )
    await fails(
      ec2.send(
        new DescribeVpcAttributeCommand({ VpcId: 'vpc-0123456789abcdef0', Attribute: 'enableDnsSupport' }),
      ),
      'InvalidVpcID.NotFound',
    )
  })

  test('ModifySubnetAttribute: MapPublicIpOnLaunch and the DNS name options show in DescribeSubnets', async () => {
    await ec2.send(
      new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }),
    )
    await ec2.send(
      new ModifySubnetAttributeCommand({
        SubnetId: subnetId,
        PrivateDnsHostnameTypeOnLaunch: 'resource-name',
      }),
    )
    const s = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0]!
    assert.equal(s.MapPublicIpOnLaunch, true)
    assert.equal(s.PrivateDnsNameOptionsOnLaunch?.HostnameType, 'resource-name')
    await fails(
      ec2.send(
        new ModifySubnetAttributeCommand({
          SubnetId: subnetId,
          AssignIpv6AddressOnCreation: { Value: true },
        }),
      ),
      'InvalidParameterValue',
    )
    await fails(
      ec2.send(
        new ModifySubnetAttributeCommand({
          SubnetId: 'subnet-0123456789abcdef0',
          MapPublicIpOnLaunch: { Value: true },
        }),
      ),
      'InvalidSubnetID.NotFound',
    )
  })

  test('DescribeAvailabilityZones, DescribeRegions, DescribeAccountAttributes', async () => {
    const az = await ec2.send(new DescribeAvailabilityZonesCommand({}))
    assert.equal(az.AvailabilityZones?.length, 6)
    assert.deepEqual(
      [az.AvailabilityZones![0]!.ZoneName, az.AvailabilityZones![0]!.ZoneId, az.AvailabilityZones![0]!.State],
      [`${srv.region}a`, 'use1-az1', 'available'],
    )
    const one = await ec2.send(
      new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-name', Values: [`${srv.region}b`] }] }),
    )
    assert.equal(one.AvailabilityZones?.length, 1)
    await fails(
      ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['mars-1a'] })),
      'InvalidParameterValue',
    )
    const rg = await ec2.send(new DescribeRegionsCommand({}))
    assert.deepEqual(rg.Regions, [
      {
        RegionName: srv.region,
        Endpoint: `ec2.${srv.region}.amazonaws.com`,
        OptInStatus: 'opt-in-not-required',
      },
    ])
    await fails(ec2.send(new DescribeRegionsCommand({ RegionNames: ['mars-1'] })), 'InvalidParameterValue')
    const aa = await ec2.send(
      new DescribeAccountAttributesCommand({ AttributeNames: ['supported-platforms', 'default-vpc'] }),
    )
    assert.deepEqual(
      aa.AccountAttributes!.map((a) => [a.AttributeName, a.AttributeValues!.map((v) => v.AttributeValue)]),
      [
        ['supported-platforms', ['VPC']],
        ['default-vpc', ['none']],
      ],
    )
  })

  test('DeleteVpc: refused while groups of its own remain; its defaults go with it', async () => {
    const v = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.41.0.0/16' }))).Vpc!.VpcId!
    const s = (await ec2.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.41.1.0/24' }))).Subnet!
      .SubnetId!
    const g = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'own', Description: 'own', VpcId: v }))
    ).GroupId!
    await ec2.send(new DeleteSubnetCommand({ SubnetId: s }))
    await fails(ec2.send(new DeleteVpcCommand({ VpcId: v })), 'DependencyViolation')
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: g }))
    await ec2.send(new DeleteVpcCommand({ VpcId: v }))
    const left = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }] }),
    )
    assert.deepEqual(left.SecurityGroups, [])
    const acls = await ec2.send(
      new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }] }),
    )
    assert.deepEqual(acls.NetworkAcls, [])
  })
})

describe('one documented error for each action not covered above', () => {
  test('each answers its code', async () => {
    const perm = [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.9.9.0/24' }] }]
    await Promise.all([
      fails(
        ec2.send(
          new AuthorizeSecurityGroupEgressCommand({ GroupId: 'sg-0123456789abcdef0', IpPermissions: perm }),
        ),
        'InvalidGroup.NotFound',
      ),
      fails(
        ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: defaultSg, IpPermissions: perm })),
        'InvalidPermission.NotFound',
      ),
      fails(
        ec2.send(
          new UpdateSecurityGroupRuleDescriptionsEgressCommand({
            GroupId: defaultSg,
            SecurityGroupRuleDescriptions: [
              { SecurityGroupRuleId: 'sgr-0123456789abcdef0', Description: 'x' },
            ],
          }),
        ),
        'InvalidSecurityGroupRuleId.NotFound',
      ),
      fails(
        ec2.send(new CreateNetworkAclCommand({ VpcId: 'vpc-0123456789abcdef0' })),
        'InvalidVpcID.NotFound',
      ),
      fails(
        ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: ['acl-0123456789abcdef0'] })),
        'InvalidNetworkAclID.NotFound',
      ),
      fails(
        ec2.send(new DescribeAccountAttributesCommand({ AttributeNames: ['nope' as never] })),
        'InvalidParameterValue',
      ),
      fails(
        ec2.send(
          new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'ip-protocol', Values: ['tcp'] }] }),
        ),
        'InvalidParameterValue',
      ),
    ])
  })
})

describe('managed prefix lists through the SDK', () => {
  test('AWS’s shapes for every action; a rule by list reaches the agent as the list’s entries and follows a modification', async () => {
    const created = await ec2.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: 'sdk-admins',
        AddressFamily: 'IPv4',
        MaxEntries: 4,
        Entries: [{ Cidr: '10.7.0.0/16', Description: 'vpn' }],
        TagSpecifications: [{ ResourceType: 'prefix-list', Tags: [{ Key: 'k', Value: 'v' }] }],
        ClientToken: 'sdk-pl-1',
      }),
    )
    const pl = created.PrefixList!
    assert.match(pl.PrefixListId!, idPattern('pl'))
    assert.deepEqual(
      [pl.State, pl.Version, pl.MaxEntries, pl.AddressFamily, pl.Tags],
      ['create-complete', 1, 4, 'IPv4', [{ Key: 'k', Value: 'v' }]],
    )
    // The same ClientToken answers the same list.
    const again = await ec2.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: 'sdk-admins',
        AddressFamily: 'IPv4',
        MaxEntries: 4,
        Entries: [{ Cidr: '10.7.0.0/16', Description: 'vpn' }],
        TagSpecifications: [{ ResourceType: 'prefix-list', Tags: [{ Key: 'k', Value: 'v' }] }],
        ClientToken: 'sdk-pl-1',
      }),
    )
    assert.equal(again.PrefixList!.PrefixListId, pl.PrefixListId)
    const id = pl.PrefixListId!
    const d = await ec2.send(
      new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'tag:k', Values: ['v'] }], MaxResults: 1 }),
    )
    assert.deepEqual(
      d.PrefixLists!.map((x) => x.PrefixListId),
      [id],
    )
    await fails(ec2.send(new DescribeManagedPrefixListsCommand({ MaxResults: 101 })), 'InvalidParameterValue')

    const g = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'sdk-pl', Description: 'pl', VpcId: vpcId }))
    ).GroupId!
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: g,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: id }] },
        ],
      }),
    )
    const host = await registerInstance('pl-host', '10.40.1.20', '02:00:00:00:40:20')
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: host.eniId, Groups: [g] }),
    )
    const rulesOf = async () =>
      (
        (await desired(host.instanceId)).interfaces[0]!.security.ingressRules as Array<{
          prefixListId: string | null
          cidrBlocks: string[]
        }>
      ).map((r) => [r.prefixListId, r.cidrBlocks])
    assert.deepEqual(await rulesOf(), [[id, ['10.7.0.0/16']]])

    await fails(
      ec2.send(
        new ModifyManagedPrefixListCommand({
          PrefixListId: id,
          CurrentVersion: 7,
          AddEntries: [{ Cidr: '10.8.0.0/16' }],
        }),
      ),
      'PrefixListVersionMismatch',
    )
    const m = await ec2.send(
      new ModifyManagedPrefixListCommand({
        PrefixListId: id,
        CurrentVersion: 1,
        AddEntries: [{ Cidr: '10.8.0.0/16' }],
        RemoveEntries: [{ Cidr: '10.7.0.0/16' }],
      }),
    )
    assert.deepEqual([m.PrefixList!.State, m.PrefixList!.Version], ['modify-complete', 2])
    assert.deepEqual(await rulesOf(), [[id, ['10.8.0.0/16']]])
    const e = await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id, TargetVersion: 1 }))
    assert.deepEqual(e.Entries, [{ Cidr: '10.7.0.0/16', Description: 'vpn' }])
    const a = await ec2.send(new GetManagedPrefixListAssociationsCommand({ PrefixListId: id }))
    assert.deepEqual(
      a.PrefixListAssociations!.map((x) => x.ResourceId),
      [g],
    )
    await fails(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id })), 'DependencyViolation')
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: g,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: id }] },
        ],
      }),
    )
    assert.deepEqual(await rulesOf(), [])
    const del = await ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id }))
    assert.equal(del.PrefixList!.State, 'delete-in-progress')
    await fails(
      ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id })),
      'InvalidPrefixListID.NotFound',
    )
  })
})
