// SPDX-License-Identifier: Apache-2.0
/**
 * bench/api: what the authorization step adds to a call. A principal with 50 statements attached
 * (inline and managed, wildcards, conditions on tags, IP and time — the allow that decides is the
 * last) asks for `ec2:DescribeTrafficMirrorSessions` on `*`, and for
 * `ec2:DeleteTrafficMirrorSession` on a tagged session of a store of BENCH_RESOURCES (default
 * 10,000) sessions' worth of records; each check is timed alone (hrtime around one call). The
 * figure the issue asks for is the p99 of one check (under 1 ms): that is what a Describe pays
 * above a call without authorization, whatever the number of resources (a Describe is authorized
 * on `*`; the resources it lists are not evaluated).
 *
 * Output: one JSON line per case (`{case, calls, p50Us, p99Us, maxUs}`). Run:
 * `node --import tsx bench/api/authz.bench.ts` (BENCH_CALLS, default 200,000).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ControlPlane, SqliteStore } from '../../src/control/index.ts'
import { Authorizer } from '../../src/api/auth/authorize.ts'
import type { ServiceEndpoint } from '../../src/api/protocols/index.ts'

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000)
const RESOURCES = Number(process.env.BENCH_RESOURCES ?? 10_000)

const dir = mkdtempSync(join(tmpdir(), 'mf-bench-authz-'))
const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
const ec2 = { signingName: 'ec2', protocol: 'ec2-query', iamPrefix: 'ec2' } as ServiceEndpoint

// 49 statements that do not decide a Describe (other actions, conditions that fail), then the allow.
const noise = (i: number): object => {
  switch (i % 5) {
    case 0:
      return {
        Effect: 'Allow',
        Action: [`ec2:Create${i}*`, `logs:Put${i}*`],
        Resource: `arn:aws:ec2:*:*:vpc/vpc-${i}*`,
      }
    case 1:
      return {
        Effect: 'Allow',
        Action: 'ec2:*TrafficMirror*',
        Resource: 'arn:aws:ec2:*:*:traffic-mirror-session/*',
        Condition: { StringEquals: { 'ec2:ResourceTag/team': `team-${i}` } },
      }
    case 2:
      return {
        Effect: 'Deny',
        Action: 'ec2:*',
        Resource: '*',
        Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8', '::1/128'] } },
      }
    case 3:
      return {
        Effect: 'Deny',
        NotAction: ['ec2:*', 'iam:Get*', 'sts:*', 'logs:*'],
        Resource: '*',
        Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
      }
    default:
      return {
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: '*',
        Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': [`k${i}*`, 'Name'] } },
      }
  }
}
const statements = Array.from({ length: 49 }, (_, i) => noise(i))
statements.push({
  Effect: 'Allow',
  Action: ['ec2:Describe*', 'ec2:DeleteTrafficMirrorSession'],
  Resource: '*',
})
cp.iam.createUser('bench', '/', [{ key: 'team', value: 'blue' }])
// 5 inline statements, the other 45 in 9 managed policies of 5.
cp.iam.putInline(
  'user',
  'bench',
  'inline',
  JSON.stringify({ Version: '2012-10-17', Statement: statements.slice(0, 5) }),
)
for (let p = 0; p < 9; p++) {
  const pol = cp.iam.createPolicy(
    `bench-${p}`,
    '/',
    JSON.stringify({ Version: '2012-10-17', Statement: statements.slice(5 + p * 5, 10 + p * 5) }),
    '',
  )
  cp.iam.attach('user', 'bench', pol.arn)
}
const key = cp.iam.createAccessKey('bench')
const authorizer = new Authorizer(cp)
const facts = { accessKeyId: key.accessKeyId, headers: {}, sourceIp: '127.0.0.1' }
const tags = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))
const session = (i: number) => ({
  arn: `arn:aws:ec2:us-east-1:123456789012:traffic-mirror-session/tms-${(i % RESOURCES).toString(16).padStart(17, '0')}`,
  tags,
})

function run(name: string, authz: (i: number) => Parameters<Authorizer['check']>[1]): void {
  const ns = new Float64Array(CALLS)
  for (let i = 0; i < 2000; i++) authorizer.check(ec2, authz(i), facts) // warm-up (and compile)
  for (let i = 0; i < CALLS; i++) {
    const a = authz(i)
    const t0 = process.hrtime.bigint()
    authorizer.check(ec2, a, facts)
    ns[i] = Number(process.hrtime.bigint() - t0)
  }
  ns.sort()
  const us = (q: number): number => Math.round(ns[Math.min(CALLS - 1, Math.floor(q * CALLS))]! / 10) / 100
  console.log(
    JSON.stringify({
      case: name,
      statements: 50,
      calls: CALLS,
      p50Us: us(0.5),
      p99Us: us(0.99),
      maxUs: us(1),
    }),
  )
}

try {
  run('describe-on-star', () => ({
    action: 'DescribeTrafficMirrorSessions',
    context: { 'ec2:region': 'us-east-1' },
  }))
  run('delete-tagged-session', (i) => ({
    action: 'DeleteTrafficMirrorSession',
    resources: [session(i)],
    context: { 'ec2:region': 'us-east-1' },
  }))
} finally {
  cp.close()
  rmSync(dir, { recursive: true, force: true })
}
