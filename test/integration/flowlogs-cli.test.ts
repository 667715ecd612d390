// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * `mirrorflow flowlogs` end to end: stdout text, standard input, the S3 directory layout (plain text
 * and Parquet, read back with hyparquet), log-format errors and a truncated capture.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, describe, test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { readCapture } from '../../src/packet/index.ts'
import { REPO_ROOT, sharedData } from '../helpers/shared.ts'

const BIN = join(REPO_ROOT, 'bin', 'mirrorflow.mjs')
const tmp = mkdtempSync(join(tmpdir(), `mfflowlogs${process.pid % 1000}-`))
after(() => rmSync(tmp, { recursive: true, force: true }))

function run(args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'flowlogs', ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function walk(dir: string): string[] {
  const out: string[] = []
  for (const n of readdirSync(dir)) {
    const p = join(dir, n)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else out.push(p)
  }
  return out.sort()
}

const SSH = sharedData('zeek', 'ssh-basic', 'ssh.pcap')

describe('mirrorflow flowlogs', () => {
  let sshLines: string[] = []

  test('plain text to stdout, with the header, and a summary on stderr', () => {
    const r = run([
      '--pcap',
      SSH,
      '--max-aggregation-interval',
      '60',
      '--header',
      '--account-id',
      '123456789012',
    ])
    assert.equal(r.status, 0, r.stderr)
    const lines = r.stdout.trimEnd().split('\n')
    assert.equal(
      lines[0],
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    )
    sshLines = lines.slice(1)
    assert.ok(sshLines.length > 40)
    for (const l of sshLines)
      assert.match(l, /^2 123456789012 eni-00000000000000000 \S+ \S+ \d+ \d+ \d+ \d+ \d+ \d+ \d+ ACCEPT OK$/)
    const m = /packets (\d+), flows (\d+), records (\d+), skipped 0, malformed 0/.exec(r.stderr)
    assert.ok(m, r.stderr)
    assert.equal(Number(m[3]), sshLines.length)
    assert.equal(
      sshLines.reduce((a, l) => a + Number(l.split(' ')[8]), 0),
      Number(m[1]),
    )
  })

  test('standard input (`--pcap -`) gives the same records', () => {
    const r = run(
      ['--pcap', '-', '--max-aggregation-interval', '60', '--account-id', '123456789012', '--quiet'],
      readFileSync(SSH),
    )
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(r.stdout.trimEnd().split('\n'), sshLines)
    assert.equal(r.stderr, '')
  })

  test('log-format errors name the field and exit non-zero', () => {
    const r = run(['--pcap', SSH, '--format', '${version} ${srcaddr} ${no-such-field}'])
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /unknown field 'no-such-field'/)
    assert.equal(r.stdout, '')
    const d = run(['--pcap', SSH, '--format', '${srcaddr} ${srcaddr}'])
    assert.notEqual(d.status, 0)
    assert.match(d.stderr, /'srcaddr' is given more than once/)
  })

  test('directory output in the S3 layout: one .log.gz per 5-minute window, header first', () => {
    const out = join(tmp, 's3')
    const r = run([
      '--pcap',
      SSH,
      '--output',
      out,
      '--account-id',
      '123456789012',
      '--region',
      'eu-west-3',
      '--flow-log-id',
      'fl-0123456789abcdef0',
      '--max-aggregation-interval',
      '60',
      '--quiet',
    ])
    assert.equal(r.status, 0, r.stderr)
    const files = walk(out).map((p) => relative(out, p))
    assert.ok(files.length >= 1)
    const all: string[] = []
    for (const f of files) {
      const m =
        /^AWSLogs\/123456789012\/vpcflowlogs\/eu-west-3\/(\d{4})\/(\d{2})\/(\d{2})\/123456789012_vpcflowlogs_eu-west-3_fl-0123456789abcdef0_(\d{8})T(\d{2})(\d{2})Z_([0-9a-f]{8})\.log\.gz$/.exec(
          f,
        )
      assert.ok(m, f)
      assert.equal(`${m[1]}${m[2]}${m[3]}`, m[4])
      assert.equal(Number(m[6]) % 5, 0)
      const windowStart = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[5]!, +m[6]!) / 1000
      const text = gunzipSync(readFileSync(join(out, f)))
        .toString('utf8')
        .trimEnd()
        .split('\n')
      assert.equal(
        text[0],
        'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      )
      for (const l of text.slice(1)) {
        const end = Number(l.split(' ')[11])
        assert.ok(end >= windowStart && end < windowStart + 300, `${l} in ${f}`)
        all.push(l)
      }
    }
    assert.deepEqual(all.sort(), [...sshLines].sort())
  })

  test('Hive-compatible prefixes with per-hour partitions', () => {
    const out = join(tmp, 'hive')
    const r = run([
      '--pcap',
      SSH,
      '--output',
      out,
      '--account-id',
      '123456789012',
      '--region',
      'us-east-1',
      '--hive-compatible-partitions',
      '--per-hour-partition',
      '--quiet',
    ])
    assert.equal(r.status, 0, r.stderr)
    for (const p of walk(out)) {
      assert.match(
        relative(out, p),
        /^AWSLogs\/aws-account-id=123456789012\/aws-service=vpcflowlogs\/aws-region=us-east-1\/year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/123456789012_vpcflowlogs_us-east-1_fl-00000000000000000_\d{8}T\d{4}Z_[0-9a-f]{8}\.log\.gz$/,
      )
    }
  })

  test('Parquet: AWS column names and types, readable by hyparquet, same values as text', async () => {
    const out = join(tmp, 'pq')
    const fmt =
      '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags} ${flow-direction}'
    const r = run([
      '--pcap',
      SSH,
      '--output',
      out,
      '--file-format',
      'parquet',
      '--format',
      fmt,
      '--max-aggregation-interval',
      '60',
      '--account-id',
      '123456789012',
      '--quiet',
    ])
    assert.equal(r.status, 0, r.stderr)
    const files = walk(out)
    assert.ok(files.length >= 1)
    const rows: string[] = []
    for (const f of files) {
      assert.match(f, /_[0-9a-f]{8}\.log\.parquet$/)
      const file = await asyncBufferFromFile(f)
      const meta = await parquetMetadataAsync(file)
      const cols = meta.schema.slice(1).map((s) => [s.name, s.type, s.repetition_type])
      assert.deepEqual(cols, [
        ['version', 'INT32', 'OPTIONAL'],
        ['account_id', 'BYTE_ARRAY', 'OPTIONAL'],
        ['interface_id', 'BYTE_ARRAY', 'OPTIONAL'],
        ['srcaddr', 'BYTE_ARRAY', 'OPTIONAL'],
        ['dstaddr', 'BYTE_ARRAY', 'OPTIONAL'],
        ['srcport', 'INT32', 'OPTIONAL'],
        ['dstport', 'INT32', 'OPTIONAL'],
        ['protocol', 'INT32', 'OPTIONAL'],
        ['packets', 'INT64', 'OPTIONAL'],
        ['bytes', 'INT64', 'OPTIONAL'],
        ['start', 'INT64', 'OPTIONAL'],
        ['end', 'INT64', 'OPTIONAL'],
        ['action', 'BYTE_ARRAY', 'OPTIONAL'],
        ['log_status', 'BYTE_ARRAY', 'OPTIONAL'],
        ['tcp_flags', 'INT32', 'OPTIONAL'],
        ['flow_direction', 'BYTE_ARRAY', 'OPTIONAL'],
      ])
      for (const s of meta.schema.slice(1))
        if (s.type === 'BYTE_ARRAY') assert.equal(s.converted_type, 'UTF8')
      const objs = await parquetReadObjects({ file, compressors })
      for (const o of objs) {
        rows.push(
          meta.schema
            .slice(1, 15)
            .map((s) => String(o[s.name] ?? '-'))
            .join(' '),
        )
        assert.equal(o.flow_direction, null) // no --interface-address: direction unknown → '-'
      }
    }
    // Same records; the version is 5 because flow-direction (v5) is in the format.
    assert.deepEqual(rows.sort(), sshLines.map((l) => l.replace(/^2 /, '5 ')).sort())
  })

  test('truncated capture: every record up to the damage, then an error and a non-zero exit', async () => {
    const whole = readFileSync(SSH)
    const cut = join(tmp, 'cut.pcap')
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2) + 7))
    // Frames fully inside the cut file, counted independently of the CLI.
    let frames = 0
    let failed = false
    try {
      for await (const b of readCapture(cut)) frames += b.count
    } catch {
      failed = true
    }
    assert.ok(failed && frames > 0)
    const r = run(['--pcap', cut, '--max-aggregation-interval', '60'])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /damaged capture|truncated/i)
    const lines = r.stdout.trimEnd().split('\n')
    assert.ok(lines.length > 0)
    assert.equal(
      lines.reduce((a, l) => a + Number(l.split(' ')[8]), 0),
      frames,
    )
  })
})
