// SPDX-License-Identifier: Apache-2.0
// test-group: fast
// Managed prefix lists in the control plane and their enforcement: a rule by prefix list is the
// list's current entries in the desired state, compiles into the same nftables sets as the same
// blocks given as CIDR rules, and follows the list when it changes; versions and their bound; the
// rule quota weighs the list's MaxEntries (ModifySecurityGroupRules too); a store reopened keeps it.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { hasCode } from '../../../errors.ts'
import { compilePolicy, type PolicyInterface, type PolicySecurityGroupRule } from '../../../policy/index.ts'
import { ControlPlane } from '../../control-plane.ts'
import { SqliteStore } from '../../core/store.ts'
import { desiredState } from '../desired-state.ts'
import type { DesiredSecurityGroupRule } from './desired.ts'
import { PREFIX_LIST_VERSIONS_KEPT } from './prefix-lists.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function open(dir?: string): { cp: ControlPlane; dir: string } {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'mf-pl-'))
  if (dir === undefined) dirs.push(d)
  return {
    cp: new ControlPlane(new SqliteStore(d), { accountId: '123456789012', region: 'us-east-1' }),
    dir: d,
  }
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(hasCode(err, 'MF_API'), String(err))
    return (err as { awsCode: string }).awsCode
  }
  return 'OK'
}

const entries = (...cidrs: string[]) => cidrs.map((cidr) => ({ cidr, description: undefined }))

/** A VPC, a group `g` holding one registered interface, and a prefix list `pl`. */
function world(dir?: string) {
  const { cp, dir: d } = open(dir)
  const vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
  cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
  const g = cp.ec2.securityGroups.createGroup({ groupName: 'g', description: 'g', vpcId: vpc.id }, [], (id) =>
    cp.ec2.vpcs.vpc(id),
  ).group
  const reg = cp.ec2.instances.registerInstance({
    hostname: 'h',
    interfaces: [{ deviceName: 'eth0', privateIpAddress: '10.0.1.10', macAddress: '02:00:00:00:00:10' }],
  })
  cp.ec2.interfaces.modifyAttribute(reg.interfaces[0]!.id, { groupIds: [g.id] })
  const pl = cp.ec2.prefixLists.createList(
    {
      prefixListName: 'corp',
      addressFamily: 'IPv4',
      maxEntries: 10,
      entries: entries('10.1.0.0/16', '192.0.2.0/24', '10.2.0.0/16'),
    },
    [],
  )
  const ingress = () => desiredState(cp.ec2, reg.instance.id).interfaces[0]!.security.ingressRules
  return { cp, dir: d, g, pl, reg, ingress }
}

/** The agent's mapping of a desired rule to the policy engine's rule. */
const toPolicy = (r: DesiredSecurityGroupRule): PolicySecurityGroupRule => ({
  protocol: r.protocol,
  portRange: r.portRange,
  icmpType: r.icmpType,
  icmpCode: r.icmpCode,
  cidrBlocks: r.cidrBlocks,
})

function ruleset(ingressRules: PolicySecurityGroupRule[]): string {
  const iface: PolicyInterface = {
    networkInterfaceId: 'eni-0123456789abcdef0',
    ifname: 'eth0',
    ingressRules,
    egressRules: [],
    networkAcl: { networkAclId: 'acl-1', ingress: [], egress: [] },
    logGroup: 20001,
  }
  return compilePolicy({ interfaces: [iface], mirrorTargets: [], exemptAddresses: [] }).ruleset
}

const tcp22 = (cidrBlocks: string[]): PolicySecurityGroupRule => ({
  protocol: 6,
  portRange: { fromPort: 22, toPort: 22 },
  icmpType: null,
  icmpCode: null,
  cidrBlocks,
})

