// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * CloudTrail end to end with the real AWS CLI: a trail created and started with `aws cloudtrail`,
 * calls that succeed, fail (a missing VPC), are refused by policy (a user allowed only ec2:Describe*
 * creating a session), or fail
 * authentication (an unknown key) are found by `aws cloudtrail lookup-events` with their error
 * codes and the callers' ARNs; the trail's log files on disk (delivered at shutdown) hold the same
 * events; `mirrorflow trail validate` accepts the files and detects a changed byte; no secret is in
 * any record. The CLI commands run through `AwsBatch` (the unmodified /usr/bin/aws script once per
 * command in one Python process, each command with its caller's keys in its own environment): a
 * separate `aws` process costs about a CPU-second for its start and imports. The failed call of the
 * second test is a separate /usr/bin/aws process, so the trail also records one from a CLI of its own.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { startServer, type RunningServer } from '../../src/api/index.ts'
import { REPO_ROOT } from '../helpers/shared.ts'
import { AWS_CLI, cliEnv, run, type CliResult } from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

let dataDir: string
let srv: RunningServer | undefined
let env: NodeJS.ProcessEnv
let cli: AwsBatch

function aws(...args: string[]): Promise<CliResult> {
  return cli.run(...args)
}
/** `aws ARGS` as a separate /usr/bin/aws process. */
function awsProcess(...args: string[]): Promise<CliResult> {
  return run(AWS_CLI, [...args, '--endpoint-url', srv!.url, '--output', 'json'], env)
}
function awsAs(key: { id: string; secret: string }, ...args: string[]): Promise<CliResult> {
  return cli.runAs(
    {
      AWS_PROFILE: undefined,
      AWS_ACCESS_KEY_ID: key.id,
      AWS_SECRET_ACCESS_KEY: key.secret,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_CONFIG_FILE: '/dev/null',
    },
    ...args,
  )
}
function mirrorflow(...args: string[]): Promise<CliResult> {
  return run(process.execPath, [join(REPO_ROOT, 'bin/mirrorflow.mjs'), ...args], env)
}

interface LookupEvent {
  EventId: string
  EventName: string
  Username?: string
  AccessKeyId?: string
  CloudTrailEvent: string
  Resources: { ResourceType: string; ResourceName: string }[]
}

async function lookup(key: string, value: string): Promise<LookupEvent[]> {
  const r = await aws(
    'cloudtrail',
    'lookup-events',
    '--lookup-attributes',
    `AttributeKey=${key},AttributeValue=${value}`,
  )
  assert.equal(r.code, 0, r.stderr)
  return (r.json as { Events: LookupEvent[] }).Events
}

function files(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n)
    if (statSync(p).isDirectory()) files(p, out)
    else out.push(p)
  }
  return out
}

const secrets: string[] = []
const viewer = { id: '', secret: '' }
/** The policy denial as lookup-events showed it (the trail file must hold the same record). */
const denied: { id: string; record: Record<string, unknown> } = { id: '', record: {} }
const eventIds: string[] = []

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mf-cloudtrail-cli-'))
  srv = await startServer({
    dataDir,
    port: 0,
    region: 'us-east-1',
    accountId: '123456789012',
    trailIntervalSeconds: 3600,
  })
  env = cliEnv(dataDir)
  cli = new AwsBatch(env, srv.url)
  secrets.push(srv.credentials.secretAccessKey)
})

