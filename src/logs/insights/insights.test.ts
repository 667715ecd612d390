// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// Logs Insights over flow-log records in the store, each result checked against an independent
// computation over the same records (plain loops, no engine code); the AWS documentation's sample
// VPC flow-log queries run unchanged; unsupported queries are errors.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InsightsQueryError } from '../errors.ts'
import { DEFAULT_FLOW_FORMAT, flowFormat } from '../flowlog-fields.ts'
import { LogStore } from '../store.ts'
import { runQuery, type QueryInput } from './run.ts'
import { compileSafeRegex } from './regex.ts'

interface Rec {
  ts: number
  eni: string
  src: string
  dst: string
  sport: number
  dport: number
  proto: number
  packets: number
  bytes: number
  action: 'ACCEPT' | 'REJECT'
  status: 'OK' | 'SKIPDATA'
}

/** A seeded generator (mulberry32), so the records are the same on every run. */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0)
const r = rng(7)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
const recs: Rec[] = []
for (let i = 0; i < 3000; i++) {
  recs.push({
    ts: T0 + Math.floor(i * 1200 + r() * 1000),
    eni: pick(['eni-0a1b2c3d4e5f60001', 'eni-0a1b2c3d4e5f60002']),
    src: pick(['10.0.1.10', '10.0.1.11', '10.0.2.5', '192.0.2.7', '198.51.100.9']),
    dst: pick(['10.0.1.10', '10.0.1.20', '10.0.2.5']),
    sport: 1024 + Math.floor(r() * 60000),
    dport: pick([22, 80, 443, 3389, 53]),
    proto: pick([6, 6, 6, 17]),
    packets: 1 + Math.floor(r() * 50),
    bytes: 40 + Math.floor(r() * 9000),
    action: r() < 0.3 ? 'REJECT' : 'ACCEPT',
    status: r() < 0.05 ? 'SKIPDATA' : 'OK',
  })
}
const line = (x: Rec) =>
  `2 123456789012 ${x.eni} ${x.src} ${x.dst} ${x.sport} ${x.dport} ${x.proto} ${x.packets} ${x.bytes} ${Math.floor(x.ts / 1000)} ${Math.floor(x.ts / 1000) + 60} ${x.action} ${x.status}`

const store = new LogStore(':memory:')
const g = store.createGroup('/vpc/flow', T0, null, 'STANDARD', new Map())
const streams = new Map<string, number>()
for (const eni of ['eni-0a1b2c3d4e5f60001', 'eni-0a1b2c3d4e5f60002']) {
  const s = store.createStream(g.id, eni, T0)
  streams.set(eni, s.id)
  const mine = recs.filter((x) => x.eni === eni)
  store.putEvents(
    s,
    mine.map((x) => x.ts),
    mine.map(line),
    T0 + 5000,
    0,
  )
}
const names = new Map([...streams].map(([n, id]) => [id, n]))
const END = recs[recs.length - 1]!.ts

function q(query: string, over: Partial<QueryInput> = {}) {
  return runQuery(store, query, {
    groups: [{ id: g.id, name: '/vpc/flow' }],
    accountId: '123456789012',
    streamName: (sid) => names.get(sid) ?? '',
    start: T0,
    end: END,
    limit: 1000,
    formats: [],
    ...over,
  })
}

/** Results as plain objects. */
function rows(out: ReturnType<typeof q>): Record<string, string>[] {
  return out.results.map((row) => Object.fromEntries(row.map((f) => [f.field, f.value])))
}

function groupBy<K>(xs: Rec[], key: (x: Rec) => K): Map<K, Rec[]> {
  const m = new Map<K, Rec[]>()
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x])
  return m
}

test('sample: top 15 packet transfers across hosts', () => {
  const got = rows(
    q(
      'stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15',
    ),
  )
  const want = [...groupBy(recs, (x) => `${x.src} ${x.dst}`)]
    .map(([k, xs]) => ({ k, sum: xs.reduce((a, x) => a + x.packets, 0) }))
    .sort((a, b) => b.sum - a.sum)
    .slice(0, 15)
  assert.deepEqual(
    got.map((x) => [`${x.srcAddr} ${x.dstAddr}`, Number(x.packetsTransferred)]),
    want.map((w) => [w.k, w.sum]),
  )
})

