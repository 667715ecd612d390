// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow target`: the mirror appliance. Receives VXLAN (from agents or real AWS Traffic
 * Mirroring), writes a pcap ring per session, flow logs of the inner packets, counters on /metrics
 * and in a status file; optionally hands the inner frames to a local interface. Runs until SIGINT
 * or SIGTERM (or `--duration`), then prints the final status as JSON.
 * @module
 */
import type { Command } from 'commander'
import type { ClientCredentials } from '../api/index.ts'
import type { MirrorTarget as MirrorTargetType, TargetLog, TargetLogGroup } from '../mirror-target/index.ts'
import { hasCode, UsageError } from '../errors.ts'
import { DEFAULT_ACCOUNT_ID } from '../flowlogs/index.ts'
import {
  DEFAULT_RECEIVE_MODE,
  defaultTargetConfig,
  parseHostPort,
  parseVniRanges,
  RECEIVE_MODES,
  type ReceiveMode,
  type TargetConfig,
  validateTargetConfig,
} from '../mirror-target/index.ts'

interface TargetOptions {
  receive?: string
  captureInterface?: string
  captureBuffer: string
  listen: string
  dataDir: string
  pcapMaxBytes: string
  pcapMaxSeconds: string
  pcapKeep: string
  snaplen: string
  pcapMaxTotalBytes: string
  pcapMaxTotalFiles: string
  pcapReorderMs: string
  maxSessions: string
  sessionProbation: string
  sessionIdle: string
  maxOpenFiles: string
  allowSource?: string[]
  allowVni?: string[]
  forwardTo?: string
  metrics?: string
  statusFile?: string
  flowLogs: boolean
  flowLogsDir?: string
  accountId: string
  region: string
  aggregationInterval: string
  flowTableSize: string
  logFormat?: string
  duration?: string
  quiet?: boolean
  server?: string
  profile?: string
  credentialsFile?: string
  pcapApi?: string
  pcapApiAdvertise?: string
  name?: string
  logGroup?: string
}

/** The credentials for `--server` (AWS_* variables, --profile or --credentials-file). */
async function serverCredentials(o: TargetOptions): Promise<ClientCredentials> {
  const { resolveCredentials } = await import('../api/index.ts')
  const env = { ...process.env }
  if (o.credentialsFile !== undefined) env.AWS_SHARED_CREDENTIALS_FILE = o.credentialsFile
  const creds = resolveCredentials(
    { profile: o.profile ?? (o.credentialsFile !== undefined ? 'mirrorflow' : undefined), region: o.region },
    env,
  )
  if (creds === undefined)
    throw new UsageError('--server: no credentials (AWS_* variables, --profile or --credentials-file)')
  return creds
}

