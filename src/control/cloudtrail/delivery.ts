// SPDX-License-Identifier: Apache-2.0
/**
 * Trail delivery, as CloudTrail delivers to S3: the events of each logging trail are gathered in
 * memory and written every `intervalMs` (default 5 minutes; at once when a trail's gathered events
 * pass 10,000 or 16 MiB; and at shutdown) as one gzip JSON object `{"Records":[…]}` per trail and
 * region, under
 *
 * `[prefix/]AWSLogs/{account}/CloudTrail/{region}/YYYY/MM/DD/{account}_CloudTrail_{region}_{YYYYMMDDTHHmmZ}_{random}.json.gz`
 *
 * and, for trails with log file validation, every `digestIntervalMs` (default one hour; and at
 * shutdown) a signed digest (digest.ts) under `[prefix/]AWSLogs/{account}/CloudTrail-Digest/{region}/…`.
 *
 * Objects are first written to a spool (`DATA_DIR/cloudtrail-spool/<trail id>/<bucket>/<key>`), then
 * put into the object store — a local bucket directory or an S3 endpoint, the flow-log engine's
 * stores — and removed from the spool once stored; an object that cannot be stored waits there for
 * the next pass (a restart included). Errors (ENOSPC, EMFILE, an unreachable endpoint) are counted
 * and shown by GetTrailStatus; delivery never throws into the API.
 * @module
 */
