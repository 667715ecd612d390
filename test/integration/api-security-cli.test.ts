// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * Security groups, network ACLs, interfaces managed through the API, VPC/subnet attributes and the
 * region/account reads, driven by the real AWS CLI (/usr/bin/aws) against one server: each action
 * once with its happy path (the CLI's own shorthands included: `--protocol/--port/--cidr`,
 * `--source-group`) and once with a documented error, pinned to one code. The commands run through
 * `AwsBatch`: the unmodified /usr/bin/aws script once per command, in one Python process (a separate
 * `aws` process costs about a second of CPU for its start and imports, ~90 of them took minutes on a
 * loaded machine); the last test checks that a separate /usr/bin/aws process prints the same.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  cliEnv,
  idPattern,
  startApiTestServer,
  type ApiTestServer,
  type CliResult,
} from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

let srv: ApiTestServer
let cli: AwsBatch
let vpcId: string
let subnetId: string

async function ok(...args: string[]): Promise<Record<string, unknown>> {
  const r = await cli.run(...args)
  assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return (r.json ?? {}) as Record<string, unknown>
}

/** Asserts the CLI printed a service error with exactly this code for this operation. */
function failed(r: CliResult, code: string, operation: string): void {
  assert.equal(r.code, 254, `want exit 254, got ${r.code}: ${r.stderr}${r.stdout}`)
  const m =
    /An error occurred \(([^)]+)\) when calling the (\w+) operation(?: \(reached max retries: \d+\))?: (.*)/.exec(
      r.stderr,
    )
  assert.ok(m, `no service error on stderr: ${r.stderr}`)
  assert.equal(m[1], code, r.stderr)
  assert.equal(m[2], operation)
  assert.notEqual(m[3]!.trim(), '')
}

async function fails(code: string, operation: string, ...args: string[]): Promise<void> {
  failed(await cli.run(...args), code, operation)
}

const FAKE_SG = 'sg-0123456789abcdef0'

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-api-sg-cli' })
  cli = new AwsBatch(cliEnv(srv.dataDir), srv.url)
  vpcId = ((await ok('ec2', 'create-vpc', '--cidr-block', '10.50.0.0/16')).Vpc as { VpcId: string }).VpcId
  subnetId = (
    (await ok('ec2', 'create-subnet', '--vpc-id', vpcId, '--cidr-block', '10.50.1.0/24')).Subnet as {
      SubnetId: string
    }
  ).SubnetId
})

after(async () => {
  await cli?.close()
  await srv?.close()
})

