// SPDX-License-Identifier: Apache-2.0
/**
 * Frames on their way to the pcap rings: one arena for every session, where each frame is copied
 * once, as the pcap record it will be (16-byte header, then at most `snaplen` bytes), with its
 * session slot and time in typed arrays. No allocation per frame, no memory per session.
 *
 * Time order: a frame can reach the target after frames that were received after it (a fragmented
 * datagram is complete only at its last fragment, and goes through a slower path). Records stay in
 * the arena for the reorder window (`reorderMs`, in the stream's own time: the newest frame's time
 * minus the window); `flush` writes those older than that, each session's records sorted by time
 * (stable: already-ordered input costs one comparison per record). When the traffic stops, the next
 * flush writes everything. When the arena is full before the window has passed, the older half goes
 * out early: the window is then shorter than asked (the memory bound wins). A record that still
 * arrives after its session's later records were written is written with their time (see
 * `PcapRing`) and counted as late.
 *
 * Records of a session evicted before they were written are dropped and counted (`evictedFrames`);
 * the slot's generation tells them from the records of the session that took the slot.
 * @module
 */
import { LinkType, newFrameBatch, type FrameBatch } from '../packet/index.ts'
import type { PcapRing } from './pcap-ring.ts'

const RECORD_HEADER = 16
/** Smallest record (header + 14-byte Ethernet header), for the index capacity. */
const MIN_RECORD = 32
/** Bytes received between two flushes before one is made without waiting for the timer. */
const FLUSH_BYTES = 1 << 20
/** Free bytes at the arena's start that make the next record go there (see `place`). */
const WRAP_AT = 2 << 20

/** What the staging needs of its owner. */
export interface RingLookup {
  /** The ring of the session in `slot` if its generation is still `generation`; else null. */
  ringOf(slot: number, generation: number): PcapRing | null
  /**
   * Optional: keep the records of the session in `slot` for a later flush (a pair seen once, too
   * young to be worth a file yet). Not asked when everything must go (stop, full arena).
   */
  hold?: ((slot: number, generation: number, nowSec: number) => boolean) | undefined
  /**
   * Optional: the frames of the session in `slot` just written, in time order, as a batch over the
   * arena (valid during the call; frames cut to the snaplen, `origLens` the wire lengths).
   */
  frames?: ((slot: number, batch: FrameBatch) => void) | undefined
}

export class PcapStaging {
  readonly windowUs: number
  /** Records put back into time order before being written. */
  reordered = 0
  /** Records dropped because their session was evicted before they were written. */
  evictedFrames = 0
  /** Records lost to failed file operations (sum over the rings). */
  lostFrames = 0
  /** Flushes forced by a full arena (the reorder window was cut short). */
  forcedFlushes = 0
  private readonly arena: Uint8Array
  private readonly view: DataView
  private used = 0
  private count = 0
  private readonly cap: number
  private offs: Int32Array
  private lens: Int32Array
  private slots: Int32Array
  private gens: Int32Array
  private ts: Float64Array
  /** Spare index arrays, swapped with the live ones at each flush (compaction without copies). */
  private offs2: Int32Array
  private lens2: Int32Array
  private slots2: Int32Array
  private gens2: Int32Array
  private ts2: Float64Array
  private readonly nextRec: Int32Array
  /** Per record during a flush: 1 = stays in the arena. */
  private readonly keep: Uint8Array
  private readonly order: Int32Array
  private readonly headOf: Int32Array
  private readonly tailOf: Int32Array
  private readonly touched: Int32Array
  /** The frames of one session, over the arena, for `RingLookup.frames`. */
  private readonly batch: FrameBatch
  private newestUs = 0
  private bytesSinceFlush = 0
  private addedSinceFlush = 0

  readonly snaplen: number
  private readonly rings: RingLookup

  constructor(bytes: number, snaplen: number, reorderMs: number, maxSlots: number, rings: RingLookup) {
    this.snaplen = snaplen
    this.rings = rings
    this.arena = new Uint8Array(bytes)
    this.view = new DataView(this.arena.buffer)
    this.windowUs = reorderMs * 1000
    this.cap = Math.floor(bytes / MIN_RECORD)
    const c = this.cap
    this.offs = new Int32Array(c)
    this.lens = new Int32Array(c)
    this.slots = new Int32Array(c)
    this.gens = new Int32Array(c)
    this.ts = new Float64Array(c)
    this.offs2 = new Int32Array(c)
    this.lens2 = new Int32Array(c)
    this.slots2 = new Int32Array(c)
    this.gens2 = new Int32Array(c)
    this.ts2 = new Float64Array(c)
    this.nextRec = new Int32Array(c)
    this.keep = new Uint8Array(c)
    this.order = new Int32Array(c)
    this.headOf = new Int32Array(maxSlots).fill(-1)
    this.tailOf = new Int32Array(maxSlots).fill(-1)
    this.touched = new Int32Array(maxSlots)
    this.batch = newFrameBatch(c, this.arena)
    this.batch.linkTypes.fill(LinkType.Ethernet)
  }

