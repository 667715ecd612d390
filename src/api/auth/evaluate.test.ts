// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// Policy evaluation (issue 13): deny wins, allow, default deny; Action/NotAction, Resource/NotResource,
// conditions and their operators, policy variables; the grammar's MalformedPolicyDocument reasons.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ApiError, parsePolicy, POLICY_SIZE } from '../../control/index.ts'
import { compilePolicy, evaluate, LayeredContext, substitute } from './evaluate.ts'

function policy(statements: object[], version = '2012-10-17') {
  return compilePolicy(
    'test',
    parsePolicy(JSON.stringify({ Version: version, Statement: statements }), 'identity'),
  )
}

function ctx(keys: Record<string, string | string[]>, top?: Record<string, string | string[]>) {
  const m = (o: Record<string, string | string[]>) =>
    new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), typeof v === 'string' ? [v] : v]))
  return new LayeredContext(m(keys), top === undefined ? undefined : m(top))
}

const SESSION = 'arn:aws:ec2:us-east-1:123456789012:traffic-mirror-session/tms-0123456789abcdef0'

function decide(
  statements: object[],
  action: string,
  resource = '*',
  keys: Record<string, string | string[]> = {},
  top?: Record<string, string | string[]>,
) {
  return evaluate([policy(statements)], action.toLowerCase(), resource, ctx(keys, top)).decision
}

describe('decisions', () => {
  test('no statement allows: implicit deny', () => {
    assert.equal(
      decide([{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }], 'ec2:CreateTrafficMirrorSession'),
      'ImplicitDeny',
    )
  })
  test('an allow with a matching wildcard (action case does not matter)', () => {
    assert.equal(
      decide(
        [{ Effect: 'Allow', Action: 'EC2:describe*', Resource: '*' }],
        'ec2:DescribeTrafficMirrorSessions',
      ),
      'Allow',
    )
    assert.equal(
      decide([{ Effect: 'Allow', Action: 'ec2:Describe?pcs', Resource: '*' }], 'ec2:DescribeVpcs'),
      'Allow',
    )
  })
  test('an explicit deny beats an allow, in any order and any policy', () => {
    const allow = policy([{ Effect: 'Allow', Action: '*', Resource: '*' }])
    const deny = policy([{ Effect: 'Deny', Action: 'ec2:Delete*', Resource: '*' }])
    assert.equal(evaluate([allow, deny], 'ec2:deletevpc', '*', ctx({})).decision, 'ExplicitDeny')
    assert.equal(evaluate([deny, allow], 'ec2:deletevpc', '*', ctx({})).decision, 'ExplicitDeny')
    assert.equal(evaluate([deny, allow], 'ec2:createvpc', '*', ctx({})).decision, 'Allow')
  })
  test('NotAction allows everything but the named actions', () => {
    const s = [{ Effect: 'Allow', NotAction: ['iam:*', 'mirrorflow:CreateAccessKey'], Resource: '*' }]
    assert.equal(decide(s, 'ec2:CreateVpc'), 'Allow')
    assert.equal(decide(s, 'iam:CreateUser'), 'ImplicitDeny')
    assert.equal(decide(s, 'mirrorflow:CreateAccessKey'), 'ImplicitDeny')
  })
  test('Resource and NotResource match ARNs with wildcards, case-sensitively', () => {
    const s = [{ Effect: 'Allow', Action: 'ec2:*', Resource: 'arn:aws:ec2:*:*:traffic-mirror-session/*' }]
    assert.equal(decide(s, 'ec2:DeleteTrafficMirrorSession', SESSION), 'Allow')
    assert.equal(decide(s, 'ec2:DeleteTrafficMirrorSession', SESSION.toUpperCase()), 'ImplicitDeny')
    assert.equal(decide(s, 'ec2:DeleteVpc', 'arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1'), 'ImplicitDeny')
    const n = [{ Effect: 'Allow', Action: 'ec2:*', NotResource: 'arn:aws:ec2:*:*:vpc/*' }]
    assert.equal(decide(n, 'ec2:DeleteTrafficMirrorSession', SESSION), 'Allow')
    assert.equal(decide(n, 'ec2:DeleteVpc', 'arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1'), 'ImplicitDeny')
  })
  test('a pathological wildcard is matched without backtracking blow-up', () => {
    const s = [{ Effect: 'Allow', Action: 'ec2:*', Resource: `arn:aws:ec2:*:*:${'*a'.repeat(200)}*b` }]
    assert.equal(decide(s, 'ec2:DeleteVpc', `arn:aws:ec2:r:1:${'a'.repeat(2000)}`), 'ImplicitDeny')
  })
})

