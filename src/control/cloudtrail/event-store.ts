// SPDX-License-Identifier: Apache-2.0
/**
 * The event store: every recorded event, append-only, in its own SQLite file (`DATA_DIR/cloudtrail.sqlite`,
 * or in memory when the server has no data directory), with the columns LookupEvents filters on. It
 * is bounded: at most `maxEvents` events (default 1,000,000) and none older than `maxAgeDays`
 * (default 90, LookupEvents' window on AWS); the oldest go first when either bound is passed. Writes
 * come in batches (one transaction each) from the {@link EventLog}.
 * @module
 */
import Database from 'better-sqlite3'
import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { StoreError } from '../core/errors.ts'
import type { EventResource } from './model.ts'

/** Default cap on stored events. */
export const MAX_EVENTS = 1_000_000
/** Default age after which events are evicted (days). */
export const MAX_AGE_DAYS = 90

/** One event ready to store: its record as JSON and the columns lookups use. */
export interface EventRow {
  /** eventTime, ms since the epoch. */
  time: number
  eventId: string
  eventName: string
  eventSource: string
  username: string | undefined
  accessKeyId: string | undefined
  readOnly: boolean
  resources: EventResource[]
  /** The record, serialized (what a log file's `Records` holds). */
  json: string
}

/** A stored event as lookups return it. */
export interface StoredEvent {
  seq: number
  time: number
  eventId: string
  eventName: string
  eventSource: string
  username: string | null
  accessKeyId: string | null
  readOnly: boolean
  resources: EventResource[]
  json: string
}

/** The one attribute a lookup filters on (LookupEvents accepts one). */
export type LookupKey =
  | 'EventId'
  | 'EventName'
  | 'ReadOnly'
  | 'Username'
  | 'ResourceType'
  | 'ResourceName'
  | 'EventSource'
  | 'AccessKeyId'

export interface EventQuery {
  attribute?: { key: LookupKey; value: string }
  /** Inclusive bounds, ms since the epoch. */
  startTime: number
  endTime: number
  /** Only events with a seq below this (pagination, newest first). */
  beforeSeq?: number
  limit: number
}

/**
 * The schema. `events` holds one row per event, appended in seq order, with the columns a lookup
 * compares; nothing else is indexed per event. Lookups find their events through `blocks`: one row
 * per {@link BLOCK_EVENTS} consecutive seqs, with the block's time range and a Bloom filter of the
 * terms its events carry (event name, source, user, access key, event id, read-only flag, resource
 * names and types). A lookup walks the blocks newest first, skips those whose time range or filter
 * rules the block out, and reads the others' events by seq range (the primary key), comparing
 * each exactly, until its page is full. A filter never misses a term it holds; a false positive
 * (about 1 in 5,000 for a block of typical events) costs one block read.
 *
 * Why: secondary indexes on five columns and a resource table with three more (the earlier schema)
 * cost ten b-tree inserts an event, two thirds of the trail writer's CPU; storing an event now costs
 * one row and a share of its block's filter (`npm run bench:trail-store` measures both).
 *
 * An earlier file (user_version 0: the per-column indexes and the `event_resources` table) is
 * converted once when opened: its indexes and resource table dropped, its blocks built from its
 * events.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  event_source TEXT NOT NULL,
  username TEXT,
  access_key_id TEXT,
  read_only INTEGER NOT NULL,
  resources TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
  block INTEGER PRIMARY KEY,
  t_min INTEGER NOT NULL,
  t_max INTEGER NOT NULL,
  bloom BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`
/** The schema's version (PRAGMA user_version): 2 has blocks; 0 is the per-column indexes'. */
const SCHEMA_VERSION = 2
const OLD_SCHEMA = `
DROP INDEX IF EXISTS events_time;
DROP INDEX IF EXISTS events_name;
DROP INDEX IF EXISTS events_user;
DROP INDEX IF EXISTS events_key;
DROP INDEX IF EXISTS events_id;
DROP TABLE IF EXISTS event_resources;
`

