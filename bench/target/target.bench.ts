// SPDX-License-Identifier: Apache-2.0
/**
 * bench:target — sustained VXLAN packets/s that `mirrorflow target` writes to pcap without loss, in
 * each receive mode (`--receive socket`, `--receive capture`), beside `tcpdump -w` capturing the
 * same stream, in one run.
 *
 * Two namespaces joined by a veth; in the receiving one, each contender runs ALONE in turn for the
 * same offered rate (so that they do not share the cores with each other): `mirrorflow target`
 * listening on UDP 4789 in socket mode, then in capture mode, then `tcpdump -w` of `udp port 4789`
 * on the same interface. The sender replays the real AWS Traffic Mirroring capture (suricata-verify
 * vxlan-decoder-03, 100 packets, mixed sizes) in a loop with `tcpreplay --pps R` for each rate R,
 * then `--topspeed`. Each entry reports what was sent, what was written and what was counted as
 * dropped; `lossless` is true when nothing was lost. One JSON object per line; the last line is
 * the summary (highest lossless rate of each).
 *
 * Usage: npm run bench:target [-- --seconds 3 --rates 50000,100000,200000,300000 --modes socket,capture,tcpdump]
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Lab, nsArgv, uniquePrefix } from '../../src/lab/netns.ts'
import { REPO_ROOT, sharedData } from '../../test/helpers/shared.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rates: { type: 'string', default: '50000,100000,200000,300000' },
    modes: { type: 'string', default: 'socket,capture,tcpdump' },
    cpu: { type: 'string', default: '1' },
  },
})
type Contender = 'socket' | 'capture' | 'tcpdump'
const contenders = (values.modes ?? '').split(',') as Contender[]
/** The receiver (and its tcpdump) is pinned to this CPU, the sender to the others ('' = no pinning). */
const cpu = values.cpu ?? ''
const pin = (argv: string[]): string[] => (cpu === '' ? argv : ['taskset', '-c', cpu, ...argv])
const otherCpus = Array.from({ length: availableParallelism() }, (_, i) => String(i)).filter((c) => c !== cpu)
const pinSender = (argv: string[]): string[] =>
  cpu === '' || otherCpus.length === 0 ? argv : ['taskset', '-c', otherCpus.join(','), ...argv]
const seconds = Number(values.seconds)
const rates: Array<number | 'topspeed'> = [...(values.rates ?? '').split(',').map(Number), 'topspeed']
const CAPTURE = sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap')
const CAPTURE_PACKETS = 100

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Busy and total jiffies of CPU `cpu` (or of all CPUs) from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const name = cpu === '' ? 'cpu' : `cpu${cpu}`
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name} `)) as string
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const total = f.reduce((a, b) => a + b, 0)
  return { busy: total - (f[3] as number) - (f[4] as number), total }
}

interface Run {
  /** How busy the receiver's CPU was during the replay (percent). */
  cpuBusyPct: number
  sent: number
  sentPps: number
  written: number
  dropped: number
  lossless: boolean
}

function replay(
  rep: string,
  ifR: string,
  rate: number | 'topspeed',
): { sent: number; sentPps: number; cpuBusyPct: number } {
  const loops =
    rate === 'topspeed'
      ? Math.ceil((400_000 * seconds) / CAPTURE_PACKETS)
      : Math.ceil((rate * seconds) / CAPTURE_PACKETS)
  const rateArgs = rate === 'topspeed' ? ['--topspeed'] : ['--pps', String(rate)]
  const c0 = cpuTimes()
  const t0 = process.hrtime.bigint()
  const rr = spawnSync(
    'ip',
    ['netns', 'exec', rep, ...pinSender(['tcpreplay', ...rateArgs, `--loop=${loops}`, '-i', ifR, CAPTURE])],
    {
      encoding: 'utf8',
    },
  )
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9
  const sent = Number(/Actual: (\d+) packets/.exec(rr.stdout)?.[1] ?? NaN)
  const c1 = cpuTimes()
  const cpuBusyPct = Math.round((1000 * (c1.busy - c0.busy)) / Math.max(1, c1.total - c0.total)) / 10
  return { sent, sentPps: Math.round(sent / elapsed), cpuBusyPct }
}

/** One contender alone against one offered rate. */
async function run(
  lab: Lab,
  tgt: string,
  rep: string,
  rate: number | 'topspeed',
  who: Contender,
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bench-target-'))
  const ifT = `${lab.prefix}t`
  const ifR = `${lab.prefix}r`
  try {
    const argv =
      who === 'tcpdump'
        ? nsArgv(
            tgt,
            pin(['tcpdump', '-i', ifT, '-n', '-w', join(dir, 'tcpdump.pcap'), 'udp', 'port', '4789']),
          )
        : nsArgv(
            tgt,
            pin([
              process.execPath,
              join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
              'target',
              '--receive',
              who,
              '--data-dir',
              dir,
              '--no-flow-logs',
              '--pcap-max-bytes',
              String(1 << 30),
            ]),
          )
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<void>((r) => child.on('exit', () => r()))
    const ready = who === 'tcpdump' ? 'listening on' : 'receiving VXLAN'
    for (let i = 0; i < 100 && !err.includes(ready); i++) await sleep(50)
    const { sent, sentPps, cpuBusyPct } = replay(rep, ifR, rate)
    await sleep(1000)
    child.kill(who === 'tcpdump' ? 'SIGINT' : 'SIGTERM')
    await exited
    if (who === 'tcpdump') {
      const captured = Number(/(\d+) packets? captured/.exec(err)?.[1] ?? NaN)
      const dropped = Number(/(\d+) packets? dropped by kernel/.exec(err)?.[1] ?? NaN)
      return {
        cpuBusyPct,
        sent,
        sentPps,
        written: captured,
        dropped,
        lossless: captured === sent && dropped === 0,
      }
    }
    const st = JSON.parse(out) as { packets: number; drops: { socket: number; capture: number } }
    const dropped = who === 'socket' ? st.drops.socket : st.drops.capture
    return { cpuBusyPct, sent, sentPps, written: st.packets, dropped, lossless: st.packets === sent }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const lab = new Lab(uniquePrefix('mfbt'))
const results: Array<Record<string, unknown>> = []
try {
  const tgt = await lab.namespace('t')
  const rep = await lab.namespace('r')
  await lab.veth(
    { ns: rep, ifname: `${lab.prefix}r` },
    { ns: tgt, ifname: `${lab.prefix}t`, addresses: ['172.31.17.188/16'], mac: '06:e2:43:9c:ff:5e' },
  )
  for (const rate of rates) {
    const r: Record<string, unknown> = {
      case: `target/vxlan-to-pcap/${rate === 'topspeed' ? 'topspeed' : `${rate}pps`}`,
    }
    for (const who of contenders) r[who] = await run(lab, tgt, rep, rate, who)
    results.push(r)
    process.stdout.write(JSON.stringify({ ...r, node: process.version }) + '\n')
  }
} finally {
  await lab.cleanup()
}
const best = (k: Contender): number =>
  Math.max(
    0,
    ...results
      .map((r) => r[k] as Run | undefined)
      .filter((x) => x?.lossless === true)
      .map((x) => x!.sentPps),
  )
process.stdout.write(
  JSON.stringify({
    case: 'target/summary',
    losslessPps: Object.fromEntries(contenders.map((k) => [k, best(k)])),
    seconds,
    node: process.version,
  }) + '\n',
)
