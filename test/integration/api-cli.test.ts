// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * The EC2-compatible API driven by the real AWS CLI (Debian awscli 2.9.19 at /usr/bin/aws): the
 * issue's seed commands verbatim (plus --endpoint-url), and for every action the CLI knows a
 * representative happy path and a documented error, with `--output json` compared against the
 * shapes of shared/docs/spec-traffic-mirroring.md §5.6 / Appendix A and spec-flow-logs.md §5.
 * (CLI 2.9.19 has no describe-traffic-mirror-filter-rules: the SDK test covers that action.)
 * The commands run through `AwsBatch`: the unmodified /usr/bin/aws script once per command, in one
 * Python process (a separate `aws` process costs about a CPU-second for its start and imports), one
 * after another; the last delete-vpc is a separate /usr/bin/aws process, so that a CLI of its own
 * (exit code, empty output) is checked too.
 */
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { CreateTrafficMirrorFilterCommand } from '@aws-sdk/client-ec2'
import { REPO_ROOT } from '../helpers/shared.ts'
import {
  cliEnv,
  idPattern,
  registerInterface,
  run,
  startApiTestServer,
  type ApiTestServer,
  type CliResult,
  type EniJson,
} from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

let srv: ApiTestServer
let cli: AwsBatch
let vpcId: string
let subnetId: string
let srcEni: EniJson
let tgtEni: EniJson
let spareEni: EniJson
const ids = { target: '', filter: '', rule: '', session: '', flowLog: '' }

/** Runs the CLI, asserts success, returns the parsed JSON (or {} for an empty output). */
async function ok(...args: string[]): Promise<Record<string, unknown>> {
  const r = await cli.run(...args)
  assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return (r.json ?? {}) as Record<string, unknown>
}

/** Asserts the CLI printed a service error with this code for this operation (exit 254, §5.7). */
function failed(r: CliResult, code: string | string[], operation: string): void {
  assert.equal(r.code, 254, `want exit 254, got ${r.code}: ${r.stderr}${r.stdout}`)
  // AWS_MAX_ATTEMPTS=1 makes the CLI add "(reached max retries: 0)" before the colon.
  const m =
    /An error occurred \(([^)]+)\) when calling the (\w+) operation(?: \(reached max retries: \d+\))?: (.*)/.exec(
      r.stderr,
    )
  assert.ok(m, `no service error on stderr: ${r.stderr}`)
  assert.ok(
    (Array.isArray(code) ? code : [code]).includes(m[1]),
    `code ${m[1]}, want ${String(code)}: ${r.stderr}`,
  )
  assert.equal(m[2], operation)
  assert.notEqual(m[3].trim(), '', 'empty error message')
}

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-api-cli' })
  cli = new AwsBatch(cliEnv(srv.dataDir), srv.url)
})

after(async () => {
  await cli?.close()
  await srv?.close()
})

test('the server writes a credentials file (profile mirrorflow, mode 0600) and a config the CLI uses', () => {
  const creds = join(srv.dataDir, 'credentials')
  assert.equal(statSync(creds).mode & 0o777, 0o600)
  const text = readFileSync(creds, 'utf8')
  assert.match(text, /^\[mirrorflow\]$/m)
  assert.match(text, new RegExp(`^aws_access_key_id\\s*=\\s*${srv.credentials.accessKeyId}$`, 'm'))
  assert.match(text, /^aws_secret_access_key\s*=\s*\S+$/m)
  assert.match(readFileSync(join(srv.dataDir, 'config'), 'utf8'), /^\[profile mirrorflow\]$/m)
})

