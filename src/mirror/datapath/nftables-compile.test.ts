// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compileNftables, DEFAULT_NFT_NAMING, kernelCapable, ruleMatch } from './nftables-compile.ts'
import { acceptAll, rule, simpleState } from '../testing.ts'
import type { MirrorState } from '../model.ts'

function withIf(st: MirrorState): MirrorState {
  st.sources[0]!.ifname = 'eth0'
  return st
}

/** The lines of one chain, trimmed. */
function chain(ruleset: string, name: string): string[] {
  const m = new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(ruleset)
  assert.ok(m, `chain ${name} exists`)
  return m[1]!.split('\n').map((l) => l.trim())
}

describe('ruleMatch', () => {
  const cases = [
    { name: 'all IPv4', r: rule(1), want: 'meta protocol ip' },
    {
      name: 'all IPv6',
      r: rule(1, { sourceCidrBlock: '::/0', destinationCidrBlock: '::/0' }),
      want: 'meta protocol ip6',
    },
    {
      name: 'CIDRs',
      r: rule(1, { sourceCidrBlock: '10.1.2.3/16', destinationCidrBlock: '10.0.0.1/32' }),
      want: 'meta protocol ip ip saddr 10.1.0.0/16 ip daddr 10.0.0.1/32',
    },
    {
      name: 'TCP ports',
      r: rule(1, {
        protocol: 6,
        sourcePortRange: { fromPort: 1024, toPort: 65535 },
        destinationPortRange: { fromPort: 443, toPort: 443 },
      }),
      want: 'meta protocol ip meta l4proto 6 th sport 1024-65535 th dport 443',
    },
    {
      name: 'IPv6 prefix',
      r: rule(1, { sourceCidrBlock: 'fd00::/8', destinationCidrBlock: '::/0', protocol: 58 }),
      want: 'meta protocol ip6 ip6 saddr fd00::/8 meta l4proto 58',
    },
  ]
  for (const c of cases) test(c.name, () => assert.equal(ruleMatch(c.r), c.want))
})

