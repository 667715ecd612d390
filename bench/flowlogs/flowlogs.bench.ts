// SPDX-License-Identifier: Apache-2.0
/**
 * Benchmark: `mirrorflow flowlogs` beside softflowd, nfpcapd and argus on the same capture, in one run
 * (shared/bench/peers.sh), plus peak RSS with a large number of concurrent flows.
 *
 *   npm run bench:flowlogs -- [--pcap FILE] [--flows-pcap FILE] [--runs N] [--peers a,b] [--skip-rss]
 *
 * Defaults: --pcap /tmp/mf-flowlogs/bench5m.pcap and --flows-pcap /tmp/mf-flowlogs/flows1m.pcap, made
 * with shared/bench/genpcap.py (fixed seeds) if missing:
 *   genpcap.py -o bench5m.pcap                                   (5M packets, 200k flows)
 *   genpcap.py -o flows1m.pcap -n 3000000 -f 600000 --duration 300  (~1.2M directional flows in 300 s)
 * Prints JSON lines: one per peer `{case, pps, ppsCpu, maxRssMiB, records, ratio}` (ratio = ours / that
 * peer), a summary `{case: 'flowlogs/convert/summary', oursPps, fastestPeer, fastestPps, ratio}`, and
 * `{case: 'flowlogs/rss/…', concurrentFlows, maxRssMiB}` for the 600-s single-interval run.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(new URL('../..', import.meta.url).pathname)
const SHARED = resolve(process.env.MIRRORFLOW_SHARED ?? join(ROOT, '..', 'shared'))
const BIN = join(ROOT, 'bin', 'mirrorflow.mjs')

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def
}
const pcap = arg('pcap', '/tmp/mf-flowlogs/bench5m.pcap')
const flowsPcap = arg('flows-pcap', '/tmp/mf-flowlogs/flows1m.pcap')
const runs = arg('runs', '1')
const peers = arg('peers', 'softflowd,argus,nfpcapd')
const commit =
  spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || null

function ensure(file: string, genArgs: string[]): void {
  if (existsSync(file)) return
  mkdirSync(resolve(file, '..'), { recursive: true })
  process.stderr.write(`generating ${file} …\n`)
  const r = spawnSync('python3', [join(SHARED, 'bench', 'genpcap.py'), '-o', file, ...genArgs], {
    stdio: 'inherit',
  })
  if (r.status !== 0) throw new Error(`genpcap.py failed for ${file}`)
}

ensure(pcap, [])
const self = `node ${BIN} flowlogs --pcap {pcap} --max-aggregation-interval 60 --include-unlogged --quiet --no-progress > {out}`
const r = spawnSync(
  'bash',
  [join(SHARED, 'bench', 'peers.sh'), '-q', '-n', runs, '-p', peers, '-s', `mirrorflow=${self}`, pcap],
  {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
if (r.status !== 0) throw new Error(`peers.sh failed (${r.status})`)
const rows = r.stdout
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => l.split('\t'))
// peer pps max_rss_mib wall_s cpu_s pps_cpu records rec_packets runs note [self_over_peer]
let ours = 0
let fastest = { name: '', pps: 0 }
for (const c of rows) {
  const [name, pps, rss, , , ppsCpu, records] = c
  const rec = {
    case: `flowlogs/convert/${name}`,
    pps: Number(pps),
    ppsCpu: Number(ppsCpu),
    maxRssMiB: Number(rss),
    records: Number(records),
    ratio: c[10] !== undefined && c[10] !== '' ? Number(c[10]) : null,
    pcap,
    node: process.version,
    commit,
  }
  if (name === 'mirrorflow') ours = rec.pps
  else if (rec.pps > fastest.pps) fastest = { name: name!, pps: rec.pps }
  console.log(JSON.stringify(rec))
}
console.log(
  JSON.stringify({
    case: 'flowlogs/convert/summary',
    oursPps: ours,
    fastestPeer: fastest.name,
    fastestPps: fastest.pps,
    ratio: fastest.pps > 0 ? Number((ours / fastest.pps).toFixed(2)) : null,
    target: 2,
  }),
)

/** Median wall time and max RSS of `runs` runs of a command (GNU time). */
function timeRuns(argv: string[], n: number): { wall: number; rssMiB: number; cpu: number } {
  const walls: number[] = []
  const cpus: number[] = []
  let rss = 0
  for (let i = 0; i < n; i++) {
    const t = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...argv], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const last = t.stderr.trim().split('\n').pop()!.split(' ').map(Number)
    walls.push(last[0]!)
    cpus.push(last[1]! + last[2]!)
    rss = Math.max(rss, last[3]! / 1024)
  }
  walls.sort((a, b) => a - b)
  cpus.sort((a, b) => a - b)
  return { wall: walls[Math.floor(n / 2)]!, cpu: cpus[Math.floor(n / 2)]!, rssMiB: Math.round(rss) }
}

// The same command with only the flowlogs subcommand loaded (bin/mirrorflow.mjs imports every
// subcommand's modules up front, which costs start-up time and RSS that are not the engine's).
const packets = Number(/"packets": (\d+)/.exec(readFileSync(`${pcap}.json`, 'utf8'))?.[1] ?? NaN)
const lean = timeRuns(
  [
    process.execPath,
    '--import',
    'tsx',
    join(ROOT, 'bench', 'flowlogs', 'flowlogs-cli.ts'),
    'flowlogs',
    '--pcap',
    pcap,
    '--max-aggregation-interval',
    '60',
    '--include-unlogged',
    '--quiet',
    '--no-progress',
  ],
  Number(runs),
)
console.log(
  JSON.stringify({
    case: 'flowlogs/convert/mirrorflow-flowlogs-only-entry',
    pps: Math.round(packets / lean.wall),
    ppsCpu: Math.round(packets / lean.cpu),
    maxRssMiB: lean.rssMiB,
    ratio: fastest.pps > 0 ? Number((packets / lean.wall / fastest.pps).toFixed(2)) : null,
  }),
)

if (!process.argv.includes('--skip-rss')) {
  ensure(flowsPcap, ['-n', '3000000', '-f', '600000', '--duration', '300'])
  // One 600-s interval holds every flow of the file at once: the table peaks at the file's flow count.
  // Run through the flowlogs-only entry: the figure is the engine's, not the other subcommands'.
  const t = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%M %e',
      process.execPath,
      '--import',
      'tsx',
      join(ROOT, 'bench', 'flowlogs', 'flowlogs-cli.ts'),
      'flowlogs',
      '--pcap',
      flowsPcap,
      '--max-aggregation-interval',
      '600',
      '--flow-table-size',
      '1200000',
      '--include-unlogged',
      '--no-progress',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 },
  )
  const lines = t.stderr.trim().split('\n')
  const [rssKiB, wall] = lines[lines.length - 1]!.split(' ').map(Number)
  const m = /flows (\d+), records (\d+), skipped (\d+)/.exec(t.stderr)
  console.log(
    JSON.stringify({
      case: 'flowlogs/rss/600s-single-interval',
      concurrentFlows: m ? Number(m[1]) : null,
      skippedPackets: m ? Number(m[3]) : null,
      maxRssMiB: Math.round(rssKiB! / 1024),
      wallSeconds: wall,
      limitMiB: 256,
      pcap: flowsPcap,
    }),
  )
}
