// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// test-group: namespace
// GSO-exact capture (issue: live flow logs undercounted under GRO/GSO/TSO). iperf3 runs from namespace
// A through a router namespace R to B, with the veth offloads on as the kernel sets them (TSO/GSO on:
// A's interface carries 64 KiB super-frames). R's link to B has gso_max_segs 1, so R segments in
// software and a tcpdump there sees the real wire segments: the oracle. A second oracle is A's own
// TCP counter (nstat TcpOutSegs + TcpRetransSegs). The capture on A's interface must equal both,
// packet for packet and byte for byte (IP lengths), and plain tcpdump on A must not (the old count).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { after, before, test } from 'node:test'
import { Direction, FlowAggregator, type FlowRecordBatch } from '../flowlogs/index.ts'
import { decodeFrame, PacketMeta, type FrameBatch } from '../packet/index.ts'
import { defaultCaptureOptions, LiveCapture } from './index.ts'

const P = `mfgso${process.pid % 100000}`
const [A, R, B] = [`${P}a`, `${P}r`, `${P}b`]

function sh(...argv: string[]): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const ns = (n: string, ...argv: string[]): string => sh('ip', 'netns', 'exec', n, ...argv)

before(() => {
  for (const n of [A, R, B]) {
    sh('ip', 'netns', 'add', n)
    ns(n, 'ip', 'link', 'set', 'lo', 'up')
  }
  ns(A, 'ip', 'link', 'add', 'ga', 'type', 'veth', 'peer', 'name', 'ra', 'netns', R)
  ns(R, 'ip', 'link', 'add', 'rb', 'type', 'veth', 'peer', 'name', 'gb', 'netns', B)
  ns(R, 'ip', 'link', 'set', 'rb', 'gso_max_segs', '1')
  ns(A, 'ip', 'addr', 'add', '10.77.1.1/24', 'dev', 'ga')
  ns(R, 'ip', 'addr', 'add', '10.77.1.254/24', 'dev', 'ra')
  ns(R, 'ip', 'addr', 'add', '10.77.2.254/24', 'dev', 'rb')
  ns(B, 'ip', 'addr', 'add', '10.77.2.1/24', 'dev', 'gb')
  for (const [n, i] of [
    [A, 'ga'],
    [R, 'ra'],
    [R, 'rb'],
    [B, 'gb'],
  ] as const)
    ns(n, 'ip', 'link', 'set', i, 'up')
  ns(A, 'ip', 'route', 'add', 'default', 'via', '10.77.1.254')
  ns(B, 'ip', 'route', 'add', 'default', 'via', '10.77.2.254')
  ns(R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
})
after(() => {
  for (const n of [A, R, B]) spawnSync('ip', ['netns', 'del', n])
})

/** Packets and IP bytes from A (10.77.1.1) and to A in a batch stream. */
class Tally {
  readonly m = new PacketMeta()
  fromA = [0, 0]
  toA = [0, 0]
  add(b: FrameBatch): void {
    for (let i = 0; i < b.count; i++) {
      const m = this.m
      decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, m)
      const t = m.src4 === 0x0a4d0101 ? this.fromA : m.dst4 === 0x0a4d0101 ? this.toA : null
      if (t === null) continue
      t[0]! += 1
      t[1]! += m.ipLength
    }
  }
}

test('GSO-exact capture counts TSO super-frames as their wire segments, exactly', async () => {
  const filter = 'tcp port 5201'
  const server = spawn('ip', ['netns', 'exec', B, 'iperf3', '-s', '-1', '-p', '5201'], { stdio: 'ignore' })
  const exact = new Tally()
  const plain = new Tally()
  const o = { ...defaultCaptureOptions('ga', filter), snaplen: 128, bufferKiB: 65536, netns: A }
  // The flow-log engine over the GSO-exact capture, as the agent runs it: records per direction.
  const records = { egress: [0, 0], ingress: [0, 0] }
  const agg = new FlowAggregator({
    interfaces: [{ interfaceId: 'eni-a', accountId: '123456789012', addresses: ['10.77.1.1'] }],
    maxAggregationInterval: 60,
    onRecords: (r: FlowRecordBatch) => {
      for (let i = 0; i < r.count; i++) {
        const d = r.direction[i] === Direction.Egress ? records.egress : records.ingress
        d[0]! += r.packets[i]!
        d[1]! += r.bytes[i]!
      }
    },
  })
  const gso = await LiveCapture.start({ ...o, gsoExact: true }, (b) => {
    exact.add(b)
    agg.addBatch(b, 0)
  })
  const old = await LiveCapture.start(o, (b) => plain.add(b))
  const wire = new Tally()
  const oracle = await LiveCapture.start(
    { ...defaultCaptureOptions('rb', filter), snaplen: 128, bufferKiB: 65536, netns: R },
    (b) => wire.add(b),
  )
  assert.equal(gso.engine, 'mf-capture', gso.gsoFallback)
  ns(A, 'nstat', '-n')
  ns(A, 'iperf3', '-c', '10.77.2.1', '-p', '5201', '-t', '1', '-b', '300M')
  await new Promise((r) => setTimeout(r, 1500)) // the connection's last FIN/ACKs
  const nstat = ns(A, 'nstat', '-z', 'TcpOutSegs', 'TcpRetransSegs')
  await Promise.all([gso.stop(), old.stop(), oracle.stop()])
  agg.finish()
  server.kill()
  const sent = [...nstat.matchAll(/^Tcp(?:OutSegs|RetransSegs)\s+(\d+)/gm)].reduce(
    (s, m) => s + Number(m[1]),
    0,
  )

  // Offloads were on: the capture saw super-frames and split them.
  assert.ok(gso.stats.gsoFrames > 0, 'no GSO super-frame crossed A: the test would prove nothing')
  assert.equal(gso.stats.gsoUnknown, 0)
  assert.equal(gso.stats.kernelDrops, 0)
  assert.equal(oracle.stats.kernelDrops, 0)
  // Packets from A: the wire (segmented in R) and A's TCP counter agree with the GSO-exact capture.
  assert.equal(exact.fromA[0], sent, `GSO-exact ${exact.fromA[0]} vs TcpOutSegs+TcpRetransSegs ${sent}`)
  assert.deepEqual(
    exact.fromA,
    wire.fromA,
    'from A: GSO-exact capture vs the segmented wire (packets, bytes)',
  )
  assert.deepEqual(exact.toA, wire.toA, 'to A: GSO-exact capture vs the segmented wire (packets, bytes)')
  // Flow-log records: packets and bytes per direction equal the wire's.
  assert.deepEqual(records.egress, wire.fromA, 'flow-log egress records vs the segmented wire')
  assert.deepEqual(records.ingress, wire.toA, 'flow-log ingress records vs the segmented wire')
  // The old count (plain tcpdump on A) is short by the segments folded into super-frames.
  assert.ok(plain.fromA[0]! < exact.fromA[0]!, `plain ${plain.fromA[0]} vs exact ${exact.fromA[0]}`)
  console.log(
    `GSO-exact: from A ${exact.fromA.join(' packets, ')} bytes; wire ${wire.fromA.join(' packets, ')} bytes; ` +
      `flow-log egress ${records.egress.join(' packets, ')} bytes, ingress ${records.ingress.join(' packets, ')} bytes ` +
      `(wire to A ${wire.toA.join(' packets, ')} bytes); ` +
      `TcpOutSegs+Retrans ${sent}; plain tcpdump ${plain.fromA.join(' packets, ')} bytes; ` +
      `super-frames ${gso.stats.gsoFrames}`,
  )
})
