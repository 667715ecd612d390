// SPDX-License-Identifier: Apache-2.0
/**
 * The spoofed-session flood against `mirrorflow target` (issue 9, item 6), shared by the integration
 * test and `bench/target/flood.bench.ts`.
 *
 * Two namespaces joined by a veth: the target (capture mode) listens on 10.77.0.1:4789. From the
 * other namespace, a legitimate sender sends two sessions (VNI 100 and VNI 200 from 10.77.0.2) at
 * ~500 datagrams/s each, every inner frame numbered; after `warmupMs` (so both are established),
 * `tcpreplay --topspeed` sends a crafted capture of `pairs` VXLAN datagrams, each from a different
 * (VNI, outer source) pair (sources in 10.128.0.0/9), `loops` times. The target's RSS and open
 * descriptors are sampled every 50 ms from /proc; at the end the target is stopped with SIGINT and
 * its final status and the legitimate sessions' pcaps are read back.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab, nsArgv, uniquePrefix } from '../../src/lab/netns.ts'
import { readCapture } from '../../src/packet/index.ts'

export interface FloodOptions {
  /** Repository whose bin/mirrorflow.mjs runs the target (another checkout gives "before" figures). */
  repoRoot: string
  dir: string
  pairs: number
  loops: number
  /** Extra arguments of `mirrorflow target`. */
  targetArgs: string[]
  /** RLIMIT_NOFILE of the target (prlimit), or 0 to inherit. */
  nofile: number
  warmupMs?: number
}

export interface FloodResult {
  /** What tcpreplay reported: flood datagrams sent and their rate. */
  floodSent: number
  floodPps: number
  /** The target's exit code (null: killed by a signal); its stderr tail. */
  exitCode: number | null
  signal: string | null
  stderrTail: string
  rssBeforeMiB: number
  rssMaxMiB: number
  fdsBefore: number
  fdsMax: number
  status: Record<string, unknown> | null
  /** Per legitimate session: numbered frames sent, and the numbers found in its pcap files in order. */
  legit: Array<{ vni: number; sent: number; written: number[] }>
}

const TARGET_MAC = '02:77:00:00:00:01'
const SENDER_MAC = '02:77:00:00:00:02'

/** One pcap of `pairs` VXLAN datagrams to 10.77.0.1:4789, each from a distinct (VNI, source). */
export function writeFloodPcap(path: string, pairs: number): void {
  const frame = 14 + 20 + 8 + 8 + 60
  const out = Buffer.alloc(24 + pairs * (16 + frame))
  out.writeUInt32LE(0xa1b2c3d4, 0)
  out.writeUInt16LE(2, 4)
  out.writeUInt16LE(4, 6)
  out.writeUInt32LE(65535, 16)
  out.writeUInt32LE(1, 20)
  const dst = Buffer.from(TARGET_MAC.split(':').map((h) => parseInt(h, 16)))
  const src = Buffer.from(SENDER_MAC.split(':').map((h) => parseInt(h, 16)))
  let o = 24
  for (let i = 0; i < pairs; i++) {
    out.writeUInt32LE(1_700_000_000, o)
    out.writeUInt32LE(frame, o + 8)
    out.writeUInt32LE(frame, o + 12)
    const f = o + 16
    dst.copy(out, f)
    src.copy(out, f + 6)
    out.writeUInt16BE(0x0800, f + 12)
    const ip = f + 14
    out[ip] = 0x45
    out.writeUInt16BE(20 + 8 + 8 + 60, ip + 2)
    out.writeUInt16BE(i & 0xffff, ip + 4)
    out[ip + 8] = 64
    out[ip + 9] = 17
    out.writeUInt32BE((0x0a800000 | i) >>> 0, ip + 12) // 10.128.0.0/9
    out.writeUInt32BE(0x0a4d0001, ip + 16) // 10.77.0.1
    let sum = 0
    for (let k = 0; k < 20; k += 2) sum += out.readUInt16BE(ip + k)
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    out.writeUInt16BE(~sum & 0xffff, ip + 10)
    const udp = ip + 20
    out.writeUInt16BE(40000 + (i % 20000), udp)
    out.writeUInt16BE(4789, udp + 2)
    out.writeUInt16BE(8 + 8 + 60, udp + 4)
    const vx = udp + 8
    out[vx] = 0x08
    out.writeUIntBE(1_000_000 + i, vx + 4, 3) // VNIs 1,000,000 + i
    out.writeUInt16BE(0x0800, vx + 8 + 12)
    o += 16 + frame
  }
  writeFileSync(path, out)
}

/** A node script sending VNI 100 and 200 datagrams with numbered inner frames until SIGTERM. */
const LEGIT_SENDER = `
const s = require('node:dgram').createSocket('udp4')
let n = 0
const send = (vni) => {
  const b = Buffer.alloc(8 + 64)
  b[0] = 8
  b.writeUIntBE(vni, 4, 3)
  b.writeUInt16BE(0x0800, 8 + 12)
  b.writeUInt32BE(n, 8 + 14)
  s.send(b, 4789, '10.77.0.1')
}
const t = setInterval(() => { send(100); send(200); n++ }, 2)
process.on('SIGTERM', () => { clearInterval(t); setTimeout(() => { process.stdout.write(String(n)); process.exit(0) }, 200) })
`

