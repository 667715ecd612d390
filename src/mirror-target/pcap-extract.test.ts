// SPDX-License-Identifier: Apache-2.0
// Packets on demand: the ring's per-file index and the extraction of one flow (both directions, the
// time range, files skipped by the index, the "no longer held" answer, the flow syntax).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { defaultTargetConfig } from './config.ts'
import { PcapDisk } from './pcap-disk.ts'
import { addressBytes, extractFlow, parseFlowSpec } from './pcap-extract.ts'
import { PcapRing } from './pcap-ring.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** An Ethernet/IPv4/TCP frame (no payload) between a:ap and b:bp. */
function tcpFrame(a: string, ap: number, b: string, bp: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20)
  const v = new DataView(f.buffer)
  v.setUint16(12, 0x0800)
  f[14] = 0x45
  v.setUint16(16, 40)
  f[14 + 8] = 64
  f[14 + 9] = 6
  f.set(addressBytes(a)!, 14 + 12)
  f.set(addressBytes(b)!, 14 + 16)
  v.setUint16(34, ap)
  v.setUint16(36, bp)
  f[34 + 12] = 0x50
  f[34 + 13] = 0x02
  return f
}

/** Writes frames `[sec, frame]` into one ring, one call per frame. */
function write(ring: PcapRing, frames: Array<[number, Uint8Array]>): void {
  for (const [sec, fr] of frames) {
    const arena = new Uint8Array(16 + fr.length)
    const view = new DataView(arena.buffer)
    view.setUint32(0, sec, true)
    view.setUint32(4, 0, true)
    view.setUint32(8, fr.length, true)
    view.setUint32(12, fr.length, true)
    arena.set(fr, 16)
    ring.writeRecords(arena, view, Int32Array.of(0), Int32Array.of(arena.length), Int32Array.of(0), 1)
  }
}

const T0 = 1_700_000_000

test('a flow is extracted in both directions, in time order, only within the range; other files are skipped', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mf-extract-'))
  dirs.push(root)
  const cfg = defaultTargetConfig(root).pcap
  cfg.maxFileSeconds = 10
  const disk = new PcapDisk(root, cfg.maxTotalBytes, cfg.maxTotalFiles, 16, () => {})
  const ring = new PcapRing(disk, 'vni-1_10.0.0.9', cfg)
  const fwd = tcpFrame('10.0.1.10', 41000, '10.0.2.20', 80)
  const rev = tcpFrame('10.0.2.20', 80, '10.0.1.10', 41000)
  const other = tcpFrame('10.0.1.11', 41001, '10.0.2.20', 80)
  // File 1 (T0…T0+9): other traffic only. File 2 (T0+10…): the flow, and other traffic.
  write(ring, [
    [T0, other],
    [T0 + 5, other],
    [T0 + 10, fwd],
    [T0 + 11, other],
    [T0 + 12, rev],
    [T0 + 13, fwd],
    [T0 + 30, fwd],
  ])
  ring.close()
  const spec = parseFlowSpec('10.0.1.10:41000-10.0.2.20:80/tcp')
  const x = await extractFlow(disk, { ...spec, startUs: (T0 + 10) * 1e6, endUs: (T0 + 20) * 1e6 })
  assert.equal(x.packets, 3)
  assert.equal(x.filesScanned, 1) // the first file holds no such flow (index), the third is out of range
  assert.equal(x.filesSkipped, 2)
  // The records, in order: fwd, rev, fwd at T0+10, +12, +13.
  const times: number[] = []
  for (let o = 24; o < x.pcap.length; o += 16 + x.pcap.readUInt32LE(o + 8))
    times.push(x.pcap.readUInt32LE(o) - T0)
  assert.deepEqual(times, [10, 12, 13])
  // The reverse spelling of the flow finds the same packets.
  const back = await extractFlow(disk, {
    ...parseFlowSpec('10.0.2.20:80-10.0.1.10:41000/6'),
    startUs: (T0 + 10) * 1e6,
    endUs: (T0 + 20) * 1e6,
  })
  assert.deepEqual(back.pcap, x.pcap)
  // Before the oldest frame held: no longer held.
  const old = await extractFlow(disk, { ...spec, startUs: (T0 - 100) * 1e6, endUs: (T0 - 50) * 1e6 })
  assert.equal(old.packets, 0)
  assert.equal(old.noLongerHeld, true)
  // Within the rings' time but not mirrored: not found (not "no longer held").
  const none = await extractFlow(disk, {
    ...parseFlowSpec('10.9.9.9:1-10.0.2.20:80/tcp'),
    startUs: T0 * 1e6,
    endUs: (T0 + 20) * 1e6,
  })
  assert.equal(none.packets, 0)
  assert.equal(none.noLongerHeld, false)
})

test('the flow syntax: IPv6 in brackets, protocol names and numbers; bad input is refused', () => {
  assert.deepEqual(parseFlowSpec('[2001:db8::1]:5353-[2001:db8::2]:53/udp'), {
    srcAddr: '2001:db8::1',
    srcPort: 5353,
    dstAddr: '2001:db8::2',
    dstPort: 53,
    protocol: 17,
  })
  assert.equal(parseFlowSpec('10.0.0.1:0-10.0.0.2:0/icmp').protocol, 1)
  assert.throws(() => parseFlowSpec('10.0.0.1:1-10.0.0.2:2'), /must end with \/PROTOCOL/)
  assert.throws(() => parseFlowSpec('10.0.0.1:1-[::1]:2/tcp'), /one family/)
  assert.throws(() => parseFlowSpec('10.0.0.1:70000-10.0.0.2:2/tcp'), /0 to 65535/)
  assert.deepEqual([...addressBytes('::ffff:1.2.3.4')!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4])
})
