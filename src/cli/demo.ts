// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow demo`: the whole system on one machine, in network namespaces — a small VPC with a
 * web server, a database, a client, an attacker and a monitoring appliance; server, agents and
 * mirror target on embedded defaults; mirroring and a VPC flow log created through the EC2 API;
 * real traffic for `--duration` seconds (default 30); then a summary of where the pcaps and
 * flow-log files are (`--json` for scripts). Ctrl-C stops early and still tears everything down.
 * Without `--data-dir`, results are kept in a new directory `./mirrorflow-demo/<UTC time>/`, so that the
 * pcaps and flow-log files the summary names can be opened afterwards; `--discard` removes them at
 * the end instead.
 * @module
 */
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'
import type { DemoSummary } from '../lab/index.ts'

interface DemoCliOptions {
  duration: string
  dataDir?: string
  json?: boolean
  discard?: boolean
  prefix?: string
}

function text(s: DemoSummary, kept: boolean): string {
  const lines: string[] = ['', '== mirrorflow demo: summary ==', '']
  lines.push(`data directory: ${s.dataDir}${kept ? '' : ' (removed now, as --discard asked)'}`)
  lines.push('', 'Traffic Mirroring (pcap per session, written by the mirror target):')
  for (const m of s.mirror.sessions) {
    lines.push(
      `  ${m.sessionId} (source ${m.source}, VNI ${m.vni}): ${m.packetsMirrored} packets, ${m.bytesMirrored} bytes`,
    )
    for (const f of m.pcapFiles) lines.push(`    ${f}`)
  }
  lines.push('  read them with:  tshark -r FILE   |   tcpdump -nr FILE   |   mirrorflow inspect FILE')
  lines.push('', 'VPC Flow Logs (S3 layout, one local directory per bucket):')
  for (const f of s.flowLogs) {
    lines.push(`  ${f.flowLogId} → ${f.destination}: ${f.records} records in ${f.files.length} file(s)`)
    for (const p of f.files) lines.push(`    ${p}`)
  }
  lines.push('  read them with:  zcat FILE | column -t')
  const sec = s.security
  lines.push('', 'Security groups (enforced by each agent; what they drop is recorded as REJECT):')
  if (sec.groups !== null) {
    lines.push(`  web ${sec.groups.web}, db ${sec.groups.db}, monitor ${sec.groups.monitor}`)
    lines.push(
      `  REJECT records: ${sec.rejectRecords} (${sec.rejectPackets} packets) — the attacker's scan and SSH attempts`,
    )
    lines.push('  list them with:')
    for (const c of sec.commands) lines.push(`    ${c}`)
  } else lines.push(`  not created: ${sec.unavailable}`)
  lines.push('', `traffic: ${JSON.stringify(s.traffic.client)} ${JSON.stringify(s.traffic.attacker)}`)
  lines.push(
    `target: ${s.target.datagrams} datagrams, drops ${JSON.stringify(s.target.drops)}; status in ${s.target.statusFile}`,
  )
  if (kept) {
    lines.push(
      '',
      "Explore what the demo made: start the server again on its data directory (the demo's endpoint is",
      'gone; the agents too, so their instances show as stopped), then paste any of the commands below:',
      '',
    )
    for (const c of s.afterDemo) lines.push(c)
  }
  return lines.join('\n') + '\n'
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a small VPC in network namespaces with mirroring and flow logs, end to end')
    .option('--duration <s>', 'seconds of traffic', '30')
    .option(
      '--data-dir <dir>',
      'keep pcaps, flow logs and state here (default: ./mirrorflow-demo/<UTC time>)',
    )
    .option('--discard', 'remove the data directory at the end')
    .option('--json', 'print the summary as JSON')
    .option('--prefix <p>', 'name prefix of the namespaces (at most 12 characters)')
    .action(async (o: DemoCliOptions) => {
      const duration = Number(o.duration)
      if (!Number.isFinite(duration) || duration <= 0 || duration > 3600)
        throw new UsageError('--duration must be 1 to 3600 seconds')
      if (process.getuid?.() !== 0) throw new UsageError('the demo builds network namespaces: run it as root')
      const kept = o.discard !== true
      const stamp = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')
      const dataDir = resolve(o.dataDir ?? join('mirrorflow-demo', stamp))
      let stop: () => void = () => undefined
      const interrupted = new Promise<void>((r) => (stop = r))
      const onSignal = (): void => {
        process.stderr.write('\nmirrorflow demo: stopping (tearing everything down)…\n')
        stop()
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      try {
        // Loaded here so that other subcommands do not pay for the lab, the SDK and the server.
        const { runDemo } = await import('../lab/index.ts')
        const summary = await runDemo({
          dataDir,
          durationSeconds: duration,
          prefix: o.prefix ?? `mfdemo${process.pid % 1000}`,
          log: (l) => process.stderr.write(`mirrorflow demo: ${l}\n`),
          print: (l) => process.stderr.write(`${l}\n`),
          interrupted,
        })
        process.stdout.write(o.json === true ? JSON.stringify(summary, null, 2) + '\n' : text(summary, kept))
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        if (!kept) rmSync(dataDir, { recursive: true, force: true })
      }
    })
}