test('sample: top byte transfers for hosts on a subnet (isIpv4InSubnet)', () => {
  const got = rows(
    q(
      'filter isIpv4InSubnet(srcAddr, "10.0.1.0/24") | stats sum(bytes) as bytesTransferred by dstAddr | sort bytesTransferred desc | limit 15',
    ),
  )
  const want = [
    ...groupBy(
      recs.filter((x) => x.src.startsWith('10.0.1.')),
      (x) => x.dst,
    ),
  ]
    .map(([k, xs]) => [k, xs.reduce((a, x) => a + x.bytes, 0)] as const)
    .sort((a, b) => b[1] - a[1])
  assert.deepEqual(
    got.map((x) => [x.dstAddr, Number(x.bytesTransferred)]),
    want,
  )
})

test('sample: UDP senders, and rejected sources ranked', () => {
  const udp = rows(q('filter protocol=17 | stats count(*) by srcAddr'))
  const wantUdp = new Map(
    [
      ...groupBy(
        recs.filter((x) => x.proto === 17),
        (x) => x.src,
      ),
    ].map(([k, xs]) => [k, xs.length]),
  )
  assert.deepEqual(new Map(udp.map((x) => [x.srcAddr, Number(x['count(*)'])])), wantUdp)
  const rej = rows(
    q(
      'filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc | limit 20',
    ),
  )
  const wantRej = [
    ...groupBy(
      recs.filter((x) => x.action === 'REJECT'),
      (x) => x.src,
    ),
  ].map(([k, xs]) => [k, xs.length])
  assert.deepEqual(
    new Map(rej.map((x) => [x.srcAddr, Number(x.numRejections)])),
    new Map(wantRej as [string, number][]),
  )
})

test('sample: SKIPDATA by bin(1h), and count by bin(5m)', () => {
  const got = rows(q('filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t'))
  const want = [
    ...groupBy(
      recs.filter((x) => x.status === 'SKIPDATA'),
      (x) => Math.floor(x.ts / 3_600_000) * 3_600_000,
    ),
  ].sort((a, b) => a[0] - b[0])
  assert.deepEqual(
    got.map((x) => [x.t, Number(x['count(*)'])]),
    want.map(([k, xs]) => [new Date(k).toISOString().replace('T', ' ').replace('Z', ''), xs.length]),
  )
  const bins = rows(q('stats count(*) as n, sum(bytes) as b by bin(5m)'))
  const wb = groupBy(recs, (x) => Math.floor(x.ts / 300_000) * 300_000)
  assert.equal(bins.length, wb.size)
  for (const b of bins) {
    const k = Date.parse(b['bin(300000ms)']!.replace(' ', 'T') + 'Z')
    const xs = wb.get(k)!
    assert.equal(Number(b.n), xs.length)
    assert.equal(
      Number(b.b),
      xs.reduce((a, x) => a + x.bytes, 0),
    )
  }
})

test('sample: avg/min/max bytes by pair; count_distinct; fields + filter + sort + limit', () => {
  const got = rows(q('stats avg(bytes), min(bytes), max(bytes) by srcAddr, dstAddr'))
  const want = groupBy(recs, (x) => `${x.src} ${x.dst}`)
  assert.equal(got.length, want.size)
  for (const x of got) {
    const xs = want.get(`${x.srcAddr} ${x.dstAddr}`)!
    const avg = xs.reduce((a, y) => a + y.bytes, 0) / xs.length
    assert.ok(Math.abs(Number(x['avg(bytes)']) - avg) < 1e-3)
    assert.equal(Number(x['min(bytes)']), Math.min(...xs.map((y) => y.bytes)))
    assert.equal(Number(x['max(bytes)']), Math.max(...xs.map((y) => y.bytes)))
  }
  const cd = rows(q('stats count_distinct(dstPort) as ports by srcAddr'))
  for (const x of cd)
    assert.equal(Number(x.ports), new Set(recs.filter((y) => y.src === x.srcAddr).map((y) => y.dport)).size)
  const one = rows(
    q(`fields @timestamp, srcAddr, dstAddr, srcPort, dstPort, protocol, bytes
| filter srcAddr = '192.0.2.7' and (dstPort = 22 or dstPort = 3389) and action = 'REJECT'
| sort @timestamp desc
| limit 10`),
  )
  const wantOne = recs
    .filter((x) => x.src === '192.0.2.7' && (x.dport === 22 || x.dport === 3389) && x.action === 'REJECT')
    .sort((a, b) => b.ts - a.ts)
    .slice(0, 10)
  assert.deepEqual(
    one.map((x) => [x['@timestamp'], x.dstPort, x.bytes]),
    wantOne.map((x) => [
      new Date(x.ts).toISOString().replace('T', ' ').replace('Z', ''),
      String(x.dport),
      String(x.bytes),
    ]),
  )
})

