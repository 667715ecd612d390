// SPDX-License-Identifier: Apache-2.0
// test-group: fuzz
// Property: the aggregator equals a naive per-(interval, direction, 5-tuple) sum, whatever the packets,
// the table size (SKIPDATA accounts for every packet that did not fit) and the batch boundaries.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { aggregate, synthBatch, type SynthPacket } from './testing.ts'

const ADDRS = ['10.0.0.5', '10.0.0.6', '192.0.2.1', '2001:db8::5', '2001:db8::1']

const packet = fc
  .record({
    a: fc.integer({ min: 0, max: 2 }),
    b: fc.integer({ min: 0, max: 2 }),
    v6: fc.boolean(),
    proto: fc.constantFrom(1, 6, 17),
    sport: fc.integer({ min: 0, max: 3 }),
    dport: fc.integer({ min: 0, max: 3 }),
    len: fc.integer({ min: 0, max: 100 }),
    flags: fc.integer({ min: 0, max: 255 }),
    dt: fc.integer({ min: 0, max: 40 }),
  })
  .map((r): SynthPacket & { dt: number } => ({
    src: r.v6 ? ADDRS[3 + (r.a % 2)]! : ADDRS[r.a]!,
    dst: r.v6 ? ADDRS[3 + (r.b % 2)]! : ADDRS[r.b]!,
    proto: r.proto,
    sport: r.proto === 1 ? 0 : 1000 + r.sport,
    dport: r.proto === 1 ? 0 : 2000 + r.dport,
    ipLength: (r.v6 ? 60 : 40) + r.len,
    tcpFlags: r.flags,
    ts: 0,
    dt: r.dt,
  }))

test('aggregator = naive per-interval sums; skipped packets all accounted for', () => {
  fc.assert(
    fc.property(
      fc.array(packet, { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 50 }),
      (pkts, tableSize, split) => {
        let t = 1_700_000_000
        for (const p of pkts) p.ts = t += p.dt
        const batches = []
        for (let i = 0; i < pkts.length; i += split)
          batches.push({ batch: synthBatch(pkts.slice(i, i + split)) })
        const { records, aggregator } = aggregate(
          {
            interfaces: [{ interfaceId: 'eni-1', accountId: '1', addresses: ['10.0.0.5', '2001:db8::5'] }],
            maxAggregationInterval: 60,
            flowTableSize: tableSize,
          },
          batches,
        )
        const want = new Map<string, number>()
        for (const p of pkts) {
          const k = `${Math.floor(p.ts / 60)} ${p.src} ${p.dst} ${p.proto} ${p.sport} ${p.dport}`
          want.set(k, (want.get(k) ?? 0) + 1)
        }
        let okPackets = 0
        for (const r of records) {
          if (r.logStatus !== 'OK') continue
          const k = `${Math.floor(r.start / 60)} ${r.pktSrcaddr} ${r.pktDstaddr} ${r.protocol} ${r.srcport} ${r.dstport}`
          assert.equal(r.packets, want.get(k), k)
          assert.equal(Math.floor(r.start / 60), Math.floor(r.end / 60))
          okPackets += r.packets!
        }
        const st = aggregator.stats
        assert.equal(okPackets + st.skippedPackets, pkts.length)
        assert.equal(records.filter((r) => r.logStatus === 'SKIPDATA').length > 0, st.skippedPackets > 0)
        assert.ok(records.filter((r) => r.logStatus === 'OK').length <= tableSize * st.windows)
      },
    ),
    { seed: Number(process.env.FC_SEED ?? 1), numRuns: 300 },
  )
})
