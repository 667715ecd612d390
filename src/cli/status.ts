// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow status`: what a running system is doing, in one screen (or one JSON object with
 * `--json`). From the server (`MirrorflowDescribeStatus`): the server itself; every agent — its
 * instance, state (an agent not heard from within the server's timeout shows as `stopped`, with
 * since when), last seen, interfaces, the mirror sessions whose source it holds, and its latest
 * report (sessions and flow logs applied, reconcile counts, last error); every traffic mirror target
 * and its sessions. The target processes do not talk to the server: `--target` adds each one's own
 * status (its `/status` address from `mirrorflow target --metrics`, or its status.json file) with its
 * sessions, rates and drops. Credentials are found as for `mirrorflow admin`.
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { callAction, RemoteApiError, resolveCredentials } from '../api/index.ts'
import { UsageError } from '../errors.ts'

interface StatusOptions {
  endpointUrl: string
  profile?: string
  region?: string
  target?: string[]
  json?: boolean
  timeout: string
}

/** The server's answer (docs/api.md, MirrorflowDescribeStatus). */
export interface ServerStatus {
  Server: {
    Version: string
    Region: string
    AccountId: string
    StateVersion: number
    AgentTimeoutSeconds: number
    Time: string
  }
  Agents: Array<{
    InstanceId: string
    Hostname: string
    State: string
    StateReason: string
    LastSeen: string | null
    NetworkInterfaces: Array<{ NetworkInterfaceId: string; DeviceName: string; PrivateIpAddress: string }>
    MirrorSessions: string[]
    Report: {
      ReportedAt: string
      AppliedVersion: number
      Datapath: string
      MirrorSessions: number
      FlowLogs: number
      ReconcilesOk: number
      ReconcilesFailed: number
      LastError: string | null
    } | null
  }>
  Targets: Array<{
    TrafficMirrorTargetId: string
    Type: string
    NetworkInterfaceId: string | null
    NetworkLoadBalancerArn: string | null
    GatewayLoadBalancerEndpointId: string | null
    Description: string
    Sessions: Array<{
      TrafficMirrorSessionId: string
      SourceNetworkInterfaceId: string
      VirtualNetworkId: number
      SessionNumber: number
    }>
  }>
}

/** One target process, as `--target` found it. */
export interface TargetProcessStatus {
  source: string
  error: string | null
  state: string | null
  listen: string | null
  packets: number
  bytes: number
  /** Averages since the target started. */
  packetsPerSecond: number
  bytesPerSecond: number
  drops: Record<string, number>
  sessions: Array<{ vni: number; source: string; packets: number; bytes: number }>
}

export interface StatusReport {
  endpoint: string
  server: ServerStatus['Server']
  agents: ServerStatus['Agents']
  targets: ServerStatus['Targets']
  targetProcesses: TargetProcessStatus[]
}

/** The most a target status document may be (bytes): status files are small. */
const MAX_TARGET_STATUS_BYTES = 8 * 1024 * 1024

