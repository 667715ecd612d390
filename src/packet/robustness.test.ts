// SPDX-License-Identifier: Apache-2.0
// test-group: fuzz
/**
 * Robustness: damaged and hostile captures never crash or hang the reader or the decoder. Each file is
 * either read whole (frames, some counted malformed) or ends with a CaptureFormatError after the
 * frames before the damage.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { sharedData } from '../../test/helpers/shared.ts'
import { hasCode } from '../errors.ts'
import { decodeFrame, LinkType, MAX_TIMESTAMP_SEC, PacketMeta, readCapture } from './index.ts'
import { decodeAll } from './testing.ts'

function hostileFiles(): string[] {
  const fuzz = sharedData('pcapplusplus', 'fuzz-regression-samples')
  const tcpd = sharedData('tcpdump-tests')
  return [
    ...readdirSync(fuzz)
      .filter((f) => !f.endsWith('.md'))
      .map((f) => join(fuzz, f)),
    ...readdirSync(tcpd)
      .filter((f) => /\.(pcap|pcapng)$/.test(f))
      .map((f) => join(tcpd, f)),
  ]
}

test(
  'every fuzz-regression sample and tcpdump test capture is read without crash or hang',
  { timeout: 30_000 },
  async () => {
    const files = hostileFiles()
    assert.ok(files.length >= 100, `found ${files.length} files`)
    let errors = 0
    let frames = 0
    for (const f of files) {
      const r = await decodeAll(f)
      frames += r.frames.length
      if (r.error !== null) {
        errors++
        assert.ok(hasCode(r.error, 'MF_CAPTURE_FORMAT'), `${f}: ${String(r.error)}`)
        assert.match(r.error.message, /damaged capture at byte \d+/)
      }
    }
    // Many fuzz samples are damaged on purpose; all good tcpdump captures give frames.
    assert.ok(errors > 10, `errors ${errors}`)
    assert.ok(frames > 100, `frames ${frames}`)
  },
)

test('frames read before damage match tshark for the damaged fuzz samples it reads', async () => {
  // tshark's reference: packets it returned for each file (tools/tshark_robustness_reference.tsv).
  const lines = readFileSync(sharedData('tools', 'tshark_robustness_reference.tsv'), 'utf8')
    .split('\n')
    .slice(2)
  let compared = 0
  for (const line of lines) {
    const c = line.split('\t')
    if (c.length < 5 || !c[0]!.includes('fuzz-regression')) continue
    const r = await decodeAll(sharedData(...c[0]!.split('/')))
    const tshark = Number(c[3])
    // The two readers' limits differ by at most one record (e.g. a frame longer than tshark's snaplen).
    assert.ok(
      r.frames.length >= tshark - 1 && r.frames.length <= tshark + 1,
      `${c[0]}: ours ${r.frames.length}, tshark ${tshark}`,
    )
    compared++
  }
  assert.ok(compared >= 50, `compared ${compared}`)
})

/** mulberry32: a small seeded PRNG, so the mutations are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test(
  'seeded random mutations of good captures (>= 100k frames): no crash, no hang',
  { timeout: 60_000 },
  async () => {
    const bases = [
      sharedData('pcapplusplus', 'PcapExamples', 'example.pcap'),
      sharedData('pcapplusplus', 'PcapExamples', 'many_interfaces-1.pcapng'),
      sharedData('pcapplusplus', 'PcapExamples', 'sll.pcap'),
      sharedData('pcapplusplus', 'PcapExamples', 'ip6_fragments.pcap'),
      sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap'),
      sharedData('zeek', 'q-in-q', 'q-in-q.pcap'),
    ].map((f) => readFileSync(f))
    const rand = prng(0x5eed)
    const m = new PacketMeta()
    const inner = new PacketMeta()
    let frames = 0
    let malformed = 0
    let formatErrors = 0
    const stats = { clampedTimestamps: 0 }
    for (let round = 0; frames < 100_000; round++) {
      const base = bases[round % bases.length]!
      const buf = Buffer.from(base)
      // Mostly flip bytes inside the data (decoder damage); every 4th round also hit the first 64 bytes
      // and a few random places anywhere (reader damage: lengths, magic, block types).
      const flips = 1 + Math.floor(rand() * (buf.length / 64))
      for (let i = 0; i < flips; i++)
        buf[24 + Math.floor(rand() * (buf.length - 24))] = Math.floor(rand() * 256)
      if (round % 4 === 3)
        for (let i = 0; i < 4; i++)
          buf[Math.floor(rand() * Math.min(64, buf.length))] = Math.floor(rand() * 256)
      const cut = round % 5 === 4 ? Math.floor(rand() * buf.length) : buf.length
      const chunks = Readable.from([buf.subarray(0, cut)])
      try {
        for await (const b of readCapture(chunks, { chunkBytes: 65536, batchSize: 512, stats })) {
          for (let i = 0; i < b.count; i++) {
            frames++
            // Issue 9 item 15: every time stamp is printable and fits a flow-log record, however mutated.
            const t = b.tsSec[i]!
            assert.ok(
              t >= 0 && t <= MAX_TIMESTAMP_SEC && Number.isInteger(t) && b.tsNsec[i]! < 1e9,
              `ts ${t}`,
            )
            new Date(t * 1000).toISOString()
            const r = decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, m)
            assert.equal(r === -1, m.malformed !== 0)
            if (r < 0) malformed++
            if (m.vni >= 0) decodeFrame(b.view, m.innerOffset, b.ends[i]!, LinkType.Ethernet, inner)
          }
        }
      } catch (err) {
        assert.ok(hasCode(err, 'MF_CAPTURE_FORMAT'), String(err))
        formatErrors++
      }
    }
    assert.ok(frames >= 100_000)
    assert.ok(malformed > 0 && formatErrors > 0, `malformed ${malformed}, format errors ${formatErrors}`)
    assert.ok(stats.clampedTimestamps > 0, 'some mutations hit time stamps')
  },
)
