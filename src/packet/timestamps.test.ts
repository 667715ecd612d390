// SPDX-License-Identifier: Apache-2.0
// test-group: process
// Issue 9 item 15: a time stamp outside 0 … 2³² − 1 s is clamped into it by the reader, counted, and
// every command (inspect, flowlogs, mirror) sees the same clamped time: no RangeError, no wrap.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { sharedData } from '../../test/helpers/shared.ts'
import { CaptureSummary, MAX_TIMESTAMP_SEC, readCapture } from './index.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-ts-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const root = new URL('../..', import.meta.url).pathname
const CLI = join(root, 'bin', 'mirrorflow.mjs')

/** A little-endian pcapng: one Ethernet interface (µs, optional if_tsoffset) and one EPB per tick count. */
function pcapng(ticks: bigint[], tsOffset?: bigint): Buffer {
  const blocks: Buffer[] = []
  const block = (type: number, body: Buffer): void => {
    const len = 12 + body.length
    const b = Buffer.alloc(len)
    b.writeUInt32LE(type, 0)
    b.writeUInt32LE(len, 4)
    body.copy(b, 8)
    b.writeUInt32LE(len, len - 4)
    blocks.push(b)
  }
  const shb = Buffer.alloc(16)
  shb.writeUInt32LE(0x1a2b3c4d, 0)
  shb.writeUInt16LE(1, 4)
  shb.writeBigInt64LE(-1n, 8)
  block(0x0a0d0d0a, shb)
  const opts: Buffer[] = []
  if (tsOffset !== undefined) {
    const o = Buffer.alloc(12)
    o.writeUInt16LE(14, 0) // if_tsoffset
    o.writeUInt16LE(8, 2)
    o.writeBigInt64LE(tsOffset, 4)
    opts.push(o)
  }
  const idb = Buffer.concat([Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0, 0]), ...opts, Buffer.alloc(4)])
  block(1, idb)
  // A UDP/IPv4 frame 10.0.0.1:40000 → 10.0.0.2:53.
  const frame = Buffer.from(
    '02000000000102000000000208004500001c00010000401100000a0000010a0000029c400035000800000000',
    'hex',
  ).subarray(0, 42)
  for (const t of ticks) {
    const epb = Buffer.alloc(20 + 44)
    epb.writeUInt32LE(0, 0)
    epb.writeUInt32LE(Number(t >> 32n), 4)
    epb.writeUInt32LE(Number(t & 0xffffffffn), 8)
    epb.writeUInt32LE(frame.length, 12)
    epb.writeUInt32LE(frame.length, 16)
    frame.copy(epb, 20)
    block(6, epb)
  }
  return Buffer.concat(blocks)
}

const T = 1_700_000_000n * 1_000_000n
const cases = [
  { name: 'in range', ticks: [T], offset: undefined, want: [[1_700_000_000, 0]], clamped: 0 },
  {
    name: 'the last representable second',
    ticks: [BigInt(MAX_TIMESTAMP_SEC) * 1_000_000n + 999_999n],
    offset: undefined,
    want: [[MAX_TIMESTAMP_SEC, 999_999_000]],
    clamped: 0,
  },
  {
    name: 'one second later',
    ticks: [BigInt(MAX_TIMESTAMP_SEC + 1) * 1_000_000n],
    offset: undefined,
    want: [[MAX_TIMESTAMP_SEC, 0]],
    clamped: 1,
  },
  {
    name: '2^64 − 1 ticks (year 586,000)',
    ticks: [(1n << 64n) - 1n],
    offset: undefined,
    want: [[MAX_TIMESTAMP_SEC, 0]],
    clamped: 1,
  },
  {
    name: 'before 1970 through a negative if_tsoffset',
    ticks: [T, 5n],
    offset: -1_000_000n,
    want: [
      [1_699_000_000, 0],
      [0, 0],
    ],
    clamped: 1,
  },
]