describe('conditions', () => {
  const tagged = (op: string, key: string, value: unknown) => [
    { Effect: 'Allow', Action: 'ec2:*', Resource: '*', Condition: { [op]: { [key]: value } } },
  ]
  test('StringEquals on a resource tag; missing key fails', () => {
    const s = tagged('StringEquals', 'ec2:ResourceTag/team', 'blue')
    assert.equal(
      decide(s, 'ec2:DeleteTrafficMirrorSession', SESSION, {}, { 'ec2:resourcetag/team': 'blue' }),
      'Allow',
    )
    assert.equal(
      decide(s, 'ec2:DeleteTrafficMirrorSession', SESSION, {}, { 'ec2:resourcetag/team': 'red' }),
      'ImplicitDeny',
    )
    assert.equal(decide(s, 'ec2:DeleteTrafficMirrorSession', SESSION), 'ImplicitDeny')
  })
  test('StringNotEquals holds for a missing key; IfExists holds for a missing key', () => {
    assert.equal(decide(tagged('StringNotEquals', 'aws:RequestTag/team', 'red'), 'ec2:CreateVpc'), 'Allow')
    assert.equal(
      decide(tagged('StringNotEquals', 'aws:RequestTag/team', 'red'), 'ec2:CreateVpc', '*', {
        'aws:requesttag/team': 'red',
      }),
      'ImplicitDeny',
    )
    assert.equal(
      decide(tagged('StringEqualsIfExists', 'aws:RequestTag/team', 'blue'), 'ec2:CreateVpc'),
      'Allow',
    )
    assert.equal(
      decide(tagged('StringEqualsIfExists', 'aws:RequestTag/team', 'blue'), 'ec2:CreateVpc', '*', {
        'aws:requesttag/team': 'red',
      }),
      'ImplicitDeny',
    )
  })
  test('StringLike, StringEqualsIgnoreCase, ArnLike', () => {
    assert.equal(
      decide(tagged('StringLike', 'aws:RequestTag/team', 'blu*'), 'ec2:CreateVpc', '*', {
        'aws:requesttag/team': 'blue',
      }),
      'Allow',
    )
    assert.equal(
      decide(tagged('StringEqualsIgnoreCase', 'aws:RequestTag/team', 'BLUE'), 'ec2:CreateVpc', '*', {
        'aws:requesttag/team': 'Blue',
      }),
      'Allow',
    )
    assert.equal(
      decide(tagged('ArnLike', 'aws:PrincipalArn', 'arn:aws:iam::*:user/ops-*'), 'ec2:CreateVpc', '*', {
        'aws:principalarn': 'arn:aws:iam::123456789012:user/ops-ann',
      }),
      'Allow',
    )
    assert.equal(
      decide(tagged('ArnNotLike', 'aws:PrincipalArn', 'arn:aws:iam::*:user/ops-*'), 'ec2:CreateVpc', '*', {
        'aws:principalarn': 'arn:aws:iam::123456789012:user/ops-ann',
      }),
      'ImplicitDeny',
    )
  })
  test('IpAddress and NotIpAddress (IPv4, IPv6, IPv4-mapped)', () => {
    const s = tagged('IpAddress', 'aws:SourceIp', ['10.0.0.0/8', '2001:db8::/32'])
    assert.equal(decide(s, 'ec2:CreateVpc', '*', { 'aws:sourceip': '10.1.2.3' }), 'Allow')
    assert.equal(decide(s, 'ec2:CreateVpc', '*', { 'aws:sourceip': '2001:db8::1' }), 'Allow')
    assert.equal(decide(s, 'ec2:CreateVpc', '*', { 'aws:sourceip': '::ffff:10.1.2.3' }), 'Allow')
    assert.equal(decide(s, 'ec2:CreateVpc', '*', { 'aws:sourceip': '192.0.2.1' }), 'ImplicitDeny')
    const n = tagged('NotIpAddress', 'aws:SourceIp', '127.0.0.0/8')
    assert.equal(decide(n, 'ec2:CreateVpc', '*', { 'aws:sourceip': '127.0.0.1' }), 'ImplicitDeny')
    assert.equal(decide(n, 'ec2:CreateVpc', '*', { 'aws:sourceip': '192.0.2.1' }), 'Allow')
  })
  test('DateGreaterThan / DateLessThan on aws:CurrentTime (ISO and epoch)', () => {
    const window = [
      {
        Effect: 'Allow',
        Action: 'ec2:*',
        Resource: '*',
        Condition: {
          DateGreaterThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' },
          DateLessThan: { 'aws:CurrentTime': '1798761600' },
        },
      },
    ]
    assert.equal(decide(window, 'ec2:CreateVpc', '*', { 'aws:currenttime': '2026-06-01T00:00:00Z' }), 'Allow')
    assert.equal(
      decide(window, 'ec2:CreateVpc', '*', { 'aws:currenttime': '2025-06-01T00:00:00Z' }),
      'ImplicitDeny',
    )
    assert.equal(
      decide(window, 'ec2:CreateVpc', '*', { 'aws:currenttime': '2027-06-01T00:00:00Z' }),
      'ImplicitDeny',
    )
  })
  test('Bool, Numeric, Null', () => {
    assert.equal(
      decide(tagged('Bool', 'aws:SecureTransport', 'false'), 'ec2:CreateVpc', '*', {
        'aws:securetransport': 'false',
      }),
      'Allow',
    )
    assert.equal(
      decide(tagged('Bool', 'aws:SecureTransport', true), 'ec2:CreateVpc', '*', {
        'aws:securetransport': 'false',
      }),
      'ImplicitDeny',
    )
    assert.equal(
      decide(tagged('NumericLessThan', 'aws:EpochTime', 100), 'ec2:CreateVpc', '*', {
        'aws:epochtime': '99',
      }),
      'Allow',
    )
    assert.equal(decide(tagged('Null', 'aws:RequestTag/team', 'true'), 'ec2:CreateVpc'), 'Allow')
    assert.equal(decide(tagged('Null', 'aws:RequestTag/team', 'false'), 'ec2:CreateVpc'), 'ImplicitDeny')
    assert.equal(
      decide(tagged('Null', 'aws:RequestTag/team', 'false'), 'ec2:CreateVpc', '*', {
        'aws:requesttag/team': 'x',
      }),
      'Allow',
    )
  })
  test('ForAllValues and ForAnyValue over aws:TagKeys', () => {
    const all = tagged('ForAllValues:StringEquals', 'aws:TagKeys', ['team', 'Name'])
    assert.equal(decide(all, 'ec2:CreateVpc', '*', { 'aws:tagkeys': ['team', 'Name'] }), 'Allow')
    assert.equal(decide(all, 'ec2:CreateVpc', '*', { 'aws:tagkeys': ['team', 'owner'] }), 'ImplicitDeny')
    assert.equal(decide(all, 'ec2:CreateVpc'), 'Allow') // no tags at all: vacuously true
    const any = tagged('ForAnyValue:StringEquals', 'aws:TagKeys', 'team')
    assert.equal(decide(any, 'ec2:CreateVpc', '*', { 'aws:tagkeys': ['owner', 'team'] }), 'Allow')
    assert.equal(decide(any, 'ec2:CreateVpc', '*', { 'aws:tagkeys': ['owner'] }), 'ImplicitDeny')
    assert.equal(decide(any, 'ec2:CreateVpc'), 'ImplicitDeny')
  })
  test('operators AND, values OR', () => {
    const s = [
      {
        Effect: 'Allow',
        Action: 'ec2:*',
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:RequestTag/team': ['blue', 'green'], 'aws:RequestTag/env': 'prod' },
        },
      },
    ]
    assert.equal(
      decide(s, 'ec2:CreateVpc', '*', { 'aws:requesttag/team': 'green', 'aws:requesttag/env': 'prod' }),
      'Allow',
    )
    assert.equal(
      decide(s, 'ec2:CreateVpc', '*', { 'aws:requesttag/team': 'green', 'aws:requesttag/env': 'dev' }),
      'ImplicitDeny',
    )
  })
})

