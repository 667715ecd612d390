// SPDX-License-Identifier: Apache-2.0
// test-group: process
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { LinkType, newFrameBatch, readCapture, type FrameBatch } from '../packet/index.ts'
import { defaultTargetConfig, parseHostPort, validateTargetConfig } from './config.ts'
import { MirrorTarget, type TargetStatus } from './target.ts'
import { REPO_ROOT } from '../../test/helpers/shared.ts'

/** A VXLAN payload: 8-byte header (flags, VNI) + an Ethernet frame of `len` bytes tagged with `tag`. */
function vxlan(vni: number, len: number, tag: number, flags = 0x08): Buffer {
  const b = Buffer.alloc(8 + len)
  b[0] = flags
  b.writeUIntBE(vni, 4, 3)
  b.fill(0x02, 8, 20) // MACs
  b.writeUInt16BE(0x0800, 20) // EtherType IPv4 (payload does not matter to the target)
  b.writeUInt32BE(tag, 22)
  return b
}

const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mf-target-unit-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function send(port: number, msgs: Buffer[], from = '127.0.0.1'): Promise<void> {
  const s = createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, from, () => r()))
  for (const m of msgs) await new Promise<void>((r) => s.send(m, port, '127.0.0.1', () => r()))
  s.close()
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10))
}

async function readTags(path: string): Promise<number[]> {
  const tags: number[] = []
  for await (const batch of readCapture(path)) {
    for (let i = 0; i < batch.count; i++) tags.push(batch.view.getUint32(batch.starts[i]! + 14))
  }
  return tags
}

describe('config', () => {
  test('parseHostPort', () => {
    assert.deepEqual(parseHostPort('0.0.0.0:4789', 'x'), { host: '0.0.0.0', port: 4789 })
    assert.deepEqual(parseHostPort('[::1]:9', 'x'), { host: '::1', port: 9 })
    assert.throws(() => parseHostPort('4789', 'x'), { code: 'MF_TARGET_CONFIG' })
    assert.throws(() => parseHostPort('host:70000', 'x'), { code: 'MF_TARGET_CONFIG' })
  })
  test('validate rejects bad limits', () => {
    const c = defaultTargetConfig('/tmp/x')
    validateTargetConfig(c)
    assert.throws(() => validateTargetConfig({ ...c, pcap: { ...c.pcap, keepFiles: 0 } }), {
      code: 'MF_TARGET_CONFIG',
    })
    assert.throws(() => validateTargetConfig({ ...c, forwardTo: 'a b' }), { code: 'MF_TARGET_CONFIG' })
  })
})

