// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// Every finding type with constructed flow-log records at and around its threshold, and the benign
// patterns that must give nothing (a busy client, service detection on one port).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { IpList } from '../../control/index.ts'
import { detectConfig } from './config.ts'
import { DetectionEngine, emptyRecord, type DetectRecord, type DetectionEngineOptions } from './engine.ts'
import { FindingTypes as T } from './types.ts'

const ATTACKER = '10.0.0.66'
const VICTIM = '10.0.0.10'
const REMOTE = '203.0.113.7'

function engine(extra: Partial<DetectionEngineOptions> = {}): DetectionEngine {
  return new DetectionEngine({
    detectorId: 'd'.repeat(32),
    accountId: '123456789012',
    region: 'us-east-1',
    now: () => new Date('2026-01-01T00:00:00Z'),
    ...extra,
  })
}

function rec(over: Partial<DetectRecord>): DetectRecord {
  return {
    ...emptyRecord(),
    accountId: '123456789012',
    interfaceId: 'eni-0123456789abcdef0',
    srcaddr: ATTACKER,
    dstaddr: VICTIM,
    srcport: 45000,
    dstport: 80,
    protocol: 6,
    packets: 1,
    bytes: 44,
    start: 1_700_000_000,
    end: 1_700_000_010,
    ...over,
  }
}

/** Types of the findings, as "type role local→remote". */
function summary(e: DetectionEngine): string[] {
  return e
    .findings()
    .map((f) => {
      const n = f.Service.Action.NetworkConnectionAction
      const p = f.Service.Action.PortProbeAction?.PortProbeDetails[0]
      const local = n?.LocalIpDetails.IpAddressV4 ?? p?.LocalIpDetails.IpAddressV4
      const remote = n?.RemoteIpDetails.IpAddressV4 ?? p?.RemoteIpDetails.IpAddressV4
      return `${f.Type} ${f.Service.ResourceRole} ${f.Severity} ${local}→${remote}`
    })
    .sort()
}

function scan(e: DetectionEngine, ports: number, over: Partial<DetectRecord> = {}): void {
  for (let p = 1; p <= ports; p++) e.add(rec({ dstport: p, srcport: 61000, ...over }))
}

describe('port scan', () => {
  test('99 probed ports: nothing', () => {
    const e = engine()
    scan(e, 99)
    assert.deepEqual(summary(e), [])
  })
  test('100 probed ports: an outbound scan by the actor and an inbound one against the target', () => {
    const e = engine()
    scan(e, 100)
    assert.deepEqual(summary(e), [
      `${T.InboundPortscan} TARGET 2 ${VICTIM}→${ATTACKER}`,
      `${T.Portscan} ACTOR 5 ${ATTACKER}→${VICTIM}`,
    ])
    const inbound = e.findings().find((f) => f.Type === T.InboundPortscan)!
    assert.equal(inbound.Service.Action.ActionType, 'PORT_PROBE')
    assert.deepEqual(
      inbound.Service.Action.PortProbeAction!.PortProbeDetails.map((d) => d.LocalPortDetails.Port),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    )
  })
  test('only the remote endpoint public: only the local side gets a finding', () => {
    const e = engine()
    scan(e, 1000, { srcaddr: REMOTE })
    assert.deepEqual(summary(e), [`${T.InboundPortscan} TARGET 2 ${VICTIM}→${REMOTE}`])
  })
  test('a scan repeated in the next window updates the same finding: Count 2, EventLastSeen later', () => {
    const e = engine()
    scan(e, 100)
    e.drain()
    scan(e, 100, { start: 1_700_000_700, end: 1_700_000_710 })
    const changed = e.drain()
    assert.equal(changed.length, 2)
    for (const f of changed) {
      assert.equal(f.Service.Count, 2)
      assert.equal(f.Service.EventLastSeen, '2023-11-14T22:25:10.000Z')
    }
    assert.equal(e.findings().length, 2)
  })
  test('with tcp-flags, the SYN-ACK answers are the target speaking, not a scan by it', () => {
    const e = engine()
    for (let p = 1; p <= 200; p++) {
      e.add(rec({ dstport: p, srcport: 61000, tcpFlags: 2 }))
      e.add(rec({ srcaddr: VICTIM, dstaddr: ATTACKER, srcport: p, dstport: 61000, tcpFlags: 18 }))
    }
    assert.deepEqual(summary(e), [
      `${T.InboundPortscan} TARGET 2 ${VICTIM}→${ATTACKER}`,
      `${T.Portscan} ACTOR 5 ${ATTACKER}→${VICTIM}`,
    ])
  })
  test('a busy client (many full connections to one server port) and service detection: nothing', () => {
    const e = engine()
    for (let i = 0; i < 5000; i++) {
      // Requests and answers of real exchanges, 443 and 80, from new client ports.
      e.add(rec({ srcport: 30000 + i, dstport: i % 2 ? 443 : 80, packets: 12, bytes: 9000 }))
      e.add(
        rec({
          srcaddr: VICTIM,
          dstaddr: ATTACKER,
          srcport: i % 2 ? 443 : 80,
          dstport: 30000 + i,
          packets: 10,
        }),
      )
    }
    // nmap -sV against one port: many short probes of that one port.
    for (let i = 0; i < 500; i++) e.add(rec({ srcport: 50000 + i, dstport: 8080, packets: 2 }))
    assert.deepEqual(summary(e), [])
  })
})

