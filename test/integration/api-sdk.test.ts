// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * The EC2-compatible API driven by @aws-sdk/client-ec2: every action's happy path and documented
 * errors, the business rules with AWS's codes, pagination, Describe filters, tags, DryRun and
 * ClientToken idempotency. Section numbers (§) refer to shared/docs/spec-traffic-mirroring.md
 * unless marked FL (spec-flow-logs.md). Where a spec marks a code UNCONFIRMED the test accepts its
 * recommendation (and, where the EC2 error list offers an equally documented alternative, that one).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateFlowLogsCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateTrafficMirrorFilterCommand,
  CreateTrafficMirrorFilterRuleCommand,
  CreateTrafficMirrorSessionCommand,
  CreateTrafficMirrorTargetCommand,
  CreateVpcCommand,
  DeleteFlowLogsCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeleteTrafficMirrorFilterCommand,
  DeleteTrafficMirrorFilterRuleCommand,
  DeleteTrafficMirrorSessionCommand,
  DeleteTrafficMirrorTargetCommand,
  DeleteVpcCommand,
  DescribeFlowLogsCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeTrafficMirrorFilterRulesCommand,
  DescribeTrafficMirrorFiltersCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  DescribeVpcsCommand,
  ModifyTrafficMirrorFilterNetworkServicesCommand,
  ModifyTrafficMirrorFilterRuleCommand,
  ModifyTrafficMirrorSessionCommand,
  type CreateTrafficMirrorFilterRuleCommandInput,
  type ModifyTrafficMirrorSessionCommandInput,
  type ModifyTrafficMirrorFilterRuleCommandInput,
  type ModifyTrafficMirrorFilterNetworkServicesCommandInput,
  type CreateFlowLogsCommandInput,
  type DescribeTrafficMirrorFiltersCommandOutput,
  type EC2Client,
} from '@aws-sdk/client-ec2'
import {
  idPattern,
  registerInterfaceApi,
  sdkError,
  snapshot,
  startApiTestServer,
  type ApiTestServer,
  type EniJson,
} from '../helpers/api-server.ts'

let srv: ApiTestServer
let ec2: EC2Client
let vpcId: string
let subnetId: string
/** Source interfaces (12: enough to exceed the 10 sources per ENI target) and target interfaces. */
const src: EniJson[] = []
const tgtEni: EniJson[] = []

/** Asserts that `p` fails with one of `codes` (first one is the spec's) and a 4xx status. */
async function rejects(p: Promise<unknown>, codes: string | string[], status = 400): Promise<string> {
  const want = Array.isArray(codes) ? codes : [codes]
  const e = await sdkError(p)
  assert.ok(want.includes(e.code), `error code ${e.code} (${e.message}), want one of ${want.join(', ')}`)
  assert.equal(e.status, status, `HTTP status for ${e.code}`)
  return e.code
}

/** Sends each case's input with `send`, in order, and expects its error code(s) as `rejects` does. */
async function rejectsAll<I>(
  send: (input: I) => Promise<unknown>,
  cases: [I, string | string[]][],
): Promise<void> {
  for (const [input, codes] of cases) await rejects(send(input), codes)
}

async function newFilter(description?: string): Promise<string> {
  const r = await ec2.send(
    new CreateTrafficMirrorFilterCommand(description === undefined ? {} : { Description: description }),
  )
  return r.TrafficMirrorFilter!.TrafficMirrorFilterId!
}

async function newTarget(eni: string): Promise<string> {
  const r = await ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: eni }))
  return r.TrafficMirrorTarget!.TrafficMirrorTargetId!
}

function rule(
  filterId: string,
  over: Partial<CreateTrafficMirrorFilterRuleCommandInput> = {},
): CreateTrafficMirrorFilterRuleCommand {
  return new CreateTrafficMirrorFilterRuleCommand({
    TrafficMirrorFilterId: filterId,
    TrafficDirection: 'ingress',
    RuleNumber: 100,
    RuleAction: 'accept',
    SourceCidrBlock: '0.0.0.0/0',
    DestinationCidrBlock: '10.0.0.0/16',
    ...over,
  })
}

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-api-sdk' })
  ec2 = srv.ec2
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))
  vpcId = vpc.Vpc!.VpcId!
  const sub = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.1.0/24' }))
  subnetId = sub.Subnet!.SubnetId!
  // Through the admin API action (the CLI's admin command is a process start each; api-cli covers it).
  const specs = Array.from({ length: 15 }, (_, i) => ({
    subnetId,
    privateIp: `10.20.1.${10 + i}`,
    mac: `02:00:00:00:01:${(16 + i).toString(16)}`,
    instanceId: i === 0 ? 'i-0a1b2c3d4e5f60718' : undefined,
    description: `sdk-eni-${i}`,
  }))
  const out: EniJson[] = new Array(specs.length)
  let next = 0
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < specs.length) {
        const i = next++
        const s = specs[i]
        out[i] = await registerInterfaceApi(srv, {
          subnetId: s.subnetId,
          privateIp: s.privateIp,
          mac: s.mac,
          description: s.description,
          ...(s.instanceId === undefined ? {} : { instanceId: s.instanceId }),
        })
      }
    }),
  )
  src.push(...out.slice(0, 12))
  tgtEni.push(...out.slice(12))
})

after(async () => {
  await srv?.close()
})

describe('inventory: VPCs, subnets, network interfaces, instances', () => {
  test('CreateVpc / DescribeVpcs: ids, CIDR, filters', async () => {
    assert.match(vpcId, idPattern('vpc'))
    const d = await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))
    assert.equal(d.Vpcs?.length, 1)
    assert.equal(d.Vpcs![0].CidrBlock, '10.20.0.0/16')
    assert.equal(d.Vpcs![0].OwnerId, srv.accountId)
    const f = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
    assert.deepEqual(
      f.Vpcs!.map((v) => v.VpcId),
      [vpcId],
    )
  })

  test('CreateVpc errors: bad CIDR, unknown/malformed id on Describe and Delete', async () => {
    await rejects(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/33' })), 'InvalidParameterValue')
    await rejects(ec2.send(new CreateVpcCommand({ CidrBlock: 'banana' })), 'InvalidParameterValue')
    await rejects(
      ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] })),
      'InvalidVpcID.NotFound',
    )
    await rejects(ec2.send(new DeleteVpcCommand({ VpcId: 'vpc-0123456789abcdef0' })), 'InvalidVpcID.NotFound')
    await rejects(ec2.send(new DeleteVpcCommand({ VpcId: 'vpc-nothex' })), 'InvalidVpcID.Malformed')
  })

  test('CreateSubnet / DescribeSubnets / DeleteSubnet and their errors', async () => {
    assert.match(subnetId, idPattern('subnet'))
    const d = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
    assert.deepEqual(
      d.Subnets!.map((s) => [s.SubnetId, s.VpcId, s.CidrBlock]),
      [[subnetId, vpcId, '10.20.1.0/24']],
    )
    // Outside the VPC's CIDR, overlapping another subnet, unknown VPC.
    await rejects(
      ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.99.0.0/24' })),
      'InvalidSubnet.Range',
    )
    await rejects(
      ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.1.128/25' })),
      'InvalidSubnet.Conflict',
    )
    await rejects(
      ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.20.2.0/24' })),
      'InvalidVpcID.NotFound',
    )
    const extra = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.9.0/24' }))
    const del = await ec2.send(new DeleteSubnetCommand({ SubnetId: extra.Subnet!.SubnetId! }))
    assert.equal(del.$metadata.httpStatusCode, 200)
    await rejects(
      ec2.send(new DeleteSubnetCommand({ SubnetId: extra.Subnet!.SubnetId! })),
      'InvalidSubnetID.NotFound',
    )
    // A subnet with interfaces and a VPC with subnets are in use.
    await rejects(ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId })), 'DependencyViolation')
    await rejects(ec2.send(new DeleteVpcCommand({ VpcId: vpcId })), 'DependencyViolation')
    const spare = await ec2.send(new CreateVpcCommand({ CidrBlock: '172.31.0.0/16' }))
    await ec2.send(new DeleteVpcCommand({ VpcId: spare.Vpc!.VpcId! }))
    const gone = await ec2.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'vpc-id', Values: [spare.Vpc!.VpcId!] }] }),
    )
    assert.deepEqual(gone.Vpcs, [])
  })

  test('registered interfaces: DescribeNetworkInterfaces and its filters', async () => {
    const e = src[0]
    assert.match(e.NetworkInterfaceId, idPattern('eni'))
    assert.equal(e.SubnetId, subnetId)
    assert.equal(e.VpcId, vpcId)
    assert.equal(e.PrivateIpAddress, '10.20.1.10')
    assert.equal(e.MacAddress, '02:00:00:00:01:10')
    const d = await ec2.send(
      new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [e.NetworkInterfaceId] }),
    )
    assert.equal(d.NetworkInterfaces?.length, 1)
    const n = d.NetworkInterfaces![0]
    assert.equal(n.SubnetId, subnetId)
    assert.equal(n.VpcId, vpcId)
    assert.equal(n.PrivateIpAddress, '10.20.1.10')
    assert.equal(n.MacAddress, '02:00:00:00:01:10')
    assert.equal(n.Description, 'sdk-eni-0')
    assert.equal(n.Attachment?.InstanceId, 'i-0a1b2c3d4e5f60718')
    const bySubnet = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] }),
    )
    assert.equal(bySubnet.NetworkInterfaces?.length, 15)
    const byIp = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'private-ip-address', Values: ['10.20.1.11', '10.20.1.12'] }],
      }),
    )
    assert.deepEqual(byIp.NetworkInterfaces!.map((x) => x.PrivateIpAddress).sort(), [
      '10.20.1.11',
      '10.20.1.12',
    ])
    const byInst = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: ['i-0a1b2c3d4e5f60718'] }],
      }),
    )
    assert.deepEqual(
      byInst.NetworkInterfaces!.map((x) => x.NetworkInterfaceId),
      [e.NetworkInterfaceId],
    )
    await rejects(
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })),
      'InvalidNetworkInterfaceID.NotFound',
    )
    await rejects(
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-xyz'] })),
      'InvalidNetworkInterfaceId.Malformed',
    )
  })

  test('DescribeInstances shows the registered instance with its interface', async () => {
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0a1b2c3d4e5f60718'] }))
    const insts = (d.Reservations ?? []).flatMap((r) => r.Instances ?? [])
    assert.equal(insts.length, 1)
    assert.equal(insts[0].InstanceId, 'i-0a1b2c3d4e5f60718')
    assert.deepEqual(
      (insts[0].NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId),
      [src[0].NetworkInterfaceId],
    )
    const f = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ['i-0a1b2c3d4e5f60718'] }] }),
    )
    assert.equal((f.Reservations ?? []).flatMap((r) => r.Instances ?? []).length, 1)
    await rejects(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
      'InvalidInstanceID.NotFound',
    )
    await rejects(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-nothex'] })),
      'InvalidInstanceID.Malformed',
    )
  })
})