for (const mode of ['socket', 'capture'] as const)
  describe(`MirrorTarget, receive ${mode}`, () => {
    test('demuxes by VNI and source, counts malformed, writes inner frames in order', async () => {
      const dir = tmp()
      const cfg = defaultTargetConfig(dir)
      cfg.receive = mode
      cfg.listenHost = '127.0.0.1'
      cfg.listenPort = 0
      cfg.metricsListen = '127.0.0.1:0'
      const t = await MirrorTarget.start(cfg)
      try {
        const port = t.address.port
        const a = Array.from({ length: 50 }, (_, i) => vxlan(7, 60 + i, i))
        const b = Array.from({ length: 20 }, (_, i) => vxlan(5569041, 100, 1000 + i))
        const bad = [Buffer.alloc(4), vxlan(9, 60, 0, 0x00), Buffer.from([8, 0, 0, 0, 0, 0, 9, 0, 1, 2])]
        await send(port, [...a, ...b, ...bad])
        await send(port, [vxlan(7, 60, 5000)], '127.0.0.2')
        await until(() => t.datagrams === 74)
        const res = await fetch(`http://127.0.0.1:${t.metricsAddressPort}/metrics`)
        const text = await res.text()
        assert.match(text, /mirrorflow_target_packets_total\{vni="7",source="127.0.0.1"\} 50/)
        assert.match(text, /mirrorflow_target_packets_total\{vni="5569041",source="127.0.0.1"\} 20/)
        assert.match(text, /mirrorflow_target_malformed_total\{reason="vxlan_flags"\} 1/)
        assert.match(text, /mirrorflow_target_datagrams_total 74/)
        const st: TargetStatus = await t.stop()
        assert.equal(st.datagrams, 74)
        assert.deepEqual(st.malformed, { vxlan_truncated: 1, vxlan_flags: 1, inner_truncated: 1 })
        assert.deepEqual(
          st.sessions.map((s) => [s.vni, s.source, s.packets]),
          [
            [7, '127.0.0.1', 50],
            [5569041, '127.0.0.1', 20],
            [7, '127.0.0.2', 1],
          ],
        )
        assert.equal(
          st.sessions[0]!.bytes,
          a.reduce((n, m) => n + m.length - 8, 0),
        )
        const file = st.sessions[0]!.files[0]!.path
        assert.deepEqual(
          await readTags(file),
          a.map((_, i) => i),
        )
        assert.deepEqual(
          await readTags(st.sessions[1]!.files[0]!.path),
          b.map((_, i) => 1000 + i),
        )
        const onDisk = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as TargetStatus
        assert.equal(onDisk.packets, 71)
      } finally {
        await t.stop()
      }
    })

    test('the pcap ring rotates by size and keeps only the newest files, continuing across restarts', async () => {
      const dir = tmp()
      const cfg = defaultTargetConfig(dir)
      cfg.receive = mode
      cfg.listenHost = '127.0.0.1'
      cfg.listenPort = 0
      cfg.pcap.maxFileBytes = 4096
      cfg.pcap.keepFiles = 3
      let t = await MirrorTarget.start(cfg)
      // 1000-byte frames: 5 records per file (24 + 4 × 1016 < 4096 ≤ 24 + 5 × 1016), so 8 files.
      await send(
        t.address.port,
        Array.from({ length: 40 }, (_, i) => vxlan(3, 1000, i)),
      )
      await until(() => t.datagrams === 40)
      let st = await t.stop()
      const files = st.sessions[0]!.files
      assert.equal(files.length, 3)
      assert.deepEqual(await readTags(files[2]!.path), [35, 36, 37, 38, 39])
      assert.deepEqual(await readTags(files[0]!.path), [25, 26, 27, 28, 29])
      const sessionDir = st.sessions[0]!.pcapDir
      assert.equal(readdirSync(sessionDir).length, 3)
      t = await MirrorTarget.start(cfg)
      await send(t.address.port, [vxlan(3, 100, 77)])
      await until(() => t.datagrams === 1)
      st = await t.stop()
      const names = readdirSync(sessionDir).sort()
      assert.equal(names.length, 3)
      assert.match(names[2]!, /^vni-3_127\.0\.0\.1-000008-\d{8}T\d{6}Z\.pcap$/)
      assert.deepEqual(await readTags(join(sessionDir, names[2]!)), [77])
    })

    test('the pcap ring rotates by age', async () => {
      const dir = tmp()
      const cfg = defaultTargetConfig(dir)
      cfg.receive = mode
      cfg.listenHost = '127.0.0.1'
      cfg.listenPort = 0
      cfg.pcap.maxFileSeconds = 1
      const t = await MirrorTarget.start(cfg)
      await send(t.address.port, [vxlan(4, 60, 1)])
      await until(() => t.datagrams === 1)
      await new Promise((r) => setTimeout(r, 1100))
      await send(t.address.port, [vxlan(4, 60, 2)])
      await until(() => t.datagrams === 2)
      const st = await t.stop()
      assert.equal(st.sessions[0]!.files.length, 2)
      assert.deepEqual(await readTags(st.sessions[0]!.files[1]!.path), [2])
    })
  })

