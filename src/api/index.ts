// SPDX-License-Identifier: Apache-2.0
/**
 * The AWS-compatible API: SigV4 over the control plane, one endpoint per AWS service, the agents'
 * desired-state endpoint, health and Prometheus metrics.
 *
 * ```ts
 * const srv = await startServer({ dataDir: '/var/lib/mirrorflow', port: 4566 })
 * // AWS_SHARED_CREDENTIALS_FILE=/var/lib/mirrorflow/credentials aws --profile mirrorflow \
 * //   --endpoint-url http://127.0.0.1:4566 ec2 describe-vpcs
 * await srv.close()
 * ```
 *
 * Layout:
 * - `server.ts` — the request pipeline: SigV4 on the head, then over the raw body, then routing by
 *   the credential scope's service to that service's endpoint; `/health`, `/metrics`.
 * - `auth/` — SigV4 verification and signing, credentials files.
 * - `protocols/` — one folder per AWS protocol codec: `ec2-query/` (parameters, XML, the Describe
 *   machinery: filters, wildcards, pagination) today; `index.ts` defines the endpoint interface and
 *   lists the slots for `aws-query` (IAM, STS), `json-1.1` (CloudWatch Logs, CloudTrail) and
 *   `rest-json` (GuardDuty).
 * - `services/` — one folder per service's actions: `ec2/` (one file per family — network,
 *   mirroring, flow logs, tags — each exporting its handlers and Describe filter tables, and the
 *   resource shapes), `mirrorflow/` (admin actions, the agents' desired state); `services/index.ts`
 *   builds each service's endpoint with its protocol's codec.
 *
 * A new AWS service: its rules go in `control/<service>/`; its actions in `services/<service>/`,
 * written against its protocol's context (adding the codec under `protocols/` if it is the first
 * service of that protocol); one line in `services/index.ts` registers its endpoint under its
 * signing name. Nothing of EC2 changes.
 *
 * It holds no business rule (control/ does) and no SQL.
 * @module
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { ControlPlane, SqliteStore, type AccessKey, type LogsQuotas, type Quotas } from '../control/index.ts'
import { credentialFileHolds, writeCredentialFiles } from './auth/credentials.ts'
import { buildServer, type MetricsAccess } from './server.ts'
import type { FlowAnalytics } from './services/mirrorflow/index.ts'
import { DEFAULT_ACCOUNT_ID, LocalBucketStore, S3EndpointStore } from '../flowlogs/index.ts'

export {
  PROFILE,
  parseIni,
  resolveCredentials,
  writeCredentialFiles,
  type ResolvedCredentials,
} from './auth/credentials.ts'
export { canonicalRequest, signRequest, signingKey, verifySigV4, type SignedRequest } from './auth/sigv4.ts'
export type { QueryContext, QueryHandler } from './protocols/ec2-query/context.ts'
export { Params, parseForm } from './protocols/ec2-query/params.ts'
export { EC2_NS, errorXml, responseXml, toJson, toXml } from './protocols/ec2-query/xml.ts'
export type { ProtocolName, ServiceEndpoint } from './protocols/index.ts'
export { ACTIONS, readTagSpecs, type ActionContext, type Handler } from './services/ec2/index.ts'
export type {
  FlowAnalytics,
  FlowFilter,
  FlowPage,
  FlowSearch,
  TrafficAnswer,
} from './services/mirrorflow/index.ts'
export {
  ADMIN_ACTIONS,
  adminActionNames,
  DesiredStateWatch,
  MAX_WAIT_SECONDS,
  type VersionedState,
} from './services/mirrorflow/index.ts'
export {
  API_VERSION,
  BODY_LIMIT,
  METRICS_ACCESS,
  buildServer,
  isLoopback,
  type MetricsAccess,
} from './server.ts'

export interface StartServerOptions {
  dataDir: string
  /** 0 = a random free port. Default 4566. */
  port?: number
  host?: string
  /** The region (several, comma-separated, are accepted in signatures; the first is primary). */
  region?: string
  accountId?: string
  logger?: boolean
  quotas?: Partial<Quotas>
  /** CloudWatch Logs' caps (log groups, streams, events stored…). */
  logsQuotas?: Partial<LogsQuotas>
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number
  /** Who may read `/metrics` (default `loopback`). */
  metricsAccess?: MetricsAccess
  /** Longest time a request may take to arrive whole, in ms (default 60,000). */
  requestTimeoutMs?: number
  /** The authorization step's clock (ms; tests move it to expire temporary credentials); default Date.now. */
  clock?: () => number
  /** Seconds without news from an agent after which DescribeInstances shows its instance stopped (default 60). */
  agentTimeoutSeconds?: number
  /** Where trails deliver: a local buckets root (`<dir>/<bucket>/<key>`, default DATA_DIR/s3)… */
  trailS3Dir?: string
  /** …or an S3-compatible endpoint. */
  trailS3Endpoint?: string
  /** Seconds between trail deliveries (default 300) and between digests (default 3600). */
  trailIntervalSeconds?: number
  trailDigestIntervalSeconds?: number
  /** Events the CloudTrail store keeps at most (default 1,000,000). */
  trailMaxEvents?: number
  /** The flow-log store traffic questions and exports go to (the console's Overview and Flows). */
  analytics?: FlowAnalytics
  /** Directory GuardDuty list locations (plain paths) must lie in (default DATA_DIR/lists). */
  listsRoot?: string
}

export interface RunningServer {
  url: string
  port: number
  /** The admin access key (created on first start, written to DATA_DIR/credentials). */
  credentials: { accessKeyId: string; secretAccessKey: string }
  /** Path of the credentials file. */
  credentialsFile: string
  /** True when this start created the admin key. */
  createdCredentials: boolean
  /** The control plane (live detection stores findings in its GuardDuty). */
  cp: ControlPlane
  /** The registry behind `/metrics` (live detection adds its counters). */
  metricsRegistry: Registry
  close(): Promise<void>
}

