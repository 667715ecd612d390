// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Direction, MirrorEvaluator } from './evaluator.ts'
import { hasCode } from '../errors.ts'
import { acceptAll, buildFrame, decodeBuilt, rule, simpleState, type FrameSpec } from './testing.ts'
import type { MirrorState } from './model.ts'

const SRC_MAC = '02:00:00:00:00:01'
const OTHER_MAC = '02:00:00:00:00:02'

/** egress: sent by the source (10.0.0.1 → peer); ingress: received by it. */
function egress(f: FrameSpec = {}): FrameSpec {
  return { srcMac: SRC_MAC, dstMac: OTHER_MAC, src: '10.0.0.1', dst: '10.1.0.5', ...f }
}
function ingress(f: FrameSpec = {}): FrameSpec {
  return { srcMac: OTHER_MAC, dstMac: SRC_MAC, src: '10.1.0.5', dst: '10.0.0.1', ...f }
}

/** The session number that mirrors the frame, or 0. */
function verdict(state: MirrorState, f: FrameSpec): number {
  const ev = new MirrorEvaluator(state)
  const b = buildFrame(f)
  const m = decodeBuilt(b)
  const d = ev.directionOf(0, m, b)
  if (d < 0) return 0
  const k = ev.evaluate(0, d, m, b)
  return k < 0 ? 0 : ev.sessions[k]!.sessionNumber
}

describe('MirrorEvaluator: direction', () => {
  const ev = new MirrorEvaluator(simpleState([{ number: 1, ingress: acceptAll(), egress: acceptAll() }]))
  const cases: { name: string; f: FrameSpec; want: number }[] = [
    { name: 'sent by its MAC is egress', f: egress(), want: Direction.Egress },
    { name: 'to its MAC is ingress', f: ingress(), want: Direction.Ingress },
    {
      name: 'broadcast is ingress',
      f: { ...ingress(), dstMac: 'ff:ff:ff:ff:ff:ff' },
      want: Direction.Ingress,
    },
    {
      name: 'between two other MACs: not its frame',
      f: { srcMac: OTHER_MAC, dstMac: '02:00:00:00:00:03' },
      want: -1,
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const b = buildFrame(c.f)
      assert.equal(ev.directionOf(0, decodeBuilt(b), b), c.want)
    })
  }
  test('without a MAC, addresses decide', () => {
    const st = simpleState([{ number: 1, ingress: acceptAll() }])
    st.sources[0]!.mac = ''
    const e = new MirrorEvaluator(st)
    const out = buildFrame(egress({ srcMac: OTHER_MAC }))
    const inn = buildFrame(ingress({ dstMac: OTHER_MAC }))
    const none = buildFrame({ src: '10.7.0.1', dst: '10.7.0.2' })
    assert.equal(e.directionOf(0, decodeBuilt(out), out), Direction.Egress)
    assert.equal(e.directionOf(0, decodeBuilt(inn), inn), Direction.Ingress)
    assert.equal(e.directionOf(0, decodeBuilt(none), none), -1)
  })
})

