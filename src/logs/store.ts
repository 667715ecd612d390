// SPDX-License-Identifier: Apache-2.0
/**
 * The event store of CloudWatch Logs: log groups, log streams, their tags and metric filters, and
 * the events themselves, in SQLite (one file, WAL). Events are rows indexed by (stream, time) and by
 * (group, time), so reading a stream, scanning a group and an Insights query each read only the
 * time range they ask for. Retention deletes a group's events older than its retention; a cap on
 * the events stored deletes the oldest ingested first.
 *
 * It holds no rule of the API (what exists, what is allowed: control/logs does); it stores and reads.
 * @module
 */
import Database from 'better-sqlite3'
import { chmodSync } from 'node:fs'
import { LogStoreError } from './errors.ts'
import type { FilterMatcher } from './filter-pattern.ts'

export interface GroupRow {
  id: number
  name: string
  created: number
  retention: number | null
  kms: string | null
  cls: string
  storedBytes: number
}

export interface StreamRow {
  id: number
  gid: number
  name: string
  created: number
  firstTs: number | null
  lastTs: number | null
  lastIngest: number | null
  storedBytes: number
}

export interface EventRow {
  id: number
  sid: number
  ts: number
  ingest: number
  msg: string
}

export interface MetricFilterRow {
  gid: number
  name: string
  pattern: string
  transformations: string
  created: number
}

/** A position in (time, id) order. */
export interface EventCursor {
  ts: number
  id: number
}

/** Rows one multi-row INSERT writes. */
const INSERT_ROWS = 100

/** Overhead AWS counts per event in a batch's size (and in stored bytes). */
export const EVENT_OVERHEAD = 26

const SCHEMA = `
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL,
  retention INTEGER,
  kms TEXT,
  cls TEXT NOT NULL DEFAULT 'STANDARD',
  stored_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS streams (
  id INTEGER PRIMARY KEY,
  gid INTEGER NOT NULL,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  first_ts INTEGER,
  last_ts INTEGER,
  last_ingest INTEGER,
  stored_bytes INTEGER NOT NULL DEFAULT 0,
  UNIQUE (gid, name)
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  gid INTEGER NOT NULL,
  sid INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  ingest INTEGER NOT NULL,
  msg TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_stream ON events (sid, ts, id);
CREATE INDEX IF NOT EXISTS events_group ON events (gid, ts, id);
CREATE TABLE IF NOT EXISTS tags (
  gid INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (gid, key)
);
CREATE TABLE IF NOT EXISTS metric_filters (
  gid INTEGER NOT NULL,
  name TEXT NOT NULL,
  pattern TEXT NOT NULL,
  transformations TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (gid, name)
);
`

function groupOf(r: Record<string, unknown>): GroupRow {
  return {
    id: r.id as number,
    name: r.name as string,
    created: r.created as number,
    retention: r.retention as number | null,
    kms: r.kms as string | null,
    cls: r.cls as string,
    storedBytes: r.stored_bytes as number,
  }
}

function streamOf(r: Record<string, unknown>): StreamRow {
  return {
    id: r.id as number,
    gid: r.gid as number,
    name: r.name as string,
    created: r.created as number,
    firstTs: r.first_ts as number | null,
    lastTs: r.last_ts as number | null,
    lastIngest: r.last_ingest as number | null,
    storedBytes: r.stored_bytes as number,
  }
}

/** The SQLite event store; `path` ':memory:' for a store that lives with the process. */
/** Where a chunked scan stands: the group's index in the list, then the last (ts, id) seen. */
export interface ScanCursor {
  g: number
  ts: number
  id: number
}

export class LogStore {
  readonly path: string
  private readonly db: Database.Database
  private scanStmt: Database.Statement | undefined
  private readonly stmts: Record<string, Database.Statement>
  private eventCount: number