test('inventory through the CLI and the admin command', async () => {
  const vpc = await ok('ec2', 'create-vpc', '--cidr-block', '10.1.0.0/16')
  const v = vpc.Vpc as Record<string, unknown>
  vpcId = v.VpcId as string
  assert.match(vpcId, idPattern('vpc'))
  assert.equal(v.CidrBlock, '10.1.0.0/16')
  const sub = await ok('ec2', 'create-subnet', '--vpc-id', vpcId, '--cidr-block', '10.1.2.0/24')
  const s = sub.Subnet as Record<string, unknown>
  subnetId = s.SubnetId as string
  assert.equal(s.VpcId, vpcId)
  assert.equal(s.CidrBlock, '10.1.2.0/24')
  ;[srcEni, tgtEni, spareEni] = await Promise.all([
    registerInterface(srv, {
      subnetId,
      privateIp: '10.1.2.10',
      mac: '02:aa:00:00:00:10',
      instanceId: 'i-0123456789abcdef1',
      description: 'web-1',
    }),
    registerInterface(srv, { subnetId, privateIp: '10.1.2.20' }),
    registerInterface(srv, { subnetId, privateIp: '10.1.2.30' }),
  ])
  const [dv, ds, dn, di] = await Promise.all([
    ok('ec2', 'describe-vpcs', '--vpc-ids', vpcId),
    ok('ec2', 'describe-subnets', '--filters', `Name=vpc-id,Values=${vpcId}`),
    ok('ec2', 'describe-network-interfaces', '--network-interface-ids', srcEni.NetworkInterfaceId),
    ok('ec2', 'describe-instances', '--instance-ids', 'i-0123456789abcdef1'),
  ])
  assert.deepEqual(
    (dv.Vpcs as { VpcId: string }[]).map((x) => x.VpcId),
    [vpcId],
  )
  assert.deepEqual(
    (ds.Subnets as { SubnetId: string }[]).map((x) => x.SubnetId),
    [subnetId],
  )
  // The admin command prints the interface in the describe-network-interfaces shape.
  const eni = (dn.NetworkInterfaces as EniJson[])[0]
  // Same members and values; timestamps may be written differently (the CLI reformats them).
  const norm = (e: EniJson): unknown => ({
    ...e,
    Attachment: e.Attachment && {
      ...e.Attachment,
      AttachTime: Date.parse(String((e.Attachment as { AttachTime?: string }).AttachTime)),
    },
  })
  assert.deepEqual(norm(eni), norm(srcEni))
  assert.equal(eni.PrivateIpAddress, '10.1.2.10')
  assert.equal(eni.MacAddress, '02:aa:00:00:00:10')
  assert.equal(eni.SubnetId, subnetId)
  assert.equal(eni.VpcId, vpcId)
  assert.equal(eni.Description, 'web-1')
  const inst = (di.Reservations as { Instances: { InstanceId: string }[] }[])[0].Instances[0]
  assert.equal(inst.InstanceId, 'i-0123456789abcdef1')
})

test('the admin command finds credentials as the AWS CLI does: env vars, --profile; bad keys fail', async () => {
  const base: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('AWS_') && !k.startsWith('MIRRORFLOW_')) base[k] = v
  const args = (ip: string, ...extra: string[]): string[] => [
    join(REPO_ROOT, 'bin/mirrorflow.mjs'),
    'admin',
    'register-interface',
    '--subnet-id',
    subnetId,
    '--private-ip-address',
    ip,
    '--endpoint-url',
    srv.url,
    ...extra,
  ]
  const [viaEnv, viaProfile, bad] = await Promise.all([
    run(process.execPath, args('10.1.2.40'), {
      ...base,
      AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
      AWS_REGION: srv.region,
    }),
    run(process.execPath, args('10.1.2.41', '--profile', 'mirrorflow'), {
      ...base,
      AWS_SHARED_CREDENTIALS_FILE: join(srv.dataDir, 'credentials'),
      AWS_CONFIG_FILE: join(srv.dataDir, 'config'),
    }),
    run(process.execPath, args('10.1.2.42'), {
      ...base,
      AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'not-the-secret',
      AWS_REGION: srv.region,
    }),
  ])
  assert.equal(viaEnv.code, 0, viaEnv.stderr)
  assert.equal(viaProfile.code, 0, viaProfile.stderr)
  assert.notEqual(bad.code, 0)
  assert.match(bad.stderr + bad.stdout, /SignatureDoesNotMatch|AuthFailure/)
  const d = await ok(
    'ec2',
    'describe-network-interfaces',
    '--filters',
    'Name=private-ip-address,Values=10.1.2.40,10.1.2.41,10.1.2.42',
  )
  assert.deepEqual((d.NetworkInterfaces as EniJson[]).map((e) => e.PrivateIpAddress).sort(), [
    '10.1.2.40',
    '10.1.2.41',
  ])
})