describe('MirrorEvaluator: rules of one session', () => {
  type Case = {
    name: string
    ingress?: ReturnType<typeof rule>[]
    egress?: ReturnType<typeof rule>[]
    f: FrameSpec
    want: number
  }
  const cases: Case[] = [
    { name: 'no rules: nothing mirrored', f: ingress(), want: 0 },
    { name: 'accept-all ingress mirrors ingress', ingress: acceptAll(), f: ingress(), want: 1 },
    { name: 'ingress rules do not mirror egress', ingress: acceptAll(), f: egress(), want: 0 },
    { name: 'egress rules mirror egress', egress: acceptAll(), f: egress(), want: 1 },
    {
      name: 'lowest rule number decides: reject 10 before accept 20',
      ingress: [rule(20), rule(10, { ruleAction: 'reject' })],
      f: ingress(),
      want: 0,
    },
    {
      name: 'accept 10 before reject 20',
      ingress: [rule(20, { ruleAction: 'reject' }), rule(10)],
      f: ingress(),
      want: 1,
    },
    {
      name: 'non-matching reject is skipped',
      ingress: [rule(10, { ruleAction: 'reject', protocol: 17 }), rule(20)],
      f: ingress(),
      want: 1,
    },
    { name: 'protocol match', ingress: [rule(1, { protocol: 6 })], f: ingress({ proto: 6 }), want: 1 },
    { name: 'protocol mismatch', ingress: [rule(1, { protocol: 17 })], f: ingress({ proto: 6 }), want: 0 },
    { name: 'ICMP by protocol 1', ingress: [rule(1, { protocol: 1 })], f: ingress({ proto: 1 }), want: 1 },
    {
      name: 'destination port range: low edge',
      ingress: [rule(1, { protocol: 6, destinationPortRange: { fromPort: 80, toPort: 90 } })],
      f: ingress({ dport: 80 }),
      want: 1,
    },
    {
      name: 'destination port range: high edge',
      ingress: [rule(1, { protocol: 6, destinationPortRange: { fromPort: 80, toPort: 90 } })],
      f: ingress({ dport: 90 }),
      want: 1,
    },
    {
      name: 'destination port range: just outside',
      ingress: [rule(1, { protocol: 6, destinationPortRange: { fromPort: 80, toPort: 90 } })],
      f: ingress({ dport: 91 }),
      want: 0,
    },
    {
      name: 'destination port range: below',
      ingress: [rule(1, { protocol: 6, destinationPortRange: { fromPort: 80, toPort: 90 } })],
      f: ingress({ dport: 79 }),
      want: 0,
    },
    {
      name: 'source port range',
      ingress: [rule(1, { protocol: 17, sourcePortRange: { fromPort: 1024, toPort: 65535 } })],
      f: ingress({ proto: 17, sport: 1024 }),
      want: 1,
    },
    {
      name: 'source port range miss',
      ingress: [rule(1, { protocol: 17, sourcePortRange: { fromPort: 1024, toPort: 65535 } })],
      f: ingress({ proto: 17, sport: 1023 }),
      want: 0,
    },
    {
      name: 'port 0 range',
      ingress: [rule(1, { protocol: 17, destinationPortRange: { fromPort: 0, toPort: 0 } })],
      f: ingress({ proto: 17, dport: 0 }),
      want: 1,
    },
    {
      name: 'later fragment never matches a port range',
      ingress: [rule(1, { protocol: 17, destinationPortRange: { fromPort: 0, toPort: 65535 } })],
      f: ingress({ proto: 17, fragOffset: 10, payload: 16 }),
      want: 0,
    },
    {
      name: 'later fragment matches a rule without ports',
      ingress: [rule(1, { protocol: 17 })],
      f: ingress({ proto: 17, fragOffset: 10, payload: 16 }),
      want: 1,
    },
    {
      name: 'source CIDR match (/24)',
      ingress: [rule(1, { sourceCidrBlock: '10.1.0.0/24' })],
      f: ingress(),
      want: 1,
    },
    {
      name: 'source CIDR miss',
      ingress: [rule(1, { sourceCidrBlock: '10.2.0.0/16' })],
      f: ingress(),
      want: 0,
    },
    {
      name: 'destination /32 match',
      ingress: [rule(1, { destinationCidrBlock: '10.0.0.1/32' })],
      f: ingress(),
      want: 1,
    },
    {
      name: 'destination /32 miss',
      ingress: [rule(1, { destinationCidrBlock: '10.0.0.3/32' })],
      f: ingress(),
      want: 0,
    },
    {
      name: 'CIDR with host bits is normalised',
      ingress: [rule(1, { sourceCidrBlock: '10.1.0.77/24' })],
      f: ingress(),
      want: 1,
    },
    {
      name: 'direction does not swap CIDRs',
      egress: [rule(1, { sourceCidrBlock: '10.1.0.0/24' })],
      f: egress(),
      want: 0,
    },
    {
      name: 'IPv4 rule never matches IPv6',
      ingress: [rule(1)],
      f: ingress({ src: 'fd00::5', dst: 'fd00::1' }),
      want: 0,
    },
    {
      name: 'IPv6 rule ::/0',
      ingress: [rule(1, { sourceCidrBlock: '::/0', destinationCidrBlock: '::/0' })],
      f: ingress({ src: 'fd00::5', dst: 'fd00::1' }),
      want: 1,
    },
    {
      name: 'IPv6 /64 match',
      ingress: [rule(1, { sourceCidrBlock: 'fd00:0:0:0::/64', destinationCidrBlock: '::/0' })],
      f: ingress({ src: 'fd00::5', dst: 'fd00::1' }),
      want: 1,
    },
    {
      name: 'IPv6 /127 miss',
      ingress: [rule(1, { sourceCidrBlock: 'fd00::6/127', destinationCidrBlock: '::/0' })],
      f: ingress({ src: 'fd00::5', dst: 'fd00::1' }),
      want: 0,
    },
    {
      name: 'IPv6 /127 hit',
      ingress: [rule(1, { sourceCidrBlock: 'fd00::4/127', destinationCidrBlock: '::/0' })],
      f: ingress({ src: 'fd00::5', dst: 'fd00::1' }),
      want: 1,
    },
    {
      name: 'IPv6 TCP port',
      ingress: [
        rule(1, {
          protocol: 6,
          sourceCidrBlock: '::/0',
          destinationCidrBlock: '::/0',
          destinationPortRange: { fromPort: 443, toPort: 443 },
        }),
      ],
      f: ingress({ src: 'fd00::5', dst: 'fd00::1', dport: 443 }),
      want: 1,
    },
    { name: 'ARP is never mirrored', ingress: acceptAll(), f: { kind: 'arp', srcMac: OTHER_MAC }, want: 0 },
    {
      name: 'DHCP is never mirrored',
      ingress: acceptAll(),
      f: ingress({ proto: 17, sport: 67, dport: 68 }),
      want: 0,
    },
    {
      name: 'DHCPv6 is never mirrored',
      ingress: [rule(1, { sourceCidrBlock: '::/0', destinationCidrBlock: '::/0' })],
      f: ingress({ src: 'fd00::5', dst: 'fd00::1', proto: 17, sport: 547, dport: 546 }),
      want: 0,
    },
    {
      name: 'UDP 67 to another port is mirrored',
      ingress: acceptAll(),
      f: ingress({ proto: 17, sport: 67, dport: 5353 }),
      want: 1,
    },
    {
      name: 'instance metadata is never mirrored',
      egress: acceptAll(),
      f: egress({ dst: '169.254.169.254' }),
      want: 0,
    },
    {
      name: 'Amazon Time Sync is never mirrored',
      egress: acceptAll(),
      f: egress({ dst: '169.254.169.123', proto: 17, dport: 123 }),
      want: 0,
    },
    {
      name: 'public NTP is mirrored (as observed)',
      egress: acceptAll(),
      f: egress({ dst: '78.46.93.39', proto: 17, dport: 123 }),
      want: 1,
    },
    {
      name: 'mirror traffic to the target is never mirrored',
      egress: acceptAll(),
      f: egress({ dst: '10.9.0.9', proto: 17, dport: 4789 }),
      want: 0,
    },
    {
      name: 'VXLAN to another host is mirrored',
      egress: acceptAll(),
      f: egress({ dst: '10.9.0.8', proto: 17, dport: 4789 }),
      want: 1,
    },
    {
      name: 'Amazon DNS without the service: not mirrored',
      egress: acceptAll(),
      f: egress({ dst: '10.0.0.2', proto: 17, dport: 53 }),
      want: 0,
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(
        verdict(simpleState([{ number: 1, ingress: c.ingress ?? [], egress: c.egress ?? [] }]), c.f),
        c.want,
      )
    })
  }
  test('Amazon DNS with the service: mirrored whatever the rules, both directions', () => {
    const st = simpleState([{ number: 1, dns: true }])
    assert.equal(verdict(st, egress({ dst: '10.0.0.2', proto: 17, dport: 53 })), 1)
    assert.equal(verdict(st, ingress({ src: '10.0.0.2', proto: 17, sport: 53 })), 1)
    assert.equal(verdict(st, egress({ dst: '10.1.0.5' })), 0)
  })
})

