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
 * - **metrics** per interface and session under AWS's names (mirror-accounting.ts, metrics.ts).
 *
 * A graceful stop (SIGTERM/SIGINT) ends the open aggregation intervals, so their records are
 * written, delivers what it can (the rest stays spooled for the next start), and removes its
 * mirroring from the host unless told to keep it.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Registry } from 'prom-client'
import type { FlowLogInterface } from '../flowlogs/index.ts'
import {
  createDatapath,
  DEFAULT_NFT_NAMING,
  type Datapath,
  type DatapathType,
  type MirrorState,
} from '../mirror/index.ts'
import type { FrameBatch } from '../packet/index.ts'
import { parseHostPort, StatusFileWriter, StatusServer, type HostPort } from '../runtime/index.ts'
import { CaptureSet, mirrorExclusion, mirrorPaths, type CaptureStatusRow } from './capture-set.ts'
import type { AgentCredentials, AgentStatusReport, ServerClient, VersionedDesiredState } from './client.ts'
import { HttpServerClient } from './client.ts'
import { LocalBucketStore, S3EndpointStore, SpoolDeliverer, type ObjectStore } from '../flowlogs/index.ts'
import { localInterfaceOf, toMirrorState, type DesiredFlowLog, type DesiredState } from './desired.ts'
import { FlowLogRunner } from './flowlog-runner.ts'
import { inventoryKey, readInventory, readLinkNames, type HostInterface } from './inventory.ts'
import { createAgentMetrics } from './metrics.ts'
import { MirrorAccounting } from './mirror-accounting.ts'

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
  captures: CaptureStatusRow[]
  flowLogs: Array<{ flowLogId: string; bucket: string; interfaces: string[]; stats: Record<string, number> }>
  delivery: Record<string, unknown>
  delivered: Record<string, string[]>
  reconciles: { ok: number; failed: number; lastError: string | null }
}

/** An unchanged report is sent again after this long (ms), so the server's copy stays fresh. */
const REPORT_EVERY_MS = 15_000

export class Agent {
  readonly config: AgentConfig
  readonly registry: Registry
  private readonly client: ServerClient
  private readonly datapath: Datapath
  private readonly deliverer: SpoolDeliverer
  private readonly accounting = new MirrorAccounting()
  private inventory: HostInterface[] = []
  private invKey = ''
  private instanceId: string | null
  private eniByIfname = new Map<string, string>()
  private version: number | undefined
  private lastState: DesiredState | null = null
  private readonly captures: CaptureSet
  private runners = new Map<string, { key: string; runner: FlowLogRunner }>()
  private routes = new Map<string, Route>()
  private mirrorInfo = { sessions: 0, kernelSources: [] as string[], userspaceSources: [] as string[] }
  private readonly delivered = new Map<string, string[]>()
  private reconcileOk = 0
  private reportKey = ''
  private reportedAt = 0
  private reporting = false
  private reconcileFailed = 0
  private lastError: string | null = null
  private stopping = false
  private abort = new AbortController()
  private loop: Promise<void> = Promise.resolve()
  private timers: NodeJS.Timeout[] = []
  private http: StatusServer | null = null
  private readonly statusFile: StatusFileWriter
  private reconciling: Promise<void> = Promise.resolve()
  private needReconcile = false
  private reconcileFailedLast = false
  /** Inventory checks in a row at which a registered interface was missing. */
  private readonly missing = new Map<string, number>()
  /** The first reconciliation replays the journals of a crashed predecessor; later ones do not. */
  private replayed = false