test("the issue's seed commands run verbatim", async () => {
  const t = await ok(
    'ec2',
    'create-traffic-mirror-target',
    '--network-interface-id',
    tgtEni.NetworkInterfaceId,
  )
  const tm = t.TrafficMirrorTarget as Record<string, unknown>
  ids.target = tm.TrafficMirrorTargetId as string
  assert.match(ids.target, idPattern('tmt'))
  assert.deepEqual(t, {
    TrafficMirrorTarget: {
      TrafficMirrorTargetId: ids.target,
      NetworkInterfaceId: tgtEni.NetworkInterfaceId,
      Type: 'network-interface',
      OwnerId: srv.accountId,
      Tags: [],
    },
    ClientToken: t.ClientToken,
  })
  assert.equal(typeof t.ClientToken, 'string')

  const f = await ok('ec2', 'create-traffic-mirror-filter')
  const fm = f.TrafficMirrorFilter as Record<string, unknown>
  ids.filter = fm.TrafficMirrorFilterId as string
  assert.deepEqual(f, {
    TrafficMirrorFilter: {
      TrafficMirrorFilterId: ids.filter,
      IngressFilterRules: [],
      EgressFilterRules: [],
      NetworkServices: [],
      Tags: [],
    },
    ClientToken: f.ClientToken,
  })

  const r = await ok(
    ...'ec2 create-traffic-mirror-filter-rule --traffic-mirror-filter-id'.split(' '),
    ids.filter,
    ...'--traffic-direction ingress --rule-number 100 --rule-action accept --protocol 6 --destination-port-range FromPort=80,ToPort=80 --source-cidr-block 0.0.0.0/0 --destination-cidr-block 0.0.0.0/0'.split(
      ' ',
    ),
  )
  const rm = r.TrafficMirrorFilterRule as Record<string, unknown>
  ids.rule = rm.TrafficMirrorFilterRuleId as string
  assert.match(ids.rule, idPattern('tmfr'))
  assert.deepEqual(r, {
    TrafficMirrorFilterRule: {
      TrafficMirrorFilterRuleId: ids.rule,
      TrafficMirrorFilterId: ids.filter,
      TrafficDirection: 'ingress',
      RuleNumber: 100,
      RuleAction: 'accept',
      Protocol: 6,
      DestinationPortRange: { FromPort: 80, ToPort: 80 },
      DestinationCidrBlock: '0.0.0.0/0',
      SourceCidrBlock: '0.0.0.0/0',
    },
    ClientToken: r.ClientToken,
  })

  const s = await ok(
    ...'ec2 create-traffic-mirror-session --network-interface-id'.split(' '),
    srcEni.NetworkInterfaceId,
    '--traffic-mirror-target-id',
    ids.target,
    '--traffic-mirror-filter-id',
    ids.filter,
    '--session-number',
    '1',
  )
  const sm = s.TrafficMirrorSession as Record<string, unknown>
  ids.session = sm.TrafficMirrorSessionId as string
  assert.match(ids.session, idPattern('tms'))
  assert.ok(Number.isInteger(sm.VirtualNetworkId) && (sm.VirtualNetworkId as number) < 2 ** 24)
  assert.deepEqual(s, {
    TrafficMirrorSession: {
      TrafficMirrorSessionId: ids.session,
      TrafficMirrorTargetId: ids.target,
      TrafficMirrorFilterId: ids.filter,
      NetworkInterfaceId: srcEni.NetworkInterfaceId,
      OwnerId: srv.accountId,
      SessionNumber: 1,
      VirtualNetworkId: sm.VirtualNetworkId,
      Tags: [],
    },
    ClientToken: s.ClientToken,
  })

  const fl = await ok(
    ...'ec2 create-flow-logs --resource-type VPC --resource-ids'.split(' '),
    vpcId,
    ...'--traffic-type ALL --log-destination-type s3 --log-destination arn:aws:s3:::my-bucket/prefix'.split(
      ' ',
    ),
  )
  const flIds = fl.FlowLogIds as string[]
  assert.equal(flIds.length, 1)
  ids.flowLog = flIds[0]
  assert.match(ids.flowLog, idPattern('fl'))
  // CreateFlowLogs' ClientToken is not an auto-filled idempotency token in CLI 2.9.19: echoed only if sent.
  assert.deepEqual(fl, {
    ...(fl.ClientToken === undefined ? {} : { ClientToken: fl.ClientToken }),
    FlowLogIds: [ids.flowLog],
    Unsuccessful: [],
  })
})