describe('port sweep', () => {
  test('one port probed on 99 hosts: nothing; on 100: Impact:EC2/PortSweep (High)', () => {
    const e = engine()
    for (let h = 1; h <= 99; h++) e.add(rec({ dstaddr: `198.51.100.${h}`, dstport: 3306 }))
    assert.deepEqual(summary(e), [])
    e.add(rec({ dstaddr: '198.51.100.100', dstport: 3306 }))
    assert.deepEqual(summary(e), [`${T.PortSweep} ACTOR 8 ${ATTACKER}→198.51.100.100`])
  })
  test('a client talking to 500 web servers (full exchanges) is no sweep', () => {
    const e = engine()
    for (let h = 0; h < 500; h++)
      e.add(rec({ dstaddr: `198.51.${h >> 8}.${h & 255}`, dstport: 443, packets: 20 }))
    assert.deepEqual(summary(e), [])
  })
})

describe('brute force', () => {
  for (const [port, type] of [
    [22, T.SSHBruteForce],
    [3389, T.RDPBruteForce],
  ] as const) {
    test(`${type}: 19 connections nothing, 20 a finding as actor (High) and as target (Low)`, () => {
      const e = engine()
      for (let i = 0; i < 19; i++) e.add(rec({ srcport: 40000 + i, dstport: port, packets: 25, bytes: 4000 }))
      assert.deepEqual(summary(e), [])
      e.add(rec({ srcport: 40019, dstport: port, packets: 25, bytes: 4000 }))
      assert.deepEqual(
        summary(e),
        [`${type} ACTOR 8 ${ATTACKER}→${VICTIM}`, `${type} TARGET 2 ${VICTIM}→${ATTACKER}`].sort(),
      )
    })
  }
  test('an admin with 5 SSH sessions: nothing', () => {
    const e = engine()
    for (let i = 0; i < 5; i++) e.add(rec({ srcport: 40000 + i, dstport: 22, packets: 400 }))
    assert.deepEqual(summary(e), [])
  })
})

describe('denial of service (outbound)', () => {
  const cases: [string, Partial<DetectRecord>][] = [
    [T.DosUdp, { protocol: 17, dstport: 9999 }],
    [T.DosDns, { protocol: 17, dstport: 53 }],
    [T.DosUdpOnTcpPorts, { protocol: 17, dstport: 80 }],
    [T.DosUnusualProtocol, { protocol: 47, srcport: 0, dstport: 0 }],
  ]
  for (const [type, over] of cases) {
    test(`${type}: 499,999 packets nothing, 500,000 a finding`, () => {
      const e = engine()
      e.add(rec({ dstaddr: REMOTE, packets: 499_999, ...over }))
      assert.deepEqual(summary(e), [])
      e.add(rec({ dstaddr: REMOTE, packets: 1, ...over }))
      assert.deepEqual(summary(e), [`${type} ACTOR 8 ${ATTACKER}→${REMOTE}`])
    })
  }
  test(`${T.DosTcp}: needs 100 connections as well as 500,000 packets`, () => {
    const e = engine()
    for (let i = 0; i < 99; i++) e.add(rec({ dstaddr: REMOTE, srcport: 20000 + i, packets: 10_000 }))
    assert.deepEqual(summary(e), [])
    e.add(rec({ dstaddr: REMOTE, srcport: 20099, packets: 10_000 }))
    assert.deepEqual(summary(e), [`${T.DosTcp} ACTOR 8 ${ATTACKER}→${REMOTE}`])
  })
  test('one bulk TCP transfer of 2M packets is no DoS', () => {
    const e = engine()
    e.add(rec({ dstaddr: REMOTE, packets: 2_000_000, bytes: 2_800_000_000 }))
    assert.deepEqual(
      summary(e).filter((s) => s.includes('DenialOfService')),
      [],
    )
  })
})

