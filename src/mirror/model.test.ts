// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasCode } from '../errors.ts'
import { parseAwsMirrorConfig } from './aws-config.ts'
import { parseCidr } from './cidr.ts'
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

describe('parseCidr', () => {
  const cases = [
    { in: '10.1.2.3/8', text: '10.0.0.0/8' },
    { in: '0.0.0.0/0', text: '0.0.0.0/0' },
    { in: '192.168.1.1', text: '192.168.1.1/32' },
    { in: '2001:db8::1/32', text: '2001:db8:0:0:0:0:0:0/32' },
    { in: '::/0', text: '0:0:0:0:0:0:0:0/0' },
    { in: 'fd00::7/127', text: 'fd00:0:0:0:0:0:0:6/127' },
  ]
  for (const c of cases) test(c.in, () => assert.equal(parseCidr(c.in).text, c.text))
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', 'x', '10.0.0.0/-1', '1.2.3.4/ 8']) {
    test(`rejects ${bad}`, () =>
      assert.throws(
        () => parseCidr(bad),
        (e: unknown) => hasCode(e, 'MF_MIRROR_CONFIG'),
      ))
  }
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
