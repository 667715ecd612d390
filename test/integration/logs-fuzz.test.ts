// test-group: fuzz
// SPDX-License-Identifier: Apache-2.0
/**
 * Fuzz of the CloudWatch Logs API (JSON 1.1): seeded random requests (FUZZ_SEED, default 1;
 * FUZZ_COUNT, default 3,000) — malformed and deeply nested JSON, members of the wrong type, huge
 * strings, batches over 10,000 events or 1 MiB, events out of order, bad and forged tokens, random
 * filter patterns and Insights queries, unknown targets and content types. Every answer must be a
 * 200 with a JSON object, or a 4xx JSON error `{"__type", "message"}` whose code is one the service
 * answers — never a 5xx; and the server must still answer correctly afterwards.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { prng, startApiTestServer, type ApiTestServer } from '../helpers/api-server.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 1)
const COUNT = Number(process.env.FUZZ_COUNT ?? 3000)
const CODES = new Set([
  'InvalidParameterException',
  'ResourceNotFoundException',
  'ResourceAlreadyExistsException',
  'LimitExceededException',
  'MalformedQueryException',
  'TooManyTagsException',
  'SerializationException',
  'UnknownOperationException',
  'RequestEntityTooLarge',
])

let srv: ApiTestServer
const NOW = Date.now()

before(async () => {
  srv = await startApiTestServer({ bodyLimit: 4 * 1024 * 1024 })
})
after(async () => {
  await srv?.close()
})

function call(target: string, body: string | Buffer, contentType = 'application/x-amz-json-1.1') {
  return srv.signed(body, {
    service: 'logs',
    extraHeaders: { 'x-amz-target': target, 'content-type': contentType },
  })
}

const ACTIONS = [
  'CreateLogGroup',
  'DeleteLogGroup',
  'DescribeLogGroups',
  'CreateLogStream',
  'DescribeLogStreams',
  'PutLogEvents',
  'GetLogEvents',
  'FilterLogEvents',
  'PutRetentionPolicy',
  'TagResource',
  'ListTagsForResource',
  'PutMetricFilter',
  'TestMetricFilter',
  'StartQuery',
  'GetQueryResults',
  'DescribeQueries',
  'StopQuery',
]
const MEMBERS = [
  'logGroupName',
  'logStreamName',
  'logEvents',
  'nextToken',
  'limit',
  'startTime',
  'endTime',
  'filterPattern',
  'queryString',
  'queryId',
  'retentionInDays',
  'tags',
  'resourceArn',
  'orderBy',
  'descending',
  'startFromHead',
  'logStreamNames',
  'logGroupNames',
  'filterName',
  'metricTransformations',
  'logEventMessages',
]
const PATTERN_BITS = [
  '[',
  ']',
  '{',
  '}',
  '$.a',
  '=',
  '!=',
  '&&',
  '||',
  '"',
  '*',
  '...',
  'x',
  '22',
  '(',
  ')',
  ' ',
  ',',
  '?',
  '-',
  '%',
  'IS NULL',
  '<',
  '>=',
]
const QUERY_BITS = [
  'fields',
  'filter',
  'stats',
  'count(*)',
  'by',
  'bin(5m)',
  'sort',
  'desc',
  'limit',
  '10',
  '|',
  '/a+/',
  'like',
  '"x"',
  '=',
  'srcAddr',
  'and',
  'not',
  '(',
  ')',
  ',',
  'parse',
  'as',
  '@message',
  'in',
  '[',
  ']',
]

test(`fuzz: ${COUNT} hostile CloudWatch Logs requests, seed ${SEED}`, { timeout: 300_000 }, async () => {
  const r = prng(SEED)
  const int = (n: number) => Math.floor(r() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  const junk = (n: number) => Array.from({ length: n }, () => pick(PATTERN_BITS)).join('')
  const value = (): unknown => {
    switch (int(10)) {
      case 0:
        return int(2) === 0 ? -1 : 2 ** 60
      case 1:
        return 'x'.repeat(int(2) === 0 ? 600 : 20_000)
      case 2:
        return [1, 'a', null, {}]
      case 3:
        return { a: { b: [1] } }
      case 4:
        return null
      case 5:
        return true
      case 6:
        return 1.5
      case 7:
        return junk(1 + int(20))
      default:
        return pick(['/fz', 'eni-1', 'f/123', 'b/0000', 'AAAA', '', '10', 'LastEventTime'])
    }
  }
  await call('Logs_20140328.CreateLogGroup', '{"logGroupName":"/fz"}')
  await call('Logs_20140328.CreateLogStream', '{"logGroupName":"/fz","logStreamName":"s"}')
  const seen = new Map<string, number>()
  for (let k = 0; k < COUNT; k++) {
    let target = `Logs_20140328.${pick(ACTIONS)}`
    let ct = 'application/x-amz-json-1.1'
    let body: string
    switch (int(12)) {
      case 0:
        body = pick([
          '{',
          '[]',
          '"x"',
          '{"a":',
          '\u0000',
          '{"logGroupName":"/fz",}',
          '{' + '"a":['.repeat(50),
        ])
        break
      case 1:
        body = '['.repeat(10_000)
        break
      case 2: {
        // A batch over a limit: too many events, too many bytes, out of order, or a span over 24 h.
        const n = pick([10_001, 20, 3, 2])
        const big = n === 20 ? 'y'.repeat(60_000) : 'm'
        const events = Array.from({ length: n }, (_v, i) => ({
          timestamp: NOW - (n === 3 ? i : -i) * (n === 2 ? 25 * 3600_000 : 1),
          message: big,
        }))
        body = JSON.stringify({ logGroupName: '/fz', logStreamName: 's', logEvents: events })
        target = 'Logs_20140328.PutLogEvents'
        break
      }
      case 3:
        body = JSON.stringify({ logGroupName: '/fz', filterPattern: junk(1 + int(30)) })
        target = 'Logs_20140328.FilterLogEvents'
        break
      case 4:
        body = JSON.stringify({
          logGroupName: '/fz',
          startTime: Math.floor(NOW / 1000) - 60,
          endTime: Math.floor(NOW / 1000),
          queryString: Array.from({ length: 1 + int(12) }, () => pick(QUERY_BITS)).join(' '),
        })
        target = 'Logs_20140328.StartQuery'
        break
      case 5:
        body = JSON.stringify({
          logGroupName: '/fz',
          logStreamName: 's',
          nextToken: pick([
            'f/',
            'b/' + '9'.repeat(40),
            'f/' + '1'.repeat(39),
            'zz',
            Buffer.from('e1:5:5').toString('base64url'),
          ]),
        })
        target = pick([
          'Logs_20140328.GetLogEvents',
          'Logs_20140328.FilterLogEvents',
          'Logs_20140328.DescribeLogStreams',
        ])
        break
      case 6:
        target = pick([
          'Logs_20140328.',
          'Logs_20140328',
          'CloudTrail_20131101.PutLogEvents',
          'Logs_20140328.DescribeLogGroupsX',
          '',
        ])
        body = '{}'
        break
      case 7:
        ct = pick(['text/plain', 'application/json', 'application/x-www-form-urlencoded', ''])
        body = '{}'
        break
      default: {
        const o: Record<string, unknown> = {}
        for (let m = int(5); m >= 0; m--) o[pick(MEMBERS)] = value()
        body = JSON.stringify(o)
      }
    }
    const res = await call(target, body, ct)
    const tag = `${target} ${body.slice(0, 120)}`
    assert.ok(res.status < 500, `${res.status} for ${tag}: ${res.body.slice(0, 300)}`)
    const parsed = JSON.parse(res.body) as Record<string, unknown>
    assert.equal(typeof parsed, 'object', tag)
    if (res.status !== 200) {
      const code = String(parsed.__type)
      assert.ok(CODES.has(code), `unexpected code ${code} for ${tag}`)
      assert.equal(typeof parsed.message, 'string', tag)
      seen.set(code, (seen.get(code) ?? 0) + 1)
    }
  }
  // Every kind of rejection was exercised, and the server still answers correctly.
  for (const c of [
    'SerializationException',
    'UnknownOperationException',
    'InvalidParameterException',
    'MalformedQueryException',
  ])
    assert.ok((seen.get(c) ?? 0) > 0, `no ${c} in ${JSON.stringify([...seen])}`)
  // (A fuzzed DeleteLogGroup may have removed /fz: a fresh group proves the server still works.)
  assert.equal((await call('Logs_20140328.CreateLogGroup', '{"logGroupName":"/after-fuzz"}')).status, 200)
  const ok = await call('Logs_20140328.DescribeLogGroups', '{"logGroupNamePrefix":"/after-fuzz"}')
  assert.equal(ok.status, 200)
  const groups = (JSON.parse(ok.body) as { logGroups: { logGroupName: string }[] }).logGroups
  assert.deepEqual(
    groups.map((g) => g.logGroupName),
    ['/after-fuzz'],
  )
})

test("a full-size PutLogEvents batch fits the server's default limits; beyond them, AWS's error", async () => {
  const def = await startApiTestServer({ prefix: 'mf-logs-limit' })
  try {
    const put = (body: string | Buffer, target = 'Logs_20140328.PutLogEvents') =>
      def.signed(body, {
        service: 'logs',
        extraHeaders: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' },
      })
    assert.equal((await put('{"logGroupName":"/big"}', 'Logs_20140328.CreateLogGroup')).status, 200)
    assert.equal(
      (await put('{"logGroupName":"/big","logStreamName":"s"}', 'Logs_20140328.CreateLogStream')).status,
      200,
    )
    // 8,000 events of 105 bytes: 1,048,000 bytes as AWS counts them (26 more each), a body of
    // ~5 MB once JSON escapes the control characters — over the 1 MiB the EC2 API takes.
    const msg = 'flow ' + '\u0001'.repeat(100)
    const events = Array.from({ length: 8000 }, (_v, i) => ({ timestamp: NOW - 8000 + i, message: msg }))
    const full = JSON.stringify({ logGroupName: '/big', logStreamName: 's', logEvents: events })
    assert.ok(full.length > 4 * 1024 * 1024)
    const ok = await put(full)
    assert.equal(ok.status, 200, ok.body)
    assert.equal(JSON.parse(ok.body).rejectedLogEventsInfo, undefined)
    // One byte more of events than AWS allows: its own error.
    const over = JSON.stringify({
      logGroupName: '/big',
      logStreamName: 's',
      logEvents: [...events, { timestamp: NOW, message: 'x'.repeat(551) }],
    })
    const r1 = await put(over)
    assert.deepEqual([r1.status, JSON.parse(r1.body).__type], [400, 'InvalidParameterException'])
    assert.match(JSON.parse(r1.body).message, /^Upload too large: 1048577 bytes exceeds limit of 1048576$/)
    // A body larger than any batch can be: refused before it is parsed, with the same code.
    const huge = Buffer.alloc(9 * 1024 * 1024, 0x20)
    const r2 = await put(huge)
    assert.deepEqual([r2.status, JSON.parse(r2.body).__type], [400, 'InvalidParameterException'])
    assert.match(JSON.parse(r2.body).message, /^Upload too large: /)
    // Other services keep the 1 MiB limit.
    const r3 = await def.signed(Buffer.alloc(2 * 1024 * 1024, 0x61))
    assert.equal(r3.status, 413)
  } finally {
    await def.close()
  }
})