/** `--log-group`: the target's flow logs also go to this CloudWatch Logs log group on `--server`. */
async function logGroupOf(o: TargetOptions, cfg: TargetConfig): Promise<TargetLogGroup | undefined> {
  if (o.logGroup === undefined) return undefined
  if (o.server === undefined)
    throw new UsageError('--log-group needs --server (the server that holds the log group)')
  if (!cfg.flowLogs.enabled) throw new UsageError('--log-group needs flow logs (not --no-flow-logs)')
  if (!/^[\w#/.-]{1,512}$/.test(o.logGroup))
    throw new UsageError(`--log-group: '${o.logGroup.slice(0, 64)}' is not a log group name`)
  const { LogsHttpSink } = await import('../agent/index.ts')
  const { join } = await import('node:path')
  return {
    group: o.logGroup,
    sink: new LogsHttpSink(o.server, await serverCredentials(o)),
    spoolDir: join(cfg.dataDir, 'spool-logs'),
  }
}

function nonNegative(name: string, v: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number >= 0, got '${v}'`)
  return n
}

/** Collects a repeatable option whose values may also be comma-separated. */
function list(v: string, prev: string[] = []): string[] {
  if (prev.length + 1 > 4096) throw new UsageError('at most 4096 values per option')
  return prev.concat(v.split(',').filter((x) => x !== ''))
}

function positive(name: string, v: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got '${v}'`)
  return n
}

/** Builds the configuration from the command line (exported for the demo and tests). */
export function targetConfigFromOptions(o: TargetOptions): TargetConfig {
  const cfg = defaultTargetConfig(o.dataDir)
  let hp: { host: string; port: number }
  try {
    hp = parseHostPort(o.listen, '--listen')
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (o.receive !== undefined) {
    if (!RECEIVE_MODES.includes(o.receive as ReceiveMode))
      throw new UsageError(`--receive must be ${RECEIVE_MODES.join(' or ')}, got '${o.receive}'`)
    cfg.receive = o.receive as ReceiveMode
  }
  cfg.captureInterface = o.captureInterface ?? null
  cfg.captureBufferKiB = Math.floor(positive('--capture-buffer', o.captureBuffer))
  cfg.listenHost = hp.host
  cfg.listenPort = hp.port
  cfg.pcap.maxFileBytes = Math.floor(positive('--pcap-max-bytes', o.pcapMaxBytes))
  cfg.pcap.maxFileSeconds = positive('--pcap-max-seconds', o.pcapMaxSeconds)
  cfg.pcap.keepFiles = Math.floor(positive('--pcap-keep', o.pcapKeep))
  cfg.pcap.snaplen = Math.floor(positive('--snaplen', o.snaplen))
  cfg.pcap.maxTotalBytes = Math.floor(positive('--pcap-max-total-bytes', o.pcapMaxTotalBytes))
  cfg.pcap.maxTotalFiles = Math.floor(positive('--pcap-max-total-files', o.pcapMaxTotalFiles))
  cfg.pcap.reorderMs = Math.floor(nonNegative('--pcap-reorder-ms', o.pcapReorderMs))
  const l = cfg.limits
  l.maxSessions = Math.floor(positive('--max-sessions', o.maxSessions))
  l.probationSeconds = nonNegative('--session-probation', o.sessionProbation)
  l.idleSeconds = nonNegative('--session-idle', o.sessionIdle)
  l.maxOpenFiles = Math.floor(positive('--max-open-files', o.maxOpenFiles))
  l.allowSources = o.allowSource ?? []
  try {
    l.allowVnis = (o.allowVni ?? []).flatMap((v) => parseVniRanges(v))
    validateTargetConfig(cfg)
  } catch (err) {
    if (hasCode(err, 'MF_TARGET_CONFIG')) throw new UsageError((err as Error).message)
    throw err
  }
  cfg.forwardTo = o.forwardTo ?? null
  cfg.metricsListen = o.metrics ?? null

  if (o.statusFile !== undefined) cfg.statusFile = o.statusFile
  cfg.flowLogs.enabled = o.flowLogs
  if (o.flowLogsDir !== undefined) cfg.flowLogs.dir = o.flowLogsDir
  cfg.flowLogs.accountId = o.accountId
  cfg.flowLogs.region = o.region
  const agg = Number(o.aggregationInterval)
  if (agg !== 60 && agg !== 600) throw new UsageError(`--aggregation-interval must be 60 or 600`)
  cfg.flowLogs.aggregationSeconds = agg
  cfg.flowLogs.flowTableSize = Math.floor(positive('--flow-table-size', o.flowTableSize))
  return cfg
}

export function registerTarget(program: Command): void {
  program
    .command('target')
    .description(
      'receive VXLAN mirror traffic (mirrorflow agents or AWS Traffic Mirroring): pcap per session, flow logs',
    )
    .option('--listen <addr:port>', 'UDP address to receive VXLAN on', '0.0.0.0:4789')
    .option(
      '--receive <mode>',
      `capture (tcpdump on the interface: batches, kernel timestamps; needs root) or socket (UDP socket) [default: ${DEFAULT_RECEIVE_MODE}]`,
    )
    .option(
      '--capture-interface <if>',
      'capture mode: interface (default: the one holding --listen; any for 0.0.0.0)',
    )
    .option('--capture-buffer <KiB>', 'capture mode: kernel capture buffer (tcpdump -B)', '65536')
    .option('--data-dir <dir>', 'where pcaps, flow logs and status.json go', 'mirrorflow-target')
    .option('--pcap-max-bytes <n>', 'rotate a session pcap file at this size', String(64 * 1024 * 1024))
    .option('--pcap-max-seconds <n>', 'rotate a session pcap file at this age', '300')
    .option('--pcap-keep <n>', 'pcap files kept per session', '10')
    .option('--snaplen <n>', 'bytes kept per inner frame', '65535')
    .option(
      '--pcap-max-total-bytes <n>',
      "all sessions' pcap files together: the oldest go beyond this size",
      String(8 * 1024 * 1024 * 1024),
    )
    .option('--pcap-max-total-files <n>', "all sessions' pcap files together: at most this many", '10000')
    .option(
      '--pcap-reorder-ms <ms>',
      'hold frames this long to write each pcap in time order (0: only what arrives together)',
      '20',
    )
    .option(
      '--max-sessions <n>',
      'sessions (VNI, source) held at once; see docs/target.md for eviction',
      '1024',
    )
    .option('--session-probation <s>', 'a session is evicted first until its traffic spans this long', '2')
    .option(
      '--session-idle <s>',
      'an established session gives way to a new one only after this idle time',
      '300',
    )
    .option('--max-open-files <n>', 'pcap files held open at once (file descriptors)', '256')
    .option(
      '--allow-source <cidr>',
      'only these outer sources may create sessions (repeatable, or comma-separated)',
      list,
    )
    .option(
      '--allow-vni <n|n-m>',
      'only these VNIs may create sessions (repeatable, or comma-separated)',
      list,
    )
    .option(
      '--forward-to <if>',
      'also send the inner frames on this interface (if missing: a veth pair IF/IFp is created)',
    )
    .option('--metrics <[addr:]port>', 'serve Prometheus /metrics and /status here (a bare port: loopback)')
    .option('--status-file <file>', 'status JSON file (default DATA_DIR/status.json)')
    .option('--no-flow-logs', 'do not produce flow logs from the inner packets')
    .option('--flow-logs-dir <dir>', 'root of the S3-layout flow-log directory (default DATA_DIR/flowlogs)')
    .option('--account-id <id>', 'account id in flow-log records and paths', DEFAULT_ACCOUNT_ID)
    .option('--region <r>', 'region in flow-log paths', 'us-east-1')
    .option('--aggregation-interval <s>', 'flow-log aggregation interval, 60 or 600', '60')
    .option('--flow-table-size <n>', 'flows per session per aggregation interval (64 bytes each)', '4096')
    .option('--log-format <fmt>', 'flow-log record format (default: the 14 v2 fields)')
    .option('--duration <s>', 'stop after this many seconds')
    .option('--quiet', 'do not print the final status')
    .option(
      '--pcap-api <[addr:]port>',
      "serve packets on demand (a flow's frames from the pcap rings) here, for the server (a bare port: 127.0.0.1)",
    )
    .option(
      '--pcap-api-advertise <addr>',
      'the address the server reaches --pcap-api at (default: its address)',
    )
    .option(
      '--server <url>',
      'register --pcap-api with this mirrorflow server, with counters, every 10 s; deliver --log-group to it',
    )
    .option(
      '--log-group <name>',
      'also deliver the flow logs to this CloudWatch Logs log group on --server (a log stream per vni-<VNI>)',
    )
    .option('--name <name>', 'the name to register under (default: host name and --listen port)')
    .option('--profile <p>', 'credentials profile for --server (as the AWS CLI)')
    .option(
      '--credentials-file <f>',
      'AWS credentials file for --server (profile mirrorflow unless --profile)',
    )
    .action(async (o: TargetOptions) => {
      const cfg = targetConfigFromOptions(o)
      const { MirrorTarget, TargetFlowLogSink } = await import('../mirror-target/index.ts')
      const logGroup = await logGroupOf(o, cfg)
      const sinks = cfg.flowLogs.enabled ? [new TargetFlowLogSink(cfg, o.logFormat, logGroup)] : []
      const {
        createLogger,
        installFatalHandlers,
        parseHostPort: parseListen,
      } = await import('../runtime/index.ts')
      if (o.metrics !== undefined) {
        try {
          parseListen(o.metrics, '--metrics')
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
      }
      // One JSON line per state change on stderr (stdout keeps the final status); a fault nobody
      // handled is logged as fatal and ends the process with status 1.
      const log = createLogger('target')
      installFatalHandlers(log)
      let target: Awaited<ReturnType<typeof MirrorTarget.start>>
      try {
        try {
          target = await MirrorTarget.start(cfg, { sinks, log })
        } catch (err) {
          // The default capture mode needs tcpdump and root; without them, fall back to the socket.
          if (o.receive !== undefined || cfg.receive !== 'capture' || !hasCode(err, 'MF_TARGET_CAPTURE'))
            throw err
          log.warn(
            { code: 'MF_TARGET_CAPTURE', reason: (err as Error).message },
            'capture mode unavailable: receiving with a UDP socket instead',
          )
          cfg.receive = 'socket'
          target = await MirrorTarget.start(cfg, { sinks, log })
        }
      } catch (err) {
        // It cannot do its job: say so, and exit non-zero (the caller prints the error and exits 1).
        log.fatal(
          { code: (err as { code?: string }).code, err: (err as Error).message },
          'cannot start: exiting',
        )
        throw err
      }
      const a = target.address
      log.info(
        {
          listen: `${a.host}:${a.port}`,
          receive: cfg.receive,
          pcapDir: `${cfg.dataDir}/pcap`,
          flowLogsDir: cfg.flowLogs.enabled ? cfg.flowLogs.dir : null,
          forwardTo: cfg.forwardTo,
          metrics: cfg.metricsListen,
        },
        `receiving VXLAN on ${a.host}:${a.port} (${cfg.receive} mode)`,
      )
      target.onEstablished((s) => log.info({ vni: s.vni, source: s.source }, 'session established'))
      const stopPackets = await packetsOnDemand(o, target, log)
      await new Promise<void>((resolve) => {
        const done = (): void => resolve()
        process.once('SIGINT', done)
        process.once('SIGTERM', done)
        if (o.duration !== undefined) setTimeout(done, positive('--duration', o.duration) * 1000)
      })
      await stopPackets()
      const status = await target.stop()
      if (o.quiet !== true) process.stdout.write(JSON.stringify(status, null, 2) + '\n')
    })
}

/**
 * Packets on demand: the pcap-API server over the target's rings, registered with the server (with
 * the target's counters) now and every 10 s. Returns what stops both.
 */
async function packetsOnDemand(
  o: TargetOptions,
  target: MirrorTargetType,
  log: TargetLog,
): Promise<() => Promise<void>> {
  if (o.pcapApi === undefined) {
    if (o.server !== undefined && o.logGroup === undefined)
      throw new UsageError('--server needs --pcap-api (the service it registers) or --log-group')
    return async () => {}
  }
  const { parseHostPort, startPacketService } = await import('../mirror-target/index.ts')
  let hp: { host: string; port: number }
  try {
    hp = /^\d+$/.test(o.pcapApi)
      ? { host: '127.0.0.1', port: Number(o.pcapApi) }
      : parseHostPort(o.pcapApi, '--pcap-api')
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (
    o.server !== undefined &&
    (hp.host === '0.0.0.0' || hp.host === '::') &&
    o.pcapApiAdvertise === undefined
  )
    throw new UsageError(
      '--pcap-api on a wildcard address needs --pcap-api-advertise (the address the server calls)',
    )
  const svc = await startPacketService({
    disk: target.disk,
    host: hp.host,
    port: hp.port,
    ...(o.pcapApiAdvertise !== undefined ? { advertiseHost: o.pcapApiAdvertise } : {}),
  })
  log.info({ pcapApi: svc.url }, `packets on demand at ${svc.url}`)
  if (o.server === undefined) return () => svc.close()
  const { callAction } = await import('../api/index.ts')
  const { hostname } = await import('node:os')
  const creds = await serverCredentials(o)
  const name = (o.name ?? `${hostname()}-${target.address.port}`)
    .replace(/[^A-Za-z0-9._:-]/g, '-')
    .slice(0, 64)
  const server = o.server
  let failing = false
  const register = async (): Promise<void> => {
    const st = target.status()
    let drops = 0
    for (const v of Object.values(st.drops as Record<string, number>)) drops += typeof v === 'number' ? v : 0
    try {
      await callAction(server, creds, 'MirrorflowRegisterTargetAppliance', {
        Name: name,
        Url: svc.url,
        Token: svc.token,
        Sessions: String(st.sessionTable.active),
        Packets: String(st.packets),
        Drops: String(drops),
        Errors: String(st.writeErrors),
        PcapBytes: String(st.pcap.totalBytes),
        PcapFiles: String(st.pcap.totalFiles),
      })
      if (failing) log.info({ server }, 'registered with the server again')
      failing = false
    } catch (err) {
      if (!failing)
        log.warn(
          { server, err: (err as Error).message },
          'cannot register with the server; retrying every 10 s',
        )
      failing = true
    }
  }
  await register()
  const timer = setInterval(() => void register(), 10_000)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await svc.close()
  }
}