describe('inventory Describe filters with EC2 filter names', () => {
  test('VPCs, subnets, interfaces, instances, tags', async () => {
    const vpcs = async (Name: string, Values: string[]): Promise<string[]> =>
      (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name, Values }] }))).Vpcs!.map((v) => v.VpcId!)
    assert.deepEqual(await vpcs('cidr', ['10.20.0.0/16']), [vpcId])
    assert.ok((await vpcs('owner-id', [srv.accountId])).includes(vpcId))
    assert.ok((await vpcs('state', ['available'])).includes(vpcId))
    const subnets = async (Name: string, Values: string[]): Promise<string[]> =>
      (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name, Values }] }))).Subnets!.map(
        (v) => v.SubnetId!,
      )
    assert.deepEqual(await subnets('cidr-block', ['10.20.1.0/24']), [subnetId])
    assert.deepEqual(await subnets('subnet-id', [subnetId]), [subnetId])
    const enis = async (Name: string, Values: string[]): Promise<string[]> =>
      (
        await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name, Values }] }))
      ).NetworkInterfaces!.map((v) => v.NetworkInterfaceId!)
    assert.deepEqual(await enis('mac-address', ['02:00:00:00:01:10']), [src[0].NetworkInterfaceId])
    assert.deepEqual(await enis('network-interface-id', [src[1].NetworkInterfaceId]), [
      src[1].NetworkInterfaceId,
    ])
    assert.deepEqual(await enis('description', ['sdk-eni-3']), [src[3].NetworkInterfaceId])
    assert.equal((await enis('vpc-id', [vpcId])).length, 15)
    const insts = async (Name: string, Values: string[]): Promise<string[]> =>
      (
        (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name, Values }] }))).Reservations ?? []
      ).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId!))
    assert.deepEqual(await insts('vpc-id', [vpcId]), ['i-0a1b2c3d4e5f60718'])
    assert.deepEqual(await insts('subnet-id', [subnetId]), ['i-0a1b2c3d4e5f60718'])
    assert.deepEqual(await insts('instance-id', ['i-0123456789abcdef0']), [])
    await rejects(
      ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'flavour', Values: ['x'] }] })),
      'InvalidParameterValue',
    )
  })
})

describe('traffic mirror targets (§1.2, §5.3)', () => {
  test('create on an interface: shape, type, owner, tags, client token', async () => {
    const r = await ec2.send(
      new CreateTrafficMirrorTargetCommand({
        NetworkInterfaceId: tgtEni[0].NetworkInterfaceId,
        Description: 'tool A',
        TagSpecifications: [
          { ResourceType: 'traffic-mirror-target', Tags: [{ Key: 'Name', Value: 'tool-a' }] },
        ],
        ClientToken: 'sdk-target-1',
      }),
    )
    const t = r.TrafficMirrorTarget!
    assert.match(t.TrafficMirrorTargetId!, idPattern('tmt'))
    assert.equal(t.NetworkInterfaceId, tgtEni[0].NetworkInterfaceId)
    assert.equal(t.Type, 'network-interface')
    assert.equal(t.Description, 'tool A')
    assert.equal(t.OwnerId, srv.accountId)
    assert.deepEqual(t.Tags, [{ Key: 'Name', Value: 'tool-a' }])
    assert.equal(t.NetworkLoadBalancerArn, undefined)
    assert.equal(t.GatewayLoadBalancerEndpointId, undefined)
    assert.equal(r.ClientToken, 'sdk-target-1')
    const d = await ec2.send(
      new DescribeTrafficMirrorTargetsCommand({ TrafficMirrorTargetIds: [t.TrafficMirrorTargetId!] }),
    )
    assert.deepEqual(d.TrafficMirrorTargets, [t])
  })

  test('one target per interface; zero or two kinds; unknown and malformed interfaces', async () => {
    await rejects(
      ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: tgtEni[0].NetworkInterfaceId })),
      'InterfaceInUseByTrafficMirrorTarget',
    )
    // §1.2: zero or two of the three kinds: UNCONFIRMED, recommended InvalidParameterCombination or MissingParameter.
    await rejects(
      ec2.send(new CreateTrafficMirrorTargetCommand({ Description: 'nothing' })),
      'MissingParameter',
    )
    await rejects(
      ec2.send(
        new CreateTrafficMirrorTargetCommand({
          NetworkInterfaceId: tgtEni[1].NetworkInterfaceId,
          GatewayLoadBalancerEndpointId: 'vpce-0123456789abcdef0',
        }),
      ),
      'InvalidParameterCombination',
    )
    await rejects(
      ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: 'eni-0123456789abcdef0' })),
      'InvalidNetworkInterfaceID.NotFound',
    )
    await rejects(
      ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: 'eni-12' })),
      'InvalidNetworkInterfaceId.Malformed',
    )
    await rejects(
      ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkLoadBalancerArn: 'not-an-arn' })),
      'InvalidNetworkLoadBalancerArn.Malformed',
    )
  })

  test('delete: returns the id; unknown and malformed ids', async () => {
    const id = await newTarget(tgtEni[2].NetworkInterfaceId)
    const r = await ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: id }))
    assert.equal(r.TrafficMirrorTargetId, id)
    await rejects(
      ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: id })),
      'InvalidTrafficMirrorTargetId.NotFound',
    )
    await rejects(
      ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: 'tmt-zz' })),
      'InvalidTrafficMirrorTargetId.Malformed',
    )
    await rejects(
      ec2.send(new DescribeTrafficMirrorTargetsCommand({ TrafficMirrorTargetIds: [id] })),
      'InvalidTrafficMirrorTargetId.NotFound',
    )
  })
})

