// test-group: process
// SPDX-License-Identifier: Apache-2.0
// Issue 13 (IAM, STS, the authorization step) with the real AWS CLI against one server: a user allowed
// only ec2:Describe* lists sessions but cannot create one; a tag condition lets a team manage only
// its own sessions; an explicit deny beats an allow; an assumed role's key works until it expires;
// get-caller-identity names the caller; the AWS documentation's policy examples for traffic
// mirroring and flow logs; malformed policies; decode-authorization-message. Each CLI run costs about
// a CPU-second: set-up that no assertion is about (resources, most users) goes through the SDK or
// the signed API; every assertion of the list is a real `aws` run.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  CreateSubnetCommand,
  CreateTrafficMirrorFilterCommand,
  CreateTrafficMirrorSessionCommand,
  CreateTrafficMirrorTargetCommand,
  CreateVpcCommand,
  DeleteTrafficMirrorSessionCommand,
} from '@aws-sdk/client-ec2'
import {
  AWS_CLI,
  cliEnv,
  registerInterfaceApi,
  run,
  startApiTestServer,
  type ApiTestServer,
  type CliResult,
} from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

let srv: ApiTestServer
let cli: AwsBatch
/** The authorization step's clock offset (ms): moved forward to expire temporary credentials. */
let skew = 0
const ACCOUNT = '123456789012'
let eni = ''
let eni2 = ''
let target = ''
let target2 = ''
let filter = ''

interface Key {
  AccessKeyId: string
  SecretAccessKey: string
  SessionToken?: string
}

/** The environment of a command signed with `key` (the admin's profile when undefined). */
function keyEnv(key: Key | undefined): Record<string, string | undefined> {
  if (key === undefined) return {}
  return {
    AWS_PROFILE: undefined,
    AWS_ACCESS_KEY_ID: key.AccessKeyId,
    AWS_SECRET_ACCESS_KEY: key.SecretAccessKey,
    AWS_SESSION_TOKEN: key.SessionToken,
    AWS_DEFAULT_REGION: srv.region,
  }
}

/** `aws ARGS` signed with `key` (the admin's profile when undefined), in the batch. */
function as(key: Key | undefined, ...args: string[]): Promise<CliResult> {
  return cli.runAs(keyEnv(key), ...args)
}

/** `aws ARGS` signed with `key`, as a separate /usr/bin/aws process. */
function asProcess(key: Key | undefined, ...args: string[]): Promise<CliResult> {
  const env = cliEnv(srv.dataDir)
  if (key !== undefined) {
    delete env.AWS_PROFILE
    env.AWS_ACCESS_KEY_ID = key.AccessKeyId
    env.AWS_SECRET_ACCESS_KEY = key.SecretAccessKey
    if (key.SessionToken !== undefined) env.AWS_SESSION_TOKEN = key.SessionToken
    env.AWS_DEFAULT_REGION = srv.region
  }
  return run(AWS_CLI, [...args, '--endpoint-url', srv.url, '--output', 'json'], env)
}

async function ok(key: Key | undefined, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await as(key, ...args)
  assert.equal(r.code, 0, `${args.join(' ')} failed: ${r.stderr}${r.stdout}`)
  return (r.json ?? {}) as Record<string, unknown>
}

/** The CLI printed exactly this service error for this operation (exit 254); returns the message. */
async function fails(
  key: Key | undefined,
  code: string,
  operation: string,
  ...args: string[]
): Promise<string> {
  const r = await as(key, ...args)
  assert.equal(r.code, 254, `want exit 254, got ${r.code}: ${r.stderr}${r.stdout}`)
  const m =
    /An error occurred \(([^)]+)\) when calling the (\w+) operation(?: \(reached max retries: \d+\))?: (.*)/.exec(
      r.stderr,
    )
  assert.ok(m, `no service error on stderr: ${r.stderr}`)
  assert.equal(m[1], code, r.stderr)
  assert.equal(m[2], operation)
  return m[3]!
}