/** log2 of the events in a block. */
const BLOCK_BITS = 9
/** Events in a block (seqs `block << BLOCK_BITS` … `+ BLOCK_EVENTS − 1`). */
export const BLOCK_EVENTS = 1 << BLOCK_BITS
/**
 * Bytes of a block's Bloom filter, and bits set per term: 32,768 bits and 6 bits a term give a
 * false positive rate of 0.02 % at 1,500 distinct terms (a block of creates names about 3 an event)
 * and 9 % at 6,000.
 */
const BLOOM_BYTES = 4096
const BLOOM_MASK = BLOOM_BYTES * 8 - 1
const BLOOM_K = 6

/** Term kinds (a term is its kind's code, then its value). */
const T_NAME = 0x6e // n
const T_SOURCE = 0x73 // s
const T_USER = 0x75 // u
const T_KEY = 0x6b // k
const T_ID = 0x69 // i
const T_READ_ONLY = 0x6f // o
const T_RES_NAME = 0x72 // r
const T_RES_TYPE = 0x74 // t

const TERM: Record<LookupKey, number> = {
  EventId: T_ID,
  EventName: T_NAME,
  Username: T_USER,
  EventSource: T_SOURCE,
  AccessKeyId: T_KEY,
  ReadOnly: T_READ_ONLY,
  ResourceName: T_RES_NAME,
  ResourceType: T_RES_TYPE,
}

let h1 = 0
let h2 = 0
/** Two 32-bit hashes of a term (FNV-1a and a multiplicative mix), into h1 and h2. */
function hashTerm(kind: number, value: string): void {
  let a = Math.imul(0x811c9dc5 ^ kind, 0x01000193)
  let b = Math.imul(0x9747b28c ^ kind, 0x5bd1e995)
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 13
  }
  h1 = a >>> 0
  h2 = (b ^ (b >>> 15)) | 1
}

function bloomAdd(bloom: Uint8Array, kind: number, value: string): void {
  hashTerm(kind, value)
  for (let i = 0; i < BLOOM_K; i++) {
    const bit = (h1 + Math.imul(i, h2)) & BLOOM_MASK
    bloom[bit >>> 3]! |= 1 << (bit & 7)
  }
}