describe('MirrorTarget, receive capture: a capture that dies', () => {
  test('is reported, restarted, and receiving goes on', async () => {
    const dir = tmp()
    const cfg = defaultTargetConfig(dir)
    cfg.receive = 'capture'
    cfg.listenHost = '127.0.0.1'
    cfg.listenPort = 0
    const lines: Array<[string, unknown, unknown]> = []
    const rec =
      (level: string) =>
      (f: Record<string, unknown>): void => {
        lines.push([level, f.condition, f.state])
      }
    const t = await MirrorTarget.start(cfg, {
      log: { info: rec('info'), warn: rec('warn'), error: rec('error') },
    })
    try {
      const port = t.address.port
      await send(port, [vxlan(7, 60, 1)])
      await until(() => t.datagrams === 1)
      assert.equal(t.datagrams, 1)
      // Kill this target's tcpdump (its filter names the port, unique to this test).
      const killed = spawnSync('pkill', ['-KILL', '-f', `tcpdump .*udp dst port ${port}\\b`])
      assert.equal(killed.status, 0, 'found no tcpdump to kill')
      // While it is down (the 1 s back-off): degraded, with the reason (issue 9 item 18, target side).
      for (let i = 0; i < 500 && t.status().state !== 'degraded'; i++)
        await new Promise((r) => setTimeout(r, 10))
      assert.equal(t.status().state, 'degraded')
      assert.equal(t.status().capture, null)
      assert.match(t.status().lastError ?? '', /^capture on lo ended: .*capturing again in 1 s$/)
      // Then the new capture, with its restart count.
      for (let i = 0; i < 500 && t.status().capture?.restarts !== 1; i++)
        await new Promise((r) => setTimeout(r, 10))
      assert.equal(t.status().capture?.restarts, 1)
      await send(port, [vxlan(7, 60, 2)])
      await until(() => t.datagrams === 2)
      assert.equal(t.datagrams, 2)
      // Recovered: lastError cleared, and each change logged once.
      assert.equal(t.status().state, 'running')
      assert.equal(t.status().lastError, null)
      assert.deepEqual(
        lines.filter((l) => l[1] === 'capture'),
        [
          ['error', 'capture', 'failed'],
          ['info', 'capture', 'ok'],
        ],
      )
    } finally {
      await t.stop()
    }
  })
})

describe('MirrorTarget, captured outer frames (the capture path, fed directly)', () => {
  /** Ethernet + IPv4 10.9.9.9 → 127.0.0.1 with `l4` after the IP header (total length `ipTotal`). */
  function outer(proto: number, ipTotal: number, l4: Buffer, ihl = 5): Buffer {
    const b = Buffer.alloc(14 + 20 + l4.length)
    b.writeUInt16BE(0x0800, 12)
    b[14] = 0x40 | ihl
    b.writeUInt16BE(ipTotal, 16)
    b[22] = 64
    b[23] = proto
    b.writeUInt32BE(0x0a090909, 26)
    b.writeUInt32BE(0x7f000001, 30)
    l4.copy(b, 34)
    return b
  }

  test('records the inner original length of a cut frame and counts damaged outer frames by reason', async () => {
    const dir = tmp()
    const cfg = defaultTargetConfig(dir)
    cfg.listenHost = '127.0.0.1'
    cfg.listenPort = 0
    const t = await MirrorTarget.start(cfg)
    try {
      const port = t.address.port
      // A VXLAN datagram whose 1000-byte inner frame the capture cut to 40 bytes (orig 1050 on the wire).
      const udp = Buffer.alloc(8)
      udp.writeUInt16BE(65400, 0)
      udp.writeUInt16BE(port, 2)
      udp.writeUInt16BE(8 + 8 + 1000, 4)
      const cut = outer(17, 20 + 8 + 8 + 1000, Buffer.concat([udp, vxlan(42, 40, 77)]))
      const udpShort = Buffer.alloc(4)
      udpShort.writeUInt16BE(port, 2)
      const tcp = Buffer.alloc(20)
      tcp.writeUInt16BE(80, 2)
      tcp[12] = 0x50
      const frames: Array<[Buffer, number]> = [
        [cut, 14 + 20 + 8 + 8 + 1000],
        [outer(17, 60, Buffer.alloc(20), 4), 54], // IPv4 header length 16: damaged
        [outer(17, 24, udpShort), 38], // UDP header cut off: damaged
        [outer(6, 40, tcp), 54], // not VXLAN to our port
      ]
      const bytes = new Uint8Array(4096)
      const b = newFrameBatch(frames.length, bytes)
      let at = 0
      for (const [f, orig] of frames) {
        const i = b.count++
        bytes.set(f, at)
        b.starts[i] = at
        b.ends[i] = at + f.length
        b.origLens[i] = orig
        b.tsSec[i] = 1_700_000_000
        b.linkTypes[i] = LinkType.Ethernet
        at += f.length
      }
      ;(t as unknown as { capture: { onCaptured(b: FrameBatch): void } }).capture.onCaptured(b)
      assert.equal(t.status().capture?.ignored, 1)
      assert.equal(t.malformed.outer_ipv4_bad_header_length, 1)
      assert.equal(t.malformed.outer_udp_truncated, 1)
      const st: TargetStatus = await t.stop()
      assert.equal(st.writeErrors, 0)
      assert.deepEqual(
        st.sessions.map((s) => [s.vni, s.source, s.packets, s.pcapWriteErrors]),
        [[42, '10.9.9.9', 1, 0]],
      )
      const file = st.sessions[0]!.files[0]!.path
      const lens: Array<[number, number]> = []
      for await (const r of readCapture(file))
        for (let i = 0; i < r.count; i++) lens.push([r.ends[i]! - r.starts[i]!, r.origLens[i]!])
      assert.deepEqual(lens, [[40, 1000]])
    } finally {
      await t.stop()
    }
  })
})

