// SPDX-License-Identifier: Apache-2.0
/**
 * In-process micro-benchmark of the hot path, without file I/O: the first N packets of a capture are
 * loaded into memory once, then decoded and aggregated R times (60-s intervals, records rendered by
 * the LineWriter and discarded). Prints JSON lines with the best run:
 *   {case: 'flowlogs/aggregate/<file>', packets, nsPerPacket, packetsPerSec, records}
 *
 *   node --import tsx bench/flowlogs/aggregate.bench.ts [FILE] [--packets N] [--runs R] [--no-render]
 */
import { basename } from 'node:path'
import { readCapture, type FrameBatch } from '../../src/packet/index.ts'
import { FlowAggregator, LineWriter, parseLogFormat } from '../../src/flowlogs/index.ts'

const file =
  process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : '/tmp/mf-flowlogs/bench5m.pcap'
const opt = (n: string, d: number): number => {
  const i = process.argv.indexOf(`--${n}`)
  return i >= 0 ? Number(process.argv[i + 1]) : d
}
const maxPackets = opt('packets', 2_000_000)
const runs = opt('runs', 5)
const render = !process.argv.includes('--no-render')

/** Deep copy of a reused batch: only its frames' bytes, offsets rebased. */
function copy(b: FrameBatch): FrameBatch {
  let lo = Infinity
  let hi = 0
  for (let i = 0; i < b.count; i++) {
    lo = Math.min(lo, b.starts[i]!)
    hi = Math.max(hi, b.ends[i]!)
  }
  const bytes = b.bytes.slice(lo, hi)
  const starts = b.starts.slice(0, b.count).map((x) => x - lo)
  const ends = b.ends.slice(0, b.count).map((x) => x - lo)
  return {
    bytes,
    view: new DataView(bytes.buffer),
    count: b.count,
    starts,
    ends,
    origLens: b.origLens.slice(0, b.count),
    tsSec: b.tsSec.slice(0, b.count),
    tsNsec: b.tsNsec.slice(0, b.count),
    linkTypes: b.linkTypes.slice(0, b.count),
    ifIndex: b.ifIndex.slice(0, b.count),
  }
}

const batches: FrameBatch[] = []
let loaded = 0
for await (const b of readCapture(file, { batchSize: 4096, chunkBytes: 8 << 20 })) {
  batches.push(copy(b))
  loaded += b.count
  if (loaded >= maxPackets) break
}

const fmt = parseLogFormat()
let best = Infinity
let records = 0
for (let r = 0; r < runs; r++) {
  const w = new LineWriter(fmt)
  let n = 0
  const agg = new FlowAggregator({
    interfaces: [{ interfaceId: 'eni-00000000000000000', accountId: '000000000000' }],
    maxAggregationInterval: 60,
    onRecords: (b) => {
      n += b.count
      if (render) {
        w.writeBatch(b)
        if (w.full) w.take()
      }
    },
  })
  const t0 = process.hrtime.bigint()
  for (const b of batches) agg.addBatch(b)
  agg.finish()
  const ns = Number(process.hrtime.bigint() - t0)
  if (ns < best) best = ns
  records = n
}
console.log(
  JSON.stringify({
    case: `flowlogs/aggregate${render ? '+render' : ''}/${basename(file)}`,
    packets: loaded,
    nsPerPacket: Number((best / loaded).toFixed(1)),
    packetsPerSec: Math.round((loaded / best) * 1e9),
    records,
    runs,
    node: process.version,
  }),
)