describe('policy variables', () => {
  test('${aws:username} in a resource and in a condition value; defaults; 2008-10-17 keeps them literal', () => {
    const s = [
      {
        Effect: 'Allow',
        Action: 'ec2:*',
        Resource: '*',
        Condition: { StringEquals: { 'ec2:ResourceTag/owner': '${aws:username}' } },
      },
    ]
    assert.equal(
      decide(s, 'ec2:DeleteVpc', '*', { 'aws:username': 'ann' }, { 'ec2:resourcetag/owner': 'ann' }),
      'Allow',
    )
    assert.equal(
      decide(s, 'ec2:DeleteVpc', '*', { 'aws:username': 'bob' }, { 'ec2:resourcetag/owner': 'ann' }),
      'ImplicitDeny',
    )
    const r = [{ Effect: 'Allow', Action: 'iam:*', Resource: 'arn:aws:iam::*:user/${aws:username}' }]
    assert.equal(
      decide(r, 'iam:GetUser', 'arn:aws:iam::123456789012:user/ann', { 'aws:username': 'ann' }),
      'Allow',
    )
    assert.equal(
      decide(r, 'iam:GetUser', 'arn:aws:iam::123456789012:user/bob', { 'aws:username': 'ann' }),
      'ImplicitDeny',
    )
    assert.equal(substitute("team-${aws:PrincipalTag/team, 'none'}", ctx({})), 'team-none')
    assert.equal(substitute('${*}${?}${$}', ctx({})), '*?$')
    assert.equal(substitute('${aws:username}', ctx({})), undefined)
    const old = compilePolicy(
      't',
      parsePolicy(JSON.stringify({ Version: '2008-10-17', Statement: r }), 'identity'),
    )
    assert.equal(
      evaluate([old], 'iam:getuser', 'arn:aws:iam::123456789012:user/ann', ctx({ 'aws:username': 'ann' }))
        .decision,
      'ImplicitDeny',
    )
  })
})