test('security groups through the CLI: create, authorize (shorthands and --ip-permissions), describe, modify, revoke, delete', async () => {
  const [web, db] = await Promise.all([
    ok('ec2', 'create-security-group', '--group-name', 'web', '--description', 'web tier', '--vpc-id', vpcId),
    ok('ec2', 'create-security-group', '--group-name', 'db', '--description', 'db tier', '--vpc-id', vpcId),
  ])
  const webId = web.GroupId as string
  const dbId = db.GroupId as string
  assert.match(webId, idPattern('sg'))
  await Promise.all([
    fails(
      'InvalidGroup.Duplicate',
      'CreateSecurityGroup',
      'ec2',
      'create-security-group',
      '--group-name',
      'web',
      '--description',
      'x',
      '--vpc-id',
      vpcId,
    ),
    fails(
      'VPCIdNotSpecified',
      'CreateSecurityGroup',
      'ec2',
      'create-security-group',
      '--group-name',
      'nov',
      '--description',
      'x',
    ),
  ])

  const a = await ok(
    'ec2',
    'authorize-security-group-ingress',
    '--group-id',
    webId,
    '--protocol',
    'tcp',
    '--port',
    '80',
    '--cidr',
    '0.0.0.0/0',
  )
  assert.equal(a.Return, true)
  const rules = a.SecurityGroupRules as {
    SecurityGroupRuleId: string
    IpProtocol: string
    FromPort: number
    ToPort: number
    CidrIpv4: string
  }[]
  assert.deepEqual(
    [rules[0]!.IpProtocol, rules[0]!.FromPort, rules[0]!.ToPort, rules[0]!.CidrIpv4],
    ['tcp', 80, 80, '0.0.0.0/0'],
  )
  const [ref] = await Promise.all([
    ok(
      'ec2',
      'authorize-security-group-ingress',
      '--group-id',
      dbId,
      '--protocol',
      'tcp',
      '--port',
      '5432',
      '--source-group',
      webId,
    ),
    ok(
      'ec2',
      'authorize-security-group-ingress',
      '--group-id',
      webId,
      '--ip-permissions',
      'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.50.9.0/24,Description=admin}]',
      'IpProtocol=tcp,FromPort=443,ToPort=443,Ipv6Ranges=[{CidrIpv6=::/0}]',
    ),
    ok(
      'ec2',
      'authorize-security-group-egress',
      '--group-id',
      dbId,
      '--ip-permissions',
      'IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=10.50.0.2/32}]',
    ),
  ])
  const refRule = (ref.SecurityGroupRules as { ReferencedGroupInfo: { GroupId: string } }[])[0]!
  assert.equal(refRule.ReferencedGroupInfo.GroupId, webId)
  await Promise.all([
    fails(
      'InvalidPermission.Duplicate',
      'AuthorizeSecurityGroupIngress',
      'ec2',
      'authorize-security-group-ingress',
      '--group-id',
      webId,
      '--protocol',
      'tcp',
      '--port',
      '80',
      '--cidr',
      '0.0.0.0/0',
    ),
    fails(
      'InvalidGroup.NotFound',
      'AuthorizeSecurityGroupEgress',
      'ec2',
      'authorize-security-group-egress',
      '--group-id',
      FAKE_SG,
      '--ip-permissions',
      'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]',
    ),
    fails(
      'InvalidGroup.NotFound',
      'DescribeSecurityGroups',
      'ec2',
      'describe-security-groups',
      '--group-ids',
      FAKE_SG,
    ),
    fails(
      'InvalidSecurityGroupRuleId.NotFound',
      'DescribeSecurityGroupRules',
      'ec2',
      'describe-security-group-rules',
      '--security-group-rule-ids',
      'sgr-0123456789abcdef0',
    ),
  ])

  const [desc, byFilter, sgr] = await Promise.all([
    ok('ec2', 'describe-security-groups', '--group-ids', dbId),
    ok(
      'ec2',
      'describe-security-groups',
      '--filters',
      `Name=vpc-id,Values=${vpcId}`,
      'Name=ip-permission.to-port,Values=22',
    ),
    ok('ec2', 'describe-security-group-rules', '--filters', `Name=group-id,Values=${webId}`),
  ])
  const g = (desc.SecurityGroups as Record<string, unknown>[])[0]!
  assert.deepEqual(g.IpPermissions, [
    {
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      UserIdGroupPairs: [{ UserId: srv.accountId, GroupId: webId }],
      IpRanges: [],
      Ipv6Ranges: [],
      PrefixListIds: [],
    },
  ])
  assert.deepEqual(
    (byFilter.SecurityGroups as { GroupId: string }[]).map((x) => x.GroupId),
    [webId],
  )
  const webRules = sgr.SecurityGroupRules as {
    SecurityGroupRuleId: string
    IsEgress: boolean
    FromPort: number
  }[]
  assert.equal(webRules.length, 5, 'egress to 0.0.0.0/0 and ::/0, 80, 22 and 443 (IPv6)')
  const r22 = webRules.find((r) => r.FromPort === 22)!

  await ok(
    'ec2',
    'modify-security-group-rules',
    '--group-id',
    webId,
    '--security-group-rules',
    `SecurityGroupRuleId=${r22.SecurityGroupRuleId},SecurityGroupRule={IpProtocol=tcp,FromPort=2222,ToPort=2222,CidrIpv4=10.50.9.0/24}`,
  )
  await Promise.all([
    ok(
      'ec2',
      'update-security-group-rule-descriptions-ingress',
      '--group-id',
      webId,
      '--security-group-rule-descriptions',
      `SecurityGroupRuleId=${r22.SecurityGroupRuleId},Description=ssh-alt`,
    ),
    ok(
      'ec2',
      'update-security-group-rule-descriptions-egress',
      '--group-id',
      dbId,
      '--ip-permissions',
      'IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=10.50.0.2/32,Description=dns}]',
    ),
    fails(
      'InvalidSecurityGroupRuleId.NotFound',
      'ModifySecurityGroupRules',
      'ec2',
      'modify-security-group-rules',
      '--group-id',
      dbId,
      '--security-group-rules',
      `SecurityGroupRuleId=${r22.SecurityGroupRuleId},SecurityGroupRule={IpProtocol=-1,CidrIpv4=1.0.0.0/8}`,
    ),
    fails(
      'InvalidPermission.NotFound',
      'UpdateSecurityGroupRuleDescriptionsIngress',
      'ec2',
      'update-security-group-rule-descriptions-ingress',
      '--group-id',
      webId,
      '--ip-permissions',
      'IpProtocol=udp,FromPort=9,ToPort=9,IpRanges=[{CidrIp=9.9.9.0/24,Description=x}]',
    ),
    fails(
      'InvalidPermission.NotFound',
      'UpdateSecurityGroupRuleDescriptionsEgress',
      'ec2',
      'update-security-group-rule-descriptions-egress',
      '--group-id',
      webId,
      '--ip-permissions',
      'IpProtocol=udp,FromPort=9,ToPort=9,IpRanges=[{CidrIp=9.9.9.0/24,Description=x}]',
    ),
  ])
  const one = await ok(
    'ec2',
    'describe-security-group-rules',
    '--security-group-rule-ids',
    r22.SecurityGroupRuleId,
  )
  const r = (one.SecurityGroupRules as { FromPort: number; Description: string }[])[0]!
  assert.deepEqual([r.FromPort, r.Description], [2222, 'ssh-alt'])

  const dbEgress = (
    await ok('ec2', 'describe-security-group-rules', '--filters', `Name=group-id,Values=${dbId}`)
  ).SecurityGroupRules as { SecurityGroupRuleId: string; IsEgress: boolean; CidrIpv4?: string }[]
  await Promise.all([
    ok(
      'ec2',
      'revoke-security-group-ingress',
      '--group-id',
      webId,
      '--protocol',
      'tcp',
      '--port',
      '80',
      '--cidr',
      '0.0.0.0/0',
    ),
    ok(
      'ec2',
      'revoke-security-group-egress',
      '--group-id',
      dbId,
      '--security-group-rule-ids',
      dbEgress.find((x) => x.IsEgress && x.CidrIpv4 === '0.0.0.0/0')!.SecurityGroupRuleId,
    ),
  ])
  await Promise.all([
    fails(
      'InvalidPermission.NotFound',
      'RevokeSecurityGroupIngress',
      'ec2',
      'revoke-security-group-ingress',
      '--group-id',
      webId,
      '--protocol',
      'tcp',
      '--port',
      '80',
      '--cidr',
      '0.0.0.0/0',
    ),
    fails(
      'InvalidPermission.NotFound',
      'RevokeSecurityGroupEgress',
      'ec2',
      'revoke-security-group-egress',
      '--group-id',
      dbId,
      '--ip-permissions',
      'IpProtocol=tcp,FromPort=1,ToPort=1,IpRanges=[{CidrIp=1.1.1.0/24}]',
    ),
    fails('DependencyViolation', 'DeleteSecurityGroup', 'ec2', 'delete-security-group', '--group-id', webId),
  ])
  await ok(
    'ec2',
    'revoke-security-group-ingress',
    '--group-id',
    dbId,
    '--protocol',
    'tcp',
    '--port',
    '5432',
    '--source-group',
    webId,
  )
  await ok('ec2', 'delete-security-group', '--group-id', webId)
  await fails(
    'InvalidGroup.NotFound',
    'DeleteSecurityGroup',
    'ec2',
    'delete-security-group',
    '--group-id',
    webId,
  )
  const def = await ok(
    'ec2',
    'describe-security-groups',
    '--filters',
    `Name=vpc-id,Values=${vpcId}`,
    'Name=group-name,Values=default',
  )
  await fails(
    'CannotDelete',
    'DeleteSecurityGroup',
    'ec2',
    'delete-security-group',
    '--group-id',
    (def.SecurityGroups as { GroupId: string }[])[0]!.GroupId,
  )
})

