// SPDX-License-Identifier: Apache-2.0
// The batch path both receive modes share (demuxVxlanBatch), the capture mode's BPF filter, and the
// IPv4 reassembler of fragmented VXLAN datagrams.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LinkType, parseIPv6, type FrameBatch } from '../packet/index.ts'
import { captureFilter } from './capture.ts'
import { demuxVxlanBatch, Ipv6SourceName, type DemuxContext, type DemuxSession } from './ingest.ts'
import { Ipv4Reassembler } from './reassembly.ts'

function emptyBatch(size: number, bytes: number): FrameBatch {
  const b = new Uint8Array(bytes)
  return {
    bytes: b,
    view: new DataView(b.buffer),
    count: 0,
    starts: new Uint32Array(size),
    ends: new Uint32Array(size),
    origLens: new Uint32Array(size),
    tsSec: new Float64Array(size),
    tsNsec: new Uint32Array(size),
    linkTypes: new Uint16Array(size),
    ifIndex: new Uint16Array(size),
  }
}

/** VXLAN header (flags, VNI) + an inner "frame" of `len` bytes whose bytes 14.. hold `tag`. */
function vxlan(vni: number, len: number, tag: number, flags = 0x08): Uint8Array {
  const b = Buffer.alloc(8 + len)
  b[0] = flags
  b.writeUIntBE(vni, 4, 3)
  if (len >= 18) b.writeUInt32BE(tag, 8 + 14)
  return b
}

class Ctx implements DemuxContext {
  readonly malformed: Record<string, number> = { vxlan_truncated: 0, vxlan_flags: 0, inner_truncated: 0 }
  readonly sessions: Array<DemuxSession & { vni: number; source: string }> = []
  readonly refused = { frames: 0 }
  lookups = 0
  sessionFor(vni: number, source: string, tsSec: number): DemuxSession {
    this.lookups++
    let s = this.sessions.find((x) => x.vni === vni && x.source === source)
    if (s === undefined) {
      s = { index: this.sessions.length, vni, source, packets: 0, bytes: 0, lastSeen: tsSec }
      this.sessions.push(s)
    }
    return s
  }
}

/**
 * Lays datagrams out as a capture would: each after `outer` bytes of outer headers (0: as the
 * socket mode copies them), with a timestamp per frame.
 */
function batchOf(items: Array<{ dgram: Uint8Array; src: string; outer?: number; orig?: number }>): {
  b: FrameBatch
  vx: Int32Array
  src: string[]
} {
  const b = emptyBatch(items.length, 65536)
  const vx = new Int32Array(items.length)
  const src: string[] = []
  let at = 0
  items.forEach((it, i) => {
    const outer = it.outer ?? 0
    b.starts[i] = at
    vx[i] = at + outer
    b.bytes.set(it.dgram, at + outer)
    b.ends[i] = at + outer + it.dgram.length
    b.origLens[i] = it.orig ?? outer + it.dgram.length
    b.tsSec[i] = 1_700_000_000 + i
    b.tsNsec[i] = 123_456_789
    b.linkTypes[i] = LinkType.LinuxSLL2
    src.push(it.src)
    at = b.ends[i] as number
  })
  b.count = items.length
  return { b, vx, src }
}

