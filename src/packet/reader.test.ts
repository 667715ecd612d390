// SPDX-License-Identifier: Apache-2.0
// test-group: process
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { sharedData } from '../../test/helpers/shared.ts'
import { hasCode } from '../errors.ts'
import { PcapWriter, readCapture } from './index.ts'
import { decodeAll } from './testing.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-packet-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

interface Frame {
  data: number[]
  orig: number
  sec: number
  nsec: number
  lt: number
  ifx: number
}

async function readAll(
  src: string | NodeJS.ReadableStream,
  opts = {},
): Promise<{ frames: Frame[]; error: unknown }> {
  const frames: Frame[] = []
  try {
    for await (const b of readCapture(src, opts)) {
      for (let i = 0; i < b.count; i++) {
        frames.push({
          data: [...b.bytes.subarray(b.starts[i], b.ends[i])],
          orig: b.origLens[i]!,
          sec: b.tsSec[i]!,
          nsec: b.tsNsec[i]!,
          lt: b.linkTypes[i]!,
          ifx: b.ifIndex[i]!,
        })
      }
    }
  } catch (err) {
    return { frames, error: err }
  }
  return { frames, error: null }
}

/** A classic pcap in either byte order and resolution, written field by field. */
function classicPcap(
  le: boolean,
  nanos: boolean,
  frames: { data: number[]; orig?: number; sec: number; sub: number }[],
): Buffer {
  const parts: Buffer[] = []
  const h = Buffer.alloc(24)
  const w32 = (b: Buffer, o: number, v: number): void =>
    void (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o))
  const w16 = (b: Buffer, o: number, v: number): void =>
    void (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o))
  w32(h, 0, nanos ? 0xa1b23c4d : 0xa1b2c3d4)
  w16(h, 4, 2)
  w16(h, 6, 4)
  w32(h, 16, 65535)
  w32(h, 20, 1)
  parts.push(h)
  for (const f of frames) {
    const r = Buffer.alloc(16)
    w32(r, 0, f.sec)
    w32(r, 4, f.sub)
    w32(r, 8, f.data.length)
    w32(r, 12, f.orig ?? f.data.length)
    parts.push(r, Buffer.from(f.data))
  }
  return Buffer.concat(parts)
}

test('classic pcap: both byte orders, µs and ns, give the same frames', async () => {
  const frames = [
    { data: [1, 2, 3, 4, 5], orig: 60, sec: 1700000000, sub: 123456 },
    { data: Array.from({ length: 300 }, (_, i) => i & 255), sec: 1700000001, sub: 999999 },
  ]
  for (const le of [true, false]) {
    for (const nanos of [false, true]) {
      const input = nanos ? frames.map((f) => ({ ...f, sub: f.sub * 1000 + 7 })) : frames
      const f = join(dir, `c-${le}-${nanos}.pcap`)
      writeFileSync(f, classicPcap(le, nanos, input))
      const { frames: got, error } = await readAll(f)
      assert.equal(error, null)
      assert.deepEqual(
        got.map((g) => [g.data, g.orig, g.sec, g.nsec, g.lt]),
        [
          [frames[0]!.data, 60, 1700000000, 123456000 + (nanos ? 7 : 0), 1],
          [frames[1]!.data, 300, 1700000001, 999999000 + (nanos ? 7 : 0), 1],
        ],
        `le=${le} nanos=${nanos}`,
      )
    }
  }
})