test('describe output shapes (§5.6: empty lists present, unset members absent)', async () => {
  const [dt, df, ds, dfl] = await Promise.all([
    ok('ec2', 'describe-traffic-mirror-targets', '--traffic-mirror-target-ids', ids.target),
    ok(
      'ec2',
      'describe-traffic-mirror-filters',
      '--filters',
      `Name=traffic-mirror-filter-id,Values=${ids.filter}`,
    ),
    ok(
      'ec2',
      'describe-traffic-mirror-sessions',
      '--filters',
      'Name=session-number,Values=1',
      `Name=network-interface-id,Values=${srcEni.NetworkInterfaceId}`,
    ),
    ok('ec2', 'describe-flow-logs', '--flow-log-ids', ids.flowLog),
  ])
  assert.deepEqual(dt, {
    TrafficMirrorTargets: [
      {
        TrafficMirrorTargetId: ids.target,
        NetworkInterfaceId: tgtEni.NetworkInterfaceId,
        Type: 'network-interface',
        OwnerId: srv.accountId,
        Tags: [],
      },
    ],
  })
  assert.deepEqual(df, {
    TrafficMirrorFilters: [
      {
        TrafficMirrorFilterId: ids.filter,
        IngressFilterRules: [
          {
            TrafficMirrorFilterRuleId: ids.rule,
            TrafficMirrorFilterId: ids.filter,
            TrafficDirection: 'ingress',
            RuleNumber: 100,
            RuleAction: 'accept',
            Protocol: 6,
            DestinationPortRange: { FromPort: 80, ToPort: 80 },
            DestinationCidrBlock: '0.0.0.0/0',
            SourceCidrBlock: '0.0.0.0/0',
          },
        ],
        EgressFilterRules: [],
        NetworkServices: [],
        Tags: [],
      },
    ],
  })
  const sessions = ds.TrafficMirrorSessions as Record<string, unknown>[]
  assert.equal(sessions.length, 1)
  assert.deepEqual(Object.keys(sessions[0]).sort(), [
    'NetworkInterfaceId',
    'OwnerId',
    'SessionNumber',
    'Tags',
    'TrafficMirrorFilterId',
    'TrafficMirrorSessionId',
    'TrafficMirrorTargetId',
    'VirtualNetworkId',
  ])
  const fls = dfl.FlowLogs as Record<string, unknown>[]
  assert.equal(fls.length, 1)
  const x = fls[0]
  assert.equal(x.FlowLogId, ids.flowLog)
  assert.equal(x.ResourceId, vpcId)
  assert.equal(x.TrafficType, 'ALL')
  assert.equal(x.LogDestinationType, 's3')
  assert.equal(x.LogDestination, 'arn:aws:s3:::my-bucket/prefix')
  assert.equal(x.FlowLogStatus, 'ACTIVE')
  assert.equal(x.MaxAggregationInterval, 600)
  assert.deepEqual(x.Tags, [])
  assert.ok(!Number.isNaN(Date.parse(x.CreationTime as string)), `CreationTime ${String(x.CreationTime)}`)
  const known = new Set([
    'CreationTime',
    'DeliverLogsErrorMessage',
    'DeliverLogsPermissionArn',
    'DeliverCrossAccountRole',
    'DeliverLogsStatus',
    'FlowLogId',
    'FlowLogStatus',
    'LogGroupName',
    'ResourceId',
    'TrafficType',
    'LogDestinationType',
    'LogDestination',
    'LogFormat',
    'Tags',
    'MaxAggregationInterval',
    'DestinationOptions',
  ])
  for (const k of Object.keys(x)) assert.ok(known.has(k), `unexpected FlowLog member ${k}`)
})

