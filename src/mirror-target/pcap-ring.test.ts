// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { readCapture } from '../packet/index.ts'
import type { PcapRingConfig } from './config.ts'
import { PcapDisk } from './pcap-disk.ts'
import { PcapRing } from './pcap-ring.ts'
import { PcapStaging } from './pcap-staging.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mf-pcapring-unit-'))
  dirs.push(d)
  return d
}

const T0 = 1_700_000_000

function cfg(over: Partial<PcapRingConfig> = {}): PcapRingConfig {
  return {
    maxFileBytes: 1 << 20,
    maxFileSeconds: 300,
    keepFiles: 4,
    snaplen: 65535,
    maxTotalBytes: 1 << 30,
    maxTotalFiles: 1000,
    reorderMs: 100,
    stagingBytes: 1 << 20,
    ...over,
  }
}

/** A disk, rings by slot (generation 1), a staging over them; `reports` collects the first error of each code. */
function rig(root: string, c: PcapRingConfig, maxOpen = 64, names = ['s']) {
  const reports: string[] = []
  const disk = new PcapDisk(root, c.maxTotalBytes, c.maxTotalFiles, maxOpen, (code, m) =>
    reports.push(`${code}: ${m}`),
  )
  disk.scan()
  const rings = names.map((n) => new PcapRing(disk, n, c))
  const staging = new PcapStaging(c.stagingBytes, c.snaplen, c.reorderMs, names.length, {
    ringOf: (slot, gen) => (gen === 1 ? (rings[slot] ?? null) : null),
  })
  return { disk, rings, staging, reports }
}

/** A 60-byte frame whose bytes 14..17 carry `tag`. */
function frame(tag: number, len = 60): Uint8Array {
  const f = new Uint8Array(len)
  new DataView(f.buffer).setUint32(14, tag)
  return f
}

async function records(
  path: string,
): Promise<Array<{ tag: number; sec: number; usec: number; incl: number; orig: number }>> {
  const out: Array<{ tag: number; sec: number; usec: number; incl: number; orig: number }> = []
  for await (const b of readCapture(path)) {
    for (let i = 0; i < b.count; i++) {
      out.push({
        tag: b.view.getUint32(b.starts[i]! + 14),
        sec: b.tsSec[i]!,
        usec: Math.floor(b.tsNsec[i]! / 1000),
        incl: b.ends[i]! - b.starts[i]!,
        orig: b.origLens[i]!,
      })
    }
  }
  return out
}