/** pcapng blocks, written by hand: SHB, IDBs with options, EPB/SPB/OPB, an ISB and a custom block to skip. */
function pcapng(le: boolean): Buffer {
  const blocks: Buffer[] = []
  const block = (type: number, body: Buffer): void => {
    const pad = (4 - (body.length % 4)) % 4
    const len = 12 + body.length + pad
    const b = Buffer.alloc(len)
    if (le) {
      b.writeUInt32LE(type, 0)
      b.writeUInt32LE(len, 4)
      b.writeUInt32LE(len, len - 4)
    } else {
      b.writeUInt32BE(type, 0)
      b.writeUInt32BE(len, 4)
      b.writeUInt32BE(len, len - 4)
    }
    body.copy(b, 8)
    blocks.push(b)
  }
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4)
    if (le) b.writeUInt32LE(v)
    else b.writeUInt32BE(v)
    return b
  }
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2)
    if (le) b.writeUInt16LE(v)
    else b.writeUInt16BE(v)
    return b
  }
  const opt = (code: number, value: Buffer): Buffer =>
    Buffer.concat([u16(code), u16(value.length), value, Buffer.alloc((4 - (value.length % 4)) % 4)])
  const section = (): void =>
    block(
      0x0a0d0d0a,
      Buffer.concat([
        u32(0x1a2b3c4d),
        u16(1),
        u16(0),
        Buffer.alloc(8, 0xff),
        opt(4, Buffer.from('test app')),
        u32(0),
      ]),
    )
  section()
  // if0: Ethernet, µs (default), with a comment option; if1: raw IP, ns (if_tsresol 9); if2: SLL, 2^-10 s
  block(
    1,
    Buffer.concat([
      u16(1),
      u16(0),
      u32(0),
      opt(1, Buffer.from('a comment')),
      opt(2, Buffer.from('eth0')),
      u32(0),
    ]),
  )
  block(1, Buffer.concat([u16(101), u16(0), u32(0), opt(9, Buffer.from([9])), u32(0)]))
  block(1, Buffer.concat([u16(113), u16(0), u32(4), opt(9, Buffer.from([0x8a])), u32(0)]))
  const ts = (ticks: bigint): Buffer =>
    Buffer.concat([u32(Number(ticks >> 32n)), u32(Number(ticks & 0xffffffffn))])
  const epb = (ifId: number, ticks: bigint, data: number[], orig: number): void =>
    block(
      6,
      Buffer.concat([
        u32(ifId),
        ts(ticks),
        u32(data.length),
        u32(orig),
        Buffer.from(data),
        Buffer.alloc((4 - (data.length % 4)) % 4),
        opt(1, Buffer.from('pkt')),
        u32(0),
      ]),
    )
  epb(0, 1700000000123456n, [1, 2, 3], 3)
  epb(1, 1700000000123456789n, [0x45, 0, 0, 20, 9], 20)
  block(5, Buffer.concat([u32(0), ts(0n)])) // interface statistics: skipped
  block(0x40000bad, Buffer.from('custom block, skipped')) // custom: skipped
  epb(2, (1700000000n << 10n) + 512n, [9, 8, 7, 6, 5, 4], 6)
  // OPB: 16-bit interface id, 16-bit drops
  block(
    2,
    Buffer.concat([
      u16(0),
      u16(0),
      ts(1700000001000001n),
      u32(2),
      u32(2),
      Buffer.from([0xaa, 0xbb]),
      Buffer.alloc(2),
    ]),
  )
  // A second section: interfaces start over; SPB uses interface 0 (snaplen 4 cuts the frame).
  section()
  block(1, Buffer.concat([u16(228), u16(0), u32(4), u32(0)]))
  block(3, Buffer.concat([u32(10), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), Buffer.alloc(2)]))
  return Buffer.concat(blocks)
}

test('pcapng: several interfaces with their own link types and resolutions, options skipped, both byte orders, two sections', async () => {
  const want = [
    [[1, 2, 3], 3, 1700000000, 123456000, 1, 0],
    [[0x45, 0, 0, 20, 9], 20, 1700000000, 123456789, 101, 1],
    [[9, 8, 7, 6, 5, 4], 6, 1700000000, 500000000, 113, 2],
    [[0xaa, 0xbb], 2, 1700000001, 1000, 1, 0],
    [[1, 2, 3, 4], 10, 0, 0, 228, 0],
  ]
  for (const le of [true, false]) {
    const f = join(dir, `ng-${le}.pcapng`)
    writeFileSync(f, pcapng(le))
    const { frames, error } = await readAll(f)
    assert.equal(error, null)
    assert.deepEqual(
      frames.map((g) => [g.data, g.orig, g.sec, g.nsec, g.lt, g.ifx]),
      want,
      `le=${le}`,
    )
  }
})

test('streaming: a stream in 7-byte pieces with a 64-byte buffer equals a file read (frames larger than a chunk)', async () => {
  for (const file of [
    sharedData('pcapplusplus', 'PcapExamples', 'many_interfaces-1.pcapng'),
    sharedData('zeek', 'vxlan', 'vxlan.pcap'),
  ]) {
    const whole = await readAll(file)
    const bytes = readFileSync(file)
    const pieces: Buffer[] = []
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7))
    const streamed = await readAll(Readable.from(pieces), { chunkBytes: 64, batchSize: 3 })
    assert.equal(streamed.error, null)
    assert.deepEqual(streamed.frames, whole.frames)
    const smallReads = await readAll(file, { chunkBytes: 64, batchSize: 1 })
    assert.equal(smallReads.error, null)
    assert.deepEqual(smallReads.frames, whole.frames)
  }
})