describe('grammar', () => {
  function reason(doc: unknown, kind: 'identity' | 'trust' = 'identity'): string {
    try {
      parsePolicy(typeof doc === 'string' ? doc : JSON.stringify(doc), kind)
    } catch (e) {
      assert.ok(e instanceof ApiError)
      assert.equal(e.awsCode, 'MalformedPolicyDocument')
      return e.message
    }
    assert.fail('accepted')
  }
  const ok = { Effect: 'Allow', Action: 'ec2:*', Resource: '*' }
  test('each malformed document gets its reason', () => {
    assert.equal(reason('{'), 'Syntax errors in policy.')
    assert.equal(reason({ Version: '2012-10-17' }), 'Missing required field Statement')
    assert.equal(reason({ Statement: [{ Action: 'ec2:*', Resource: '*' }] }), 'Missing required field Effect')
    assert.equal(
      reason({ Statement: [{ Effect: 'Allow', Resource: '*' }] }),
      'Policy statement must contain actions.',
    )
    assert.equal(
      reason({ Statement: [{ Effect: 'Allow', Action: 'ec2:*' }] }),
      'Policy statement must contain resources.',
    )
    assert.equal(
      reason({ Statement: [{ ...ok, Action: 'CreateVpc' }] }),
      'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
    )
    assert.equal(
      reason({ Statement: [{ ...ok, Resource: 'vpc-1' }] }),
      'Resource vpc-1 must be in ARN format or "*".',
    )
    assert.equal(
      reason({ Statement: [{ ...ok, Principal: '*' }] }),
      'Policy document should not specify a principal.',
    )
    assert.equal(
      reason({ Statement: [{ ...ok, Condition: { StringSorta: { 'aws:x': 'y' } } }] }),
      'Invalid Condition type : StringSorta.',
    )
    assert.equal(
      reason({ Statement: [{ ...ok, Effect: 'Maybe' }] }),
      'Invalid effect: Effect must be Allow or Deny.',
    )
    assert.equal(
      reason({ Version: '2020-01-01', Statement: [ok] }),
      'The policy failed legacy parsing: Version must be 2012-10-17 or 2008-10-17.',
    )
    assert.equal(
      reason({
        Statement: [
          { ...ok, Sid: 'a' },
          { ...ok, Sid: 'a' },
        ],
      }),
      'Statement IDs (SID) in a single policy must be unique',
    )
    assert.equal(
      reason({ Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole' }] }, 'trust'),
      'Missing required field Principal',
    )
  })
  test('the size quota counts characters other than white space', () => {
    const big = JSON.stringify({
      Statement: [{ ...ok, Action: Array.from({ length: 600 }, (_, i) => `ec2:Describe${i}`) }],
    })
    assert.throws(
      () => parsePolicy(big, 'identity', POLICY_SIZE.managed),
      (e: ApiError) =>
        e.awsCode === 'LimitExceeded' && e.message === 'Cannot exceed quota for PolicySize: 6144',
    )
    const spaced = JSON.stringify({ Statement: [ok] }).replaceAll(',', ',' + ' '.repeat(4000))
    assert.ok(spaced.length > 6144)
    parsePolicy(spaced, 'identity', POLICY_SIZE.managed)
  })
})