describe('traffic mirror filters and rules (§1.3, §1.4, §5.3)', () => {
  test('a new filter is empty; network services add and remove amazon-dns', async () => {
    const r = await ec2.send(
      new CreateTrafficMirrorFilterCommand({
        Description: 'web',
        TagSpecifications: [{ ResourceType: 'traffic-mirror-filter', Tags: [{ Key: 'env', Value: 'test' }] }],
      }),
    )
    const f = r.TrafficMirrorFilter!
    assert.match(f.TrafficMirrorFilterId!, idPattern('tmf'))
    assert.deepEqual(f.IngressFilterRules, [])
    assert.deepEqual(f.EgressFilterRules, [])
    assert.deepEqual(f.NetworkServices, [])
    assert.equal(f.Description, 'web')
    assert.deepEqual(f.Tags, [{ Key: 'env', Value: 'test' }])
    assert.equal(typeof r.ClientToken, 'string')
    const add = await ec2.send(
      new ModifyTrafficMirrorFilterNetworkServicesCommand({
        TrafficMirrorFilterId: f.TrafficMirrorFilterId!,
        AddNetworkServices: ['amazon-dns'],
      }),
    )
    assert.deepEqual(add.TrafficMirrorFilter!.NetworkServices, ['amazon-dns'])
    assert.equal(add.TrafficMirrorFilter!.TrafficMirrorFilterId, f.TrafficMirrorFilterId)
    const rm = await ec2.send(
      new ModifyTrafficMirrorFilterNetworkServicesCommand({
        TrafficMirrorFilterId: f.TrafficMirrorFilterId!,
        RemoveNetworkServices: ['amazon-dns'],
      }),
    )
    assert.deepEqual(rm.TrafficMirrorFilter!.NetworkServices, [])
    await rejectsAll(
      (i: ModifyTrafficMirrorFilterNetworkServicesCommandInput) =>
        ec2.send(new ModifyTrafficMirrorFilterNetworkServicesCommand(i)),
      [
        [
          {
            TrafficMirrorFilterId: f.TrafficMirrorFilterId!,
            AddNetworkServices: ['amazon-ntp' as 'amazon-dns'],
          },
          'InvalidParameterValue',
        ],
        [
          { TrafficMirrorFilterId: 'tmf-0123456789abcdef0', AddNetworkServices: ['amazon-dns'] },
          'InvalidTrafficMirrorFilterId.NotFound',
        ],
      ],
    )
    const del = await ec2.send(
      new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: f.TrafficMirrorFilterId! }),
    )
    assert.equal(del.TrafficMirrorFilterId, f.TrafficMirrorFilterId)
    await rejects(
      ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: f.TrafficMirrorFilterId! })),
      'InvalidTrafficMirrorFilterId.NotFound',
    )
    await rejects(
      ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: 'tmf-NOPE' })),
      'InvalidTrafficMirrorFilterId.Malformed',
    )
  })

  test('rules: shape, placement by direction, omitted unset fields', async () => {
    const fid = await newFilter('rules')
    const r = await ec2.send(
      rule(fid, {
        RuleNumber: 10,
        Protocol: 6,
        DestinationPortRange: { FromPort: 443, ToPort: 443 },
        SourcePortRange: { FromPort: 1024, ToPort: 65535 },
        Description: 'https',
      }),
    )
    const x = r.TrafficMirrorFilterRule!
    assert.match(x.TrafficMirrorFilterRuleId!, idPattern('tmfr'))
    assert.deepEqual(
      { ...x, TrafficMirrorFilterRuleId: 'ID' },
      {
        TrafficMirrorFilterRuleId: 'ID',
        TrafficMirrorFilterId: fid,
        TrafficDirection: 'ingress',
        RuleNumber: 10,
        RuleAction: 'accept',
        Protocol: 6,
        DestinationPortRange: { FromPort: 443, ToPort: 443 },
        SourcePortRange: { FromPort: 1024, ToPort: 65535 },
        DestinationCidrBlock: '10.0.0.0/16',
        SourceCidrBlock: '0.0.0.0/0',
        Description: 'https',
        ...(x.Tags === undefined ? {} : { Tags: [] }),
      },
    )
    // All protocols: protocol, ports and description are left out (§1.4.1, §5.6 rule 4).
    const all = await ec2.send(
      rule(fid, {
        TrafficDirection: 'egress',
        RuleNumber: 10,
        RuleAction: 'reject',
        SourceCidrBlock: '::/0',
        DestinationCidrBlock: '::/0',
      }),
    )
    const a = all.TrafficMirrorFilterRule!
    assert.equal(a.Protocol, undefined)
    assert.equal(a.DestinationPortRange, undefined)
    assert.equal(a.SourcePortRange, undefined)
    assert.equal(a.Description, undefined)
    const d = await ec2.send(new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [fid] }))
    const f = d.TrafficMirrorFilters![0]
    assert.deepEqual(
      f.IngressFilterRules!.map((y) => y.TrafficMirrorFilterRuleId),
      [x.TrafficMirrorFilterRuleId],
    )
    assert.deepEqual(
      f.EgressFilterRules!.map((y) => y.TrafficMirrorFilterRuleId),
      [a.TrafficMirrorFilterRuleId],
    )
  })

  test('rules are listed in rule-number order', async () => {
    const fid = await newFilter('order')
    for (const n of [300, 100, 200]) await ec2.send(rule(fid, { RuleNumber: n }))
    const d = await ec2.send(new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [fid] }))
    assert.deepEqual(
      d.TrafficMirrorFilters![0].IngressFilterRules!.map((y) => y.RuleNumber),
      [100, 200, 300],
    )
  })

  test('rule number unique per (filter, direction); 10 rules per filter', async () => {
    const fid = await newFilter('quota')
    await ec2.send(rule(fid, { RuleNumber: 1 }))
    await rejects(ec2.send(rule(fid, { RuleNumber: 1 })), 'TrafficMirrorFilterRuleAlreadyExists')
    await ec2.send(rule(fid, { RuleNumber: 1, TrafficDirection: 'egress' }))
    for (let n = 2; n <= 9; n++) await ec2.send(rule(fid, { RuleNumber: n }))
    // 10 rules now (9 ingress + 1 egress): the 11th, in either direction, is over the quota (§3: 10 in total).
    await rejects(ec2.send(rule(fid, { RuleNumber: 50 })), 'TrafficMirrorFilterRuleLimitExceeded')
    await rejects(
      ec2.send(rule(fid, { RuleNumber: 50, TrafficDirection: 'egress' })),
      'TrafficMirrorFilterRuleLimitExceeded',
    )
    const d = await ec2.send(new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [fid] }))
    const f = d.TrafficMirrorFilters![0]
    assert.equal(f.IngressFilterRules!.length + f.EgressFilterRules!.length, 10)
  })

  test('rule validation: families, ports without TCP/UDP, enums, ranges (§1.4.1, §7.9)', async () => {
    const fid = await newFilter('validation')
    const bad = 'InvalidParameterValue'
    const badOrCombo = 'InvalidParameterValue'
    await rejects(
      ec2.send(rule(fid, { SourceCidrBlock: '::/0', DestinationCidrBlock: '10.0.0.0/8' })),
      badOrCombo,
    )
    await rejects(
      ec2.send(rule(fid, { Protocol: 1, DestinationPortRange: { FromPort: 80, ToPort: 80 } })),
      badOrCombo,
    )
    await rejects(ec2.send(rule(fid, { SourcePortRange: { FromPort: 80, ToPort: 80 } })), badOrCombo)
    await rejects(ec2.send(rule(fid, { TrafficDirection: 'both' as 'ingress' })), bad)
    await rejects(ec2.send(rule(fid, { RuleAction: 'drop' as 'accept' })), bad)
    await rejects(ec2.send(rule(fid, { RuleNumber: 0 })), bad)
    await rejects(ec2.send(rule(fid, { RuleNumber: 32767 })), bad)
    await rejects(ec2.send(rule(fid, { Protocol: 256 })), bad)
    await rejects(
      ec2.send(rule(fid, { Protocol: 6, DestinationPortRange: { FromPort: 0, ToPort: 65536 } })),
      bad,
    )
    await rejects(
      ec2.send(rule(fid, { Protocol: 6, DestinationPortRange: { FromPort: 90, ToPort: 80 } })),
      bad,
    )
    await rejects(ec2.send(rule(fid, { SourceCidrBlock: '10.0.0.0/33' })), bad)
    await rejects(ec2.send(rule(fid, { SourceCidrBlock: '300.1.1.1/32' })), bad)
    await rejects(ec2.send(rule(fid, { DestinationCidrBlock: 'everything' })), bad)
    await rejects(ec2.send(rule('tmf-0123456789abcdef0')), 'InvalidTrafficMirrorFilterId.NotFound')
    await rejects(ec2.send(rule('tmf-abc')), 'InvalidTrafficMirrorFilterId.Malformed')
    const d = await ec2.send(new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [fid] }))
    assert.deepEqual(d.TrafficMirrorFilters![0].IngressFilterRules, [])
    // UDP with ports and a port-0 range are fine.
    const ok = await ec2.send(rule(fid, { Protocol: 17, SourcePortRange: { FromPort: 0, ToPort: 0 } }))
    assert.deepEqual(ok.TrafficMirrorFilterRule!.SourcePortRange, { FromPort: 0, ToPort: 0 })
  })

  test('ModifyTrafficMirrorFilterRule: fields, RemoveField, direction move, conflicts', async () => {
    const fid = await newFilter('modify')
    const r1 = (
      await ec2.send(
        rule(fid, {
          RuleNumber: 10,
          Protocol: 6,
          DestinationPortRange: { FromPort: 80, ToPort: 80 },
          Description: 'http',
        }),
      )
    ).TrafficMirrorFilterRule!
    await ec2.send(rule(fid, { RuleNumber: 20, TrafficDirection: 'egress' }))
    const m = await ec2.send(
      new ModifyTrafficMirrorFilterRuleCommand({
        TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId!,
        RuleAction: 'reject',
        DestinationPortRange: { FromPort: 8080, ToPort: 8081 },
        SourceCidrBlock: '192.168.0.0/16',
      }),
    )
    const y = m.TrafficMirrorFilterRule!
    assert.equal(y.TrafficMirrorFilterRuleId, r1.TrafficMirrorFilterRuleId)
    assert.equal(y.RuleAction, 'reject')
    assert.deepEqual(y.DestinationPortRange, { FromPort: 8080, ToPort: 8081 })
    assert.equal(y.SourceCidrBlock, '192.168.0.0/16')
    assert.equal(y.Protocol, 6)
    assert.equal(y.Description, 'http')
    const cleared = await ec2.send(
      new ModifyTrafficMirrorFilterRuleCommand({
        TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId!,
        RemoveFields: ['destination-port-range', 'protocol', 'description'],
      }),
    )
    assert.equal(cleared.TrafficMirrorFilterRule!.Protocol, undefined)
    assert.equal(cleared.TrafficMirrorFilterRule!.DestinationPortRange, undefined)
    assert.equal(cleared.TrafficMirrorFilterRule!.Description, undefined)
    // Moving it to egress as number 20 collides with the egress rule 20.
    await rejects(
      ec2.send(
        new ModifyTrafficMirrorFilterRuleCommand({
          TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId!,
          TrafficDirection: 'egress',
          RuleNumber: 20,
        }),
      ),
      'TrafficMirrorFilterRuleAlreadyExists',
    )
    const moved = await ec2.send(
      new ModifyTrafficMirrorFilterRuleCommand({
        TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId!,
        TrafficDirection: 'egress',
      }),
    )
    assert.equal(moved.TrafficMirrorFilterRule!.TrafficDirection, 'egress')
    const d = await ec2.send(new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [fid] }))
    assert.deepEqual(d.TrafficMirrorFilters![0].IngressFilterRules, [])
    assert.deepEqual(
      d.TrafficMirrorFilters![0].EgressFilterRules!.map((z) => z.RuleNumber),
      [10, 20],
    )
    // The two CIDRs must stay in one family; bad enums; unknown rule.
    await rejectsAll(
      (i: ModifyTrafficMirrorFilterRuleCommandInput) => ec2.send(new ModifyTrafficMirrorFilterRuleCommand(i)),
      [
        [
          { TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId!, SourceCidrBlock: '::/0' },
          'InvalidParameterValue',
        ],
        [
          { TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId!, RemoveFields: ['cidr' as 'protocol'] },
          'InvalidParameterValue',
        ],
        [
          { TrafficMirrorFilterRuleId: 'tmfr-0123456789abcdef0', RuleAction: 'accept' },
          'InvalidTrafficMirrorFilterRuleId.NotFound',
        ],
      ],
    )
    const del = await ec2.send(
      new DeleteTrafficMirrorFilterRuleCommand({ TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId! }),
    )
    assert.equal(del.TrafficMirrorFilterRuleId, r1.TrafficMirrorFilterRuleId)
    await rejects(
      ec2.send(
        new DeleteTrafficMirrorFilterRuleCommand({
          TrafficMirrorFilterRuleId: r1.TrafficMirrorFilterRuleId!,
        }),
      ),
      'InvalidTrafficMirrorFilterRuleId.NotFound',
    )
    await rejects(
      ec2.send(new DeleteTrafficMirrorFilterRuleCommand({ TrafficMirrorFilterRuleId: 'tmfr-x' })),
      'InvalidTrafficMirrorFilterRuleId.Malformed',
    )
  })

  test('DescribeTrafficMirrorFilterRules: by filter, by id, filter names (§5.4)', async () => {
    const fid = await newFilter('describe-rules')
    const a = (await ec2.send(rule(fid, { RuleNumber: 1, Protocol: 6 }))).TrafficMirrorFilterRule!
    const b = (await ec2.send(rule(fid, { RuleNumber: 2, RuleAction: 'reject', TrafficDirection: 'egress' })))
      .TrafficMirrorFilterRule!
    const all = await ec2.send(new DescribeTrafficMirrorFilterRulesCommand({ TrafficMirrorFilterId: fid }))
    assert.deepEqual(
      all.TrafficMirrorFilterRules!.map((r) => r.TrafficMirrorFilterRuleId).sort(),
      [a, b].map((r) => r.TrafficMirrorFilterRuleId).sort(),
    )
    const byId = await ec2.send(
      new DescribeTrafficMirrorFilterRulesCommand({
        TrafficMirrorFilterRuleIds: [b.TrafficMirrorFilterRuleId!],
      }),
    )
    assert.deepEqual(
      byId.TrafficMirrorFilterRules!.map((r) => r.RuleAction),
      ['reject'],
    )
    for (const [name, value, want] of [
      ['rule-action', 'reject', b],
      ['traffic-direction', 'ingress', a],
      ['protocol', '6', a],
      ['rule-number', '2', b],
    ] as const) {
      const r = await ec2.send(
        new DescribeTrafficMirrorFilterRulesCommand({
          TrafficMirrorFilterId: fid,
          Filters: [{ Name: name, Values: [value] }],
        }),
      )
      assert.deepEqual(
        r.TrafficMirrorFilterRules!.map((x) => x.TrafficMirrorFilterRuleId),
        [want.TrafficMirrorFilterRuleId],
        name,
      )
    }
  })
})