test('network ACLs through the CLI: create, entries, association, describe, delete', async () => {
  const created = await ok('ec2', 'create-network-acl', '--vpc-id', vpcId)
  const acl = (created.NetworkAcl as { NetworkAclId: string }).NetworkAclId
  assert.match(acl, idPattern('acl'))
  await fails(
    'InvalidVpcID.NotFound',
    'CreateNetworkAcl',
    'ec2',
    'create-network-acl',
    '--vpc-id',
    'vpc-0123456789abcdef0',
  )
  await Promise.all([
    ok(
      'ec2',
      'create-network-acl-entry',
      '--network-acl-id',
      acl,
      '--ingress',
      '--rule-number',
      '100',
      '--protocol',
      'tcp',
      '--port-range',
      'From=80,To=80',
      '--cidr-block',
      '0.0.0.0/0',
      '--rule-action',
      'allow',
    ),
    ok(
      'ec2',
      'create-network-acl-entry',
      '--network-acl-id',
      acl,
      '--egress',
      '--rule-number',
      '100',
      '--protocol',
      '-1',
      '--cidr-block',
      '0.0.0.0/0',
      '--rule-action',
      'allow',
    ),
    ok(
      'ec2',
      'create-network-acl-entry',
      '--network-acl-id',
      acl,
      '--ingress',
      '--rule-number',
      '90',
      '--protocol',
      '1',
      '--icmp-type-code',
      'Type=8,Code=-1',
      '--cidr-block',
      '10.0.0.0/8',
      '--rule-action',
      'deny',
    ),
  ])
  await Promise.all([
    fails(
      'NetworkAclEntryAlreadyExists',
      'CreateNetworkAclEntry',
      'ec2',
      'create-network-acl-entry',
      '--network-acl-id',
      acl,
      '--ingress',
      '--rule-number',
      '100',
      '--protocol',
      '-1',
      '--cidr-block',
      '0.0.0.0/0',
      '--rule-action',
      'deny',
    ),
    ok(
      'ec2',
      'replace-network-acl-entry',
      '--network-acl-id',
      acl,
      '--ingress',
      '--rule-number',
      '100',
      '--protocol',
      'tcp',
      '--port-range',
      'From=443,To=443',
      '--cidr-block',
      '0.0.0.0/0',
      '--rule-action',
      'allow',
    ),
    fails(
      'InvalidNetworkAclEntry.NotFound',
      'ReplaceNetworkAclEntry',
      'ec2',
      'replace-network-acl-entry',
      '--network-acl-id',
      acl,
      '--ingress',
      '--rule-number',
      '7',
      '--protocol',
      '-1',
      '--cidr-block',
      '0.0.0.0/0',
      '--rule-action',
      'deny',
    ),
    fails(
      'InvalidNetworkAclID.NotFound',
      'DescribeNetworkAcls',
      'ec2',
      'describe-network-acls',
      '--network-acl-ids',
      'acl-0123456789abcdef0',
    ),
  ])
  await ok('ec2', 'delete-network-acl-entry', '--network-acl-id', acl, '--egress', '--rule-number', '100')
  await fails(
    'InvalidNetworkAclEntry.NotFound',
    'DeleteNetworkAclEntry',
    'ec2',
    'delete-network-acl-entry',
    '--network-acl-id',
    acl,
    '--egress',
    '--rule-number',
    '100',
  )
  const d = await ok('ec2', 'describe-network-acls', '--network-acl-ids', acl)
  const entries = (
    d.NetworkAcls as {
      Entries: {
        RuleNumber: number
        Egress: boolean
        Protocol: string
        PortRange?: unknown
        IcmpTypeCode?: unknown
      }[]
    }[]
  )[0]!.Entries
  assert.deepEqual(
    entries.map((e) => [e.RuleNumber, e.Egress, e.Protocol]),
    [
      [32767, true, '-1'],
      [32767, true, '-1'],
      [90, false, '1'],
      [100, false, '6'],
      [32767, false, '-1'],
      [32767, false, '-1'],
    ],
  )

  const cur = await ok(
    'ec2',
    'describe-network-acls',
    '--filters',
    `Name=association.subnet-id,Values=${subnetId}`,
  )
  const assoc = (
    cur.NetworkAcls as { Associations: { SubnetId: string; NetworkAclAssociationId: string }[] }[]
  )[0]!.Associations.find((x) => x.SubnetId === subnetId)!.NetworkAclAssociationId
  const rep = await ok(
    'ec2',
    'replace-network-acl-association',
    '--association-id',
    assoc,
    '--network-acl-id',
    acl,
  )
  assert.match(rep.NewAssociationId as string, idPattern('aclassoc'))
  await Promise.all([
    fails(
      'InvalidAssociationID.NotFound',
      'ReplaceNetworkAclAssociation',
      'ec2',
      'replace-network-acl-association',
      '--association-id',
      assoc,
      '--network-acl-id',
      acl,
    ),
    fails('DependencyViolation', 'DeleteNetworkAcl', 'ec2', 'delete-network-acl', '--network-acl-id', acl),
  ])
  const def = await ok(
    'ec2',
    'describe-network-acls',
    '--filters',
    `Name=vpc-id,Values=${vpcId}`,
    'Name=default,Values=true',
  )
  const defId = (def.NetworkAcls as { NetworkAclId: string }[])[0]!.NetworkAclId
  await ok(
    'ec2',
    'replace-network-acl-association',
    '--association-id',
    rep.NewAssociationId as string,
    '--network-acl-id',
    defId,
  )
  await ok('ec2', 'delete-network-acl', '--network-acl-id', acl)
  await fails(
    'InvalidParameterValue',
    'DeleteNetworkAcl',
    'ec2',
    'delete-network-acl',
    '--network-acl-id',
    defId,
  )
})