describe('MirrorEvaluator: fragments of mirror traffic (outer packet above the MTU)', () => {
  // Accept-all in both directions, with an IPv6 target next to the IPv4 one (10.9.0.9).
  const st = simpleState([{ number: 1, ingress: acceptAll(), egress: acceptAll() }])
  st.targets.push({ trafficMirrorTargetId: 'tmt-6', type: 'network-interface', addresses: ['fd00:9::9'] })
  const cases: { name: string; f: FrameSpec; want: number }[] = [
    {
      name: 'IPv4 later UDP fragment to the target (no UDP header) is never mirrored',
      f: egress({ dst: '10.9.0.9', proto: 17, fragOffset: 185, payload: 48 }),
      want: 0,
    },
    {
      name: 'IPv4 first fragment (MF, offset 0) to the target: its UDP 4789 header excludes it',
      f: egress({ dst: '10.9.0.9', proto: 17, dport: 4789, moreFragments: true, payload: 1472 }),
      want: 0,
    },
    {
      name: 'IPv4 later UDP fragment to the target, seen as ingress, is never mirrored',
      f: ingress({ src: '10.0.0.7', dst: '10.9.0.9', proto: 17, fragOffset: 185, payload: 48 }),
      want: 0,
    },
    {
      name: 'IPv6 later UDP fragment to the target is never mirrored',
      f: egress({ src: 'fd00::1', dst: 'fd00:9::9', proto: 17, fragOffset: 181, payload: 48 }),
      want: 0,
    },
    {
      name: 'IPv6 first fragment to the target: UDP 4789 excludes it',
      f: egress({
        src: 'fd00::1',
        dst: 'fd00:9::9',
        proto: 17,
        dport: 4789,
        moreFragments: true,
        payload: 1440,
      }),
      want: 0,
    },
    {
      name: 'IPv4 later UDP fragment to another host is mirrored',
      f: egress({ dst: '10.9.0.8', proto: 17, fragOffset: 185, payload: 48 }),
      want: 1,
    },
    {
      name: 'IPv6 later UDP fragment to another host is mirrored',
      f: egress({ src: 'fd00::1', dst: 'fd00:9::8', proto: 17, fragOffset: 181, payload: 48 }),
      want: 1,
    },
    {
      name: 'IPv4 later TCP fragment to the target is mirrored (mirror traffic is UDP)',
      f: egress({ dst: '10.9.0.9', proto: 6, fragOffset: 185, payload: 48 }),
      want: 1,
    },
    {
      name: 'IPv4 first fragment of other UDP to the target is mirrored',
      f: egress({ dst: '10.9.0.9', proto: 17, dport: 53, moreFragments: true, payload: 1472 }),
      want: 1,
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const b = buildFrame(c.f)
      const m = decodeBuilt(b)
      assert.equal(m.isFragment, 1, 'the frame is a fragment')
      assert.equal(verdict(st, c.f), c.want)
    })
  }
})