/** An IAM Query call signed by the admin, without the CLI (set-up that no assertion is about). */
async function iamCall(params: Record<string, string>): Promise<string> {
  const r = await srv.signed({ Version: '2010-05-08', ...params }, { service: 'iam' })
  assert.equal(r.status, 200, r.body)
  return r.body
}

/**
 * A user with an inline policy (and managed ones), and its access key: through `aws iam` when `cli`
 * (once, for the first user), else through the same API without a CLI process.
 */
async function userWith(
  name: string,
  policy: object | undefined,
  managed: string[] = [],
  cli = false,
): Promise<Key> {
  if (!cli) {
    await iamCall({ Action: 'CreateUser', UserName: name })
    if (policy !== undefined)
      await iamCall({
        Action: 'PutUserPolicy',
        UserName: name,
        PolicyName: 'p',
        PolicyDocument: JSON.stringify(policy),
      })
    for (const arn of managed) await iamCall({ Action: 'AttachUserPolicy', UserName: name, PolicyArn: arn })
    const body = await iamCall({ Action: 'CreateAccessKey', UserName: name })
    return {
      AccessKeyId: /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(body)![1]!,
      SecretAccessKey: /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(body)![1]!,
    }
  }
  await ok(undefined, 'iam', 'create-user', '--user-name', name)
  if (policy !== undefined)
    await ok(
      undefined,
      'iam',
      'put-user-policy',
      '--user-name',
      name,
      '--policy-name',
      'p',
      '--policy-document',
      JSON.stringify(policy),
    )
  for (const arn of managed)
    await ok(undefined, 'iam', 'attach-user-policy', '--user-name', name, '--policy-arn', arn)
  const k = await ok(undefined, 'iam', 'create-access-key', '--user-name', name)
  return k.AccessKey as Key
}

/** A session the admin makes (set-up), through the SDK. */
async function adminSession(number: number, team: string, networkInterface: string): Promise<string> {
  const r = await srv.ec2.send(
    new CreateTrafficMirrorSessionCommand({
      NetworkInterfaceId: networkInterface,
      TrafficMirrorTargetId: target,
      TrafficMirrorFilterId: filter,
      SessionNumber: number,
      TagSpecifications: [{ ResourceType: 'traffic-mirror-session', Tags: [{ Key: 'team', Value: team }] }],
    }),
  )
  return r.TrafficMirrorSession!.TrafficMirrorSessionId!
}

async function adminDelete(...ids: string[]): Promise<void> {
  for (const id of ids)
    await srv.ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: id }))
}

function session(
  key: Key | undefined,
  number: number,
  tags?: string,
  networkInterface = eni,
  tgt = target,
): Promise<CliResult> {
  const args = [
    'ec2',
    'create-traffic-mirror-session',
    '--network-interface-id',
    networkInterface,
    '--traffic-mirror-target-id',
    tgt,
    '--traffic-mirror-filter-id',
    filter,
    '--session-number',
    String(number),
  ]
  if (tags !== undefined)
    args.push('--tag-specifications', `ResourceType=traffic-mirror-session,Tags=[${tags}]`)
  return as(key, ...args)
}

const sessionId = (r: CliResult): string => {
  assert.equal(r.code, 0, r.stderr)
  return (r.json as { TrafficMirrorSession: { TrafficMirrorSessionId: string } }).TrafficMirrorSession
    .TrafficMirrorSessionId
}

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-iam-cli', clock: () => Date.now() + skew })
  cli = new AwsBatch(cliEnv(srv.dataDir), srv.url)
  // Set-up through the SDK: the CLI runs below are the assertions.
  const vpc = await srv.ec2.send(new CreateVpcCommand({ CidrBlock: '10.7.0.0/16' }))
  const sub = await srv.ec2.send(
    new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.7.1.0/24' }),
  )
  const subnetId = sub.Subnet!.SubnetId!
  const enis = await Promise.all(
    ['10.7.1.10', '10.7.1.11', '10.7.1.20', '10.7.1.21'].map((ip) =>
      registerInterfaceApi(srv, { subnetId, privateIp: ip }),
    ),
  )
  eni = enis[0]!.NetworkInterfaceId
  eni2 = enis[1]!.NetworkInterfaceId
  const newTarget = async (e: string): Promise<string> =>
    (await srv.ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: e }))).TrafficMirrorTarget!
      .TrafficMirrorTargetId!
  target = await newTarget(enis[2]!.NetworkInterfaceId)
  target2 = await newTarget(enis[3]!.NetworkInterfaceId)
  filter = (await srv.ec2.send(new CreateTrafficMirrorFilterCommand({}))).TrafficMirrorFilter!
    .TrafficMirrorFilterId!
})