for (const c of cases) {
  test(`readCapture clamps time stamps into 0 … 2³² − 1 s: ${c.name}`, async () => {
    const f = join(dir, `${c.name.replace(/\W+/g, '-')}.pcapng`)
    writeFileSync(f, pcapng(c.ticks, c.offset))
    const stats = { clampedTimestamps: 0 }
    const got: number[][] = []
    for await (const b of readCapture(f, { stats }))
      for (let i = 0; i < b.count; i++) got.push([b.tsSec[i]!, b.tsNsec[i]!])
    assert.deepEqual(got, c.want)
    assert.equal(stats.clampedTimestamps, c.clamped)
  })
}

test('pcapng-example.pcapng: the 100 frames tshark dates past 2106 are clamped, the others untouched', async () => {
  const f = sharedData('pcapplusplus', 'PcapExamples', 'pcapng-example.pcapng')
  const tshark = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.time_epoch'], {
    encoding: 'utf8',
  })
  assert.equal(tshark.status, 0, tshark.stderr)
  const epochs = tshark.stdout.trim().split('\n').map(Number)
  const s = new CaptureSummary()
  const secs: number[] = []
  for await (const b of readCapture(f, { stats: s.readStats })) {
    s.add(b)
    for (let i = 0; i < b.count; i++) secs.push(b.tsSec[i]! + b.tsNsec[i]! / 1e9)
  }
  assert.equal(secs.length, epochs.length)
  const over = epochs.filter((e) => e > MAX_TIMESTAMP_SEC).length
  assert.equal(over, 100)
  assert.equal(s.readStats.clampedTimestamps, over)
  epochs.forEach((e, i) => {
    if (e > MAX_TIMESTAMP_SEC) assert.equal(secs[i], MAX_TIMESTAMP_SEC, `frame ${i + 1}`)
    else assert.ok(Math.abs(secs[i]! - e) < 1e-5, `frame ${i + 1}: ${secs[i]} vs tshark ${e}`)
  })
  assert.equal(s.toJSON().lastTs, MAX_TIMESTAMP_SEC)
  assert.equal(s.toJSON().clampedTimestamps, 100)
})

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('inspect prints the clamped span and exits 0 (it crashed with a RangeError)', () => {
  const r = run(['inspect', sharedData('pcapplusplus', 'PcapExamples', 'pcapng-example.pcapng')])
  assert.equal(r.status, 0, r.stderr)
  assert.doesNotMatch(r.stderr, /RangeError/)
  assert.match(
    r.stdout,
    /^time: {7}2015-01-29T10:39:58\.578Z \.\. 2106-02-07T06:28:15\.000Z \(\d+\.\d+ s\); 100 time stamp\(s\) out of range, clamped to 1970-01-01T00:00:00\.000Z \.\. 2106-02-07T06:28:15\.000Z$/m,
  )
  const j = run(['inspect', '--json', sharedData('pcapplusplus', 'PcapExamples', 'pcapng-example.pcapng')])
  assert.equal(JSON.parse(j.stdout).clampedTimestamps, 100)
})

test('flowlogs writes the clamped second, never a wrapped one, and says so', () => {
  const f = join(dir, 'far.pcapng')
  writeFileSync(f, pcapng([T, (1n << 64n) - 1n]))
  const r = run(['flowlogs', '--pcap', f, '--format', '${start} ${end} ${packets}'])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n'), [
    '1700000000 1700000000 1',
    `${MAX_TIMESTAMP_SEC} ${MAX_TIMESTAMP_SEC} 1`,
  ])
  assert.match(r.stderr, /1 frame\(s\) had a time stamp out of range, clamped/)
  const out = join(dir, 'bucket')
  const d = run(['flowlogs', '--pcap', f, '--output', out, '--format', '${start} ${end}'])
  assert.equal(d.status, 0, d.stderr)
  const walk = (p: string): string[] =>
    readdirSync(p, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(p, e.name)) : [join(p, e.name)],
    )
  const objects = walk(out).sort()
  assert.equal(objects.length, 2)
  assert.match(objects[1]!, /\/2106\/02\/07\/.*_21060207T0625Z_/)
  assert.equal(
    gunzipSync(readFileSync(objects[1]!)).toString(),
    `start end\n${MAX_TIMESTAMP_SEC} ${MAX_TIMESTAMP_SEC}\n`,
  )
})