describe('MirrorEvaluator: sessions', () => {
  test('lowest session number wins, packet mirrored once', () => {
    const st = simpleState([
      { number: 2, ingress: acceptAll() },
      { number: 1, ingress: acceptAll() },
    ])
    assert.equal(verdict(st, ingress()), 1)
  })
  test('HTTP to session 1, other TCP to session 2', () => {
    const st = simpleState([
      { number: 1, ingress: [rule(10, { protocol: 6, destinationPortRange: { fromPort: 80, toPort: 80 } })] },
      { number: 2, ingress: [rule(10, { protocol: 6 })] },
    ])
    assert.equal(verdict(st, ingress({ dport: 80 })), 1)
    assert.equal(verdict(st, ingress({ dport: 22 })), 2)
    assert.equal(verdict(st, ingress({ proto: 17, dport: 80 })), 0)
  })
  test('a reject in session 1 lets session 2 mirror (UNCONFIRMED, spec §7.5)', () => {
    const st = simpleState([
      { number: 1, ingress: [rule(1, { ruleAction: 'reject' }), rule(2)] },
      { number: 5, ingress: acceptAll() },
    ])
    assert.equal(verdict(st, ingress()), 5)
  })
  test('Amazon DNS goes to the first session with the service', () => {
    const st = simpleState([
      { number: 1, ingress: acceptAll(), egress: acceptAll() },
      { number: 2, dns: true },
    ])
    assert.equal(verdict(st, egress({ dst: '10.0.0.2', proto: 17, dport: 53 })), 2)
    assert.equal(verdict(st, egress()), 1)
  })
  test('property: the verdict equals a direct reading of the spec pseudocode', () => {
    const ruleArb = fc.record({
      n: fc.integer({ min: 1, max: 20 }),
      accept: fc.boolean(),
      proto: fc.constantFrom(undefined, 6, 17, 1),
      src: fc.constantFrom('0.0.0.0/0', '10.1.0.0/16', '10.0.0.0/24', '10.1.0.5/32'),
      dst: fc.constantFrom('0.0.0.0/0', '10.0.0.0/8', '10.0.0.1/32', '10.1.0.0/16'),
      dp: fc.option(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 })), {
        nil: undefined,
      }),
    })
    const sessArb = fc.record({
      number: fc.integer({ min: 1, max: 5 }),
      rules: fc.uniqueArray(ruleArb, { selector: (r) => r.n, maxLength: 5 }),
    })
    const pktArb = fc.record({
      out: fc.boolean(),
      proto: fc.constantFrom(6, 17, 1),
      port: fc.integer({ min: 0, max: 100 }),
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(sessArb, { selector: (s) => s.number, minLength: 1, maxLength: 3 }),
        pktArb,
        (sessions, p) => {
          const rules = (s: (typeof sessions)[number]) =>
            s.rules.map((r) => {
              const ports = r.dp !== undefined && (r.proto === 6 || r.proto === 17)
              return rule(r.n, {
                ruleAction: r.accept ? 'accept' : 'reject',
                protocol: r.proto,
                sourceCidrBlock: r.src,
                destinationCidrBlock: r.dst,
                destinationPortRange: ports
                  ? { fromPort: Math.min(...r.dp!), toPort: Math.max(...r.dp!) }
                  : undefined,
              })
            })
          const st = simpleState(
            sessions.map((s) => ({ number: s.number, ingress: rules(s), egress: rules(s) })),
          )
          const f = p.out
            ? egress({ proto: p.proto, dport: p.port })
            : ingress({ proto: p.proto, dport: p.port })
          // Reference: the pseudocode of spec §1.4.2, written the slow, obvious way.
          const inCidr = (ip: string, cidr: string): boolean => {
            const [net, len] = cidr.split('/') as [string, string]
            const toN = (s: string) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0)
            const bits = Number(len)
            if (bits === 0) return true
            const div = 2 ** (32 - bits)
            return Math.floor(toN(ip) / div) === Math.floor(toN(net) / div)
          }
          let want = 0
          for (const s of [...sessions].sort((a, b) => a.number - b.number)) {
            let decided = false
            for (const r of [...s.rules].sort((a, b) => a.n - b.n)) {
              const ports = r.dp !== undefined && (r.proto === 6 || r.proto === 17)
              const dport = p.proto === 1 ? -1 : p.port
              const match =
                inCidr(f.src!, r.src) &&
                inCidr(f.dst!, r.dst) &&
                (r.proto === undefined || r.proto === p.proto) &&
                (!ports || (dport >= Math.min(...r.dp!) && dport <= Math.max(...r.dp!)))
              if (match) {
                if (r.accept) want = s.number
                decided = true
                break
              }
            }
            if (decided && want !== 0) break
          }
          assert.equal(verdict(st, f), want)
        },
      ),
      { seed: Number(process.env.FC_SEED ?? 1), numRuns: 300 },
    )
  })
})