describe('demuxVxlanBatch', () => {
  test('compacts the batch in place to the inner frames, by session, counting malformed by reason', () => {
    const { b, vx, src } = batchOf([
      { dgram: vxlan(7, 60, 1), src: '10.0.0.1', outer: 44 },
      { dgram: new Uint8Array(4), src: '10.0.0.1', outer: 44 },
      { dgram: vxlan(7, 60, 2, 0x00), src: '10.0.0.1', outer: 44 },
      { dgram: vxlan(7, 10, 3), src: '10.0.0.1', outer: 44 },
      { dgram: vxlan(7, 70, 4), src: '10.0.0.2', outer: 44 },
      { dgram: vxlan(9, 80, 5), src: '10.0.0.1', outer: 44, orig: 44 + 8 + 200 },
      { dgram: vxlan(7, 60, 6), src: '10.0.0.1', outer: 44 },
    ])
    const sessionOf = new Int32Array(b.count)
    const ctx = new Ctx()
    assert.equal(demuxVxlanBatch(b, vx, src, sessionOf, ctx), 7)
    assert.deepEqual(ctx.malformed, { vxlan_truncated: 1, vxlan_flags: 1, inner_truncated: 1 })
    assert.equal(b.count, 4)
    const tags = Array.from({ length: b.count }, (_, i) => b.view.getUint32((b.starts[i] as number) + 14))
    assert.deepEqual(tags, [1, 4, 5, 6])
    assert.deepEqual(Array.from(sessionOf.subarray(0, 4)), [0, 1, 2, 0])
    assert.deepEqual(
      ctx.sessions.map((s) => [s.vni, s.source, s.packets, s.bytes]),
      [
        [7, '10.0.0.1', 2, 120],
        [7, '10.0.0.2', 1, 70],
        [9, '10.0.0.1', 1, 200],
      ],
    )
    // Inner lengths: captured 80 of an original 200 (the outer frame was cut by the snap length).
    assert.deepEqual(Array.from(b.origLens.subarray(0, 4)), [60, 70, 200, 60])
    assert.deepEqual(
      Array.from({ length: 4 }, (_, i) => (b.ends[i] as number) - (b.starts[i] as number)),
      [60, 70, 80, 60],
    )
    assert.deepEqual(Array.from(b.linkTypes.subarray(0, 4)), Array(4).fill(LinkType.Ethernet))
    // Timestamps travel with their frames.
    assert.deepEqual(
      Array.from(b.tsSec.subarray(0, 4)),
      [1_700_000_000, 1_700_000_004, 1_700_000_005, 1_700_000_006],
    )
    assert.equal(b.tsNsec[3], 123_456_789)
  })

  test('skips frames the caller already accounted for, and looks sessions up once per run', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({
      dgram: vxlan(5569041, 64, i),
      src: '172.31.0.238',
    }))
    const { b, vx, src } = batchOf(items)
    vx[10] = -1
    vx[20] = -1
    const sessionOf = new Int32Array(b.count)
    const ctx = new Ctx()
    assert.equal(demuxVxlanBatch(b, vx, src, sessionOf, ctx), 98)
    assert.equal(b.count, 98)
    assert.equal(ctx.lookups, 1)
    assert.equal(ctx.sessions[0]!.packets, 98)
    assert.equal(b.view.getUint32((b.starts[10] as number) + 14), 11)
  })

  test('an empty batch is a no-op', () => {
    const { b, vx, src } = batchOf([])
    const ctx = new Ctx()
    assert.equal(demuxVxlanBatch(b, vx, src, new Int32Array(0), ctx), 0)
    assert.equal(b.count, 0)
  })
})

test('captureFilter: what the bound socket would get, plus later IPv4 fragments', () => {
  assert.equal(
    captureFilter('0.0.0.0', 4789),
    'ip and (udp dst port 4789 or (ip proto 17 and ip[6:2] & 0x1fff != 0))',
  )
  assert.equal(
    captureFilter('10.0.2.100', 4789),
    'ip and dst host 10.0.2.100 and (udp dst port 4789 or (ip proto 17 and ip[6:2] & 0x1fff != 0))',
  )
  assert.equal(captureFilter('fd00::1', 4789), 'ip6 and dst host fd00::1 and udp dst port 4789')
})

/** The IPv4 fragments (header + data) of a UDP datagram with `payload`, `mtu`-sized. */
function fragments(payload: Uint8Array, dstPort: number, id: number, mtu: number): Uint8Array[] {
  const udp = Buffer.alloc(8 + payload.length)
  udp.writeUInt16BE(40000, 0)
  udp.writeUInt16BE(dstPort, 2)
  udp.writeUInt16BE(udp.length, 4)
  udp.set(payload, 8)
  const per = (mtu - 20) & ~7
  const out: Uint8Array[] = []
  for (let off = 0; off < udp.length; off += per) {
    const data = udp.subarray(off, Math.min(udp.length, off + per))
    const ip = Buffer.alloc(20 + data.length)
    ip[0] = 0x45
    ip.writeUInt16BE(ip.length, 2)
    ip.writeUInt16BE(id, 4)
    ip.writeUInt16BE(((off + per < udp.length ? 1 : 0) << 13) | (off >> 3), 6)
    ip[8] = 64
    ip[9] = 17
    ip.writeUInt32BE(0x0a000001, 12)
    ip.writeUInt32BE(0x0a000002, 16)
    ip.set(data, 20)
    out.push(ip)
  }
  return out
}