describe('PcapRing through the staging', () => {
  test('records the original length of a frame the capture cut short, and cuts to the snaplen', async () => {
    const root = tmp()
    const { rings, staging } = rig(root, cfg({ snaplen: 64 }))
    const f = new Uint8Array(100).fill(7)
    staging.add(f, 10, 50, 1500, T0, 0, 0, 1) // 40 bytes captured of a 1500-byte frame
    staging.add(f, 0, 100, 100, T0, 0, 0, 1) // whole frame, cut to the snaplen (64)
    staging.flushAll()
    rings[0]!.close()
    const recs = await records(rings[0]!.files()[0]!.path)
    assert.deepEqual(
      recs.map((r) => [r.incl, r.orig]),
      [
        [40, 1500],
        [64, 100],
      ],
    )
  })

  test('a session costs no system call until its frames are written', () => {
    const root = tmp()
    const { rings } = rig(root, cfg(), 64, ['a', 'b', 'c'])
    assert.equal(rings.length, 3)
    assert.deepEqual(readdirSync(root), [])
  })

  test('frames that arrive out of order within the window are written in time order', async () => {
    const root = tmp()
    const { rings, staging } = rig(root, cfg({ reorderMs: 100 }))
    // Times (ms): 0, 10, 30, then 20 arrives late (a reassembled datagram), then 40.
    for (const [tag, ms] of [
      [1, 0],
      [2, 10],
      [3, 30],
      [4, 20],
      [5, 40],
    ] as const)
      staging.add(frame(tag), 0, 60, 60, T0, ms * 1e6, 0, 1)
    staging.flushAll()
    rings[0]!.close()
    const recs = await records(rings[0]!.files()[0]!.path)
    assert.deepEqual(
      recs.map((r) => r.tag),
      [1, 2, 4, 3, 5],
    )
    assert.equal(staging.reordered, 1)
    assert.equal(rings[0]!.late, 0)
  })

  test('the window holds frames back: a tick writes only what is older than newest − window', async () => {
    const root = tmp()
    const { rings, staging } = rig(root, cfg({ reorderMs: 100 }))
    staging.add(frame(1), 0, 60, 60, T0, 0, 0, 1)
    staging.add(frame(2), 0, 60, 60, T0, 500e6, 0, 1)
    staging.tick() // writes tag 1 (0 ms ≤ 500 − 100), keeps tag 2
    assert.equal(staging.pending, 1)
    staging.add(frame(3), 0, 60, 60, T0, 450e6, 0, 1) // late but inside the window: goes before tag 2
    staging.tick()
    staging.tick() // idle: everything goes
    assert.equal(staging.pending, 0)
    rings[0]!.close()
    assert.deepEqual(
      (await records(rings[0]!.files()[0]!.path)).map((r) => r.tag),
      [1, 3, 2],
    )
  })

  test('a frame later than the window is written with the time of the last one written, and counted', async () => {
    const root = tmp()
    const { rings, staging } = rig(root, cfg({ reorderMs: 100 }))
    staging.add(frame(1), 0, 60, 60, T0, 500e6, 0, 1)
    staging.flushAll()
    staging.add(frame(2), 0, 60, 60, T0, 100e6, 0, 1) // 400 ms older than what is on disk
    staging.flushAll()
    rings[0]!.close()
    const recs = await records(rings[0]!.files()[0]!.path)
    assert.deepEqual(
      recs.map((r) => [r.tag, r.sec, r.usec]),
      [
        [1, T0, 500000],
        [2, T0, 500000],
      ],
    )
    assert.equal(rings[0]!.late, 1)
  })

  test('records of a session evicted before they were written are dropped and counted', () => {
    const root = tmp()
    const { staging } = rig(root, cfg())
    staging.add(frame(1), 0, 60, 60, T0, 0, 0, 2) // generation 2: not the ring's (1)
    staging.add(frame(2), 0, 60, 60, T0, 0, 0, 1)
    staging.flushAll()
    assert.equal(staging.evictedFrames, 1)
    assert.equal(readdirSync(join(root, 's')).length, 1)
  })

  test('a full arena writes its older half early: memory stays bounded, nothing is lost', async () => {
    const root = tmp()
    const { rings, staging } = rig(root, cfg({ stagingBytes: 1 << 20, reorderMs: 10_000 }))
    for (let i = 0; i < 3000; i++) staging.add(frame(i, 1000), 0, 1000, 1000, T0, i * 1000, 0, 1)
    assert.ok(staging.forcedFlushes >= 1)
    staging.flushAll()
    rings[0]!.close()
    const tags: number[] = []
    for (const f of rings[0]!.files()) for (const r of await records(f.path)) tags.push(r.tag)
    assert.equal(rings[0]!.files().length, 3) // 1 MiB files of ~1030 records
    assert.deepEqual(
      tags,
      Array.from({ length: 3000 }, (_, i) => i),
    )
  })

  test('write errors (disk full) are counted, reported once, the frames counted lost, nothing thrown', () => {
    const root = tmp()
    const c = cfg()
    mkdirSync(join(root, 's'))
    // The first file's name is predictable: make it /dev/full, whose every write fails with ENOSPC.
    symlinkSync('/dev/full', join(root, 's', 's-000000-20231114T221320Z.pcap'))
    const { rings, staging, reports } = rig(root, c)
    // The scan saw no regular file there; numbering starts at 0 and the open follows the link.
    staging.add(frame(1), 0, 60, 60, T0, 0, 0, 1)
    staging.flushAll()
    staging.add(frame(2), 0, 60, 60, T0, 0, 0, 1)
    staging.flushAll()
    assert.equal(staging.lostFrames, 2)
    assert.equal(rings[0]!.writeErrors, 3) // failed write calls: the header, then one per flush
    assert.equal(reports.length, 1)
    assert.match(reports[0]!, /^ENOSPC: /)
  })

  test('a data directory whose paths are too long: ENAMETOOLONG counted, nothing thrown', () => {
    const root = join(tmp(), 'x'.repeat(255), 'y'.repeat(255), 'z'.repeat(255))
    const { disk, staging, reports } = rig(root, cfg(), 64, ['v'.repeat(250)])
    staging.add(frame(1), 0, 60, 60, T0, 0, 0, 1)
    staging.flushAll()
    assert.equal(staging.lostFrames, 1)
    assert.ok((disk.errors.ENAMETOOLONG ?? 0) >= 1, JSON.stringify(disk.errors))
    assert.match(reports.join('\n'), /ENAMETOOLONG/)
  })
})