test('modify actions through the CLI', async () => {
  const [ns, mr] = await Promise.all([
    ok(
      'ec2',
      'modify-traffic-mirror-filter-network-services',
      '--traffic-mirror-filter-id',
      ids.filter,
      '--add-network-services',
      'amazon-dns',
    ),
    ok(
      'ec2',
      'modify-traffic-mirror-filter-rule',
      '--traffic-mirror-filter-rule-id',
      ids.rule,
      '--rule-number',
      '110',
      '--remove-fields',
      'destination-port-range',
      'protocol',
      '--description',
      'all traffic',
    ),
  ])
  assert.deepEqual((ns.TrafficMirrorFilter as { NetworkServices: string[] }).NetworkServices, ['amazon-dns'])
  assert.deepEqual(mr, {
    TrafficMirrorFilterRule: {
      TrafficMirrorFilterRuleId: ids.rule,
      TrafficMirrorFilterId: ids.filter,
      TrafficDirection: 'ingress',
      RuleNumber: 110,
      RuleAction: 'accept',
      DestinationCidrBlock: '0.0.0.0/0',
      SourceCidrBlock: '0.0.0.0/0',
      Description: 'all traffic',
    },
  })
  const ms = await ok(
    'ec2',
    'modify-traffic-mirror-session',
    '--traffic-mirror-session-id',
    ids.session,
    '--packet-length',
    '128',
    '--session-number',
    '2',
    '--description',
    'truncated',
  )
  const s = ms.TrafficMirrorSession as Record<string, unknown>
  assert.equal(s.PacketLength, 128)
  assert.equal(s.SessionNumber, 2)
  assert.equal(s.Description, 'truncated')
  const back = await ok(
    'ec2',
    'modify-traffic-mirror-session',
    '--traffic-mirror-session-id',
    ids.session,
    '--remove-fields',
    'packet-length',
    'description',
  )
  const b = back.TrafficMirrorSession as Record<string, unknown>
  assert.equal(b.PacketLength, undefined)
  assert.equal(b.Description, undefined)
})

