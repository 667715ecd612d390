// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// The kernel datapath (nftables netdev ingress/egress + vxlan devices) with real traffic in
// namespaces: the target must see exactly what the filters accept, with the right VNI, once.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { NftablesDatapath, type MirrorState } from '../../src/mirror/index.ts'
import { rule } from '../../src/mirror/testing.ts'
import { assertMirrored, assertOuterLikeAws, MirrorLab, type SrcPacket } from './mirror-lab.ts'

const V4 = { sourceCidrBlock: '0.0.0.0/0', destinationCidrBlock: '0.0.0.0/0' }
const V6 = { sourceCidrBlock: '::/0', destinationCidrBlock: '::/0' }

describe('mirroring: kernel datapath (nftables)', () => {
  const lab = new MirrorLab('mfmk')
  const naming = { table: `mirrorflow_${lab.lab.prefix}`, devicePrefix: 'mfv' }
  const dp = new NftablesDatapath({ naming })
  before(async () => {
    await lab.setup()
  })
  after(async () => {
    await dp.remove().catch(() => undefined)
    await lab.cleanup()
  })

  async function scenario(name: string, state: MirrorState, expect: (p: SrcPacket) => number): Promise<void> {
    await dp.apply(state)
    const cap = await lab.capture(name, () => lab.traffic())
    await assertMirrored(cap, expect)
  }

  test('accept-all: every IPv4 and IPv6 packet, both directions, VNI 101, outer headers as AWS', async () => {
    await dp.apply(
      lab.state([
        { n: 1, vni: 101, ingress: [rule(1, V4), rule(2, V6)], egress: [rule(1, V4), rule(2, V6)] },
      ]),
    )
    const cap = await lab.capture('all', () => lab.traffic())
    await assertMirrored(cap, () => 101)
    assertOuterLikeAws(cap.tgt, true)
  })

  test('port-range rule: ingress TCP to 8000-8100 only', async () => {
    const st = lab.state([
      {
        n: 1,
        vni: 102,
        ingress: [rule(10, { ...V4, protocol: 6, destinationPortRange: { fromPort: 8000, toPort: 8100 } })],
      },
    ])
    await scenario('ports', st, (p) =>
      p.dir === 'ingress' && p.family === 4 && p.proto === 6 && p.dport >= 8000 && p.dport <= 8100 ? 102 : 0,
    )
  })

  test('reject rule before accept rule: UDP 7000 rejected, other UDP accepted', async () => {
    const st = lab.state([
      {
        n: 1,
        vni: 103,
        ingress: [
          rule(20, { ...V4, protocol: 17 }),
          rule(10, {
            ...V4,
            ruleAction: 'reject',
            protocol: 17,
            destinationPortRange: { fromPort: 7000, toPort: 7000 },
          }),
        ],
      },
    ])
    await scenario('reject', st, (p) =>
      p.dir === 'ingress' && p.family === 4 && p.proto === 17 && p.dport !== 7000 ? 103 : 0,
    )
  })

  test('never mirrored, even by accept-all: instance metadata and DHCP (the rest is)', async () => {
    await lab.assertNeverMirrored((st) => dp.apply(st), 105)
  })

  test('two sessions: TCP to session 1 (VNI 201), the rest of IPv4 to session 2 (VNI 202), once', async () => {
    await lab.assertTwoSessions((st) => dp.apply(st), { n: 1, vni: 201 }, { n: 2, vni: 202 })
  })

  test('a frame whose mirror copy exceeds the MTU: fragmented outer packet, mirrored exactly once', async () => {
    await lab.assertLargeFramesMirroredOnce((st) => dp.apply(st), 501, 300)
  })

  test('re-applying the same state changes nothing; removing a session removes its chain and device', async () => {
    const all = [rule(1, V4)]
    const st = lab.state([
      { n: 1, vni: 401, ingress: all },
      { n: 2, vni: 402, egress: all },
    ])
    await dp.apply(st)
    const again = await dp.apply(st)
    assert.equal(again.changed, false)
    const listing = async () =>
      (await lab.lab.exec(lab.src, ['nft', 'list', 'table', 'netdev', naming.table])).stdout
    const devices = async () =>
      (await lab.lab.exec(lab.src, ['ip', '-br', 'link', 'show', 'type', 'vxlan'])).stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
    assert.match(await listing(), /chain s2_s0_out/)
    assert.equal((await devices()).length, 2)
    const res = await dp.apply({ ...st, sessions: st.sessions.filter((s) => s.sessionNumber === 1) })
    assert.equal(res.changed, true)
    assert.doesNotMatch(await listing(), /chain s2_s0/)
    assert.equal((await devices()).length, 1)
    await dp.remove()
    assert.equal((await devices()).length, 0)
    await assert.rejects(listing())
  })
})