describe('PcapDisk', () => {
  test('the descriptor budget: never more files open than allowed; a closed file is reopened and appended to', async () => {
    const root = tmp()
    const names = ['a', 'b', 'c', 'd', 'e']
    const { disk, rings, staging } = rig(root, cfg(), 2, names)
    for (let round = 0; round < 3; round++) {
      for (let s = 0; s < names.length; s++)
        staging.add(frame(round * 10 + s), 0, 60, 60, T0 + round, 0, s, 1)
      staging.flushAll()
      assert.ok(disk.openFiles <= 2)
    }
    for (const r of rings) r.close()
    assert.equal(disk.openFiles, 0)
    for (let s = 0; s < names.length; s++) {
      const files = rings[s]!.files()
      assert.equal(files.length, 1)
      assert.deepEqual(
        (await records(files[0]!.path)).map((r) => r.tag),
        [s, 10 + s, 20 + s],
      )
    }
  })

  test('the global caps: files of gone sessions go first, then the oldest; empty directories of gone sessions are removed', () => {
    const root = tmp()
    // Each file: 24 + 16 + 60 = 100 bytes. Cap: 5 files in all.
    const c = cfg({ maxTotalFiles: 5, maxFileSeconds: 1, keepFiles: 10 })
    const { disk, rings, staging } = rig(root, c, 64, ['live', 'gone'])
    for (let i = 0; i < 3; i++) staging.add(frame(i), 0, 60, 60, T0 + i, 0, 0, 1)
    for (let i = 0; i < 2; i++) staging.add(frame(i), 0, 60, 60, T0 + i, 0, 1, 1)
    staging.flushAll()
    disk.enforce()
    assert.equal(disk.totalFiles, 5)
    rings[1]!.detach() // the session of 'gone' is evicted
    for (let i = 3; i < 5; i++) staging.add(frame(i), 0, 60, 60, T0 + i, 0, 0, 1)
    staging.flushAll()
    disk.enforce()
    assert.equal(disk.totalFiles, 5)
    assert.equal(disk.reclaimedFiles, 2)
    assert.equal(existsSync(join(root, 'gone')), false)
    assert.equal(readdirSync(join(root, 'live')).length, 5)
    staging.add(frame(5), 0, 60, 60, T0 + 5, 0, 0, 1)
    staging.flushAll()
    disk.enforce()
    assert.equal(disk.reclaimedFiles, 3)
    assert.equal(disk.totalBytes, 5 * 100)
    assert.deepEqual(
      rings[0]!.files().map((f) => /-(\d{6})-/.exec(f.path)![1]),
      ['000001', '000002', '000003', '000004', '000005'],
    )
  })

  test('a restart continues the numbering and counts the earlier files towards the caps', () => {
    const root = tmp()
    const s = 'vni-7_10.0.0.1'
    mkdirSync(join(root, s))
    for (let i = 0; i < 3; i++)
      writeFileSync(join(root, s, `${s}-00000${i}-20231114T221320Z.pcap`), Buffer.alloc(100))
    writeFileSync(join(root, s, 'notes.txt'), 'an operator file: not ours')
    const { disk, rings, staging } = rig(root, cfg({ maxTotalFiles: 3 }), 64, [s])
    assert.equal(disk.totalFiles, 3)
    assert.equal(disk.totalBytes, 300)
    staging.add(frame(1), 0, 60, 60, T0, 0, 0, 1)
    staging.flushAll()
    disk.enforce()
    assert.equal(disk.totalFiles, 3)
    assert.match(rings[0]!.current!, /-000003-\d{8}T\d{6}Z\.pcap$/)
    assert.deepEqual(readdirSync(join(root, s)).sort(), [
      'notes.txt',
      `${s}-000001-20231114T221320Z.pcap`,
      `${s}-000002-20231114T221320Z.pcap`,
      rings[0]!.current!.split('/').pop(),
    ])
    assert.equal(readFileSync(join(root, s, 'notes.txt'), 'utf8'), 'an operator file: not ours')
  })
})
