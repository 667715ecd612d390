// SPDX-License-Identifier: Apache-2.0
/**
 * The agent: registers this host (or network namespace) as an instance with its interfaces, keeps
 * the registration current, long-polls its desired state and reconciles:
 *
 * - **mirroring** onto the mirror engine's `Datapath` (kernel nftables + vxlan, or user space);
 *   re-applying is idempotent, so a restarted agent converges without duplicates, and at start it
 *   removes what a crashed predecessor left behind when the desired state no longer needs it;
 * - **flow logs**: one header-only live capture per interface that a flow log (interface, subnet or
 *   VPC scope) covers, aggregated by the flow-log engine (NODATA for idle interfaces), published
 *   into an on-disk spool and delivered to the destination with retries (delivery.ts);
 * - **security groups and network ACLs** of each interface (the desired state's `security`) onto
 *   the policy engine's nftables table, applied atomically; the flow-log capture of an enforced
 *   interface also reads its NFLOG group, so what the rules drop is recorded as REJECT;
 * - **metrics** per interface and session under AWS's names (mirror-accounting.ts, metrics.ts).
 *
 * A graceful stop (SIGTERM/SIGINT) ends the open aggregation intervals, so their records are
 * written, delivers what it can (the rest stays spooled for the next start), and removes its
 * mirroring from the host unless told to keep it.
 *
 * The parts: registration.ts (state file, inventory, registration), poller.ts (the long poll),
 * flowlog-plan.ts (pure: which flow logs run over which interfaces), capture-set.ts (the captures),
 * health.ts (what is wrong now: logged once per change on stderr through pino, `lastError` cleared on
 * recovery). An agent without the privileges its job needs stops: `start()` throws
 * `AgentPrivilegeError`, and a capture or datapath that later answers "Operation not permitted"
 * resolves `fatal`, on which the command exits non-zero.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { lookup } from 'node:dns/promises'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Registry } from 'prom-client'
import {
  LocalBucketStore,
  LogGroupDeliverer,
  S3EndpointStore,
  SpoolDeliverer,
  type LogEventsSink,
  type ObjectStore,
} from '../flowlogs/index.ts'
import { createDatapath, type Datapath, type DatapathType, type MirrorState } from '../mirror/index.ts'
import { NftablesPolicy, type PolicyApplyResult, type PolicyState } from '../policy/index.ts'
import type { FrameBatch } from '../packet/index.ts'
import {
  createLogger,
  parseHostPort,
  StatusFileWriter,
  StatusServer,
  type HostPort,
  type Logger,
} from '../runtime/index.ts'
import { CaptureSet, mirrorExclusion, mirrorPaths, type CaptureStatusRow } from './capture-set.ts'
import type { AgentCredentials, AgentStatusReport, ServerClient, VersionedDesiredState } from './client.ts'
import { HttpServerClient } from './client.ts'
import { LogGroups, linkVerdictGroups, toMirrorState, toPolicyState, type DesiredState } from './desired.ts'
import { AgentPrivilegeError } from './errors.ts'
import { planCaptures, planFlowLogs } from './flowlog-plan.ts'
import { FlowLogRunner } from './flowlog-runner.ts'
import { LogsHttpSink } from './logs-sink.ts'
import { Health, isPrivilegeError } from './health.ts'
import { createAgentMetrics } from './metrics.ts'
import { MirrorAccounting } from './mirror-accounting.ts'
import { DesiredStatePoller } from './poller.ts'
import { readAgentState, Registrar } from './registration.ts'

export interface AgentConfig {
  /** The server's EC2 endpoint, e.g. http://127.0.0.1:4566. */
  serverUrl: string
  credentials: AgentCredentials
  /** State file, spool and (by default) the local S3 buckets live here. */
  dataDir: string
  /** Root of the local buckets (default DATA_DIR/s3): `<root>/<bucket>/<key>`. */
  s3Dir: string
  /** An S3-compatible endpoint to deliver to instead of local directories. */
  s3Endpoint: string | null
  hostname: string
  /** Instance id to register as (default: the one saved in DATA_DIR, else the server picks). */
  instanceId: string | null
  datapath: DatapathType
  spoolMaxBytes: number
  metricsListen: string | null
  pollWaitSeconds: number
  inventoryIntervalMs: number
  /** Leave the mirroring in place on a graceful stop. */
  keepMirroringOnExit: boolean
  /** Count GSO/GRO/TSO super-frames as their wire segments (the `mf-capture` helper; default on). */
  gsoExact: boolean
  /** Enforce each interface's security groups and network ACL (default on). */
  enforce: boolean
}