test('interfaces through the CLI: create with groups, attributes, attach, detach, delete', async () => {
  const sg = (
    await ok('ec2', 'create-security-group', '--group-name', 'eni', '--description', 'eni', '--vpc-id', vpcId)
  ).GroupId as string
  const c = await ok(
    'ec2',
    'create-network-interface',
    '--subnet-id',
    subnetId,
    '--groups',
    sg,
    '--description',
    'cli eni',
    '--private-ip-address',
    '10.50.1.77',
  )
  const eni = c.NetworkInterface as {
    NetworkInterfaceId: string
    Groups: unknown[]
    PrivateIpAddress: string
  }
  assert.deepEqual(eni.Groups, [{ GroupName: 'eni', GroupId: sg }])
  await fails(
    'InvalidIPAddress.InUse',
    'CreateNetworkInterface',
    'ec2',
    'create-network-interface',
    '--subnet-id',
    subnetId,
    '--private-ip-address',
    '10.50.1.77',
  )
  await Promise.all([
    ok(
      'ec2',
      'modify-network-interface-attribute',
      '--network-interface-id',
      eni.NetworkInterfaceId,
      '--no-source-dest-check',
    ),
    fails(
      'InvalidGroup.NotFound',
      'ModifyNetworkInterfaceAttribute',
      'ec2',
      'modify-network-interface-attribute',
      '--network-interface-id',
      eni.NetworkInterfaceId,
      '--groups',
      FAKE_SG,
    ),
    fails(
      'InvalidNetworkInterfaceID.NotFound',
      'DescribeNetworkInterfaceAttribute',
      'ec2',
      'describe-network-interface-attribute',
      '--network-interface-id',
      'eni-0123456789abcdef0',
      '--attribute',
      'groupSet',
    ),
  ])
  const [sdc, groups] = await Promise.all([
    ok(
      'ec2',
      'describe-network-interface-attribute',
      '--network-interface-id',
      eni.NetworkInterfaceId,
      '--attribute',
      'sourceDestCheck',
    ),
    ok(
      'ec2',
      'describe-network-interface-attribute',
      '--network-interface-id',
      eni.NetworkInterfaceId,
      '--attribute',
      'groupSet',
    ),
  ])
  assert.deepEqual(sdc.SourceDestCheck, { Value: false })
  assert.deepEqual(groups.Groups, [{ GroupName: 'eni', GroupId: sg }])

  const reg = await srv.signed({
    Action: 'MirrorflowRegisterInstance',
    Version: '2016-11-15',
    Hostname: 'cli-host',
    'NetworkInterface.1.DeviceName': 'eth0',
    'NetworkInterface.1.PrivateIpAddress': '10.50.1.10',
  })
  assert.equal(reg.status, 200, reg.body)
  const instanceId = (JSON.parse(reg.body) as { Instance: { InstanceId: string } }).Instance.InstanceId
  const att = await ok(
    'ec2',
    'attach-network-interface',
    '--network-interface-id',
    eni.NetworkInterfaceId,
    '--instance-id',
    instanceId,
    '--device-index',
    '1',
  )
  assert.match(att.AttachmentId as string, idPattern('eni-attach'))
  await Promise.all([
    fails(
      'InvalidNetworkInterface.InUse',
      'AttachNetworkInterface',
      'ec2',
      'attach-network-interface',
      '--network-interface-id',
      eni.NetworkInterfaceId,
      '--instance-id',
      instanceId,
      '--device-index',
      '2',
    ),
    fails(
      'InvalidNetworkInterface.InUse',
      'DeleteNetworkInterface',
      'ec2',
      'delete-network-interface',
      '--network-interface-id',
      eni.NetworkInterfaceId,
    ),
    fails(
      'InvalidAttachmentID.NotFound',
      'DetachNetworkInterface',
      'ec2',
      'detach-network-interface',
      '--attachment-id',
      'eni-attach-0123456789abcdef0',
    ),
  ])
  await ok('ec2', 'detach-network-interface', '--attachment-id', att.AttachmentId as string)
  await ok('ec2', 'delete-network-interface', '--network-interface-id', eni.NetworkInterfaceId)
})