after(async () => {
  await cli?.close()
  await srv?.close()
})

test('get-caller-identity names the caller: the admin key is the IAM user admin', async () => {
  const id = await ok(undefined, 'sts', 'get-caller-identity')
  assert.equal(id.Account, ACCOUNT)
  assert.equal(id.Arn, `arn:aws:iam::${ACCOUNT}:user/admin`)
  assert.match(id.UserId as string, /^AIDA[A-Z2-7]{17}$/)
  const u = await ok(undefined, 'iam', 'get-user')
  assert.equal((u.User as { UserName: string }).UserName, 'admin')
  const attached = await ok(undefined, 'iam', 'list-attached-user-policies', '--user-name', 'admin')
  assert.deepEqual(attached.AttachedPolicies, [
    { PolicyName: 'AdministratorAccess', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
  ])
})

test('a user allowed only ec2:Describe* lists sessions but cannot create one; the message decodes for the admin only', async () => {
  const reader = await userWith(
    'reader',
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] },
    [],
    true,
  )
  const id = await ok(reader, 'sts', 'get-caller-identity')
  assert.equal(id.Arn, `arn:aws:iam::${ACCOUNT}:user/reader`)
  const d = await ok(reader, 'ec2', 'describe-traffic-mirror-sessions')
  assert.ok(Array.isArray(d.TrafficMirrorSessions))
  const msg = await fails(
    reader,
    'UnauthorizedOperation',
    'CreateTrafficMirrorSession',
    ...[
      'ec2',
      'create-traffic-mirror-session',
      '--network-interface-id',
      eni,
      '--traffic-mirror-target-id',
      target,
      '--traffic-mirror-filter-id',
      filter,
      '--session-number',
      '1',
    ],
  )
  assert.match(
    msg,
    /^You are not authorized to perform this operation\. User: arn:aws:iam::123456789012:user\/reader is not authorized to perform: ec2:CreateTrafficMirrorSession on resource: arn:aws:ec2:us-east-1:123456789012:traffic-mirror-session\/\* because no identity-based policy allows the ec2:CreateTrafficMirrorSession action\. Encoded authorization failure message: [A-Za-z0-9_-]+$/,
  )
  const encoded = /Encoded authorization failure message: (\S+)$/.exec(msg)![1]!
  await fails(
    reader,
    'AccessDenied',
    'DecodeAuthorizationMessage',
    'sts',
    'decode-authorization-message',
    '--encoded-message',
    encoded,
  )
  const dec = await ok(undefined, 'sts', 'decode-authorization-message', '--encoded-message', encoded)
  const m = JSON.parse(dec.DecodedMessage as string) as {
    allowed: boolean
    explicitDeny: boolean
    context: { principal: { arn: string }; action: string; resource: string }
  }
  assert.equal(m.allowed, false)
  assert.equal(m.explicitDeny, false)
  assert.equal(m.context.principal.arn, `arn:aws:iam::${ACCOUNT}:user/reader`)
  assert.equal(m.context.action, 'ec2:CreateTrafficMirrorSession')
  await fails(
    undefined,
    'InvalidAuthorizationMessageException',
    'DecodeAuthorizationMessage',
    'sts',
    'decode-authorization-message',
    '--encoded-message',
    'AAAA',
  )
  // IAM answers its own spelling.
  const iamMsg = await fails(
    reader,
    'AccessDenied',
    'CreateUser',
    'iam',
    'create-user',
    '--user-name',
    'mallory',
  )
  assert.equal(
    iamMsg,
    `User: arn:aws:iam::${ACCOUNT}:user/reader is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::${ACCOUNT}:user/mallory because no identity-based policy allows the iam:CreateUser action`,
  )
})

