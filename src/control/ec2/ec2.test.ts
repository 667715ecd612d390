// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, beforeEach, describe, test } from 'node:test'
import { hasCode } from '../../errors.ts'
import { ControlPlane } from '../control-plane.ts'
import { isIdOf } from '../core/ids.ts'
import { SqliteStore } from '../core/store.ts'
import { desiredState } from './desired-state.ts'
import type { NetworkInterface, Subnet, Vpc } from './model.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function open(dir?: string): { cp: ControlPlane; dir: string } {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'mf-control-'))
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

const RULE = {
  trafficDirection: 'ingress',
  ruleNumber: 100,
  ruleAction: 'accept',
  sourceCidrBlock: '0.0.0.0/0',
  destinationCidrBlock: '0.0.0.0/0',
}

describe('ControlPlane business rules', () => {
  let cp: ControlPlane
  let vpc: Vpc
  let subnet: Subnet
  let enis: NetworkInterface[]
  beforeEach(() => {
    cp?.close()
    cp = open().cp
    vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
    subnet = cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
    enis = [10, 11, 12, 13].map((h) =>
      cp.ec2.instances.registerInterface({ subnetId: subnet.id, privateIpAddress: `10.0.1.${h}` }),
    )
  })

  test('ids: AWS prefix and 17 lowercase hex digits', () => {
    assert.match(vpc.id, /^vpc-[0-9a-f]{17}$/)
    assert.ok(isIdOf('eni', enis[0]!.id))
  })

  test('VPC and subnet ranges, overlap, dependencies', () => {
    assert.equal(
      code(() => cp.ec2.vpcs.createVpc('10.0.0.0/8', undefined, [])),
      'InvalidVpc.Range',
    )
    assert.equal(
      code(() => cp.ec2.vpcs.createVpc('10.0.0.0/33', undefined, [])),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.1.0.0/24' }, [])),
      'InvalidSubnet.Range',
    )
    assert.equal(
      code(() => cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.128/25' }, [])),
      'InvalidSubnet.Conflict',
    )
    assert.equal(
      code(() => cp.ec2.vpcs.createSubnet({ vpcId: 'vpc-0123456789abcdef0', cidrBlock: '10.0.1.0/24' }, [])),
      'InvalidVpcID.NotFound',
    )
    assert.equal(
      code(() => cp.ec2.vpcs.createSubnet({ vpcId: 'vpc-xyz', cidrBlock: '10.0.1.0/24' }, [])),
      'InvalidVpcID.Malformed',
    )
    assert.equal(
      code(() => cp.ec2.vpcs.deleteVpc(vpc.id)),
      'DependencyViolation',
    )
    assert.equal(
      code(() => cp.ec2.vpcs.deleteSubnet(subnet.id)),
      'DependencyViolation',
    )
  })

  test('interfaces: address inside the subnet and unique', () => {
    assert.equal(
      code(() => cp.ec2.instances.registerInterface({ subnetId: subnet.id, privateIpAddress: '10.0.2.1' })),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.instances.registerInterface({ subnetId: subnet.id, privateIpAddress: '10.0.1.10' })),
      'InvalidIPAddress.InUse',
    )
    const e = cp.ec2.instances.registerInterface({ privateIpAddress: '10.0.1.99' })
    assert.equal(e.subnetId, subnet.id)
  })

  test('registerInstance: idempotent by hostname and MAC; odd interfaces reported, not fatal', () => {
    const ifs = [
      { deviceName: 'eth0', macAddress: '02:00:00:00:00:01', privateIpAddress: '10.0.1.50' },
      { deviceName: 'lo', macAddress: '00:00:00:00:00:00', privateIpAddress: '127.0.0.1' },
      { deviceName: 'v6only', macAddress: '02:00:00:00:00:02', privateIpAddress: 'fe80::1' },
      { deviceName: 'clash', macAddress: '02:00:00:00:00:03', privateIpAddress: '10.0.1.10' },
      { deviceName: 'badmac', macAddress: 'zz', privateIpAddress: '10.0.1.51' },
    ]
    const a = cp.ec2.instances.registerInstance({ hostname: 'h1', interfaces: ifs })
    assert.deepEqual(
      a.interfaces.map((e) => e.deviceName),
      ['eth0'],
    )
    assert.deepEqual(
      a.unmatched.map((u) => u.deviceName),
      ['lo', 'v6only', 'clash', 'badmac'],
    )
    const b = cp.ec2.instances.registerInstance({
      hostname: 'h1',
      interfaces: [{ ...ifs[0]!, privateIpAddress: '10.0.1.52' }],
    })
    assert.equal(b.instance.id, a.instance.id)
    assert.equal(b.interfaces[0]!.id, a.interfaces[0]!.id)
    assert.equal(cp.ec2.instances.networkInterface(a.interfaces[0]!.id).privateIpAddress, '10.0.1.52')
    assert.equal(desiredState(cp.ec2, a.instance.id).interfaces[0]!.deviceName, 'eth0')
  })

  test('an interface is a source or a target, not both', () => {
    const t = cp.ec2.targets.createTarget({ networkInterfaceId: enis[1]!.id, tags: [] })
    assert.equal(
      code(() => cp.ec2.targets.createTarget({ networkInterfaceId: enis[1]!.id, tags: [] })),
      'InterfaceInUseByTrafficMirrorTarget',
    )
    const f = cp.ec2.filters.createFilter(undefined, [])
    assert.equal(
      code(() =>
        cp.ec2.sessions.createSession({
          networkInterfaceId: enis[1]!.id,
          targetId: t.id,
          filterId: f.id,
          sessionNumber: 1,
          tags: [],
        }),
      ),
      'InterfaceInUseByTrafficMirrorTarget',
    )
    cp.ec2.sessions.createSession({
      networkInterfaceId: enis[0]!.id,
      targetId: t.id,
      filterId: f.id,
      sessionNumber: 1,
      tags: [],
    })
    assert.equal(
      code(() => cp.ec2.targets.createTarget({ networkInterfaceId: enis[0]!.id, tags: [] })),
      'InterfaceInUseByTrafficMirrorSession',
    )
    assert.equal(
      code(() => cp.ec2.targets.createTarget({ tags: [] })),
      'MissingParameter',
    )
    assert.equal(
      code(() =>
        cp.ec2.targets.createTarget({
          networkInterfaceId: enis[2]!.id,
          gatewayLoadBalancerEndpointId: 'vpce-0123456789abcdef0',
          tags: [],
        }),
      ),
      'InvalidParameterCombination',
    )
  })

  test('sessions: 3 per source, numbers 1–32766 unique per source, packet length, VNI; in-use deletes', () => {
    const t = cp.ec2.targets.createTarget({ networkInterfaceId: enis[3]!.id, tags: [] })
    const f = cp.ec2.filters.createFilter('f', [])
    const base = { networkInterfaceId: enis[0]!.id, targetId: t.id, filterId: f.id, tags: [] }
    assert.equal(
      code(() => cp.ec2.sessions.createSession({ ...base, sessionNumber: 0 })),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.sessions.createSession({ ...base, sessionNumber: 32767 })),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.sessions.createSession({ ...base, sessionNumber: 1, packetLength: 8501 })),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.sessions.createSession({ ...base, sessionNumber: 1, virtualNetworkId: 1 << 24 })),
      'InvalidParameterValue',
    )
    const s1 = cp.ec2.sessions.createSession({ ...base, sessionNumber: 1 })
    assert.ok(s1.virtualNetworkId >= 1 && s1.virtualNetworkId < 1 << 24)
    assert.equal(
      code(() => cp.ec2.sessions.createSession({ ...base, sessionNumber: 1 })),
      'InvalidParameterValue',
    )
    cp.ec2.sessions.createSession({ ...base, sessionNumber: 2 })
    cp.ec2.sessions.createSession({ ...base, sessionNumber: 3 })
    assert.equal(
      code(() => cp.ec2.sessions.createSession({ ...base, sessionNumber: 4 })),
      'TrafficMirrorSessionsPerInterfaceLimitExceeded',
    )
    assert.equal(
      code(() => cp.ec2.targets.deleteTarget(t.id)),
      'TrafficMirrorTargetInUseException',
    )
    assert.equal(
      code(() => cp.ec2.filters.deleteFilter(f.id)),
      'TrafficMirrorFilterInUse',
    )
    const m = cp.ec2.sessions.modifySession({
      sessionId: s1.id,
      packetLength: 128,
      removeFields: ['description'],
    })
    assert.equal(m.packetLength, 128)
    assert.equal(
      code(() =>
        cp.ec2.sessions.modifySession({
          sessionId: s1.id,
          packetLength: 64,
          removeFields: ['packet-length'],
        }),
      ),
      'InvalidParameterCombination',
    )
    assert.equal(
      code(() => cp.ec2.sessions.modifySession({ sessionId: s1.id, removeFields: ['bogus'] })),
      'InvalidParameterValue',
    )
    assert.equal(
      cp.ec2.sessions.modifySession({ sessionId: s1.id, removeFields: ['packet-length'] }).packetLength,
      undefined,
    )
  })

  test('rules: enums, numbers, families, ports, uniqueness, quota', () => {
    const f = cp.ec2.filters.createFilter(undefined, [])
    assert.equal(
      code(() => cp.ec2.filters.createRule(f.id, { ...RULE, trafficDirection: 'both' }, [])),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.filters.createRule(f.id, { ...RULE, ruleAction: 'drop' }, [])),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.filters.createRule(f.id, { ...RULE, destinationCidrBlock: '::/0' }, [])),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() =>
        cp.ec2.filters.createRule(f.id, { ...RULE, destinationPortRange: { fromPort: 80, toPort: 80 } }, []),
      ),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() =>
        cp.ec2.filters.createRule(
          f.id,
          { ...RULE, protocol: 1, sourcePortRange: { fromPort: 1, toPort: 2 } },
          [],
        ),
      ),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() =>
        cp.ec2.filters.createRule(
          f.id,
          { ...RULE, protocol: 6, sourcePortRange: { fromPort: 9, toPort: 2 } },
          [],
        ),
      ),
      'InvalidParameterValue',
    )
    const r = cp.ec2.filters.createRule(
      f.id,
      { ...RULE, protocol: 6, destinationPortRange: { fromPort: 80, toPort: 80 } },
      [],
    )
    assert.equal(
      code(() => cp.ec2.filters.createRule(f.id, RULE, [])),
      'TrafficMirrorFilterRuleAlreadyExists',
    )
    cp.ec2.filters.createRule(f.id, { ...RULE, trafficDirection: 'egress' }, [])
    assert.equal(
      code(() => cp.ec2.filters.modifyRule(r.id, { trafficDirection: 'egress' }, [])),
      'TrafficMirrorFilterRuleAlreadyExists',
    )
    assert.equal(
      code(() => cp.ec2.filters.modifyRule(r.id, {}, ['protocol'])),
      'InvalidParameterValue',
    ) // ports without protocol
    const m = cp.ec2.filters.modifyRule(r.id, {}, ['protocol', 'destination-port-range'])
    assert.equal(m.protocol, undefined)
    for (let n = 1; n <= 8; n++) cp.ec2.filters.createRule(f.id, { ...RULE, ruleNumber: n }, [])
    assert.equal(
      code(() => cp.ec2.filters.createRule(f.id, { ...RULE, ruleNumber: 50 }, [])),
      'TrafficMirrorFilterRuleLimitExceeded',
    )
    assert.equal(
      code(() => cp.ec2.filters.createRule('tmf-0123456789abcdef0', RULE, [])),
      'InvalidTrafficMirrorFilterId.NotFound',
    )
  })

  test('sources per interface target: 10', () => {
    const t = cp.ec2.targets.createTarget({ networkInterfaceId: enis[3]!.id, tags: [] })
    const f = cp.ec2.filters.createFilter(undefined, [])
    for (let i = 0; i < 10; i++) {
      const e = cp.ec2.instances.registerInterface({
        subnetId: subnet.id,
        privateIpAddress: `10.0.1.${100 + i}`,
      })
      cp.ec2.sessions.createSession({
        networkInterfaceId: e.id,
        targetId: t.id,
        filterId: f.id,
        sessionNumber: 1,
        tags: [],
      })
    }
    assert.equal(
      code(() =>
        cp.ec2.sessions.createSession({
          networkInterfaceId: enis[0]!.id,
          targetId: t.id,
          filterId: f.id,
          sessionNumber: 1,
          tags: [],
        }),
      ),
      'TrafficMirrorSourcesPerTargetLimitExceeded',
    )
  })

  test('ClientToken: same parameters → same result; other parameters → IdempotentParameterMismatch', () => {
    const idem = { action: 'CreateTrafficMirrorFilter', clientToken: 'tok-1', fingerprint: 'Description=a' }
    const a = cp.ec2.filters.createFilter('a', [], idem)
    const b = cp.ec2.filters.createFilter('a', [], idem)
    assert.equal(a.id, b.id)
    assert.equal(cp.state.table('traffic-mirror-filter').size, 1)
    assert.equal(
      code(() => cp.ec2.filters.createFilter('b', [], { ...idem, fingerprint: 'Description=b' })),
      'IdempotentParameterMismatch',
    )
  })

  test('tags: limits, aws: prefix, overwrite, delete by value', () => {
    assert.equal(
      code(() => cp.ec2.tags.createTags([vpc.id], [{ key: 'aws:x', value: '' }])),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() => cp.ec2.tags.createTags(['vpc-0123456789abcdef0'], [{ key: 'a', value: '' }])),
      'InvalidVpcID.NotFound',
    )
    assert.equal(
      code(() => cp.ec2.tags.createTags(['foo-1'], [{ key: 'a', value: '' }])),
      'InvalidID',
    )
    const many = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: '' }))
    assert.equal(
      code(() => cp.ec2.tags.createTags([vpc.id], many)),
      'TagLimitExceeded',
    )
    cp.ec2.tags.createTags(
      [vpc.id],
      [
        { key: 'Name', value: 'a' },
        { key: 'env', value: 'dev' },
      ],
    )
    cp.ec2.tags.createTags([vpc.id], [{ key: 'Name', value: 'b' }])
    cp.ec2.tags.deleteTags([vpc.id], [{ key: 'env', value: 'prod' }])
    assert.deepEqual(cp.ec2.vpcs.vpc(vpc.id).tags, [
      { key: 'Name', value: 'b' },
      { key: 'env', value: 'dev' },
    ])
    cp.ec2.tags.deleteTags([vpc.id], [])
    assert.deepEqual(cp.ec2.vpcs.vpc(vpc.id).tags, [])
  })

  test('flow logs: validation, unsuccessful items, duplicates, cascade on delete', () => {
    const s3 = {
      resourceType: 'Subnet',
      trafficType: 'ALL',
      logDestinationType: 's3',
      logDestination: 'arn:aws:s3:::bucket/p',
      tags: [],
    }
    const r = cp.ec2.flowLogs.createFlowLogs({ ...s3, resourceIds: [subnet.id, 'subnet-0123456789abcdef0'] })
    assert.equal(r.flowLogIds.length, 1)
    assert.deepEqual(
      r.unsuccessful.map((u) => u.code),
      ['InvalidSubnetID.NotFound'],
    )
    assert.equal(
      code(() => cp.ec2.flowLogs.createFlowLogs({ ...s3, resourceIds: [subnet.id] })),
      'FlowLogAlreadyExists',
    )
    assert.equal(
      code(() => cp.ec2.flowLogs.createFlowLogs({ ...s3, resourceIds: [subnet.id], trafficType: 'SOME' })),
      'InvalidParameterValue',
    )
    assert.equal(
      code(() =>
        cp.ec2.flowLogs.createFlowLogs({ ...s3, resourceIds: [subnet.id], maxAggregationInterval: 30 }),
      ),
      'InvalidParameter',
    )
    assert.equal(
      code(() =>
        cp.ec2.flowLogs.createFlowLogs({ ...s3, resourceIds: [subnet.id], logFormat: '${version} ${bogus}' }),
      ),
      'InvalidParameter',
    )
    assert.equal(
      code(() =>
        cp.ec2.flowLogs.createFlowLogs({
          ...s3,
          resourceIds: [subnet.id],
          logDestinationType: 'cloud-watch-logs',
          logDestination: undefined,
          logGroupName: 'g',
        }),
      ),
      'InvalidParameter',
    )
    const ok = cp.ec2.flowLogs.createFlowLogs({
      ...s3,
      resourceIds: [enis[0]!.id],
      resourceType: 'NetworkInterface',
      logFormat: '${srcaddr} ${tcp-flags}',
    })
    assert.equal(ok.flowLogIds.length, 1)
    assert.deepEqual(
      cp.ec2.flowLogs.deleteFlowLogs(['fl-0123456789abcdef0']).map((u) => u.code),
      ['InvalidFlowLogId.NotFound'],
    )
    cp.ec2.instances.deregisterInterface(enis[0]!.id)
    assert.equal(cp.state.table('flow-log').size, 1)
  })
})

