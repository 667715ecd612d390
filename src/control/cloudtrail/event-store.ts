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
 * The schema. Every index grows at its end or at the end of one of a few ranges, so that storing a
 * batch rewrites few pages: the event id's, because event ids begin with their time (see
 * `eventId`), and the resource names', because it is cut into buckets of {@link BUCKET_BITS}
 * bits of seq (1,024 events) and a name is placed within its bucket. Indexed by name alone,
 * resource ids (random by nature) landed on a random page each, and a batch of 100 events rewrote
 * some 200 pages (a copy of that schema measured 79 µs of CPU an event on a store of 200,000;
 * `npm run bench:trail-store` measures this one: 34 µs on a full store of 1,000,000).
 * A lookup by resource name visits the buckets newest first, one probe each, and stops once it
 * has its page of events (a full store of 1,000,000 events and a name that matches nothing: 977
 * probes, about 11 ms).
 * An older file's name index is replaced (rebuilt once, when the store opens).
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
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_name ON events(event_name, seq);
CREATE INDEX IF NOT EXISTS events_user ON events(username, seq);
CREATE INDEX IF NOT EXISTS events_key ON events(access_key_id, seq);
CREATE INDEX IF NOT EXISTS events_id ON events(event_id);
CREATE TABLE IF NOT EXISTS event_resources (
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL
);
DROP INDEX IF EXISTS event_resources_name;
CREATE INDEX IF NOT EXISTS event_resources_bucket_name ON event_resources(seq >> 10, name, seq);
CREATE INDEX IF NOT EXISTS event_resources_type ON event_resources(type, seq);
CREATE INDEX IF NOT EXISTS event_resources_seq ON event_resources(seq);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`

/** log2 of the events in a bucket of the resource-name index. */
const BUCKET_BITS = 10

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

export interface EventStoreOptions {
  maxEvents?: number
  maxAgeDays?: number
}

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
        // share pages, and storing costs less CPU (measured: 42 → 36 µs an event of 1.5 kB).
        this.db.pragma('page_size = 16384')
        this.db.pragma('journal_mode = WAL')
        this.db.pragma('synchronous = NORMAL')
        this.db.pragma('busy_timeout = 5000')
      }
      this.db.exec(SCHEMA)
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
    const insRes = this.db.prepare('INSERT INTO event_resources (seq, type, name) VALUES (?, ?, ?)')
    // Each eviction query reads only what it needs: MIN alone from the key (MIN and MAX in one
    // query scan the whole table), and the events past the age bound from the time index (left to
    // itself, SQLite walks the table backwards by seq looking for one, reading every event when
    // none is that old) — either scan made every batch cost as much as the whole store.
    const minSeq = this.db.prepare('SELECT MIN(seq) AS s FROM events')
    const delUpTo = this.db.prepare('DELETE FROM events WHERE seq <= ?')
    const delResUpTo = this.db.prepare('DELETE FROM event_resources WHERE seq <= ?')
    const oldBefore = this.db.prepare(
      'SELECT MAX(seq) AS s FROM events INDEXED BY events_time WHERE time < ?',
    )
    this.insertTx = this.db.transaction((rows: readonly EventRow[]) => {
      let last = 0
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
        for (const res of r.resources) insRes.run(last, res.type, res.name)
      }
      // Eviction: the cap first (seqs are contiguous: only the oldest are ever deleted), then age.
      const first = (minSeq.get() as { s: number | null }).s
      const n = first === null ? 0 : last - first + 1
      let upTo = 0
      if (n > this.maxEvents) upTo = last - this.maxEvents
      const old = (oldBefore.get(Date.now() - this.maxAgeMs) as { s: number | null }).s
      if (old !== null && old > upTo) upTo = old
      if (upTo > 0) {
        const lo = (minSeq.get() as { s: number | null }).s ?? upTo + 1
        if (lo <= upTo) {
          delUpTo.run(upTo)
          delResUpTo.run(upTo)
          this.evicted += upTo - lo + 1
        }
      }
      return last
    })
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

  /** Events stored now. */
  count(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n
  }

  /** Events matching a query, newest first. */
  query(q: EventQuery): StoredEvent[] {
    const a = q.attribute
    const rows = a?.key === 'ResourceName' ? this.byResourceName(q, a.value) : this.queryWhere(q, a)
    return rows.map((r) => ({
      seq: r.seq,
      time: r.time,
      eventId: r.event_id,
      eventName: r.event_name,
      eventSource: r.event_source,
      username: r.username,
      accessKeyId: r.access_key_id,
      readOnly: r.read_only === 1,
      resources: JSON.parse(r.resources) as EventResource[],
      json: r.json,
    }))
  }

  private queryWhere(q: EventQuery, a: EventQuery['attribute']): Row[] {
    const where = ['e.time >= ?', 'e.time <= ?']
    const args: (string | number)[] = [q.startTime, q.endTime]
    if (q.beforeSeq !== undefined) {
      where.push('e.seq < ?')
      args.push(q.beforeSeq)
    }
    if (a !== undefined) {
      if (a.key === 'ResourceType') {
        where.push('e.seq IN (SELECT seq FROM event_resources WHERE type = ?)')
        args.push(a.value)
      } else if (a.key === 'ReadOnly') {
        where.push('e.read_only = ?')
        args.push(a.value === 'true' ? 1 : 0)
      } else if (a.key !== 'ResourceName') {
        where.push(`e.${COLUMN[a.key]} = ?`)
        args.push(a.value)
      }
    }
    args.push(q.limit)
    return this.stmt(`SELECT e.* FROM events e WHERE ${where.join(' AND ')} ORDER BY e.seq DESC LIMIT ?`).all(
      ...args,
    ) as Row[]
  }

  /** Events naming a resource: the buckets of the name index, newest first, until the page is full. */
  private byResourceName(q: EventQuery, name: string): Row[] {
    // MIN and MAX in two queries: each reads one end of the key (together they scan the table).
    const lo = (this.stmt('SELECT MIN(seq) AS s FROM events').get() as { s: number | null }).s
    const last = (this.stmt('SELECT MAX(seq) AS s FROM events').get() as { s: number | null }).s
    if (lo === null || last === null) return []
    const hi = Math.min(last, (q.beforeSeq ?? Number.MAX_SAFE_INTEGER) - 1)
    // A probe reads the index alone (an event is read only for a seq found): 5.6 µs a bucket.
    const probe = this.stmt(
      `SELECT seq FROM event_resources WHERE (seq >> ${BUCKET_BITS}) = ? AND name = ? AND seq <= ? ORDER BY seq DESC`,
    )
    const read = this.stmt('SELECT * FROM events WHERE seq = ? AND time >= ? AND time <= ?')
    const out: Row[] = []
    for (let b = Math.floor(hi / 2 ** BUCKET_BITS); b >= Math.floor(lo / 2 ** BUCKET_BITS); b--) {
      let prev = -1
      for (const r of probe.all(b, name, hi) as { seq: number }[]) {
        // An event naming the resource under two types has two rows: one result.
        if (r.seq === prev) continue
        prev = r.seq
        const row = read.get(r.seq, q.startTime, q.endTime) as Row | undefined
        if (row !== undefined) out.push(row)
        if (out.length >= q.limit) return out
      }
    }
    return out
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
