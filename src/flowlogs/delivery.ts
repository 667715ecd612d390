// SPDX-License-Identifier: Apache-2.0
/**
 * Delivery of flow-log objects, with an on-disk spool so that a destination that is down loses
 * nothing: records are first written as finished S3 objects under `<spool>/<flow-log-id>/<bucket>/<key>`
 * (by the flow-log engine's `S3DirectoryDestination`), then a deliverer moves each object to its
 * destination — a local directory per bucket (`<root>/<bucket>/<key>`, the embedded default) or an
 * S3-compatible endpoint (`PutObject`) — and deletes it from the spool only once delivered. Failures
 * are retried with exponential back-off (1 s doubling to 60 s). The spool has a size limit: a
 * flow log whose records would overflow it gets SKIPDATA accounting instead (the agent's flow-log runner does that).
 * @module
 */
import { lstat, readdir, readFile, stat, unlink } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { S3Client } from '@aws-sdk/client-s3'
import { checkKeySegments, copyFileWithin, splitKey } from './confined-path.ts'
import { FlowLogsDestinationError, FlowLogsWriteError } from './errors.ts'

/** An S3 bucket name (3–63 characters; `..` is refused separately). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const FLOW_LOG_ID = /^fl-(?:[0-9a-f]{8}|[0-9a-f]{17})$/

/**
 * `arn:aws:s3:::bucket/prefix` → bucket and prefix (without the trailing slashes). The bucket follows
 * S3's naming rules (3–63 lower-case letters, digits, `.` and `-`, no `..`); the prefix must name a
 * folder inside it: no empty, `.` or `..` segment, at most 1024 bytes. Anything else is a
 * `FlowLogsDestinationError`: the destination cannot be written.
 */
export function parseS3Arn(arn: string): { bucket: string; prefix: string } {
  const m = /^arn:aws[a-z-]{0,16}:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/s.exec(
    arn.length <= 2048 ? arn : '',
  )
  if (!m || m[1]!.includes('..')) {
    throw new FlowLogsDestinationError(
      `'${arn.slice(0, 200)}' is not an S3 bucket ARN (arn:aws:s3:::bucket[/prefix])`,
    )
  }
  const prefix = (m[2] ?? '').replace(/\/+$/, '')
  if (prefix !== '') checkKeySegments(prefix, `the prefix of ${arn.slice(0, 200)}`)
  return { bucket: m[1]!, prefix }
}

/** Where delivered objects go. */
export interface ObjectStore {
  readonly kind: string
  put(bucket: string, key: string, file: string): Promise<void>
}

/** A local directory per bucket, in the exact S3 key layout: `<root>/<bucket>/<key>`. */
export class LocalBucketStore implements ObjectStore {
  readonly kind = 'local'
  readonly root: string
  constructor(root: string) {
    this.root = root
  }
  /**
   * Copies `file` to `<root>/<bucket>/<key>`, never outside `root`: the bucket must be a bucket name
   * and the key's segments are checked, links inside the root refused (confined-path.ts). Throws
   * `FlowLogsWriteError` (`reason` = errno code or `refused-path`).
   */
  async put(bucket: string, key: string, file: string): Promise<void> {
    if (!BUCKET.test(bucket) || bucket.includes('..')) {
      throw new FlowLogsWriteError(join(this.root, bucket), 'refused-path', 'not an S3 bucket name')
    }
    const { dir, name } = splitKey(key)
    await copyFileWithin(this.root, dir === '' ? bucket : `${bucket}/${dir}`, name, file)
  }
}

/** An S3-compatible endpoint (path-style addressing), through @aws-sdk/client-s3. */
export class S3EndpointStore implements ObjectStore {
  readonly kind = 's3'
  private client: S3Client | null = null
  private readonly endpoint: string
  private readonly region: string
  constructor(endpoint: string, region: string) {
    this.endpoint = endpoint
    this.region = region
  }
  async put(bucket: string, key: string, file: string): Promise<void> {
    // The SDK is loaded on first use: most agents deliver to local directories.
    const { PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3')
    this.client ??= new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      // s3rver and other emulators reject the newer default checksums (STYLE.md dependency table).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    })
    const body = await readFile(file)
    await this.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: key.endsWith('.gz') ? 'application/gzip' : 'application/octet-stream',
      }),
    )
  }
}

/** Counters of the deliverer. */
export interface DeliveryStats {
  delivered: number
  deliveredBytes: number
  /** Failed delivery attempts of objects kept for a retry (network, disk full, no descriptor…). */
  failures: number
  /**
   * Objects that can never be delivered (the store refused the path, or a name is too long for it):
   * counted here, reported in `lastError`, and removed from the spool so the objects behind them go on.
   */
  rejected: number
  /** Objects waiting in the spool. */
  spooledObjects: number
  spooledBytes: number
  lastError: string | null
  /** Seconds until the next retry (0 when not backing off). */
  backoffSeconds: number
}

