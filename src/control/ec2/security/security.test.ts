// SPDX-License-Identifier: Apache-2.0
// test-group: fast
// The security family's rules in the control plane: default group and ACL per VPC, rule identity
// and quotas, references resolved to member addresses in the desired state, ACL order and the `*`
// deny, the binding of an API-created interface at registration, and a store made before groups.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { hasCode } from '../../../errors.ts'
import { ControlPlane } from '../../control-plane.ts'
import { SqliteStore } from '../../core/store.ts'
import { desiredState } from '../desired-state.ts'
import { BIND_TAG } from '../network/instances.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function open(dir?: string): { cp: ControlPlane; dir: string } {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'mf-sec-'))
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

function world() {
  const { cp, dir } = open()
  const vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
  const subnet = cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
  const sg = cp.ec2.securityGroups
  const vpcOf = (id: string) => cp.ec2.vpcs.vpc(id)
  const group = (name: string) =>
    sg.createGroup({ groupName: name, description: name, vpcId: vpc.id }, [], vpcOf).group
  return { cp, dir, vpc, subnet, sg, group }
}

const tcp = (port: number, cidr: string) => ({
  ipProtocol: 'tcp',
  fromPort: port,
  toPort: port,
  peers: [{ cidrIp: cidr }],
})

describe('security groups in the control plane', () => {
  test('rule identity: protocol names and numbers are one rule; a description does not make another', () => {
    const { sg, group } = world()
    const g = group('a')
    sg.authorize(g, false, [tcp(22, '10.0.0.0/8')], [])
    assert.equal(
      code(() =>
        sg.authorize(
          g,
          false,
          [
            {
              ipProtocol: '6',
              fromPort: 22,
              toPort: 22,
              peers: [{ cidrIp: '10.0.0.0/8', description: 'x' }],
            },
          ],
          [],
        ),
      ),
      'InvalidPermission.Duplicate',
    )
    assert.equal(
      code(() => sg.authorize(g, false, [tcp(22, '10.0.0.0/8'), tcp(22, '10.0.0.0/8')], [])),
      'InvalidPermission.Duplicate',
    )
    // The same rule in the other direction is another rule.
    assert.equal(
      code(() => sg.authorize(g, true, [tcp(22, '10.0.0.0/8')], [])),
      'OK',
    )
    // TCP without ports is every port; ICMP type -1 with a code is refused; -1 ignores ports.
    const [all] = sg.authorize(g, false, [{ ipProtocol: 'udp', peers: [{ cidrIp: '10.1.0.0/16' }] }], [])
    assert.deepEqual([all!.fromPort, all!.toPort], [0, 65535])
    assert.equal(
      code(() =>
        sg.authorize(
          g,
          false,
          [{ ipProtocol: 'icmp', fromPort: -1, toPort: 3, peers: [{ cidrIp: '10.2.0.0/16' }] }],
          [],
        ),
      ),
      'InvalidParameterValue',
    )
    const [any] = sg.authorize(
      g,
      false,
      [{ ipProtocol: 'all', fromPort: 5, toPort: 9, peers: [{ cidrIp: '10.3.0.0/16' }] }],
      [],
    )
    assert.deepEqual([any!.ipProtocol, any!.fromPort, any!.toPort], ['-1', -1, -1])
  })

  test('a failed authorize changes nothing (all or none), and the quota counts per direction', () => {
    const { cp, sg, group } = world()
    const g = group('q')
    const v0 = cp.version
    assert.equal(
      code(() => sg.authorize(g, false, [tcp(1, '10.0.0.0/8'), tcp(2, '10.0.0.1/8')], [])),
      'InvalidParameterValue',
    )
    assert.equal(cp.version, v0)
    const many = Array.from({ length: 60 }, (_, i) => ({ cidrIp: `10.${i}.0.0/16` }))
    sg.authorize(g, false, [{ ipProtocol: 'tcp', fromPort: 80, toPort: 80, peers: many }], [])
    assert.equal(
      code(() => sg.authorize(g, false, [tcp(81, '10.0.0.0/8')], [])),
      'RulesPerSecurityGroupLimitExceeded',
    )
    assert.equal(sg.rulesOf(g.id, false).length, 60)
  })

  test('groups of another VPC cannot be referenced or given to an interface', () => {
    const { cp, sg, group, subnet } = world()
    const other = cp.ec2.vpcs.createVpc('10.9.0.0/16', undefined, [])
    const foreign = sg.createGroup({ groupName: 'f', description: 'f', vpcId: other.id }, [], (id) =>
      cp.ec2.vpcs.vpc(id),
    ).group
    const g = group('mine')
    assert.equal(
      code(() => sg.authorize(g, false, [{ ipProtocol: '-1', peers: [{ groupId: foreign.id }] }], [])),
      'InvalidGroup.NotFound',
    )
    assert.equal(
      code(() => cp.ec2.interfaces.createInterface({ subnetId: subnet.id, groupIds: [foreign.id] }, [])),
      'InvalidParameterCombination',
    )
  })
})