test('VPC and subnet attributes, zones, regions, account attributes, main route tables through the CLI', async () => {
  const [dns, , , zones, regions, attrs, rtb] = await Promise.all([
    ok('ec2', 'describe-vpc-attribute', '--vpc-id', vpcId, '--attribute', 'enableDnsSupport'),
    ok('ec2', 'modify-vpc-attribute', '--vpc-id', vpcId, '--enable-dns-hostnames', '{"Value":true}'),
    ok('ec2', 'modify-subnet-attribute', '--subnet-id', subnetId, '--map-public-ip-on-launch'),
    ok('ec2', 'describe-availability-zones'),
    ok('ec2', 'describe-regions'),
    ok('ec2', 'describe-account-attributes'),
    ok(
      'ec2',
      'describe-route-tables',
      '--filters',
      `Name=vpc-id,Values=${vpcId}`,
      'Name=association.main,Values=true',
    ),
  ])
  assert.deepEqual(dns, { VpcId: vpcId, EnableDnsSupport: { Value: true } })
  assert.equal((zones.AvailabilityZones as unknown[]).length, 6)
  assert.deepEqual(
    (regions.Regions as { RegionName: string }[]).map((r) => r.RegionName),
    [srv.region],
  )
  assert.ok(
    (attrs.AccountAttributes as { AttributeName: string }[]).some(
      (a) => a.AttributeName === 'supported-platforms',
    ),
  )
  assert.equal((rtb.RouteTables as unknown[]).length, 1)
  const [hn, sub] = await Promise.all([
    ok('ec2', 'describe-vpc-attribute', '--vpc-id', vpcId, '--attribute', 'enableDnsHostnames'),
    ok('ec2', 'describe-subnets', '--subnet-ids', subnetId),
  ])
  assert.deepEqual(hn.EnableDnsHostnames, { Value: true })
  assert.equal((sub.Subnets as { MapPublicIpOnLaunch: boolean }[])[0]!.MapPublicIpOnLaunch, true)
  await Promise.all([
    fails(
      'InvalidVpcID.NotFound',
      'DescribeVpcAttribute',
      'ec2',
      'describe-vpc-attribute',
      '--vpc-id',
      'vpc-0123456789abcdef0',
      '--attribute',
      'enableDnsSupport',
    ),
    fails(
      'InvalidVpcID.NotFound',
      'ModifyVpcAttribute',
      'ec2',
      'modify-vpc-attribute',
      '--vpc-id',
      'vpc-0123456789abcdef0',
      '--enable-dns-support',
      '{"Value":true}',
    ),
    fails(
      'InvalidSubnetID.NotFound',
      'ModifySubnetAttribute',
      'ec2',
      'modify-subnet-attribute',
      '--subnet-id',
      'subnet-0123456789abcdef0',
      '--map-public-ip-on-launch',
    ),
    fails(
      'InvalidParameterValue',
      'DescribeAvailabilityZones',
      'ec2',
      'describe-availability-zones',
      '--zone-names',
      'mars-1a',
    ),
    fails('InvalidParameterValue', 'DescribeRegions', 'ec2', 'describe-regions', '--region-names', 'mars-1'),
    fails(
      'InvalidParameterValue',
      'DescribeAccountAttributes',
      'ec2',
      'describe-account-attributes',
      '--attribute-names',
      'nope',
    ),
    fails(
      'InvalidRouteTableID.NotFound',
      'DescribeRouteTables',
      'ec2',
      'describe-route-tables',
      '--route-table-ids',
      'rtb-0123456789abcdef0',
    ),
  ])
})

test('a separate /usr/bin/aws process prints what the batched CLI prints, output and error', async () => {
  for (const args of [
    ['ec2', 'describe-security-groups', '--filters', `Name=vpc-id,Values=${vpcId}`],
    ['ec2', 'describe-network-acls', '--network-acl-ids', 'acl-0123456789abcdef0'],
  ]) {
    const [own, batched] = [await srv.aws(...args), await cli.run(...args)]
    assert.deepEqual(
      [batched.code, batched.stdout, batched.stderr],
      [own.code, own.stdout, own.stderr],
      args.join(' '),
    )
  }
})