test('documented errors through the CLI (exit 254, code and operation on stderr)', async () => {
  const [dir, tgtInUse, fltInUse, srcIsTgt, notFound, dry, dep, badFilter] = await Promise.all([
    cli.run(
      ...'ec2 create-traffic-mirror-filter-rule --traffic-mirror-filter-id'.split(' '),
      ids.filter,
      ...'--traffic-direction both --rule-number 5 --rule-action accept --source-cidr-block 0.0.0.0/0 --destination-cidr-block 0.0.0.0/0'.split(
        ' ',
      ),
    ),
    cli.run('ec2', 'delete-traffic-mirror-target', '--traffic-mirror-target-id', ids.target),
    cli.run('ec2', 'delete-traffic-mirror-filter', '--traffic-mirror-filter-id', ids.filter),
    cli.run(
      'ec2',
      'create-traffic-mirror-session',
      '--network-interface-id',
      tgtEni.NetworkInterfaceId,
      '--traffic-mirror-target-id',
      ids.target,
      '--traffic-mirror-filter-id',
      ids.filter,
      '--session-number',
      '3',
    ),
    cli.run('ec2', 'describe-traffic-mirror-targets', '--traffic-mirror-target-ids', 'tmt-0123456789abcdef0'),
    cli.run('ec2', 'describe-traffic-mirror-sessions', '--dry-run'),
    cli.run('ec2', 'delete-vpc', '--vpc-id', vpcId),
    cli.run('ec2', 'describe-traffic-mirror-filters', '--filters', 'Name=no-such-filter,Values=x'),
  ])
  failed(dir, 'InvalidParameterValue', 'CreateTrafficMirrorFilterRule')
  failed(tgtInUse, 'TrafficMirrorTargetInUseException', 'DeleteTrafficMirrorTarget')
  failed(fltInUse, 'TrafficMirrorFilterInUse', 'DeleteTrafficMirrorFilter')
  failed(srcIsTgt, 'InterfaceInUseByTrafficMirrorTarget', 'CreateTrafficMirrorSession')
  failed(notFound, 'InvalidTrafficMirrorTargetId.NotFound', 'DescribeTrafficMirrorTargets')
  failed(dry, 'DryRunOperation', 'DescribeTrafficMirrorSessions')
  failed(dep, 'DependencyViolation', 'DeleteVpc')
  assert.equal(badFilter.code, 254, badFilter.stderr)
  assert.match(
    badFilter.stderr,
    /An error occurred \((InvalidParameterValue|InvalidFilter)\) when calling the DescribeTrafficMirrorFilters operation/,
  )
})

test('one documented error for each remaining action, through the CLI', async () => {
  const results = await Promise.all([
    cli.run('ec2', 'describe-vpcs', '--vpc-ids', 'vpc-0123456789abcdef0'),
    cli.run('ec2', 'create-subnet', '--vpc-id', vpcId, '--cidr-block', '10.9.0.0/24'),
    cli.run('ec2', 'describe-network-interfaces', '--network-interface-ids', 'eni-0123456789abcdef0'),
    cli.run('ec2', 'describe-instances', '--instance-ids', 'i-0123456789abcdef0'),
    cli.run('ec2', 'create-traffic-mirror-target', '--network-interface-id', srcEni.NetworkInterfaceId),
    cli.run(
      'ec2',
      'modify-traffic-mirror-filter-network-services',
      '--traffic-mirror-filter-id',
      ids.filter,
      '--add-network-services',
      'amazon-ntp',
    ),
    cli.run(
      'ec2',
      'modify-traffic-mirror-filter-rule',
      '--traffic-mirror-filter-rule-id',
      'tmfr-0123456789abcdef0',
      '--rule-action',
      'accept',
    ),
    cli.run(
      'ec2',
      'modify-traffic-mirror-session',
      '--traffic-mirror-session-id',
      ids.session,
      '--packet-length',
      '9000',
    ),
    cli.run('ec2', 'delete-traffic-mirror-filter-rule', '--traffic-mirror-filter-rule-id', 'tmfr-x'),
    cli.run(
      ...'ec2 create-flow-logs --resource-type VPC --resource-ids'.split(' '),
      vpcId,
      ...'--traffic-type SOME --log-destination-type s3 --log-destination arn:aws:s3:::my-bucket/prefix'.split(
        ' ',
      ),
    ),
    cli.run('ec2', 'delete-tags', '--resources', 'bogus-123', '--tags', 'Key=a'),
  ])
  const want: [string | string[], string][] = [
    ['InvalidVpcID.NotFound', 'DescribeVpcs'],
    ['InvalidSubnet.Range', 'CreateSubnet'],
    ['InvalidNetworkInterfaceID.NotFound', 'DescribeNetworkInterfaces'],
    ['InvalidInstanceID.NotFound', 'DescribeInstances'],
    ['InterfaceInUseByTrafficMirrorSession', 'CreateTrafficMirrorTarget'],
    ['InvalidParameterValue', 'ModifyTrafficMirrorFilterNetworkServices'],
    ['InvalidTrafficMirrorFilterRuleId.NotFound', 'ModifyTrafficMirrorFilterRule'],
    ['InvalidParameterValue', 'ModifyTrafficMirrorSession'],
    ['InvalidTrafficMirrorFilterRuleId.Malformed', 'DeleteTrafficMirrorFilterRule'],
    ['InvalidParameterValue', 'CreateFlowLogs'],
    ['InvalidID', 'DeleteTags'],
  ]
  results.forEach((r, i) => failed(r, want[i][0], want[i][1]))
})