describe('spam', () => {
  test('mail to 9 servers nothing, to 10 Backdoor:EC2/Spambot', () => {
    const e = engine()
    for (let h = 1; h <= 9; h++) e.add(rec({ dstaddr: `198.51.100.${h}`, dstport: 25, packets: 30 }))
    assert.deepEqual(summary(e), [])
    e.add(rec({ dstaddr: '198.51.100.10', dstport: 25, packets: 30 }))
    assert.deepEqual(summary(e), [`${T.Spambot} ACTOR 5 ${ATTACKER}→198.51.100.10`])
  })
})

describe('baseline', () => {
  const t0 = 1_700_000_000
  test('NetworkPortUnusual: a server port not used while learning, after the learning period only', () => {
    const e = engine()
    e.add(rec({ dstaddr: REMOTE, dstport: 443, packets: 20, start: t0, end: t0 + 5 }))
    // During learning: new ports are learnt, not reported.
    e.add(rec({ dstaddr: REMOTE, dstport: 8443, packets: 20, start: t0 + 3599, end: t0 + 3600 }))
    assert.deepEqual(summary(e), [])
    e.add(rec({ dstaddr: REMOTE, dstport: 443, packets: 20, start: t0 + 4000, end: t0 + 4005 }))
    e.add(rec({ dstaddr: REMOTE, dstport: 8443, packets: 20, start: t0 + 4000, end: t0 + 4005 }))
    assert.deepEqual(summary(e), [])
    e.add(rec({ dstaddr: REMOTE, dstport: 6667, packets: 20, start: t0 + 4000, end: t0 + 4005 }))
    assert.deepEqual(summary(e), [`${T.NetworkPortUnusual} ACTOR 5 ${ATTACKER}→${REMOTE}`])
  })
  test('TrafficVolumeUnusual: over 10× the learnt peak and over 100 MB', () => {
    const e = engine()
    e.add(rec({ dstaddr: REMOTE, dstport: 443, packets: 2000, bytes: 20_000_000, start: t0, end: t0 + 60 }))
    // After learning (peak 20 MB): 199,999,999 bytes is under 10×; 200,000,000 reaches it.
    e.add(
      rec({
        dstaddr: REMOTE,
        dstport: 443,
        packets: 2000,
        bytes: 199_999_999,
        start: t0 + 4000,
        end: t0 + 4060,
      }),
    )
    assert.deepEqual(summary(e), [])
    e.add(rec({ dstaddr: REMOTE, dstport: 443, packets: 1, bytes: 1, start: t0 + 4060, end: t0 + 4061 }))
    assert.deepEqual(summary(e), [`${T.TrafficVolumeUnusual} ACTOR 5 ${ATTACKER}→${REMOTE}`])
  })
})

describe('threat lists and trusted lists', () => {
  const bad = new IpList('# test list\n203.0.113.0/24\n')
  test('outbound to a listed host: MaliciousIPCaller.Custom; a "blackhole" list: BlackholeTraffic', () => {
    const e = engine({ threatLists: [{ name: 'mylist', list: bad }] })
    e.add(rec({ dstaddr: REMOTE, dstport: 443, packets: 20 }))
    e.add(rec({ dstaddr: '198.51.100.1', dstport: 443, packets: 20 }))
    assert.deepEqual(summary(e), [`${T.MaliciousIPCallerCustom} ACTOR 5 ${ATTACKER}→${REMOTE}`])
    const b = engine({ threatLists: [{ name: 'blackhole-sinks.txt', list: bad }] })
    b.add(rec({ dstaddr: REMOTE, dstport: 443, packets: 3 }))
    assert.deepEqual(summary(b), [`${T.BlackholeTraffic} ACTOR 5 ${ATTACKER}→${REMOTE}`])
  })
  test('a listed host probing an open port: Recon:EC2/PortProbeUnprotectedPort; a blocked probe: not that', () => {
    const e = engine({ threatLists: [{ name: 'scanners', list: bad }] })
    e.add(rec({ srcaddr: REMOTE, dstaddr: VICTIM, dstport: 22, packets: 1 }))
    e.add(rec({ srcaddr: REMOTE, dstaddr: VICTIM, dstport: 3306, packets: 1 }))
    assert.deepEqual(summary(e), [`${T.PortProbeUnprotectedPort} TARGET 2 ${VICTIM}→${REMOTE}`])
    const f = e.findings()[0]!
    assert.deepEqual(
      f.Service.Action.PortProbeAction!.PortProbeDetails.map((d) => d.LocalPortDetails.Port),
      [22, 3306],
    )
    const r = engine({ threatLists: [{ name: 'scanners', list: bad }] })
    r.add(rec({ srcaddr: REMOTE, dstaddr: VICTIM, dstport: 22, packets: 1, rejected: true }))
    assert.deepEqual(summary(r), [`${T.MaliciousIPCallerCustom} TARGET 5 ${VICTIM}→${REMOTE}`])
  })
  test('a trusted list suppresses every finding about its hosts', () => {
    const e = engine({ trusted: [new IpList(`${ATTACKER}\n`)] })
    scan(e, 1000)
    assert.deepEqual(summary(e), [])
    assert.equal(e.stats.trustedSkipped, 1000)
  })
})