after(async () => {
  await cli?.close()
  await srv?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

// Each CLI run costs about a CPU-second: error paths the unit tests pin (TrailAlreadyExists,
// TrailNotFound, InvalidTimeRange) are not repeated here.
test('aws cloudtrail manages a trail: create, describe, start logging, status', async () => {
  const c = await aws(
    'cloudtrail',
    'create-trail',
    '--name',
    'audit',
    '--s3-bucket-name',
    'audit-logs',
    '--enable-log-file-validation',
  )
  assert.equal(c.code, 0, c.stderr)
  assert.deepEqual(c.json, {
    Name: 'audit',
    S3BucketName: 'audit-logs',
    IncludeGlobalServiceEvents: true,
    IsMultiRegionTrail: false,
    TrailARN: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/audit',
    LogFileValidationEnabled: true,
    IsOrganizationTrail: false,
  })
  assert.equal((await aws('cloudtrail', 'start-logging', '--name', 'audit')).code, 0)
  const d = await aws('cloudtrail', 'describe-trails')
  assert.equal(
    (d.json as { trailList: { Name: string; HomeRegion: string }[] }).trailList[0]!.HomeRegion,
    'us-east-1',
  )
  const s = await aws('cloudtrail', 'get-trail-status', '--name', 'audit')
  assert.equal((s.json as { IsLogging: boolean }).IsLogging, true)
})

test('lookup-events finds a failed call with its error code and the caller ARN', async () => {
  // A separate /usr/bin/aws process (the file's one): the trail records a CLI of its own the same.
  const f = await awsProcess('ec2', 'delete-vpc', '--vpc-id', 'vpc-0123456789abcdef0')
  assert.equal(f.code, 254)
  const events = await lookup('EventName', 'DeleteVpc')
  assert.equal(events.length, 1)
  const e = events[0]!
  const rec = JSON.parse(e.CloudTrailEvent) as Record<string, unknown>
  assert.equal(rec.errorCode, 'Client.InvalidVpcID.NotFound')
  assert.equal(rec.errorMessage, "The vpc ID 'vpc-0123456789abcdef0' does not exist")
  assert.equal(rec.eventSource, 'ec2.amazonaws.com')
  assert.equal(rec.eventVersion, '1.11')
  assert.equal(rec.eventType, 'AwsApiCall')
  assert.equal(rec.managementEvent, true)
  assert.equal(rec.eventCategory, 'Management')
  assert.equal(rec.recipientAccountId, '123456789012')
  assert.equal(rec.readOnly, false)
  assert.deepEqual(rec.requestParameters, { vpcId: 'vpc-0123456789abcdef0' })
  const who = rec.userIdentity as Record<string, string>
  assert.equal(who.type, 'IAMUser')
  assert.equal(who.accessKeyId, srv!.credentials.accessKeyId)
  assert.match(who.arn!, /^arn:aws:iam::123456789012:user\//)
  assert.equal(e.AccessKeyId, srv!.credentials.accessKeyId)
  assert.deepEqual(e.Resources, [{ ResourceType: 'AWS::EC2::VPC', ResourceName: 'vpc-0123456789abcdef0' }])
  eventIds.push(e.EventId)
})

test('a call refused by policy (a user allowed only ec2:Describe* creating a session) is found with its code and the caller ARN', async () => {
  // The user is made through the control plane (iam-cli.test.ts covers `aws iam`); the calls are the CLI's.
  const iam = srv!.cp.iam
  const user = iam.createUser('viewer', '/', [])
  iam.putInline(
    'user',
    'viewer',
    'describe-only',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
    }),
  )
  const key = iam.createAccessKey('viewer')
  viewer.id = key.accessKeyId
  viewer.secret = key.secretAccessKey
  secrets.push(viewer.secret)
  const r = await awsAs(
    viewer,
    'ec2',
    'create-traffic-mirror-session',
    '--network-interface-id',
    'eni-0123456789abcdef0',
    '--traffic-mirror-target-id',
    'tmt-0123456789abcdef0',
    '--traffic-mirror-filter-id',
    'tmf-0123456789abcdef0',
    '--session-number',
    '1',
  )
  assert.equal(r.code, 254)
  assert.match(r.stderr, /\(UnauthorizedOperation\) when calling the CreateTrafficMirrorSession operation/)
  const events = await lookup('Username', 'viewer')
  assert.equal(events.length, 1, JSON.stringify(events))
  const e = events[0]!
  assert.equal(e.EventName, 'CreateTrafficMirrorSession')
  assert.equal(e.AccessKeyId, viewer.id)
  const rec = JSON.parse(e.CloudTrailEvent) as Record<string, unknown>
  assert.equal(rec.errorCode, 'Client.UnauthorizedOperation')
  assert.match(
    String(rec.errorMessage),
    /^You are not authorized to perform this operation\. .*Encoded authorization failure message: /,
  )
  assert.deepEqual(rec.userIdentity, {
    type: 'IAMUser',
    principalId: user.id,
    arn: 'arn:aws:iam::123456789012:user/viewer',
    accountId: '123456789012',
    accessKeyId: viewer.id,
    userName: 'viewer',
  })
  denied.id = e.EventId
  denied.record = rec
  eventIds.push(e.EventId)
})

test('an unknown access key is recorded as an Unknown identity with the key it claimed', async () => {
  const bogus = { id: 'AKIAAAAAAAAAAAAAAAAA', secret: 'x'.repeat(40) }
  const r = await awsAs(bogus, 'ec2', 'describe-vpcs')
  assert.equal(r.code, 254)
  const events = await lookup('AccessKeyId', bogus.id)
  assert.equal(events.length, 1)
  const rec = JSON.parse(events[0]!.CloudTrailEvent) as Record<string, unknown>
  assert.equal(rec.errorCode, 'Client.AuthFailure')
  assert.deepEqual(rec.userIdentity, { type: 'Unknown', accountId: '123456789012', accessKeyId: bogus.id })
  assert.equal(rec.requestParameters, null)
  eventIds.push(events[0]!.EventId)
})

test('a successful create is recorded with its parameters and answer; LookupEvents validates its input', async () => {
  const v = await aws('ec2', 'create-vpc', '--cidr-block', '10.2.0.0/16')
  assert.equal(v.code, 0, v.stderr)
  const vpcId = (v.json as { Vpc: { VpcId: string } }).Vpc.VpcId
  const events = await lookup('ResourceName', vpcId)
  assert.equal(events.length, 1)
  const rec = JSON.parse(events[0]!.CloudTrailEvent) as {
    requestParameters: unknown
    responseElements: { vpc: { vpcId: string } }
  }
  assert.deepEqual(rec.requestParameters, { cidrBlock: '10.2.0.0/16' })
  assert.equal(rec.responseElements.vpc.vpcId, vpcId)
  eventIds.push(events[0]!.EventId)
  const two = await aws(
    'cloudtrail',
    'lookup-events',
    '--lookup-attributes',
    'AttributeKey=EventName,AttributeValue=a',
    'AttributeKey=Username,AttributeValue=b',
  )
  assert.equal(two.code, 254)
  assert.match(two.stderr, /\(InvalidLookupAttributesException\) when calling the LookupEvents operation/)
  const paged = await aws('cloudtrail', 'lookup-events', '--max-items', '2')
  assert.equal((paged.json as { Events: unknown[] }).Events.length, 2)
})

test('the trail files on disk hold the same events, validate, detect a changed byte, and hold no secret', async () => {
  await srv!.close()
  srv = undefined
  const bucketDir = join(dataDir, 's3', 'audit-logs')
  const all = files(bucketDir)
  const logs = all.filter((f) => f.includes('/CloudTrail/') && f.endsWith('.json.gz'))
  assert.ok(logs.length >= 1)
  for (const f of logs) {
    assert.match(
      f.slice(bucketDir.length + 1),
      /^AWSLogs\/123456789012\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/123456789012_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$/,
    )
  }
  const text = logs.map((f) => gunzipSync(readFileSync(f)).toString()).join('\n')
  const ids = logs.flatMap((f) =>
    (JSON.parse(gunzipSync(readFileSync(f)).toString()) as { Records: { eventID: string }[] }).Records.map(
      (r) => r.eventID,
    ),
  )
  for (const id of eventIds) assert.ok(ids.includes(id), `event ${id} is not in the trail files`)
  const records = logs.flatMap(
    (f) =>
      (JSON.parse(gunzipSync(readFileSync(f)).toString()) as { Records: Record<string, unknown>[] }).Records,
  )
  const inFile = records.find((r) => r.eventID === denied.id)
  assert.ok(inFile, 'the policy denial is not in the trail files')
  assert.equal(inFile.errorCode, 'Client.UnauthorizedOperation')
  assert.equal((inFile.userIdentity as { arn: string }).arn, 'arn:aws:iam::123456789012:user/viewer')
  assert.deepEqual(inFile, denied.record)
  const store = readFileSync(join(dataDir, 'cloudtrail.sqlite'))
  for (const s of secrets) {
    assert.ok(!text.includes(s), 'a secret access key is in a trail file')
    assert.ok(!store.includes(s), 'a secret access key is in the event store')
  }
  const v = await mirrorflow('trail', 'validate', '--data-dir', dataDir, '--bucket', 'audit-logs')
  assert.equal(v.code, 0, v.stdout + v.stderr)
  assert.match(v.stdout, /^1\/1 digest files valid$/m)
  assert.match(v.stdout, new RegExp(`^${logs.length}/${logs.length} log files valid$`, 'm'))
  // The same files as Athena's cloudtrail_logs table.
  const q = await mirrorflow(
    'query',
    '--data-dir',
    dataDir,
    '--format',
    'json',
    '--sql',
    "SELECT eventname, errorcode, useridentity.arn AS arn, useridentity.type AS type, readonly, requestparameters FROM cloudtrail_logs WHERE eventname = 'DeleteVpc'",
  )
  assert.equal(q.code, 0, q.stderr)
  const rows = q.json as Record<string, unknown>[]
  assert.equal(rows.length, 1, q.stdout)
  assert.equal(rows[0]!.errorcode, 'Client.InvalidVpcID.NotFound')
  assert.equal(rows[0]!.type, 'IAMUser')
  assert.equal(rows[0]!.readonly, 'false')
  assert.equal(rows[0]!.requestparameters, '{"vpcId":"vpc-0123456789abcdef0"}')
  assert.match(String(rows[0]!.arn), /^arn:aws:iam::123456789012:user\//)
  const victim = logs[0]!
  const body = gunzipSync(readFileSync(victim)).toString()
  writeFileSync(victim, gzipSync(Buffer.from(body.replace('DeleteVpc', 'DeleteVpd'))))
  const t = await mirrorflow('trail', 'validate', '--data-dir', dataDir, '--bucket', 'audit-logs')
  assert.equal(t.code, 1)
  assert.match(
    t.stderr,
    /^INVALID log file AWSLogs\/\S+: its content does not match the digest \(altered\)$/m,
  )
})