describe('validation', () => {
  const bad: { name: string; mutate: (s: MirrorState) => void }[] = [
    { name: 'session number 0', mutate: (s) => (s.sessions[0]!.sessionNumber = 0) },
    { name: 'session number 32767', mutate: (s) => (s.sessions[0]!.sessionNumber = 32767) },
    { name: 'packet length 8501', mutate: (s) => (s.sessions[0]!.packetLength = 8501) },
    { name: 'VNI 2^24', mutate: (s) => (s.sessions[0]!.virtualNetworkId = 0x1000000) },
    {
      name: 'port range without TCP/UDP',
      mutate: (s) =>
        s.filters[0]!.ingressFilterRules.push(rule(7, { destinationPortRange: { fromPort: 1, toPort: 2 } })),
    },
    {
      name: 'mixed CIDR families',
      mutate: (s) => s.filters[0]!.ingressFilterRules.push(rule(7, { destinationCidrBlock: '::/0' })),
    },
    { name: 'duplicate rule number', mutate: (s) => s.filters[0]!.ingressFilterRules.push(rule(100)) },
    {
      name: 'bad CIDR',
      mutate: (s) => s.filters[0]!.ingressFilterRules.push(rule(7, { sourceCidrBlock: '10.0.0.0/33' })),
    },
    { name: 'unknown target', mutate: (s) => (s.sessions[0]!.trafficMirrorTargetId = 'tmt-x') },
  ]
  for (const c of bad) {
    test(`rejects ${c.name}`, () => {
      const st = simpleState([{ number: 1, ingress: acceptAll() }])
      c.mutate(st)
      assert.throws(
        () => new MirrorEvaluator(st),
        (e: unknown) => hasCode(e, 'MF_MIRROR_CONFIG'),
      )
    })
  }
  test('rejects two sessions with one number on one source', () => {
    assert.throws(
      () => new MirrorEvaluator(simpleState([{ number: 3 }, { number: 3 }])),
      (e: unknown) => hasCode(e, 'MF_MIRROR_CONFIG'),
    )
  })
})