describe('the desired state carries each interface its groups and ACL, resolved', () => {
  test('a reference to a group becomes its members’ addresses; the default group covers interfaces without groups', () => {
    const { cp, sg, group, subnet } = world()
    const web = group('web')
    const db = group('db')
    sg.authorize(
      db,
      false,
      [{ ipProtocol: 'tcp', fromPort: 5432, toPort: 5432, peers: [{ groupId: web.id }] }],
      [],
    )
    const reg = cp.ec2.instances.registerInstance({
      hostname: 'h',
      interfaces: [
        { deviceName: 'eth0', privateIpAddress: '10.0.1.10', macAddress: '02:00:00:00:00:10' },
        {
          deviceName: 'eth1',
          privateIpAddress: '10.0.1.11',
          macAddress: '02:00:00:00:00:11',
          secondaryPrivateIpAddresses: ['10.0.1.12'],
        },
      ],
    })
    const [e0, e1] = reg.interfaces
    cp.ec2.interfaces.modifyAttribute(e0!.id, { groupIds: [db.id] })
    cp.ec2.interfaces.modifyAttribute(e1!.id, { groupIds: [web.id] })
    const api = cp.ec2.interfaces.createInterface({ subnetId: subnet.id, groupIds: [web.id] }, [])
    const s = desiredState(cp.ec2, reg.instance.id)
    const dbIf = s.interfaces.find((i) => i.networkInterfaceId === e0!.id)!.security
    assert.deepEqual(dbIf.securityGroups, [{ groupId: db.id, groupName: 'db' }])
    assert.deepEqual(
      dbIf.ingressRules.map((r) => [r.protocol, r.portRange, r.cidrBlocks, r.referencedGroupId]),
      [
        [
          6,
          { fromPort: 5432, toPort: 5432 },
          ['10.0.1.11/32', '10.0.1.12/32', `${api.privateIpAddress}/32`],
          web.id,
        ],
      ],
    )
    assert.deepEqual(
      dbIf.egressRules.map((r) => [r.protocol, r.cidrBlocks]),
      [
        [-1, ['0.0.0.0/0']],
        [-1, ['::/0']],
      ],
    )
    // The default ACL: 100 (IPv4) and 101 (IPv6) allow, then the * deny (IPv4 and IPv6), each way.
    assert.deepEqual(
      dbIf.networkAcl.ingress.map((e) => [e.ruleNumber, e.ruleAction, e.cidrBlock]),
      [
        [100, 'allow', '0.0.0.0/0'],
        [101, 'allow', '::/0'],
        [32767, 'deny', '0.0.0.0/0'],
        [32767, 'deny', '::/0'],
      ],
    )
    assert.equal(dbIf.sourceDestCheck, true)
    // Removing the member's group changes the referencing interface's state.
    cp.ec2.interfaces.modifyAttribute(e1!.id, { groupIds: [sg.defaultGroupOf(s.interfaces[0]!.vpcId)!.id] })
    const s2 = desiredState(cp.ec2, reg.instance.id)
    assert.deepEqual(
      s2.interfaces.find((i) => i.networkInterfaceId === e0!.id)!.security.ingressRules[0]!.cidrBlocks,
      [`${api.privateIpAddress}/32`],
    )
  })

  test('an explicit ACL: entries in rule-number order, ports and ICMP normalised, the * deny last', () => {
    const { cp, subnet } = world()
    const acls = cp.ec2.networkAcls
    const acl = acls.createAcl(cp.ec2.vpcs.vpc(subnet.vpcId), [])
    acls.createEntry(acl, {
      ruleNumber: 200,
      egress: false,
      ruleAction: 'deny',
      protocol: '-1',
      cidrBlock: '0.0.0.0/0',
    })
    acls.createEntry(acls.acl(acl.id), {
      ruleNumber: 100,
      egress: false,
      ruleAction: 'allow',
      protocol: 'tcp',
      cidrBlock: '10.0.0.0/8',
      portRange: { from: 22, to: 22 },
    })
    acls.createEntry(acls.acl(acl.id), {
      ruleNumber: 150,
      egress: false,
      ruleAction: 'allow',
      protocol: '1',
      cidrBlock: '0.0.0.0/0',
      icmpTypeCode: { type: 8, code: -1 },
    })
    acls.replaceAssociation(acls.associationOf(subnet).networkAclAssociationId, acls.acl(acl.id), [subnet])
    const reg = cp.ec2.instances.registerInstance({
      hostname: 'n',
      interfaces: [{ deviceName: 'eth0', privateIpAddress: '10.0.1.20' }],
    })
    const sec = desiredState(cp.ec2, reg.instance.id).interfaces[0]!.security
    assert.equal(sec.networkAcl.networkAclId, acl.id)
    assert.equal(sec.networkAcl.isDefault, false)
    assert.deepEqual(
      sec.networkAcl.ingress.map((e) => [e.ruleNumber, e.protocol, e.portRange, e.icmpType, e.icmpCode]),
      [
        [100, 6, { fromPort: 22, toPort: 22 }, null, null],
        [150, 1, null, 8, null],
        [200, -1, null, null, null],
        [32767, -1, null, null, null],
        [32767, -1, null, null, null],
      ],
    )
    assert.deepEqual(
      sec.networkAcl.egress.map((e) => e.ruleNumber),
      [32767, 32767],
    )
  })
})

