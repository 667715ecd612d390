// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * `mirrorflow query`, `mirrorflow flowlogs --flow-logs` and `mirrorflow detect --flow-logs` (text and
 * Parquet) end to end, as programs: output formats, SQL from standard input, saved queries, the
 * server-store option, re-rendering to Parquet, and the exit status of each kind of failure. The records are those `mirrorflow flowlogs` makes from the bundled
 * sample capture; the expected counts come from reading its gzip objects here.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { REPO_ROOT } from '../helpers/shared.ts'

const BIN = join(REPO_ROOT, 'bin', 'mirrorflow.mjs')
const tmp = mkdtempSync(join(tmpdir(), 'mf-query-cli-'))
const bucket = join(tmp, 'bucket')
after(() => rmSync(tmp, { recursive: true, force: true }))

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

let records = 0
let bytes = 0

before(() => {
  const r = run([
    'flowlogs',
    '--pcap',
    join(REPO_ROOT, 'src', 'packet', 'testdata', 'sample.pcap'),
    '--output',
    bucket,
    '--quiet',
  ])
  assert.equal(r.status, 0, r.stderr)
  for (const f of walk(bucket)) {
    const lines = gunzipSync(readFileSync(f)).toString('utf8').trim().split('\n').slice(1)
    for (const l of lines) {
      records++
      const b = l.split(' ')[9]!
      if (b !== '-') bytes += Number(b)
    }
  }
  assert.ok(records > 0)
})

test('--sql prints a table, --format json and csv for scripts, --sql - reads standard input', () => {
  const sql = 'SELECT count(*) AS n, sum(bytes) AS b FROM vpc_flow_logs'
  const json = run(['query', '--flow-logs', bucket, '--sql', sql, '--format', 'json'])
  assert.equal(json.status, 0, json.stderr)
  assert.deepEqual(JSON.parse(json.stdout), [{ n: records, b: bytes }])
  const csv = run(['query', '--flow-logs', bucket, '--sql', '-', '--format', 'csv'], sql)
  assert.equal(csv.status, 0, csv.stderr)
  assert.equal(csv.stdout, `n,b\r\n${records},${bytes}\r\n`)
  const table = run(['query', '--flow-logs', bucket, '--sql', sql])
  assert.equal(table.status, 0, table.stderr)
  // Numbers right-aligned, headers too; a rule under the header; the row count last.
  const [w1, w2] = [String(records).length, String(bytes).length]
  assert.equal(
    table.stdout,
    `${'n'.padStart(w1)}  ${'b'.padStart(w2)}\n${'-'.repeat(w1)}  ${'-'.repeat(w2)}\n${records}  ${bytes}\n(1 row)\n`,
  )
})

test('saved queries by name; --list-saved; a server data directory as the source', () => {
  const list = run(['query', '--list-saved'])
  assert.equal(list.status, 0)
  assert.match(list.stdout, /^VpcFlowLogsTopTalkers$/m)
  assert.match(list.stdout, /^VpcFlowLogsTrafficFrmSrcAddr --param srcaddr=…$/m)
  const top = run(['query', '--flow-logs', bucket, '--saved', 'VpcFlowLogsTopTalkers', '--format', 'json'])
  assert.equal(top.status, 0, top.stderr)
  const rows = JSON.parse(top.stdout) as { srcaddr: string; total_bytes: number }[]
  assert.equal(rows.reduce((a, r) => a + r.total_bytes, 0) <= bytes && rows.length > 0, true)
  // A server's DATA_DIR: agents deliver under DATA_DIR/s3/<bucket>/<key>.
  const data = join(tmp, 'data')
  mkdirSync(join(data, 's3'), { recursive: true })
  cpSync(bucket, join(data, 's3', 'my-bucket'), { recursive: true })
  const fromStore = run(['query', '--data-dir', data, '--saved', 'VpcFlowLogsTopTalkers', '--format', 'json'])
  assert.equal(fromStore.status, 0, fromStore.stderr)
  assert.deepEqual(JSON.parse(fromStore.stdout), rows)
})