test('streaming: a pipe from `tcpdump -r FILE -w -` gives what the file gives', async () => {
  const file = sharedData('pcapplusplus', 'PcapExamples', 'example.pcap')
  const child = spawn('tcpdump', ['-r', file, '-w', '-'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const piped = await decodeAll(child.stdout, { chunkBytes: 4096 })
  const direct = await decodeAll(file)
  assert.equal(piped.error, null)
  assert.equal(piped.frames.length, 4631)
  assert.deepEqual(piped.frames, direct.frames)
})

test('damaged files: every complete frame first, then CaptureFormatError saying where', async () => {
  const good = readFileSync(sharedData('pcapplusplus', 'PcapExamples', 'example.pcap'))
  const all = await readAll(sharedData('pcapplusplus', 'PcapExamples', 'example.pcap'))
  // Cut in the middle of the last record's data.
  const f = join(dir, 'trunc.pcap')
  writeFileSync(f, good.subarray(0, good.length - 10))
  const r = await readAll(f, { chunkBytes: 100_000 })
  assert.equal(r.frames.length, all.frames.length - 1)
  assert.ok(hasCode(r.error, 'MF_CAPTURE_FORMAT'))
  const lastLen = all.frames[all.frames.length - 1]!.data.length
  assert.equal((r.error as { offset: number }).offset, good.length - 16 - lastLen)
  assert.equal((r.error as { file: string }).file, f)
  assert.match((r.error as Error).message, /truncated record/)
  // Cut inside a record header.
  writeFileSync(f, good.subarray(0, good.length - lastLen - 5))
  const r2 = await readAll(f)
  assert.equal(r2.frames.length, all.frames.length - 1)
  assert.match((r2.error as Error).message, /truncated record header/)
  // pcapng cut mid-block; empty input; not a capture.
  const ng = pcapng(true)
  writeFileSync(f, ng.subarray(0, ng.length - 8))
  const r3 = await readAll(f)
  assert.equal(r3.frames.length, 4)
  assert.ok(hasCode(r3.error, 'MF_CAPTURE_FORMAT'))
  for (const [bytes, re] of [
    [Buffer.alloc(0), /empty/],
    [Buffer.from('hello, this is not a capture file'), /unknown magic/],
  ] as const) {
    writeFileSync(f, bytes)
    const e = await readAll(f)
    assert.equal(e.frames.length, 0)
    assert.match((e.error as Error).message, re)
  }
})

test('PcapWriter: round trip with snaplen truncation, µs and ns, file and stream', async () => {
  const src = await readAll(sharedData('pcapplusplus', 'PcapExamples', 'example.pcap'))
  for (const nanosecond of [false, true]) {
    const f = join(dir, `w-${nanosecond}.pcap`)
    const w = new PcapWriter(f, { linkType: 1, snaplen: 100, nanosecond })
    for (const fr of src.frames)
      w.write(Uint8Array.from(fr.data), 0, fr.data.length, fr.orig, fr.sec, fr.nsec + (nanosecond ? 1 : 0))
    await w.close()
    const back = await readAll(f)
    assert.equal(back.error, null)
    assert.equal(back.frames.length, src.frames.length)
    for (let i = 0; i < src.frames.length; i++) {
      const a = src.frames[i]!
      const b = back.frames[i]!
      assert.deepEqual(b.data, a.data.slice(0, 100))
      assert.equal(b.orig, a.orig)
      assert.equal(b.sec, a.sec)
      assert.equal(b.nsec, a.nsec + (nanosecond ? 1 : 0))
    }
    // tcpdump reads our file and agrees on the count.
    const child = spawn('tcpdump', ['-r', f, '-w', '-'], { stdio: ['ignore', 'pipe', 'ignore'] })
    const viaTcpdump = await readAll(child.stdout)
    assert.equal(viaTcpdump.frames.length, src.frames.length)
  }
  // To a stream.
  const chunks: Buffer[] = []
  const { Writable } = await import('node:stream')
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c)
      cb()
    },
  })
  const w = new PcapWriter(sink, { linkType: 101 })
  w.write(Uint8Array.from([0x45, 0, 0, 20]), 0, 4, 20, 5, 6000)
  await w.close()
  const back = await readAll(Readable.from([Buffer.concat(chunks)]))
  assert.deepEqual(back.frames, [{ data: [0x45, 0, 0, 20], orig: 20, sec: 5, nsec: 6000, lt: 101, ifx: 0 }])
})
