// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log's front. The API hands it each call's raw facts (what was known when the call was
 * answered) as bytes written straight into a pending chunk ({@link EventLog.addBytes}; or as any
 * item the renderer knows, {@link EventLog.add}) and returns at once: taking a call only adds to a
 * bounded buffer (default 20,000; past it a call is counted in `dropped`, the API is never slowed
 * or blocked by its own audit). Every `flushMs` (default 250 ms; `threadFlushMs`, 20 ms, when the
 * writer is a thread of its own), or as soon as `batchSize` calls wait, the buffer goes as one
 * batch to the writer, which renders each call into its CloudTrail
 * record, serializes it, appends the batch to the {@link EventStore} in one transaction and hands
 * the records to the subscribers (trail delivery).
 *
 * The writer runs in the same thread by default (an in-memory store, the unit tests) or, once
 * {@link EventLog.useWorker} is called with a store on disk, in a worker thread of its own — the
 * server's case, so that rendering and SQLite never take the API's thread. {@link EventLog.flush}
 * stays synchronous in both: it hands over what waits and waits (bounded) until the writer has
 * stored it, so a lookup right after a call sees it. A worker that fails is counted and the log goes
 * on in-thread. A store that fails counts `writeErrors` and keeps the last error; the process goes on.
 * @module
 */
import { receiveMessageOnPort, MessageChannel, type MessagePort, type Worker } from 'node:worker_threads'
import type { EventResource } from './model.ts'
import type { CloudTrailRecord } from './model.ts'
import type { EventRow, EventStore } from './event-store.ts'

/** What a rendered call is. */
export interface RenderedEvent {
  record: CloudTrailRecord
  resources: EventResource[]
  /** LookupEvents' `Username`. */
  username: string | undefined
  /** The record's `eventTime` in ms since the epoch, when the renderer knows it (else it is parsed). */
  time?: number
}

/** Turns what {@link EventLog.add} took into its event (undefined: not recorded). */
export type EventRenderer = (item: unknown) => RenderedEvent | undefined

/** A stored record as subscribers get it: its time and its JSON (UTF-8; a view that is not copied). */
export interface DeliveredEvent {
  time: number
  region: string
  eventSource: string
  json: Uint8Array
}

/**
 * Writes one call's bytes into `buf` from `at` (at most the `max` bytes {@link EventLog.addBytes}
 * was given) and returns where they end.
 */
export type CallWriter = (buf: Buffer, at: number) => number

/** Bytes of a pending chunk of encoded calls (each `<u32 LE length><bytes>`); larger calls get their own. */
export const CHUNK_BYTES = 1 << 20
/** Emptied chunks kept for reuse at most. */
const MAX_FREE_CHUNKS = 16

/** The calls a chunk holds, as views into it (no copy). */
export function chunkItems(chunk: ArrayBuffer, used: number, out: Uint8Array[] = []): Uint8Array[] {
  const view = new DataView(chunk, 0, used)
  let at = 0
  while (at + 4 <= used) {
    const len = view.getUint32(at, true)
    if (at + 4 + len > used) throw new Error('malformed chunk')
    out.push(Buffer.from(chunk, at + 4, len))
    at += 4 + len
  }
  return out
}

/**
 * Delivered records as they cross back from the writer thread: their JSON in one transferred
 * buffer (not one cloned string each), their times, and their regions and sources as indexes
 * into a small table of names.
 */
export interface PackedDelivered {
  bytes: ArrayBuffer
  ends: Uint32Array
  times: Float64Array
  names: string[]
  regions: Uint16Array
  sources: Uint16Array
}

/** Packs the records of a batch for the way back (the writer thread's side): one copy of each JSON. */
export function packDelivered(events: readonly StoredRecord[]): PackedDelivered {
  const lengths = events.map((e) => Buffer.byteLength(e.json, 'utf8'))
  let total = 0
  for (const n of lengths) total += n
  const bytes = new ArrayBuffer(total)
  const all = Buffer.from(bytes)
  const n = events.length
  const ends = new Uint32Array(n)
  const times = new Float64Array(n)
  const regions = new Uint16Array(n)
  const sources = new Uint16Array(n)
  const names: string[] = []
  const index = new Map<string, number>()
  const ix = (name: string): number => {
    let i = index.get(name)
    if (i === undefined) {
      index.set(name, (i = names.length))
      names.push(name)
    }
    return i
  }
  let at = 0
  for (let i = 0; i < n; i++) {
    const e = events[i]!
    at += all.write(e.json, at, lengths[i]!, 'utf8')
    ends[i] = at
    times[i] = e.time
    regions[i] = ix(e.region)
    sources[i] = ix(e.eventSource)
  }
  return { bytes, ends, times, names, regions, sources }
}

