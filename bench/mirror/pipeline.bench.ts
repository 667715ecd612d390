// SPDX-License-Identifier: Apache-2.0
/**
 * The user-space hot path alone (no capture, no socket): decode → direction → evaluate → copy and
 * prepend VXLAN, over batches of synthetic frames, for a few filter shapes. Reports packets/s,
 * ns per packet and heap bytes per packet (should be ~0: nothing is allocated per packet).
 * Run: node --import tsx bench/mirror/pipeline.bench.ts
 */
import { LinkType, type FrameBatch } from '../../src/packet/index.ts'
import { MirrorEvaluator, MirrorPipeline, type MirrorState } from '../../src/mirror/index.ts'
import { acceptAll, buildFrame, rule, simpleState } from '../../src/mirror/testing.ts'

const FRAMES = 4096
const ROUNDS = 400

/** A batch of FRAMES frames: TCP/UDP, both directions, ports spread (seeded, deterministic). */
function makeBatch(): FrameBatch {
  const frames: Uint8Array[] = []
  let seed = 12345
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed % n
  }
  for (let i = 0; i < FRAMES; i++) {
    const out = rnd(2) === 0
    const proto = rnd(4) === 0 ? 17 : 6
    const port = 1024 + rnd(60000)
    frames.push(
      buildFrame(
        out
          ? {
              srcMac: '02:00:00:00:00:01',
              src: '10.0.0.1',
              dst: `10.1.${rnd(256)}.${rnd(256)}`,
              proto,
              sport: port,
              dport: 80 + rnd(3),
              payload: 1200 + rnd(200),
            }
          : {
              dstMac: '02:00:00:00:00:01',
              src: `10.1.${rnd(256)}.${rnd(256)}`,
              dst: '10.0.0.1',
              proto,
              sport: 80 + rnd(3),
              dport: port,
              payload: rnd(100),
            },
      ),
    )
  }
  const total = frames.reduce((a, f) => a + f.length, 0)
  const bytes = new Uint8Array(total)
  const starts = new Uint32Array(FRAMES)
  const ends = new Uint32Array(FRAMES)
  let off = 0
  frames.forEach((f, i) => {
    bytes.set(f, off)
    starts[i] = off
    off += f.length
    ends[i] = off
  })
  return {
    bytes,
    view: new DataView(bytes.buffer),
    count: FRAMES,
    starts,
    ends,
    origLens: Uint32Array.from(frames.map((f) => f.length)),
    tsSec: new Float64Array(FRAMES),
    tsNsec: new Uint32Array(FRAMES),
    linkTypes: new Uint16Array(FRAMES).fill(LinkType.Ethernet),
    ifIndex: new Uint16Array(FRAMES),
  }
}

const cases: { name: string; state: MirrorState }[] = [
  { name: 'accept-all', state: simpleState([{ number: 1, ingress: acceptAll(), egress: acceptAll() }]) },
  {
    name: '10-rules-3-sessions',
    state: simpleState([
      {
        number: 1,
        ingress: [1, 2, 3, 4].map((n) =>
          rule(n, { protocol: 17, destinationPortRange: { fromPort: 5000 + n, toPort: 5000 + n } }),
        ),
      },
      {
        number: 2,
        ingress: [
          rule(1, { ruleAction: 'reject', sourceCidrBlock: '10.1.0.0/24' }),
          rule(2, { protocol: 6 }),
        ],
        egress: [rule(1, { protocol: 6, sourcePortRange: { fromPort: 80, toPort: 81 } })],
      },
      { number: 3, ingress: acceptAll(), egress: acceptAll(), packetLength: 128 },
    ]),
  },
]

const batch = makeBatch()
for (const c of cases) {
  let sent = 0
  const p = new MirrorPipeline(new MirrorEvaluator(c.state), {
    send() {
      sent++
    },
  })
  for (let r = 0; r < 20; r++) p.processBatch(batch) // warm-up
  globalThis.gc?.()
  const heap0 = process.memoryUsage().heapUsed
  const t0 = process.hrtime.bigint()
  for (let r = 0; r < ROUNDS; r++) p.processBatch(batch)
  const ns = Number(process.hrtime.bigint() - t0)
  const heap1 = process.memoryUsage().heapUsed
  const n = FRAMES * ROUNDS
  process.stdout.write(
    JSON.stringify({
      case: `mirror/pipeline/${c.name}`,
      opsPerSec: Math.round(n / (ns / 1e9)),
      nsPerOp: Math.round((ns / n) * 10) / 10,
      bytesPerOp: Math.round(((heap1 - heap0) / n) * 100) / 100,
      mirroredShare: Math.round((sent / (FRAMES * (ROUNDS + 20))) * 1000) / 1000,
      node: process.version,
    }) + '\n',
  )
}
