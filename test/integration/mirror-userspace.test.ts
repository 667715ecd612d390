// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// The user-space datapath (tcpdump capture → evaluator → VXLAN over UDP) with real traffic in
// namespaces, including what only it does: truncation to the packet length and load-balancer
// targets (three appliances, both directions of a flow on one appliance).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { AutoDatapath, UserspaceDatapath, type MirrorState } from '../../src/mirror/index.ts'
import { rule } from '../../src/mirror/testing.ts'
import { APPLIANCES, assertMirrored, assertOuterLikeAws, MirrorLab, type SrcPacket } from './mirror-lab.ts'

const V4 = { sourceCidrBlock: '0.0.0.0/0', destinationCidrBlock: '0.0.0.0/0' }
const V6 = { sourceCidrBlock: '::/0', destinationCidrBlock: '::/0' }
/** Capture → worker → socket takes a few ms per packet in immediate mode; leave room for a loaded CI. */
const SETTLE_MS = 800

describe('mirroring: user-space datapath', () => {
  const lab = new MirrorLab('mfmu')
  const dp = new UserspaceDatapath()
  before(async () => {
    await lab.setup()
  })
  after(async () => {
    await dp.remove().catch(() => undefined)
    await lab.cleanup()
  })

  async function scenario(
    name: string,
    state: MirrorState,
    expect: (p: SrcPacket) => number,
    truncate = 0,
  ): Promise<void> {
    await dp.apply(state)
    const cap = await lab.capture(name, () => lab.traffic(), SETTLE_MS)
    await assertMirrored(cap, expect, truncate)
  }

  test('a frame whose mirror copy exceeds the MTU: fragmented outer packet, mirrored exactly once', async () => {
    await lab.assertLargeFramesMirroredOnce((st) => dp.apply(st), 511, SETTLE_MS)
  })

  test('accept-all: every IPv4 and IPv6 packet, both directions', async () => {
    await dp.apply(
      lab.state([
        { n: 1, vni: 111, ingress: [rule(1, V4), rule(2, V6)], egress: [rule(1, V4), rule(2, V6)] },
      ]),
    )
    const cap = await lab.capture('all', () => lab.traffic(), SETTLE_MS)
    await assertMirrored(cap, () => 111)
    assertOuterLikeAws(cap.tgt, false)
    const again = await dp.apply(
      lab.state([
        { n: 1, vni: 111, ingress: [rule(1, V4), rule(2, V6)], egress: [rule(1, V4), rule(2, V6)] },
      ]),
    )
    assert.equal(again.changed, false, 're-applying the same state keeps the worker')
  })

  test('port-range rule and a reject rule before an accept rule', async () => {
    const st = lab.state([
      {
        n: 1,
        vni: 112,
        ingress: [
          rule(10, {
            ...V4,
            ruleAction: 'reject',
            protocol: 17,
            destinationPortRange: { fromPort: 7000, toPort: 7000 },
          }),
          rule(20, { ...V4, protocol: 17 }),
          rule(30, { ...V4, protocol: 6, destinationPortRange: { fromPort: 8000, toPort: 8100 } }),
        ],
      },
    ])
    await scenario('rules', st, (p) =>
      p.dir === 'ingress' &&
      p.family === 4 &&
      ((p.proto === 17 && p.dport !== 7000) || (p.proto === 6 && p.dport >= 8000 && p.dport <= 8100))
        ? 112
        : 0,
    )
  })

  test('never mirrored, even by accept-all: instance metadata and DHCP (the rest is)', async () => {
    await lab.assertNeverMirrored((st) => dp.apply(st), 115, SETTLE_MS)
  })

  test('two sessions: TCP to session 1, the rest of IPv4 to session 2, once', async () => {
    await lab.assertTwoSessions((st) => dp.apply(st), { n: 3, vni: 211 }, { n: 7, vni: 212 }, SETTLE_MS)
  })

  test('truncating session: packet length 60 cuts every inner frame to 60 bytes', async () => {
    const st = lab.state([
      { n: 1, vni: 113, ingress: [rule(1, V4)], egress: [rule(1, V4)], packetLength: 60 },
    ])
    await scenario('trunc', st, (p) => (p.family === 4 ? 113 : 0), 60)
  })

  test('NLB-style target: three appliances, both directions of a flow on one appliance', async () => {
    const all = [rule(1, V4)]
    const st = lab.state([{ n: 1, vni: 301, ingress: all, egress: all, nlb: true }])
    await dp.apply(st)
    const cap = await lab.capture(
      'nlb',
      async () => {
        // More flows than appliances, so the spread is visible.
        for (let i = 0; i < 8; i++) await lab.flow(i)
      },
      SETTLE_MS,
    )
    await assertMirrored(cap, (p) => (p.family === 4 ? 301 : 0))
    const byFlow = new Map<string, Set<string>>()
    for (const t of cap.tgt) {
      const p = t.innerPacket
      const k = [p.sport, p.dport].sort().join('-') + `/${p.proto}`
      byFlow.set(k, (byFlow.get(k) ?? new Set()).add(t.outerDst))
    }
    assert.ok(byFlow.size >= 16)
    for (const [flow, dsts] of byFlow)
      assert.equal(dsts.size, 1, `flow ${flow} went to ${[...dsts].join(', ')}`)
    const used = new Set(cap.tgt.map((t) => t.outerDst))
    for (const d of used) assert.ok(APPLIANCES.includes(d))
    assert.ok(used.size >= 2, `flows spread over appliances (${[...used].join(', ')})`)
  })

  test('auto datapath: kernel for a plain session, user space for a truncating one', async () => {
    await dp.remove()
    const auto = new AutoDatapath({ naming: { table: `mirrorflow_${lab.lab.prefix}`, devicePrefix: 'mfv' } })
    try {
      const plain = lab.state([{ n: 1, vni: 121, ingress: [rule(1, V4)] }])
      const r1 = await auto.apply(plain)
      assert.deepEqual([r1.kernelSources, r1.userspaceSources], [['eni-src'], []])
      const trunc = lab.state([{ n: 1, vni: 122, ingress: [rule(1, V4)], packetLength: 64 }])
      const r2 = await auto.apply(trunc)
      assert.deepEqual([r2.kernelSources, r2.userspaceSources], [[], ['eni-src']])
      const cap = await lab.capture('auto', () => lab.traffic(), SETTLE_MS)
      await assertMirrored(cap, (p) => (p.family === 4 && p.dir === 'ingress' ? 122 : 0), 64)
    } finally {
      await auto.remove()
    }
  })
})