export function defaultAgentConfig(
  serverUrl: string,
  credentials: AgentCredentials,
  dataDir = 'mirrorflow-agent',
): AgentConfig {
  return {
    serverUrl,
    credentials,
    dataDir,
    s3Dir: join(dataDir, 's3'),
    s3Endpoint: null,
    hostname: defaultHostname(),
    instanceId: null,
    datapath: 'auto',
    spoolMaxBytes: 256 * 1024 * 1024,
    metricsListen: null,
    pollWaitSeconds: 20,
    inventoryIntervalMs: 5000,
    keepMirroringOnExit: false,
    gsoExact: true,
    enforce: true,
  }
}

/** The addresses and TCP port of the server at `url` (none when its name does not resolve). */
export async function serverAddresses(url: string): Promise<Array<{ address: string; port: number }>> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return []
  }
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  try {
    const all = await lookup(host, { all: true })
    return [...new Set(all.map((a) => a.address))].map((address) => ({ address, port }))
  } catch {
    return []
  }
}

/** The host name, plus the network namespace's name when the agent runs in a named one. */
export function defaultHostname(): string {
  const host = (() => {
    try {
      return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()
    } catch {
      return 'localhost'
    }
  })()
  const ns =
    spawnSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' }).stdout?.trim() ?? ''
  return ns === '' ? host : `${host}:${ns}`
}

interface Route {
  interfaceId: string
  runners: Array<{ runner: FlowLogRunner; index: number }>
}

/** The agent's status (also written to DATA_DIR/agent-status.json). */
export interface AgentStatus {
  instanceId: string | null
  hostname: string
  version: number | null
  datapath: string
  interfaces: Array<{ ifname: string; interfaceId: string | null; mac: string; addresses: string[] }>
  mirror: { sessions: number; kernelSources: string[]; userspaceSources: string[] }
  /** Enforcement: the interfaces whose security groups and network ACL are applied, and the table's size. */
  security: { enforced: boolean; interfaces: string[]; elements: number }
  captures: CaptureStatusRow[]
  flowLogs: Array<{ flowLogId: string; bucket: string; interfaces: string[]; stats: Record<string, number> }>
  delivery: Record<string, unknown>
  /** Delivery to CloudWatch Logs log groups (flow logs with a log-group destination). */
  logsDelivery: Record<string, unknown>
  delivered: Record<string, string[]>
  /** `lastError`: the most recent problem still open (null once everything recovered); `problems`: all open ones. */
  reconciles: { ok: number; failed: number; lastError: string | null; problems: Record<string, string> }
}

/** An unchanged report is sent again after this long (ms), so the server's copy stays fresh. */
const REPORT_EVERY_MS = 15_000

/** What the agent is given instead of building it (tests, embedding). */
export interface AgentDeps {
  client?: ServerClient
  datapath?: Datapath
  /** The enforcement datapath (default: nftables in this namespace). */
  policy?: { apply(state: PolicyState): Promise<PolicyApplyResult>; remove(): Promise<boolean> }
  store?: ObjectStore
  /** Where flow logs to CloudWatch Logs go (default: the server's `logs` API). */
  logsSink?: LogEventsSink
  log?: Logger
  /** Whether the process has the privileges the agent needs (default: effective uid 0). */
  privileged?: () => boolean
}

