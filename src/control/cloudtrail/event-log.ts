// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log's front: the API hands it each call as a thunk that renders the event, and returns
 * at once. Calls wait in a bounded in-memory buffer (default 20,000); every `flushMs` (default
 * 250 ms), or as soon as `batchSize` calls wait, one pass renders them, appends them to the
 * {@link EventStore} in one transaction and hands the records to the subscribers (trail delivery).
 * When the buffer is full a call is not recorded: it is counted in `dropped` (the API is never
 * slowed down or blocked by its own audit). A store that fails counts `writeErrors` and keeps the
 * last error; the process goes on.
 * @module
 */
import type { EventResource } from './model.ts'
import type { CloudTrailRecord } from './model.ts'
import type { EventRow, EventStore } from './event-store.ts'

/** What a rendered call is. */
export interface RenderedEvent {
  record: CloudTrailRecord
  resources: EventResource[]
  /** LookupEvents' `Username`. */
  username: string | undefined
}

/** A stored record as subscribers get it: its time and its JSON. */
export interface DeliveredEvent {
  time: number
  region: string
  eventSource: string
  json: string
}

export interface EventLogOptions {
  /** Calls buffered at most (default 20,000). */
  maxPending?: number
  /** Longest wait before a pass (ms, default 250). */
  flushMs?: number
  /** A pass starts at once when this many calls wait (default 2,000). */
  batchSize?: number
}

export interface EventLogStats {
  recorded: number
  dropped: number
  renderErrors: number
  writeErrors: number
  lastError: string | null
}

export class EventLog {
  readonly store: EventStore
  readonly stats: EventLogStats = {
    recorded: 0,
    dropped: 0,
    renderErrors: 0,
    writeErrors: 0,
    lastError: null,
  }
  private pending: (() => RenderedEvent | undefined)[] = []
  private readonly maxPending: number
  private readonly flushMs: number
  private readonly batchSize: number
  private timer: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null
  private readonly subscribers = new Set<(events: readonly DeliveredEvent[]) => void>()
  private closed = false

  constructor(store: EventStore, opts: EventLogOptions = {}) {
    this.store = store
    this.maxPending = opts.maxPending ?? 20_000
    this.flushMs = opts.flushMs ?? 250
    this.batchSize = opts.batchSize ?? 2_000
  }

  /** Takes a call (its rendering is deferred to the next pass). Never throws, never blocks. */
  add(render: () => RenderedEvent | undefined): void {
    if (this.closed || this.pending.length >= this.maxPending) {
      this.stats.dropped++
      return
    }
    this.pending.push(render)
    if (this.pending.length >= this.batchSize) {
      this.immediate ??= setImmediate(() => {
        this.immediate = null
        this.flush()
      })
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.flush()
      }, this.flushMs)
      this.timer.unref()
    }
  }

  /** Calls `fn` with every stored batch (in order). Returns an unsubscribe. */
  subscribe(fn: (events: readonly DeliveredEvent[]) => void): () => void {
    this.subscribers.add(fn)
    return () => this.subscribers.delete(fn)
  }

  /** Renders and stores what waits, now. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const batch = this.pending
    if (batch.length === 0) return
    this.pending = []
    const rows: EventRow[] = []
    const regions: string[] = []
    for (const render of batch) {
      let ev: RenderedEvent | undefined
      try {
        ev = render()
      } catch (err) {
        this.stats.renderErrors++
        this.stats.lastError = `render: ${(err as Error).message}`
      }
      if (ev === undefined) continue
      const r = ev.record
      regions.push(r.awsRegion)
      rows.push({
        time: Date.parse(r.eventTime),
        eventId: r.eventID,
        eventName: r.eventName,
        eventSource: r.eventSource,
        username: ev.username,
        accessKeyId: r.userIdentity.accessKeyId,
        readOnly: r.readOnly,
        resources: ev.resources,
        json: JSON.stringify(r),
      })
    }
    try {
      this.store.insert(rows)
      this.stats.recorded += rows.length
    } catch (err) {
      this.stats.writeErrors++
      this.stats.lastError = (err as Error).message
    }
    const delivered = rows.map((r, i) => ({
      time: r.time,
      region: regions[i]!,
      eventSource: r.eventSource,
      json: r.json,
    }))
    for (const fn of this.subscribers) {
      try {
        fn(delivered)
      } catch (err) {
        this.stats.lastError = `deliver: ${(err as Error).message}`
      }
    }
  }

  /** Calls waiting for the next pass. */
  get waiting(): number {
    return this.pending.length
  }

  /** Stores what waits and stops taking calls. */
  close(): void {
    this.flush()
    if (this.immediate !== null) clearImmediate(this.immediate)
    this.immediate = null
    this.closed = true
  }
}