import { createHash, randomBytes, type Hash } from 'node:crypto'
import { mkdir, readdir, lstat, unlink, writeFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { promisify } from 'node:util'
import { createGzip, gzip, type Gzip } from 'node:zlib'
import type { ObjectStore } from '../../flowlogs/index.ts'
import {
  loadDigestKey,
  sha256Hex,
  signDigest,
  type Digest,
  type DigestKey,
  type DigestLogFile,
} from './digest.ts'
import type { DeliveredBatch, EventLog } from './event-log.ts'
import type { EventStore } from './event-store.ts'
import type { Trail } from './model.ts'

const gz = promisify(gzip)

/** Default time between deliveries of each trail's events (ms). */
export const DELIVERY_INTERVAL_MS = 300_000
/** Default time between digests (ms). */
export const DIGEST_INTERVAL_MS = 3_600_000
/** A trail's gathered events are written at once past these bounds. */
const MAX_FILE_RECORDS = 10_000
const MAX_FILE_BYTES = 16 * 1024 * 1024

/** What GetTrailStatus shows of a trail's delivery. */
export interface TrailDeliveryStatus {
  latestDeliveryTime?: number
  latestDeliveryAttemptTime?: number
  latestDeliveryAttemptSucceeded?: number
  latestDeliveryError?: string
  latestDigestDeliveryTime?: number
  latestDigestDeliveryError?: string
  latestDigestAttemptTime?: number
  latestDigestAttemptSucceeded?: number
  deliveredFiles: number
  deliveredDigests: number
  failures: number
}

export interface TrailDeliveryOptions {
  dataDir: string
  store: ObjectStore
  accountId: string
  log: EventLog
  events: EventStore
  /** The trails (read at every event batch and every pass). */
  trails: () => Iterable<Trail>
  intervalMs?: number
  digestIntervalMs?: number
}

/**
 * A trail's log file of one region being written: as each stored batch comes, the trail's records
 * in it are joined (one copy each) and handed to a gzip stream (compressed off the API's thread, at
 * gzip's fastest level: a third of the default's CPU for files about 10 % larger) and to the file's
 * SHA-256. Only the compressed bytes wait for the file, so the batches themselves die young.
 */
interface Gathered {
  trail: Trail
  region: string
  gz: Gzip
  /** The compressed bytes so far. */
  out: Buffer[]
  /** SHA-256 of the uncompressed file (what a digest lists). */
  hash: Hash
  /** The stream's error, if it failed. */
  error: Error | null
  count: number
  /** JSON bytes of the records (the commas between them included). */
  bytes: number
  oldest: number
  newest: number
}

const OPEN = Buffer.from('{"Records":[')
const CLOSE = Buffer.from(']}')

function newFile(trail: Trail, region: string): Gathered {
  const g: Gathered = {
    trail,
    region,
    gz: createGzip({ level: 1 }),
    out: [],
    hash: createHash('sha256'),
    error: null,
    count: 0,
    bytes: 0,
    oldest: Infinity,
    newest: -Infinity,
  }
  g.gz.on('data', (d: Buffer) => g.out.push(d))
  g.gz.on('error', (err: Error) => (g.error ??= err))
  g.gz.write(OPEN)
  g.hash.update(OPEN)
  return g
}

/** Appends records `picked` of batch `b` to file `g` (after a comma when it has records). */
function append(g: Gathered, b: DeliveredBatch, picked: readonly number[]): void {
  let size = picked.length - (g.count === 0 ? 1 : 0)
  for (const i of picked) size += b.byteLength(i)
  const part = Buffer.allocUnsafe(size)
  let at = 0
  for (const i of picked) {
    if (g.count > 0 || at > 0) part[at++] = 0x2c
    at = b.copyJson(i, part, at)
  }
  g.count += picked.length
  g.bytes += size
  g.hash.update(part)
  g.gz.write(part)
}

/** Ends file `g`: its compressed bytes and the SHA-256 of what they hold. */
function finish(g: Gathered): Promise<{ data: Buffer; sha256: string }> {
  // A stream that already failed never ends: its file is a failed delivery, not a wait.
  if (g.error !== null || g.gz.destroyed)
    return Promise.reject(g.error ?? new Error('the compression stream of the log file was closed'))
  return new Promise((resolve, reject) => {
    const done = (): void =>
      g.error !== null
        ? reject(g.error)
        : resolve({ data: Buffer.concat(g.out), sha256: g.hash.digest('hex') })
    g.gz.once('end', done)
    g.gz.once('error', reject)
    g.hash.update(CLOSE)
    g.gz.end(CLOSE)
  })
}

interface ChainState {
  key: string
  hash: string
  signature: string
  endTime: string
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0')
}

/** `YYYY/MM/DD` of a time. */
function datePath(d: Date): string {
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`
}

function stamp(d: Date, seconds: boolean): string {
  const s = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`
  return seconds ? `${s}${pad(d.getUTCSeconds())}Z` : `${s}Z`
}

let lastSecond = NaN
let lastIso = ''

/** AWS's second-precision time (`2026-12-03T20:01:02Z`); the last second's text is kept (records come in time order). */
export function isoSeconds(ms: number): string {
  const second = Math.floor(ms / 1000)
  if (second !== lastSecond) {
    lastIso = new Date(second * 1000).toISOString().replace('.000Z', 'Z')
    lastSecond = second
  }
  return lastIso
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
function randomName(n: number): string {
  const b = randomBytes(n)
  let s = ''
  for (let i = 0; i < n; i++) s += ALNUM[b[i]! % ALNUM.length]
  return s
}

/** `[prefix/]AWSLogs/{account}` */
function basePath(t: Trail, accountId: string): string {
  return `${t.s3KeyPrefix === '' ? '' : `${t.s3KeyPrefix}/`}AWSLogs/${accountId}`
}

/** The key of a log file delivered at `at`. */
export function logFileKey(t: Trail, accountId: string, region: string, at: Date, random: string): string {
  return `${basePath(t, accountId)}/CloudTrail/${region}/${datePath(at)}/${accountId}_CloudTrail_${region}_${stamp(at, false)}_${random}.json.gz`
}

/** The key of a digest ending at `at`. */
export function digestKey(t: Trail, accountId: string, region: string, at: Date): string {
  return `${basePath(t, accountId)}/CloudTrail-Digest/${region}/${datePath(at)}/${accountId}_CloudTrail-Digest_${region}_${t.name}_${t.homeRegion}_${stamp(at, true)}.json.gz`
}

export class TrailDelivery {
  readonly spoolDir: string
  private readonly o: TrailDeliveryOptions
  private readonly gathered = new Map<string, Gathered>()
  private readonly status = new Map<string, TrailDeliveryStatus>()
  private key: DigestKey | undefined
  private readonly unsubscribe: () => void
  private timer: NodeJS.Timeout | null = null
  private digestTimer: NodeJS.Timeout | null = null
  private passing: Promise<void> = Promise.resolve()
  private closed = false

  constructor(o: TrailDeliveryOptions) {
    this.o = o
    this.spoolDir = join(o.dataDir, 'cloudtrail-spool')
    this.unsubscribe = o.log.subscribe(
      (batch) => this.take(batch),
      () => {
        for (const t of o.trails()) if (t.isLogging) return true
        return false
      },
    )
    this.timer = setInterval(() => void this.deliver(), o.intervalMs ?? DELIVERY_INTERVAL_MS)
    this.timer.unref()
    this.digestTimer = setInterval(() => void this.digest(), o.digestIntervalMs ?? DIGEST_INTERVAL_MS)
    this.digestTimer.unref()
  }

  /** The public key digests are signed with (PEM) and its fingerprint. */
  publicKey(): { pem: string; fingerprint: string } {
    const k = this.digestKey()
    return { pem: k.publicKeyPem, fingerprint: k.fingerprint }
  }

  /** The public key's DER (PKCS#1, as ListPublicKeys gives it), fingerprint and creation time. */
  publicKeyDer(): { der: Buffer; fingerprint: string; createdAt: number } {
    const k = this.digestKey()
    return {
      der: k.publicKey.export({ type: 'pkcs1', format: 'der' }),
      fingerprint: k.fingerprint,
      createdAt: k.createdAt,
    }
  }

  statusOf(trailId: string): TrailDeliveryStatus {
    let s = this.status.get(trailId)
    if (s === undefined)
      this.status.set(trailId, (s = { deliveredFiles: 0, deliveredDigests: 0, failures: 0 }))
    return s
  }

  private digestKey(): DigestKey {
    this.key ??= loadDigestKey(this.o.dataDir)
    return this.key
  }

  /** Sorts a stored batch into the logging trails' files. */
  private take(b: DeliveredBatch): void {
    let full = false
    const names = b.names
    const iam = names.indexOf('iam.amazonaws.com')
    for (const t of this.o.trails()) {
      if (!t.isLogging) continue
      // This batch's records for each region's file (by region name index), and whether it takes them.
      const picked: (number[] | null | undefined)[] = new Array(names.length)
      const skipIam = !t.includeGlobalServiceEvents && iam >= 0
      for (let i = 0; i < b.length; i++) {
        if (skipIam && b.sources[i] === iam) continue
        const r = b.regions[i]!
        let list = picked[r]
        if (list === undefined)
          list = picked[r] = t.isMultiRegionTrail || names[r] === t.homeRegion ? [] : null
        if (list !== null) list.push(i)
      }
      for (let r = 0; r < picked.length; r++) {
        const list = picked[r]
        if (list === undefined || list === null) continue
        const g = this.fileOf(t, names[r]!)
        append(g, b, list)
        for (const i of list) {
          const time = b.times[i]!
          if (time < g.oldest) g.oldest = time
          if (time > g.newest) g.newest = time
        }
        if (g.count >= MAX_FILE_RECORDS || g.bytes >= MAX_FILE_BYTES) full = true
      }
    }
    // Not waiting for the writer: what it has not stored yet goes in the next file.
    if (full) this.passing = this.passing.then(() => this.deliverPass(false))
  }

  /** The file of trail `t` being written for `region`. */
  private fileOf(t: Trail, region: string): Gathered {
    const k = `${t.id}|${region}`
    let g = this.gathered.get(k)
    if (g === undefined) this.gathered.set(k, (g = newFile(t, region)))
    // A trail whose record changed (its bucket, say) delivers the file with its new settings.
    else g.trail = t
    return g
  }

  /** Writes every trail's gathered events as log files and stores what the spool holds. */
  deliver(): Promise<void> {
    this.passing = this.passing.then(() => this.deliverPass())
    return this.passing
  }

  /** Writes a digest for every trail with log file validation, then stores the spool. */
  digest(): Promise<void> {
    this.o.log.flush()
    this.passing = this.passing.then(async () => {
      await this.deliverPass()
      await this.digestPass()
      await this.storeSpool()
    })
    return this.passing
  }

  /** Writes the gathered events (first waiting until every call taken is stored, when `flush`). */
  private async deliverPass(flush = true): Promise<void> {
    if (flush) this.o.log.flush()
    const batches = [...this.gathered.values()]
    this.gathered.clear()
    const now = new Date()
    for (const g of batches) {
      if (g.count === 0) continue
      const t = g.trail
      const st = this.statusOf(t.id)
      const key = logFileKey(t, this.o.accountId, g.region, now, randomName(16))
      try {
        const file = await finish(g)
        await this.spool(t, key, file.data)
        if (t.logFileValidationEnabled) {
          const f: DigestLogFile = {
            s3Bucket: t.s3BucketName,
            s3Object: key,
            hashValue: file.sha256,
            hashAlgorithm: 'SHA-256',
            newestEventTime: isoSeconds(g.newest),
            oldestEventTime: isoSeconds(g.oldest),
          }
          const pkey = `pending:${t.trailArn}:${g.region}`
          const list = JSON.parse(this.o.events.getValue(pkey) ?? '[]') as DigestLogFile[]
          list.push(f)
          this.o.events.setValue(pkey, JSON.stringify(list))
        }
      } catch (err) {
        st.failures++
        st.latestDeliveryError = (err as Error).message
        st.latestDeliveryAttemptTime = Date.now()
      }
    }
    await this.storeSpool()
  }

  private async digestPass(): Promise<void> {
    const now = Date.now()
    const end = new Date(now)
    for (const t of this.o.trails()) {
      if (!t.logFileValidationEnabled || !t.isLogging) continue
      const st = this.statusOf(t.id)
      const regions = new Set<string>([t.homeRegion])
      for (const g of this.o.events.keysWithPrefix(`pending:${t.trailArn}:`)) regions.add(g)
      for (const region of regions) {
        const ckey = `chain:${t.trailArn}:${region}`
        const pkey = `pending:${t.trailArn}:${region}`
        const chainRaw = this.o.events.getValue(ckey)
        const chain = chainRaw === undefined ? undefined : (JSON.parse(chainRaw) as ChainState)
        const files = JSON.parse(this.o.events.getValue(pkey) ?? '[]') as DigestLogFile[]
        const key = digestKey(t, this.o.accountId, region, end)
        if (chain !== undefined && chain.key === key) continue // twice in one second
        const times = files
          .flatMap((f) => [f.newestEventTime, f.oldestEventTime])
          .filter((x): x is string => x !== null)
          .sort()
        const k = this.digestKey()
        const d: Digest = {
          awsAccountId: this.o.accountId,
          digestStartTime: chain?.endTime ?? isoSeconds(Date.parse(t.startLoggingTime ?? t.createdAt)),
          digestEndTime: isoSeconds(now),
          digestS3Bucket: t.s3BucketName,
          digestS3Object: key,
          digestPublicKeyFingerprint: k.fingerprint,
          digestSignatureAlgorithm: 'SHA256withRSA',
          newestEventTime: times.length > 0 ? times[times.length - 1]! : null,
          oldestEventTime: times.length > 0 ? times[0]! : null,
          previousDigestS3Bucket: chain === undefined ? null : t.s3BucketName,
          previousDigestS3Object: chain?.key ?? null,
          previousDigestHashValue: chain?.hash ?? null,
          previousDigestHashAlgorithm: chain === undefined ? null : 'SHA-256',
          previousDigestSignature: chain?.signature ?? null,
          logFiles: files,
        }
        const raw = Buffer.from(JSON.stringify(d), 'utf8')
        const hash = sha256Hex(raw)
        const signature = signDigest(d, hash, k.privateKey)
        try {
          await this.spool(t, key, await gz(raw))
          await this.spool(t, `${key}.sig`, Buffer.from(signature, 'utf8'))
          this.o.events.setValue(ckey, JSON.stringify({ key, hash, signature, endTime: d.digestEndTime }))
          this.o.events.setValue(pkey, '[]')
          st.latestDigestAttemptTime = now
        } catch (err) {
          st.failures++
          st.latestDigestDeliveryError = (err as Error).message
          st.latestDigestAttemptTime = now
        }
      }
    }
  }

  /** Writes an object into the spool (it is stored by the next {@link storeSpool}). */
  private async spool(t: Trail, key: string, data: Uint8Array): Promise<void> {
    const path = join(this.spoolDir, t.id, t.s3BucketName, ...key.split('/'))
    await mkdir(path.slice(0, path.lastIndexOf(sep)), { recursive: true, mode: 0o700 })
    await writeFile(path, data, { flag: 'wx', mode: 0o600 })
  }

  /** Puts every spooled object into the store, oldest name first; a failure leaves it for the next pass. */
  private async storeSpool(): Promise<void> {
    const files = await walk(this.spoolDir, [])
    // Log files before the digests that list them; a digest before its signature.
    files.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    const failedTrails = new Set<string>()
    for (const f of files) {
      const parts = relative(this.spoolDir, f).split(sep)
      if (parts.length < 3) continue
      const [trailId, bucket, ...keyParts] = parts as [string, string, ...string[]]
      if (failedTrails.has(trailId)) continue
      const key = keyParts.join('/')
      const st = this.statusOf(trailId)
      const now = Date.now()
      const digest = key.includes('/CloudTrail-Digest/')
      try {
        await this.o.store.put(bucket, key, f)
        await unlink(f)
        if (digest) {
          if (key.endsWith('.json.gz')) {
            st.deliveredDigests++
            st.latestDigestDeliveryTime = now
            st.latestDigestAttemptSucceeded = now
            delete st.latestDigestDeliveryError
          }
        } else {
          st.deliveredFiles++
          st.latestDeliveryTime = now
          st.latestDeliveryAttemptSucceeded = now
          delete st.latestDeliveryError
        }
        if (!digest) st.latestDeliveryAttemptTime = now
      } catch (err) {
        st.failures++
        failedTrails.add(trailId)
        if (digest) st.latestDigestDeliveryError = (err as Error).message
        else {
          st.latestDeliveryError = (err as Error).message
          st.latestDeliveryAttemptTime = now
        }
      }
    }
  }

  /** Delivers what is gathered, writes the last digests, stores the spool, and stops the timers. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    if (this.digestTimer !== null) clearInterval(this.digestTimer)
    await this.digest()
    this.unsubscribe()
  }
}

function rank(path: string): number {
  if (path.endsWith('.sig')) return 2
  return path.includes(`${sep}CloudTrail-Digest${sep}`) ? 1 : 0
}

async function walk(dir: string, out: string[]): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return out
  }
  for (const n of names) {
    const p = join(dir, n)
    const s = await lstat(p).catch(() => null)
    if (s === null || s.isSymbolicLink()) continue
    if (s.isDirectory()) await walk(p, out)
    else out.push(p)
  }
  return out
}