describe('MirrorTarget: every pcap in time order (issue 9 item 13)', () => {
  /** Ethernet + IPv4 10.9.9.9 → 127.0.0.1, UDP, with the given id, fragment offset (bytes) and MF flag. */
  function ipFrame(id: number, offset: number, more: boolean, data: Buffer): Buffer {
    const b = Buffer.alloc(14 + 20 + data.length)
    b.writeUInt16BE(0x0800, 12)
    b[14] = 0x45
    b.writeUInt16BE(20 + data.length, 16)
    b.writeUInt16BE(id, 18)
    b.writeUInt16BE((more ? 0x2000 : 0) | (offset >> 3), 20)
    b[22] = 64
    b[23] = 17
    b.writeUInt32BE(0x0a090909, 26)
    b.writeUInt32BE(0x7f000001, 30)
    data.copy(b, 34)
    return b
  }
  function udp(port: number, payload: Buffer): Buffer {
    const h = Buffer.alloc(8)
    h.writeUInt16BE(65400, 0)
    h.writeUInt16BE(port, 2)
    h.writeUInt16BE(8 + payload.length, 4)
    return Buffer.concat([h, payload])
  }
  function batchOf(frames: Array<[Buffer, number]>): FrameBatch {
    const bytes = new Uint8Array(65536)
    const b = newFrameBatch(frames.length, bytes)
    let at = 0
    for (const [f, ms] of frames) {
      const i = b.count++
      bytes.set(f, at)
      b.starts[i] = at
      b.ends[i] = at + f.length
      b.origLens[i] = f.length
      b.tsSec[i] = 1_700_000_000
      b.tsNsec[i] = ms * 1e6
      b.linkTypes[i] = LinkType.Ethernet
      at += f.length
    }
    return b
  }

  test('a datagram completed from fragments goes before the frames captured after its last fragment', async () => {
    const dir = tmp()
    const cfg = defaultTargetConfig(dir)
    cfg.listenHost = '127.0.0.1'
    cfg.listenPort = 0
    const t = await MirrorTarget.start(cfg)
    try {
      const port = t.address.port
      // X: a 1000-byte inner frame (tag 1) in two fragments at 10 ms and 20 ms; Y (tag 2) whole at 30 ms.
      const x = udp(port, vxlan(7, 1000, 1))
      const y = udp(port, vxlan(7, 60, 2))
      const b = batchOf([
        [ipFrame(1, 0, true, x.subarray(0, 504)), 10],
        [ipFrame(1, 504, false, x.subarray(504)), 20],
        [ipFrame(2, 0, false, y), 30],
      ])
      const inner = t as unknown as {
        capture?: { onCaptured(b: FrameBatch): void }
        onCaptured?(b: FrameBatch): void
      }
      if (typeof inner.capture?.onCaptured === 'function') inner.capture.onCaptured(b)
      else inner.onCaptured!(b)
      const st: TargetStatus = await t.stop()
      const times: number[] = []
      const tags: number[] = []
      for await (const r of readCapture(st.sessions[0]!.files[0]!.path)) {
        for (let i = 0; i < r.count; i++) {
          tags.push(r.view.getUint32(r.starts[i]! + 14))
          times.push(r.tsNsec[i]! / 1e6)
        }
      }
      assert.deepEqual(tags, [1, 2])
      assert.deepEqual(times, [20, 30])
    } finally {
      await t.stop()
    }
  })
})

describe('mirrorflow target: cannot do its job', () => {
  test('exits 1 with one structured fatal line when it cannot start', () => {
    const dir = tmp()
    const notADir = join(dir, 'file')
    writeFileSync(notADir, 'x')
    const r = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
        'target',
        '--receive',
        'socket',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        join(notADir, 'sub'),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    assert.equal(r.status, 1, r.stderr)
    const fatal = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; name: string })
      .filter((l) => l.level === 60)
    assert.equal(fatal.length, 1, r.stderr)
    assert.equal(fatal[0]!.name, 'target')
    assert.equal(fatal[0]!.msg, 'cannot start: exiting')
  })
})