  constructor(path: string) {
    this.path = path
    try {
      this.db = new Database(path)
      if (path !== ':memory:') chmodSync(path, 0o600)
      this.db.pragma('journal_mode = WAL')
      this.db.pragma('synchronous = NORMAL')
      // Index upkeep of big batches and range scans stay in memory (64 MiB of pages).
      this.db.pragma('cache_size = -65536')
      this.db.exec(SCHEMA)
    } catch (err) {
      throw new LogStoreError(`cannot open the log store ${path}: ${(err as Error).message}`, { cause: err })
    }
    const p = (sql: string) => this.db.prepare(sql)
    this.stmts = {
      groupByName: p('SELECT * FROM groups WHERE name = ?'),
      groupById: p('SELECT * FROM groups WHERE id = ?'),
      insertGroup: p('INSERT INTO groups (name, created, kms, cls) VALUES (?, ?, ?, ?)'),
      countGroups: p('SELECT count(*) AS n FROM groups'),
      setRetention: p('UPDATE groups SET retention = ? WHERE id = ?'),
      streamByName: p('SELECT * FROM streams WHERE gid = ? AND name = ?'),
      insertStream: p('INSERT INTO streams (gid, name, created) VALUES (?, ?, ?)'),
      countStreams: p('SELECT count(*) AS n FROM streams WHERE gid = ?'),
      insertEvent: p('INSERT INTO events (gid, sid, ts, ingest, msg) VALUES (?, ?, ?, ?, ?)'),
      insertEvents: p(
        `INSERT INTO events (gid, sid, ts, ingest, msg) VALUES ${Array.from({ length: INSERT_ROWS }, () => '(?, ?, ?, ?, ?)').join(', ')}`,
      ),
      touchStream: p(
        `UPDATE streams SET first_ts = min(coalesce(first_ts, @lo), @lo), last_ts = max(coalesce(last_ts, @hi), @hi),
         last_ingest = @ingest, stored_bytes = stored_bytes + @bytes WHERE id = @id`,
      ),
      addGroupBytes: p('UPDATE groups SET stored_bytes = stored_bytes + ? WHERE id = ?'),
      tagsOf: p('SELECT key, value FROM tags WHERE gid = ? ORDER BY key'),
      putTag: p(
        'INSERT INTO tags (gid, key, value) VALUES (?, ?, ?) ON CONFLICT (gid, key) DO UPDATE SET value = excluded.value',
      ),
      deleteTag: p('DELETE FROM tags WHERE gid = ? AND key = ?'),
      putFilter: p(
        `INSERT INTO metric_filters (gid, name, pattern, transformations, created) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (gid, name) DO UPDATE SET pattern = excluded.pattern, transformations = excluded.transformations`,
      ),
      deleteFilter: p('DELETE FROM metric_filters WHERE gid = ? AND name = ?'),
      countFilters: p('SELECT count(*) AS n FROM metric_filters WHERE gid = ?'),
      filtersOf: p('SELECT * FROM metric_filters WHERE gid = ? ORDER BY name'),
      allFilters: p('SELECT * FROM metric_filters ORDER BY gid, name'),
      countEvents: p('SELECT count(*) AS n FROM events'),
    }
    this.eventCount = (this.stmts.countEvents!.get() as { n: number }).n
  }

  /** Events stored now. */
  get events(): number {
    return this.eventCount
  }

  close(): void {
    if (this.db.open) this.db.close()
  }

  // ------------------------------------------------------------ groups

  group(name: string): GroupRow | undefined {
    const r = this.stmts.groupByName!.get(name) as Record<string, unknown> | undefined
    return r === undefined ? undefined : groupOf(r)
  }

  groupById(id: number): GroupRow | undefined {
    const r = this.stmts.groupById!.get(id) as Record<string, unknown> | undefined
    return r === undefined ? undefined : groupOf(r)
  }

  groupCount(): number {
    return (this.stmts.countGroups!.get() as { n: number }).n
  }

  createGroup(
    name: string,
    created: number,
    kms: string | null,
    cls: string,
    tags: ReadonlyMap<string, string>,
  ): GroupRow {
    return this.db.transaction(() => {
      const id = Number(this.stmts.insertGroup!.run(name, created, kms, cls).lastInsertRowid)
      for (const [k, v] of tags) this.stmts.putTag!.run(id, k, v)
      return this.groupById(id)!
    })()
  }

  deleteGroup(id: number): void {
    this.db.transaction(() => {
      const n = this.db.prepare('DELETE FROM events WHERE gid = ?').run(id).changes
      this.eventCount -= n
      this.db.prepare('DELETE FROM streams WHERE gid = ?').run(id)
      this.db.prepare('DELETE FROM tags WHERE gid = ?').run(id)
      this.db.prepare('DELETE FROM metric_filters WHERE gid = ?').run(id)
      this.db.prepare('DELETE FROM groups WHERE id = ?').run(id)
    })()
  }