describe('bounds', () => {
  test('the pair table holds at most caps.pairs entries, evicting the oldest', () => {
    const config = detectConfig(['caps.pairs=100'])
    const e = engine({ config })
    for (let h = 0; h < 1000; h++) e.add(rec({ srcaddr: `10.1.${h >> 8}.${h & 255}`, packets: 30 }))
    // At the cap an eighth is evicted at once: 1000 entries through a table of 100 leave 88 to 100.
    assert.ok(e.stats.evicted.pairs >= 900 && e.stats.evicted.pairs <= 912, String(e.stats.evicted.pairs))
  })
  test('findings are capped: the least recently updated is evicted', () => {
    const config = detectConfig(['caps.findings=3', 'portscan.minPorts=1'])
    const e = engine({ config })
    for (let h = 0; h < 10; h++)
      e.add(rec({ interfaceId: `eni-${h}`, srcaddr: REMOTE, dstaddr: `10.2.0.${h}` }))
    assert.equal(e.findings().length, 3)
    assert.equal(e.stats.evicted.findings, 7)
  })
  test('unknown or non-positive settings are refused with MF_DETECT_CONFIG', () => {
    assert.throws(() => detectConfig(['portscan.nope=1']), { code: 'MF_DETECT_CONFIG' })
    assert.throws(() => detectConfig(['portscan.minPorts=-1']), { code: 'MF_DETECT_CONFIG' })
    assert.throws(() => detectConfig(['constructor.x=1']), { code: 'MF_DETECT_CONFIG' })
    assert.equal(detectConfig(['probeMaxPackets=5']).probeMaxPackets, 5)
  })
})

test('a finding has the GuardDuty shape', () => {
  const e = engine()
  for (let i = 0; i < 20; i++)
    e.add(
      rec({
        srcaddr: REMOTE,
        srcport: 40000 + i,
        dstport: 22,
        packets: 25,
        direction: 1,
        instanceId: 'i-0123456789abcdef0',
        vpcId: 'vpc-1',
        subnetId: 'subnet-1',
      }),
    )
  const [f] = e.drain()
  assert.ok(f)
  assert.equal(f.Type, T.SSHBruteForce)
  assert.equal(f.SchemaVersion, '2.0')
  assert.match(f.Id, /^[0-9a-f]{32}$/)
  assert.equal(f.Arn, `arn:aws:guardduty:us-east-1:123456789012:detector/${'d'.repeat(32)}/finding/${f.Id}`)
  assert.deepEqual(f.Resource, {
    ResourceType: 'Instance',
    InstanceDetails: {
      InstanceId: 'i-0123456789abcdef0',
      NetworkInterfaces: [
        {
          NetworkInterfaceId: 'eni-0123456789abcdef0',
          PrivateIpAddress: VICTIM,
          PrivateIpAddresses: [{ PrivateIpAddress: VICTIM }],
          SubnetId: 'subnet-1',
          VpcId: 'vpc-1',
        },
      ],
    },
  })
  assert.deepEqual(f.Service.Action, {
    ActionType: 'NETWORK_CONNECTION',
    NetworkConnectionAction: {
      Blocked: false,
      ConnectionDirection: 'INBOUND',
      Protocol: 'TCP',
      LocalIpDetails: { IpAddressV4: VICTIM },
      LocalPortDetails: { Port: 22, PortName: 'SSH' },
      RemoteIpDetails: { IpAddressV4: REMOTE },
      RemotePortDetails: { Port: 40019, PortName: 'Unknown' },
    },
  })
  assert.equal(f.Service.ServiceName, 'guardduty')
  assert.equal(f.Service.Count, 1)
  assert.equal(f.Service.EventFirstSeen, '2023-11-14T22:13:20.000Z')
  assert.equal(f.CreatedAt, '2026-01-01T00:00:00.000Z')
})