function readProc(pid: number): { rssMiB: number; fds: number } {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rss = Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0) / 1024
    return { rssMiB: rss, fds: readdirSync(`/proc/${pid}/fd`).length }
  } catch {
    return { rssMiB: 0, fds: 0 }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function runFlood(o: FloodOptions): Promise<FloodResult> {
  const lab = new Lab(uniquePrefix('mfflood'))
  try {
    const t = await lab.namespace('t')
    const s = await lab.namespace('s')
    await lab.veth(
      { ns: s, ifname: `${lab.prefix}s`, addresses: ['10.77.0.2/24'], mac: SENDER_MAC },
      { ns: t, ifname: `${lab.prefix}t`, addresses: ['10.77.0.1/24'], mac: TARGET_MAC },
    )
    const pcap = join(o.dir, 'flood.pcap')
    writeFloodPcap(pcap, o.pairs)
    const limit = o.nofile > 0 ? ['prlimit', `--nofile=${o.nofile}:${o.nofile}`] : []
    const argv = nsArgv(t, [
      ...limit,
      process.execPath,
      join(o.repoRoot, 'bin', 'mirrorflow.mjs'),
      'target',
      '--receive',
      'capture',
      '--listen',
      '10.77.0.1:4789',
      '--data-dir',
      join(o.dir, 'target'),
      ...o.targetArgs,
    ])
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d
      if (err.length > 1 << 20) err = err.slice(-65536)
    })
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      child.on('exit', (code, signal) => r({ code, signal })),
    )
    for (let i = 0; i < 200 && !err.includes('receiving VXLAN'); i++) await sleep(50)
    if (!err.includes('receiving VXLAN')) throw new Error(`target did not start: ${err}`)
    const pid = child.pid as number
    const legitArgv = nsArgv(s, [process.execPath, '-e', LEGIT_SENDER])
    const legit = spawn(legitArgv[0] as string, legitArgv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
    let legitOut = ''
    legit.stdout.setEncoding('utf8').on('data', (d: string) => (legitOut += d))
    const legitDone = new Promise<void>((r) => legit.on('exit', () => r()))
    await sleep(o.warmupMs ?? 3500)
    const before = readProc(pid)
    let rssMax = before.rssMiB
    let fdsMax = before.fds
    const sampler = setInterval(() => {
      const p = readProc(pid)
      if (p.rssMiB > rssMax) rssMax = p.rssMiB
      if (p.fds > fdsMax) fdsMax = p.fds
    }, 50)
    const rep = spawn(
      'ip',
      ['netns', 'exec', s, 'tcpreplay', '--topspeed', `--loop=${o.loops}`, '-i', `${lab.prefix}s`, pcap],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let repOut = ''
    rep.stdout.setEncoding('utf8').on('data', (d: string) => (repOut += d))
    rep.stderr.setEncoding('utf8').on('data', (d: string) => (repOut += d))
    await new Promise<void>((r) => rep.on('exit', () => r()))
    // The capture hands frames over up to ~1 s late, and a target behind the sender works through the
    // kernel's capture ring: keep sampling until its count of datagrams stops moving (at most 30 s).
    await sleep(1500)
    let last = -1
    for (let waited = 0; waited < 30_000; waited += 1000) {
      let now = -1
      try {
        now = (
          JSON.parse(readFileSync(join(o.dir, 'target', 'status.json'), 'utf8')) as { datagrams: number }
        ).datagrams
      } catch {
        now = -2
      }
      if (now === last) break
      last = now
      await sleep(1000)
    }
    clearInterval(sampler)
    legit.kill('SIGTERM')
    await legitDone
    await sleep(1500)
    const alive = child.exitCode === null && child.signalCode === null
    if (alive) child.kill('SIGINT')
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const { code, signal } = await exited
    clearTimeout(killer)
    const sent = Number(/Actual: (\d+) packets/.exec(repOut)?.[1] ?? 0)
    const pps = Number(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(repOut)?.[1] ?? 0)
    let status: Record<string, unknown> | null = null
    try {
      status = JSON.parse(out) as Record<string, unknown>
    } catch {
      status = null
    }
    const legitSent = Number(legitOut.trim() || 0)
    const result: FloodResult['legit'] = []
    for (const vni of [100, 200]) {
      const sdir = join(o.dir, 'target', 'pcap', `vni-${vni}_10.77.0.2`)
      const written: number[] = []
      let names: string[] = []
      try {
        names = readdirSync(sdir).sort()
      } catch {
        names = []
      }
      for (const n of names) {
        for await (const b of readCapture(join(sdir, n)))
          for (let i = 0; i < b.count; i++) written.push(b.view.getUint32((b.starts[i] as number) + 14))
      }
      result.push({ vni, sent: legitSent, written })
    }
    return {
      floodSent: sent,
      floodPps: pps,
      exitCode: code,
      signal,
      stderrTail: err.slice(-3000),
      rssBeforeMiB: Math.round(before.rssMiB),
      rssMaxMiB: Math.round(rssMax),
      fdsBefore: before.fds,
      fdsMax,
      status,
      legit: result,
    }
  } finally {
    await lab.cleanup()
  }
}
