// SPDX-License-Identifier: Apache-2.0
// test-group: fast
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  aclEntryRule,
  compilePolicy,
  disjointBoxes,
  type PolicyInterface,
  type PolicyNetworkAclEntry,
  type PolicySecurityGroupRule,
} from './index.ts'

const sg = (protocol: number, cidrBlocks: string[], ports?: [number, number]): PolicySecurityGroupRule => ({
  protocol,
  portRange: ports === undefined ? null : { fromPort: ports[0], toPort: ports[1] },
  icmpType: null,
  icmpCode: null,
  cidrBlocks,
})
const entry = (
  ruleNumber: number,
  ruleAction: 'allow' | 'deny',
  protocol: number,
  cidrBlock: string,
  ports?: [number, number],
): PolicyNetworkAclEntry => ({
  ruleNumber,
  ruleAction,
  protocol,
  cidrBlock,
  portRange: ports === undefined ? null : { fromPort: ports[0], toPort: ports[1] },
  icmpType: null,
  icmpCode: null,
})
const STAR = entry(32767, 'deny', -1, '0.0.0.0/0')
const STAR6 = entry(32767, 'deny', -1, '::/0')

function iface(over: Partial<PolicyInterface> = {}): PolicyInterface {
  return {
    networkInterfaceId: 'eni-0123456789abcdef0',
    ifname: 'web0',
    ingressRules: [],
    egressRules: [sg(-1, ['0.0.0.0/0'])],
    networkAcl: {
      networkAclId: 'acl-1',
      ingress: [entry(100, 'allow', -1, '0.0.0.0/0'), STAR, STAR6],
      egress: [STAR, STAR6],
    },
    logGroup: 20001,
    ...over,
  }
}

function setLine(ruleset: string, name: string): string {
  return ruleset.split('\n').find((l) => l.includes(`set ${name} {`)) ?? ''
}

test('overlapping rules become disjoint boxes (the kernel refuses overlapping interval elements)', () => {
  const b = (lo: bigint, hi: bigint, nums: Array<[number, number]>) => ({ addr: { lo, hi }, nums })
  assert.deepEqual(disjointBoxes([b(0n, 255n, [[80, 80]]), b(10n, 19n, [[22, 443]])]), [
    b(0n, 9n, [[80, 80]]),
    b(10n, 19n, [[22, 443]]),
    b(20n, 255n, [[80, 80]]),
  ])
  // Equal unions on adjacent pieces are joined; touching ranges merge.
  assert.deepEqual(
    disjointBoxes([
      b(0n, 9n, [[1, 5]]),
      b(10n, 19n, [
        [1, 2],
        [3, 5],
      ]),
    ]),
    [b(0n, 19n, [[1, 5]])],
  )
})

test('security groups: one element per disjoint box, keyed by interface, in the right set', () => {
  const c = compilePolicy({
    interfaces: [
      iface({
        ingressRules: [
          sg(6, ['0.0.0.0/0'], [80, 80]),
          sg(6, ['10.0.0.0/8'], [22, 443]),
          sg(6, ['::/0'], [443, 443]),
          { ...sg(1, ['10.1.0.0/16']), icmpType: 8 },
          sg(50, ['10.2.0.0/16']),
          sg(-1, ['10.3.0.0/16', '10.3.1.0/24', '10.4.0.0/16']),
          sg(17, []),
        ],
      }),
    ],
    mirrorTargets: [],
    exemptAddresses: [],
  })
  assert.match(
    setLine(c.ruleset, 'p4i'),
    /elements = \{ "web0" \. 0\.0\.0\.0-9\.255\.255\.255 \. 6 \. 80, "web0" \. 10\.0\.0\.0\/8 \. 6 \. 22-443, "web0" \. 11\.0\.0\.0-255\.255\.255\.255 \. 6 \. 80 \}/,
  )
  assert.match(setLine(c.ruleset, 'p6i'), /"web0" \. 0:0:0:0:0:0:0:0\/0 \. 6 \. 443 \}/)
  assert.match(setLine(c.ruleset, 'c4i'), /"web0" \. 10\.1\.0\.0\/16 \. 8 \. 0-255 \}/)
  assert.match(setLine(c.ruleset, 'o4i'), /"web0" \. 10\.2\.0\.0\/16 \. 50 \}/)
  // 10.3/16 ∪ 10.3.1/24 ∪ 10.4/16: one range.
  assert.match(setLine(c.ruleset, 'a4i'), /elements = \{ "web0" \. 10\.3\.0\.0-10\.4\.255\.255 \}/)
  assert.match(setLine(c.ruleset, 'a4o'), /"web0" \. 0\.0\.0\.0\/0 \}/)
  assert.doesNotMatch(setLine(c.ruleset, 'a6o'), /elements/)
  assert.equal(c.elements, 8)
  // Stateful: tracked flows pass before any rule; nothing allowed → the interface's reject chain.
  assert.match(c.ruleset, /chain sg_in \{\n\t\tct state established,related return\n/)
  assert.match(c.ruleset, /\t\tiifname vmap @rej_in\n\t\}\n/)
  assert.match(c.ruleset, /chain r0_in \{\n\t\tlog group 20001 snaplen 128 queue-threshold 1\n\t\tdrop\n/)
})