test('tags through the CLI: create-tags, describe-tags, tag specifications, delete-tags', async () => {
  const f = await ok(
    'ec2',
    'create-traffic-mirror-filter',
    '--description',
    'tagged',
    '--tag-specifications',
    'ResourceType=traffic-mirror-filter,Tags=[{Key=Name,Value=prod},{Key=env,Value=dev}]',
  )
  const fid = (f.TrafficMirrorFilter as { TrafficMirrorFilterId: string }).TrafficMirrorFilterId
  assert.deepEqual((f.TrafficMirrorFilter as { Tags: unknown }).Tags, [
    { Key: 'Name', Value: 'prod' },
    { Key: 'env', Value: 'dev' },
  ])
  const created = await cli.run(
    'ec2',
    'create-tags',
    '--resources',
    ids.target,
    fid,
    '--tags',
    'Key=owner,Value=secops',
  )
  assert.equal(created.code, 0, created.stderr)
  assert.equal(created.stdout.trim(), '', 'a response with only requestId prints nothing (§6)')
  const d = await ok('ec2', 'describe-tags', '--filters', 'Name=key,Values=owner')
  assert.deepEqual(
    (d.Tags as Record<string, string>[])
      .map((t) => `${t.ResourceType} ${t.ResourceId} ${t.Key}=${t.Value}`)
      .sort(),
    [`traffic-mirror-filter ${fid} owner=secops`, `traffic-mirror-target ${ids.target} owner=secops`].sort(),
  )
  const del = await cli.run('ec2', 'delete-tags', '--resources', fid, '--tags', 'Key=owner')
  assert.equal(del.code, 0, del.stderr)
  const after = await ok('ec2', 'describe-tags', '--filters', `Name=resource-id,Values=${fid}`)
  assert.deepEqual((after.Tags as { Key: string }[]).map((t) => t.Key).sort(), ['Name', 'env'])
  const bad = await cli.run('ec2', 'create-tags', '--resources', fid, '--tags', 'Key=aws:reserved,Value=x')
  failed(bad, 'InvalidParameterValue', 'CreateTags')
})

test('pagination through the CLI: --page-size follows nextToken, --max-items stops early', async () => {
  for (let i = 0; i < 11; i++)
    await srv.ec2.send(new CreateTrafficMirrorFilterCommand({ Description: `cli-page-${i}` }))
  const [all, paged, first] = await Promise.all([
    ok('ec2', 'describe-traffic-mirror-filters', '--no-paginate'),
    ok('ec2', 'describe-traffic-mirror-filters', '--page-size', '5'),
    ok('ec2', 'describe-traffic-mirror-filters', '--max-items', '3'),
  ])
  const idsOf = (o: Record<string, unknown>): string[] =>
    (o.TrafficMirrorFilters as { TrafficMirrorFilterId: string }[]).map((x) => x.TrafficMirrorFilterId)
  assert.ok(idsOf(all).length >= 13)
  assert.deepEqual([...idsOf(paged)].sort(), [...idsOf(all)].sort())
  assert.equal(new Set(idsOf(paged)).size, idsOf(paged).length)
  assert.equal(idsOf(first).length, 3)
  assert.equal(typeof first.NextToken, 'string')
  // The CLI's client-side check (MaxResults ≥ 5) never reaches the server: exit 252.
  const small = await cli.run('ec2', 'describe-traffic-mirror-sessions', '--max-results', '3')
  assert.equal(small.code, 252)
})

