// test-group: process
// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs driven by the real AWS CLI (/usr/bin/aws logs …, every command run by the
 * unmodified CLI in one Python process: AwsBatch), one shared server: every
 * action's happy path and its documented errors, each pinned to one code; PutLogEvents' batch rules;
 * GetLogEvents' tokens; FilterLogEvents with a flow-log space-delimited pattern and pagination;
 * retention enforced; Logs Insights over flow-log records; and raw JSON 1.1 requests for the
 * protocol's own errors.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { cliEnv, startApiTestServer, type ApiTestServer, type CliResult } from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

let srv: ApiTestServer
/** The real AWS CLI, every command in one Python process (one interpreter start for the file). */
let cli: AwsBatch
const NOW = Date.now()

async function ok(...args: string[]): Promise<Record<string, unknown>> {
  const r = await cli.run('logs', ...args)
  assert.equal(r.code, 0, `aws logs ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return (r.json ?? {}) as Record<string, unknown>
}

async function fails(code: string, ...args: string[]): Promise<string> {
  const r: CliResult = await cli.run('logs', ...args)
  assert.equal(r.code, 254, `want exit 254, got ${r.code}: ${r.stderr}${r.stdout}`)
  const m = /An error occurred \(([^)]+)\) when calling the (\w+) operation[^:]*: (.*)/.exec(r.stderr)
  assert.ok(m, r.stderr)
  assert.equal(m[1], code, r.stderr)
  return m[3]!
}

const flow = (src: string, dport: number, action: string, t: number) =>
  `2 123456789012 eni-0123456789abcdef0 ${src} 10.0.1.10 40000 ${dport} 6 3 180 ${Math.floor(t / 1000)} ${Math.floor(t / 1000) + 60} ${action} OK`

before(async () => {
  srv = await startApiTestServer()
  cli = new AwsBatch(cliEnv(srv.dataDir), srv.url)
})
after(async () => {
  await cli?.close()
  await srv?.close()
})

test('log groups: create (tags), exists, describe (prefix, pattern, pagination), retention, delete', async () => {
  await ok('create-log-group', '--log-group-name', '/app/a', '--tags', 'team=net,env=test')
  await ok('create-log-group', '--log-group-name', '/app/b')
  await ok('create-log-group', '--log-group-name', 'other')
  await fails('ResourceAlreadyExistsException', 'create-log-group', '--log-group-name', '/app/a')
  await fails('InvalidParameterException', 'create-log-group', '--log-group-name', 'bad name!')
  const d = await ok('describe-log-groups', '--log-group-name-prefix', '/app/')
  assert.deepEqual(
    (d.logGroups as { logGroupName: string }[]).map((g) => g.logGroupName),
    ['/app/a', '/app/b'],
  )
  const g0 = (d.logGroups as Record<string, unknown>[])[0]!
  assert.equal(g0.arn, `arn:aws:logs:${srv.region}:${srv.accountId}:log-group:/app/a:*`)
  const pat = await ok('describe-log-groups', '--log-group-name-pattern', 'THE')
  assert.deepEqual(
    (pat.logGroups as { logGroupName: string }[]).map((g) => g.logGroupName),
    ['other'],
  )
  const p1 = await ok('describe-log-groups', '--limit', '1', '--no-paginate')
  assert.equal((p1.logGroups as unknown[]).length, 1)
  const p2 = await ok(
    'describe-log-groups',
    '--limit',
    '1',
    '--no-paginate',
    '--next-token',
    String(p1.nextToken),
  )
  assert.equal((p2.logGroups as { logGroupName: string }[])[0]!.logGroupName, '/app/b')
  await fails('InvalidParameterException', 'describe-log-groups', '--next-token', 'nonsense')
  await ok('put-retention-policy', '--log-group-name', '/app/a', '--retention-in-days', '7')
  await fails(
    'InvalidParameterException',
    'put-retention-policy',
    '--log-group-name',
    '/app/a',
    '--retention-in-days',
    '2',
  )
  await fails(
    'ResourceNotFoundException',
    'put-retention-policy',
    '--log-group-name',
    '/nope',
    '--retention-in-days',
    '7',
  )
  const r = await ok('describe-log-groups', '--log-group-name-prefix', '/app/a')
  assert.equal((r.logGroups as { retentionInDays: number }[])[0]!.retentionInDays, 7)
  await ok('delete-retention-policy', '--log-group-name', '/app/a')
  await ok('delete-log-group', '--log-group-name', 'other')
  await fails('ResourceNotFoundException', 'delete-log-group', '--log-group-name', 'other')
})

test('tags: TagResource/UntagResource/ListTagsForResource and the older TagLogGroup/ListTagsLogGroup', async () => {
  const arn = `arn:aws:logs:${srv.region}:${srv.accountId}:log-group:/app/a`
  assert.deepEqual((await ok('list-tags-for-resource', '--resource-arn', arn)).tags, {
    team: 'net',
    env: 'test',
  })
  await ok('tag-resource', '--resource-arn', arn, '--tags', 'owner=ops')
  await ok('untag-resource', '--resource-arn', arn, '--tag-keys', 'env')
  assert.deepEqual((await ok('list-tags-log-group', '--log-group-name', '/app/a')).tags, {
    team: 'net',
    owner: 'ops',
  })
  await ok('tag-log-group', '--log-group-name', '/app/a', '--tags', 'x=1')
  assert.equal(
    ((await ok('list-tags-for-resource', '--resource-arn', `${arn}:*`)).tags as Record<string, string>).x,
    '1',
  )
  await fails('ResourceNotFoundException', 'list-tags-for-resource', '--resource-arn', `${arn}-missing`)
})

test('streams and events: PutLogEvents rules, GetLogEvents tokens, DescribeLogStreams order', async () => {
  await ok('create-log-stream', '--log-group-name', '/app/b', '--log-stream-name', 's1')
  await ok('create-log-stream', '--log-group-name', '/app/b', '--log-stream-name', 's2')
  await fails(
    'ResourceAlreadyExistsException',
    'create-log-stream',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
  )
  await fails(
    'ResourceNotFoundException',
    'create-log-stream',
    '--log-group-name',
    '/nope',
    '--log-stream-name',
    's1',
  )
  await fails(
    'InvalidParameterException',
    'create-log-stream',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    'a:b',
  )
  const events = (n: number, t0: number) =>
    Array.from({ length: n }, (_v, i) => ({ timestamp: t0 + i, message: `event ${i}` }))
  const put = await ok(
    'put-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--log-events',
    JSON.stringify(events(5, NOW - 10_000)),
  )
  assert.equal(typeof put.nextSequenceToken, 'string')
  await ok(
    'put-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's2',
    '--sequence-token',
    'ignored',
    '--log-events',
    JSON.stringify(events(1, NOW - 1000)),
  )
  // Out of order; over 24 hours; stream or group missing.
  await fails(
    'InvalidParameterException',
    'put-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--log-events',
    JSON.stringify([
      { timestamp: NOW, message: 'b' },
      { timestamp: NOW - 1, message: 'a' },
    ]),
  )
  await fails(
    'InvalidParameterException',
    'put-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--log-events',
    JSON.stringify([
      { timestamp: NOW - 25 * 3600_000, message: 'a' },
      { timestamp: NOW, message: 'b' },
    ]),
  )
  await fails(
    'ResourceNotFoundException',
    'put-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    'nope',
    '--log-events',
    JSON.stringify(events(1, NOW)),
  )
  // Too old and too new events are reported, not stored.
  const tooNew = await ok(
    'put-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's2',
    '--log-events',
    JSON.stringify([
      { timestamp: NOW, message: 'fine' },
      { timestamp: NOW + 3 * 3600_000, message: 'future' },
    ]),
  )
  assert.deepEqual(tooNew.rejectedLogEventsInfo, { tooNewLogEventStartIndex: 1 })
  const tooOld = await ok(
    'put-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's2',
    '--log-events',
    JSON.stringify([
      { timestamp: NOW - 15 * 86_400_000, message: 'old' },
      { timestamp: NOW - 15 * 86_400_000 + 1, message: 'old too' },
    ]),
  )
  assert.deepEqual(tooOld.rejectedLogEventsInfo, { tooOldLogEventEndIndex: 1 })
  const s2 = await ok(
    'get-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's2',
    '--start-from-head',
  )
  assert.deepEqual(
    (s2.events as { message: string }[]).map((e) => e.message),
    ['event 0', 'fine'],
  )
  const head = await ok(
    'get-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--start-from-head',
    '--limit',
    '2',
  )
  assert.deepEqual(
    (head.events as { message: string }[]).map((e) => e.message),
    ['event 0', 'event 1'],
  )
  assert.match(String(head.nextForwardToken), /^f\/\d+$/)
  const nxt = await ok(
    'get-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--limit',
    '2',
    '--next-token',
    String(head.nextForwardToken),
  )
  assert.deepEqual(
    (nxt.events as { message: string }[]).map((e) => e.message),
    ['event 2', 'event 3'],
  )
  const back = await ok(
    'get-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--limit',
    '1',
    '--next-token',
    String(nxt.nextBackwardToken),
  )
  assert.deepEqual(
    (back.events as { message: string }[]).map((e) => e.message),
    ['event 1'],
  )
  const tail = await ok(
    'get-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--limit',
    '2',
  )
  assert.deepEqual(
    (tail.events as { message: string }[]).map((e) => e.message),
    ['event 3', 'event 4'],
  )
  await fails(
    'InvalidParameterException',
    'get-log-events',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's1',
    '--next-token',
    'f/zz',
  )
  const byTime = await ok(
    'describe-log-streams',
    '--log-group-name',
    '/app/b',
    '--order-by',
    'LastEventTime',
    '--descending',
  )
  assert.deepEqual(
    (byTime.logStreams as { logStreamName: string }[]).map((s) => s.logStreamName),
    ['s2', 's1'],
  )
  const s1 = (byTime.logStreams as Record<string, unknown>[])[1]!
  assert.equal(s1.firstEventTimestamp, NOW - 10_000)
  assert.equal(s1.lastEventTimestamp, NOW - 10_000 + 4)
  const byPrefix = await ok(
    'describe-log-streams',
    '--log-group-name',
    '/app/b',
    '--log-stream-name-prefix',
    's1',
  )
  assert.deepEqual(
    (byPrefix.logStreams as { logStreamName: string }[]).map((s) => s.logStreamName),
    ['s1'],
  )
  await fails(
    'InvalidParameterException',
    'describe-log-streams',
    '--log-group-name',
    '/app/b',
    '--order-by',
    'LastEventTime',
    '--log-stream-name-prefix',
    's',
  )
  await ok('delete-log-stream', '--log-group-name', '/app/b', '--log-stream-name', 's2')
  await fails(
    'ResourceNotFoundException',
    'delete-log-stream',
    '--log-group-name',
    '/app/b',
    '--log-stream-name',
    's2',
  )
})

test('FilterLogEvents: flow-log pattern across streams, stream names, time range, pagination', async () => {
  await ok('create-log-group', '--log-group-name', '/vpc/flow')
  for (const s of ['eni-0123456789abcdef0', 'eni-0fedcba9876543210'])
    await ok('create-log-stream', '--log-group-name', '/vpc/flow', '--log-stream-name', s)
  const a = [
    flow('203.0.113.5', 22, 'REJECT', NOW - 5000),
    flow('10.0.1.20', 443, 'ACCEPT', NOW - 4000),
    flow('203.0.113.5', 22, 'REJECT', NOW - 3000),
  ]
  const b = [flow('203.0.113.9', 22, 'REJECT', NOW - 4500), flow('203.0.113.9', 3389, 'REJECT', NOW - 3500)]
  await ok(
    'put-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--log-stream-name',
    'eni-0123456789abcdef0',
    '--log-events',
    JSON.stringify(a.map((m, i) => ({ timestamp: NOW - 5000 + i * 1000, message: m }))),
  )
  await ok(
    'put-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--log-stream-name',
    'eni-0fedcba9876543210',
    '--log-events',
    JSON.stringify(b.map((m, i) => ({ timestamp: NOW - 4500 + i * 1000, message: m }))),
  )
  const pattern =
    '[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
  const all = await ok('filter-log-events', '--log-group-name', '/vpc/flow', '--filter-pattern', pattern)
  assert.deepEqual(
    (all.events as { logStreamName: string; timestamp: number }[]).map((e) => [e.logStreamName, e.timestamp]),
    [
      ['eni-0123456789abcdef0', NOW - 5000],
      ['eni-0fedcba9876543210', NOW - 4500],
      ['eni-0123456789abcdef0', NOW - 3000],
    ],
  )
  const one = await ok(
    'filter-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--log-stream-names',
    'eni-0fedcba9876543210',
    '--filter-pattern',
    'REJECT',
  )
  assert.equal((one.events as unknown[]).length, 2)
  const ranged = await ok(
    'filter-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--start-time',
    String(NOW - 4000),
    '--end-time',
    String(NOW - 3500),
  )
  assert.deepEqual(
    (ranged.events as { timestamp: number }[]).map((e) => e.timestamp),
    [NOW - 4000, NOW - 3500],
  )
  const page = await ok('filter-log-events', '--log-group-name', '/vpc/flow', '--limit', '2', '--no-paginate')
  assert.equal((page.events as unknown[]).length, 2)
  const rest = await ok(
    'filter-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--limit',
    '10',
    '--no-paginate',
    '--next-token',
    String(page.nextToken),
  )
  assert.equal((rest.events as unknown[]).length, 3)
  assert.equal(rest.nextToken, undefined)
  // The CLI follows nextToken itself.
  const auto = await ok('filter-log-events', '--log-group-name', '/vpc/flow', '--page-size', '1')
  assert.equal((auto.events as unknown[]).length, 5)
  await fails(
    'InvalidParameterException',
    'filter-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--filter-pattern',
    '[a, b',
  )
  await fails(
    'InvalidParameterException',
    'filter-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--log-stream-names',
    'x',
    '--log-stream-name-prefix',
    'y',
  )
  await fails(
    'InvalidParameterException',
    'filter-log-events',
    '--log-group-name',
    '/vpc/flow',
    '--next-token',
    'AAAA',
  )
})

test('metric filters: put, describe, test, delete', async () => {
  await ok(
    'put-metric-filter',
    '--log-group-name',
    '/vpc/flow',
    '--filter-name',
    'ssh-rejects',
    '--filter-pattern',
    '[v, a, e, s, d, sp, dp=22, ..., action="REJECT", st]',
    '--metric-transformations',
    'metricName=SshRejects,metricNamespace=Flow,metricValue=1',
  )
  const d = await ok('describe-metric-filters', '--log-group-name', '/vpc/flow')
  assert.deepEqual(
    (d.metricFilters as { filterName: string }[]).map((f) => f.filterName),
    ['ssh-rejects'],
  )
  const t = await ok(
    'test-metric-filter',
    '--filter-pattern',
    '[v, a, e, s, d, sp, dp=22, ...]',
    '--log-event-messages',
    flow('1.2.3.4', 22, 'REJECT', NOW),
    flow('1.2.3.4', 80, 'REJECT', NOW),
  )
  assert.deepEqual(
    (t.matches as { eventNumber: number }[]).map((m) => m.eventNumber),
    [1],
  )
  await fails(
    'InvalidParameterException',
    'put-metric-filter',
    '--log-group-name',
    '/vpc/flow',
    '--filter-name',
    'bad',
    '--filter-pattern',
    '{ $.a = ',
    '--metric-transformations',
    'metricName=A,metricNamespace=B,metricValue=1',
  )
  await ok('delete-metric-filter', '--log-group-name', '/vpc/flow', '--filter-name', 'ssh-rejects')
  await fails(
    'ResourceNotFoundException',
    'delete-metric-filter',
    '--log-group-name',
    '/vpc/flow',
    '--filter-name',
    'ssh-rejects',
  )
})

test('Logs Insights: start-query, get-query-results, describe-queries, stop-query, malformed queries', async () => {
  const start = String(Math.floor((NOW - 60_000) / 1000))
  const end = String(Math.floor((NOW + 60_000) / 1000))
  const s = await ok(
    'start-query',
    '--log-group-name',
    '/vpc/flow',
    '--start-time',
    start,
    '--end-time',
    end,
    '--query-string',
    'filter action="REJECT" | stats count(*) as attempts by srcAddr, dstPort | sort attempts desc',
  )
  const id = String(s.queryId)
  let res: Record<string, unknown> = {}
  for (let i = 0; i < 50; i++) {
    res = await ok('get-query-results', '--query-id', id)
    if (res.status === 'Complete') break
  }
  assert.equal(res.status, 'Complete')
  const rows = (res.results as { field: string; value: string }[][]).map((r) =>
    Object.fromEntries(r.map((f) => [f.field, f.value])),
  )
  assert.deepEqual(rows, [
    { srcAddr: '203.0.113.5', dstPort: '22', attempts: '2' },
    { srcAddr: '203.0.113.9', dstPort: '22', attempts: '1' },
    { srcAddr: '203.0.113.9', dstPort: '3389', attempts: '1' },
  ])
  assert.equal((res.statistics as { recordsScanned: number }).recordsScanned, 5)
  const d = await ok('describe-queries', '--log-group-name', '/vpc/flow')
  assert.ok((d.queries as { queryId: string }[]).some((q) => q.queryId === id))
  assert.equal((await ok('stop-query', '--query-id', id)).success, false)
  await fails(
    'MalformedQueryException',
    'start-query',
    '--log-group-name',
    '/vpc/flow',
    '--start-time',
    start,
    '--end-time',
    end,
    '--query-string',
    'fields a | explode b',
  )
  await fails(
    'ResourceNotFoundException',
    'start-query',
    '--log-group-name',
    '/nope',
    '--start-time',
    start,
    '--end-time',
    end,
    '--query-string',
    'fields @message',
  )
  await fails('ResourceNotFoundException', 'get-query-results', '--query-id', 'no-such-query')
})

test('JSON 1.1 on the wire: content type, request id, __type errors, unknown target', async () => {
  const call = (target: string, body: string, headers: Record<string, string> = {}) =>
    srv.signed(body, {
      service: 'logs',
      extraHeaders: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1', ...headers },
    })
  const r = await call('Logs_20140328.DescribeLogGroups', '{}')
  assert.equal(r.status, 200)
  assert.equal(r.headers['content-type'], 'application/x-amz-json-1.1')
  assert.match(String(r.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/)
  const bad = await call('Logs_20140328.Nope', '{}')
  assert.deepEqual([bad.status, JSON.parse(bad.body).__type], [400, 'UnknownOperationException'])
  const ser = await call('Logs_20140328.CreateLogGroup', '{"logGroupName": 5}')
  assert.deepEqual([ser.status, JSON.parse(ser.body).__type], [400, 'SerializationException'])
  const nf = await call('Logs_20140328.DeleteLogGroup', '{"logGroupName":"/none"}')
  assert.deepEqual(
    [nf.status, JSON.parse(nf.body)],
    [400, { __type: 'ResourceNotFoundException', message: 'The specified log group does not exist.' }],
  )
})