test('a rule by prefix list is the list’s entries, compiled into the same sets as CIDR rules; a change of the list follows', () => {
  const { cp, g, pl, ingress } = world()
  const sg = cp.ec2.securityGroups
  sg.authorize(
    g,
    false,
    [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, peers: [{ prefixListId: pl.id }] }],
    [],
  )
  const [r] = ingress()
  assert.deepEqual(
    [r!.prefixListId, r!.referencedGroupId, r!.cidrBlocks],
    [pl.id, null, ['10.1.0.0/16', '192.0.2.0/24', '10.2.0.0/16']],
  )
  const byList = ruleset([toPolicy(r!)])
  // The same blocks as three CIDR rules compile to the same text (the same set elements).
  assert.equal(byList, ruleset([tcp22(['10.1.0.0/16']), tcp22(['192.0.2.0/24']), tcp22(['10.2.0.0/16'])]))
  const p4i = byList.split('\n').find((l) => l.includes('set p4i {'))!
  assert.match(p4i, /"eth0" \. 10\.1\.0\.0-10\.2\.255\.255 \. 6 \. 22/)
  assert.match(p4i, /"eth0" \. 192\.0\.2\.0\/24 \. 6 \. 22/)

  // Modifying the list changes what the interface enforces, with nothing else touched.
  cp.ec2.prefixLists.modifyList(pl, {
    currentVersion: 1,
    addEntries: entries('198.51.100.7/32'),
    removeEntries: [{ cidr: '192.0.2.0/24' }],
  })
  const [r2] = ingress()
  assert.deepEqual(r2!.cidrBlocks, ['10.1.0.0/16', '10.2.0.0/16', '198.51.100.7/32'])
  const after = ruleset([toPolicy(r2!)])
  assert.doesNotMatch(after, /192\.0\.2\.0/)
  assert.match(after, /"eth0" \. 198\.51\.100\.7 \. 6 \. 22/)
  // An IPv6 list compiles into the IPv6 sets.
  const v6 = cp.ec2.prefixLists.createList(
    { prefixListName: 'v6', addressFamily: 'IPv6', maxEntries: 2, entries: entries('2001:db8::/32') },
    [],
  )
  sg.authorize(
    g,
    false,
    [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, peers: [{ prefixListId: v6.id }] }],
    [],
  )
  const text = ruleset(ingress().map(toPolicy))
  assert.match(
    text.split('\n').find((l) => l.includes('set p6i {'))!,
    /"eth0" \. 2001:db8:0:0:0:0:0:0\/32 \. 6 \. 22/,
  )
})

test('versions: each change of the entries is one; the name alone is none; earlier versions are kept up to the bound', () => {
  const { cp, pl } = world()
  const pls = cp.ec2.prefixLists
  let cur = pls.modifyList(pl, { prefixListName: 'renamed', addEntries: [], removeEntries: [] })
  assert.deepEqual([cur.version, cur.prefixListName, cur.state], [1, 'renamed', 'modify-complete'])
  cur = pls.modifyList(cur, { maxEntries: 100, addEntries: [], removeEntries: [] })
  assert.deepEqual([cur.version, cur.maxEntries], [1, 100])
  for (let i = 0; i < PREFIX_LIST_VERSIONS_KEPT + 2; i++)
    cur = pls.modifyList(cur, {
      currentVersion: cur.version,
      addEntries: entries(`100.64.${i}.0/24`),
      removeEntries: [],
    })
  assert.equal(cur.version, PREFIX_LIST_VERSIONS_KEPT + 3)
  assert.equal(cur.history.length, PREFIX_LIST_VERSIONS_KEPT)
  assert.equal(
    code(() => pls.entriesAt(cur, 1)),
    'InvalidParameterValue',
  )
  assert.equal(pls.entriesAt(cur, cur.version - 1).length, 3 + PREFIX_LIST_VERSIONS_KEPT + 1)
  assert.equal(
    code(() =>
      pls.modifyList(cur, { currentVersion: 1, addEntries: entries('1.0.0.0/8'), removeEntries: [] }),
    ),
    'PrefixListVersionMismatch',
  )
})