function add(r: Ipv4Reassembler, frag: Uint8Array, now = 0): Uint8Array | null {
  return r.add(new DataView(frag.buffer, frag.byteOffset, frag.byteLength), 0, frag.length, now)
}

describe('Ipv4Reassembler', () => {
  const payload = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff)

  test('in order, reversed and with duplicates: the same datagram, once', () => {
    for (const order of ['forward', 'reverse', 'dup'] as const) {
      const r = new Ipv4Reassembler(4789)
      let frags = fragments(payload, 4789, 7, 1500)
      assert.equal(frags.length, 3)
      if (order === 'reverse') frags = frags.reverse()
      if (order === 'dup') frags = [frags[0]!, frags[1]!, frags[1]!, frags[0]!, frags[2]!]
      const got = frags.map((f) => add(r, f))
      const done = got.filter((g) => g !== null)
      assert.equal(done.length, 1, order)
      assert.equal(got[got.length - 1] !== null, true, order)
      const udp = Buffer.from(done[0]!)
      assert.equal(udp.readUInt16BE(2), 4789)
      assert.deepEqual(new Uint8Array(udp.subarray(8)), payload)
      assert.equal(r.size, 0)
      assert.equal(r.reassembled, 1)
    }
  })

  test('fragments of another port are discarded, not counted', () => {
    const r = new Ipv4Reassembler(4789)
    for (const f of fragments(payload, 53, 9, 1500)) assert.equal(add(r, f), null)
    r.expire(100)
    assert.equal(r.lost, 0)
    assert.equal(r.size, 0)
  })

  test('a datagram missing a fragment is given up after the timeout and counted lost', () => {
    const r = new Ipv4Reassembler(4789, 256, 5)
    const frags = fragments(payload, 4789, 11, 1500)
    assert.equal(add(r, frags[0]!, 10), null)
    assert.equal(add(r, frags[2]!, 11), null)
    r.expire(14)
    assert.equal(r.size, 1)
    r.expire(15)
    assert.equal(r.size, 0)
    assert.equal(r.lost, 1)
    // The late fragment alone starts a new (unknown) datagram, which completes nothing.
    assert.equal(add(r, frags[1]!, 16), null)
  })

  test('bounded: beyond maxDatagrams the oldest is evicted', () => {
    const r = new Ipv4Reassembler(4789, 4, 5)
    for (let id = 0; id < 10; id++) add(r, fragments(payload, 4789, id, 1500)[0]!, 0)
    assert.equal(r.size, 4)
    assert.equal(r.lost, 6)
  })
})

test('Ipv6SourceName gives the text of each address, remembering only the last one', () => {
  const names = new Ipv6SourceName()
  const bytes = new Uint8Array(48)
  bytes.set(parseIPv6('2001:db8::1'), 0)
  bytes.set(parseIPv6('2001:db8::2'), 16)
  bytes.set(parseIPv6('2001:db8::1'), 32)
  assert.equal(names.of(bytes, 0), '2001:db8::1')
  assert.equal(names.of(bytes, 32), '2001:db8::1')
  assert.equal(names.of(bytes, 16), '2001:db8::2')
  assert.equal(names.of(bytes, 0), '2001:db8::1')
  // The same bytes changed in place (a reused batch buffer) are a different address.
  bytes[15] = 3
  assert.equal(names.of(bytes, 0), '2001:db8::3')
  assert.equal(names.of(new Uint8Array(16), 0), '::')
})
