// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// `detectFlowLogs` over files: the same records as text `.log.gz` and as Parquet (re-rendered by the
// query engine, with a custom format that adds tcp-flags and flow-direction) give the same findings;
// a directory holding both reads both; a `.parquet` that is not Parquet is refused by name.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import { parseLogFormat } from '../../flowlogs/index.ts'
import { rerenderFlowLogs } from '../rerender.ts'
import { DetectInputError } from './errors.ts'
import { detectFlowLogs } from './offline.ts'
import { readFlowLogFile } from './reader.ts'

const ATTACKER = '10.200.0.66'
const VICTIM = '10.200.0.10'
let dir: string
let text: string
let parquet: string

function walk(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mf-detect-offline-'))
  const t = 1_700_000_000
  const lines = [
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
  ]
  // A busy client of one web server (not a finding), a 1,000-port scan, 30 SSH logins.
  for (let i = 0; i < 300; i++)
    lines.push(
      `2 123456789012 eni-web 10.200.0.5 ${VICTIM} ${40000 + i} 443 6 12 9000 ${t} ${t + 60} ACCEPT OK`,
    )
  for (let p = 1; p <= 1000; p++)
    lines.push(`2 123456789012 eni-vic ${ATTACKER} ${VICTIM} 61000 ${p} 6 1 44 ${t} ${t + 60} REJECT OK`)
  for (let i = 0; i < 30; i++)
    lines.push(
      `2 123456789012 eni-vic ${ATTACKER} ${VICTIM} ${50000 + i} 22 6 25 4000 ${t} ${t + 60} ACCEPT OK`,
    )
  lines.push(`2 123456789012 eni-vic - - - - - - - ${t} ${t + 60} - NODATA`)
  text = join(dir, 'text')
  mkdirSync(text)
  writeFileSync(join(text, 'a.log.gz'), gzipSync(lines.join('\n') + '\n'))
  parquet = join(dir, 'parquet')
  const stats = await rerenderFlowLogs({
    inputs: [text],
    format: parseLogFormat(
      '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags} ${flow-direction}',
    ),
    output: { dir: parquet },
    fileFormat: 'parquet',
    accountId: '123456789012',
    region: 'us-east-1',
    flowLogId: 'fl-0123456789abcdef0',
  })
  assert.equal(stats.records, lines.length - 1)
})

after(() => rmSync(dir, { recursive: true, force: true }))

const summary = (r: Awaited<ReturnType<typeof detectFlowLogs>>): string[] =>
  r.engine
    .findings()
    .map((f) => {
      const a =
        f.Service.Action.NetworkConnectionAction ?? f.Service.Action.PortProbeAction!.PortProbeDetails[0]!
      return `${f.Type} ${f.Severity} ${f.Service.ResourceRole} local=${a.LocalIpDetails.IpAddressV4} remote=${a.RemoteIpDetails.IpAddressV4} count=${f.Service.Count} first=${f.Service.EventFirstSeen}`
    })
    .sort()

const WANT = [
  `Recon:EC2/InboundPortscan.Mirrorflow 2 TARGET local=${VICTIM} remote=${ATTACKER} count=1 first=2023-11-14T22:13:20.000Z`,
  `Recon:EC2/Portscan 5 ACTOR local=${ATTACKER} remote=${VICTIM} count=1 first=2023-11-14T22:13:20.000Z`,
  `UnauthorizedAccess:EC2/SSHBruteForce 2 TARGET local=${VICTIM} remote=${ATTACKER} count=1 first=2023-11-14T22:13:20.000Z`,
  `UnauthorizedAccess:EC2/SSHBruteForce 8 ACTOR local=${ATTACKER} remote=${VICTIM} count=1 first=2023-11-14T22:13:20.000Z`,
]