test('ClientToken through the CLI: a retry returns the same filter', async () => {
  const [a, b] = [
    await ok(
      'ec2',
      'create-traffic-mirror-filter',
      '--description',
      'retry',
      '--client-token',
      'cli-token-1',
    ),
    await ok(
      'ec2',
      'create-traffic-mirror-filter',
      '--description',
      'retry',
      '--client-token',
      'cli-token-1',
    ),
  ]
  assert.deepEqual(b, a)
  const c = await cli.run(
    'ec2',
    'create-traffic-mirror-filter',
    '--description',
    'changed',
    '--client-token',
    'cli-token-1',
  )
  failed(c, 'IdempotentParameterMismatch', 'CreateTrafficMirrorFilter')
})

test('delete actions through the CLI, in dependency order', async () => {
  const ds = await ok('ec2', 'delete-traffic-mirror-session', '--traffic-mirror-session-id', ids.session)
  assert.deepEqual(ds, { TrafficMirrorSessionId: ids.session })
  const [dr, dt, dfl] = await Promise.all([
    ok('ec2', 'delete-traffic-mirror-filter-rule', '--traffic-mirror-filter-rule-id', ids.rule),
    ok('ec2', 'delete-traffic-mirror-target', '--traffic-mirror-target-id', ids.target),
    ok('ec2', 'delete-flow-logs', '--flow-log-ids', ids.flowLog),
  ])
  assert.deepEqual(dr, { TrafficMirrorFilterRuleId: ids.rule })
  assert.deepEqual(dt, { TrafficMirrorTargetId: ids.target })
  assert.deepEqual(dfl, { Unsuccessful: [] })
  const df = await ok('ec2', 'delete-traffic-mirror-filter', '--traffic-mirror-filter-id', ids.filter)
  assert.deepEqual(df, { TrafficMirrorFilterId: ids.filter })
  const [again, spareTarget] = await Promise.all([
    cli.run('ec2', 'delete-traffic-mirror-session', '--traffic-mirror-session-id', ids.session),
    ok(
      'ec2',
      'create-traffic-mirror-target',
      '--network-interface-id',
      spareEni.NetworkInterfaceId,
      '--description',
      'Network interface target',
    ),
  ])
  failed(again, 'InvalidTrafficMirrorSessionId.NotFound', 'DeleteTrafficMirrorSession')
  assert.equal(
    (spareTarget.TrafficMirrorTarget as { Description: string }).Description,
    'Network interface target',
  )
  const sub2 = await ok('ec2', 'create-subnet', '--vpc-id', vpcId, '--cidr-block', '10.1.3.0/24')
  const sid = (sub2.Subnet as { SubnetId: string }).SubnetId
  const dsub = await cli.run('ec2', 'delete-subnet', '--subnet-id', sid)
  assert.equal(dsub.code, 0, dsub.stderr)
  const spare = await ok('ec2', 'create-vpc', '--cidr-block', '192.168.0.0/16')
  const spareId = (spare.Vpc as { VpcId: string }).VpcId
  // A separate /usr/bin/aws process (the file's one).
  const dvpc = await srv.aws('ec2', 'delete-vpc', '--vpc-id', spareId)
  assert.equal(dvpc.code, 0, dvpc.stderr)
  assert.equal(dvpc.stdout.trim(), '')
})