describe('compileNftables', () => {
  const st = withIf(
    simpleState([
      { number: 2, ingress: acceptAll(), dns: true },
      {
        number: 1,
        ingress: [
          rule(20),
          rule(10, { ruleAction: 'reject', protocol: 6, destinationPortRange: { fromPort: 22, toPort: 22 } }),
        ],
        egress: acceptAll(),
      },
    ]),
  )
  const c = compileNftables(st, st.sources)

  test('one netdev table, named with the prefix, with the content hash in its comment', () => {
    assert.match(c.ruleset, /^table netdev mirrorflow \{\n\tcomment "mirrorflow:[0-9a-f]{16}"/)
    assert.ok(c.ruleset.includes(c.hash))
    assert.ok(c.script.startsWith('table netdev mirrorflow\ndelete table netdev mirrorflow\n'))
  })

  test('base chains: ingress and egress hooks, never-mirrored classes first, sessions in number order', () => {
    const inn = chain(c.ruleset, 'in_eth0')
    assert.equal(inn[0], 'type filter hook ingress device "eth0" priority 0; policy accept;')
    assert.equal(inn[1], 'ether type { arp, 0x8035 } accept')
    assert.equal(inn[2], 'meta l4proto udp jump never_udp')
    assert.deepEqual(
      inn.filter((l) => l.startsWith('jump')),
      ['jump s1_eth0_in', 'jump s2_eth0_in'],
    )
    const udp = chain(c.ruleset, 'never_udp')
    assert.ok(udp.some((l) => l.includes('udp dport 4789 accept') && l.includes('10.9.0.9')))
    assert.ok(udp.some((l) => l.includes('udp sport { 67, 68 } udp dport { 67, 68 } accept')))
    assert.match(chain(c.ruleset, 'out_eth0')[0]!, /hook egress device "eth0"/)
  })

  test('later fragments of UDP to a target (mirror traffic above the MTU) are never mirrored, IPv4 and IPv6', () => {
    const st6 = structuredClone(st)
    st6.targets.push({ trafficMirrorTargetId: 'tmt-6', type: 'network-interface', addresses: ['fd00:9::9'] })
    const udp = chain(compileNftables(st6, st6.sources).ruleset, 'never_udp')
    const t4 = '{ 10.9.0.9, 10.9.1.1, 10.9.1.2, 10.9.1.3 }'
    // First fragments carry the UDP header: the port rule covers them; later ones have no port.
    assert.ok(udp.includes(`ip daddr ${t4} udp dport 4789 accept`))
    assert.ok(udp.includes(`ip daddr ${t4} ip frag-off & 0x1fff != 0 accept`))
    assert.ok(udp.includes('ip6 daddr { fd00:9::9 } udp dport 4789 accept'))
    assert.ok(udp.includes('ip6 daddr { fd00:9::9 } frag frag-off != 0 accept'))
    // Without an IPv6 target there is no IPv6 line at all.
    assert.ok(!chain(c.ruleset, 'never_udp').some((l) => l.startsWith('ip6 daddr')))
  })

  test('session chain: rules in number order, reject = return, accept = dup + accept', () => {
    const s1 = chain(c.ruleset, 's1_eth0_in').filter((l) => l.includes('comment "rule'))
    const dev = c.devices.find((d) => d.sessionId === 'tms-1')!.name
    assert.deepEqual(s1, [
      'meta protocol ip meta l4proto 6 th dport 22 return comment "rule 10"',
      `meta protocol ip dup to "${dev}" accept comment "rule 20"`,
    ])
  })

  test('amazon-dns: mirrored by the session with the service, skipped (return) by the others', () => {
    const dev2 = c.devices.find((d) => d.sessionId === 'tms-2')!.name
    assert.ok(
      chain(c.ruleset, 's1_eth0_in').includes(
        'meta protocol ip ip daddr { 10.0.0.2, 169.254.169.253 } return',
      ),
    )
    assert.ok(
      chain(c.ruleset, 's2_eth0_in').includes(
        `meta protocol ip ip daddr { 10.0.0.2, 169.254.169.253 } dup to "${dev2}" accept`,
      ),
    )
  })

  test('devices: one per session, VNI, source and target addresses, prefixed names of at most 15 characters', () => {
    assert.equal(c.devices.length, 2)
    for (const d of c.devices) {
      assert.ok(d.name.startsWith(DEFAULT_NFT_NAMING.devicePrefix) && d.name.length <= 15)
      assert.equal(d.local, '10.0.0.1')
      assert.equal(d.remote, '10.9.0.9')
    }
    assert.deepEqual(c.devices.map((d) => d.vni).sort(), [1001, 1002])
  })

  test('deterministic: same state, same text and hash; a changed VNI changes the device name', () => {
    assert.equal(compileNftables(st, st.sources).ruleset, c.ruleset)
    const st2 = structuredClone(st)
    st2.sessions[0]!.virtualNetworkId = 77
    const c2 = compileNftables(st2, st2.sources)
    assert.notEqual(c2.hash, c.hash)
    assert.notDeepEqual(c2.devices.map((d) => d.name).sort(), c.devices.map((d) => d.name).sort())
  })

  test('no session: the script only deletes the table', () => {
    const empty = compileNftables({ ...st, sessions: [] }, st.sources)
    assert.equal(empty.script, 'table netdev mirrorflow\ndelete table netdev mirrorflow\n')
    assert.equal(empty.devices.length, 0)
  })

  test('kernelCapable: not with a packet length or a load-balancer target', () => {
    assert.equal(kernelCapable(st, st.sources[0]!), true)
    assert.equal(kernelCapable(simpleState([{ number: 1, packetLength: 100 }]), st.sources[0]!), false)
    assert.equal(kernelCapable(simpleState([{ number: 1, nlb: true }]), st.sources[0]!), false)
  })

  test('kernelCapable: not for an enforced interface whose sessions can mirror arriving packets', () => {
    const enforced = (s: MirrorState): MirrorState => {
      s.sources[0]!.verdictGroup = 30001
      return s
    }
    // The netdev ingress hook comes before the security groups: such a source goes to user space.
    const inOnly = enforced(simpleState([{ number: 1, ingress: acceptAll() }]))
    assert.equal(kernelCapable(inOnly, inOnly.sources[0]!), false)
    const dns = enforced(simpleState([{ number: 1, dns: true }]))
    assert.equal(kernelCapable(dns, dns.sources[0]!), false)
    // Egress only: the netdev egress hook already comes after the filter, the kernel path is exact.
    const outOnly = enforced(simpleState([{ number: 1, egress: acceptAll() }]))
    assert.equal(kernelCapable(outOnly, outOnly.sources[0]!), true)
    const plain = simpleState([{ number: 1, ingress: acceptAll() }])
    assert.equal(kernelCapable(plain, plain.sources[0]!), true)
  })
})