  /** Records waiting. */
  get pending(): number {
    return this.count
  }

  /** Copies one frame `bytes[start, end)` (wire length `origLen`) of the session in `slot`. */
  add(
    bytes: Uint8Array,
    start: number,
    end: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
    slot: number,
    generation: number,
  ): void {
    let incl = end - start
    if (incl > this.snaplen) incl = this.snaplen
    if (origLen < end - start) origLen = end - start
    const need = RECORD_HEADER + incl
    let o = this.place(need)
    if (o < 0) {
      this.makeRoom()
      o = this.place(need)
      if (o < 0) {
        this.flush(Number.POSITIVE_INFINITY, false)
        o = this.place(need)
      }
    }
    const v = this.view
    const usec = Math.floor(tsNsec / 1000)
    v.setUint32(o, tsSec >>> 0, true)
    v.setUint32(o + 4, usec, true)
    v.setUint32(o + 8, incl, true)
    v.setUint32(o + 12, origLen >>> 0, true)
    this.arena.set(bytes.subarray(start, start + incl), o + RECORD_HEADER)
    const i = this.count++
    const us = tsSec * 1e6 + usec
    this.offs[i] = o
    this.lens[i] = need
    this.slots[i] = slot
    this.gens[i] = generation
    this.ts[i] = us
    if (us > this.newestUs) this.newestUs = us
    this.used = o + need
    this.addedSinceFlush++
    this.bytesSinceFlush += need
  }

  /**
   * After each received batch: once 1 MiB has come in since the last flush, writes what the window
   * has passed, so that frames go out while their bytes are still warm in the CPU caches.
   */
  afterBatch(): void {
    if (this.bytesSinceFlush >= FLUSH_BYTES) this.flush(this.newestUs - this.windowUs)
  }

  /** Called every ~100 ms: writes what the reorder window has passed (everything when idle). */
  tick(): void {
    if (this.count === 0) return
    const idle = this.addedSinceFlush === 0
    this.addedSinceFlush = 0
    this.flush(idle ? Number.POSITIVE_INFINITY : this.newestUs - this.windowUs)
  }

  /** Writes every record, held ones included (stop). */
  flushAll(): void {
    this.flush(Number.POSITIVE_INFINITY, false)
  }

  /**
   * Where a record of `need` bytes goes, or -1 if there is no room. The arena is circular: records
   * are appended at `used`, the oldest record kept (in arrival order) bounds the free space, and a
   * record that does not fit before the end goes to the start. Kept records are never moved.
   */
  private place(need: number): number {
    if (this.count === 0) {
      this.used = 0
      return need <= this.arena.length ? 0 : -1
    }
    if (this.count === this.cap) return -1
    const head = this.used
    const tail = this.offs[0] as number
    if (head > tail) {
      // Back to the start as soon as there is room there: the bytes in use stay few and warm in the
      // CPU caches instead of sweeping the whole arena.
      if (tail >= WRAP_AT && need < tail) return 0
      if (head + need <= this.arena.length) return head
      return need < tail ? 0 : -1
    }
    return head + need < tail ? head : -1
  }

  private makeRoom(): void {
    this.forcedFlushes++
    // The older half (by arrival) goes out: cut at the time of the record in the middle.
    const mid = this.ts[this.count >> 1] as number
    this.flush(this.windowUs === 0 ? Number.POSITIVE_INFINITY : mid)
  }

