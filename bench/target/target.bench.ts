// SPDX-License-Identifier: Apache-2.0
/**
 * bench:target — sustained VXLAN packets/s that `mirrorflow target` writes to pcap without loss,
 * beside `tcpdump -w` capturing the same stream, in one run.
 *
 * Two namespaces joined by a veth; in the receiving one, `mirrorflow target` listens on UDP 4789
 * and `tcpdump -w` captures `udp port 4789` on the same interface. The sender replays the real AWS
 * Traffic Mirroring capture (suricata-verify vxlan-decoder-03, 100 packets, mixed sizes) in a loop
 * with `tcpreplay --pps R` for each rate R, then `--topspeed`. Each step reports what was sent, what
 * the target wrote to its pcap ring and what tcpdump captured; `lossless` is true when nothing was
 * lost. One JSON object per line; the last line is the summary (highest lossless rate of each).
 *
 * Usage: npm run bench:target [-- --seconds 3 --rates 20000,50000,100000,200000]
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Lab, nsArgv, uniquePrefix } from '../../src/lab/netns.ts'
import { REPO_ROOT, sharedData } from '../../test/helpers/shared.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rates: { type: 'string', default: '20000,50000,100000,200000' },
  },
})
const seconds = Number(values.seconds)
const rates: Array<number | 'topspeed'> = [...(values.rates ?? '').split(',').map(Number), 'topspeed']
const CAPTURE = sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap')
const CAPTURE_PACKETS = 100

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

async function step(
  lab: Lab,
  tgt: string,
  rep: string,
  rate: number | 'topspeed',
): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bench-target-'))
  const ifT = `${lab.prefix}t`
  const ifR = `${lab.prefix}r`
  try {
    const targetArgv = nsArgv(tgt, [
      process.execPath,
      join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
      'target',
      '--data-dir',
      dir,
      '--no-flow-logs',
      '--pcap-max-bytes',
      String(1 << 30),
    ])
    const target = spawn(targetArgv[0] as string, targetArgv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let tOut = ''
    let tErr = ''
    target.stdout.setEncoding('utf8').on('data', (d: string) => (tOut += d))
    target.stderr.setEncoding('utf8').on('data', (d: string) => (tErr += d))
    const tExit = new Promise<void>((r) => target.on('exit', () => r()))
    const dumpArgv = nsArgv(tgt, [
      'tcpdump',
      '-i',
      ifT,
      '-n',
      '-w',
      join(dir, 'tcpdump.pcap'),
      'udp',
      'port',
      '4789',
    ])
    const dump = spawn(dumpArgv[0] as string, dumpArgv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
    let dErr = ''
    dump.stderr.setEncoding('utf8').on('data', (d: string) => (dErr += d))
    const dExit = new Promise<void>((r) => dump.on('exit', () => r()))
    for (let i = 0; i < 100 && !(tErr.includes('receiving VXLAN') && dErr.includes('listening on')); i++)
      await sleep(50)
    const loops =
      rate === 'topspeed'
        ? Math.ceil((400_000 * seconds) / CAPTURE_PACKETS)
        : Math.ceil((rate * seconds) / CAPTURE_PACKETS)
    const rateArgs = rate === 'topspeed' ? ['--topspeed'] : ['--pps', String(rate)]
    const t0 = process.hrtime.bigint()
    const rr = spawnSync(
      'ip',
      ['netns', 'exec', rep, 'tcpreplay', ...rateArgs, `--loop=${loops}`, '-i', ifR, CAPTURE],
      {
        encoding: 'utf8',
      },
    )
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9
    const sent = Number(/Actual: (\d+) packets/.exec(rr.stdout)?.[1] ?? NaN)
    await sleep(1000)
    dump.kill('SIGINT')
    target.kill('SIGTERM')
    await Promise.all([tExit, dExit])
    const st = JSON.parse(tOut) as { packets: number; drops: { socket: number } }
    const captured = Number(/(\d+) packets? captured/.exec(dErr)?.[1] ?? NaN)
    const kernelDrop = Number(/(\d+) packets? dropped by kernel/.exec(dErr)?.[1] ?? NaN)
    return {
      case: `target/vxlan-to-pcap/${rate === 'topspeed' ? 'topspeed' : `${rate}pps`}`,
      sent,
      sentPps: Math.round(sent / elapsed),
      mirrorflow: { written: st.packets, socketDrops: st.drops.socket, lossless: st.packets === sent },
      tcpdump: { captured, droppedByKernel: kernelDrop, lossless: captured === sent && kernelDrop === 0 },
    }
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
    const r = await step(lab, tgt, rep, rate)
    results.push(r)
    process.stdout.write(JSON.stringify({ ...r, node: process.version }) + '\n')
  }
} finally {
  await lab.cleanup()
}
type R = { sentPps: number; mirrorflow: { lossless: boolean }; tcpdump: { lossless: boolean } }
const best = (k: 'mirrorflow' | 'tcpdump'): number =>
  Math.max(
    0,
    ...results.filter((r) => (r as unknown as R)[k].lossless).map((r) => (r as unknown as R).sentPps),
  )
process.stdout.write(
  JSON.stringify({
    case: 'target/summary',
    mirrorflowLosslessPps: best('mirrorflow'),
    tcpdumpLosslessPps: best('tcpdump'),
    seconds,
    node: process.version,
  }) + '\n',
)
