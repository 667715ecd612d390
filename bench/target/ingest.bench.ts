// SPDX-License-Identifier: Apache-2.0
/**
 * bench:target-ingest — the target's batch path in one process, without the network: captured outer
 * frames (the real AWS Traffic Mirroring capture, suricata-verify vxlan-decoder-03, 100 frames of
 * 70–1508 bytes, repeated) handed to the capture receive path in batches of 2048, as tcpdump's
 * pipe delivers them; decapsulation, session lookup, pcap writing (to a temporary directory) and,
 * with `--flow-logs`, the flow-log stage. Reports ns of CPU per frame, end to end (the final flush
 * included). The event loop runs between batches, so the periodic writers run as in production.
 *
 * Usage: npm run bench:target-ingest [-- --frames 2000000 --flow-logs]
 * (works against an older checkout too: copy this file into its bench/target and run it there.)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import * as target from '../../src/mirror-target/index.ts'
import { newFrameBatch, readCapture, type FrameBatch } from '../../src/packet/index.ts'
import { sharedData } from '../../test/helpers/shared.ts'

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '2000000' },
    'flow-logs': { type: 'boolean', default: false },
  },
})
const total = Number(values.frames)
const BATCH = 2048

// The template: the capture's frames repeated to one batch.
const src: Array<{ bytes: Uint8Array; orig: number }> = []
for await (const b of readCapture(sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap')))
  for (let i = 0; i < b.count; i++)
    src.push({ bytes: b.bytes.slice(b.starts[i], b.ends[i]), orig: b.origLens[i] as number })
const tplBytes = new Uint8Array(BATCH * 1600)
const tpl = newFrameBatch(BATCH, tplBytes)
let at = 0
for (let i = 0; i < BATCH; i++) {
  const f = src[i % src.length]!
  tplBytes.set(f.bytes, at)
  tpl.starts[i] = at
  tpl.ends[i] = at + f.bytes.length
  tpl.origLens[i] = f.orig
  tpl.linkTypes[i] = 1
  at += f.bytes.length
}
tpl.count = BATCH

const dir = mkdtempSync(join(tmpdir(), 'mf-ingest-bench-'))
try {
  const cfg = target.defaultTargetConfig(dir)
  cfg.listenHost = '127.0.0.1'
  cfg.listenPort = 0
  cfg.statusFile = null
  // The capture's outer destination is 172.31.17.188:4789: the capture path is told that port.
  const sinks = values['flow-logs'] ? [new target.TargetFlowLogSink(cfg)] : []
  const t = await target.MirrorTarget.start(cfg, sinks)
  const inner = t as unknown as {
    capture?: { onCaptured?(b: FrameBatch): void; o?: { port: number } }
    onCaptured?(b: FrameBatch): void
    boundPort?: number
    udp?: { port: number }
    reassembler?: { port: number }
  }
  // Pretend the socket is bound to 4789 (the capture's destination port).
  if (inner.udp !== undefined) inner.udp.port = 4789
  if (inner.capture?.o !== undefined) inner.capture.o.port = 4789
  if (inner.boundPort !== undefined) inner.boundPort = 4789
  const feed =
    typeof inner.capture?.onCaptured === 'function'
      ? (b: FrameBatch): void => inner.capture!.onCaptured!(b)
      : (b: FrameBatch): void => inner.onCaptured!(b)
  const work = newFrameBatch(BATCH, new Uint8Array(tplBytes.length))
  work.bytes.set(tplBytes)
  const sec0 = Math.floor(Date.now() / 1000)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let done = 0
  let n = 0
  while (done < total) {
    // Restore the template (the path rewrites the batch in place), with times that move on.
    work.starts.set(tpl.starts)
    work.ends.set(tpl.ends)
    work.origLens.set(tpl.origLens)
    work.linkTypes.set(tpl.linkTypes)
    const sec = sec0 + Math.floor(n / 50)
    work.tsSec.fill(sec)
    for (let i = 0; i < BATCH; i++) work.tsNsec[i] = ((n % 50) * BATCH + i) * 9000
    work.count = BATCH
    feed(work)
    done += BATCH
    n++
    await new Promise((r) => setImmediate(r))
  }
  const st = await t.stop()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  process.stdout.write(
    JSON.stringify({
      case: `target/ingest${values['flow-logs'] ? '+flowlogs' : ''}`,
      frames: done,
      packets: st.packets,
      nsPerFrameCpu: Math.round(((cpu.user + cpu.system) * 1000) / done),
      nsPerFrameWall: Math.round((wall * 1e6) / done),
      framesPerSecond: Math.round(done / (wall / 1000)),
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
      pcapBytes: (st as { pcap?: { totalBytes: number } }).pcap?.totalBytes,
      files: st.sessions[0]?.files.map((f) => f.bytes),
      node: process.version,
    }) + '\n',
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