/**
 * A stored batch's records as subscribers get them: the packed form itself ({@link packDelivered}),
 * read by index, so that taking a batch allocates nothing per record — a subscriber copies the
 * records' bytes it keeps straight from the batch's one buffer ({@link DeliveredBatch.copyJson}).
 */
export class DeliveredBatch {
  readonly length: number
  /** Region and event source names, indexed by {@link regions} and {@link sources}. */
  readonly names: readonly string[]
  readonly times: Float64Array
  readonly regions: Uint16Array
  readonly sources: Uint16Array
  private readonly buf: Buffer
  private readonly ends: Uint32Array

  constructor(p: PackedDelivered) {
    this.length = p.ends.length
    this.names = p.names
    this.times = p.times
    this.regions = p.regions
    this.sources = p.sources
    this.ends = p.ends
    this.buf = Buffer.from(p.bytes)
  }

  /** Where record `i`'s JSON starts in the batch's buffer. */
  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!
  }

  /** Bytes of record `i`'s JSON. */
  byteLength(i: number): number {
    return this.ends[i]! - this.start(i)
  }

  /** Copies record `i`'s JSON into `target` at `at`; returns where it ends. */
  copyJson(i: number, target: Buffer, at: number): number {
    return at + this.buf.copy(target, at, this.start(i), this.ends[i]!)
  }

  /** The records as objects (a view of each JSON): for tests and small consumers. */
  events(): DeliveredEvent[] {
    const out: DeliveredEvent[] = new Array(this.length)
    for (let i = 0; i < this.length; i++) {
      const at = this.start(i)
      out[i] = {
        time: this.times[i]!,
        region: this.names[this.regions[i]!]!,
        eventSource: this.names[this.sources[i]!]!,
        json: this.buf.subarray(at, this.ends[i]!),
      }
    }
    return out
  }
}

export interface EventLogOptions {
  /** Calls buffered at most (default 20,000; counting those handed to the writer and not yet stored). */
  maxPending?: number
  /** Longest wait before a pass when the writer runs in this thread (ms, default 250). */
  flushMs?: number
  /**
   * The same when the writer is a thread of its own (ms, default 20): short, so that the writer
   * works beside the API on the other core rather than after it, and a lookup's flush finds little
   * left to wait for (a pass costs this thread one message).
   */
  threadFlushMs?: number
  /** A pass starts at once when this many calls wait (default 2,000). */
  batchSize?: number
}

export interface EventLogStats {
  recorded: number
  dropped: number
  renderErrors: number
  writeErrors: number
  /** Events the store evicted (cap or age) in the writer thread. */
  evicted: number
  /** Writer threads that failed (the log then writes in its own thread). */
  workerFailures: number
  lastError: string | null
}

/** What one writer pass did. */
export interface BatchResult {
  recorded: number
  renderErrors: number
  writeErrors: number
  lastError: string | null
  /** The stored records, when a subscriber wanted them. */
  delivered: DeliveredBatch | null
}

/** A stored record before it is handed over: its JSON as text. */
export interface StoredRecord {
  time: number
  region: string
  eventSource: string
  json: string
}

/** Renders, serializes and stores a batch (the writer's whole work, in either thread). */
export function storeBatch(
  items: readonly unknown[],
  render: EventRenderer,
  store: EventStore,
  wantDelivered: boolean,
): BatchResult {
  const { result, stored } = storeRecords(items, render, store, wantDelivered)
  result.delivered = stored.length === 0 ? null : new DeliveredBatch(packDelivered(stored))
  return result
}