describe('interfaces created through the API bind to the Linux interface an agent reports', () => {
  test('by its mirrorflow:device-name tag, or by its primary address; groups survive', () => {
    const { cp, subnet, group } = world()
    const g = group('b')
    const host = cp.ec2.instances.registerInstance({
      hostname: 'b',
      interfaces: [{ deviceName: 'eth0', privateIpAddress: '10.0.1.30' }],
    })
    const byAddr = cp.ec2.interfaces.createInterface(
      { subnetId: subnet.id, privateIpAddress: '10.0.1.31', groupIds: [g.id] },
      [],
    )
    const byTag = cp.ec2.interfaces.createInterface({ subnetId: subnet.id, privateIpAddress: '10.0.1.32' }, [
      { key: BIND_TAG, value: 'veth7' },
    ])
    cp.ec2.interfaces.attach(byAddr.id, host.instance.id, 1)
    cp.ec2.interfaces.attach(byTag.id, host.instance.id, 2)
    const reg = cp.ec2.instances.registerInstance({
      instanceId: host.instance.id,
      hostname: 'b',
      interfaces: [
        { deviceName: 'eth0', privateIpAddress: '10.0.1.30' },
        { deviceName: 'eth1', privateIpAddress: '10.0.1.31', macAddress: '02:aa:00:00:00:31' },
        { deviceName: 'veth7', privateIpAddress: '10.0.1.33', macAddress: '02:aa:00:00:00:33' },
      ],
    })
    assert.deepEqual(reg.unmatched, [])
    const a = cp.ec2.instances.networkInterface(byAddr.id)
    assert.deepEqual([a.deviceName, a.macAddress, a.groupIds], ['eth1', '02:aa:00:00:00:31', [g.id]])
    const t = cp.ec2.instances.networkInterface(byTag.id)
    assert.deepEqual(
      [t.deviceName, t.privateIpAddress],
      ['veth7', '10.0.1.33'],
      'the host is the truth for the address',
    )
    assert.equal(cp.ec2.instances.interfacesOf(host.instance.id).length, 3)
  })

  test('an unattached API interface does not capture a host address: the host interface is reported as unmatched', () => {
    const { cp, subnet } = world()
    cp.ec2.interfaces.createInterface({ subnetId: subnet.id, privateIpAddress: '10.0.1.40' }, [])
    const reg = cp.ec2.instances.registerInstance({
      hostname: 'u',
      interfaces: [{ deviceName: 'eth0', privateIpAddress: '10.0.1.40' }],
    })
    assert.equal(reg.interfaces.length, 0)
    assert.match(reg.unmatched[0]!.reason, /InvalidIPAddress\.InUse/)
  })
})

describe('flow logs: the traffic type reaches the agent with the interface it covers', () => {
  test('ACCEPT, REJECT and ALL flow logs of a VPC each carry their TrafficType in the desired state', () => {
    const { cp, vpc } = world()
    for (const t of ['ACCEPT', 'REJECT', 'ALL'])
      cp.ec2.flowLogs.createFlowLogs({
        resourceIds: [vpc.id],
        resourceType: 'VPC',
        trafficType: t,
        logDestinationType: 's3',
        logDestination: `arn:aws:s3:::b-${t.toLowerCase()}`,
        tags: [],
      })
    const reg = cp.ec2.instances.registerInstance({
      hostname: 'f',
      interfaces: [{ deviceName: 'eth0', privateIpAddress: '10.0.1.60' }],
    })
    const fls = desiredState(cp.ec2, reg.instance.id).interfaces[0]!.flowLogs
    assert.deepEqual(fls.map((f) => f.trafficType).sort(), ['ACCEPT', 'ALL', 'REJECT'])
  })
})

describe('stores made before security groups existed', () => {
  test('reopening gives every VPC its default group and ACL, once', () => {
    const { cp, dir, vpc } = world()
    // Simulate an old store: remove the defaults behind the families' backs.
    const g = cp.ec2.securityGroups.defaultGroupOf(vpc.id)!
    const acl = cp.ec2.networkAcls.defaultAclOf(vpc.id)!
    cp.ledger.commit([], [g, ...cp.ec2.securityGroups.rulesOf(g.id), acl])
    cp.close()
    const again = open(dir).cp
    assert.equal(again.ec2.securityGroups.defaultGroupOf(vpc.id)?.id, g.id, 'the same deterministic id')
    assert.equal(again.ec2.networkAcls.defaultAclOf(vpc.id)?.id, acl.id)
    const v = again.version
    again.close()
    const third = open(dir).cp
    assert.equal(third.version, v, 'nothing to add the second time')
    third.close()
  })
})