test('a tag condition lets a team manage only the sessions tagged with its name', async () => {
  const blue = await userWith('team-blue', {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' },
      {
        Sid: 'CreateTaggedBlue',
        Effect: 'Allow',
        Action: 'ec2:CreateTrafficMirrorSession',
        Resource: 'arn:aws:ec2:*:*:traffic-mirror-session/*',
        Condition: {
          StringEquals: { 'aws:RequestTag/team': 'blue' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'Name'] },
        },
      },
      {
        Sid: 'UseSources',
        Effect: 'Allow',
        Action: 'ec2:CreateTrafficMirrorSession',
        Resource: [
          'arn:aws:ec2:*:*:network-interface/*',
          'arn:aws:ec2:*:*:traffic-mirror-target/*',
          'arn:aws:ec2:*:*:traffic-mirror-filter/*',
        ],
      },
      {
        Sid: 'ManageOwn',
        Effect: 'Allow',
        Action: ['ec2:DeleteTrafficMirrorSession', 'ec2:ModifyTrafficMirrorSession'],
        Resource: 'arn:aws:ec2:*:*:traffic-mirror-session/*',
        Condition: { StringEquals: { 'ec2:ResourceTag/team': '${aws:username}' } },
      },
    ],
  })
  // ${aws:username} is team-blue: tag the sessions with the user's name.
  const own = sessionId(await session(blue, 10, '{Key=team,Value=blue}'))
  assert.match(own, /^tms-[0-9a-f]{17}$/)
  await fails(
    blue,
    'UnauthorizedOperation',
    'CreateTrafficMirrorSession',
    'ec2',
    'create-traffic-mirror-session',
    '--network-interface-id',
    eni,
    '--traffic-mirror-target-id',
    target,
    '--traffic-mirror-filter-id',
    filter,
    '--session-number',
    '11',
    '--tag-specifications',
    'ResourceType=traffic-mirror-session,Tags=[{Key=team,Value=red}]',
  )
  await fails(
    blue,
    'UnauthorizedOperation',
    'CreateTrafficMirrorSession',
    'ec2',
    'create-traffic-mirror-session',
    '--network-interface-id',
    eni,
    '--traffic-mirror-target-id',
    target,
    '--traffic-mirror-filter-id',
    filter,
    '--session-number',
    '12',
  )
  await fails(
    blue,
    'UnauthorizedOperation',
    'CreateTrafficMirrorSession',
    'ec2',
    'create-traffic-mirror-session',
    '--network-interface-id',
    eni,
    '--traffic-mirror-target-id',
    target,
    '--traffic-mirror-filter-id',
    filter,
    '--session-number',
    '13',
    '--tag-specifications',
    'ResourceType=traffic-mirror-session,Tags=[{Key=team,Value=blue},{Key=owner,Value=x}]',
  )
  const mine = await adminSession(20, 'team-blue', eni2)
  const theirs = await adminSession(21, 'team-red', eni2)
  await ok(
    blue,
    'ec2',
    'modify-traffic-mirror-session',
    '--traffic-mirror-session-id',
    mine,
    '--description',
    'blue',
  )
  await fails(
    blue,
    'UnauthorizedOperation',
    'DeleteTrafficMirrorSession',
    'ec2',
    'delete-traffic-mirror-session',
    '--traffic-mirror-session-id',
    theirs,
  )
  await fails(
    blue,
    'UnauthorizedOperation',
    'DeleteTrafficMirrorSession',
    'ec2',
    'delete-traffic-mirror-session',
    '--traffic-mirror-session-id',
    own,
  )
  await ok(blue, 'ec2', 'delete-traffic-mirror-session', '--traffic-mirror-session-id', mine)
  await adminDelete(theirs, own)
})

