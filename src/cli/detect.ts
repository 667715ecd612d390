// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow detect`: GuardDuty findings from flow-log files (`--flow-logs PATH…`: text `.log.gz` or
 * `.log` files, Parquet files, or directories in the S3 layout) or from captures (`--pcap FILE…`: packets → flow-log
 * records → findings). A table by default, `--json` for a JSON array of findings in GuardDuty's shape.
 * A summary goes to stderr. Exit status 0 whether or not anything was found.
 * @module
 */
import type { Command } from 'commander'
import {
  detectCaptures,
  detectConfig,
  detectFlowLogs,
  severityLabel,
  type DetectionEngine,
  type OfflineOptions,
} from '../analytics/index.ts'
import { IpList, readListLocation, type Finding } from '../control/index.ts'
import { UsageError } from '../errors.ts'
import { assertReadableInput } from './errors.ts'

interface DetectOptions {
  flowLogs?: string[]
  pcap?: string[]
  json?: boolean
  set?: string[]
  threatList?: string[]
  trustedList?: string[]
  local?: string[]
  interfaceId?: string
  instanceId?: string
  interfaceAddress?: string[]
  accountId?: string
  region?: string
  quiet?: boolean
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('GuardDuty findings (port scans, brute force, DoS, …) from flow-log files or captures')
    .option(
      '--flow-logs <path...>',
      'flow-log files (.log.gz, .log, .parquet) or directories in the S3 layout',
    )
    .option('--pcap <file...>', 'capture files (pcap/pcapng): packets become flow-log records first')
    .option('--json', 'print a JSON array of findings (GuardDuty shape) instead of a table')
    .option('--set <key=value...>', 'a threshold or window, e.g. portscan.minPorts=50 (docs/detect.md)')
    .option(
      '--threat-list <file...>',
      'threat list (TXT: an IP or CIDR a line); a name starting "blackhole" lists black holes',
    )
    .option('--trusted-list <file...>', 'trusted list (TXT): records with these addresses make no finding')
    .option('--local <cidr...>', 'networks whose addresses are instances (default: the private ranges)')
    .option('--interface-id <eni>', '--pcap: the interface the capture was taken on')
    .option('--instance-id <id>', '--pcap: the instance the capture was taken on')
    .option('--interface-address <ip...>', "--pcap: the interface's own addresses (decide the direction)")
    .option('--account-id <id>', 'account id of the findings')
    .option('--region <r>', 'region of the findings')
    .option('--quiet', 'no summary on stderr')
    .action(async (opts: DetectOptions) => {
      await runDetect(opts)
    })
}

function readList(file: string): IpList {
  assertReadableInput(file)
  // A list named on our own command line: its directory is the root it must stay in.
  const abs = file.startsWith('/') ? file : `${process.cwd()}/${file}`
  const dir = abs.slice(0, abs.lastIndexOf('/')) || '/'
  return new IpList(readListLocation(abs, { files: dir, buckets: dir }))
}