/** Reads a target's status from a URL (`http://…`, or `host:port` → `/status`) or a file. */
export async function readTargetStatus(spec: string, timeoutMs: number): Promise<TargetProcessStatus> {
  const out: TargetProcessStatus = {
    source: spec,
    error: null,
    state: null,
    listen: null,
    packets: 0,
    bytes: 0,
    packetsPerSecond: 0,
    bytesPerSecond: 0,
    drops: {},
    sessions: [],
  }
  let text: string
  try {
    if (/^https?:\/\//.test(spec) || /^[^/]+:\d+$/.test(spec)) {
      const url = new URL(/^https?:\/\//.test(spec) ? spec : `http://${spec}/status`)
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      text = await res.text()
    } else {
      text = readFileSync(spec, 'utf8')
    }
    if (text.length > MAX_TARGET_STATUS_BYTES) throw new Error('status document too large')
  } catch (err) {
    out.error = (err as Error).message
    return out
  }
  let j: Record<string, unknown>
  try {
    j = JSON.parse(text) as Record<string, unknown>
  } catch {
    out.error = 'not a JSON status document'
    return out
  }
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
  out.state = typeof j.state === 'string' ? j.state : null
  out.listen = typeof j.listen === 'string' ? j.listen : null
  out.packets = num(j.packets)
  out.bytes = num(j.bytes)
  const started = Date.parse(String(j.startedAt))
  const updated = Date.parse(String(j.updatedAt))
  const secs = (updated - started) / 1000
  if (Number.isFinite(secs) && secs > 0) {
    out.packetsPerSecond = Math.round(out.packets / secs)
    out.bytesPerSecond = Math.round(out.bytes / secs)
  }
  if (typeof j.drops === 'object' && j.drops !== null) {
    for (const [k, v] of Object.entries(j.drops as Record<string, unknown>)) out.drops[k] = num(v)
  }
  if (Array.isArray(j.sessions)) {
    for (const s of j.sessions as Array<Record<string, unknown>>) {
      out.sessions.push({
        vni: num(s.vni),
        source: typeof s.source === 'string' ? s.source : '',
        packets: num(s.packets),
        bytes: num(s.bytes),
      })
    }
  }
  return out
}

function ago(iso: string | null, now: number): string {
  if (iso === null) return 'never since the server started'
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  return `${s} s ago (${iso})`
}

/** The text form of a status report. */
export function formatStatus(r: StatusReport): string {
  const now = Date.parse(r.server.Time)
  const lines: string[] = []
  const s = r.server
  lines.push(
    `server ${r.endpoint}: mirrorflow ${s.Version}, account ${s.AccountId}, region ${s.Region}, state version ${s.StateVersion}`,
  )
  lines.push('', `agents (${r.agents.length}; silent for more than ${s.AgentTimeoutSeconds} s = stopped):`)
  if (r.agents.length === 0) lines.push('  none registered')
  for (const a of r.agents) {
    const flag = a.State === 'running' ? 'running' : `STOPPED — ${a.StateReason}`
    lines.push(`  ${a.InstanceId} ${a.Hostname}: ${flag}; last seen ${ago(a.LastSeen, now)}`)
    const ifs = a.NetworkInterfaces.map(
      (e) => `${e.DeviceName || '?'} ${e.NetworkInterfaceId} ${e.PrivateIpAddress}`,
    )
    lines.push(`    interfaces: ${ifs.length > 0 ? ifs.join(', ') : 'none'}`)
    lines.push(
      `    mirror sessions from here: ${a.MirrorSessions.length > 0 ? a.MirrorSessions.join(', ') : 'none'}`,
    )
    const rep = a.Report
    if (rep === null) lines.push('    report: none yet')
    else {
      lines.push(
        `    applied: state version ${rep.AppliedVersion} of ${s.StateVersion}, ${rep.MirrorSessions} mirror session(s) ` +
          `(${rep.Datapath || 'no datapath'}), ${rep.FlowLogs} flow log(s); reconciles ${rep.ReconcilesOk} ok, ` +
          `${rep.ReconcilesFailed} failed; reported ${ago(rep.ReportedAt, now)}`,
      )
      lines.push(`    errors: ${rep.LastError ?? 'none'}`)
    }
  }
  lines.push('', `traffic mirror targets (${r.targets.length}):`)
  if (r.targets.length === 0) lines.push('  none')
  for (const t of r.targets) {
    const where = t.NetworkInterfaceId ?? t.NetworkLoadBalancerArn ?? t.GatewayLoadBalancerEndpointId ?? '?'
    lines.push(
      `  ${t.TrafficMirrorTargetId} (${t.Type} ${where})${t.Description ? ` "${t.Description}"` : ''}`,
    )
    if (t.Sessions.length === 0) lines.push('    sessions: none')
    for (const x of t.Sessions)
      lines.push(
        `    ${x.TrafficMirrorSessionId}: source ${x.SourceNetworkInterfaceId}, VNI ${x.VirtualNetworkId}, session number ${x.SessionNumber}`,
      )
  }
  if (r.targetProcesses.length > 0) {
    lines.push('', 'target processes:')
    for (const p of r.targetProcesses) {
      if (p.error !== null) {
        lines.push(`  ${p.source}: UNREACHABLE — ${p.error}`)
        continue
      }
      const drops = Object.entries(p.drops)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
      lines.push(
        `  ${p.source}: ${p.state ?? '?'} on ${p.listen ?? '?'}; ${p.packets} packets, ${p.bytes} bytes ` +
          `(${p.packetsPerSecond} pkt/s, ${p.bytesPerSecond} B/s on average); drops ${drops.length > 0 ? drops.join(', ') : 'none'}`,
      )
      for (const x of p.sessions)
        lines.push(`    VNI ${x.vni} from ${x.source || '?'}: ${x.packets} packets, ${x.bytes} bytes`)
    }
  }
  return lines.join('\n') + '\n'
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'what the server knows: agents (state, last seen, interfaces, sessions applied, errors) and targets',
    )
    .option(
      '--endpoint-url <url>',
      'the server',
      process.env.MIRRORFLOW_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
    )
    .option('--profile <name>', 'credentials profile')
    .option('--region <r>', 'signing region (default: from the profile, else us-east-1)')
    .option(
      '--target <addr|file...>',
      "a target process's status: its --metrics address (host:port or URL) or its status.json",
    )
    .option('--timeout <s>', 'seconds to wait for each answer', '10')
    .option('--json', 'print one JSON object')
    .action(async (o: StatusOptions) => {
      const timeout = Number(o.timeout)
      if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 300)
        throw new UsageError('--timeout must be more than 0 and at most 300 seconds')
      const creds = resolveCredentials({ profile: o.profile, region: o.region })
      if (creds === undefined) {
        throw new UsageError(
          'no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE (or --profile), or MIRRORFLOW_DATA_DIR',
        )
      }
      let st: ServerStatus
      try {
        st = (await callAction(o.endpointUrl, creds, 'MirrorflowDescribeStatus', {})) as ServerStatus
      } catch (err) {
        if (err instanceof RemoteApiError) {
          process.stderr.write(
            `\nAn error occurred (${err.awsCode}) when calling the MirrorflowDescribeStatus operation: ${err.message}\n`,
          )
          process.exitCode = 254
          return
        }
        process.stderr.write(
          `\nCould not connect to the endpoint URL: "${o.endpointUrl}" (${(err as Error).message})\n`,
        )
        process.exitCode = 255
        return
      }
      const targetProcesses = await Promise.all(
        (o.target ?? []).map((t) => readTargetStatus(t, timeout * 1000)),
      )
      const report: StatusReport = {
        endpoint: o.endpointUrl,
        server: st.Server,
        agents: st.Agents,
        targets: st.Targets,
        targetProcesses,
      }
      process.stdout.write(o.json === true ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report))
      // Something is not doing its job: say so in the exit status too (scripts, health checks).
      const unhealthy =
        report.agents.some((a) => a.State !== 'running' || (a.Report?.LastError ?? null) !== null) ||
        targetProcesses.some((p) => p.error !== null || p.state !== 'running')
      if (unhealthy) process.exitCode = 3
    })
}