/** {@link storeBatch}, the records left as text (the writer thread packs them: {@link packDelivered}). */
export function storeRecords(
  items: readonly unknown[],
  render: EventRenderer,
  store: EventStore,
  wantDelivered: boolean,
): { result: BatchResult; stored: StoredRecord[] } {
  const res: BatchResult = { recorded: 0, renderErrors: 0, writeErrors: 0, lastError: null, delivered: null }
  const rows: EventRow[] = []
  const regions: string[] = []
  for (const item of items) {
    let ev: RenderedEvent | undefined
    try {
      ev = render(item)
    } catch (err) {
      res.renderErrors++
      res.lastError = `render: ${(err as Error).message}`
    }
    if (ev === undefined) continue
    const r = ev.record
    regions.push(r.awsRegion)
    rows.push({
      time: ev.time ?? Date.parse(r.eventTime),
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
    store.insert(rows)
    res.recorded = rows.length
  } catch (err) {
    res.writeErrors++
    res.lastError = (err as Error).message
  }
  const stored = !wantDelivered
    ? []
    : rows.map((r, i) => ({ time: r.time, region: regions[i]!, eventSource: r.eventSource, json: r.json }))
  return { result: res, stored }
}

/**
 * Messages of the writer thread's protocol. A batch's encoded calls travel in `chunks` (transferred,
 * not copied; `used` bytes of each hold calls) and come back in `done` to be filled again; its
 * delivered records come back packed.
 */
export type ToWriter =
  | {
      type: 'batch'
      id: number
      /** Calls in the batch (items and encoded). */
      count: number
      items: unknown[]
      chunks: ArrayBuffer[]
      used: number[]
      wantDelivered: boolean
    }
  | { type: 'close'; id: number }
export type FromWriter = {
  type: 'done'
  id: number
  result: Omit<BatchResult, 'delivered'>
  delivered: PackedDelivered | null
  chunks: ArrayBuffer[]
  evicted: number
}

/** The writer thread's start data: where its store is, and the shared word it signals progress in. */
export interface WriterData {
  dataDir: string
  maxEvents: number
  maxAgeDays: number
  /**
   * Int32Array over it: [0] the last batch id done, [1] 1 once closed, [2] 1 once the thread has
   * opened its store (until then, and for good if it never does, calls are stored in the API's thread).
   */
  progress: SharedArrayBuffer
  port: MessagePort
}

/** Calls taken before the writer thread starts (default of {@link EventLog.useWorker}). */
export const WORKER_AFTER = 500

/** How long a synchronous flush waits for the writer thread at most (ms). */
const FLUSH_WAIT_MS = 10_000

interface WriterThread {
  worker: Worker
  port: MessagePort
  progress: Int32Array
  /** Id of the last batch sent. */
  sent: number
  /** Items sent, not yet stored. */
  inFlight: Map<number, number>
}

export class EventLog {
  readonly store: EventStore
  readonly stats: EventLogStats = {
    recorded: 0,
    dropped: 0,
    renderErrors: 0,
    writeErrors: 0,
    evicted: 0,
    workerFailures: 0,
    lastError: null,
  }
  private pending: unknown[] = []
  /** Chunks of encoded calls waiting (the last one being filled), the bytes used of each, and their count. */
  private chunks: Buffer[] = []
  private used: number[] = []
  private encoded = 0
  /** Emptied chunks, for reuse. */
  private readonly free: ArrayBuffer[] = []
  private inFlightItems = 0
  private readonly maxPending: number
  private readonly flushMs: number
  private readonly threadFlushMs: number
  private readonly batchSize: number
  private timer: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null
  private readonly subscribers = new Set<{
    fn: (batch: DeliveredBatch) => void
    wanted: () => boolean
  }>()
  private closed = false
  private render: EventRenderer = (item) => item as RenderedEvent
  private writer: WriterThread | null = null
  private starter: ((data: WriterData, transfer: MessagePort[]) => Worker) | null = null
  private startAfter = 0
  private taken = 0

  constructor(store: EventStore, opts: EventLogOptions = {}) {
    this.store = store
    this.maxPending = opts.maxPending ?? 20_000
    this.flushMs = opts.flushMs ?? 250
    this.threadFlushMs = opts.threadFlushMs ?? 20
    this.batchSize = opts.batchSize ?? 2_000
  }

  /** How taken items become events in this thread (by default they are {@link RenderedEvent}s). */
  useRenderer(render: EventRenderer): void {
    this.render = render
  }

  /**
   * Moves the writer to a worker thread started by `start` with the given {@link WriterData} (its
   * module runs {@link storeBatch} with the same renderer on its own connection to the store's
   * file), once `after` calls were taken. Ignored for an in-memory store or a closed log.
   */
  useWorker(start: (data: WriterData, transfer: MessagePort[]) => Worker, after = WORKER_AFTER): void {
    if (this.store.path === ':memory:') return
    this.starter = start
    this.startAfter = after
    this.maybeStart()
  }

  /** Starts the writer thread once enough calls came (a short-lived server never pays for it). */
  private maybeStart(): void {
    const start = this.starter
    if (start === null || this.closed || this.writer !== null || this.taken < this.startAfter) return
    this.starter = null
    const progress = new SharedArrayBuffer(12)
    const { port1, port2 } = new MessageChannel()
    let worker: Worker
    try {
      worker = start(
        {
          dataDir: this.store.dir!,
          maxEvents: this.store.maxEvents,
          maxAgeDays: this.store.maxAgeMs / 86_400_000,
          progress,
          port: port2,
        },
        [port2],
      )
    } catch (err) {
      this.workerFailed(err)
      return
    }
    const w: WriterThread = {
      worker,
      port: port1,
      progress: new Int32Array(progress),
      sent: 0,
      inFlight: new Map(),
    }
    this.writer = w
    port1.on('message', (m: FromWriter) => this.done(w, m))
    port1.unref()
    worker.unref()
    worker.on('error', (err) => this.workerFailed(err, w))
    worker.on('exit', (code) => {
      if (this.writer === w && !this.closed) this.workerFailed(new Error(`exited with code ${code}`), w)
    })
  }

  /** Takes a call (rendered by the next pass). Never throws, never blocks. */
  add(item: unknown): void {
    if (this.closed || this.waiting >= this.maxPending) {
      this.stats.dropped++
      return
    }
    this.pending.push(item)
    this.took()
  }

  /**
   * Takes a call as bytes, written by `write` (at most `max` bytes) straight into the pending chunk
   * that goes to the writer thread whole — no string or object per call crosses threads. The
   * renderer gets them back as a Uint8Array. Never throws (but what `write` throws), never blocks.
   */
  addBytes(max: number, write: CallWriter): void {
    if (this.closed || this.waiting >= this.maxPending) {
      this.stats.dropped++
      return
    }
    let last = this.chunks.length - 1
    let chunk = this.chunks[last]
    if (chunk === undefined || this.used[last]! + 4 + max > chunk.length) {
      const size = 4 + max > CHUNK_BYTES ? 4 + max : CHUNK_BYTES
      const ab = size === CHUNK_BYTES ? this.free.pop() : undefined
      chunk = Buffer.from(ab ?? new ArrayBuffer(size))
      this.chunks.push(chunk)
      this.used.push(0)
      last++
    }
    const at = this.used[last]!
    const end = write(chunk, at + 4)
    if (end < at + 4 || end > at + 4 + max) throw new RangeError('a call wrote outside its bound')
    chunk.writeUInt32LE(end - at - 4, at)
    this.used[last] = end
    this.encoded++
    this.took()
  }

  /** Counts a taken call and schedules the pass that takes it. */
  private took(): void {
    if (++this.taken === this.startAfter) this.maybeStart()
    if (this.pending.length + this.encoded >= this.batchSize) {
      this.immediate ??= setImmediate(() => {
        this.immediate = null
        this.pass()
      })
    } else if (this.timer === null) {
      this.timer = setTimeout(
        () => {
          this.timer = null
          this.pass()
        },
        this.threaded ? this.threadFlushMs : this.flushMs,
      )
      this.timer.unref()
    }
  }

  /**
   * Calls `fn` with every stored batch (in order) while `wanted` says so (read at each pass: the
   * records are only serialized for, and copied to, a subscriber that wants them). Returns an
   * unsubscribe.
   */
  subscribe(fn: (batch: DeliveredBatch) => void, wanted: () => boolean = () => true): () => void {
    const s = { fn, wanted }
    this.subscribers.add(s)
    return () => this.subscribers.delete(s)
  }

  /** Stores what waits, now: when this returns, every call taken so far is stored (or counted lost). */
  flush(): void {
    this.pass()
    const w = this.writer
    if (w === null || w.sent === 0) return
    const deadline = Date.now() + FLUSH_WAIT_MS
    for (;;) {
      const done = Atomics.load(w.progress, 0)
      if (done >= w.sent) break
      const left = deadline - Date.now()
      if (left <= 0) {
        this.stats.lastError = `the writer thread did not store within ${FLUSH_WAIT_MS} ms`
        break
      }
      Atomics.wait(w.progress, 0, done, left)
    }
    this.drain(w)
  }

  /** True when a writer thread has opened its store and takes the batches. */
  get threaded(): boolean {
    return this.writer !== null && Atomics.load(this.writer.progress, 2) === 1
  }

  /** Calls waiting for the next pass or being written. */
  get waiting(): number {
    return this.pending.length + this.encoded + this.inFlightItems
  }

  /** Stores what waits and stops taking calls (the writer thread closes its store and ends). */
  close(): void {
    this.flush()
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.immediate !== null) clearImmediate(this.immediate)
    this.immediate = null
    this.closed = true
    const w = this.writer
    this.writer = null
    if (w !== null && Atomics.load(w.progress, 2) !== 1) {
      // It never took a batch (still starting, or failed to): nothing to wait for.
      w.port.close()
      void w.worker.terminate()
    } else if (w !== null) {
      w.worker.postMessage({ type: 'close', id: w.sent } satisfies ToWriter)
      const deadline = Date.now() + FLUSH_WAIT_MS
      while (Atomics.load(w.progress, 1) === 0 && Date.now() < deadline)
        Atomics.wait(w.progress, 1, 0, deadline - Date.now())
      this.drain(w)
      w.port.close()
      void w.worker.terminate()
    }
  }

  /** Hands what waits to the writer (or writes it here). */
  private pass(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const batch = this.pending
    const count = batch.length + this.encoded
    if (count === 0) return
    const chunks = this.chunks
    const used = this.used
    this.pending = []
    this.chunks = []
    this.used = []
    this.encoded = 0
    const w = this.writer
    let wantDelivered = false
    for (const s of this.subscribers) if (s.wanted()) wantDelivered = true
    // A thread that has not opened its store yet (or never will: a module that fails to load) gets
    // nothing; what it would have had is stored here, so its failure never loses or delays a call.
    if (w !== null && Atomics.load(w.progress, 2) === 1) {
      const id = ++w.sent
      const buffers = chunks.map((c) => c.buffer as ArrayBuffer)
      try {
        w.worker.postMessage(
          { type: 'batch', id, count, items: batch, chunks: buffers, used, wantDelivered } satisfies ToWriter,
          buffers,
        )
        w.inFlight.set(id, count)
        this.inFlightItems += count
        return
      } catch (err) {
        w.sent--
        this.workerFailed(err, w)
      }
    }
    const items: unknown[] = batch
    let res: BatchResult
    try {
      for (let i = 0; i < chunks.length; i++)
        chunkItems(chunks[i]!.buffer as ArrayBuffer, used[i]!, items as Uint8Array[])
      res = storeBatch(items, this.render, this.store, wantDelivered)
    } catch (err) {
      const lastError = `chunk: ${(err as Error).message}`
      res = { recorded: 0, renderErrors: count, writeErrors: 0, lastError, delivered: null }
    }
    this.recycle(chunks.map((c) => c.buffer as ArrayBuffer))
    this.apply(res)
  }

  /** Keeps emptied chunks for the next calls. */
  private recycle(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers)
      if (b.byteLength === CHUNK_BYTES && this.free.length < MAX_FREE_CHUNKS) this.free.push(b)
  }

  private done(w: WriterThread, m: FromWriter): void {
    const n = w.inFlight.get(m.id)
    if (n !== undefined) {
      w.inFlight.delete(m.id)
      this.inFlightItems -= n
    }
    this.stats.evicted = m.evicted
    this.recycle(m.chunks)
    this.apply({ ...m.result, delivered: m.delivered === null ? null : new DeliveredBatch(m.delivered) })
  }

  /** Takes the writer's answers that wait, synchronously. */
  private drain(w: WriterThread): void {
    for (;;) {
      const m = receiveMessageOnPort(w.port)
      if (m === undefined) break
      this.done(w, m.message as FromWriter)
    }
  }

  private apply(r: BatchResult): void {
    this.stats.recorded += r.recorded
    this.stats.renderErrors += r.renderErrors
    this.stats.writeErrors += r.writeErrors
    if (r.lastError !== null) this.stats.lastError = r.lastError
    const batch = r.delivered
    if (batch === null || batch.length === 0) return
    for (const s of this.subscribers) {
      try {
        s.fn(batch)
      } catch (err) {
        this.stats.lastError = `deliver: ${(err as Error).message}`
      }
    }
  }

  private workerFailed(err: unknown, w?: WriterThread): void {
    this.stats.workerFailures++
    this.stats.lastError = `writer thread: ${(err as Error).message}`
    if (w === undefined || this.writer !== w) return
    this.writer = null
    // What it had not stored is lost: counted, and the log goes on in this thread.
    this.drain(w)
    this.stats.dropped += this.inFlightItems
    this.inFlightItems = 0
    w.inFlight.clear()
    w.port.close()
    void w.worker.terminate()
  }
}
