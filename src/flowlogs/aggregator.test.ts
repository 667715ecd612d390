// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { sharedData } from '../../test/helpers/shared.ts'
import { aggregate, synthBatch, type SynthPacket } from './testing.ts'
import { parseLogFormat } from './log-format.ts'
import { Action, Direction } from './record.ts'
import { FlowAggregator, MAX_NODATA_INTERVALS } from './aggregator.ts'
import { hasCode } from '../errors.ts'

const ENI = { interfaceId: 'eni-0123456789abcdef0', accountId: '123456789012' }
const T0 = 1_700_000_040 // on a minute boundary (1_700_000_000 is 20 s into a minute)
const FLAG = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const

function tcp(ts: number, flags: number, ipLength = 60, sport = 40000, dport = 443): SynthPacket {
  return { src: '10.0.0.5', dst: '192.0.2.10', proto: 6, sport, dport, ipLength, tcpFlags: flags, ts }
}

describe('tcp-flags (shared/data/flowlog-vectors/derived/tcp-flags-cases.jsonl)', () => {
  const cases = readFileSync(sharedData('flowlog-vectors', 'derived', 'tcp-flags-cases.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { id: string; packets: (keyof typeof FLAG)[][]; expected_tcp_flags: number })
  for (const c of cases) {
    test(c.id, () => {
      const pkts = c.packets.map((fl, k) =>
        tcp(
          T0 + k,
          fl.reduce((a, f) => a | FLAG[f], 0),
        ),
      )
      const { records } = aggregate({ interfaces: [ENI], maxAggregationInterval: 0 }, [
        { batch: synthBatch(pkts) },
      ])
      assert.equal(records.length, 1)
      assert.equal(records[0]!.tcpFlags, c.expected_tcp_flags)
      assert.equal(records[0]!.packets, c.packets.length)
    })
  }
  test('non-TCP records carry 0 (UNCONFIRMED choice)', () => {
    const { records } = aggregate({ interfaces: [ENI], maxAggregationInterval: 0 }, [
      {
        batch: synthBatch([
          { src: '10.0.0.5', dst: '192.0.2.1', proto: 17, sport: 5, dport: 6, ipLength: 28, ts: T0 },
        ]),
      },
    ])
    assert.equal(records[0]!.tcpFlags, 0)
  })
})

describe('aggregation', () => {
  test('one record per direction and 5-tuple; bytes are IP lengths; ICMP ports 0', () => {
    const pkts: SynthPacket[] = [
      tcp(T0, FLAG.SYN, 60),
      {
        src: '192.0.2.10',
        dst: '10.0.0.5',
        proto: 6,
        sport: 443,
        dport: 40000,
        ipLength: 60,
        tcpFlags: FLAG.SYN | FLAG.ACK,
        ts: T0,
      },
      tcp(T0 + 1, FLAG.ACK, 52),
      tcp(T0 + 2, FLAG.PSH | FLAG.ACK, 1500),
      { src: '203.0.113.12', dst: '10.0.0.5', proto: 1, ipLength: 84, ts: T0 + 3 },
      { src: '203.0.113.12', dst: '10.0.0.5', proto: 1, ipLength: 84, ts: T0 + 4 },
    ]
    const { records } = aggregate({ interfaces: [ENI], maxAggregationInterval: 0 }, [
      { batch: synthBatch(pkts) },
    ])
    assert.deepEqual(
      records.map((r) => [
        r.srcaddr,
        r.dstaddr,
        r.srcport,
        r.dstport,
        r.protocol,
        r.packets,
        r.bytes,
        r.start,
        r.end,
        r.tcpFlags,
      ]),
      [
        ['10.0.0.5', '192.0.2.10', 40000, 443, 6, 3, 1612, T0, T0 + 2, 2],
        ['192.0.2.10', '10.0.0.5', 443, 40000, 6, 1, 60, T0, T0, 18],
        ['203.0.113.12', '10.0.0.5', 0, 0, 1, 2, 168, T0 + 3, T0 + 4, 0],
      ],
    )
  })

  test('a long flow split across 60 s windows gives one record per window', () => {
    // One packet every 7 s for 200 s; T0 is on a minute boundary.
    const pkts: SynthPacket[] = []
    for (let t = 0; t <= 200; t += 7) pkts.push(tcp(T0 + t, FLAG.ACK, 100))
    const { records, aggregator } = aggregate({ interfaces: [ENI], maxAggregationInterval: 60 }, [
      { batch: synthBatch(pkts) },
    ])
    assert.deepEqual(
      records.map((r) => [r.start, r.end, r.packets, r.bytes]),
      [
        [T0, T0 + 56, 9, 900],
        [T0 + 63, T0 + 119, 9, 900],
        [T0 + 126, T0 + 175, 8, 800],
        [T0 + 182, T0 + 196, 3, 300],
      ],
    )
    assert.equal(
      records.reduce((a, r) => a + r.packets!, 0),
      pkts.length,
    )
    assert.equal(aggregator.stats.windows, 4)
  })

  test('600 s windows keep the same flow in one record', () => {
    const pkts: SynthPacket[] = []
    for (let t = 0; t < 500; t += 50) pkts.push(tcp(1_700_000_400 + t, FLAG.ACK, 100))
    const { records } = aggregate({ interfaces: [ENI], maxAggregationInterval: 600 }, [
      { batch: synthBatch(pkts) },
    ])
    assert.equal(records.length, 1)
    assert.equal(records[0]!.packets, 10)
  })

  test('full table: SKIPDATA for the interval, skipped packets counted, room again next interval', () => {
    const pkts: SynthPacket[] = []
    for (let f = 0; f < 5; f++) pkts.push(tcp(T0 + f, FLAG.ACK, 100, 1000 + f))
    pkts.push(tcp(T0 + 9, FLAG.ACK, 100, 1004)) // skipped again
    pkts.push(tcp(T0 + 10, FLAG.ACK, 100, 1000)) // fits: existing flow
    pkts.push(tcp(T0 + 60, FLAG.ACK, 100, 1004)) // next window: fits
    const fmt = parseLogFormat()
    const { records, lines, aggregator } = aggregate(
      { interfaces: [ENI], maxAggregationInterval: 60, flowTableSize: 2 },
      [{ batch: synthBatch(pkts) }],
      fmt,
    )
    assert.deepEqual(
      records.map((r) => [r.logStatus, r.srcport, r.packets]),
      [
        ['OK', 1000, 2],
        ['OK', 1001, 1],
        ['SKIPDATA', null, null],
        ['OK', 1004, 1],
      ],
    )
    assert.equal(
      lines[2],
      `2 123456789012 eni-0123456789abcdef0 - - - - - - - ${T0 + 2} ${T0 + 9} - SKIPDATA`,
    )
    assert.equal(aggregator.stats.skippedPackets, 4)
    assert.equal(aggregator.stats.skipdataRecords, 1)
  })

  test('NODATA for idle interfaces and idle intervals, when asked', () => {
    const eni2 = { interfaceId: 'eni-22222222222222222', accountId: '123456789012' }
    const fmt = parseLogFormat()
    const W = 1_700_000_100 // on a minute boundary: window [W, W + 60)
    const { lines, aggregator } = aggregate(
      { interfaces: [ENI, eni2], maxAggregationInterval: 60, nodata: true },
      [{ batch: synthBatch([tcp(W, FLAG.ACK), tcp(W + 130, FLAG.ACK)]) }],
      fmt,
    )
    const ws = W
    assert.deepEqual(lines, [
      `2 123456789012 eni-0123456789abcdef0 10.0.0.5 192.0.2.10 40000 443 6 1 60 ${W} ${W} ACCEPT OK`,
      `2 123456789012 eni-22222222222222222 - - - - - - - ${ws} ${ws + 59} - NODATA`,
      `2 123456789012 eni-0123456789abcdef0 - - - - - - - ${ws + 60} ${ws + 119} - NODATA`,
      `2 123456789012 eni-22222222222222222 - - - - - - - ${ws + 60} ${ws + 119} - NODATA`,
      `2 123456789012 eni-0123456789abcdef0 10.0.0.5 192.0.2.10 40000 443 6 1 60 ${W + 130} ${W + 130} ACCEPT OK`,
      `2 123456789012 eni-22222222222222222 - - - - - - - ${ws + 120} ${ws + 179} - NODATA`,
    ])
    assert.equal(aggregator.stats.nodataRecords, 4)
  })

  test('NODATA stops after MAX_NODATA_INTERVALS idle intervals of one gap and counts the rest', () => {
    const W = 1_700_000_100
    const gap = MAX_NODATA_INTERVALS + 6 // idle intervals between the two packets' intervals
    const { lines, aggregator } = aggregate(
      { interfaces: [ENI], maxAggregationInterval: 60, nodata: true },
      [{ batch: synthBatch([tcp(W, FLAG.ACK), tcp(W + 60 * (gap + 1), FLAG.ACK)]) }],
      parseLogFormat(),
    )
    assert.equal(aggregator.stats.nodataRecords, MAX_NODATA_INTERVALS)
    assert.equal(aggregator.stats.nodataSkippedIntervals, 6)
    assert.equal(lines.filter((l) => l.endsWith('NODATA')).length, MAX_NODATA_INTERVALS)
    assert.equal(aggregator.stats.nodataSkippedIntervals + aggregator.stats.nodataRecords, gap)
  })

  test('live flush(now) closes the interval without a packet of the next one', () => {
    const got: number[] = []
    const agg = new FlowAggregator({
      interfaces: [ENI],
      maxAggregationInterval: 60,
      onRecords: (b) => {
        for (let i = 0; i < b.count; i++) got.push(b.packets[i]!)
      },
    })
    agg.addBatch(synthBatch([tcp(T0, FLAG.ACK), tcp(T0 + 1, FLAG.ACK)]))
    agg.flush(T0 + 59)
    assert.deepEqual(got, [])
    agg.flush(T0 + 60)
    assert.deepEqual(got, [2])
    assert.equal(agg.activeFlows, 0)
  })

  test('direction and srcaddr/dstaddr relative to the interface (primary address, spec §1.9)', () => {
    const iface = { ...ENI, addresses: ['10.0.0.5', '10.0.0.6', '2001:db8::5'] }
    const fmt = parseLogFormat(
      '${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr} ${flow-direction} ${type}',
    )
    const pkts: SynthPacket[] = [
      { src: '198.51.100.7', dst: '10.0.0.6', proto: 17, sport: 1, dport: 2, ipLength: 40, ts: T0 },
      { src: '10.0.0.6', dst: '198.51.100.7', proto: 17, sport: 2, dport: 1, ipLength: 40, ts: T0 },
      { src: '2001:db8::5', dst: '2001:db8:0:0:1::9', proto: 17, sport: 3, dport: 4, ipLength: 60, ts: T0 },
      { src: '192.0.2.1', dst: '192.0.2.2', proto: 17, sport: 5, dport: 6, ipLength: 40, ts: T0 },
    ]
    const { lines } = aggregate(
      { interfaces: [iface], maxAggregationInterval: 0 },
      [{ batch: synthBatch(pkts) }],
      fmt,
    )
    assert.deepEqual(lines, [
      '198.51.100.7 10.0.0.5 198.51.100.7 10.0.0.6 ingress IPv4',
      '10.0.0.5 198.51.100.7 10.0.0.6 198.51.100.7 egress IPv4',
      '2001:db8::5 2001:db8::1:0:0:9 2001:db8::5 2001:db8::1:0:0:9 egress IPv6',
      '192.0.2.1 192.0.2.2 192.0.2.1 192.0.2.2 - IPv4',
    ])
  })

  test('per-frame direction hints win (middlebox / NAT interface)', () => {
    const iface = { ...ENI, addresses: ['10.0.0.220'] }
    const fmt = parseLogFormat('${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}')
    const batch = synthBatch([
      { src: '10.0.1.5', dst: '203.0.113.5', proto: 6, sport: 1, dport: 2, ipLength: 40, ts: T0 },
      { src: '203.0.113.5', dst: '10.0.1.5', proto: 6, sport: 2, dport: 1, ipLength: 40, ts: T0 },
    ])
    const { lines } = aggregate(
      { interfaces: [iface], maxAggregationInterval: 0 },
      [{ batch, direction: Uint8Array.of(Direction.Ingress, Direction.Egress) }],
      fmt,
    )
    assert.deepEqual(lines, [
      '10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5',
      '10.0.0.220 10.0.1.5 203.0.113.5 10.0.1.5',
    ])
  })

  test('many flows: the index grows while flows keep their counts (IPv4 and IPv6)', () => {
    const pkts: SynthPacket[] = []
    for (let round = 0; round < 2; round++) {
      for (let f = 0; f < 40_000; f++) {
        const v6 = f % 5 === 0
        pkts.push({
          src: v6
            ? `2001:db8::${(f >>> 16).toString(16)}:${(f & 0xffff).toString(16)}`
            : `10.${f >>> 16}.${(f >>> 8) & 255}.${f & 255}`,
          dst: v6 ? '2001:db8::1' : '192.0.2.1',
          proto: 17,
          sport: 1000 + (f % 7),
          dport: 53,
          ipLength: v6 ? 48 + round : 28 + round,
          ts: T0 + round,
        })
      }
    }
    const { records, aggregator } = aggregate(
      { interfaces: [ENI], maxAggregationInterval: 60, flowTableSize: 100_000 },
      [{ batch: synthBatch(pkts) }],
    )
    assert.equal(records.length, 40_000)
    assert.ok(
      records.every(
        (r) =>
          r.packets === 2 &&
          r.bytes === (r.srcaddr!.includes(':') ? 97 : 57) &&
          r.start === T0 &&
          r.end === T0 + 1,
      ),
    )
    assert.equal(aggregator.stats.skippedPackets, 0)
  })

  test('link-layer direction: SLL packet type, and Ethernet MACs of the interface', () => {
    const fmt = parseLogFormat('${srcaddr} ${dstaddr} ${flow-direction}')
    const mac = '02:00:00:00:00:05'
    const other = '02:00:00:00:00:99'
    const u = (src: string, dst: string, extra: Partial<SynthPacket>): SynthPacket => ({
      src,
      dst,
      proto: 17,
      sport: 1,
      dport: 2,
      ipLength: 40,
      ts: T0,
      ...extra,
    })
    const { lines } = aggregate(
      { interfaces: [{ ...ENI, addresses: ['10.0.0.5'], mac }], maxAggregationInterval: 0 },
      [
        {
          batch: synthBatch([
            u('10.9.9.1', '203.0.113.5', { sllType: 4 }), // forwarded out: egress though not our address
            u('203.0.113.5', '10.9.9.1', { sllType: 0 }),
            u('10.9.9.2', '203.0.113.6', { eth: { src: mac, dst: other } }),
            u('203.0.113.6', '10.9.9.2', { eth: { src: other, dst: mac } }),
            u('203.0.113.7', '10.9.9.3', { eth: { src: other, dst: 'ff:ff:ff:ff:ff:ff' } }),
            u('10.0.0.5', '203.0.113.8', { eth: { src: other, dst: '02:00:00:00:00:77' } }), // neither MAC: addresses
          ]),
        },
      ],
      fmt,
    )
    assert.deepEqual(lines, [
      '10.0.0.5 203.0.113.5 egress',
      '203.0.113.5 10.0.0.5 ingress',
      '10.0.0.5 203.0.113.6 egress',
      '203.0.113.6 10.0.0.5 ingress',
      '203.0.113.7 10.0.0.5 ingress',
      '10.0.0.5 203.0.113.8 egress',
    ])
  })

  test('traffic type filters by action; action is part of the key', () => {
    const batch = synthBatch([tcp(T0, FLAG.SYN), tcp(T0 + 1, FLAG.SYN), tcp(T0 + 2, FLAG.SYN)])
    const action = Uint8Array.of(Action.ACCEPT, Action.REJECT, Action.REJECT)
    const run = (trafficType: 'ACCEPT' | 'REJECT' | 'ALL') =>
      aggregate({ interfaces: [ENI], maxAggregationInterval: 0, trafficType }, [
        { batch, action },
      ]).records.map((r) => [r.action, r.packets])
    assert.deepEqual(run('ALL'), [
      ['ACCEPT', 1],
      ['REJECT', 2],
    ])
    assert.deepEqual(run('ACCEPT'), [['ACCEPT', 1]])
    assert.deepEqual(run('REJECT'), [['REJECT', 2]])
    // Capture files: no action array → every packet ACCEPT.
    assert.deepEqual(
      aggregate({ interfaces: [ENI], maxAggregationInterval: 0, trafficType: 'REJECT' }, [{ batch }]).records,
      [],
    )
  })

  test('traffic AWS never logs is dropped when excludeUnlogged is on', () => {
    const batch = synthBatch([
      { src: '10.0.0.5', dst: '169.254.169.254', proto: 6, sport: 5000, dport: 80, ipLength: 60, ts: T0 },
      { src: '10.0.0.5', dst: '169.254.169.123', proto: 17, sport: 123, dport: 123, ipLength: 76, ts: T0 },
      { src: '0.0.0.0', dst: '255.255.255.255', proto: 17, sport: 68, dport: 67, ipLength: 328, ts: T0 },
      { src: '10.0.0.5', dst: '192.0.2.1', proto: 17, sport: 5000, dport: 53, ipLength: 60, ts: T0 },
    ])
    const on = aggregate({ interfaces: [ENI], maxAggregationInterval: 0, excludeUnlogged: true }, [{ batch }])
    assert.equal(on.records.length, 1)
    assert.equal(on.aggregator.stats.excludedPackets, 3)
    const off = aggregate({ interfaces: [ENI], maxAggregationInterval: 0 }, [{ batch }])
    assert.equal(off.records.length, 4)
  })

  test('issue 9 item 11: only traffic between two DHCP ports is DHCP; a scan of UDP 67 is logged', () => {
    const udp = (src: string, dst: string, sport: number, dport: number) => ({
      src,
      dst,
      proto: 17,
      sport,
      dport,
      ipLength: src.includes(':') ? 48 : 28,
      ts: T0,
    })
    const cases = [
      { name: 'DHCPv4 client → server', p: udp('0.0.0.0', '255.255.255.255', 68, 67), logged: false },
      { name: 'DHCPv4 server → client', p: udp('10.0.0.1', '10.0.0.5', 67, 68), logged: false },
      { name: 'DHCPv4 relay → server', p: udp('10.0.0.5', '10.0.0.1', 67, 67), logged: false },
      { name: 'DHCPv6 client → server', p: udp('fe80::1', 'ff02::1:2', 546, 547), logged: false },
      { name: 'DHCPv6 relay → server', p: udp('2001:db8::5', '2001:db8::1', 547, 547), logged: false },
      {
        name: 'scan of UDP 67 from an ephemeral port',
        p: udp('10.0.0.5', '10.0.0.1', 40000, 67),
        logged: true,
      },
      {
        name: 'reply of UDP 67 to an ephemeral port',
        p: udp('10.0.0.1', '10.0.0.5', 67, 40000),
        logged: true,
      },
      { name: 'UDP 68 from an ephemeral port', p: udp('10.0.0.5', '10.0.0.1', 40001, 68), logged: true },
      {
        name: 'scan of UDP 547 from an ephemeral port',
        p: udp('2001:db8::5', '2001:db8::1', 40000, 547),
        logged: true,
      },
      { name: 'DHCPv4 port to a DHCPv6 port', p: udp('2001:db8::5', '2001:db8::1', 67, 547), logged: true },
    ]
    for (const c of cases) {
      const r = aggregate({ interfaces: [ENI], maxAggregationInterval: 0, excludeUnlogged: true }, [
        { batch: synthBatch([c.p]) },
      ])
      assert.equal(r.records.length, c.logged ? 1 : 0, c.name)
      assert.equal(r.aggregator.stats.excludedPackets, c.logged ? 0 : 1, c.name)
      if (c.logged) assert.equal(r.records[0]!['dstport'], c.p.dport, c.name)
    }
  })

  test('config errors are typed', () => {
    const bad = [{ maxAggregationInterval: 30 }, { flowTableSize: 0 }, { trafficType: 'SOME' as 'ALL' }]
    for (const b of bad) {
      assert.throws(
        () => new FlowAggregator({ interfaces: [ENI], onRecords: () => {}, ...b }),
        (e: unknown) => hasCode(e, 'MF_FLOWLOGS_CONFIG'),
      )
    }
    assert.throws(
      () => new FlowAggregator({ interfaces: [{ ...ENI, addresses: ['10.0.0.300'] }], onRecords: () => {} }),
      /not an IPv4 or IPv6 address/,
    )
    assert.throws(
      () => new FlowAggregator({ interfaces: [{ ...ENI, mac: '02:00:00:00:05' }], onRecords: () => {} }),
      /not a MAC address/,
    )
  })
})

describe('VXLAN decapsulation', () => {
  test('an inner frame that does not decode is counted and the packet keyed by its outer UDP flow', () => {
    // Outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 + 10 bytes of a cut inner IPv4 header.
    const batch = synthBatch([
      { src: '10.0.0.5', dst: '10.0.0.9', proto: 17, sport: 65400, dport: 4789, ipLength: 60, ts: T0 },
    ])
    const vx = batch.starts[0]! + 28
    batch.bytes[vx] = 0x08
    batch.bytes.set([0x00, 0x00, 0x07], vx + 4) // VNI 7
    batch.view.setUint16(vx + 8 + 12, 0x0800)
    batch.bytes[vx + 8 + 14] = 0x45
    const { records, aggregator } = aggregate(
      { interfaces: [ENI], maxAggregationInterval: 0, decapVxlan: true },
      [{ batch }],
    )
    assert.equal(aggregator.stats.innerMalformedPackets, 1)
    assert.equal(aggregator.stats.malformedPackets, 0)
    assert.equal(records.length, 1)
    assert.equal(records[0]!.dstport, 4789)
    assert.equal(records[0]!.vni, -1)
    assert.equal(records[0]!.packets, 1)
  })
})