test('text .log.gz and its Parquet re-rendering give the same findings', async () => {
  const files = walk(parquet)
  // Every record ends in one 5-minute delivery window: one object.
  assert.equal(files.length, 1)
  assert.ok(files[0]!.endsWith('.log.parquet'))
  const fromText = await detectFlowLogs([text])
  assert.deepEqual(summary(fromText), WANT)
  assert.deepEqual(fromText.read, { files: 1, lines: 1331, records: 1330, skippedStatus: 1, malformed: 0 })
  const fromParquet = await detectFlowLogs([parquet])
  assert.deepEqual(summary(fromParquet), WANT)
  assert.deepEqual(fromParquet.read, {
    files: files.length,
    lines: 1331,
    records: 1330,
    skippedStatus: 1,
    malformed: 0,
  })
  // A Parquet file named directly, and both kinds at once (each record counted once per file).
  const one = await detectFlowLogs([files[0]!, text])
  assert.equal(one.read.files, 2)
  assert.equal(one.read.records, 2 * 1330)
})

test('a .parquet file that is not Parquet, or Parquet that is not a flow log, is refused by name', async () => {
  const bad = join(dir, 'bad.parquet')
  writeFileSync(bad, 'version srcaddr dstaddr\n')
  await assert.rejects(detectFlowLogs([bad]), (e: unknown) => {
    assert.ok(e instanceof DetectInputError)
    assert.equal(e.message, `${bad}: not a Parquet file (no PAR1 signature)`)
    return true
  })
  const other = join(dir, 'other.parquet')
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  await conn.run(`COPY (SELECT 1 AS a, 'x' AS b) TO '${other}' (FORMAT PARQUET)`)
  conn.closeSync()
  db.closeSync()
  await assert.rejects(detectFlowLogs([other]), (e: unknown) => {
    assert.ok(e instanceof DetectInputError)
    assert.match(
      e.message,
      /other\.parquet: a Parquet file with 0 flow-log column\(s\), not a VPC flow-log file/,
    )
    return true
  })
})

test('the text reader: custom format, CRLF, comments, - values, wrong widths, an over-long line, no final newline', async () => {
  const f = join(dir, 'custom.log')
  const long = `5 eni-1 10.0.0.9 10.0.0.2 ${'9'.repeat(70_000)} 22 6 1 40 1700000000 1700000060 ACCEPT OK 2 ingress`
  writeFileSync(
    f,
    [
      '# a comment before the header',
      'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction',
      '5 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 180 1700000000 1700000060 REJECT OK 2 ingress\r',
      '5 eni-1 10.0.0.3 10.0.0.2 - 0022 6 x 40 1700000000 - ACCEPT OK - egress',
      '5 eni-1 - - - - - - - 1700000000 1700000060 - NODATA - -',
      '5 eni-1 10.0.0.4 10.0.0.2 1 2 6 1 40 1700000000 1700000060 ACCEPT SKIPDATA - -',
      '5 eni-1 10.0.0.5 10.0.0.2 1 2 6 1 40 1700000000 1700000060 ACCEPT OK 2',
      '5 eni-1 10.0.0.5 10.0.0.2 1 2 6 1 40 1700000000 1700000060 ACCEPT OK 2 ingress extra',
      '5 eni-1 10.0.0.5  10.0.0.2 1 2 6 1 40 1700000000 1700000060 ACCEPT OK 2 ingress',
      long,
      '# a comment between records',
      '5 eni-1 10.0.0.6 10.0.0.7 53 40001 17 1 90 1700000001 1700000061 ACCEPT OK - -',
    ].join('\n'),
  )
  const got: string[] = []
  const stats = { files: 0, lines: 0, records: 0, skippedStatus: 0, malformed: 0 }
  await readFlowLogFile(
    f,
    (r) =>
      got.push(
        `${r.interfaceId} ${r.srcaddr} ${r.dstaddr} ${r.srcport} ${r.dstport} ${r.protocol} ${r.packets} ${r.bytes} ` +
          `${r.start} ${r.end} ${r.rejected} ${r.tcpFlags} ${r.direction} ${r.accountId === '' ? 'no-account' : r.accountId}`,
      ),
    stats,
  )
  assert.deepEqual(got, [
    'eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 180 1700000000 1700000060 true 2 1 no-account',
    'eni-1 10.0.0.3 10.0.0.2 0 22 6 0 40 1700000000 0 false -1 2 no-account',
    'eni-1 10.0.0.6 10.0.0.7 53 40001 17 1 90 1700000001 1700000061 false -1 0 no-account',
  ])
  // Lines: every line after the header but comments and the over-long one (counted malformed).
  assert.deepEqual(stats, { files: 1, lines: 8, records: 3, skippedStatus: 2, malformed: 4 })
})
