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
import { copyFile, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import type { S3Client } from '@aws-sdk/client-s3'
import { FlowLogsDestinationError } from './errors.ts'

/** `arn:aws:s3:::bucket/prefix` → bucket and prefix (without slashes at the ends). */
export function parseS3Arn(arn: string): { bucket: string; prefix: string } {
  const m = /^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(arn)
  if (!m)
    throw new FlowLogsDestinationError(`'${arn}' is not an S3 bucket ARN (arn:aws:s3:::bucket[/prefix])`)
  return { bucket: m[1] as string, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') }
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
  async put(bucket: string, key: string, file: string): Promise<void> {
    const dest = join(this.root, bucket, ...key.split('/'))
    await mkdir(dirname(dest), { recursive: true })
    const tmp = join(dirname(dest), `.incoming-${process.pid}-${Date.now()}`)
    await copyFile(file, tmp)
    await rename(tmp, dest)
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
  failures: number
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
    const s = await stat(p).catch(() => null)
    if (s === null) continue
    if (s.isDirectory()) await walk(p, out)
    else out.push(p)
  }
  return out
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
        this.stats.failures++
        this.stats.lastError = (err as Error).message
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