  /** Groups in name order after `after`, whose name starts with `prefix` and contains `contains` (case-insensitive). */
  listGroups(o: { prefix?: string; contains?: string; after?: string; limit: number }): GroupRow[] {
    const where: string[] = []
    const args: unknown[] = []
    if (o.prefix !== undefined && o.prefix !== '') {
      where.push('substr(name, 1, ?) = ?')
      args.push(o.prefix.length, o.prefix)
    }
    if (o.contains !== undefined && o.contains !== '') {
      where.push('instr(lower(name), ?) > 0')
      args.push(o.contains.toLowerCase())
    }
    if (o.after !== undefined) {
      where.push('name > ?')
      args.push(o.after)
    }
    const sql = `SELECT * FROM groups ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY name LIMIT ?`
    return (this.db.prepare(sql).all(...args, o.limit) as Record<string, unknown>[]).map(groupOf)
  }

  setRetention(id: number, days: number | null): void {
    this.stmts.setRetention!.run(days, id)
  }

  // ------------------------------------------------------------ streams

  stream(gid: number, name: string): StreamRow | undefined {
    const r = this.stmts.streamByName!.get(gid, name) as Record<string, unknown> | undefined
    return r === undefined ? undefined : streamOf(r)
  }

  streamCount(gid: number): number {
    return (this.stmts.countStreams!.get(gid) as { n: number }).n
  }

  createStream(gid: number, name: string, created: number): StreamRow {
    this.stmts.insertStream!.run(gid, name, created)
    return this.stream(gid, name)!
  }

  deleteStream(s: StreamRow): void {
    this.db.transaction(() => {
      const n = this.db.prepare('DELETE FROM events WHERE sid = ?').run(s.id).changes
      this.eventCount -= n
      this.db
        .prepare('UPDATE groups SET stored_bytes = max(0, stored_bytes - ?) WHERE id = ?')
        .run(s.storedBytes, s.gid)
      this.db.prepare('DELETE FROM streams WHERE id = ?').run(s.id)
    })()
  }

  /**
   * A group's streams: by name (with a prefix) or by last event time, ascending or descending,
   * `offset` rows skipped (the API's tokens carry it).
   */
  listStreams(
    gid: number,
    o: {
      prefix?: string
      orderBy: 'LogStreamName' | 'LastEventTime'
      descending: boolean
      offset: number
      limit: number
    },
  ): StreamRow[] {
    const args: unknown[] = [gid]
    let where = 'gid = ?'
    if (o.prefix !== undefined && o.prefix !== '') {
      where += ' AND substr(name, 1, ?) = ?'
      args.push(o.prefix.length, o.prefix)
    }
    const dir = o.descending ? 'DESC' : 'ASC'
    const order = o.orderBy === 'LogStreamName' ? `name ${dir}` : `coalesce(last_ts, -1) ${dir}, name ${dir}`
    const sql = `SELECT * FROM streams WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`
    return (this.db.prepare(sql).all(...args, o.limit, o.offset) as Record<string, unknown>[]).map(streamOf)
  }

  streamName(sid: number): string | undefined {
    return this.db.prepare('SELECT name FROM streams WHERE id = ?').pluck(true).get(sid) as string | undefined
  }

  /** Every stream of a group, by id. */
  streamsOf(gid: number): StreamRow[] {
    return (this.db.prepare('SELECT * FROM streams WHERE gid = ?').all(gid) as Record<string, unknown>[]).map(
      streamOf,
    )
  }

  // ------------------------------------------------------------ events

