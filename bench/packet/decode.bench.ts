// SPDX-License-Identifier: Apache-2.0
/**
 * bench:decode — read + decode every frame of a large capture, beside `tcpdump -r FILE -w /dev/null`
 * (libpcap's read floor) on the same file, in one run. Prints one JSON object.
 *
 *   npm run bench:decode                       # 2M packets made with shared/bench/genpcap.py, cached in /tmp
 *   npm run bench:decode -- --pcap FILE        # any pcap/pcapng
 *   npm run bench:decode -- --packets 5000000 --runs 3
 *
 * Each side runs in its own process so peak RSS is its own (`/usr/bin/time -f %M`); the best of
 * `--runs` wall times is reported (this machine is shared and noisy).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'
import { decodeFrame, LinkType, PacketMeta, readCapture } from '../../src/packet/index.ts'

const here = fileURLToPath(import.meta.url)
const repo = resolve(here, '../../..')

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

interface WorkerResult {
  frames: number
  malformed: number
  ipv4: number
  vxlan: number
  seconds: number
}

/** Child mode: decode the file, print {frames, malformed, vxlan, seconds}. */
async function worker(file: string): Promise<void> {
  const m = new PacketMeta()
  const inner = new PacketMeta()
  let frames = 0
  let malformed = 0
  let ipv4 = 0
  let vxlan = 0
  const t0 = process.hrtime.bigint()
  for await (const b of readCapture(file)) {
    const view = b.view
    for (let i = 0; i < b.count; i++) {
      const end = b.ends[i]!
      if (decodeFrame(view, b.starts[i]!, end, b.linkTypes[i]!, m) < 0) malformed++
      if (m.ipVersion === 4) ipv4++
      if (m.vni >= 0) {
        vxlan++
        decodeFrame(view, m.innerOffset, end, LinkType.Ethernet, inner)
      }
    }
    frames += b.count
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  process.stdout.write(JSON.stringify({ frames, malformed, ipv4, vxlan, seconds }) + '\n')
}

/** Runs a command under /usr/bin/time; returns wall seconds, peak RSS and stdout. */
function timed(cmd: string, args: string[]): { wall: number; rssKiB: number; stdout: string } {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  })
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`)
  const rss = /MAXRSS (\d+)/.exec(r.stderr)
  return { wall, rssKiB: rss ? Number(rss[1]) : NaN, stdout: r.stdout }
}

async function main(): Promise<void> {
  const w = arg('--worker')
  if (w !== undefined) return worker(w)
  const packets = Number(arg('--packets') ?? 2_000_000)
  const runs = Number(arg('--runs') ?? 1)
  let pcap = arg('--pcap')
  if (pcap === undefined) {
    pcap = join('/tmp', `mirrorflow-bench-${packets}.pcap`)
    if (!existsSync(pcap)) {
      const gen = join(repo, '..', 'shared', 'bench', 'genpcap.py')
      process.stderr.write(`generating ${pcap} with ${gen} …\n`)
      const g = spawnSync('python3', [gen, '-o', pcap, '-n', String(packets)], {
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      if (g.status !== 0) throw new Error('genpcap.py failed')
    }
  }
  const bytes = statSync(pcap).size
  // Warm the page cache so both sides read from memory.
  spawnSync('cat', [pcap], { stdio: ['ignore', 'ignore', 'ignore'] })
  let best: { wall: number; rssKiB: number; inner: WorkerResult } | null = null
  let tcpdump: { wall: number; rssKiB: number } | null = null
  for (let i = 0; i < runs; i++) {
    const t = timed('tcpdump', ['-r', pcap, '-w', '/dev/null'])
    if (tcpdump === null || t.wall < tcpdump.wall) tcpdump = t
    const o = timed(process.execPath, ['--import', 'tsx', here, '--worker', pcap])
    const inner = JSON.parse(o.stdout) as WorkerResult
    if (best === null || inner.seconds < best.inner.seconds) best = { wall: o.wall, rssKiB: o.rssKiB, inner }
  }
  const ours = best!
  const frames = ours.inner.frames
  const mib = bytes / 1048576
  const result = {
    bench: 'decode',
    file: pcap,
    bytes,
    frames,
    runs,
    mirrorflow: {
      framesPerSec: Math.round(frames / ours.inner.seconds),
      mbPerSec: Math.round((mib / ours.inner.seconds) * 10) / 10,
      decodeSeconds: Math.round(ours.inner.seconds * 1000) / 1000,
      processWallSeconds: Math.round(ours.wall * 1000) / 1000,
      framesPerSecWholeProcess: Math.round(frames / ours.wall),
      peakRssMiB: Math.round((ours.rssKiB / 1024) * 10) / 10,
      malformed: ours.inner.malformed,
      ipv4: ours.inner.ipv4,
      vxlan: ours.inner.vxlan,
    },
    tcpdump: {
      command: `tcpdump -r ${pcap} -w /dev/null`,
      framesPerSec: Math.round(frames / tcpdump!.wall),
      mbPerSec: Math.round((mib / tcpdump!.wall) * 10) / 10,
      wallSeconds: Math.round(tcpdump!.wall * 1000) / 1000,
      peakRssMiB: Math.round((tcpdump!.rssKiB / 1024) * 10) / 10,
    },
    ratio: Math.round((frames / ours.inner.seconds / (frames / tcpdump!.wall)) * 100) / 100,
    targetMet: frames / ours.inner.seconds >= frames / tcpdump!.wall && ours.rssKiB < 128 * 1024,
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
}

await main()