export class Agent {
  readonly config: AgentConfig
  readonly registry: Registry
  /** Resolves with the error when the agent can no longer do its job (lost privileges). */
  readonly fatal: Promise<Error>
  readonly #log: Logger
  readonly #health: Health
  readonly #client: ServerClient
  readonly #datapath: Datapath
  readonly #policy: NonNullable<AgentDeps['policy']> | null
  readonly #logGroups = new LogGroups()
  #securityInfo = { enforced: false, interfaces: [] as string[], elements: 0 }
  /** The server's addresses and port: the agent's control connection, never filtered. */
  #controlPlane: Array<{ address: string; port: number }> = []
  readonly #deliverer: SpoolDeliverer
  /** Flow logs whose destination is a log group: spool, then PutLogEvents to the server. */
  readonly #logsDeliverer: LogGroupDeliverer
  readonly #accounting = new MirrorAccounting()
  readonly #registrar: Registrar
  readonly #poller: DesiredStatePoller
  readonly #captures: CaptureSet
  readonly #statusFile: StatusFileWriter
  readonly #privileged: () => boolean
  #onFatal: (err: Error) => void = () => {}
  #lastState: DesiredState | null = null
  #runners = new Map<string, { key: string; runner: FlowLogRunner }>()
  #routes = new Map<string, Route>()
  #mirrorInfo = { sessions: 0, kernelSources: [] as string[], userspaceSources: [] as string[] }
  readonly #delivered = new Map<string, string[]>()
  #reconcileOk = 0
  #reportKey = ''
  #reportedAt = 0
  #reporting = false
  #stopping = false
  #timers: NodeJS.Timeout[] = []
  #http: StatusServer | null = null
  #reconciling: Promise<void> = Promise.resolve()
  #needReconcile = false
  /** The first reconciliation replays the journals of a crashed predecessor; later ones do not. */
  #replayed = false

