// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2-compatible API: the EC2 Query protocol (2016-11-15) with SigV4 over the control plane,
 * the agents' desired-state endpoint, health and Prometheus metrics.
 *
 * ```ts
 * const srv = await startServer({ dataDir: '/var/lib/mirrorflow', port: 4566 })
 * // AWS_SHARED_CREDENTIALS_FILE=/var/lib/mirrorflow/credentials aws --profile mirrorflow \
 * //   --endpoint-url http://127.0.0.1:4566 ec2 describe-vpcs
 * await srv.close()
 * ```
 *
 * It holds no business rule (control/ does) and no SQL; it speaks HTTP, XML, forms and SigV4.
 * @module
 */
import { join } from 'node:path'
import { ControlPlane, SqliteStore, type Quotas } from '../control/index.ts'
import { credentialFileHolds, writeCredentialFiles } from './credentials.ts'
import { buildServer } from './server.ts'

export { ACTIONS, readTagSpecs, type ActionContext, type Handler } from './actions.ts'
export { ADMIN_ACTIONS, adminActionNames } from './admin-actions.ts'
export {
  PROFILE,
  parseIni,
  resolveCredentials,
  writeCredentialFiles,
  type ResolvedCredentials,
} from './credentials.ts'
export { DesiredStateWatch, MAX_WAIT_SECONDS, type VersionedState } from './desired-state-watch.ts'
export { Params, parseForm } from './params.ts'
export { API_VERSION, BODY_LIMIT, buildServer } from './server.ts'
export { canonicalRequest, signRequest, signingKey, verifySigV4, type SignedRequest } from './sigv4.ts'
export { EC2_NS, errorXml, responseXml, toJson, toXml } from './xml.ts'

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
  close(): Promise<void>
}

/** Opens the store in `dataDir`, makes sure an admin key exists, and listens. */
export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const regions = (opts.region ?? 'us-east-1')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
  const accountId = opts.accountId ?? '123456789012'
  if (!/^\d{12}$/.test(accountId)) throw new Error(`the account id must be 12 digits, not '${accountId}'`)
  const store = new SqliteStore(opts.dataDir)
  const cp = new ControlPlane(store, {
    accountId,
    region: regions[0]!,
    ...(opts.quotas ? { quotas: opts.quotas } : {}),
  })
  let created = false
  let admin = cp.iam.list().find((k) => k.admin)
  if (admin === undefined) {
    admin = cp.iam.create(true, 'admin key created at first start')
    created = true
  }
  const credentialsFile = join(opts.dataDir, 'credentials')
  if (created || !credentialFileHolds(opts.dataDir, admin.accessKeyId)) {
    writeCredentialFiles(opts.dataDir, admin, regions[0]!)
  }
  const { app } = buildServer({ cp, regions, logger: opts.logger ?? false })
  const host = opts.host ?? '127.0.0.1'
  try {
    await app.listen({ port: opts.port ?? 4566, host })
  } catch (err) {
    cp.close()
    throw err
  }
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 4566)
  const shownHost = host.includes(':') ? `[${host}]` : host
  let closed = false
  return {
    url: `http://${shownHost}:${port}`,
    port,
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    credentialsFile,
    createdCredentials: created,
    close: async () => {
      if (closed) return
      closed = true
      await app.close()
      cp.close()
    },
  }
}
export { callAction, RemoteApiError, type ClientCredentials } from './client.ts'