test('an explicit deny beats an allow, from a group too', async () => {
  const ops = await userWith(
    'ops',
    {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 'ec2:DeleteTrafficMirror*', Resource: '*' }],
    },
    ['arn:aws:iam::aws:policy/AdministratorAccess'],
  )
  const s = sessionId(await session(ops, 30))
  const msg = await fails(
    ops,
    'UnauthorizedOperation',
    'DeleteTrafficMirrorSession',
    'ec2',
    'delete-traffic-mirror-session',
    '--traffic-mirror-session-id',
    s,
  )
  assert.match(msg, /with an explicit deny in an identity-based policy\. Encoded/)
  await ok(undefined, 'iam', 'create-group', '--group-name', 'no-iam')
  await ok(
    undefined,
    'iam',
    'put-group-policy',
    '--group-name',
    'no-iam',
    '--policy-name',
    'd',
    '--policy-document',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 'iam:*', Resource: '*' }],
    }),
  )
  await ok(ops, 'iam', 'list-users')
  await ok(undefined, 'iam', 'add-user-to-group', '--group-name', 'no-iam', '--user-name', 'ops')
  await fails(ops, 'AccessDenied', 'ListUsers', 'iam', 'list-users')
  const groups = await ok(undefined, 'iam', 'list-groups-for-user', '--user-name', 'ops')
  assert.deepEqual(
    (groups.Groups as { GroupName: string }[]).map((g) => g.GroupName),
    ['no-iam'],
  )
  await adminDelete(s)
})

