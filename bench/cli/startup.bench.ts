// SPDX-License-Identifier: Apache-2.0
/**
 * Benchmark: how fast the compiled `mirrorflow` starts, and what the start costs a whole conversion.
 *
 *   npm run bench:startup -- [--runs N] [--pcap FILE] [--peer-runs N] [--skip-peers]
 *
 * 1. Start-up: `node -e 0`, `mirrorflow --version` and `mirrorflow flowlogs --help` (dist/mirrorflow.mjs,
 *    built first if missing), interleaved run by run so that load on the machine hits all three alike;
 *    N runs each (default 30), median and minimum wall time. Ratios are medians over `node -e 0`'s
 *    median. Goals: `--version` ≤ 2.5×, `flowlogs --help` ≤ 3×.
 * 2. A whole run, process start included: `mirrorflow flowlogs` on a 1.5M-packet capture (default
 *    /tmp/mf-startup/bench1500k.pcap, made with the shared genpcap.py, seed 1, if missing) beside
 *    softflowd, nfpcapd and argus in the same run of the shared peers.sh (medians of --peer-runs,
 *    default 3). Goal: ≥ 2× the fastest peer.
 * Prints JSON lines: `{case: 'startup/…', medianMs, minMs, ratio}` and `{case: 'startup/flowlogs-vs-peers', …}`.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(new URL('../..', import.meta.url).pathname)
const SHARED = resolve(process.env.MIRRORFLOW_SHARED ?? join(ROOT, '..', 'shared'))
const DIST_BIN = join(ROOT, 'dist', 'mirrorflow.mjs')

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def
}
const runs = Number(arg('runs', '30'))
const pcap = arg('pcap', '/tmp/mf-startup/bench1500k.pcap')
const peerRuns = arg('peer-runs', '3')

if (!existsSync(DIST_BIN)) {
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' })
  if (b.status !== 0) throw new Error('build failed')
}

function timeOnce(argv: string[]): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

const cases: Array<{ name: string; argv: string[] }> = [
  { name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
  { name: 'mirrorflow --version', argv: [process.execPath, DIST_BIN, '--version'] },
  { name: 'mirrorflow flowlogs --help', argv: [process.execPath, DIST_BIN, 'flowlogs', '--help'] },
]
const times = cases.map(() => [] as number[])
for (const c of cases) timeOnce(c.argv) // warm the page cache
for (let i = 0; i < runs; i++) cases.forEach((c, j) => times[j]!.push(timeOnce(c.argv)))
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const base = median(times[0]!)
const goals: Record<string, number> = { 'mirrorflow --version': 2.5, 'mirrorflow flowlogs --help': 3 }
cases.forEach((c, j) => {
  const m = median(times[j]!)
  console.log(
    JSON.stringify({
      case: `startup/${c.name}`,
      runs,
      medianMs: Number(m.toFixed(1)),
      minMs: Number(Math.min(...times[j]!).toFixed(1)),
      ratio: Number((m / base).toFixed(2)),
      ...(goals[c.name] !== undefined ? { goal: goals[c.name], met: m / base <= goals[c.name]! } : {}),
    }),
  )
})

if (!process.argv.includes('--skip-peers')) {
  if (!existsSync(pcap)) {
    mkdirSync(resolve(pcap, '..'), { recursive: true })
    process.stderr.write(`generating ${pcap} …\n`)
    const g = spawnSync(
      'python3',
      [join(SHARED, 'bench', 'genpcap.py'), '-o', pcap, '-n', '1500000', '-s', '1'],
      // Its summary goes to stderr: stdout is this benchmark's JSON lines.
      { stdio: ['ignore', process.stderr, 'inherit'] },
    )
    if (g.status !== 0) throw new Error('genpcap.py failed')
  }
  const self = `node ${DIST_BIN} flowlogs --pcap {pcap} --max-aggregation-interval 60 --include-unlogged --quiet --no-progress > {out}`
  const r = spawnSync(
    'bash',
    [
      join(SHARED, 'bench', 'peers.sh'),
      '-q',
      '-n',
      peerRuns,
      '-p',
      'softflowd,nfpcapd,argus',
      '-s',
      `mirrorflow=${self}`,
      pcap,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  )
  if (r.status !== 0) throw new Error(`peers.sh failed (${r.status})`)
  // peer pps max_rss_mib wall_s cpu_s pps_cpu records rec_packets runs note [self_over_peer]
  const rows = r.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('peer\t'))
    .map((l) => l.split('\t'))
  const ours = rows.find((c) => c[0] === 'mirrorflow')
  const peers = rows.filter((c) => c[0] !== 'mirrorflow' && Number(c[1]) > 0)
  const fastest = peers.reduce((a, b) => (Number(b[1]) > Number(a[1]) ? b : a), peers[0]!)
  for (const c of rows)
    console.log(
      JSON.stringify({
        case: `startup/peers/${c[0]}`,
        pps: Number(c[1]),
        wallS: Number(c[3]),
        cpuS: Number(c[4]),
        ppsCpu: Number(c[5]),
        maxRssMiB: Number(c[2]),
        records: Number(c[6]),
      }),
    )
  const ratio = Number(ours![1]) / Number(fastest[1])
  // The same comparison in packets per CPU-second: less sensitive to a busy machine than wall time.
  const fastestCpu = peers.reduce((a, b) => (Number(b[5]) > Number(a[5]) ? b : a), peers[0]!)
  console.log(
    JSON.stringify({
      case: 'startup/flowlogs-vs-peers',
      pcap,
      oursPps: Number(ours![1]),
      oursWallS: Number(ours![3]),
      fastestPeer: fastest[0],
      fastestPps: Number(fastest[1]),
      ratio: Number(ratio.toFixed(2)),
      cpuRatio: Number((Number(ours![5]) / Number(fastestCpu[5])).toFixed(2)),
      fastestPeerCpu: fastestCpu[0],
      goal: 2,
      met: ratio >= 2,
    }),
  )
}
