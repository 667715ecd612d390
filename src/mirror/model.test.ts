// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasCode } from '../errors.ts'
import { parseAwsMirrorConfig } from './aws-config.ts'
import { checkFilterRule, type FilterRuleFields } from './rule-check.ts'
import { assignVni, VNI_MAX } from './model.ts'

describe('assignVni', () => {
  test('random, in 1..2^24-1, never one already used', () => {
    const used = new Set<number>()
    for (let i = 0; i < 2000; i++) {
      const v = assignVni(used)
      assert.ok(v >= 1 && v <= VNI_MAX)
      assert.ok(!used.has(v))
      used.add(v)
    }
  })
})

describe('checkFilterRule (the one rule validation of the API and the engine)', () => {
  const ok = {
    ruleNumber: 100,
    ruleAction: 'accept',
    sourceCidrBlock: '10.0.0.0/8',
    destinationCidrBlock: '0.0.0.0/0',
  } as const
  const cases: { name: string; over: Partial<FilterRuleFields>; want: string | null }[] = [
    { name: 'valid', over: {}, want: null },
    { name: 'bare address (offline)', over: { sourceCidrBlock: '10.0.0.1' }, want: null },
    { name: 'action', over: { ruleAction: 'drop' as 'accept' }, want: 'RuleAction' },
    { name: 'rule number 0', over: { ruleNumber: 0 }, want: 'RuleNumber' },
    { name: 'rule number 32767', over: { ruleNumber: 32767 }, want: 'RuleNumber' },
    { name: 'protocol 256', over: { protocol: 256 }, want: 'Protocol' },
    {
      name: 'ports without TCP/UDP',
      over: { sourcePortRange: { fromPort: 1, toPort: 2 } },
      want: 'SourcePortRange',
    },
    {
      name: 'ports reversed',
      over: { protocol: 6, destinationPortRange: { fromPort: 9, toPort: 2 } },
      want: 'DestinationPortRange',
    },
    { name: 'bad source block', over: { sourceCidrBlock: '10.0.0.0/33' }, want: 'SourceCidrBlock' },
    { name: 'bad destination block', over: { destinationCidrBlock: 'x' }, want: 'DestinationCidrBlock' },
    { name: 'mixed families', over: { destinationCidrBlock: '::/0' }, want: 'DestinationCidrBlock' },
  ]
  for (const c of cases) {
    test(c.name, () => assert.equal(checkFilterRule({ ...ok, ...c.over })?.parameter ?? null, c.want))
  }
  test('the API requires the prefix length', () => {
    assert.equal(
      checkFilterRule({ ...ok, sourceCidrBlock: '10.0.0.1' }, { requirePrefix: true })?.parameter,
      'SourceCidrBlock',
    )
  })
})

describe('parseAwsMirrorConfig', () => {
  const base = {
    NetworkInterfaces: [
      {
        NetworkInterfaceId: 'eni-1',
        MacAddress: '02:00:00:00:00:01',
        PrivateIpAddress: '10.0.0.1',
        Ipv6Addresses: [{ Ipv6Address: 'fd00::1' }],
      },
      { NetworkInterfaceId: 'eni-2', MacAddress: '02:00:00:00:00:02', PrivateIpAddress: '10.0.0.9' },
    ],
    TrafficMirrorTargets: [
      { TrafficMirrorTargetId: 'tmt-1', NetworkInterfaceId: 'eni-2', Type: 'network-interface' },
      {
        TrafficMirrorTargetId: 'tmt-2',
        NetworkLoadBalancerArn: 'arn:aws:elasticloadbalancing:x',
        Address: ['10.0.1.1', '10.0.1.2'],
      },
    ],
    TrafficMirrorFilters: [
      {
        TrafficMirrorFilterId: 'tmf-1',
        IngressFilterRules: [
          {
            RuleNumber: 1,
            RuleAction: 'accept',
            Protocol: 0,
            SourceCidrBlock: '0.0.0.0/0',
            DestinationCidrBlock: '0.0.0.0/0',
          },
        ],
        NetworkServices: ['amazon-dns'],
      },
    ],
    TrafficMirrorSessions: [
      {
        TrafficMirrorSessionId: 'tms-1',
        TrafficMirrorTargetId: 'tmt-2',
        TrafficMirrorFilterId: 'tmf-1',
        NetworkInterfaceId: 'eni-1',
        SessionNumber: 1,
        VirtualNetworkId: 7,
      },
    ],
  }
  test('reads the AWS shapes', () => {
    const { state, macByAddress } = parseAwsMirrorConfig(base)
    assert.deepEqual(state.sources, [
      { networkInterfaceId: 'eni-1', mac: '02:00:00:00:00:01', addresses: ['10.0.0.1', 'fd00::1'] },
    ])
    assert.deepEqual(
      state.targets.map((t) => [t.type, t.addresses]),
      [
        ['network-interface', ['10.0.0.9']],
        ['network-load-balancer', ['10.0.1.1', '10.0.1.2']],
      ],
    )
    assert.equal(state.filters[0]!.ingressFilterRules[0]!.protocol, undefined, 'protocol 0 = all')
    assert.deepEqual(state.filters[0]!.networkServices, ['amazon-dns'])
    assert.deepEqual(state.filters[0]!.egressFilterRules, [])
    assert.equal(state.sessions[0]!.packetLength, undefined)
    assert.deepEqual(state.amazonDnsResolvers, ['169.254.169.253', 'fd00:ec2::253'])
    assert.equal(macByAddress.get('10.0.0.9'), '02:00:00:00:00:02')
  })
  const bad: { name: string; cfg: unknown }[] = [
    { name: 'not an object', cfg: [] },
    {
      name: 'session on an unknown interface',
      cfg: { ...base, NetworkInterfaces: base.NetworkInterfaces.slice(1) },
    },
    {
      name: 'target without address',
      cfg: {
        ...base,
        TrafficMirrorTargets: [{ TrafficMirrorTargetId: 'tmt-1', NetworkInterfaceId: 'eni-404' }],
      },
    },
    {
      name: 'session without VNI',
      cfg: {
        ...base,
        TrafficMirrorSessions: [{ ...base.TrafficMirrorSessions[0], VirtualNetworkId: undefined }],
      },
    },
    {
      name: 'bad action',
      cfg: {
        ...base,
        TrafficMirrorFilters: [
          {
            TrafficMirrorFilterId: 'tmf-1',
            IngressFilterRules: [
              {
                RuleNumber: 1,
                RuleAction: 'drop',
                SourceCidrBlock: '0.0.0.0/0',
                DestinationCidrBlock: '0.0.0.0/0',
              },
            ],
          },
        ],
      },
    },
    {
      name: 'unknown network service',
      cfg: {
        ...base,
        TrafficMirrorFilters: [{ TrafficMirrorFilterId: 'tmf-1', NetworkServices: ['aws-ntp'] }],
      },
    },
  ]
  for (const c of bad) {
    test(`rejects ${c.name}`, () =>
      assert.throws(
        () => parseAwsMirrorConfig(c.cfg),
        (e: unknown) => hasCode(e, 'MF_MIRROR_CONFIG'),
      ))
  }
})