describe('traffic mirror sessions (§1.5, §3, §5.3)', () => {
  let target: string
  let filter: string
  before(async () => {
    target = await newTarget(tgtEni[1].NetworkInterfaceId)
    filter = await newFilter('sessions')
  })

  const session = (
    eni: string,
    n: number,
    extra: Partial<{
      PacketLength: number
      VirtualNetworkId: number
      Description: string
      TrafficMirrorTargetId: string
      TrafficMirrorFilterId: string
    }> = {},
  ): CreateTrafficMirrorSessionCommand =>
    new CreateTrafficMirrorSessionCommand({
      NetworkInterfaceId: eni,
      TrafficMirrorTargetId: target,
      TrafficMirrorFilterId: filter,
      SessionNumber: n,
      ...extra,
    })

  test('create: shape, VNI given or assigned (24-bit, unique), packet length omitted when unset', async () => {
    const r = await ec2.send(
      session(src[0].NetworkInterfaceId, 1, {
        PacketLength: 128,
        VirtualNetworkId: 5569041,
        Description: 'first',
      }),
    )
    const s = r.TrafficMirrorSession!
    assert.match(s.TrafficMirrorSessionId!, idPattern('tms'))
    assert.equal(s.NetworkInterfaceId, src[0].NetworkInterfaceId)
    assert.equal(s.TrafficMirrorTargetId, target)
    assert.equal(s.TrafficMirrorFilterId, filter)
    assert.equal(s.OwnerId, srv.accountId)
    assert.equal(s.PacketLength, 128)
    assert.equal(s.SessionNumber, 1)
    assert.equal(s.VirtualNetworkId, 5569041)
    assert.equal(s.Description, 'first')
    assert.deepEqual(s.Tags, [])
    const a = (await ec2.send(session(src[0].NetworkInterfaceId, 2))).TrafficMirrorSession!
    const b = (await ec2.send(session(src[1].NetworkInterfaceId, 1))).TrafficMirrorSession!
    for (const x of [a, b]) {
      assert.equal(x.PacketLength, undefined)
      assert.equal(x.Description, undefined)
      assert.ok(
        Number.isInteger(x.VirtualNetworkId) && x.VirtualNetworkId! >= 0 && x.VirtualNetworkId! < 2 ** 24,
      )
    }
    assert.notEqual(a.VirtualNetworkId, b.VirtualNetworkId)
    assert.notEqual(a.VirtualNetworkId, 5569041)
  })

  test('3 sessions per source; a target cannot be a source; session number unique per source', async () => {
    await ec2.send(session(src[0].NetworkInterfaceId, 3))
    await rejects(
      ec2.send(session(src[0].NetworkInterfaceId, 4)),
      'TrafficMirrorSessionsPerInterfaceLimitExceeded',
    )
    await rejects(ec2.send(session(tgtEni[1].NetworkInterfaceId, 1)), 'InterfaceInUseByTrafficMirrorTarget')
    await rejects(ec2.send(session(src[1].NetworkInterfaceId, 1)), 'InvalidParameterValue')
    // A session source cannot become a target either (§1.2).
    await rejects(
      ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: src[0].NetworkInterfaceId })),
      'InterfaceInUseByTrafficMirrorSession',
    )
  })

  test('ranges and references: session number, packet length, VNI, unknown ids', async () => {
    const e = src[2].NetworkInterfaceId
    await rejects(ec2.send(session(e, 0)), 'InvalidParameterValue')
    await rejects(ec2.send(session(e, 32767)), 'InvalidParameterValue')
    await rejects(ec2.send(session(e, 1, { PacketLength: 8501 })), 'InvalidParameterValue')
    await rejects(ec2.send(session(e, 1, { PacketLength: 0 })), 'InvalidParameterValue')
    await rejects(ec2.send(session(e, 1, { VirtualNetworkId: 16777216 })), 'InvalidParameterValue')
    await rejects(
      ec2.send(session(e, 1, { TrafficMirrorTargetId: 'tmt-0123456789abcdef0' })),
      'InvalidTrafficMirrorTargetId.NotFound',
    )
    await rejects(
      ec2.send(session(e, 1, { TrafficMirrorFilterId: 'tmf-0123456789abcdef0' })),
      'InvalidTrafficMirrorFilterId.NotFound',
    )
    await rejects(ec2.send(session('eni-0123456789abcdef0', 1)), 'InvalidNetworkInterfaceID.NotFound')
    await rejects(ec2.send(session('eni-short', 1)), 'InvalidNetworkInterfaceId.Malformed')
    // Boundaries are accepted (§7.4: PacketLength 1–8500; §7.3: VNI up to 2^24 − 1).
    const ok = (await ec2.send(session(e, 32766, { PacketLength: 8500, VirtualNetworkId: 16777215 })))
      .TrafficMirrorSession!
    assert.equal(ok.SessionNumber, 32766)
    const low = (await ec2.send(session(e, 1, { PacketLength: 1 }))).TrafficMirrorSession!
    assert.equal(low.PacketLength, 1)
    for (const x of [ok, low])
      await ec2.send(
        new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: x.TrafficMirrorSessionId! }),
      )
  })

  test('10 sources per interface target (§3)', async () => {
    const t = await newTarget(tgtEni[2].NetworkInterfaceId)
    const made: string[] = []
    // src[0] already has 3 sessions: use src[1..10], then src[11] is the 11th source.
    for (let i = 1; i <= 10; i++) {
      const r = await ec2.send(session(src[i].NetworkInterfaceId, 100, { TrafficMirrorTargetId: t }))
      made.push(r.TrafficMirrorSession!.TrafficMirrorSessionId!)
    }
    await rejects(
      ec2.send(session(src[11].NetworkInterfaceId, 100, { TrafficMirrorTargetId: t })),
      'TrafficMirrorSourcesPerTargetLimitExceeded',
    )
    for (const id of made)
      await ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: id }))
    await ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: t }))
  })

  test('in-use deletes: target and filter of a session (§5.3)', async () => {
    await rejects(
      ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: target })),
      'TrafficMirrorTargetInUseException',
    )
    await rejects(
      ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: filter })),
      'TrafficMirrorFilterInUse',
    )
  })

  test('ModifyTrafficMirrorSession: fields, RemoveField, errors', async () => {
    const s = (
      await ec2.send(
        session(src[3].NetworkInterfaceId, 7, {
          PacketLength: 100,
          Description: 'mod',
          VirtualNetworkId: 77,
        }),
      )
    ).TrafficMirrorSession!
    const filter2 = await newFilter('second')
    const m = await ec2.send(
      new ModifyTrafficMirrorSessionCommand({
        TrafficMirrorSessionId: s.TrafficMirrorSessionId!,
        TrafficMirrorFilterId: filter2,
        SessionNumber: 8,
        PacketLength: 200,
      }),
    )
    const y = m.TrafficMirrorSession!
    assert.equal(y.TrafficMirrorFilterId, filter2)
    assert.equal(y.SessionNumber, 8)
    assert.equal(y.PacketLength, 200)
    assert.equal(y.VirtualNetworkId, 77)
    assert.equal(y.NetworkInterfaceId, src[3].NetworkInterfaceId)
    const cleared = await ec2.send(
      new ModifyTrafficMirrorSessionCommand({
        TrafficMirrorSessionId: s.TrafficMirrorSessionId!,
        RemoveFields: ['packet-length', 'description'],
      }),
    )
    assert.equal(cleared.TrafficMirrorSession!.PacketLength, undefined)
    assert.equal(cleared.TrafficMirrorSession!.Description, undefined)
    const d = await ec2.send(
      new DescribeTrafficMirrorSessionsCommand({ TrafficMirrorSessionIds: [s.TrafficMirrorSessionId!] }),
    )
    assert.deepEqual(d.TrafficMirrorSessions, [cleared.TrafficMirrorSession])
    await rejectsAll(
      (i: ModifyTrafficMirrorSessionCommandInput) => ec2.send(new ModifyTrafficMirrorSessionCommand(i)),
      [
        [
          {
            TrafficMirrorSessionId: s.TrafficMirrorSessionId!,
            TrafficMirrorTargetId: 'tmt-0123456789abcdef0',
          },
          'InvalidTrafficMirrorTargetId.NotFound',
        ],
        [{ TrafficMirrorSessionId: s.TrafficMirrorSessionId!, PacketLength: 9000 }, 'InvalidParameterValue'],
        [
          {
            TrafficMirrorSessionId: s.TrafficMirrorSessionId!,
            RemoveFields: ['session-number' as 'description'],
          },
          'InvalidParameterValue',
        ],
        [
          { TrafficMirrorSessionId: 'tms-0123456789abcdef0', SessionNumber: 1 },
          'InvalidTrafficMirrorSessionId.NotFound',
        ],
      ],
    )
    const del = await ec2.send(
      new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: s.TrafficMirrorSessionId! }),
    )
    assert.equal(del.TrafficMirrorSessionId, s.TrafficMirrorSessionId)
    await rejects(
      ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: s.TrafficMirrorSessionId! })),
      'InvalidTrafficMirrorSessionId.NotFound',
    )
    await rejects(
      ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: 'tms-1' })),
      'InvalidTrafficMirrorSessionId.Malformed',
    )
    await ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: filter2 }))
  })

  test('Describe filters: names ANDed, values ORed, unknown name rejected (§5.4)', async () => {
    const sess = async (filters: { Name: string; Values: string[] }[]): Promise<string[]> => {
      const r = await ec2.send(new DescribeTrafficMirrorSessionsCommand({ Filters: filters }))
      return r
        .TrafficMirrorSessions!.map(
          (s) => `${s.NetworkInterfaceId === src[0].NetworkInterfaceId ? 'src0' : 'src1'}#${s.SessionNumber}`,
        )
        .sort()
    }
    const both = [src[0].NetworkInterfaceId, src[1].NetworkInterfaceId]
    assert.deepEqual(await sess([{ Name: 'network-interface-id', Values: both }]), [
      'src0#1',
      'src0#2',
      'src0#3',
      'src1#1',
    ])
    assert.deepEqual(
      await sess([
        { Name: 'network-interface-id', Values: both },
        { Name: 'session-number', Values: ['1', '3'] },
      ]),
      ['src0#1', 'src0#3', 'src1#1'],
    )
    assert.deepEqual(await sess([{ Name: 'virtual-network-id', Values: ['5569041'] }]), ['src0#1'])
    assert.deepEqual(await sess([{ Name: 'packet-length', Values: ['128'] }]), ['src0#1'])
    assert.deepEqual(await sess([{ Name: 'description', Values: ['first'] }]), ['src0#1'])
    assert.deepEqual(
      await sess([
        { Name: 'traffic-mirror-target-id', Values: [target] },
        { Name: 'network-interface-id', Values: [src[1].NetworkInterfaceId] },
      ]),
      ['src1#1'],
    )
    assert.deepEqual(await sess([{ Name: 'owner-id', Values: ['000000000000'] }]), [])
    const tg = await ec2.send(
      new DescribeTrafficMirrorTargetsCommand({
        Filters: [{ Name: 'network-interface-id', Values: [tgtEni[1].NetworkInterfaceId] }],
      }),
    )
    assert.deepEqual(
      tg.TrafficMirrorTargets!.map((t) => t.TrafficMirrorTargetId),
      [target],
    )
    const fl = await ec2.send(
      new DescribeTrafficMirrorFiltersCommand({ Filters: [{ Name: 'description', Values: ['sessions'] }] }),
    )
    assert.deepEqual(
      fl.TrafficMirrorFilters!.map((f) => f.TrafficMirrorFilterId),
      [filter],
    )
    await rejects(
      ec2.send(new DescribeTrafficMirrorSessionsCommand({ Filters: [{ Name: 'colour', Values: ['blue'] }] })),
      'InvalidParameterValue',
    )
  })
})

describe('pagination (§5.4)', () => {
  test('MaxResults/NextToken walk every filter exactly once; bounds; bad token', async () => {
    for (let i = 0; i < 12; i++) await newFilter(`page-${i}`)
    const all = await ec2.send(new DescribeTrafficMirrorFiltersCommand({}))
    assert.equal(all.NextToken, undefined)
    const seen: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const r: DescribeTrafficMirrorFiltersCommandOutput = await ec2.send(
        new DescribeTrafficMirrorFiltersCommand({
          MaxResults: 5,
          ...(token === undefined ? {} : { NextToken: token }),
        }),
      )
      assert.ok(r.TrafficMirrorFilters!.length <= 5)
      seen.push(...r.TrafficMirrorFilters!.map((f) => f.TrafficMirrorFilterId!))
      token = r.NextToken
      pages++
      assert.ok(pages < 100, 'pagination does not end')
    } while (token !== undefined)
    assert.equal(new Set(seen).size, seen.length, 'a filter was returned twice')
    assert.deepEqual([...seen].sort(), all.TrafficMirrorFilters!.map((f) => f.TrafficMirrorFilterId!).sort())
    assert.ok(pages >= 3)
    // With a filter, pagination applies to the matching set.
    const page = await ec2.send(
      new DescribeTrafficMirrorFiltersCommand({
        MaxResults: 5,
        Filters: [{ Name: 'description', Values: Array.from({ length: 12 }, (_, i) => `page-${i}`) }],
      }),
    )
    assert.equal(page.TrafficMirrorFilters!.length, 5)
    assert.ok(page.NextToken)
    const maxCodes = 'InvalidParameterValue'
    await rejects(ec2.send(new DescribeTrafficMirrorFiltersCommand({ MaxResults: 4 })), maxCodes)
    await rejects(ec2.send(new DescribeTrafficMirrorFiltersCommand({ MaxResults: 1001 })), maxCodes)
    await rejects(ec2.send(new DescribeTrafficMirrorSessionsCommand({ MaxResults: 0 })), maxCodes)
    await rejects(
      ec2.send(new DescribeTrafficMirrorTargetsCommand({ NextToken: 'garbage!!' })),
      'InvalidNextToken',
    )
    // A token of one action is not valid for another.
    await rejects(
      ec2.send(new DescribeTrafficMirrorSessionsCommand({ NextToken: page.NextToken! })),
      'InvalidNextToken',
    )
    const last = await ec2.send(new DescribeTrafficMirrorFiltersCommand({ MaxResults: 1000 }))
    assert.equal(last.NextToken, undefined)
  })
})