describe('ControlPlane store', () => {
  test('everything survives a reopen, including the state version and tokens', () => {
    const { cp, dir } = open()
    const vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [{ key: 'Name', value: 'v' }])
    const subnet = cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
    const src = cp.ec2.instances.registerInterface({
      subnetId: subnet.id,
      privateIpAddress: '10.0.1.10',
      instanceId: 'i-0123456789abcdef0',
    })
    const dst = cp.ec2.instances.registerInterface({ subnetId: subnet.id, privateIpAddress: '10.0.1.20' })
    const t = cp.ec2.targets.createTarget({ networkInterfaceId: dst.id, tags: [] })
    const f = cp.ec2.filters.createFilter(undefined, [], {
      action: 'CreateTrafficMirrorFilter',
      clientToken: 'x',
      fingerprint: '',
    })
    cp.ec2.filters.createRule(
      f.id,
      { ...RULE, protocol: 6, destinationPortRange: { fromPort: 80, toPort: 80 } },
      [],
    )
    const s = cp.ec2.sessions.createSession({
      networkInterfaceId: src.id,
      targetId: t.id,
      filterId: f.id,
      sessionNumber: 1,
      tags: [],
    })
    cp.ec2.flowLogs.createFlowLogs({
      resourceIds: [vpc.id],
      resourceType: 'VPC',
      trafficType: 'ALL',
      logDestinationType: 's3',
      logDestination: 'arn:aws:s3:::bucket',
      tags: [],
    })
    const before = desiredState(cp.ec2, 'i-0123456789abcdef0')
    const version = cp.version
    cp.close()
    const again = open(dir).cp
    assert.equal(again.version, version)
    assert.deepEqual(desiredState(again.ec2, 'i-0123456789abcdef0'), before)
    assert.equal(again.ec2.sessions.session(s.id).virtualNetworkId, s.virtualNetworkId)
    assert.deepEqual(again.ec2.vpcs.vpc(vpc.id).tags, [{ key: 'Name', value: 'v' }])
    assert.equal(
      again.ec2.filters.createFilter(undefined, [], {
        action: 'CreateTrafficMirrorFilter',
        clientToken: 'x',
        fingerprint: '',
      }).id,
      f.id,
    )
    const d = before.interfaces[0]!
    assert.deepEqual(d.sessions[0]!.target.addresses, ['10.0.1.20'])
    assert.equal(d.sessions[0]!.filter.ingressRules[0]!.destinationPortRange?.fromPort, 80)
    assert.equal(d.flowLogs[0]!.resourceType, 'VPC')
    again.close()
  })
})
