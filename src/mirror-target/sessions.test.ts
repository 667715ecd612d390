// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AllowList, parseVniRanges } from './allow-list.ts'
import type { PcapRing } from './pcap-ring.ts'
import { SessionTable, type TargetSession } from './sessions.ts'

function table(max: number, probation = 2, idle = 300, allow = new AllowList([], [])) {
  const evicted: string[] = []
  const t = new SessionTable(
    max,
    probation,
    idle,
    allow,
    (index, generation, vni, source, nowSec) => ({
      index,
      generation,
      vni,
      source,
      packets: 0,
      bytes: 0,
      firstSeen: nowSec,
      lastSeen: nowSec,
      established: false,
      ring: null as unknown as PcapRing,
    }),
    (s) => evicted.push(`${s.vni}/${s.source}`),
  )
  /** A packet of (vni, source) at `sec`, as the demultiplexer counts it; null if refused. */
  const packet = (vni: number, source: string, sec: number): TargetSession | null => {
    const s = t.lookup(vni, source, sec)
    if (s !== null) {
      s.packets++
      s.lastSeen = sec
    }
    t.release()
    return s
  }
  return { t, evicted, packet }
}

describe('SessionTable', () => {
  test('one session per (VNI, source); the same pair finds the same session', () => {
    const { t, packet } = table(8)
    const a = packet(7, '10.0.0.1', 100)
    assert.equal(packet(7, '10.0.0.1', 100), a)
    assert.notEqual(packet(8, '10.0.0.1', 100), a)
    assert.notEqual(packet(7, '10.0.0.2', 100), a)
    assert.equal(t.size, 3)
    assert.equal(t.counters.created, 3)
  })

  test('a flood of pairs spoofed once never evicts a session that is sending, on probation or established', () => {
    const { t, evicted, packet } = table(64)
    // An established session (traffic over 3 s) and one on probation that keeps sending.
    for (let s = 100; s <= 103; s++) packet(1, '10.0.0.1', s)
    t.tick()
    assert.equal(t.establishedCount, 1)
    let sec = 103
    for (let i = 0; i < 20_000; i++) {
      if (i % 50 === 0) {
        // The legitimate probation session sends a packet every 50 spoofed datagrams.
        assert.notEqual(packet(2, '10.0.0.2', sec), null)
        assert.notEqual(packet(1, '10.0.0.1', sec), null)
      }
      packet(1000 + i, `192.0.2.${i % 250}`, sec)
      if (i % 5000 === 4999) sec++
    }
    assert.equal(evicted.includes('1/10.0.0.1'), false)
    assert.equal(evicted.includes('2/10.0.0.2'), false)
    assert.equal(t.size, 64)
    assert.equal(t.counters.evictedProbation, 20_000 + 2 - 64)
    assert.equal(t.counters.refusedFull, 0)
  })

  test('a session past probation (traffic spanning the probation time) becomes established', () => {
    const { t, packet } = table(8, 2)
    const s = packet(1, '10.0.0.1', 100)!
    packet(1, '10.0.0.1', 101)
    t.tick()
    assert.equal(s.established, false)
    packet(1, '10.0.0.1', 102)
    t.tick()
    assert.equal(s.established, true)
  })

  test('with every place held by established sessions, new pairs are refused until one is idle long enough', () => {
    const { t, evicted, packet } = table(2, 1, 300)
    for (const src of ['10.0.0.1', '10.0.0.2']) {
      packet(1, src, 100)
      packet(1, src, 101)
    }
    t.tick()
    assert.equal(t.establishedCount, 2)
    assert.equal(packet(9, '203.0.113.9', 200), null)
    assert.equal(t.counters.refusedFull, 1)
    packet(1, '10.0.0.2', 390) // 10.0.0.1 stays idle since 101
    assert.equal(packet(9, '203.0.113.9', 400), null) // 299 s idle: not yet
    const s = packet(9, '203.0.113.9', 401) // 300 s idle: 10.0.0.1 gives way
    assert.notEqual(s, null)
    assert.deepEqual(evicted, ['1/10.0.0.1'])
    assert.equal(t.counters.evictedIdle, 1)
    assert.equal(t.counters.refusedFull, 2)
  })

  test('a slot freed during a batch is reused only after it, with a new generation', () => {
    const { t } = table(1, 2)
    const a = t.lookup(1, '10.0.0.1', 100)!
    a.packets = 1
    const b = t.lookup(2, '10.0.0.2', 100)! // evicts a (once spoofed, second chance spent)
    assert.notEqual(b.index, a.index)
    t.release()
    b.packets = 0
    const c = t.lookup(3, '10.0.0.3', 100)! // evicts b (no traffic): a's slot is free again
    assert.equal(c.index, a.index)
    assert.equal(c.generation, a.generation + 1)
    assert.equal(t.at(a.index), c)
  })

  test('allow-lists: pairs outside them are refused and counted, and make no session', () => {
    const allow = new AllowList(['10.0.0.0/24', '2001:db8::/32'], parseVniRanges('7,100-199'))
    const { t, packet } = table(8, 2, 300, allow)
    assert.notEqual(packet(7, '10.0.0.9', 1), null)
    assert.notEqual(packet(150, '2001:db8::1', 1), null)
    assert.equal(packet(8, '10.0.0.9', 1), null)
    assert.equal(packet(7, '10.0.1.9', 1), null)
    assert.equal(packet(7, '2001:db9::1', 1), null)
    assert.equal(t.size, 2)
    assert.deepEqual([t.counters.refusedVni, t.counters.refusedSource], [1, 2])
  })

  test('parseVniRanges', () => {
    assert.deepEqual(parseVniRanges('1,5-9, 16777215'), [
      [1, 1],
      [5, 9],
      [16777215, 16777215],
    ])
    for (const bad of ['', 'x', '9-5', '16777216', '1-', '-1'])
      assert.throws(() => parseVniRanges(bad), { code: 'MF_TARGET_CONFIG' }, bad)
  })
})