test('default fields, @logStream, like, in, not, parse, and the time range', () => {
  const d = q('filter @message like "REJECT" | limit 3')
  assert.deepEqual(
    d.results[0]!.map((f) => f.field),
    ['@timestamp', '@message', '@ptr'],
  )
  const s = rows(
    q(
      'filter @logStream = "eni-0a1b2c3d4e5f60002" and dstPort in [22, 3389] and not action = "ACCEPT" | stats count(*) as n',
    ),
  )
  assert.equal(
    Number(s[0]!.n),
    recs.filter(
      (x) => x.eni === 'eni-0a1b2c3d4e5f60002' && [22, 3389].includes(x.dport) && x.action !== 'ACCEPT',
    ).length,
  )
  const re = rows(q('filter @message like /REJECT (OK|SKIPDATA)$/ | stats count(*) as n'))
  assert.equal(Number(re[0]!.n), recs.filter((x) => x.action === 'REJECT').length)
  const p = rows(
    q(
      'parse @message "* * * * * * * * * * * * * *" as v, acct, eni, sa, da, sp, dp, pr, pk, by, st, en, act, ls | filter act = "REJECT" | stats sum(by) as total',
    ),
  )
  assert.equal(
    Number(p[0]!.total),
    recs.filter((x) => x.action === 'REJECT').reduce((a, x) => a + x.bytes, 0),
  )
  const mid = T0 + 1_000_000
  const ranged = q('stats count(*) as n', { start: T0, end: mid })
  assert.equal(Number(rows(ranged)[0]!.n), recs.filter((x) => x.ts <= mid).length)
  assert.equal(ranged.statistics.recordsScanned, recs.filter((x) => x.ts <= mid).length)
})

test('custom-format fields are discovered from the flow log format', () => {
  const gc = store.createGroup('/vpc/custom', T0, null, 'STANDARD', new Map())
  const sc = store.createStream(gc.id, 'eni-0custom000000001', T0)
  store.putEvents(
    sc,
    [T0, T0 + 1],
    ['eni-0custom000000001 10.0.0.1 443 REJECT', 'eni-0custom000000001 10.0.0.2 22 ACCEPT'],
    T0,
    0,
  )
  const out = runQuery(store, 'filter action = "REJECT" | fields interfaceId, srcAddr, dstPort', {
    groups: [{ id: gc.id, name: '/vpc/custom' }],
    accountId: '123456789012',
    streamName: () => 'eni-0custom000000001',
    start: T0,
    end: T0 + 10,
    limit: 100,
    formats: [flowFormat(['interface-id', 'srcaddr', 'dstport', 'action'])],
  })
  assert.deepEqual(
    rows(out).map((x) => [x.interfaceId, x.srcAddr, x.dstPort]),
    [['eni-0custom000000001', '10.0.0.1', '443']],
  )
  assert.equal(DEFAULT_FLOW_FORMAT.index.get('logStatus'), 13)
})

test('unsupported commands, functions and regexes are InsightsQueryErrors', () => {
  for (const bad of [
    'fields a | frobnicate b',
    'filter nosuchfn(a)',
    'stats count(*) | stats count(*)',
    'filter @message like /(?=x)/',
    'filter @message like /(a)\\1/',
    'parse @message /(?<a>\\S+)/',
    'limit 0',
    'stats bytes by srcAddr',
    'sort a | filter b = 1',
    '',
  ]) {
    assert.throws(() => q(bad), InsightsQueryError, bad)
  }
})

test('safe regexes match like JavaScript on the supported subset, and stay linear', () => {
  const cases: [string, string][] = [
    ['ab+c', 'xxabbbc'],
    ['^ab', 'xab'],
    ['a|b', 'zzb'],
    ['\\d{3}-\\d{2}', 'tel 123-45'],
    ['[^a-c]x', 'ax bx dx'],
    ['REJECT$', 'x REJECT'],
    ['1\\.2', '1x2'],
    ['colou?r', 'color'],
    ['(?:ab){2,}', 'xababx'],
  ]
  for (const [p, s] of cases) assert.equal(compileSafeRegex(p).test(s), new RegExp(p).test(s), p)
  assert.equal(compileSafeRegex('(?i)error').test('An ERROR'), true)
  // One compiled regex, many texts: no state leaks from one run into the next.
  const re = compileSafeRegex('REJECT (OK|SKIPDATA)$')
  for (const [s, want] of [
    ['x REJECT OK', true],
    ['x REJECT SKIPDATA', true],
    ['REJECT NODATA', false],
    ['x REJECT SKIPDATA', true],
  ] as const)
    assert.equal(re.test(s), want, s)
  assert.equal(compileSafeRegex('^(a+)+$').test('a'.repeat(5000) + '!'), false)
})