async function walk(dir: string, out: string[]): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return out
  }
  for (const n of names) {
    if (n.startsWith('.')) continue
    const p = join(dir, n)
    // lstat: a link in the spool is not an object of ours and is never followed.
    const s = await lstat(p).catch(() => null)
    if (s === null || s.isSymbolicLink()) continue
    if (s.isDirectory()) await walk(p, out)
    else out.push(p)
  }
  return out
}

/** A store's failure that a retry cannot cure: a refused path, a name too long for the file system. */
function isPermanent(err: unknown): boolean {
  return err instanceof FlowLogsWriteError && (err.reason === 'refused-path' || err.reason === 'ENAMETOOLONG')
}

/**
 * Moves spooled objects to the store. `kick()` asks for a pass soon; passes never overlap. Objects
 * are delivered oldest key first (keys begin with the date path, so that is time order).
 */
export class SpoolDeliverer {
  readonly spoolDir: string
  readonly store: ObjectStore
  readonly stats: DeliveryStats = {
    delivered: 0,
    deliveredBytes: 0,
    failures: 0,
    rejected: 0,
    spooledObjects: 0,
    spooledBytes: 0,
    lastError: null,
    backoffSeconds: 0,
  }
  private running: Promise<void> | null = null
  private again = false
  private backoffMs = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false
  private readonly onDelivered: ((flowLogId: string, bucket: string, key: string) => void) | undefined

  constructor(
    spoolDir: string,
    store: ObjectStore,
    onDelivered?: (flowLogId: string, bucket: string, key: string) => void,
  ) {
    this.spoolDir = spoolDir
    this.store = store
    this.onDelivered = onDelivered
  }

  /** Where a flow log's objects for `bucket` are spooled (the S3DirectoryDestination's dir). */
  spoolFor(flowLogId: string, bucket: string): string {
    if (!FLOW_LOG_ID.test(flowLogId))
      throw new FlowLogsDestinationError(`'${flowLogId}' is not a flow-log id`)
    if (!BUCKET.test(bucket) || bucket.includes('..')) {
      throw new FlowLogsDestinationError(`'${bucket}' is not an S3 bucket name`)
    }
    return join(this.spoolDir, flowLogId, bucket)
  }

  /** Bytes currently in the spool (updated by each pass and by `measure()`). */
  async measure(): Promise<number> {
    const files = await walk(this.spoolDir, [])
    let bytes = 0
    for (const f of files) bytes += (await stat(f).catch(() => ({ size: 0 }))).size
    this.stats.spooledObjects = files.length
    this.stats.spooledBytes = bytes
    return bytes
  }

  /** Asks for a delivery pass (now, or after the current back-off). */
  kick(): void {
    if (this.closed) return
    if (this.running !== null) {
      this.again = true
      return
    }
    if (this.timer !== null) return
    this.running = this.pass().finally(() => {
      this.running = null
      if (this.again && this.backoffMs === 0) {
        this.again = false
        this.kick()
      }
    })
  }

  private async pass(): Promise<void> {
    const files = (await walk(this.spoolDir, [])).sort((a, b) => {
      const ka = a.split(sep).slice(-1)[0] ?? ''
      const kb = b.split(sep).slice(-1)[0] ?? ''
      return ka < kb ? -1 : ka > kb ? 1 : 0
    })
    for (const f of files) {
      const rel = relative(this.spoolDir, f).split(sep)
      if (rel.length < 3) continue
      const [flowLogId, bucket, ...keyParts] = rel as [string, string, ...string[]]
      const key = keyParts.join('/')
      try {
        const size = (await stat(f)).size
        await this.store.put(bucket, key, f)
        await unlink(f)
        this.stats.delivered++
        this.stats.deliveredBytes += size
        this.onDelivered?.(flowLogId, bucket, key)
        this.backoffMs = 0
        this.stats.backoffSeconds = 0
      } catch (err) {
        this.stats.lastError = (err as Error).message
        if (isPermanent(err)) {
          // Retrying cannot help, and waiting would hold back every object behind it.
          this.stats.rejected++
          await unlink(f).catch(() => undefined)
          continue
        }
        this.stats.failures++
        this.backoffMs = this.backoffMs === 0 ? 1000 : Math.min(this.backoffMs * 2, 60_000)
        this.stats.backoffSeconds = this.backoffMs / 1000
        if (!this.closed) {
          this.timer = setTimeout(() => {
            this.timer = null
            this.kick()
          }, this.backoffMs)
          this.timer.unref()
        }
        break
      }
    }
    await this.measure()
  }

  /** One last pass (unless backing off); what is not delivered stays in the spool for next time. */
  async close(): Promise<void> {
    if (this.running !== null) await this.running
    if (this.backoffMs === 0) {
      this.running = this.pass()
      await this.running
      this.running = null
    }
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}