test('the quota weighs a referenced list’s MaxEntries, in Authorize and in ModifySecurityGroupRules; a referenced list is not deleted', () => {
  const { cp, g, pl } = world()
  const sg = cp.ec2.securityGroups
  const big = cp.ec2.prefixLists.createList(
    { prefixListName: 'big', addressFamily: 'IPv4', maxEntries: 51, entries: [] },
    [],
  )
  // 10 (pl) + 51 (big) > 60.
  sg.authorize(
    g,
    false,
    [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, peers: [{ prefixListId: pl.id }] }],
    [],
  )
  assert.equal(
    code(() =>
      sg.authorize(
        g,
        false,
        [{ ipProtocol: 'tcp', fromPort: 80, toPort: 80, peers: [{ prefixListId: big.id }] }],
        [],
      ),
    ),
    'RulesPerSecurityGroupLimitExceeded',
  )
  // A CIDR rule turned into a rule by the big list: the same quota.
  const [cidrRule] = sg.authorize(
    g,
    false,
    [{ ipProtocol: 'tcp', fromPort: 80, toPort: 80, peers: [{ cidrIp: '10.9.0.0/16' }] }],
    [],
  )
  assert.equal(
    code(() =>
      sg.modifyRules(g, [
        { ruleId: cidrRule!.id, rule: { ipProtocol: 'tcp', fromPort: 80, toPort: 80, prefixListId: big.id } },
      ]),
    ),
    'RulesPerSecurityGroupLimitExceeded',
  )
  // Egress is its own quota: 2 default rules + 51.
  sg.authorize(
    g,
    true,
    [{ ipProtocol: 'tcp', fromPort: 80, toPort: 80, peers: [{ prefixListId: big.id }] }],
    [],
  )
  // Raising a referenced list's MaxEntries past a group's quota fails in the list's state.
  const failed = cp.ec2.prefixLists.modifyList(big, { maxEntries: 59, addEntries: [], removeEntries: [] })
  assert.deepEqual([failed.state, failed.maxEntries], ['modify-failed', 51])
  assert.match(failed.stateMessage!, new RegExp(g.id))
  assert.equal(
    code(() => cp.ec2.prefixLists.deleteList(big)),
    'DependencyViolation',
  )
  assert.deepEqual(cp.ec2.prefixLists.associations(big), [g.id])
})

test('a reopened store keeps lists, versions and rules by prefix list', () => {
  const w = world()
  const pl = w.cp.ec2.prefixLists.modifyList(w.pl, {
    currentVersion: 1,
    addEntries: entries('203.0.113.0/24'),
    removeEntries: [],
  })
  w.cp.ec2.securityGroups.authorize(
    w.g,
    false,
    [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, peers: [{ prefixListId: pl.id }] }],
    [],
  )
  const before = w.ingress()
  w.cp.close()
  const again = open(w.dir).cp
  const got = again.ec2.prefixLists.list(pl.id)
  assert.deepEqual([got.version, got.entries.length, got.history.length], [2, 4, 1])
  assert.deepEqual(desiredState(again.ec2, w.reg.instance.id).interfaces[0]!.security.ingressRules, before)
  again.close()
})

test('bounds: lists per region, entries per request, MaxEntries, names, the family of every block', () => {
  const d = mkdtempSync(join(tmpdir(), 'mf-pl-'))
  dirs.push(d)
  const cp = new ControlPlane(new SqliteStore(d), {
    accountId: '123456789012',
    region: 'us-east-1',
    quotas: { prefixListsPerRegion: 2 },
  })
  const pls = cp.ec2.prefixLists
  const mk =
    (over: Partial<Parameters<typeof pls.createList>[0]> = {}) =>
    () =>
      pls.createList(
        { prefixListName: 'n', addressFamily: 'IPv6', maxEntries: 1000, entries: [], ...over },
        [],
      )
  const many = Array.from({ length: 101 }, (_, i) => `2001:db8:${i.toString(16)}::/48`)
  assert.equal(code(mk({ entries: entries(...many) })), 'InvalidParameterValue')
  assert.equal(code(mk({ maxEntries: 1001 })), 'InvalidParameterValue')
  assert.equal(code(mk({ maxEntries: 0 })), 'InvalidParameterValue')
  assert.equal(code(mk({ prefixListName: 'n'.repeat(256) })), 'InvalidParameterValue')
  assert.equal(code(mk({ entries: entries('10.0.0.0/8') })), 'InvalidParameterValue')
  assert.equal(code(mk({ entries: entries('2001:db8::/32', '2001:db8::/32') })), 'InvalidParameterValue')
  assert.equal(
    code(mk({ maxEntries: 1, entries: entries('2001:db8::/32', '2001:db9::/32') })),
    'PrefixListMaxEntriesExceeded',
  )
  const full = pls.createList(
    { prefixListName: 'a', addressFamily: 'IPv6', maxEntries: 1000, entries: entries(...many.slice(0, 100)) },
    [],
  )
  assert.equal(code(mk()), 'OK')
  assert.equal(code(mk()), 'ResourceLimitExceeded')
  assert.equal(
    code(() =>
      pls.modifyList(full, { addEntries: [], removeEntries: many.slice(0, 101).map((cidr) => ({ cidr })) }),
    ),
    'InvalidParameterValue',
  )
  cp.close()
})