  /**
   * Appends a batch to a stream in one transaction: `ts[i]`, `msg[i]`, ingested at `ingest`.
   * `bytes` is the batch's size as AWS counts it (UTF-8 bytes + 26 per event).
   */
  putEvents(
    s: StreamRow,
    ts: readonly number[],
    msg: readonly string[],
    ingest: number,
    bytes: number,
  ): void {
    if (ts.length === 0) return
    let lo = ts[0]!
    let hi = ts[0]!
    for (const t of ts) {
      if (t < lo) lo = t
      if (t > hi) hi = t
    }
    const ins = this.stmts.insertEvent!
    const many = this.stmts.insertEvents!
    // INSERT_ROWS rows a statement: one call into SQLite per chunk rather than per event.
    const args: (number | string)[] = new Array<number | string>(INSERT_ROWS * 5)
    this.db.transaction(() => {
      let i = 0
      for (; i + INSERT_ROWS <= ts.length; i += INSERT_ROWS) {
        for (let k = 0; k < INSERT_ROWS; k++) {
          const o = k * 5
          args[o] = s.gid
          args[o + 1] = s.id
          args[o + 2] = ts[i + k]!
          args[o + 3] = ingest
          args[o + 4] = msg[i + k]!
        }
        many.run(args)
      }
      for (; i < ts.length; i++) ins.run(s.gid, s.id, ts[i]!, ingest, msg[i]!)
      this.stmts.touchStream!.run({ lo, hi, ingest, bytes, id: s.id })
      this.stmts.addGroupBytes!.run(bytes, s.gid)
    })()
    this.eventCount += ts.length
  }

  /**
   * A stream's events in [start, end), in (time, id) order: forward from after `cursor` (or the
   * start), or backward from before `cursor` (or the end); at most `limit` events and about
   * `maxBytes` of messages. Always returned in ascending order.
   */
  streamEvents(
    sid: number,
    o: {
      start: number
      end: number
      forward: boolean
      cursor?: EventCursor
      limit: number
      maxBytes: number
    },
  ): EventRow[] {
    const args: unknown[] = [sid, o.start, o.end]
    let where = 'sid = ? AND ts >= ? AND ts < ?'
    if (o.cursor !== undefined) {
      where += o.forward ? ' AND (ts, id) > (?, ?)' : ' AND (ts, id) < (?, ?)'
      args.push(o.cursor.ts, o.cursor.id)
    }
    const dir = o.forward ? 'ASC' : 'DESC'
    const stmt = this.db.prepare(
      `SELECT id, sid, ts, ingest, msg FROM events INDEXED BY events_stream WHERE ${where} ORDER BY ts ${dir}, id ${dir} LIMIT ?`,
    )
    const out: EventRow[] = []
    let bytes = 0
    for (const r of stmt.iterate(...args, o.limit) as Iterable<EventRow>) {
      bytes += Buffer.byteLength(r.msg) + EVENT_OVERHEAD
      if (bytes > o.maxBytes && out.length > 0) break
      out.push(r)
    }
    if (!o.forward) out.reverse()
    return out
  }

  /**
   * Scans a group's events in (time, id) order from after `cursor`, within [start, end), keeping
   * those of `streams` (all when undefined) that `matcher` accepts: at most `limit` matches and about
   * `maxBytes`, and at most `budget` events looked at. Returns the matches and, when the scan
   * stopped early, the position to resume from.
   */
  scanGroup(
    gid: number,
    o: {
      start: number
      end: number
      cursor?: EventCursor
      streams?: ReadonlySet<number>
      matcher: FilterMatcher
      limit: number
      maxBytes: number
      budget: number
    },
  ): { events: EventRow[]; resume: EventCursor | undefined } {
    const args: unknown[] = [gid, o.start, o.end]
    let where = 'gid = ? AND ts >= ? AND ts < ?'
    if (o.cursor !== undefined) {
      where += ' AND (ts, id) > (?, ?)'
      args.push(o.cursor.ts, o.cursor.id)
    }
    // The texts every match contains, tested in SQLite: most events never reach the matcher.
    const lits = [...new Set(o.matcher.required ?? [])].sort((a, b) => b.length - a.length).slice(0, 3)
    for (const l of lits) {
      where += ' AND instr(msg, ?) > 0'
      args.push(l)
    }
    const stmt = this.db
      .prepare(`SELECT id, sid, ts, msg FROM events INDEXED BY events_group WHERE ${where} ORDER BY ts, id`)
      .raw(true)
    const out: EventRow[] = []
    let bytes = 0
    let seen = 0
    const all = o.matcher.kind === 'all'
    let last: EventCursor | undefined
    for (const r of stmt.iterate(...args) as Iterable<[number, number, number, string]>) {
      if (seen >= o.budget || out.length >= o.limit) return { events: out, resume: last }
      seen++
      const [id, sid, ts, msg] = r
      if ((o.streams === undefined || o.streams.has(sid)) && (all || o.matcher.match(msg))) {
        bytes += Buffer.byteLength(msg) + EVENT_OVERHEAD
        if (bytes > o.maxBytes && out.length > 0) return { events: out, resume: last }
        out.push({ id, sid, ts, ingest: 0, msg })
      }
      last = { ts, id }
    }
    return { events: out, resume: undefined }
  }