test('a mirrored interface logs its inbound drops to its mirror group too (never its outbound ones)', () => {
  const c = compilePolicy({
    interfaces: [iface({ mirrorLogGroup: 30001 })],
    mirrorTargets: [],
    exemptAddresses: [],
  })
  assert.match(
    c.ruleset,
    /chain r0_in \{\n\t\tlog group 20001 snaplen 128 queue-threshold 1\n\t\tlog group 30001 snaplen 128 queue-threshold 1\n\t\tdrop\n/,
  )
  assert.match(c.ruleset, /chain r0_out \{\n\t\tlog group 20001 snaplen 128 queue-threshold 1\n\t\tdrop\n/)
  assert.throws(
    () =>
      compilePolicy({
        interfaces: [iface({ mirrorLogGroup: 20001 })],
        mirrorTargets: [],
        exemptAddresses: [],
      }),
    /log group 20001 used twice/,
  )
})

test('network ACL: rule-number order, first match, the * deny last; inbound before, outbound after the groups', () => {
  const c = compilePolicy({
    interfaces: [
      iface({
        networkAcl: {
          networkAclId: 'acl-1',
          ingress: [
            STAR,
            entry(200, 'allow', -1, '0.0.0.0/0'),
            entry(100, 'deny', 6, '10.9.0.0/16', [22, 22]),
          ],
          egress: [entry(100, 'allow', 6, '0.0.0.0/0', [1024, 65535]), STAR],
        },
      }),
    ],
    mirrorTargets: [],
    exemptAddresses: [],
  })
  const chain = /chain n0_in \{\n([^}]*)\}/.exec(c.ruleset)?.[1] ?? ''
  assert.deepEqual(
    chain
      .trim()
      .split('\n')
      .map((l) => l.trim()),
    [
      'ip saddr 10.9.0.0/16 meta l4proto tcp th dport 22 iifname vmap @rej_in',
      'meta nfproto ipv4 return',
      'meta nfproto ipv4 iifname vmap @rej_in',
      'iifname vmap @rej_in',
    ],
  )
  assert.match(
    c.ruleset,
    /chain n0_out \{\n\t\tmeta nfproto ipv4 meta l4proto tcp th dport 1024-65535 return\n/,
  )
  assert.match(
    c.ruleset,
    /iifname != @ifs return\n\t\tjump exempt_in\n\t\tiifname vmap @nacl_in\n\t\tjump sg_in\n/,
  )
  assert.match(
    c.ruleset,
    /oifname != @ifs return\n\t\tjump exempt_out\n\t\tjump sg_out\n\t\toifname vmap @nacl_out\n/,
  )
  assert.equal(
    aclEntryRule({ ...entry(1, 'allow', 58, 'fd00::/8'), icmpType: 128, icmpCode: 0 }, 'out'),
    'ip6 daddr fd00::/8 meta l4proto ipv6-icmp icmpv6 type 128 icmpv6 code 0 return',
  )
})

test('mirror copies to a target leave unfiltered; equal ACLs share one chain; order does not change the hash', () => {
  const a = iface()
  const b = iface({ networkInterfaceId: 'eni-2', ifname: 'db0', logGroup: 20002 })
  const s1 = compilePolicy({
    interfaces: [a, b],
    mirrorTargets: ['10.0.9.9'],
    exemptAddresses: [],
    controlPlane: [{ address: '10.253.0.1', port: 4566 }],
  })
  const s2 = compilePolicy({
    interfaces: [b, a],
    mirrorTargets: ['10.0.9.9'],
    exemptAddresses: [],
    controlPlane: [{ address: '10.253.0.1', port: 4566 }],
  })
  assert.equal(s1.hash, s2.hash)
  assert.match(s1.ruleset, /ip daddr \{ 10\.0\.9\.9 \} udp dport 4789 accept/)
  // The agent's control connection is never filtered, either way.
  assert.match(
    s1.ruleset,
    /chain exempt_in \{\n(?:\t\t.*\n)*\t\tip saddr 10\.253\.0\.1 tcp sport 4566 accept/,
  )
  assert.match(
    s1.ruleset,
    /chain exempt_out \{\n(?:\t\t.*\n)*\t\tip daddr 10\.253\.0\.1 tcp dport 4566 accept/,
  )
  assert.equal(s1.ruleset.match(/chain n\d+_in/g)?.length, 1)
  assert.match(
    s1.ruleset,
    /map rej_in \{ type ifname : verdict; elements = \{ "db0" : goto r0_in, "web0" : goto r1_in \} \}/,
  )
})

test('no interface: the script only deletes the table; bad input is refused with MF_POLICY_CONFIG', () => {
  const c = compilePolicy({ interfaces: [], mirrorTargets: [], exemptAddresses: [] }, { table: 'mfx' })
  assert.equal(c.script, 'table inet mfx\ndelete table inet mfx\n')
  const bad = (over: Partial<PolicyInterface>, re: RegExp) =>
    assert.throws(
      () => compilePolicy({ interfaces: [iface(over)], mirrorTargets: [], exemptAddresses: [] }),
      (e: Error & { code?: string }) => e.code === 'MF_POLICY_CONFIG' && re.test(e.message),
    )
  bad({ ifname: 'a"; flush ruleset' }, /bad interface name/)
  bad({ logGroup: 0 }, /log group/)
  bad({ ingressRules: [sg(6, ['10.0.0.0/33'])] }, /bad CIDR/)
  bad({ ingressRules: [sg(1, ['10.0.0.0/8'], [1, 2])] }, /port range needs protocol/)
  bad({ ingressRules: [sg(6, ['10.0.0.0/8'], [9, 2])] }, /bad port range/)
  assert.throws(
    () =>
      compilePolicy({
        interfaces: [iface(), iface({ networkInterfaceId: 'eni-2', ifname: 'x0' })],
        mirrorTargets: [],
        exemptAddresses: [],
      }),
    /log group 20001 used twice/,
  )
})

test('source/destination check: own-address sets and sdc chains only for interfaces that have it on', () => {
  const off = compilePolicy({ interfaces: [iface()], mirrorTargets: [], exemptAddresses: [] })
  assert.doesNotMatch(off.ruleset, /sdc/)
  const on = compilePolicy({
    interfaces: [iface({ ownAddresses: ['10.0.1.10', 'fd00::10'] })],
    mirrorTargets: [],
    exemptAddresses: [],
  })
  assert.match(on.ruleset, /set own4 \{ type ifname \. ipv4_addr; elements = \{ "web0" \. 10\.0\.1\.10 \} \}/)
  assert.match(on.ruleset, /meta nfproto ipv4 iifname \. ip daddr != @own4 iifname vmap @rej_in\n/)
  assert.match(on.ruleset, /meta nfproto ipv4 oifname \. ip saddr != @own4 oifname vmap @rej_out\n/)
  // Checked after the exemptions (DHCP, metadata), before the ACL and the groups.
  assert.match(on.ruleset, /jump exempt_in\n\t\tjump sdc_in\n\t\tiifname vmap @nacl_in\n/)
  assert.match(on.ruleset, /jump exempt_out\n\t\tjump sdc_out\n\t\tjump sg_out\n/)
  assert.throws(
    () =>
      compilePolicy({
        interfaces: [iface({ ownAddresses: ['10.0.0.0/24'] })],
        mirrorTargets: [],
        exemptAddresses: [],
      }),
    /bad own address/,
  )
})
