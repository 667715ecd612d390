// test-group: fuzz
// SPDX-License-Identifier: Apache-2.0
/**
 * Fuzz for issue 13: (1) random and mutated policy documents — every one is accepted or refused with
 * MalformedPolicyDocument / LimitExceeded, never another failure, and every accepted one evaluates;
 * (2) random signed IAM and STS requests (FUZZ_COUNT, default 2,000; seed FUZZ_SEED) with hostile
 * values — every answer is an AWS Query `<ErrorResponse>` with a 4xx status or a well-formed
 * success, never a 5xx, and the server answers afterwards; (3) random signed CloudTrail JSON requests
 * (FUZZ_COUNT / 2) with hostile members and bodies — a 4xx JSON error or a JSON success, never a 5xx —
 * and the trail recorded them (LookupEvents finds them).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { ApiError, parsePolicy } from '../../src/control/index.ts'
import { compilePolicy, evaluate, LayeredContext } from '../../src/api/auth/evaluate.ts'
import { prng, startApiTestServer, type ApiTestServer } from '../helpers/api-server.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 1)
const COUNT = Number(process.env.FUZZ_COUNT ?? 2000)
let srv: ApiTestServer

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-iam-fuzz' })
})
after(async () => {
  await srv?.close()
})

const KEYS = [
  'Version',
  'Statement',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
  'Sid',
  'Principal',
  'Id',
]
const VALUES = [
  '*',
  'ec2:*',
  'ec2:Describe*',
  'arn:aws:ec2:*:*:vpc/*',
  'Allow',
  'Deny',
  '2012-10-17',
  '2008-10-17',
  '${aws:username}',
  '*a*a*a*a*a*a*a*b',
  '',
  'x'.repeat(3000),
]

test('random and mutated policy documents: accepted, or MalformedPolicyDocument / LimitExceeded', () => {
  const leaf = fc.oneof(
    fc.constantFrom(...VALUES),
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
  )
  const { doc } = fc.letrec((tie) => ({
    doc: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('doc'), { maxLength: 4 }),
      fc.dictionary(
        fc.oneof(
          fc.constantFrom(...KEYS),
          fc.constantFrom('StringLike', 'ForAllValues:StringEquals', 'IpAddress', 'aws:TagKeys', 'Null'),
        ),
        tie('doc'),
        { maxKeys: 5 },
      ),
    ),
  }))
  const valid = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }] }
  fc.assert(
    fc.property(fc.oneof(doc, fc.constant(valid)), fc.string(), fc.boolean(), (d, noise, asText) => {
      const text = asText ? JSON.stringify(d) + noise : JSON.stringify(d)
      for (const kind of ['identity', 'trust'] as const) {
        try {
          const p = parsePolicy(text ?? 'null', kind, 6144)
          const c = compilePolicy('fuzz', p)
          evaluate(
            [c],
            'ec2:describevpcs',
            'arn:aws:ec2:us-east-1:1:vpc/vpc-1',
            new LayeredContext(new Map([['aws:tagkeys', ['a', 'b']]])),
          )
        } catch (e) {
          assert.ok(e instanceof ApiError, String(e))
          assert.ok(e.awsCode === 'MalformedPolicyDocument' || e.awsCode === 'LimitExceeded', e.awsCode)
        }
      }
    }),
    { seed: SEED, numRuns: 3000 },
  )
})

const ACTIONS = [
  'CreateUser',
  'GetUser',
  'ListUsers',
  'DeleteUser',
  'CreateAccessKey',
  'ListAccessKeys',
  'UpdateAccessKey',
  'DeleteAccessKey',
  'CreateGroup',
  'AddUserToGroup',
  'CreateRole',
  'CreatePolicy',
  'GetPolicy',
  'GetPolicyVersion',
  'ListPolicies',
  'CreatePolicyVersion',
  'AttachUserPolicy',
  'DetachUserPolicy',
  'PutUserPolicy',
  'PutRolePolicy',
  'ListAttachedUserPolicies',
  'GetRole',
  'ListRoles',
  'GetGroup',
  'TagUser',
  'Nope',
]
const STS_ACTIONS = ['GetCallerIdentity', 'AssumeRole', 'DecodeAuthorizationMessage', 'GetSessionToken']
const PARAMS = [
  'UserName',
  'GroupName',
  'RoleName',
  'PolicyName',
  'PolicyArn',
  'PolicyDocument',
  'AssumeRolePolicyDocument',
  'Path',
  'PathPrefix',
  'MaxItems',
  'Marker',
  'AccessKeyId',
  'Status',
  'VersionId',
  'SetAsDefault',
  'Scope',
  'Tags.member.1.Key',
  'Tags.member.1.Value',
  'RoleArn',
  'RoleSessionName',
  'DurationSeconds',
  'EncodedMessage',
  'Bogus',
]

test(
  `fuzz: ${COUNT} random signed IAM and STS requests answer 4xx errors or well-formed successes`,
  { timeout: 600_000 },
  async () => {
    const rnd = prng(SEED)
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!
    const value = (): string => {
      const r = rnd()
      if (r < 0.15) return `fz${Math.floor(rnd() * 40)}`
      if (r < 0.25) return 'x'.repeat(Math.floor(rnd() * 5000))
      if (r < 0.35)
        return '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}'
      if (r < 0.42)
        return '{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}'
      if (r < 0.5)
        return `arn:aws:iam::123456789012:${pick(['role', 'policy', 'user'])}/fz${Math.floor(rnd() * 40)}`
      if (r < 0.6) return String(Math.floor(rnd() * 1e6) - 1000)
      if (r < 0.7) return '\u0000<&>"\'\ufffd'
      if (r < 0.8)
        return pick([
          'Active',
          'Inactive',
          'All',
          'AWS',
          'Local',
          'true',
          'false',
          'v1',
          'v2',
          '/',
          '/a/',
          'a',
        ])
      return Array.from({ length: Math.floor(rnd() * 30) }, () =>
        String.fromCharCode(Math.floor(rnd() * 0x3000)),
      ).join('')
    }
    let fivexx = 0
    for (let i = 0; i < COUNT; i++) {
      const sts = rnd() < 0.3
      const params: Record<string, string> = {
        Action: pick(sts ? STS_ACTIONS : ACTIONS),
        Version: sts ? '2011-06-15' : '2010-05-08',
      }
      if (rnd() < 0.05) params.Version = value()
      const n = Math.floor(rnd() * 6)
      for (let j = 0; j < n; j++) params[pick(PARAMS)] = value()
      const r = await srv.signed(params, { service: sts ? 'sts' : 'iam' })
      if (r.status >= 500) fivexx++
      if (r.status === 200)
        assert.match(
          r.body,
          new RegExp(`^<${params.Action}Response xmlns="https://(iam|sts)\\.amazonaws\\.com/doc/`),
        )
      else {
        assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${r.body}`)
        assert.match(
          r.body,
          /^<ErrorResponse xmlns="https:\/\/(iam|sts)\.amazonaws\.com\/doc\/[0-9-]+\/"><Error><Type>Sender<\/Type><Code>[A-Za-z.]+<\/Code><Message>/s,
          r.body,
        )
      }
    }
    assert.equal(fivexx, 0)
    const who = await srv.signed({ Action: 'GetCallerIdentity', Version: '2011-06-15' }, { service: 'sts' })
    assert.equal(who.status, 200)
    assert.match(who.body, /<Arn>arn:aws:iam::123456789012:user\/admin<\/Arn>/)
  },
)

const CT_ACTIONS = [
  'LookupEvents',
  'CreateTrail',
  'DescribeTrails',
  'GetTrail',
  'GetTrailStatus',
  'StartLogging',
  'StopLogging',
  'DeleteTrail',
  'ListPublicKeys',
  'Nope',
]
const CT_MEMBERS = [
  'Name',
  'S3BucketName',
  'S3KeyPrefix',
  'IsMultiRegionTrail',
  'IncludeGlobalServiceEvents',
  'EnableLogFileValidation',
  'LookupAttributes',
  'StartTime',
  'EndTime',
  'MaxResults',
  'NextToken',
  'EventCategory',
  'trailNameList',
  'includeShadowTrails',
  'SnsTopicName',
  'Bogus',
]

test(
  `fuzz: ${Math.ceil(COUNT / 2)} random signed CloudTrail JSON requests answer 4xx JSON errors or JSON successes; the trail records them`,
  { timeout: 600_000 },
  async () => {
    const rnd = prng(SEED + 13)
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!
    const scalar = (): unknown => {
      const r = rnd()
      if (r < 0.2)
        return pick(['audit', 'fz-trail', 'fz-bucket', 'EventName', 'Username', 'ResourceName', 'insight'])
      if (r < 0.3) return 'x'.repeat(Math.floor(rnd() * 5000))
      if (r < 0.45) return Math.floor(rnd() * 2e10) - 1e9
      if (r < 0.5) return pick([1e308, -0, 0.5, Number.MAX_SAFE_INTEGER + 2])
      if (r < 0.6) return rnd() < 0.5
      if (r < 0.65) return null
      if (r < 0.75) return '\u0000<&>"\'\ufffd\ud800'
      return Array.from({ length: Math.floor(rnd() * 20) }, () =>
        String.fromCharCode(Math.floor(rnd() * 0x3000)),
      ).join('')
    }
    const member = (depth: number): unknown => {
      const r = rnd()
      if (depth < 2 && r < 0.15)
        return Array.from({ length: Math.floor(rnd() * 4) }, () =>
          rnd() < 0.7 ? { AttributeKey: scalar(), AttributeValue: scalar() } : member(depth + 1),
        )
      if (depth < 2 && r < 0.25) return { [pick(CT_MEMBERS)]: member(depth + 1) }
      return scalar()
    }
    let fivexx = 0
    const n = Math.ceil(COUNT / 2)
    for (let i = 0; i < n; i++) {
      const action = pick(CT_ACTIONS)
      let body: string
      if (rnd() < 0.08) body = pick(['', '{', '[]', 'null', '"x"', '{"Name":', '\u0000', '{"a":'.repeat(200)])
      else {
        const o: Record<string, unknown> = {}
        const m = Math.floor(rnd() * 5)
        for (let j = 0; j < m; j++) o[pick(CT_MEMBERS)] = member(0)
        body = JSON.stringify(o)
      }
      const r = await srv.signed(body, {
        service: 'cloudtrail',
        extraHeaders: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${action}`,
        },
      })
      if (r.status >= 500) fivexx++
      const parsed = JSON.parse(r.body) as Record<string, unknown>
      assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), r.body)
      if (r.status !== 200) {
        assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${r.body}`)
        assert.match(String(parsed.__type), /^[A-Za-z]+$/, r.body)
        assert.equal(typeof parsed.message, 'string', r.body)
      }
    }
    assert.equal(fivexx, 0)
    // Every call above was recorded (the writer thread starts past 500): the newest lookups find them.
    const look = await srv.signed(
      JSON.stringify({
        LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'cloudtrail.amazonaws.com' }],
      }),
      {
        service: 'cloudtrail',
        extraHeaders: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
        },
      },
    )
    assert.equal(look.status, 200, look.body)
    const events = (JSON.parse(look.body) as { Events: { EventName: string }[] }).Events
    assert.equal(events.length, 50)
  },
)