  /** Ingestion times of events by id (FilterLogEvents answers them; the scan skips the column). */
  ingestOf(ids: readonly number[]): Map<number, number> {
    const out = new Map<number, number>()
    const stmt = this.db.prepare('SELECT ingest FROM events WHERE id = ?').pluck(true)
    for (const id of ids) out.set(id, stmt.get(id) as number)
    return out
  }

  /**
   * Calls `fn(ts, msg, sid, ingest)` for every event of the groups within [start, end], group by
   * group in time order (the (group, time) index: only the range asked is read). `fn` returns
   * false to stop.
   */
  forEachEvent(
    gids: readonly number[],
    start: number,
    end: number,
    fn: (ts: number, msg: string, sid: number, ingest: number, gid: number) => boolean | void,
  ): void {
    const stmt = this.db
      .prepare(
        'SELECT ts, msg, sid, ingest FROM events INDEXED BY events_group WHERE gid = ? AND ts >= ? AND ts <= ? ORDER BY ts, id',
      )
      .raw(true)
    for (const gid of gids) {
      for (const r of stmt.iterate(gid, start, end) as Iterable<[number, string, number, number]>) {
        if (fn(r[0], r[1], r[2], r[3], gid) === false) return
      }
    }
  }

  /**
   * Up to `max` events of the groups in [start, end] after `cursor`, in the order of
   * {@link forEachEvent}; the cursor is advanced. True once every event was seen (or `fn` returned
   * false). Each call runs its statement to its end, so the connection is free between calls: a
   * long scan is done in chunks with other requests in between.
   */
  scanEvents(
    gids: readonly number[],
    start: number,
    end: number,
    cursor: ScanCursor,
    max: number,
    fn: (ts: number, msg: string, sid: number, ingest: number, gid: number) => boolean | void,
  ): boolean {
    this.scanStmt ??= this.db
      .prepare(
        'SELECT ts, msg, sid, ingest, id FROM events INDEXED BY events_group WHERE gid = ? AND ts >= ? AND ts <= ? AND (ts > ? OR id > ?) ORDER BY ts, id LIMIT ?',
      )
      .raw(true)
    let left = max
    // The index range starts at the cursor's time (not the query's start): each chunk reads only
    // its own rows, and a later-inserted event older than the cursor is not seen twice.
    while (cursor.g < gids.length) {
      const gid = gids[cursor.g]!
      const want = Math.min(left, 1 << 30)
      let n = 0
      for (const r of this.scanStmt.iterate(
        gid,
        Math.max(start, cursor.ts),
        end,
        cursor.ts,
        cursor.id,
        want,
      ) as Iterable<[number, string, number, number, number]>) {
        n++
        cursor.ts = r[0]
        cursor.id = r[4]
        if (fn(r[0], r[1], r[2], r[3], gid) === false) {
          cursor.g = gids.length
          return true
        }
      }
      left -= n
      if (n < want) {
        // This group is done: the next from its start.
        cursor.g++
        cursor.ts = -Infinity
        cursor.id = -1
      }
      if (left <= 0) return cursor.g >= gids.length
    }
    return true
  }

  /** Events a group holds in [start, end] (Insights' statistics). */
  countRange(gids: readonly number[], start: number, end: number): { records: number; bytes: number } {
    const stmt = this.db.prepare(
      'SELECT count(*) AS n, coalesce(sum(length(CAST(msg AS BLOB))), 0) AS b FROM events INDEXED BY events_group WHERE gid = ? AND ts >= ? AND ts <= ?',
    )
    let records = 0
    let bytes = 0
    for (const g of gids) {
      const r = stmt.get(g, start, end) as { n: number; b: number }
      records += r.n
      bytes += r.b
    }
    return { records, bytes }
  }