async function runDetect(opts: DetectOptions): Promise<void> {
  const flowLogs = opts.flowLogs ?? []
  const pcaps = opts.pcap ?? []
  if (flowLogs.length === 0 && pcaps.length === 0)
    throw new UsageError('give --flow-logs PATH… or --pcap FILE…')
  if (flowLogs.length > 0 && pcaps.length > 0) throw new UsageError('give --flow-logs or --pcap, not both')
  if (opts.accountId !== undefined && !/^\d{12}$/.test(opts.accountId))
    throw new UsageError(`--account-id must be 12 digits, got ${opts.accountId}`)
  for (const p of pcaps) assertReadableInput(p)
  const config = detectConfig(opts.set ?? [])
  const base = (f: string): string => f.slice(f.lastIndexOf('/') + 1)
  const threatLists = (opts.threatList ?? []).map((f) => ({ name: base(f), list: readList(f) }))
  const trusted = (opts.trustedList ?? []).map(readList)
  let localNetworks: IpList | undefined
  if (opts.local !== undefined) {
    const l = new IpList(opts.local.join('\n'))
    if (l.invalid > 0) throw new UsageError(`--local: not a CIDR block in ${opts.local.join(' ')}`)
    localNetworks = l
  }
  const common: OfflineOptions = {
    config,
    threatLists,
    trusted,
    ...(localNetworks !== undefined ? { localNetworks } : {}),
    ...(opts.accountId !== undefined ? { accountId: opts.accountId } : {}),
    ...(opts.region !== undefined ? { region: opts.region } : {}),
  }
  let engine: DetectionEngine
  let summary: string
  if (flowLogs.length > 0) {
    const r = await detectFlowLogs(flowLogs, common)
    engine = r.engine
    summary = `files ${r.read.files}, records ${r.read.records}, skipped (NODATA/SKIPDATA) ${r.read.skippedStatus}, malformed lines ${r.read.malformed}`
  } else {
    const r = await detectCaptures(
      pcaps,
      {
        ...(opts.interfaceId !== undefined ? { interfaceId: opts.interfaceId } : {}),
        ...(opts.instanceId !== undefined ? { instanceId: opts.instanceId } : {}),
        ...(opts.interfaceAddress !== undefined ? { addresses: opts.interfaceAddress } : {}),
      },
      common,
    )
    engine = r.engine
    summary = `captures ${pcaps.length}, packets ${r.packets}, flow-log records ${r.records}`
  }
  const findings = engine.findings().sort((a, b) => b.Severity - a.Severity || a.Type.localeCompare(b.Type))
  if (opts.json === true) process.stdout.write(JSON.stringify(findings, null, 2) + '\n')
  else process.stdout.write(findingsTable(findings))
  if (opts.quiet !== true) {
    const ev = engine.stats.evicted
    process.stderr.write(
      `mirrorflow detect: ${summary}, findings ${findings.length}` +
        `, evicted (pairs ${ev.pairs}, sweeps ${ev.sweeps}, flows ${ev.flows}, instances ${ev.instances}, findings ${ev.findings})\n`,
    )
  }
}

/** The remote and local address of a finding (its action's first detail). */
export function findingEndpoints(f: Finding): { local: string; remote: string; port: string } {
  const a = f.Service.Action
  const n = a.NetworkConnectionAction
  if (n !== undefined) {
    const lp = n.LocalPortDetails?.Port
    const rp = n.RemotePortDetails?.Port
    return {
      local: `${n.LocalIpDetails.IpAddressV4 ?? n.LocalIpDetails.IpAddressV6 ?? '-'}${lp !== undefined ? `:${lp}` : ''}`,
      remote: `${n.RemoteIpDetails.IpAddressV4 ?? n.RemoteIpDetails.IpAddressV6 ?? '-'}${rp !== undefined ? `:${rp}` : ''}`,
      port: '',
    }
  }
  const d = a.PortProbeAction?.PortProbeDetails ?? []
  const first = d[0]
  const ports = d.map((x) => x.LocalPortDetails.Port)
  return {
    local: `${first?.LocalIpDetails.IpAddressV4 ?? first?.LocalIpDetails.IpAddressV6 ?? '-'}${ports.length > 0 ? ` (ports ${ports.slice(0, 5).join(',')}${ports.length > 5 ? ',…' : ''})` : ''}`,
    remote: first?.RemoteIpDetails.IpAddressV4 ?? first?.RemoteIpDetails.IpAddressV6 ?? '-',
    port: '',
  }
}

/** Findings as a terminal table (no colour; one line each). */
export function findingsTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings\n'
  const rows = findings.map((f) => {
    const { local, remote } = findingEndpoints(f)
    const res =
      f.Resource.InstanceDetails.InstanceId ??
      f.Resource.InstanceDetails.NetworkInterfaces[0]?.NetworkInterfaceId ??
      '-'
    return [
      f.Type,
      `${severityLabel(f.Severity)} ${f.Severity}`,
      f.Service.ResourceRole,
      res,
      local,
      remote,
      String(f.Service.Count),
      f.Service.EventFirstSeen.replace('.000Z', 'Z'),
      f.Service.EventLastSeen.replace('.000Z', 'Z'),
      f.Service.Archived ? 'archived' : '',
    ]
  })
  const head = [
    'TYPE',
    'SEVERITY',
    'ROLE',
    'RESOURCE',
    'LOCAL',
    'REMOTE',
    'COUNT',
    'FIRST SEEN',
    'LAST SEEN',
    '',
  ]
  const all = [head, ...rows]
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)))
  return (
    all
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  )
}