describe('pagination on every Describe', () => {
  test('MaxResults 5 pages cover exactly the unpaged result, for each Describe action', async () => {
    // A few more VPCs and rules so that most actions have more than one page.
    for (let i = 0; i < 6; i++) await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${150 + i}.0.0/16` }))
    const fid = await newFilter('paged-rules')
    for (let n = 1; n <= 7; n++) await ec2.send(rule(fid, { RuleNumber: n }))
    type Page = { NextToken?: string | undefined } & Record<string, unknown>
    const table: [
      string,
      (t: { MaxResults?: number; NextToken?: string }) => Promise<object>,
      string,
      string,
    ][] = [
      ['DescribeVpcs', (t) => ec2.send(new DescribeVpcsCommand(t)), 'Vpcs', 'VpcId'],
      ['DescribeSubnets', (t) => ec2.send(new DescribeSubnetsCommand(t)), 'Subnets', 'SubnetId'],
      [
        'DescribeNetworkInterfaces',
        (t) => ec2.send(new DescribeNetworkInterfacesCommand(t)),
        'NetworkInterfaces',
        'NetworkInterfaceId',
      ],
      [
        'DescribeTrafficMirrorTargets',
        (t) => ec2.send(new DescribeTrafficMirrorTargetsCommand(t)),
        'TrafficMirrorTargets',
        'TrafficMirrorTargetId',
      ],
      [
        'DescribeTrafficMirrorSessions',
        (t) => ec2.send(new DescribeTrafficMirrorSessionsCommand(t)),
        'TrafficMirrorSessions',
        'TrafficMirrorSessionId',
      ],
      [
        'DescribeTrafficMirrorFilterRules',
        (t) => ec2.send(new DescribeTrafficMirrorFilterRulesCommand({ ...t, TrafficMirrorFilterId: fid })),
        'TrafficMirrorFilterRules',
        'TrafficMirrorFilterRuleId',
      ],
      ['DescribeFlowLogs', (t) => ec2.send(new DescribeFlowLogsCommand(t)), 'FlowLogs', 'FlowLogId'],
      ['DescribeTags', (t) => ec2.send(new DescribeTagsCommand(t)), 'Tags', 'ResourceId'],
    ]
    for (const [name, call, listKey, idKey] of table) {
      const key = (x: Record<string, string>): string =>
        name === 'DescribeTags' ? `${x.ResourceId}/${x.Key}` : x[idKey]
      const all = (((await call({})) as Page)[listKey] as Record<string, string>[]).map(key).sort()
      const seen: string[] = []
      let token: string | undefined
      let pages = 0
      do {
        const page = (await call({
          MaxResults: 5,
          ...(token === undefined ? {} : { NextToken: token }),
        })) as Page
        const items = page[listKey] as Record<string, string>[]
        assert.ok(items.length <= 5, `${name}: page of ${items.length}`)
        seen.push(...items.map(key))
        token = page.NextToken
        assert.ok(++pages <= 100, `${name}: pagination does not end`)
      } while (token !== undefined)
      assert.deepEqual([...seen].sort(), all, `${name}: pages differ from the unpaged result`)
      if (all.length > 5) assert.ok(pages >= 2, `${name}: ${all.length} items in one page of MaxResults 5`)
    }
  })
})

describe('tags (§5.5)', () => {
  test('CreateTags / DescribeTags / DeleteTags on mirroring resources', async () => {
    const fid = await newFilter('tags')
    await ec2.send(
      new CreateTagsCommand({
        Resources: [fid],
        Tags: [
          { Key: 'team', Value: 'sec' },
          { Key: 'Name', Value: 'f1' },
        ],
      }),
    )
    const d = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [fid] }] }))
    assert.deepEqual(
      [...d.Tags!].sort((a, b) => a.Key!.localeCompare(b.Key!)),
      [
        { Key: 'Name', ResourceId: fid, ResourceType: 'traffic-mirror-filter', Value: 'f1' },
        { Key: 'team', ResourceId: fid, ResourceType: 'traffic-mirror-filter', Value: 'sec' },
      ],
    )
    const f = await ec2.send(new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [fid] }))
    assert.equal(f.TrafficMirrorFilters![0].Tags!.length, 2)
    const byKey = await ec2.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: 'key', Values: ['team'] },
          { Name: 'resource-type', Values: ['traffic-mirror-filter'] },
        ],
      }),
    )
    assert.ok(byKey.Tags!.some((t) => t.ResourceId === fid))
    assert.ok(byKey.Tags!.every((t) => t.Key === 'team'))
    // Overwrite a value; delete with a non-matching value is a no-op; delete by key alone removes it.
    await ec2.send(new CreateTagsCommand({ Resources: [fid], Tags: [{ Key: 'team', Value: 'net' }] }))
    await ec2.send(new DeleteTagsCommand({ Resources: [fid], Tags: [{ Key: 'team', Value: 'sec' }] }))
    let now = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [fid] }] }))
    assert.deepEqual(now.Tags!.map((t) => `${t.Key}=${t.Value}`).sort(), ['Name=f1', 'team=net'])
    await ec2.send(new DeleteTagsCommand({ Resources: [fid], Tags: [{ Key: 'team' }] }))
    now = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [fid] }] }))
    assert.deepEqual(
      now.Tags!.map((t) => t.Key),
      ['Name'],
    )
  })

  test('tag errors: aws: prefix, long keys, 50-tag limit, wrong TagSpecification type, unknown resource', async () => {
    const fid = await newFilter('tag-errors')
    await rejects(
      ec2.send(new CreateTagsCommand({ Resources: [fid], Tags: [{ Key: 'aws:x', Value: 'y' }] })),
      'InvalidParameterValue',
    )
    // Keys of up to 128 characters, counted in code points (issue 9 item 17).
    const long = await newFilter('tag-128')
    await ec2.send(
      new CreateTagsCommand({ Resources: [long], Tags: [{ Key: '😀'.repeat(128), Value: 'y' }] }),
    )
    await rejects(
      ec2.send(new CreateTagsCommand({ Resources: [fid], Tags: [{ Key: 'k'.repeat(129), Value: 'y' }] })),
      'InvalidParameterValue',
    )
    await rejects(
      ec2.send(new CreateTagsCommand({ Resources: [fid], Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })),
      'InvalidParameterValue',
    )
    await rejects(
      ec2.send(
        new CreateTagsCommand({
          Resources: [fid],
          Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
        }),
      ),
      'TagLimitExceeded',
    )
    await rejects(
      ec2.send(
        new CreateTrafficMirrorFilterCommand({
          TagSpecifications: [{ ResourceType: 'traffic-mirror-session', Tags: [{ Key: 'a', Value: 'b' }] }],
        }),
      ),
      'InvalidParameterValue',
    )
    await rejects(
      ec2.send(
        new CreateTagsCommand({ Resources: ['tmf-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] }),
      ),
      'InvalidTrafficMirrorFilterId.NotFound',
    )
    await rejects(
      ec2.send(new CreateTagsCommand({ Resources: ['bogus-123'], Tags: [{ Key: 'a', Value: 'b' }] })),
      'InvalidID',
    )
    const d = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [fid] }] }))
    assert.deepEqual(d.Tags, [])
  })

  test('TagSpecification on every create and tag: filters on VPCs and flow logs', async () => {
    const tg = (
      type: string,
    ): { TagSpecifications: { ResourceType: never; Tags: { Key: string; Value: string }[] }[] } => ({
      TagSpecifications: [{ ResourceType: type as never, Tags: [{ Key: 'Name', Value: type }] }],
    })
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16', ...tg('vpc') }))
    assert.deepEqual(vpc.Vpc!.Tags, [{ Key: 'Name', Value: 'vpc' }])
    const sub = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.77.0.0/24', ...tg('subnet') }),
    )
    assert.deepEqual(sub.Subnet!.Tags, [{ Key: 'Name', Value: 'subnet' }])
    const f = await ec2.send(new CreateTrafficMirrorFilterCommand(tg('traffic-mirror-filter')))
    const r = await ec2.send(
      new CreateTrafficMirrorFilterRuleCommand({
        TrafficMirrorFilterId: f.TrafficMirrorFilter!.TrafficMirrorFilterId!,
        TrafficDirection: 'ingress',
        RuleNumber: 1,
        RuleAction: 'accept',
        SourceCidrBlock: '0.0.0.0/0',
        DestinationCidrBlock: '0.0.0.0/0',
        ...tg('traffic-mirror-filter-rule'),
      }),
    )
    assert.deepEqual(r.TrafficMirrorFilterRule!.Tags, [{ Key: 'Name', Value: 'traffic-mirror-filter-rule' }])
    const byTag = await ec2.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['vpc'] }] }),
    )
    assert.deepEqual(
      byTag.Vpcs!.map((v) => v.VpcId),
      [vpc.Vpc!.VpcId],
    )
    const byKey = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'tag-key', Values: ['Name'] }] }),
    )
    assert.deepEqual(
      byKey.Subnets!.map((s) => s.SubnetId),
      [sub.Subnet!.SubnetId],
    )
    await ec2.send(new DeleteSubnetCommand({ SubnetId: sub.Subnet!.SubnetId! }))
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.Vpc!.VpcId! }))
    const gone = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [vpc.Vpc!.VpcId!] }] }),
    )
    assert.deepEqual(gone.Tags, [], 'tags of a deleted resource are gone')
  })
})

describe('flow logs (FL §5)', () => {
  test('CreateFlowLogs to S3: ids, describe shape, default format, tags', async () => {
    const r = await ec2.send(
      new CreateFlowLogsCommand({
        ResourceType: 'VPC',
        ResourceIds: [vpcId],
        TrafficType: 'ALL',
        LogDestinationType: 's3',
        LogDestination: 'arn:aws:s3:::my-bucket/prefix',
        TagSpecifications: [{ ResourceType: 'vpc-flow-log', Tags: [{ Key: 'Name', Value: 'fl' }] }],
        ClientToken: 'sdk-fl-1',
      }),
    )
    assert.equal(r.FlowLogIds?.length, 1)
    assert.match(r.FlowLogIds![0], idPattern('fl'))
    assert.deepEqual(r.Unsuccessful ?? [], [])
    const d = await ec2.send(new DescribeFlowLogsCommand({ FlowLogIds: r.FlowLogIds }))
    const fl = d.FlowLogs![0]
    assert.equal(fl.FlowLogId, r.FlowLogIds![0])
    assert.equal(fl.ResourceId, vpcId)
    assert.equal(fl.TrafficType, 'ALL')
    assert.equal(fl.LogDestinationType, 's3')
    assert.equal(fl.LogDestination, 'arn:aws:s3:::my-bucket/prefix')
    assert.equal(fl.FlowLogStatus, 'ACTIVE')
    assert.equal(fl.MaxAggregationInterval, 600)
    assert.ok(fl.CreationTime instanceof Date && !Number.isNaN(fl.CreationTime.getTime()))
    // FL §1.2: the default format, expanded.
    assert.equal(
      fl.LogFormat,
      '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}',
    )
    assert.deepEqual(fl.Tags, [{ Key: 'Name', Value: 'fl' }])
  })

  test('several resources, one unknown: per-resource unsuccessful item, HTTP 200', async () => {
    const r = await ec2.send(
      new CreateFlowLogsCommand({
        ResourceType: 'NetworkInterface',
        ResourceIds: [src[0].NetworkInterfaceId, 'eni-0123456789abcdef0', src[1].NetworkInterfaceId],
        TrafficType: 'REJECT',
        LogDestinationType: 's3',
        LogDestination: 'arn:aws:s3:::bucket',
        LogFormat: '${interface-id} ${srcaddr} ${tcp-flags}',
        MaxAggregationInterval: 60,
        DestinationOptions: { FileFormat: 'parquet', HiveCompatiblePartitions: true, PerHourPartition: true },
      }),
    )
    assert.equal(r.$metadata.httpStatusCode, 200)
    assert.equal(r.FlowLogIds?.length, 2)
    assert.equal(r.Unsuccessful?.length, 1)
    assert.equal(r.Unsuccessful![0].ResourceId, 'eni-0123456789abcdef0')
    assert.equal(r.Unsuccessful![0].Error?.Code, 'InvalidNetworkInterfaceID.NotFound')
    const d = await ec2.send(new DescribeFlowLogsCommand({ FlowLogIds: r.FlowLogIds }))
    for (const fl of d.FlowLogs!) {
      assert.equal(fl.LogFormat, '${interface-id} ${srcaddr} ${tcp-flags}')
      assert.equal(fl.MaxAggregationInterval, 60)
      assert.deepEqual(fl.DestinationOptions, {
        FileFormat: 'parquet',
        HiveCompatiblePartitions: true,
        PerHourPartition: true,
      })
      assert.equal(fl.TrafficType, 'REJECT')
    }
  })

  test('CreateFlowLogs errors: duplicate, interval, CWL without role, enums, format, unknown VPC', async () => {
    const base = {
      ResourceType: 'Subnet' as const,
      ResourceIds: [subnetId],
      TrafficType: 'ACCEPT' as const,
      LogDestinationType: 's3' as const,
      LogDestination: 'arn:aws:s3:::dup-bucket',
    }
    await ec2.send(new CreateFlowLogsCommand(base))
    const dup = await ec2.send(new CreateFlowLogsCommand(base)).then(
      (r) => r.Unsuccessful?.[0]?.Error?.Code ?? 'accepted',
      (e: { name: string }) => e.name,
    )
    assert.equal(dup, 'FlowLogAlreadyExists')
    const inval = ['InvalidParameter', 'InvalidParameterValue']
    await rejectsAll(
      (i: CreateFlowLogsCommandInput) => ec2.send(new CreateFlowLogsCommand(i)),
      [
        [{ ...base, LogDestination: 'arn:aws:s3:::other', MaxAggregationInterval: 120 }, inval],
        [
          {
            ResourceType: 'VPC',
            ResourceIds: [vpcId],
            TrafficType: 'ALL',
            LogDestinationType: 'cloud-watch-logs',
            LogGroupName: 'my-group',
          },
          inval,
        ],
      ],
    )
    await rejects(ec2.send(new CreateFlowLogsCommand({ ...base, ResourceType: 'Elephant' as 'VPC' })), inval)
    await rejectsAll(
      (i: CreateFlowLogsCommandInput) => ec2.send(new CreateFlowLogsCommand(i)),
      [
        [{ ...base, TrafficType: 'SOME' as 'ALL', LogDestination: 'arn:aws:s3:::xxx-bucket' }, inval],
        [{ ...base, LogDestination: 'arn:aws:s3:::yyy-bucket', LogFormat: '${version} ${nonsense}' }, inval],
      ],
    )
    const unknown = await ec2.send(
      new CreateFlowLogsCommand({
        ...base,
        ResourceType: 'VPC',
        ResourceIds: ['vpc-0123456789abcdef0'],
        LogDestination: 'arn:aws:s3:::zzz-bucket',
      }),
    )
    assert.deepEqual(unknown.FlowLogIds ?? [], [])
    assert.ok('InvalidVpcID.NotFound'.includes(unknown.Unsuccessful![0].Error!.Code!))
  })

  test('DescribeFlowLogs filters and pagination; DeleteFlowLogs', async () => {
    const made = await ec2.send(
      new CreateFlowLogsCommand({
        ResourceType: 'NetworkInterface',
        ResourceIds: src.slice(4, 10).map((e) => e.NetworkInterfaceId),
        TrafficType: 'ALL',
        LogDestinationType: 's3',
        LogDestination: 'arn:aws:s3:::page-bucket',
        TagSpecifications: [{ ResourceType: 'vpc-flow-log', Tags: [{ Key: 'batch', Value: 'p' }] }],
      }),
    )
    assert.equal(made.FlowLogIds!.length, 6)
    const ids = [...made.FlowLogIds!].sort()
    const q = async (Filter: { Name: string; Values: string[] }[]): Promise<string[]> =>
      ((await ec2.send(new DescribeFlowLogsCommand({ Filter }))).FlowLogs ?? [])
        .map((f) => f.FlowLogId!)
        .sort()
    assert.deepEqual(await q([{ Name: 'tag:batch', Values: ['p'] }]), ids)
    assert.deepEqual(await q([{ Name: 'tag-key', Values: ['batch'] }]), ids)
    assert.deepEqual(
      await q([{ Name: 'resource-id', Values: [src[4].NetworkInterfaceId] }]).then((x) => x.length),
      1,
    )
    assert.deepEqual(await q([{ Name: 'flow-log-id', Values: [ids[0], ids[1]] }]), [ids[0], ids[1]])
    assert.deepEqual(
      await q([
        { Name: 'tag:batch', Values: ['p'] },
        { Name: 'traffic-type', Values: ['REJECT'] },
      ]),
      [],
    )
    assert.deepEqual(
      await q([
        { Name: 'tag:batch', Values: ['p'] },
        { Name: 'log-destination-type', Values: ['s3'] },
        { Name: 'deliver-log-status', Values: ['SUCCESS'] },
      ]),
      ids,
    )
    const seen: string[] = []
    let token: string | undefined
    do {
      const r = await ec2.send(
        new DescribeFlowLogsCommand({
          Filter: [{ Name: 'tag:batch', Values: ['p'] }],
          MaxResults: 5,
          ...(token === undefined ? {} : { NextToken: token }),
        }),
      )
      seen.push(...r.FlowLogs!.map((f) => f.FlowLogId!))
      token = r.NextToken
    } while (token !== undefined && seen.length < 100)
    assert.deepEqual(seen.sort(), ids)
    const del = await ec2.send(new DeleteFlowLogsCommand({ FlowLogIds: [ids[0], 'fl-0123456789abcdef0'] }))
    assert.equal(del.Unsuccessful?.length, 1)
    assert.equal(del.Unsuccessful![0].ResourceId, 'fl-0123456789abcdef0')
    assert.equal(del.Unsuccessful![0].Error?.Code, 'InvalidFlowLogId.NotFound')
    assert.deepEqual(await q([{ Name: 'flow-log-id', Values: [ids[0]] }]), [])
  })
})

describe('more flow-log and tag rules (FL §4.1, §4.2, §5)', () => {
  test('CreateFlowLogs: TrafficType required, LogGroupName needs cloud-watch-logs, AWSLogs folder, unknown subnet', async () => {
    const inval = 'MissingParameter'
    await rejectsAll(
      (i: CreateFlowLogsCommandInput) => ec2.send(new CreateFlowLogsCommand(i)),
      [
        [
          {
            ResourceType: 'VPC',
            ResourceIds: [vpcId],
            LogDestinationType: 's3',
            LogDestination: 'arn:aws:s3:::no-traffic-type',
          },
          inval,
        ],
        [
          {
            ResourceType: 'VPC',
            ResourceIds: [vpcId],
            TrafficType: 'ALL',
            LogDestinationType: 's3',
            LogGroupName: 'my-group',
            LogDestination: 'arn:aws:s3:::group-and-s3',
          },
          'InvalidParameter',
        ],
        [
          {
            ResourceType: 'VPC',
            ResourceIds: [vpcId],
            TrafficType: 'ALL',
            LogDestinationType: 's3',
            LogDestination: 'arn:aws:s3:::bucket-x/AWSLogs',
          },
          ['InvalidParameter', 'InvalidParameterValue'],
        ],
      ],
    )
    const r = await ec2.send(
      new CreateFlowLogsCommand({
        ResourceType: 'Subnet',
        ResourceIds: ['subnet-0123456789abcdef0'],
        TrafficType: 'ALL',
        LogDestinationType: 's3',
        LogDestination: 'arn:aws:s3:::unknown-subnet',
      }),
    )
    assert.deepEqual(r.FlowLogIds ?? [], [])
    assert.equal(r.Unsuccessful![0].Error!.Code, 'InvalidSubnetID.NotFound')
    await rejects(ec2.send(new DeleteFlowLogsCommand({ FlowLogIds: [] })), 'MissingParameter')
  })

  test('special characters and Unicode round-trip in descriptions and tags', async () => {
    const text = `<a href="x">&amp; 'q' — żółć 😀 \\ %20+`
    const f = await ec2.send(
      new CreateTrafficMirrorFilterCommand({
        Description: text,
        TagSpecifications: [{ ResourceType: 'traffic-mirror-filter', Tags: [{ Key: 'k<&>', Value: text }] }],
      }),
    )
    const fid = f.TrafficMirrorFilter!.TrafficMirrorFilterId!
    assert.equal(f.TrafficMirrorFilter!.Description, text)
    const d = await ec2.send(
      new DescribeTrafficMirrorFiltersCommand({ Filters: [{ Name: 'description', Values: [text] }] }),
    )
    assert.deepEqual(
      d.TrafficMirrorFilters!.map((x) => x.TrafficMirrorFilterId),
      [fid],
    )
    assert.deepEqual(d.TrafficMirrorFilters![0].Tags, [{ Key: 'k<&>', Value: text }])
  })

  test('tags on every taggable kind, and DescribeTags resource types', async () => {
    const fid = await newFilter('kinds')
    const rid = (await ec2.send(rule(fid, { RuleNumber: 1 }))).TrafficMirrorFilterRule!
      .TrafficMirrorFilterRuleId!
    const fl = (
      await ec2.send(
        new CreateFlowLogsCommand({
          ResourceType: 'Subnet',
          ResourceIds: [subnetId],
          TrafficType: 'REJECT',
          LogDestinationType: 's3',
          LogDestination: 'arn:aws:s3:::kinds-bucket',
        }),
      )
    ).FlowLogIds![0]
    const resources = [vpcId, subnetId, src[0].NetworkInterfaceId, 'i-0a1b2c3d4e5f60718', fid, rid, fl]
    await ec2.send(new CreateTagsCommand({ Resources: resources, Tags: [{ Key: 'kind-test', Value: '1' }] }))
    const d = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['kind-test'] }] }))
    assert.deepEqual(Object.fromEntries(d.Tags!.map((t) => [t.ResourceId, t.ResourceType])), {
      [vpcId]: 'vpc',
      [subnetId]: 'subnet',
      [src[0].NetworkInterfaceId]: 'network-interface',
      'i-0a1b2c3d4e5f60718': 'instance',
      [fid]: 'traffic-mirror-filter',
      [rid]: 'traffic-mirror-filter-rule',
      [fl]: 'vpc-flow-log',
    })
    await ec2.send(new DeleteTagsCommand({ Resources: resources, Tags: [{ Key: 'kind-test' }] }))
    const gone = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['kind-test'] }] }),
    )
    assert.deepEqual(gone.Tags, [])
  })
})

describe('DryRun (§5.5): 412 DryRunOperation, nothing changes', () => {
  test('every mutating and describing action', async () => {
    const fid = await newFilter('dry')
    const rid = (await ec2.send(rule(fid, { RuleNumber: 5 }))).TrafficMirrorFilterRule!
      .TrafficMirrorFilterRuleId!
    const tid = await newTarget(tgtEni[2].NetworkInterfaceId)
    const sid = (
      await ec2.send(
        new CreateTrafficMirrorSessionCommand({
          NetworkInterfaceId: src[5].NetworkInterfaceId,
          TrafficMirrorTargetId: tid,
          TrafficMirrorFilterId: fid,
          SessionNumber: 9,
        }),
      )
    ).TrafficMirrorSession!.TrafficMirrorSessionId!
    // Every dry-run request is one that would succeed: unused resources for the deletes.
    const fid2 = await newFilter('dry-spare')
    const tid2 = await newTarget(src[10].NetworkInterfaceId)
    const spareVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.201.0.0/16' }))).Vpc!.VpcId!
    const spareSubnet = (
      await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.201.0/24' }))
    ).Subnet!.SubnetId!
    const flId = (
      await ec2.send(
        new CreateFlowLogsCommand({
          ResourceType: 'VPC',
          ResourceIds: [spareVpc],
          TrafficType: 'ALL',
          LogDestinationType: 's3',
          LogDestination: 'arn:aws:s3:::dry-spare',
        }),
      )
    ).FlowLogIds![0]
    const before = await snapshot(ec2)
    const D = { DryRun: true }
    const cmds = [
      new CreateVpcCommand({ ...D, CidrBlock: '10.200.0.0/16' }),
      new CreateSubnetCommand({ ...D, VpcId: vpcId, CidrBlock: '10.20.200.0/24' }),
      new DeleteVpcCommand({ ...D, VpcId: spareVpc }),
      new DeleteSubnetCommand({ ...D, SubnetId: spareSubnet }),
      new DescribeVpcsCommand(D),
      new DescribeSubnetsCommand(D),
      new DescribeNetworkInterfacesCommand(D),
      new DescribeInstancesCommand(D),
      new CreateTrafficMirrorTargetCommand({ ...D, NetworkInterfaceId: src[11].NetworkInterfaceId }),
      new CreateTrafficMirrorFilterCommand({ ...D, Description: 'dry' }),
      rule(fid, { ...D, RuleNumber: 6 }),
      new CreateTrafficMirrorSessionCommand({
        ...D,
        NetworkInterfaceId: src[6].NetworkInterfaceId,
        TrafficMirrorTargetId: tid,
        TrafficMirrorFilterId: fid,
        SessionNumber: 1,
      }),
      new ModifyTrafficMirrorFilterNetworkServicesCommand({
        ...D,
        TrafficMirrorFilterId: fid,
        AddNetworkServices: ['amazon-dns'],
      }),
      new ModifyTrafficMirrorFilterRuleCommand({
        ...D,
        TrafficMirrorFilterRuleId: rid,
        RuleAction: 'reject',
      }),
      new ModifyTrafficMirrorSessionCommand({ ...D, TrafficMirrorSessionId: sid, SessionNumber: 10 }),
      new DeleteTrafficMirrorSessionCommand({ ...D, TrafficMirrorSessionId: sid }),
      new DeleteTrafficMirrorFilterRuleCommand({ ...D, TrafficMirrorFilterRuleId: rid }),
      new DeleteTrafficMirrorTargetCommand({ ...D, TrafficMirrorTargetId: tid2 }),
      new DeleteTrafficMirrorFilterCommand({ ...D, TrafficMirrorFilterId: fid2 }),
      new DescribeTrafficMirrorTargetsCommand(D),
      new DescribeTrafficMirrorFiltersCommand(D),
      new DescribeTrafficMirrorSessionsCommand(D),
      new DescribeTrafficMirrorFilterRulesCommand(D),
      new CreateFlowLogsCommand({
        ...D,
        ResourceType: 'VPC',
        ResourceIds: [vpcId],
        TrafficType: 'ALL',
        LogDestinationType: 's3',
        LogDestination: 'arn:aws:s3:::dry',
      }),
      new DescribeFlowLogsCommand(D),
      new DeleteFlowLogsCommand({ ...D, FlowLogIds: [flId] }),
      new CreateTagsCommand({ ...D, Resources: [fid], Tags: [{ Key: 'a', Value: 'b' }] }),
      new DeleteTagsCommand({ ...D, Resources: [fid], Tags: [{ Key: 'a' }] }),
      new DescribeTagsCommand(D),
    ]
    for (const c of cmds) {
      const e = await sdkError(ec2.send(c as never))
      assert.equal(e.code, 'DryRunOperation', `${c.constructor.name}: ${e.code} ${e.message}`)
      assert.equal(e.status, 412, c.constructor.name)
    }
    assert.deepEqual(await snapshot(ec2), before)
    // DryRun=false is an ordinary call.
    const real = await ec2.send(
      new DescribeTrafficMirrorFiltersCommand({ DryRun: false, TrafficMirrorFilterIds: [fid] }),
    )
    assert.equal(real.TrafficMirrorFilters!.length, 1)
    await ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: sid }))
    await ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: tid }))
    await ec2.send(new DeleteTrafficMirrorTargetCommand({ TrafficMirrorTargetId: tid2 }))
    await ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: fid2 }))
    await ec2.send(new DeleteFlowLogsCommand({ FlowLogIds: [flId] }))
    await ec2.send(new DeleteSubnetCommand({ SubnetId: spareSubnet }))
    await ec2.send(new DeleteVpcCommand({ VpcId: spareVpc }))
  })
})

describe('ClientToken idempotency (§5.5)', () => {
  test('same token and parameters: same result, nothing new; different parameters: IdempotentParameterMismatch', async () => {
    const f1 = await ec2.send(
      new CreateTrafficMirrorFilterCommand({ Description: 'idem', ClientToken: 'tok-filter-1' }),
    )
    const f2 = await ec2.send(
      new CreateTrafficMirrorFilterCommand({ Description: 'idem', ClientToken: 'tok-filter-1' }),
    )
    assert.equal(f2.TrafficMirrorFilter!.TrafficMirrorFilterId, f1.TrafficMirrorFilter!.TrafficMirrorFilterId)
    assert.equal(f2.ClientToken, 'tok-filter-1')
    const n = await ec2.send(
      new DescribeTrafficMirrorFiltersCommand({ Filters: [{ Name: 'description', Values: ['idem'] }] }),
    )
    assert.equal(n.TrafficMirrorFilters!.length, 1)
    await rejects(
      ec2.send(new CreateTrafficMirrorFilterCommand({ Description: 'other', ClientToken: 'tok-filter-1' })),
      'IdempotentParameterMismatch',
    )
    // At most 64 ASCII characters (§5.5).
    await rejects(
      ec2.send(new CreateTrafficMirrorFilterCommand({ Description: 'idem', ClientToken: 'x'.repeat(65) })),
      'InvalidParameterValue',
    )
    // Tokens are case-sensitive: a different case is a different request.
    const f3 = await ec2.send(
      new CreateTrafficMirrorFilterCommand({ Description: 'idem', ClientToken: 'TOK-FILTER-1' }),
    )
    assert.notEqual(
      f3.TrafficMirrorFilter!.TrafficMirrorFilterId,
      f1.TrafficMirrorFilter!.TrafficMirrorFilterId,
    )
    const fid = f1.TrafficMirrorFilter!.TrafficMirrorFilterId!

    const r1 = await ec2.send(rule(fid, { RuleNumber: 1, ClientToken: 'tok-rule-1' }))
    const r2 = await ec2.send(rule(fid, { RuleNumber: 1, ClientToken: 'tok-rule-1' }))
    assert.equal(
      r2.TrafficMirrorFilterRule!.TrafficMirrorFilterRuleId,
      r1.TrafficMirrorFilterRule!.TrafficMirrorFilterRuleId,
    )
    await rejects(
      ec2.send(rule(fid, { RuleNumber: 2, ClientToken: 'tok-rule-1' })),
      'IdempotentParameterMismatch',
    )

    const t1 = await ec2.send(
      new CreateTrafficMirrorTargetCommand({
        NetworkInterfaceId: tgtEni[2].NetworkInterfaceId,
        ClientToken: 'tok-tgt-1',
      }),
    )
    // The retry succeeds although the interface is now a target: it is the same request.
    const t2 = await ec2.send(
      new CreateTrafficMirrorTargetCommand({
        NetworkInterfaceId: tgtEni[2].NetworkInterfaceId,
        ClientToken: 'tok-tgt-1',
      }),
    )
    assert.equal(t2.TrafficMirrorTarget!.TrafficMirrorTargetId, t1.TrafficMirrorTarget!.TrafficMirrorTargetId)
    await rejects(
      ec2.send(
        new CreateTrafficMirrorTargetCommand({
          NetworkInterfaceId: tgtEni[2].NetworkInterfaceId,
          Description: 'x',
          ClientToken: 'tok-tgt-1',
        }),
      ),
      'IdempotentParameterMismatch',
    )
    const tid = t1.TrafficMirrorTarget!.TrafficMirrorTargetId!
    const sp = {
      NetworkInterfaceId: src[7].NetworkInterfaceId,
      TrafficMirrorTargetId: tid,
      TrafficMirrorFilterId: fid,
      SessionNumber: 1,
    }
    const s1 = await ec2.send(new CreateTrafficMirrorSessionCommand({ ...sp, ClientToken: 'tok-sess-1' }))
    const s2 = await ec2.send(new CreateTrafficMirrorSessionCommand({ ...sp, ClientToken: 'tok-sess-1' }))
    assert.equal(
      s2.TrafficMirrorSession!.TrafficMirrorSessionId,
      s1.TrafficMirrorSession!.TrafficMirrorSessionId,
    )
    assert.equal(s2.TrafficMirrorSession!.VirtualNetworkId, s1.TrafficMirrorSession!.VirtualNetworkId)
    await rejects(
      ec2.send(new CreateTrafficMirrorSessionCommand({ ...sp, SessionNumber: 2, ClientToken: 'tok-sess-1' })),
      'IdempotentParameterMismatch',
    )
    const sessions = await ec2.send(
      new DescribeTrafficMirrorSessionsCommand({
        Filters: [{ Name: 'network-interface-id', Values: [src[7].NetworkInterfaceId] }],
      }),
    )
    assert.equal(sessions.TrafficMirrorSessions!.length, 1)

    const flp = {
      ResourceType: 'NetworkInterface' as const,
      ResourceIds: [src[8].NetworkInterfaceId],
      TrafficType: 'ALL' as const,
      LogDestinationType: 's3' as const,
      LogDestination: 'arn:aws:s3:::idem',
    }
    const l1 = await ec2.send(new CreateFlowLogsCommand({ ...flp, ClientToken: 'tok-fl-1' }))
    const l2 = await ec2.send(new CreateFlowLogsCommand({ ...flp, ClientToken: 'tok-fl-1' }))
    assert.deepEqual(l2.FlowLogIds, l1.FlowLogIds)
    assert.equal(l2.ClientToken, 'tok-fl-1')
    await rejects(
      ec2.send(new CreateFlowLogsCommand({ ...flp, TrafficType: 'REJECT', ClientToken: 'tok-fl-1' })),
      'IdempotentParameterMismatch',
    )
  })
})

describe('more business rules (§1.2–§1.5, §5.3)', () => {
  let t0: string
  before(async () => {
    const d = await ec2.send(
      new DescribeTrafficMirrorTargetsCommand({
        Filters: [{ Name: 'network-interface-id', Values: [tgtEni[0].NetworkInterfaceId] }],
      }),
    )
    t0 = d.TrafficMirrorTargets![0].TrafficMirrorTargetId!
  })

  test('target Describe filters: id, description, owner; explicit ids with one unknown', async () => {
    const q = async (Name: string, Values: string[]): Promise<string[]> =>
      (
        await ec2.send(new DescribeTrafficMirrorTargetsCommand({ Filters: [{ Name, Values }] }))
      ).TrafficMirrorTargets!.map((t) => t.TrafficMirrorTargetId!)
    assert.deepEqual(await q('traffic-mirror-target-id', [t0]), [t0])
    assert.deepEqual(await q('description', ['tool A']), [t0])
    assert.ok((await q('owner-id', [srv.accountId])).includes(t0))
    assert.deepEqual(await q('owner-id', ['999999999999']), [])
    await rejects(
      ec2.send(
        new DescribeTrafficMirrorTargetsCommand({ TrafficMirrorTargetIds: [t0, 'tmt-0123456789abcdef0'] }),
      ),
      'InvalidTrafficMirrorTargetId.NotFound',
    )
    const fid = await newFilter('known')
    await rejects(
      ec2.send(
        new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [fid, 'tmf-0123456789abcdef0'] }),
      ),
      'InvalidTrafficMirrorFilterId.NotFound',
    )
    await rejects(
      ec2.send(
        new DescribeTrafficMirrorSessionsCommand({ TrafficMirrorSessionIds: ['tms-0123456789abcdef0'] }),
      ),
      'InvalidTrafficMirrorSessionId.NotFound',
    )
  })

  test('deleting a filter deletes its rules and their tags: no orphans', async () => {
    const fid = await newFilter('orphans')
    const rid = (
      await ec2.send(
        rule(fid, {
          RuleNumber: 1,
          TagSpecifications: [
            { ResourceType: 'traffic-mirror-filter-rule', Tags: [{ Key: 'o', Value: '1' }] },
          ],
        }),
      )
    ).TrafficMirrorFilterRule!.TrafficMirrorFilterRuleId!
    await ec2.send(new CreateTagsCommand({ Resources: [fid], Tags: [{ Key: 'o', Value: '2' }] }))
    await ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: fid }))
    await rejects(
      ec2.send(new DescribeTrafficMirrorFilterRulesCommand({ TrafficMirrorFilterRuleIds: [rid] })),
      'InvalidTrafficMirrorFilterRuleId.NotFound',
    )
    const tags = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [fid, rid] }] }),
    )
    assert.deepEqual(tags.Tags, [])
  })

  test('network services: adding twice and removing an absent one change nothing', async () => {
    const fid = await newFilter('ns')
    const add = () =>
      ec2.send(
        new ModifyTrafficMirrorFilterNetworkServicesCommand({
          TrafficMirrorFilterId: fid,
          AddNetworkServices: ['amazon-dns'],
        }),
      )
    await add()
    assert.deepEqual((await add()).TrafficMirrorFilter!.NetworkServices, ['amazon-dns'])
    const rm = () =>
      ec2.send(
        new ModifyTrafficMirrorFilterNetworkServicesCommand({
          TrafficMirrorFilterId: fid,
          RemoveNetworkServices: ['amazon-dns'],
        }),
      )
    await rm()
    assert.deepEqual((await rm()).TrafficMirrorFilter!.NetworkServices, [])
  })

  test('rules: a deleted rule frees quota; ports must keep a TCP/UDP protocol on modify', async () => {
    const fid = await newFilter('quota-free')
    const ids: string[] = []
    for (let n = 1; n <= 10; n++)
      ids.push(
        (await ec2.send(rule(fid, { RuleNumber: n }))).TrafficMirrorFilterRule!.TrafficMirrorFilterRuleId!,
      )
    await rejects(ec2.send(rule(fid, { RuleNumber: 11 })), 'TrafficMirrorFilterRuleLimitExceeded')
    await ec2.send(new DeleteTrafficMirrorFilterRuleCommand({ TrafficMirrorFilterRuleId: ids[0] }))
    const ported = (
      await ec2.send(
        rule(fid, { RuleNumber: 11, Protocol: 6, DestinationPortRange: { FromPort: 22, ToPort: 22 } }),
      )
    ).TrafficMirrorFilterRule!
    const badOrCombo = 'InvalidParameterValue'
    await rejectsAll(
      (i: ModifyTrafficMirrorFilterRuleCommandInput) => ec2.send(new ModifyTrafficMirrorFilterRuleCommand(i)),
      [
        [{ TrafficMirrorFilterRuleId: ported.TrafficMirrorFilterRuleId!, Protocol: 1 }, badOrCombo],
        [
          { TrafficMirrorFilterRuleId: ported.TrafficMirrorFilterRuleId!, RemoveFields: ['protocol'] },
          badOrCombo,
        ],
      ],
    )
    const d = await ec2.send(
      new DescribeTrafficMirrorFilterRulesCommand({
        TrafficMirrorFilterRuleIds: [ported.TrafficMirrorFilterRuleId!],
      }),
    )
    assert.equal(d.TrafficMirrorFilterRules![0].Protocol, 6, 'a rejected modify changes nothing')
  })

  test('ModifyTrafficMirrorSession: duplicate session number; a value and its RemoveField together', async () => {
    const filter = await newFilter('mod-rules')
    const mk = (n: number) =>
      ec2.send(
        new CreateTrafficMirrorSessionCommand({
          NetworkInterfaceId: src[3].NetworkInterfaceId,
          TrafficMirrorTargetId: t0,
          TrafficMirrorFilterId: filter,
          SessionNumber: n,
        }),
      )
    await mk(1)
    const b = (await mk(2)).TrafficMirrorSession!
    await rejectsAll(
      (i: ModifyTrafficMirrorSessionCommandInput) => ec2.send(new ModifyTrafficMirrorSessionCommand(i)),
      [
        [{ TrafficMirrorSessionId: b.TrafficMirrorSessionId!, SessionNumber: 1 }, 'InvalidParameterValue'],
        [
          {
            TrafficMirrorSessionId: b.TrafficMirrorSessionId!,
            PacketLength: 100,
            RemoveFields: ['packet-length'],
          },
          'InvalidParameterCombination',
        ],
      ],
    )
    const d = await ec2.send(
      new DescribeTrafficMirrorSessionsCommand({ TrafficMirrorSessionIds: [b.TrafficMirrorSessionId!] }),
    )
    assert.deepEqual(d.TrafficMirrorSessions, [b], 'rejected modifies change nothing')
  })

  test('concurrent requests: quotas hold under a race, one ClientToken makes one object', async () => {
    const filter = await newFilter('race')
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        ec2.send(
          new CreateTrafficMirrorSessionCommand({
            NetworkInterfaceId: src[4].NetworkInterfaceId,
            TrafficMirrorTargetId: t0,
            TrafficMirrorFilterId: filter,
            SessionNumber: 10 + i,
          }),
        ),
      ),
    )
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3)
    for (const r of results) {
      if (r.status === 'rejected')
        assert.equal((r.reason as { name: string }).name, 'TrafficMirrorSessionsPerInterfaceLimitExceeded')
    }
    const rules = await Promise.allSettled(
      Array.from({ length: 14 }, (_, i) => ec2.send(rule(filter, { RuleNumber: 100 + i }))),
    )
    assert.equal(rules.filter((r) => r.status === 'fulfilled').length, 10)
    const same = await Promise.all(
      Array.from({ length: 6 }, () =>
        ec2.send(
          new CreateTrafficMirrorFilterCommand({ Description: 'race-token', ClientToken: 'race-token-1' }),
        ),
      ),
    )
    assert.equal(new Set(same.map((r) => r.TrafficMirrorFilter!.TrafficMirrorFilterId)).size, 1)
    const d = await ec2.send(
      new DescribeTrafficMirrorFiltersCommand({ Filters: [{ Name: 'description', Values: ['race-token'] }] }),
    )
    assert.equal(d.TrafficMirrorFilters!.length, 1)
  })

  test('removing a source interface removes its sessions (§1.5 lifecycle)', async () => {
    const filter = await newFilter('lifecycle')
    const s = (
      await ec2.send(
        new CreateTrafficMirrorSessionCommand({
          NetworkInterfaceId: src[2].NetworkInterfaceId,
          TrafficMirrorTargetId: t0,
          TrafficMirrorFilterId: filter,
          SessionNumber: 1,
        }),
      )
    ).TrafficMirrorSession!
    const r = await srv.signed({
      Action: 'MirrorflowDeregisterNetworkInterface',
      Version: '2016-11-15',
      NetworkInterfaceId: src[2].NetworkInterfaceId,
    })
    assert.equal(r.status, 200, r.body)
    await rejects(
      ec2.send(
        new DescribeTrafficMirrorSessionsCommand({ TrafficMirrorSessionIds: [s.TrafficMirrorSessionId!] }),
      ),
      'InvalidTrafficMirrorSessionId.NotFound',
    )
    await rejects(
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [src[2].NetworkInterfaceId] })),
      'InvalidNetworkInterfaceID.NotFound',
    )
    // The filter and target it used are free again.
    await ec2.send(new DeleteTrafficMirrorFilterCommand({ TrafficMirrorFilterId: filter }))
  })
})