/** Opens the store in `dataDir`, makes sure an admin key exists, and listens. */
export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const regions = (opts.region ?? 'us-east-1')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
  const accountId = opts.accountId ?? DEFAULT_ACCOUNT_ID
  if (!/^\d{12}$/.test(accountId)) throw new Error(`the account id must be 12 digits, not '${accountId}'`)
  const host = opts.host ?? '127.0.0.1'
  // What this start creates, so that a start that fails (a port in use) leaves nothing behind.
  const made = madeBy(opts.dataDir)
  let cp: ControlPlane | undefined
  let app: FastifyInstance | undefined
  let metricsRegistry: Registry | undefined
  let created = false
  let admin: AccessKey | undefined
  try {
    const store = new SqliteStore(opts.dataDir)
    cp = new ControlPlane(store, {
      accountId,
      region: regions[0]!,
      ...(opts.quotas ? { quotas: opts.quotas } : {}),
      ...(opts.logsQuotas ? { logsQuotas: opts.logsQuotas } : {}),
      ...(opts.agentTimeoutSeconds === undefined ? {} : { agentTimeoutMs: opts.agentTimeoutSeconds * 1000 }),
      cloudtrail: {
        dataDir: opts.dataDir,
        objectStore:
          opts.trailS3Endpoint !== undefined
            ? new S3EndpointStore(opts.trailS3Endpoint, regions[0]!)
            : new LocalBucketStore(opts.trailS3Dir ?? join(opts.dataDir, 's3')),
        ...(opts.trailIntervalSeconds === undefined
          ? {}
          : { deliveryIntervalMs: opts.trailIntervalSeconds * 1000 }),
        ...(opts.trailDigestIntervalSeconds === undefined
          ? {}
          : { digestIntervalMs: opts.trailDigestIntervalSeconds * 1000 }),
        ...(opts.trailMaxEvents === undefined ? {} : { maxEvents: opts.trailMaxEvents }),
      },
      guardduty: guarddutyFiles(opts.dataDir, opts.listsRoot),
    })
    // The message key and STS's temporary credentials outlive a restart.
    cp.iam.persistIn(opts.dataDir)
    admin = cp.iam.list().find((k) => k.admin)
    if (admin === undefined) {
      admin = cp.iam.create('admin', 'admin key created at first start')
      created = true
    }
    if (created || !credentialFileHolds(opts.dataDir, admin.accessKeyId)) {
      writeCredentialFiles(opts.dataDir, admin, regions[0]!)
    }
    const built = buildServer({
      cp,
      regions,
      logger: opts.logger ?? false,
      ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}),
      ...(opts.metricsAccess !== undefined ? { metricsAccess: opts.metricsAccess } : {}),
      ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
      ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
      analytics: opts.analytics,
    })
    app = built.app
    metricsRegistry = built.metrics.registry
    await app.listen({ port: opts.port ?? 4566, host })
  } catch (err) {
    try {
      await app?.close()
    } finally {
      cp?.close()
      made.undo()
    }
    throw err
  }
  const credentialsFile = join(opts.dataDir, 'credentials')
  const running = { app, cp, admin }
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 4566)
  const shownHost = host.includes(':') ? `[${host}]` : host
  let closed = false
  return {
    url: `http://${shownHost}:${port}`,
    port,
    credentials: {
      accessKeyId: running.admin.accessKeyId,
      secretAccessKey: running.admin.secretAccessKey,
    },
    credentialsFile,
    createdCredentials: created,
    cp: running.cp,
    metricsRegistry: metricsRegistry!,
    close: async () => {
      if (closed) return
      closed = true
      await running.app.close()
      // The last trail files and digests are delivered before the stores close.
      await running.cp.cloudtrail.close()
      running.cp.close()
      opts.analytics?.close?.()
    },
  }
}
/** GuardDuty's files in the data directory, and the roots its list locations are read from. */
function guarddutyFiles(
  dataDir: string,
  listsRoot: string | undefined,
): {
  file: string
  findingsFile: string
  roots: { files: string; buckets: string }
} {
  const files = listsRoot ?? join(dataDir, 'lists')
  const buckets = join(dataDir, 's3')
  mkdirSync(files, { recursive: true, mode: 0o700 })
  mkdirSync(buckets, { recursive: true, mode: 0o700 })
  return {
    file: join(dataDir, 'guardduty.json'),
    findingsFile: join(dataDir, 'guardduty-findings.json'),
    roots: { files, buckets },
  }
}

/**
 * Remembers what exists of `dir` now, so that `undo` removes only what a failed start made: the
 * directory (and the parents it needed) if it was absent, else the entries it did not have.
 */
function madeBy(dir: string): { undo: () => void } {
  const abs = resolve(dir)
  let top: string | undefined
  for (let d = abs; !existsSync(d); d = dirname(d)) {
    top = d
    if (dirname(d) === d) break
  }
  let before: Set<string> | undefined
  try {
    if (top === undefined) before = new Set(readdirSync(abs))
  } catch {
    before = undefined // not a directory: the store will say so; there is nothing to undo
  }
  return {
    undo: () => {
      if (top !== undefined) rmSync(top, { recursive: true, force: true })
      else if (before !== undefined && existsSync(abs)) {
        for (const e of readdirSync(abs))
          if (!before.has(e)) rmSync(join(abs, e), { recursive: true, force: true })
      }
    },
  }
}

export { callAction, RemoteApiError, type ClientCredentials } from './client.ts'