  constructor(config: AgentConfig, deps: AgentDeps = {}) {
    this.config = config
    this.#log = deps.log ?? createLogger('agent')
    this.#health = new Health(this.#log)
    this.#privileged = deps.privileged ?? (() => process.geteuid?.() === 0)
    this.fatal = new Promise((r) => (this.#onFatal = r))
    this.#client = deps.client ?? new HttpServerClient(config.serverUrl, config.credentials)
    this.#datapath = deps.datapath ?? createDatapath(config.datapath)
    this.#policy = config.enforce ? (deps.policy ?? new NftablesPolicy()) : null
    const store =
      deps.store ??
      (config.s3Endpoint !== null
        ? new S3EndpointStore(config.s3Endpoint, config.credentials.region)
        : new LocalBucketStore(config.s3Dir))
    this.#deliverer = new SpoolDeliverer(join(config.dataDir, 'spool'), store, (flowLogId, bucket, key) => {
      const where =
        store instanceof LocalBucketStore ? resolve(store.root, bucket, key) : `s3://${bucket}/${key}`
      this.#delivered.set(flowLogId, [...(this.#delivered.get(flowLogId) ?? []), where])
    })
    this.#logsDeliverer = new LogGroupDeliverer(
      join(config.dataDir, 'spool-logs'),
      deps.logsSink ?? new LogsHttpSink(config.serverUrl, config.credentials),
      (flowLogId) => this.#runners.get(flowLogId)?.runner.logGroup ?? undefined,
    )
    this.#registrar = new Registrar(
      this.#client,
      config.hostname,
      join(config.dataDir, 'agent-state.json'),
      config.instanceId,
    )
    this.#poller = new DesiredStatePoller(
      this.#client,
      () => this.#registrar.instanceId as string,
      config.pollWaitSeconds,
      {
        onState: async (s) => {
          this.#requestReconcile(s)
          await this.#reconciling
        },
        onError: async (err) => {
          this.#fail('server', err, 'cannot get the desired state from the server')
          if (/InvalidInstanceID/.test((err as Error).message)) {
            this.#registrar.instanceId = null
            await this.#refreshInventory(true)
          }
        },
        onOk: () => this.#health.ok('server', 'server reachable again'),
      },
    )
    this.#statusFile = new StatusFileWriter(join(config.dataDir, 'agent-status.json'))
    this.#captures = new CaptureSet(
      (ifname, b) => this.#onBatch(ifname, b),
      (ifname, err) => this.#fail(`capture:${ifname}`, err, 'capture ended'),
      config.gsoExact,
    )
    this.registry = createAgentMetrics({
      instanceId: () => this.#registrar.instanceId ?? '',
      mirrorRows: () => this.#accounting.rows(),
      captureRows: () =>
        this.#captures.rows().map((c) => ({
          ifname: c.ifname,
          interfaceId: this.#registrar.eniByIfname.get(c.ifname) ?? '',
          packets: c.packets,
          kernelDropped: c.kernelDropped,
        })),
      flowLogRows: () =>
        [...this.#runners.values()].map(({ runner }) => {
          const s = runner.stats
          return {
            flowLogId: runner.flowLogId,
            records: s.records ?? 0,
            nodataRecords: s.nodataRecords ?? 0,
            skipdataRecords: s.skipdataRecords ?? 0,
            skippedRecordsSpoolFull: s.skippedRecordsSpoolFull ?? 0,
            writeErrors: s.writeErrors ?? 0,
            droppedRecords: s.droppedRecords ?? 0,
          }
        }),
      delivery: () => this.#deliverer.stats,
      reconciles: () => ({
        ok: this.#reconcileOk,
        failed: this.#health.failures,
        version: this.#poller.version ?? 0,
      }),
    })
  }

  /**
   * Registers, applies the first desired state, and keeps going in the background. Throws
   * `AgentPrivilegeError` without the privileges the job needs, `AgentStateError` when the state
   * file is damaged, and the server's error when it cannot register.
   */
  async start(): Promise<void> {
    if (!this.#privileged())
      throw new AgentPrivilegeError(
        'the agent needs root (CAP_NET_ADMIN and CAP_NET_RAW) to capture and to program mirroring',
      )
    mkdirSync(this.config.dataDir, { recursive: true })
    if (this.#policy !== null) this.#controlPlane = await serverAddresses(this.config.serverUrl)
    if (this.#registrar.instanceId === null)
      this.#registrar.instanceId = readAgentState(join(this.config.dataDir, 'agent-state.json'))
    await this.#refreshInventory(true)
    this.#log.info(
      {
        instanceId: this.#registrar.instanceId,
        hostname: this.config.hostname,
        interfaces: this.#registrar.inventory.length,
        server: this.config.serverUrl,
      },
      'registered',
    )
    const first = await this.#client.desiredState(this.#registrar.instanceId as string, undefined, 0)
    await this.#removeLeftovers(first)
    try {
      await this.#reconcile(first)
      this.#poller.version = first.version
    } catch (err) {
      // Keep running: the poll loop retries (version unknown = answered at once, after a pause).
      this.#fail('reconcile', err, 'reconciliation failed')
      this.#poller.retry()
    }
    if (this.config.metricsListen !== null) await this.#listenMetrics(this.config.metricsListen)
    this.#timers.push(setInterval(() => void this.#tick(), 1000))
    this.#timers.push(setInterval(() => void this.#inventoryCheck(), this.config.inventoryIntervalMs))
    for (const t of this.#timers) t.unref()
    this.#deliverer.kick()
    this.#logsDeliverer.kick()
    this.#poller.start()
  }

  /** Records a failure of `key`; one that says privileges are gone ends the agent's job. */
  #fail(key: string, err: unknown, msg: string): void {
    this.#health.fail(key, err, msg)
    if (isPrivilegeError(err) && !this.#stopping) {
      const e = new AgentPrivilegeError(`lost the privileges the agent needs: ${(err as Error).message}`, {
        cause: err,
      })
      this.#log.fatal({ error: e.message, code: e.code }, 'cannot do its job: stopping')
      this.#onFatal(e)
    }
  }

  /** Reads the interfaces; registers again when they changed (or when `force`). */
  async #refreshInventory(force: boolean): Promise<void> {
    const registered = await this.#registrar.refresh(force)
    if (registered && !force && this.#lastState !== null) this.#requestReconcile(this.#lastState)
  }

  async #inventoryCheck(): Promise<void> {
    try {
      await this.#registrar.retireVanished(this.#lastState)
      await this.#refreshInventory(false)
      this.#health.ok('inventory', 'inventory and registration work again')
    } catch (err) {
      this.#fail('inventory', err, 'inventory or registration failed')
    }
  }

  /**
   * After a crash, the kernel may hold our table and vxlan devices with no process managing them.
   * When the desired state has no kernel-path session in this namespace, the datapath would never
   * look at them, so the mirror engine removes them by their reserved names. When it does have
   * sessions, `apply` replaces the table and deletes devices it does not want, which converges the
   * same way. A failure is a problem of the reconciliation (kept, logged), not a crash.
   */
  async #removeLeftovers(first: DesiredState): Promise<void> {
    if (toMirrorState(first, this.#registrar.inventory).sessions.length > 0) return
    try {
      const r = await this.#datapath.removeLeftovers()
      if (r.table || r.devices.length > 0) this.#log.info(r, 'removed the mirroring a previous agent left')
    } catch (err) {
      this.#fail('reconcile', err, 'cannot remove the mirroring a previous agent left')
    }
  }

  /** Queues a reconciliation (they never overlap; only the latest state is applied). */
  #requestReconcile(s: DesiredState): void {
    this.#lastState = s
    if (this.#needReconcile) return
    this.#needReconcile = true
    this.#reconciling = this.#reconciling.then(async () => {
      this.#needReconcile = false
      if (this.#stopping || this.#lastState === null) return
      try {
        await this.#reconcile(this.#lastState)
      } catch (err) {
        this.#fail('reconcile', err, 'reconciliation failed')
        // Try again: an unknown version is answered at once by the next poll.
        this.#poller.retry()
      }
    })
  }

  async #reconcile(s: DesiredState | VersionedDesiredState): Promise<void> {
    this.#lastState = s
    const inventory = this.#registrar.inventory
    const ms: MirrorState = toMirrorState(s, inventory)
    // The enforcement state first: a mirror source it enforces mirrors arriving packets only once
    // the rules let them in (its mirror worker reads the inbound drops from a second NFLOG group).
    const ps =
      this.#policy === null
        ? null
        : toPolicyState(
            s,
            inventory,
            this.#logGroups,
            mirrorPaths(ms).map((p) => p.remote),
          )
    if (ps !== null) linkVerdictGroups(ms, ps)
    // 1. Mirroring.
    const r = await this.#datapath.apply(ms)
    this.#accounting.update(ms)
    this.#mirrorInfo = {
      sessions: ms.sessions.length,
      kernelSources: r.kernelSources,
      userspaceSources: r.userspaceSources,
    }
    // 1b. Security groups and network ACLs (an empty state removes what a predecessor left).
    let logGroups: ReadonlyMap<string, number> = new Map()
    if (this.#policy !== null && ps !== null) {
      ps.controlPlane = this.#controlPlane
      let pr: PolicyApplyResult = { changed: false, interfaces: 0, elements: 0 }
      try {
        pr = await this.#policy.apply(ps)
        this.#health.ok('policy', 'enforcement applies again')
      } catch (err) {
        // A problem of its own (kept, logged, retried with the next state): the kernel keeps the
        // last table that applied, and mirroring and flow logs go on.
        this.#fail('policy', err, 'cannot apply the security groups and network ACLs')
      }
      this.#securityInfo = {
        enforced: true,
        interfaces: ps.interfaces.map((i) => i.networkInterfaceId),
        elements: pr.elements,
      }
      logGroups = new Map(ps.interfaces.map((i) => [i.ifname, i.logGroup]))
    }
    // 2. Flow logs: one runner per planned flow log, kept while its plan is unchanged.
    const plan = planFlowLogs(s, inventory)
    const next = new Map<string, { key: string; runner: FlowLogRunner }>()
    const retired: FlowLogRunner[] = []
    for (const [id, p] of plan) {
      const cur = this.#runners.get(id)
      if (cur !== undefined && cur.key === p.key) {
        next.set(id, cur)
        continue
      }
      if (cur !== undefined) retired.push(cur.runner)
      try {
        const runner = new FlowLogRunner({
          flowLog: p.flowLog,
          interfaces: p.interfaces,
          deliverer: this.#deliverer,
          logGroupDeliverer: this.#logsDeliverer,
          spoolMaxBytes: this.config.spoolMaxBytes,
          spoolBytes: () => this.#deliverer.stats.spooledBytes + this.#logsDeliverer.stats.spooledBytes,
          journalDir: join(this.config.dataDir, 'journal', id),
        })
        // Only at start: what a crashed predecessor had read but not yet spooled. (Later, a flow
        // log's previous runner is still alive and spools its own records when it stops.)
        if (!this.#replayed) await runner.replayJournal()
        next.set(id, { key: p.key, runner })
        this.#health.ok(`flowlog:${id}`, 'flow log runs again')
      } catch (err) {
        this.#fail(`flowlog:${id}`, err, 'flow log cannot run')
      }
    }
    for (const [id, cur] of this.#runners) {
      if (plan.has(id)) continue
      retired.push(cur.runner)
      this.#health.forget(`flowlog:${id}`)
    }
    // 3. Routes from interface to runners, swapped in one step.
    const captures = planCaptures(plan, ms)
    const routes = new Map<string, Route>()
    for (const [ifname, c] of captures) {
      const runners: Route['runners'] = []
      for (const f of c.flowLogs) {
        const runner = next.get(f.flowLogId)?.runner
        if (runner !== undefined) runners.push({ runner, index: runner.indexOf(f.interfaceId) })
      }
      routes.set(ifname, { interfaceId: c.interfaceId, runners })
    }
    this.#runners = next
    this.#routes = routes
    if (!this.#replayed) {
      // Journals of flow logs deleted while no agent ran: nothing will ever spool them.
      const jroot = join(this.config.dataDir, 'journal')
      for (const id of existsSync(jroot) ? readdirSync(jroot) : []) {
        if (!next.has(id)) rmSync(join(jroot, id), { recursive: true, force: true })
      }
    }
    this.#replayed = true
    // 4. Captures: one per interface that a flow log covers or that is a mirror source; the filter
    // leaves out this host's mirror copies, fragments included.
    for (const row of this.#captures.rows())
      if (!routes.has(row.ifname)) this.#health.forget(`capture:${row.ifname}`)
    const failed = await this.#captures.sync(
      new Set(routes.keys()),
      mirrorExclusion(mirrorPaths(ms)),
      logGroups,
    )
    for (const ifname of routes.keys()) {
      const err = failed.get(ifname)
      if (err !== undefined) this.#fail(`capture:${ifname}`, err, 'capture cannot start')
      else this.#health.ok(`capture:${ifname}`, 'capture runs again')
    }
    for (const runner of retired) await runner.stop()
    if (retired.length > 0) this.#deliverer.kick()
    this.#reconcileOk++
    this.#health.ok('reconcile', 'reconciliation works again')
  }

  #onBatch(ifname: string, batch: FrameBatch): void {
    const route = this.#routes.get(ifname)
    if (route === undefined) return
    for (const { runner, index } of route.runners) if (index >= 0) runner.add(batch, index)
    this.#accounting.add(route.interfaceId, batch)
  }

  async #tick(): Promise<void> {
    const now = Date.now() / 1000
    let published = false
    for (const { runner } of this.#runners.values()) {
      try {
        if (await runner.tick(now)) published = true
      } catch (err) {
        this.#fail(`flowlog:${runner.flowLogId}`, err, 'flow log cannot write its records')
      }
    }
    if (published) {
      await this.#deliverer.measure()
      this.#deliverer.kick()
      await this.#logsDeliverer.measure()
      this.#logsDeliverer.kick()
    }
    this.#statusFile.write(this.status())
    this.#reportStatus()
  }

  /** Sends the server a short report when something changed, else every REPORT_EVERY_MS. */
  #reportStatus(): void {
    const instanceId = this.#registrar.instanceId
    if (instanceId === null || this.#reporting || this.#client.reportStatus === undefined) return
    const report: AgentStatusReport = {
      instanceId,
      appliedVersion: this.#poller.version ?? 0,
      datapath: this.#datapath.kind,
      mirrorSessions: this.#mirrorInfo.sessions,
      flowLogs: this.#runners.size,
      reconcilesOk: this.#reconcileOk,
      reconcilesFailed: this.#health.failures,
      lastError: this.#health.lastError,
    }
    const key = JSON.stringify(report)
    if (key === this.#reportKey && Date.now() - this.#reportedAt < REPORT_EVERY_MS) return
    this.#reporting = true
    this.#client
      .reportStatus(report)
      .then(() => {
        this.#reportKey = key
        this.#reportedAt = Date.now()
      })
      // Not being able to report is not a fault of the agent's job: the next tick tries again.
      .catch(() => undefined)
      .finally(() => (this.#reporting = false))
  }

  async #listenMetrics(spec: string): Promise<void> {
    this.#http = new StatusServer({
      listen: parseHostPort(spec, '--metrics'),
      registry: this.registry,
      status: () => this.status(),
    })
    await this.#http.start()
  }

  /** The address of the /metrics + /status server (null without one). */
  get metricsAddress(): HostPort | null {
    return this.#http?.address ?? null
  }

  status(): AgentStatus {
    const eni = this.#registrar.eniByIfname
    return {
      instanceId: this.#registrar.instanceId,
      hostname: this.config.hostname,
      version: this.#poller.version ?? null,
      datapath: this.#datapath.kind,
      interfaces: this.#registrar.inventory.map((i) => ({
        ifname: i.name,
        interfaceId: eni.get(i.name) ?? null,
        mac: i.mac,
        addresses: [...i.ipv4, ...i.ipv6],
      })),
      mirror: this.#mirrorInfo,
      security: this.#securityInfo,
      captures: this.#captures.rows(),
      flowLogs: [...this.#runners.values()].map(({ runner }) => ({
        flowLogId: runner.flowLogId,
        bucket: runner.bucket,
        interfaces: runner.interfaceIds,
        stats: runner.stats,
        lastWriteError: runner.lastWriteError,
      })),
      delivery: { ...this.#deliverer.stats },
      logsDelivery: {
        ...this.#logsDeliverer.stats,
        groupErrors: { ...this.#logsDeliverer.stats.groupErrors },
      },
      delivered: Object.fromEntries(this.#delivered),
      reconciles: {
        ok: this.#reconcileOk,
        failed: this.#health.failures,
        lastError: this.#health.lastError,
        problems: this.#health.problems(),
      },
    }
  }

  /** Graceful stop: every captured packet is aggregated, every record written and (if possible) delivered. */
  async stop(): Promise<AgentStatus> {
    if (this.#stopping) return this.status()
    this.#stopping = true
    for (const t of this.#timers) clearInterval(t)
    await this.#poller.stop()
    await this.#reconciling.catch(() => undefined)
    await this.#captures.stop()
    for (const { runner } of this.#runners.values())
      await runner
        .stop()
        .catch((e: unknown) => this.#health.fail(`flowlog:${runner.flowLogId}`, e, 'flow log stop failed'))
    await this.#deliverer.measure()
    await this.#deliverer.close()
    await this.#logsDeliverer.measure()
    await this.#logsDeliverer.close()
    if (!this.config.keepMirroringOnExit) {
      await this.#datapath
        .remove()
        .catch((e: unknown) => this.#health.fail('datapath', e, 'cannot remove the mirroring'))
      await this.#policy
        ?.remove()
        .catch((e: unknown) => this.#health.fail('policy', e, 'cannot remove the enforcement'))
    }
    await this.#http?.stop()
    const st = this.status()
    this.#statusFile.write(st)
    return st
  }
}