  constructor(
    config: AgentConfig,
    deps: { client?: ServerClient; datapath?: Datapath; store?: ObjectStore } = {},
  ) {
    this.config = config
    this.client = deps.client ?? new HttpServerClient(config.serverUrl, config.credentials)
    this.datapath = deps.datapath ?? createDatapath(config.datapath)
    const store =
      deps.store ??
      (config.s3Endpoint !== null
        ? new S3EndpointStore(config.s3Endpoint, config.credentials.region)
        : new LocalBucketStore(config.s3Dir))
    this.deliverer = new SpoolDeliverer(join(config.dataDir, 'spool'), store, (flowLogId, bucket, key) => {
      const where =
        store instanceof LocalBucketStore ? resolve(store.root, bucket, key) : `s3://${bucket}/${key}`
      this.delivered.set(flowLogId, [...(this.delivered.get(flowLogId) ?? []), where])
    })
    this.instanceId = config.instanceId
    this.statusFile = new StatusFileWriter(join(config.dataDir, 'agent-status.json'))
    this.captures = new CaptureSet(
      (ifname, b) => this.onBatch(ifname, b),
      (_ifname, err) => this.fail(err),
    )
    this.registry = createAgentMetrics({
      instanceId: () => this.instanceId ?? '',
      mirrorRows: () => this.accounting.rows(),
      captureRows: () =>
        this.captures.rows().map((c) => ({
          ifname: c.ifname,
          interfaceId: this.eniByIfname.get(c.ifname) ?? '',
          packets: c.packets,
          kernelDropped: c.kernelDropped,
        })),
      flowLogRows: () =>
        [...this.runners.values()].map(({ runner }) => {
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
      delivery: () => this.deliverer.stats,
      reconciles: () => ({ ok: this.reconcileOk, failed: this.reconcileFailed, version: this.version ?? 0 }),
    })
  }

  private get stateFile(): string {
    return join(this.config.dataDir, 'agent-state.json')
  }

  /** Registers, applies the first desired state, and keeps going in the background. */
  async start(): Promise<void> {
    mkdirSync(this.config.dataDir, { recursive: true })
    if (this.instanceId === null) {
      try {
        this.instanceId =
          (JSON.parse(readFileSync(this.stateFile, 'utf8')) as { instanceId?: string }).instanceId ?? null
      } catch {
        // first start
      }
    }
    await this.refreshInventory(true)
    const first = await this.client.desiredState(this.instanceId as string, undefined, 0)
    await this.removeLeftovers(first)
    try {
      await this.reconcile(first)
      this.version = first.version
    } catch (err) {
      // Keep running: the poll loop retries (version unknown = answered at once, after a pause).
      this.fail(err)
      this.reconcileFailedLast = true
    }
    if (this.config.metricsListen !== null) await this.listenMetrics(this.config.metricsListen)
    this.timers.push(setInterval(() => void this.tick(), 1000))
    this.timers.push(
      setInterval(
        () => void this.refreshInventory(false).catch((e: unknown) => this.fail(e)),
        this.config.inventoryIntervalMs,
      ),
    )
    for (const t of this.timers) t.unref()
    this.deliverer.kick()
    this.loop = this.pollLoop()
  }

  private fail(err: unknown): void {
    this.reconcileFailed++
    this.lastError = (err as Error).message
  }

  /** Reads the interfaces; registers again when they changed (or when `force`). */
  private async refreshInventory(force: boolean): Promise<void> {
    const inv = await readInventory([DEFAULT_NFT_NAMING.devicePrefix])
    const key = inventoryKey(inv)
    if (!force) await this.retireVanished()
    if (!force && key === this.invKey) return
    const reg = await this.client.register(this.config.hostname, this.instanceId ?? undefined, inv)
    this.inventory = inv
    this.invKey = key
    this.instanceId = reg.instanceId
    this.eniByIfname = new Map(reg.interfaces.map((i) => [i.deviceName, i.networkInterfaceId]))
    const tmp = `${this.stateFile}.tmp`
    writeFileSync(
      tmp,
      JSON.stringify({ instanceId: reg.instanceId, hostname: this.config.hostname }, null, 2) + '\n',
    )
    renameSync(tmp, this.stateFile)
    if (!force && this.lastState !== null) this.requestReconcile(this.lastState)
  }

  /**
   * Interfaces come and go: an ENI this agent registered (it has a device name) whose Linux
   * interface no longer exists, at two inventory checks in a row (so a brief rename or re-creation
   * does not cost its sessions), is deregistered — its sessions and flow logs go with it, as when
   * AWS deletes an ENI. An interface that only lost its address is kept.
   */
  private async retireVanished(): Promise<void> {
    const st = this.lastState
    if (st === null) return
    const links = await readLinkNames()
    for (const eni of st.interfaces) {
      const id = eni.networkInterfaceId
      if (eni.deviceName === null || links.has(eni.deviceName)) {
        this.missing.delete(id)
        continue
      }
      const n = (this.missing.get(id) ?? 0) + 1
      this.missing.set(id, n)
      if (n < 2) continue
      try {
        await this.client.deregisterInterface(id)
        this.missing.delete(id)
      } catch (err) {
        this.fail(err)
      }
    }
  }

  /**
   * After a crash, the kernel may hold our table and vxlan devices with no process managing them.
   * When the desired state has no kernel-path session in this namespace, the datapath would never
   * look at them, so they are removed here by their reserved names (the mirror engine's naming:
   * table `mirrorflow`, devices `mfv…`). When it does have sessions, `apply` replaces the table and
   * deletes devices it does not want, which converges the same way.
   */
  private async removeLeftovers(first: DesiredState): Promise<void> {
    const ms = toMirrorState(first, this.inventory)
    if (ms.sessions.length > 0) return
    const n = DEFAULT_NFT_NAMING
    if (spawnSync('nft', ['list', 'table', 'netdev', n.table]).status === 0)
      spawnSync('nft', ['delete', 'table', 'netdev', n.table])
    const links =
      spawnSync('ip', ['-j', 'link', 'show', 'type', 'vxlan'], { encoding: 'utf8' }).stdout ?? '[]'
    for (const l of JSON.parse(links === '' ? '[]' : links) as Array<{ ifname: string }>) {
      if (l.ifname.startsWith(n.devicePrefix)) spawnSync('ip', ['link', 'del', l.ifname])
    }
  }

  private async pollLoop(): Promise<void> {
    let backoff = 0
    while (!this.stopping) {
      if (this.reconcileFailedLast) {
        // The last reconciliation failed: retry, but not in a tight loop.
        this.reconcileFailedLast = false
        await new Promise((r) => setTimeout(r, 2000))
        if (this.stopping) break
      }
      try {
        const s = await this.client.desiredState(
          this.instanceId as string,
          this.version,
          this.config.pollWaitSeconds,
          this.abort.signal,
        )
        if (this.stopping) break
        if (s.version !== this.version) {
          this.version = s.version
          this.requestReconcile(s)
          await this.reconciling
        }
        backoff = 0
      } catch (err) {
        if (this.stopping) break
        this.fail(err)
        if (/InvalidInstanceID/.test((err as Error).message)) {
          this.instanceId = null
          await this.refreshInventory(true).catch((e: unknown) => this.fail(e))
        }
        backoff = Math.min(backoff === 0 ? 500 : backoff * 2, 10_000)
        await new Promise((r) => setTimeout(r, backoff))
      }
    }
  }

  /** Queues a reconciliation (they never overlap; only the latest state is applied). */
  private requestReconcile(s: DesiredState): void {
    this.lastState = s
    if (this.needReconcile) return
    this.needReconcile = true
    this.reconciling = this.reconciling.then(async () => {
      this.needReconcile = false
      if (this.stopping || this.lastState === null) return
      try {
        await this.reconcile(this.lastState)
      } catch (err) {
        this.fail(err)
        // Try again: an unknown version is answered at once by the next poll.
        this.version = undefined
        this.reconcileFailedLast = true
      }
    })
  }

  private async reconcile(s: DesiredState | VersionedDesiredState): Promise<void> {
    this.lastState = s
    // 1. Mirroring.
    const ms: MirrorState = toMirrorState(s, this.inventory)
    const r = await this.datapath.apply(ms)
    this.accounting.update(ms)
    this.mirrorInfo = {
      sessions: ms.sessions.length,
      kernelSources: r.kernelSources,
      userspaceSources: r.userspaceSources,
    }
    // 2. Flow logs: which flow logs cover which local interfaces.
    const want = new Map<string, { fl: DesiredFlowLog; ifaces: FlowLogInterface[]; ifnames: string[] }>()
    for (const eni of s.interfaces) {
      const local = localInterfaceOf(eni, this.inventory)
      if (local === undefined) continue
      for (const fl of eni.flowLogs) {
        let w = want.get(fl.flowLogId)
        if (w === undefined) {
          w = { fl, ifaces: [], ifnames: [] }
          want.set(fl.flowLogId, w)
        }
        w.ifaces.push({
          interfaceId: eni.networkInterfaceId,
          accountId: s.accountId,
          region: s.region,
          vpcId: eni.vpcId,
          subnetId: eni.subnetId,
          instanceId: s.instanceId,
          addresses: [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses, ...eni.ipv6Addresses],
        })
        w.ifnames.push(local.name)
      }
    }
    const next = new Map<string, { key: string; runner: FlowLogRunner }>()
    const retired: FlowLogRunner[] = []
    for (const [id, w] of want) {
      const key = JSON.stringify([w.fl, w.ifaces])
      const cur = this.runners.get(id)
      if (cur !== undefined && cur.key === key) {
        next.set(id, cur)
        continue
      }
      if (cur !== undefined) retired.push(cur.runner)
      try {
        const runner = new FlowLogRunner({
          flowLog: w.fl,
          interfaces: w.ifaces,
          deliverer: this.deliverer,
          spoolMaxBytes: this.config.spoolMaxBytes,
          spoolBytes: () => this.deliverer.stats.spooledBytes,
          journalDir: join(this.config.dataDir, 'journal', id),
        })
        // Only at start: what a crashed predecessor had read but not yet spooled. (Later, a flow
        // log's previous runner is still alive and spools its own records when it stops.)
        if (!this.replayed) await runner.replayJournal()
        next.set(id, { key, runner })
      } catch (err) {
        this.fail(err)
      }
    }
    for (const [id, cur] of this.runners) if (!want.has(id)) retired.push(cur.runner)
    // 3. Routes from interface to runners, swapped in one step.
    const routes = new Map<string, Route>()
    for (const [id, { runner }] of next) {
      const w = want.get(id)!
      w.ifnames.forEach((ifname, k) => {
        let route = routes.get(ifname)
        if (route === undefined) {
          route = { interfaceId: w.ifaces[k]!.interfaceId, runners: [] }
          routes.set(ifname, route)
        }
        route.runners.push({ runner, index: runner.indexOf(w.ifaces[k]!.interfaceId) })
      })
    }
    for (const src of ms.sources) {
      if (src.ifname !== undefined && !routes.has(src.ifname))
        routes.set(src.ifname, { interfaceId: src.networkInterfaceId, runners: [] })
    }
    this.runners = next
    this.routes = routes
    if (!this.replayed) {
      // Journals of flow logs deleted while no agent ran: nothing will ever spool them.
      const jroot = join(this.config.dataDir, 'journal')
      for (const id of existsSync(jroot) ? readdirSync(jroot) : []) {
        if (!next.has(id)) rmSync(join(jroot, id), { recursive: true, force: true })
      }
    }
    this.replayed = true
    // 4. Captures: one per interface that a flow log covers or that is a mirror source; the filter
    // leaves out this host's mirror copies, fragments included.
    const failed = await this.captures.sync(new Set(routes.keys()), mirrorExclusion(mirrorPaths(ms)))
    for (const err of failed.values()) this.fail(err)
    for (const runner of retired) await runner.stop()
    if (retired.length > 0) this.deliverer.kick()
    this.reconcileOk++
  }

  private onBatch(ifname: string, batch: FrameBatch): void {
    const route = this.routes.get(ifname)
    if (route === undefined) return
    for (const { runner, index } of route.runners) if (index >= 0) runner.add(batch, index)
    this.accounting.add(route.interfaceId, batch)
  }

  private async tick(): Promise<void> {
    const now = Date.now() / 1000
    let published = false
    for (const { runner } of this.runners.values()) {
      try {
        if (await runner.tick(now)) published = true
      } catch (err) {
        this.fail(err)
      }
    }
    if (published) {
      await this.deliverer.measure()
      this.deliverer.kick()
    }
    this.writeStatus()
    this.reportStatus()
  }

  /** Sends the server a short report when something changed, else every REPORT_EVERY_MS. */
  private reportStatus(): void {
    if (this.instanceId === null || this.reporting || this.client.reportStatus === undefined) return
    const report: AgentStatusReport = {
      instanceId: this.instanceId,
      appliedVersion: this.version ?? 0,
      datapath: this.datapath.kind,
      mirrorSessions: this.mirrorInfo.sessions,
      flowLogs: this.runners.size,
      reconcilesOk: this.reconcileOk,
      reconcilesFailed: this.reconcileFailed,
      lastError: this.lastError,
    }
    const key = JSON.stringify(report)
    if (key === this.reportKey && Date.now() - this.reportedAt < REPORT_EVERY_MS) return
    this.reporting = true
    this.client
      .reportStatus(report)
      .then(() => {
        this.reportKey = key
        this.reportedAt = Date.now()
      })
      // Not being able to report is not a fault of the agent's job: the next tick tries again.
      .catch(() => undefined)
      .finally(() => (this.reporting = false))
  }

  private async listenMetrics(spec: string): Promise<void> {
    this.http = new StatusServer({
      listen: parseHostPort(spec, '--metrics'),
      registry: this.registry,
      status: () => this.status(),
    })
    await this.http.start()
  }

  /** The address of the /metrics + /status server (null without one). */
  get metricsAddress(): HostPort | null {
    return this.http?.address ?? null
  }

  status(): AgentStatus {
    return {
      instanceId: this.instanceId,
      hostname: this.config.hostname,
      version: this.version ?? null,
      datapath: this.datapath.kind,
      interfaces: this.inventory.map((i) => ({
        ifname: i.name,
        interfaceId: this.eniByIfname.get(i.name) ?? null,
        mac: i.mac,
        addresses: [...i.ipv4, ...i.ipv6],
      })),
      mirror: this.mirrorInfo,
      captures: this.captures.rows(),
      flowLogs: [...this.runners.values()].map(({ runner }) => ({
        flowLogId: runner.flowLogId,
        bucket: runner.bucket,
        interfaces: runner.interfaceIds,
        stats: runner.stats,
        lastWriteError: runner.lastWriteError,
      })),
      delivery: { ...this.deliverer.stats },
      delivered: Object.fromEntries(this.delivered),
      reconciles: { ok: this.reconcileOk, failed: this.reconcileFailed, lastError: this.lastError },
    }
  }

  private writeStatus(): void {
    this.statusFile.write(this.status())
  }

  /** Graceful stop: every captured packet is aggregated, every record written and (if possible) delivered. */
  async stop(): Promise<AgentStatus> {
    if (this.stopping) return this.status()
    this.stopping = true
    this.abort.abort()
    for (const t of this.timers) clearInterval(t)
    await this.loop.catch(() => undefined)
    await this.reconciling.catch(() => undefined)
    await this.captures.stop()
    for (const { runner } of this.runners.values()) await runner.stop().catch((e: unknown) => this.fail(e))
    await this.deliverer.measure()
    await this.deliverer.close()
    if (!this.config.keepMirroringOnExit) await this.datapath.remove().catch((e: unknown) => this.fail(e))
    await this.http?.stop()
    const st = this.status()
    this.writeStatus()
    return st
  }
}