  /** Deletes the events of every group with a retention older than it; returns how many. */
  enforceRetention(now: number): number {
    const groups = this.db.prepare('SELECT id, retention FROM groups WHERE retention IS NOT NULL').all() as {
      id: number
      retention: number
    }[]
    let n = 0
    for (const g of groups) n += this.expire(g.id, now - g.retention * 86_400_000)
    return n
  }

  /** Deletes a group's events older than `before` (ms). */
  expire(gid: number, before: number): number {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare(
          'SELECT sid, count(*) AS n, sum(length(CAST(msg AS BLOB))) + 26 * count(*) AS b FROM events WHERE gid = ? AND ts < ? GROUP BY sid',
        )
        .all(gid, before) as { sid: number; n: number; b: number }[]
      if (rows.length === 0) return 0
      const n = this.db.prepare('DELETE FROM events WHERE gid = ? AND ts < ?').run(gid, before).changes
      this.eventCount -= n
      this.afterDelete(gid, rows)
      return n
    })()
  }

  /** Deletes the oldest-ingested events until at most `max` remain; returns how many. */
  evict(max: number): number {
    if (this.eventCount <= max) return 0
    const excess = this.eventCount - max
    return this.db.transaction(() => {
      const cut = this.db
        .prepare('SELECT id FROM events ORDER BY id LIMIT 1 OFFSET ?')
        .pluck(true)
        .get(excess - 1) as number | undefined
      if (cut === undefined) return 0
      const rows = this.db
        .prepare(
          'SELECT gid, sid, count(*) AS n, sum(length(CAST(msg AS BLOB))) + 26 * count(*) AS b FROM events WHERE id <= ? GROUP BY gid, sid',
        )
        .all(cut) as { gid: number; sid: number; n: number; b: number }[]
      const n = this.db.prepare('DELETE FROM events WHERE id <= ?').run(cut).changes
      this.eventCount -= n
      const byGroup = new Map<number, { sid: number; n: number; b: number }[]>()
      for (const r of rows) {
        const l = byGroup.get(r.gid) ?? []
        l.push(r)
        byGroup.set(r.gid, l)
      }
      for (const [gid, l] of byGroup) this.afterDelete(gid, l)
      return n
    })()
  }

  /** Stored bytes and first event times after a deletion. */
  private afterDelete(gid: number, rows: { sid: number; b: number }[]): void {
    let total = 0
    const first = this.db
      .prepare('SELECT min(ts) FROM events INDEXED BY events_stream WHERE sid = ?')
      .pluck(true)
    const upd = this.db.prepare(
      'UPDATE streams SET stored_bytes = max(0, stored_bytes - ?), first_ts = ? WHERE id = ?',
    )
    for (const r of rows) {
      total += r.b
      upd.run(r.b, first.get(r.sid) ?? null, r.sid)
    }
    this.stmts.addGroupBytes!.run(-total, gid)
    this.db.prepare('UPDATE groups SET stored_bytes = max(0, stored_bytes) WHERE id = ?').run(gid)
  }

  // ------------------------------------------------------------ tags, metric filters

  tags(gid: number): Map<string, string> {
    return new Map(
      (this.stmts.tagsOf!.all(gid) as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    )
  }

  setTags(gid: number, put: ReadonlyMap<string, string>, remove: readonly string[]): void {
    this.db.transaction(() => {
      for (const [k, v] of put) this.stmts.putTag!.run(gid, k, v)
      for (const k of remove) this.stmts.deleteTag!.run(gid, k)
    })()
  }

  putMetricFilter(
    gid: number,
    name: string,
    pattern: string,
    transformations: string,
    created: number,
  ): void {
    this.stmts.putFilter!.run(gid, name, pattern, transformations, created)
  }

  deleteMetricFilter(gid: number, name: string): boolean {
    return this.stmts.deleteFilter!.run(gid, name).changes > 0
  }

  metricFilterCount(gid: number): number {
    return (this.stmts.countFilters!.get(gid) as { n: number }).n
  }

  metricFilters(gid?: number): MetricFilterRow[] {
    const rows = (
      gid === undefined ? this.stmts.allFilters!.all() : this.stmts.filtersOf!.all(gid)
    ) as Record<string, unknown>[]
    return rows.map((r) => ({
      gid: r.gid as number,
      name: r.name as string,
      pattern: r.pattern as string,
      transformations: r.transformations as string,
      created: r.created as number,
    }))
  }
}
