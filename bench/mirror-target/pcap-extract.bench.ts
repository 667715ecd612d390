// SPDX-License-Identifier: Apache-2.0
/**
 * bench/mirror-target: packets on demand — extracting one flow from a 1 GB pcap ring.
 *
 * Fills one session's ring (the target's own writer, PcapRing, 64 MiB files, so 16 files) with
 * BENCH_RING_BYTES (default 1 GiB) of 1,000-byte TCP frames of 5,000 flows over an hour, then asks
 * `extractFlow` for one flow (both directions) over the whole hour, a narrow 5-minute range, and a
 * flow the ring never saw. Each run reads from the page cache (the ring was just written): the
 * figure is the extraction's, not the disk's.
 *
 * Output: one JSON line per case (`{case, ms, packets, filesScanned, bytesRead}`), then a summary
 * against the target (< 2 s). Run: `npm run bench:pcap-extract`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  defaultTargetConfig,
  extractFlow,
  parseFlowSpec,
  PcapDisk,
  PcapRing,
} from '../../src/mirror-target/index.ts'

const RING = Number(process.env.BENCH_RING_BYTES ?? 1024 * 1024 * 1024)
const FRAME = 1000
const FLOWS = 5000
const T0 = 1_764_000_000

const root = mkdtempSync(join(tmpdir(), 'mf-bench-extract-'))
try {
  const cfg = defaultTargetConfig(root).pcap
  cfg.maxFileBytes = 64 * 1024 * 1024
  cfg.maxFileSeconds = 3600
  cfg.keepFiles = 1000
  const disk = new PcapDisk(root, 1 << 40, 100_000, 64, () => {})
  const ring = new PcapRing(disk, 'vni-1_10.0.9.2', cfg)
  const frames = Math.floor(RING / (FRAME + 16))
  // One arena of 4,096 records, rewritten per batch (the staging arena's role).
  const BATCH = 4096
  const arena = new Uint8Array(BATCH * (16 + FRAME))
  const view = new DataView(arena.buffer)
  const offs = new Int32Array(BATCH)
  const lens = new Int32Array(BATCH)
  const order = new Int32Array(BATCH)
  for (let i = 0; i < BATCH; i++) {
    offs[i] = i * (16 + FRAME)
    lens[i] = 16 + FRAME
    order[i] = i
    const o = offs[i]! + 16
    view.setUint16(o + 12, 0x0800)
    arena[o + 14] = 0x45
    view.setUint16(o + 16, FRAME - 14)
    arena[o + 22] = 64
    arena[o + 23] = 6
    arena[o + 46] = 0x50
  }
  let t = performance.now()
  for (let k = 0; k < frames; k += BATCH) {
    const n = Math.min(BATCH, frames - k)
    for (let i = 0; i < n; i++) {
      const j = k + i
      const off = offs[i]!
      const us = Math.floor((j / frames) * 3600e6)
      view.setUint32(off, T0 + Math.floor(us / 1e6), true)
      view.setUint32(off + 4, us % 1e6, true)
      view.setUint32(off + 8, FRAME, true)
      view.setUint32(off + 12, FRAME, true)
      const o = off + 16 + 14
      const flow = j % FLOWS
      const reverse = (j >> 3) % 2 === 1
      const client = 0x0a000100 + (flow % 250)
      const server = 0x0a000200 + (flow % 7)
      const cport = 30000 + flow
      view.setUint32(o + 12, reverse ? server : client)
      view.setUint32(o + 16, reverse ? client : server)
      view.setUint16(o + 20, reverse ? 443 : cport)
      view.setUint16(o + 22, reverse ? cport : 443)
    }
    ring.writeRecords(arena, view, offs, lens, order, n)
  }
  ring.close()
  const files = [...disk.files()]
  process.stdout.write(
    JSON.stringify({
      case: 'write-ring',
      bytes: disk.totalBytes,
      files: files.length,
      frames,
      seconds: (performance.now() - t) / 1000,
    }) + '\n',
  )
  // Flow 1234: client 10.0.1.234 (1234 % 250 = 234), server 10.0.2.2 (1234 % 7 = 2), port 31234.
  const flow = parseFlowSpec('10.0.1.234:31234-10.0.2.2:443/tcp')
  const cases: Array<[string, ReturnType<typeof parseFlowSpec>, number, number]> = [
    ['one flow, whole hour', flow, T0, T0 + 3600],
    ['one flow, 5 minutes', flow, T0 + 1800, T0 + 2100],
    ['unseen flow, whole hour', parseFlowSpec('10.9.9.9:1-10.0.2.2:443/tcp'), T0, T0 + 3600],
  ]
  let worst = 0
  for (const [name, f, s, e] of cases) {
    t = performance.now()
    const x = await extractFlow(disk, { ...f, startUs: s * 1e6, endUs: e * 1e6 })
    const ms = performance.now() - t
    worst = Math.max(worst, ms)
    process.stdout.write(
      JSON.stringify({
        case: name,
        ms: Math.round(ms),
        packets: x.packets,
        pcapBytes: x.pcap.length,
        filesScanned: x.filesScanned,
        filesSkipped: x.filesSkipped,
        bytesRead: x.bytesRead,
      }) + '\n',
    )
  }
  process.stdout.write(
    JSON.stringify({
      summary: 'pcap-extract',
      ringBytes: disk.totalBytes,
      worstMs: Math.round(worst),
      targetMs: 2000,
      pass: worst < 2000,
    }) + '\n',
  )
} finally {
  rmSync(root, { recursive: true, force: true })
}