test("an assumed role's temporary key works until it expires", async () => {
  const dev = await userWith('dev', {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${ACCOUNT}:role/auditor` },
    ],
  })
  const trust = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/dev` }, Action: 'sts:AssumeRole' },
    ],
  }
  const role = await ok(
    undefined,
    'iam',
    'create-role',
    '--role-name',
    'auditor',
    '--assume-role-policy-document',
    JSON.stringify(trust),
  )
  assert.deepEqual((role.Role as { AssumeRolePolicyDocument: unknown }).AssumeRolePolicyDocument, trust)
  await ok(
    undefined,
    'iam',
    'attach-role-policy',
    '--role-name',
    'auditor',
    '--policy-arn',
    'arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess',
  )
  // A user whose policies do not allow sts:AssumeRole cannot, whatever the trust policy says.
  const none = await userWith('no-assume', undefined)
  await fails(
    none,
    'AccessDenied',
    'AssumeRole',
    'sts',
    'assume-role',
    '--role-arn',
    `arn:aws:iam::${ACCOUNT}:role/auditor`,
    '--role-session-name',
    'ss',
  )
  const a = await ok(
    dev,
    'sts',
    'assume-role',
    '--role-arn',
    `arn:aws:iam::${ACCOUNT}:role/auditor`,
    '--role-session-name',
    'audit-1',
    '--duration-seconds',
    '900',
  )
  const creds = a.Credentials as Key & { Expiration: string }
  assert.match(creds.AccessKeyId, /^ASIA[A-Z2-7]{16}$/)
  assert.equal(
    (a.AssumedRoleUser as { Arn: string }).Arn,
    `arn:aws:sts::${ACCOUNT}:assumed-role/auditor/audit-1`,
  )
  const id = await ok(creds, 'sts', 'get-caller-identity')
  assert.equal(id.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/auditor/audit-1`)
  await ok(creds, 'ec2', 'describe-traffic-mirror-sessions')
  await fails(
    creds,
    'UnauthorizedOperation',
    'CreateTrafficMirrorFilter',
    'ec2',
    'create-traffic-mirror-filter',
  )
  // Without its session token the key is refused; with a wrong one too.
  await fails(
    { AccessKeyId: creds.AccessKeyId, SecretAccessKey: creds.SecretAccessKey },
    'InvalidClientTokenId',
    'GetCallerIdentity',
    'sts',
    'get-caller-identity',
  )
  await fails(
    { ...creds, SessionToken: `${creds.SessionToken!.slice(0, -4)}AAAA` },
    'AuthFailure',
    'DescribeVpcs',
    'ec2',
    'describe-vpcs',
  )
  // A long-term key that carries a session token is refused too (the user's own key, a stale token).
  const reader = await userWith('token-holder', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
  })
  await fails(
    { ...reader, SessionToken: creds.SessionToken! },
    'InvalidClientTokenId',
    'GetCallerIdentity',
    'sts',
    'get-caller-identity',
  )
  await fails({ ...reader, SessionToken: 'bogus' }, 'AuthFailure', 'DescribeVpcs', 'ec2', 'describe-vpcs')
  await ok(reader, 'ec2', 'describe-vpcs')
  skew = 901_000
  try {
    await fails(
      creds,
      'RequestExpired',
      'DescribeTrafficMirrorSessions',
      'ec2',
      'describe-traffic-mirror-sessions',
    )
    await fails(creds, 'ExpiredToken', 'GetCallerIdentity', 'sts', 'get-caller-identity')
  } finally {
    skew = 0
  }
  // A user the trust policy does not name is refused by it, even with sts:AssumeRole allowed.
  const other = await userWith('other', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
  })
  await fails(
    other,
    'AccessDenied',
    'AssumeRole',
    'sts',
    'assume-role',
    '--role-arn',
    `arn:aws:iam::${ACCOUNT}:role/auditor`,
    '--role-session-name',
    's1',
  )
})

test("the AWS documentation's traffic mirroring example: sessions only to one target", async () => {
  // The example names the target, filters and interfaces; the session itself is a resource of the
  // action too (as the EC2 actions reference lists it), so a statement grants it.
  const doc = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'ec2:CreateTrafficMirrorSession',
        Resource: [
          `arn:aws:ec2:*:*:traffic-mirror-target/${target}`,
          'arn:aws:ec2:*:*:traffic-mirror-filter/*',
          'arn:aws:ec2:*:*:network-interface/*',
        ],
      },
      {
        Effect: 'Allow',
        Action: 'ec2:CreateTrafficMirrorSession',
        Resource: 'arn:aws:ec2:*:*:traffic-mirror-session/*',
      },
    ],
  }
  const mirror = await userWith('mirror-op', doc)
  const s = sessionId(await session(mirror, 40))
  const msg = await fails(
    mirror,
    'UnauthorizedOperation',
    'CreateTrafficMirrorSession',
    'ec2',
    'create-traffic-mirror-session',
    '--network-interface-id',
    eni,
    '--traffic-mirror-target-id',
    target2,
    '--traffic-mirror-filter-id',
    filter,
    '--session-number',
    '41',
  )
  assert.match(
    msg,
    new RegExp(`on resource: arn:aws:ec2:us-east-1:${ACCOUNT}:traffic-mirror-target/${target2} because`),
  )
  await adminDelete(s)
})

test("the AWS documentation's flow-log examples: the delivery role's policy and trust, a user's flow-log policy, the region restriction", async () => {
  const trust = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'vpc-flow-logs.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  }
  const rolePolicy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogGroups',
          'logs:DescribeLogStreams',
        ],
        Resource: '*',
      },
    ],
  }
  await ok(
    undefined,
    'iam',
    'create-role',
    '--role-name',
    'flow-logs-role',
    '--assume-role-policy-document',
    JSON.stringify(trust),
  )
  await ok(
    undefined,
    'iam',
    'put-role-policy',
    '--role-name',
    'flow-logs-role',
    '--policy-name',
    'deliver',
    '--policy-document',
    JSON.stringify(rolePolicy),
  )
  const got = await ok(
    undefined,
    'iam',
    'get-role-policy',
    '--role-name',
    'flow-logs-role',
    '--policy-name',
    'deliver',
  )
  assert.deepEqual(got.PolicyDocument, rolePolicy)
  // Its trust policy names a service, not users: the admin cannot assume it.
  await fails(
    undefined,
    'AccessDenied',
    'AssumeRole',
    'sts',
    'assume-role',
    '--role-arn',
    `arn:aws:iam::${ACCOUNT}:role/flow-logs-role`,
    '--role-session-name',
    'xx',
  )
  const fl = await userWith('flowlogs-op', {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['ec2:DeleteFlowLogs', 'ec2:CreateFlowLogs', 'ec2:DescribeFlowLogs', 'logs:GetLogEvents'],
        Resource: '*',
      },
    ],
  })
  const created = await ok(
    fl,
    'ec2',
    'create-flow-logs',
    '--resource-type',
    'NetworkInterface',
    '--resource-ids',
    eni,
    '--traffic-type',
    'ALL',
    '--log-destination-type',
    's3',
    '--log-destination',
    'arn:aws:s3:::flow-bucket/x/',
  )
  const ids = created.FlowLogIds as string[]
  assert.equal(ids.length, 1, JSON.stringify(created))
  await fails(fl, 'UnauthorizedOperation', 'CreateTrafficMirrorFilter', 'ec2', 'create-traffic-mirror-filter')
  await ok(fl, 'ec2', 'delete-flow-logs', '--flow-log-ids', ids[0]!)
  // The EC2 guide's region restriction: ec2:* in eu-central-1 only.
  const frankfurt = await userWith('frankfurt', {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'ec2:*',
        Resource: '*',
        Condition: { StringEquals: { 'ec2:Region': 'eu-central-1' } },
      },
    ],
  })
  await fails(frankfurt, 'UnauthorizedOperation', 'DescribeVpcs', 'ec2', 'describe-vpcs')
})

test('malformed policy documents get MalformedPolicyDocument with the reason; managed policies and versions', async () => {
  const m1 = await fails(
    undefined,
    'MalformedPolicyDocument',
    'CreatePolicy',
    'iam',
    'create-policy',
    '--policy-name',
    'bad',
    '--policy-document',
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"CreateVpc","Resource":"*"}]}',
  )
  assert.equal(m1, 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.')
  const m2 = await fails(
    undefined,
    'MalformedPolicyDocument',
    'PutUserPolicy',
    'iam',
    'put-user-policy',
    '--user-name',
    'reader',
    '--policy-name',
    'x',
    '--policy-document',
    '{"Statement":[{"Effect":"Allow","Action":"ec2:*"}]}',
  )
  assert.equal(m2, 'Policy statement must contain resources.')
  const p = await ok(
    undefined,
    'iam',
    'create-policy',
    '--policy-name',
    'describe-only',
    '--policy-document',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
    }),
  )
  const arn = (p.Policy as { Arn: string }).Arn
  assert.equal(arn, `arn:aws:iam::${ACCOUNT}:policy/describe-only`)
  const v2doc = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['ec2:Describe*', 'sts:DecodeAuthorizationMessage'], Resource: '*' },
    ],
  }
  await ok(
    undefined,
    'iam',
    'create-policy-version',
    '--policy-arn',
    arn,
    '--policy-document',
    JSON.stringify(v2doc),
    '--set-as-default',
  )
  const v = await ok(undefined, 'iam', 'get-policy-version', '--policy-arn', arn, '--version-id', 'v2')
  assert.deepEqual((v.PolicyVersion as { Document: unknown }).Document, v2doc)
  assert.equal((v.PolicyVersion as { IsDefaultVersion: boolean }).IsDefaultVersion, true)
  await ok(undefined, 'iam', 'attach-user-policy', '--user-name', 'reader', '--policy-arn', arn)
  const got = await ok(undefined, 'iam', 'get-policy', '--policy-arn', arn)
  assert.equal((got.Policy as { AttachmentCount: number }).AttachmentCount, 1)
  const aws = await ok(undefined, 'iam', 'list-policies', '--scope', 'AWS')
  const names = (aws.Policies as { PolicyName: string; Arn: string }[]).map((x) => x.Arn)
  for (const n of [
    'AdministratorAccess',
    'AmazonVPCFullAccess',
    'AmazonVPCReadOnlyAccess',
    'AmazonEC2ReadOnlyAccess',
  ])
    assert.ok(names.includes(`arn:aws:iam::aws:policy/${n}`), n)
  await fails(undefined, 'NoSuchEntity', 'GetUser', 'iam', 'get-user', '--user-name', 'nobody')
  await fails(undefined, 'EntityAlreadyExists', 'CreateUser', 'iam', 'create-user', '--user-name', 'reader')
  await fails(undefined, 'DeleteConflict', 'DeleteUser', 'iam', 'delete-user', '--user-name', 'reader')
  const keys = await ok(undefined, 'iam', 'list-access-keys', '--user-name', 'reader')
  const keyId = (keys.AccessKeyMetadata as { AccessKeyId: string }[])[0]!.AccessKeyId
  await ok(
    undefined,
    'iam',
    'update-access-key',
    '--user-name',
    'reader',
    '--access-key-id',
    keyId,
    '--status',
    'Inactive',
  )
  const listed = await ok(undefined, 'iam', 'list-access-keys', '--user-name', 'reader')
  assert.equal((listed.AccessKeyMetadata as { Status: string }[])[0]!.Status, 'Inactive')
})

test('the List… actions answer what exists, by path prefix and by user (signed API, no CLI)', async () => {
  await iamCall({
    Action: 'CreateUser',
    UserName: 'lister',
    Path: '/ops/',
    'Tags.member.1.Key': 'team',
    'Tags.member.1.Value': 'blue',
  })
  await iamCall({ Action: 'CreateGroup', GroupName: 'listers', Path: '/ops/' })
  await iamCall({ Action: 'AddUserToGroup', GroupName: 'listers', UserName: 'lister' })
  await iamCall({
    Action: 'CreateRole',
    RoleName: 'list-role',
    Path: '/ops/',
    AssumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  })
  const names = (body: string, tag: string): string[] =>
    [...body.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]!)
  assert.deepEqual(names(await iamCall({ Action: 'ListUsers', PathPrefix: '/ops/' }), 'UserName'), ['lister'])
  assert.deepEqual(names(await iamCall({ Action: 'ListGroups', PathPrefix: '/ops/' }), 'GroupName'), [
    'listers',
  ])
  assert.deepEqual(names(await iamCall({ Action: 'ListRoles', PathPrefix: '/ops/' }), 'RoleName'), [
    'list-role',
  ])
  assert.deepEqual(names(await iamCall({ Action: 'ListGroupsForUser', UserName: 'lister' }), 'GroupName'), [
    'listers',
  ])
  const tags = await iamCall({ Action: 'ListUserTags', UserName: 'lister' })
  assert.deepEqual([names(tags, 'Key'), names(tags, 'Value')], [['team'], ['blue']])
  assert.match(tags, /<IsTruncated>false<\/IsTruncated>/)
  const one = await iamCall({ Action: 'ListUsers', MaxItems: '1' })
  assert.equal(names(one, 'UserName').length, 1)
  assert.match(one, /<IsTruncated>true<\/IsTruncated><Marker>1<\/Marker>/)
  const missing = await srv.signed(
    { Version: '2010-05-08', Action: 'ListUserTags', UserName: 'nobody' },
    { service: 'iam' },
  )
  assert.equal(missing.status, 404)
  assert.match(missing.body, /<Code>NoSuchEntity<\/Code>/)
})

test('a separate /usr/bin/aws process signed with a user key prints what the batched CLI prints', async () => {
  const key = await userWith('solo', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }],
  })
  const unknown = { AccessKeyId: 'AKIAIOSFODNN7EXAMPLE', SecretAccessKey: key.SecretAccessKey }
  for (const [k, args, code] of [
    [key, ['sts', 'get-caller-identity'], 0],
    [unknown, ['sts', 'get-caller-identity'], 254],
    [undefined, ['iam', 'get-user', '--user-name', 'solo'], 0],
  ] as const) {
    const [own, batched] = [await asProcess(k, ...args), await as(k, ...args)]
    assert.equal(own.code, code, own.stderr)
    assert.deepEqual([batched.code, batched.stdout, batched.stderr], [own.code, own.stdout, own.stderr])
  }
})