function bloomHas(bloom: Uint8Array, kind: number, value: string): boolean {
  hashTerm(kind, value)
  for (let i = 0; i < BLOOM_K; i++) {
    const bit = (h1 + Math.imul(i, h2)) & BLOOM_MASK
    if ((bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return false
  }
  return true
}

/** The terms of one event, into its block's filter. */
function addTerms(
  bloom: Uint8Array,
  e: {
    eventId: string
    eventName: string
    eventSource: string
    username: string | null | undefined
    accessKeyId: string | null | undefined
    readOnly: boolean
  },
  resources: readonly EventResource[],
): void {
  bloomAdd(bloom, T_ID, e.eventId)
  bloomAdd(bloom, T_NAME, e.eventName)
  bloomAdd(bloom, T_SOURCE, e.eventSource)
  if (e.username != null) bloomAdd(bloom, T_USER, e.username)
  if (e.accessKeyId != null) bloomAdd(bloom, T_KEY, e.accessKeyId)
  bloomAdd(bloom, T_READ_ONLY, e.readOnly ? 'true' : 'false')
  for (const r of resources) {
    bloomAdd(bloom, T_RES_NAME, r.name)
    bloomAdd(bloom, T_RES_TYPE, r.type)
  }
}

/** A block being filled by a batch: its filter and time range. */
interface OpenBlock {
  block: number
  bloom: Uint8Array
  tMin: number
  tMax: number
}

/**
 * The block an event of `seq` and `time` goes into: `open` when it is that block (its time range
 * widened), else a new one, after `done(open)`.
 */
function blockFor(
  open: OpenBlock | undefined,
  seq: number,
  time: number,
  done: (b: OpenBlock) => void,
): OpenBlock {
  const block = Math.floor(seq / BLOCK_EVENTS)
  if (open !== undefined && open.block === block) {
    if (time < open.tMin) open.tMin = time
    if (time > open.tMax) open.tMax = time
    return open
  }
  if (open !== undefined) done(open)
  return { block, bloom: new Uint8Array(BLOOM_BYTES), tMin: time, tMax: time }
}

const COLUMN: Record<Exclude<LookupKey, 'ResourceType' | 'ResourceName' | 'ReadOnly'>, string> = {
  EventId: 'event_id',
  EventName: 'event_name',
  Username: 'username',
  EventSource: 'event_source',
  AccessKeyId: 'access_key_id',
}

interface Row {
  seq: number
  time: number
  event_id: string
  event_name: string
  event_source: string
  username: string | null
  access_key_id: string | null
  read_only: number
  resources: string
  json: string
}

interface BlockRow {
  block: number
  t_min: number
  t_max: number
  bloom?: Uint8Array
}

export interface EventStoreOptions {
  maxEvents?: number
  maxAgeDays?: number
}

/** Blocks a lookup reads at a time: few at first (most lookups end in the newest), more after. */
const FIRST_BLOCK_PAGE = 4
const MAX_BLOCK_PAGE = 64

export class EventStore {
  /** The database file, or ':memory:'. */
  readonly path: string
  /** The data directory the file is in (undefined in memory). */
  readonly dir: string | undefined
  readonly maxEvents: number
  readonly maxAgeMs: number
  /** Events evicted since start (cap or age). */
  evicted = 0
  private readonly db: Database.Database
  private readonly insertTx: (rows: readonly EventRow[]) => number
  private readonly statements = new Map<string, Database.Statement>()

  /** Opens `DATA_DIR/cloudtrail.sqlite`, or an in-memory store when `dataDir` is undefined. */
  constructor(dataDir: string | undefined, opts: EventStoreOptions = {}) {
    this.maxEvents = opts.maxEvents ?? MAX_EVENTS
    this.maxAgeMs = (opts.maxAgeDays ?? MAX_AGE_DAYS) * 86_400_000
    this.dir = dataDir
    try {
      if (dataDir === undefined) {
        this.path = ':memory:'
        this.db = new Database(':memory:')
      } else {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 })
        this.path = join(dataDir, 'cloudtrail.sqlite')
        this.db = new Database(this.path)
        chmodSync(this.path, 0o600)
        // Large pages (for a new file; an existing one keeps its own): records of a kilobyte or two
        // share pages, and storing costs less CPU.
        this.db.pragma('page_size = 16384')
        this.db.pragma('journal_mode = WAL')
        this.db.pragma('synchronous = NORMAL')
        this.db.pragma('busy_timeout = 5000')
      }
      this.db.exec(SCHEMA)
      this.upgrade()
    } catch (err) {
      throw new StoreError(
        `cannot open the CloudTrail event store in ${dataDir}: ${(err as Error).message}`,
        {
          cause: err,
        },
      )
    }
    const ins = this.db.prepare(
      'INSERT INTO events (time, event_id, event_name, event_source, username, access_key_id, read_only, resources, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    const getBlock = this.db.prepare('SELECT t_min, t_max, bloom FROM blocks WHERE block = ?')
    const putBlock = this.db.prepare(
      'INSERT OR REPLACE INTO blocks (block, t_min, t_max, bloom) VALUES (?, ?, ?, ?)',
    )
    // MIN alone reads one end of the key (MIN and MAX in one query scan the whole table).
    const minSeq = this.db.prepare('SELECT MIN(seq) AS s FROM events')
    this.insertTx = this.db.transaction((rows: readonly EventRow[]) => {
      let last = 0
      let open: OpenBlock | undefined
      const flushBlock = (b: OpenBlock): void => {
        const had = getBlock.get(b.block) as { t_min: number; t_max: number; bloom: Buffer } | undefined
        if (had !== undefined && had.bloom.length === BLOOM_BYTES) {
          for (let i = 0; i < BLOOM_BYTES; i++) b.bloom[i]! |= had.bloom[i]!
          if (had.t_min < b.tMin) b.tMin = had.t_min
          if (had.t_max > b.tMax) b.tMax = had.t_max
        }
        putBlock.run(b.block, b.tMin, b.tMax, b.bloom)
      }
      for (const r of rows) {
        const info = ins.run(
          r.time,
          r.eventId,
          r.eventName,
          r.eventSource,
          r.username ?? null,
          r.accessKeyId ?? null,
          r.readOnly ? 1 : 0,
          JSON.stringify(r.resources),
          r.json,
        )
        last = Number(info.lastInsertRowid)
        open = blockFor(open, last, r.time, flushBlock)
        addTerms(open.bloom, r, r.resources)
      }
      if (open !== undefined) flushBlock(open)
      // Eviction: the cap first (seqs are contiguous: only the oldest are ever deleted), then age.
      const first = (minSeq.get() as { s: number | null }).s
      const n = first === null ? 0 : last - first + 1
      let upTo = 0
      if (n > this.maxEvents) upTo = last - this.maxEvents
      const old = this.oldUpTo(Date.now() - this.maxAgeMs, last)
      if (old > upTo) upTo = old
      if (upTo > 0 && first !== null && first <= upTo) this.evict(first, upTo)
      return last
    })
  }

  /**
   * True while the file needs converting: an earlier schema's version, or its indexes or resource
   * table present (an earlier build opened the file again and added events without blocks).
   */
  private needsUpgrade(): boolean {
    if ((this.db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) return true
    return (
      this.db
        .prepare(
          "SELECT 1 FROM sqlite_master WHERE name IN ('events_time', 'events_name', 'events_user', 'events_key', 'events_id', 'event_resources') LIMIT 1",
        )
        .get() !== undefined
    )
  }

  /**
   * Converts a file of the earlier schema (once): its indexes and resource table dropped, the
   * blocks built from its events. In an IMMEDIATE transaction, so that a second connection opening
   * the file meanwhile waits (busy timeout) and then finds it converted.
   */
  private upgrade(): void {
    if (!this.needsUpgrade()) return
    this.db
      .transaction(() => {
        if (!this.needsUpgrade()) return
        this.db.exec(OLD_SCHEMA)
        this.db.exec('DELETE FROM blocks')
        // The blocks of the events already stored, a page of events at a time.
        const page = this.db.prepare(
          'SELECT seq, time, event_id, event_name, event_source, username, access_key_id, read_only, resources FROM events WHERE seq > ? ORDER BY seq LIMIT 4096',
        )
        const put = this.db.prepare(
          'INSERT OR REPLACE INTO blocks (block, t_min, t_max, bloom) VALUES (?, ?, ?, ?)',
        )
        let after = 0
        let open: OpenBlock | undefined
        for (;;) {
          const rows = page.all(after) as Omit<Row, 'json'>[]
          if (rows.length === 0) break
          for (const r of rows) {
            after = r.seq
            open = blockFor(open, r.seq, r.time, (b) => put.run(b.block, b.tMin, b.tMax, b.bloom))
            const ev = toEvent({ ...r, json: '' })
            addTerms(open.bloom, ev, ev.resources)
          }
        }
        if (open !== undefined) put.run(open.block, open.tMin, open.tMax, open.bloom)
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`)
      })
      .immediate()
  }

  /**
   * The last seq the age bound evicts (0: none): every event of the oldest blocks wholly older than
   * `cutoff`, then, in the first block that is not, up to its newest event older than `cutoff`
   * (seqs follow arrival: an event that came after an old one goes with it).
   */
  private oldUpTo(cutoff: number, last: number): number {
    const next = this.stmt('SELECT block, t_min, t_max FROM blocks WHERE block >= ? ORDER BY block LIMIT 1')
    let upTo = 0
    let from = 0
    for (;;) {
      const b = next.get(from) as BlockRow | undefined
      if (b === undefined || b.t_min >= cutoff) return upTo
      const lo = b.block * BLOCK_EVENTS
      const hi = Math.min(last, lo + BLOCK_EVENTS - 1)
      if (b.t_max >= cutoff) {
        const s = (
          this.stmt('SELECT MAX(seq) AS s FROM events WHERE seq >= ? AND seq <= ? AND time < ?').get(
            lo,
            hi,
            cutoff,
          ) as { s: number | null }
        ).s
        return s !== null && s > upTo ? s : upTo
      }
      upTo = hi
      from = b.block + 1
    }
  }

  /** Deletes the events `first` … `upTo` and what their blocks no longer need. */
  private evict(first: number, upTo: number): void {
    this.stmt('DELETE FROM events WHERE seq <= ?').run(upTo)
    const partial = Math.floor((upTo + 1) / BLOCK_EVENTS)
    this.stmt('DELETE FROM blocks WHERE block < ?').run(partial)
    // The block the bound cuts keeps its filter (terms of evicted events only cost a read) and
    // gets the time range of the events left in it, or goes when none is left.
    const left = this.stmt(
      'SELECT MIN(time) AS lo, MAX(time) AS hi FROM events WHERE seq > ? AND seq < ?',
    ).get(upTo, (partial + 1) * BLOCK_EVENTS) as { lo: number | null; hi: number | null }
    if (left.lo === null || left.hi === null) this.stmt('DELETE FROM blocks WHERE block = ?').run(partial)
    else this.stmt('UPDATE blocks SET t_min = ?, t_max = ? WHERE block = ?').run(left.lo, left.hi, partial)
    this.evicted += upTo - first + 1
  }

  /** Appends a batch in one transaction (evicting what passes the bounds). Throws StoreError. */
  insert(rows: readonly EventRow[]): void {
    if (rows.length === 0) return
    try {
      this.insertTx(rows)
    } catch (err) {
      throw new StoreError(`CloudTrail event store write failed: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Events stored now (seqs are contiguous: only the oldest are ever deleted). */
  count(): number {
    const { lo, hi } = this.seqRange()
    return lo === null || hi === null ? 0 : hi - lo + 1
  }

  /** The first and last seq stored, read at once (each subquery reads one end of the key). */
  private seqRange(): { lo: number | null; hi: number | null } {
    return this.stmt(
      'SELECT (SELECT MIN(seq) FROM events) AS lo, (SELECT MAX(seq) FROM events) AS hi',
    ).get() as {
      lo: number | null
      hi: number | null
    }
  }

  /**
   * Events matching a query, newest first: the blocks newest first, those whose time range and
   * filter may hold a match read by seq range and compared exactly, until the page is full.
   */
  query(q: EventQuery): StoredEvent[] {
    const { lo, hi: last } = this.seqRange()
    if (lo === null || last === null) return []
    const hi = Math.min(last, (q.beforeSeq ?? Number.MAX_SAFE_INTEGER) - 1)
    if (hi < lo || q.limit <= 0) return []
    const a = q.attribute
    const kind = a === undefined ? 0 : TERM[a.key]
    const value = a?.key === 'ReadOnly' ? (a.value === 'true' ? 'true' : 'false') : (a?.value ?? '')
    const cols = a === undefined ? 'block, t_min, t_max' : 'block, t_min, t_max, bloom'
    const blocks = this.stmt(
      `SELECT ${cols} FROM blocks WHERE block <= ? AND block >= ? ORDER BY block DESC LIMIT ?`,
    )
    const { sql, args } = this.where(a)
    const field = a?.key === 'ResourceName' ? 'name' : a?.key === 'ResourceType' ? 'type' : undefined
    const read = this.stmt(
      `SELECT * FROM events WHERE seq >= ? AND seq <= ? AND time >= ? AND time <= ?${sql} ORDER BY seq DESC LIMIT ?`,
    )
    const out: StoredEvent[] = []
    const loBlock = Math.floor(lo / BLOCK_EVENTS)
    let from = Math.floor(hi / BLOCK_EVENTS)
    let pageSize = FIRST_BLOCK_PAGE
    while (from >= loBlock) {
      const page = blocks.all(from, loBlock, pageSize) as BlockRow[]
      pageSize = Math.min(MAX_BLOCK_PAGE, pageSize * 4)
      if (page.length === 0) break
      for (const b of page) {
        from = b.block - 1
        if (b.t_max < q.startTime || b.t_min > q.endTime) continue
        if (a !== undefined && !bloomHas(b.bloom!, kind, value)) continue
        const s0 = Math.max(lo, b.block * BLOCK_EVENTS)
        const s1 = Math.min(hi, b.block * BLOCK_EVENTS + BLOCK_EVENTS - 1)
        // Rows checked after SQL (resources) are read whole: a row dropped must not cut the page short.
        const need = field === undefined ? q.limit - out.length : -1
        for (const r of read.all(s0, s1, q.startTime, q.endTime, ...args, need) as Row[]) {
          const ev = toEvent(r)
          if (field !== undefined && !ev.resources.some((x) => x[field] === a!.value)) continue
          out.push(ev)
          if (out.length >= q.limit) return out
        }
      }
    }
    return out
  }

  /** The exact comparison of a lookup attribute, in SQL (resources: a prefilter, checked after). */
  private where(a: EventQuery['attribute']): { sql: string; args: (string | number)[] } {
    if (a === undefined) return { sql: '', args: [] }
    if (a.key === 'ReadOnly') return { sql: ' AND read_only = ?', args: [a.value === 'true' ? 1 : 0] }
    if (a.key === 'ResourceName' || a.key === 'ResourceType') {
      // The member as JSON.stringify writes it into the resources column.
      const member = `"${a.key === 'ResourceName' ? 'name' : 'type'}":${JSON.stringify(a.value)}`
      return { sql: ' AND instr(resources, ?) > 0', args: [member] }
    }
    return { sql: ` AND ${COLUMN[a.key]} = ?`, args: [a.value] }
  }

  /** A small persistent value (delivery and digest state). */
  getValue(key: string): string | undefined {
    return (this.stmt('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined)?.value
  }

  setValue(key: string, value: string): void {
    this.stmt('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)').run(key, value)
  }

  /** The rest of every key that starts with `prefix`. */
  keysWithPrefix(prefix: string): string[] {
    return (
      this.stmt('SELECT key FROM kv WHERE substr(key, 1, ?) = ?').all(prefix.length, prefix) as {
        key: string
      }[]
    ).map((r) => r.key.slice(prefix.length))
  }

  close(): void {
    if (this.db.open) this.db.close()
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql)
    if (s === undefined) this.statements.set(sql, (s = this.db.prepare(sql)))
    return s
  }
}

/** A row's resources column: its well-formed entries (none when it cannot be read). */
function parseResources(text: string): EventResource[] {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return []
  }
  if (!Array.isArray(v)) return []
  return v.filter(
    (x): x is EventResource =>
      x !== null &&
      typeof x === 'object' &&
      typeof (x as EventResource).name === 'string' &&
      typeof (x as EventResource).type === 'string',
  )
}

function toEvent(r: Row): StoredEvent {
  const resources = parseResources(r.resources)
  return {
    seq: r.seq,
    time: r.time,
    eventId: r.event_id,
    eventName: r.event_name,
    eventSource: r.event_source,
    username: r.username,
    accessKeyId: r.access_key_id,
    readOnly: r.read_only === 1,
    resources,
    json: r.json,
  }
}