test('flowlogs --flow-logs re-renders to Parquet in the S3 layout, with the same records', () => {
  const out = join(tmp, 'parquet')
  const r = run(['flowlogs', '--flow-logs', bucket, '--output', out, '--file-format', 'parquet', '--quiet'])
  assert.equal(r.status, 0, r.stderr)
  assert.ok(
    walk(out).every((f) =>
      /\/AWSLogs\/\d+\/vpcflowlogs\/[^/]+\/\d{4}\/\d\d\/\d\d\/.*\.log\.parquet$/.test(f),
    ),
  )
  const q = run([
    'query',
    '--flow-logs',
    out,
    '--sql',
    'SELECT count(*) AS n, sum(bytes) AS b FROM vpc_flow_logs',
    '--format',
    'csv',
  ])
  assert.equal(q.status, 0, q.stderr)
  assert.equal(q.stdout, `n,b\r\n${records},${bytes}\r\n`)
})

test('detect --flow-logs reads Parquet: AWS text with a scan, re-rendered to Parquet, gives the same findings', () => {
  const text = join(tmp, 'scan-text')
  mkdirSync(text)
  const lines = [
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
  ]
  for (let p = 1; p <= 1000; p++)
    lines.push(`2 123456789012 eni-1 10.9.0.66 10.9.0.10 61000 ${p} 6 1 44 1700000000 1700000060 REJECT OK`)
  writeFileSync(join(text, 'scan.log.gz'), gzipSync(lines.join('\n') + '\n'))
  const out = join(tmp, 'scan-parquet')
  const r = run(['flowlogs', '--flow-logs', text, '--output', out, '--file-format', 'parquet', '--quiet'])
  assert.equal(r.status, 0, r.stderr)
  const findings = (dir: string): string[] => {
    const d = run(['detect', '--flow-logs', dir, '--json'])
    assert.equal(d.status, 0, d.stderr)
    assert.match(d.stderr, /files 1, records 1000, .* findings 2,/)
    return (JSON.parse(d.stdout) as { Type: string; Service: { ResourceRole: string } }[])
      .map((f) => `${f.Type}/${f.Service.ResourceRole}`)
      .sort()
  }
  const want = ['Recon:EC2/InboundPortscan.Mirrorflow/TARGET', 'Recon:EC2/Portscan/ACTOR']
  assert.deepEqual(findings(text), want)
  assert.deepEqual(findings(out), want)
})

test('exit statuses: 2 for usage errors, 1 for bad input or SQL, and no file outside the inputs', () => {
  assert.equal(run(['query', '--sql', 'SELECT 1']).status, 2)
  assert.equal(run(['query', '--flow-logs', bucket]).status, 2)
  assert.equal(run(['query', '--flow-logs', bucket, '--saved', 'NoSuchQuery']).status, 2)
  assert.equal(run(['query', '--flow-logs', bucket, '--saved', 'VpcFlowLogsTrafficFrmSrcAddr']).status, 2)
  assert.equal(run(['query', '--flow-logs', bucket, '--sql', 'SELECT 1', '--format', 'xml']).status, 2)
  const missing = run(['query', '--flow-logs', join(tmp, 'nope'), '--sql', 'SELECT 1'])
  assert.equal(missing.status, 1)
  assert.match(missing.stderr, /nope: cannot read \(ENOENT/)
  const badSql = run(['query', '--flow-logs', bucket, '--sql', 'SELEKT 1'])
  assert.equal(badSql.status, 1)
  assert.match(badSql.stderr, /Parser Error/)
  const escape = run(['query', '--flow-logs', bucket, '--sql', "SELECT * FROM read_csv('/etc/passwd')"])
  assert.equal(escape.status, 1)
  assert.match(escape.stderr, /disabled by configuration/)
})
