// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// The engine's confinement and the Presto macros, each against a value worked out by hand.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { after, before, test } from 'node:test'
import { openAnalytics, type AnalyticsSession } from './index.ts'

let dir: string
let s: AnalyticsSession

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mf-analytics-'))
  const lines = [
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    '2 123456789012 eni-1 10.0.0.1 10.0.0.2 1234 22 6 3 180 1661950735 1661950746 ACCEPT OK',
    '2 123456789012 eni-1 - - - - - - - 1661950735 1661950746 - NODATA',
    '2 123456789012 eni-1 10.0.0.3 10.0.0.2 x 22 6 1 40 1661950735 1661950746 REJECT OK',
    '2 123456789012 eni-1 10.0.0.4',
  ]
  writeFileSync(join(dir, 'a.log.gz'), gzipSync(lines.join('\n') + '\n'))
  writeFileSync(join(dir, 'secret.txt'), 'not for queries\n')
  s = await openAnalytics({ inputs: { vpc_flow_logs: [dir] } })
})

after(() => {
  s?.close()
  rmSync(dir, { recursive: true, force: true })
})

const one = async (sql: string): Promise<unknown> => (await s.query(sql)).rows[0]![0]

test('text values read as Athena reads them: - is NULL in numbers and "-" in strings', async () => {
  const r = await s.query(
    `SELECT srcaddr, srcport, packets, action, log_status FROM vpc_flow_logs ORDER BY srcaddr NULLS LAST, log_status`,
  )
  assert.deepEqual(r.rows, [
    ['-', null, null, '-', 'NODATA'],
    ['10.0.0.1', 1234, 3, 'ACCEPT', 'OK'],
    ['10.0.0.3', null, 1, 'REJECT', 'OK'],
    ['10.0.0.4', null, null, null, null],
  ])
  assert.equal(await one(`SELECT typeof(protocol) FROM vpc_flow_logs LIMIT 1`), 'BIGINT')
  assert.equal(await one(`SELECT typeof(srcport) FROM vpc_flow_logs LIMIT 1`), 'INTEGER')
  // date: the UTC day of start (the file's path holds none).
  assert.equal(
    await one(`SELECT DISTINCT CAST(date AS VARCHAR) FROM vpc_flow_logs WHERE start IS NOT NULL`),
    '2022-08-31',
  )
})

test('the engine reads only its inputs and refuses configuration changes and extensions', async () => {
  const refused = async (sql: string): Promise<string> => {
    const err = await s.query(sql).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    )
    assert.ok(err !== null, `${sql} was not refused`)
    assert.equal(err.code, 'MF_ANALYTICS_QUERY')
    return err.message
  }
  assert.match(
    await refused(`SELECT * FROM read_csv('${join(dir, 'secret.txt')}')`),
    /disabled by configuration/,
  )
  assert.match(await refused(`SET enable_external_access = true`), /locked/)
  assert.match(await refused(`SET autoinstall_known_extensions = true`), /locked/)
  await refused(`INSTALL httpfs`)
  await refused(`LOAD httpfs`)
  await refused(`ATTACH '${join(dir, 'x.db')}'`)
})

test('Presto functions as macros', async () => {
  assert.equal(await one(`SELECT to_iso8601(from_unixtime(1661950735))`), '2022-08-31T12:58:55.000Z')
  assert.equal(await one(`SELECT to_iso8601(DATE '2022-08-31')`), '2022-08-31')
  assert.equal(await one(`SELECT to_unixtime(from_iso8601_timestamp('2022-08-31T12:58:55Z'))`), 1661950735)
  // 2022-08-31 was a Wednesday: ISO 3.
  assert.equal(await one(`SELECT day_of_week(DATE '2022-08-31')`), 3)
  assert.equal(await one(`SELECT dow(DATE '2022-09-04')`), 7)
  assert.equal(await one(`SELECT day_of_year(DATE '2022-02-01')`), 32)
  assert.equal(
    await one(`SELECT date_format(from_unixtime(1661950735), '%Y-%m-%d %H:%i:%s')`),
    '2022-08-31 12:58:55',
  )
  assert.equal(
    await one(`SELECT date_format(from_unixtime(1661950735), '%W %M %e, %T')`),
    'Wednesday August 31, 12:58:55',
  )
  assert.equal(
    await one(`SELECT CAST(date_parse('2022-08-31 12:58:55', '%Y-%m-%d %H:%i:%s') AS VARCHAR)`),
    '2022-08-31 12:58:55',
  )
  assert.equal(
    await one(`SELECT CAST(date_add('day', 7, DATE '2022-08-31') AS DATE) = DATE '2022-09-07'`),
    true,
  )
  assert.equal(await one(`SELECT date_add(DATE '2022-08-31', INTERVAL 1 DAY) = DATE '2022-09-01'`), true)
  // Whole units, as Athena: 23:00 → 01:00 next day is 0 days.
  assert.equal(
    await one(`SELECT date_diff('day', TIMESTAMP '2022-08-31 23:00:00', TIMESTAMP '2022-09-01 01:00:00')`),
    0,
  )
  assert.equal(await one(`SELECT split_part('10.0.0.1', '.', 4)`), '1')
  assert.equal(await one(`SELECT approx_distinct(x) FROM (VALUES (1), (2), (2), (3)) t(x)`), 3)
  assert.equal(await one(`SELECT regexp_like('eni-0abc', '^eni-[0-9a-f]+$')`), true)
  assert.equal(
    await one(`SELECT count(*) FROM vpc_flow_logs WHERE date > current_date - interval '7' day`),
    0,
  )
  assert.equal(await one(`SELECT count(*) FROM vpc_flow_logs WHERE date = DATE('2022-08-31')`), 3)
})

test('cidr_contains: IPv4 and IPv6 blocks, false across families', async () => {
  const cases: [string, string, boolean | null][] = [
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['10.0.0.5/32', '10.0.0.5', true],
    ['2001:db8::/32', '2001:db8:1::7', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/30', '2001:dbb::1', true],
    ['2001:db8::/30', '2001:dbc::1', false],
    ['::/0', '::1', true],
    ['10.0.0.0/8', '::1', false],
    ['2001:db8::/32', '10.0.0.1', false],
  ]
  for (const [c, a, want] of cases) {
    const got = await one(`SELECT coalesce(cidr_contains('${c}', '${a}'), false)`)
    assert.equal(got, want, `cidr_contains('${c}', '${a}')`)
  }
})