  /** Writes the records with time ≤ `cutoffUs`, each session's in time order; keeps the rest. */
  private flush(cutoffUs: number, holding = true): void {
    const n = this.count
    this.bytesSinceFlush = 0
    if (n === 0) return
    const keep = this.keep
    const hold = holding ? this.rings.hold : undefined
    // "Now" for holding: the stream's time (a target catching up on a backlog must not let every
    // held pair age at once); when the traffic has stopped, the wall clock.
    const holdNow = cutoffUs === Number.POSITIVE_INFINITY ? Date.now() / 1000 : this.newestUs / 1e6
    const ts = this.ts
    const slots = this.slots
    const headOf = this.headOf
    const tailOf = this.tailOf
    const nextRec = this.nextRec
    let nt = 0
    let kept = 0
    // 1. Each session's records, in arrival order, as a linked list; the others are kept.
    for (let i = 0; i < n; i++) {
      if ((ts[i] as number) > cutoffUs) {
        keep[i] = 1
        kept++
        continue
      }
      keep[i] = 0
      const s = slots[i] as number
      nextRec[i] = -1
      if (headOf[s] === -1) {
        headOf[s] = i
        this.touched[nt++] = s
      } else nextRec[tailOf[s] as number] = i
      tailOf[s] = i
    }
    // 2. Per session: check the generation, sort by time, write.
    const order = this.order
    for (let t = 0; t < nt; t++) {
      const s = this.touched[t] as number
      let m = 0
      for (let i = headOf[s] as number; i !== -1; i = nextRec[i] as number) order[m++] = i
      headOf[s] = -1
      tailOf[s] = -1
      // Records of a session evicted since they came are dropped; what is left is the slot's current
      // session's (a slot may have had two sessions since the last flush).
      let ring: PcapRing | null = null
      let g = -1
      let w = 0
      for (let k = 0; k < m; k++) {
        const r = order[k] as number
        const gr = this.gens[r] as number
        if (gr !== g) {
          g = gr
          ring = this.rings.ringOf(s, gr)
        }
        if (ring === null) this.evictedFrames++
        else order[w++] = r
      }
      if (w === 0) continue
      m = w
      const current = this.gens[order[0] as number] as number
      ring = this.rings.ringOf(s, current) as PcapRing
      if (hold !== undefined && hold.call(this.rings, s, current, holdNow)) {
        // Held: the session's records stay for a later flush.
        for (let k = 0; k < m; k++) keep[order[k] as number] = 1
        kept += m
        continue
      }
      this.sortByTime(order, m)
      this.lostFrames += ring.writeRecords(this.arena, this.view, this.offs, this.lens, order, m)
      this.handOver(s, order, m)
    }
    // 3. Keep the records the window has not passed, in arrival order; their bytes stay where they are
    // (the arena is circular), so a record is copied in once and written once.
    if (kept === 0) {
      this.count = 0
      this.used = 0
      return
    }
    let j = 0
    for (let i = 0; i < n; i++) {
      if (keep[i] === 0) continue
      this.offs2[j] = this.offs[i] as number
      this.lens2[j] = this.lens[i] as number
      this.slots2[j] = slots[i] as number
      this.gens2[j] = this.gens[i] as number
      this.ts2[j] = ts[i] as number
      j++
    }
    ;[this.offs, this.offs2] = [this.offs2, this.offs]
    ;[this.lens, this.lens2] = [this.lens2, this.lens]
    ;[this.slots, this.slots2] = [this.slots2, this.slots]
    ;[this.gens, this.gens2] = [this.gens2, this.gens]
    ;[this.ts, this.ts2] = [this.ts2, this.ts]
    this.count = j
  }

  /** Gives the records just written to `RingLookup.frames` as a FrameBatch (times as written). */
  private handOver(slot: number, order: Int32Array, m: number): void {
    const frames = this.rings.frames
    if (frames === undefined) return
    const b = this.batch
    const v = this.view
    for (let k = 0; k < m; k++) {
      const o = this.offs[order[k] as number] as number
      b.starts[k] = o + RECORD_HEADER
      b.ends[k] = o + RECORD_HEADER + v.getUint32(o + 8, true)
      b.origLens[k] = v.getUint32(o + 12, true)
      b.tsSec[k] = v.getUint32(o, true)
      b.tsNsec[k] = v.getUint32(o + 4, true) * 1000
    }
    b.count = m
    frames.call(this.rings, slot, b)
    b.count = 0
  }

  /** Stable insertion sort of record indexes by time; O(m) when already in order. */
  private sortByTime(order: Int32Array, m: number): void {
    const ts = this.ts
    for (let k = 1; k < m; k++) {
      const r = order[k] as number
      const t = ts[r] as number
      let j = k - 1
      if ((ts[order[j] as number] as number) <= t) continue
      while (j >= 0 && (ts[order[j] as number] as number) > t) {
        order[j + 1] = order[j] as number
        j--
      }
      order[j + 1] = r
      this.reordered++
    }
  }
}
