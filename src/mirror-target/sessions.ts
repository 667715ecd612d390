// SPDX-License-Identifier: Apache-2.0
/**
 * The session table: one entry per (VNI, outer source address), bounded, because anyone who can send
 * UDP to the target can make up both numbers.
 *
 * Admission: a pair outside the allow-lists (`--allow-source`, `--allow-vni`) is refused. A new pair
 * with room in the table becomes a session **on probation**. A probation session becomes
 * **established** once its traffic spans `probationSeconds` (a packet at least that long after its
 * first one): a sender must keep a pair alive to hold a place, one datagram is not enough.
 *
 * Eviction, when a new pair finds the table full (`maxSessions`):
 * 1. a probation session seen only once, the oldest first: a pair spoofed once always gives way
 *    before any session that sent twice;
 * 2. then the other probation sessions, swept in order of arrival CLOCK-style: one that had traffic
 *    since the sweep last passed it gets a second chance (moved to the back), the first one without
 *    is evicted;
 * 3. with no probation session, the established session idle longest is evicted if it has been
 *    idle at least `idleSeconds`;
 * 4. otherwise the new pair is refused (counted): established sessions with recent traffic are never
 *    pushed out by newcomers.
 * Evicted sessions lose their frames not yet written (counted by the owner), keep their files on
 * disk (then reclaimed first by the global disk cap), and may come back as new sessions.
 *
 * Costs: a lookup is two Map reads (source, then VNI), no string built; eviction is amortised O(1)
 * (each sweep step either evicts or spends a session's second chance); nothing here touches disk.
 * @module
 */
import type { AllowList } from './allow-list.ts'
import type { DemuxSession } from './ingest.ts'
import type { PcapRing } from './pcap-ring.ts'

/** One mirror session as the target sees it. */
export interface TargetSession extends DemuxSession {
  /** Slot in the table; reused after the session is evicted (see `generation`). */
  readonly index: number
  /** Increments each time the slot gets a new session: tells a slot's sessions apart. */
  readonly generation: number
  readonly vni: number
  /** Outer source address (the mirrored interface's primary address). */
  readonly source: string
  packets: number
  /** Inner frame bytes (Ethernet header included). */
  bytes: number
  /** Seconds since the epoch of the first and last packet received. */
  firstSeen: number
  lastSeen: number
  /** Past probation (see the module comment). */
  established: boolean
  readonly ring: PcapRing
}

/** What the table counts (all since start). */
export interface SessionCounters {
  created: number
  /** Sessions evicted to make room, by the class they were in. */
  evictedProbation: number
  evictedIdle: number
  /** New pairs turned away: the table was full of sessions with recent traffic. */
  refusedFull: number
  /** New pairs turned away by the allow-lists. */
  refusedSource: number
  refusedVni: number
}

/** Makes the session of a new pair in `index` (no I/O: see `PcapRing`). */
export type SessionFactory = (
  index: number,
  generation: number,
  vni: number,
  source: string,
  nowSec: number,
) => TargetSession

const NONE = -1
/**
 * Slots beyond `maxSessions`: a slot freed by an eviction is reused only after the batch being
 * demultiplexed is done (`release()`), so that its frames still point at the evicted session; a
 * batch holds at most a few thousand frames, hence at most that many evictions.
 */
const SLACK = 4096

interface Segment {
  head: number
  tail: number
  size: number
}

export class SessionTable {
  readonly maxSessions: number
  readonly counters: SessionCounters = {
    created: 0,
    evictedProbation: 0,
    evictedIdle: 0,
    refusedFull: 0,
    refusedSource: 0,
    refusedVni: 0,
  }
  private readonly slots: Array<TargetSession | null>
  private readonly generations: Int32Array
  private readonly free: Int32Array
  private freeCount: number
  /** Slots of sessions evicted during the current batch (reused after `release()`). */
  private readonly pendingFree: Int32Array
  private pendingCount = 0
  private live = 0
  /** Physical slots: `maxSessions` plus room for one batch's evictions. */
  readonly slotCount: number
  private readonly bySource = new Map<string, Map<number, TargetSession>>()
  /** Doubly-linked lists of slots, one per segment; `seg[i]`: 0 seen once, 1 probation, 2 established. */
  private readonly next: Int32Array
  private readonly prev: Int32Array
  private readonly seg: Uint8Array
  /** Packet count at the sweep's last visit (second-chance mark). */
  private readonly mark: Float64Array
  private readonly once: Segment = { head: NONE, tail: NONE, size: 0 }
  private readonly probation: Segment = { head: NONE, tail: NONE, size: 0 }
  private readonly established: Segment = { head: NONE, tail: NONE, size: 0 }
  /** Told when a session becomes established. */
  onEstablished: ((s: TargetSession) => void) | null = null
  /** No established session can be idle enough before this second: refuse without a sweep. */
  private noIdleBefore = 0

  private readonly probationSeconds: number
  private readonly idleSeconds: number
  private readonly allow: AllowList
  private readonly make: SessionFactory
  private readonly onEvict: (s: TargetSession) => void

  constructor(
    maxSessions: number,
    probationSeconds: number,
    idleSeconds: number,
    allow: AllowList,
    make: SessionFactory,
    onEvict: (s: TargetSession) => void,
  ) {
    this.probationSeconds = probationSeconds
    this.idleSeconds = idleSeconds
    this.allow = allow
    this.make = make
    this.onEvict = onEvict
    this.maxSessions = maxSessions
    const n = maxSessions + SLACK
    this.slotCount = n
    this.slots = new Array<TargetSession | null>(n).fill(null)
    this.generations = new Int32Array(n)
    this.free = new Int32Array(n)
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i
    this.freeCount = n
    this.pendingFree = new Int32Array(n)
    this.next = new Int32Array(n).fill(NONE)
    this.prev = new Int32Array(n).fill(NONE)
    this.seg = new Uint8Array(n)
    this.mark = new Float64Array(n)
  }

  /** Live sessions. */
  get size(): number {
    return this.live
  }

  /** Established sessions. */
  get establishedCount(): number {
    return this.established.size
  }

  /** Makes the slots of sessions evicted since the last call reusable (after each batch). */
  release(): void {
    for (let i = 0; i < this.pendingCount; i++) this.free[this.freeCount++] = this.pendingFree[i] as number
    this.pendingCount = 0
  }

  /** The session in `slot`, or null. */
  at(slot: number): TargetSession | null {
    return this.slots[slot] ?? null
  }

  /** Current generation of `slot` (compare with a session's `generation`). */
  generationOf(slot: number): number {
    return this.generations[slot] as number
  }

  /** Live sessions in slot order. */
  list(): TargetSession[] {
    const out: TargetSession[] = []
    for (const s of this.slots) if (s !== null) out.push(s)
    return out
  }

  /** The session of (vni, source), created if allowed and there is (or can be made) room; else null. */
  lookup(vni: number, source: string, nowSec: number): TargetSession | null {
    const byVni = this.bySource.get(source)
    const s = byVni?.get(vni)
    if (s !== undefined) return s
    if (!this.allow.vniAllowed(vni)) {
      this.counters.refusedVni++
      return null
    }
    if (!this.allow.sourceAllowed(source)) {
      this.counters.refusedSource++
      return null
    }
    if ((this.live >= this.maxSessions && !this.evictOne(nowSec)) || this.freeCount === 0) {
      this.counters.refusedFull++
      return null
    }
    this.live++
    const slot = this.free[--this.freeCount] as number
    const gen = ((this.generations[slot] as number) + 1) | 0
    this.generations[slot] = gen
    const created = this.make(slot, gen, vni, source, nowSec)
    this.slots[slot] = created
    this.mark[slot] = 0
    this.append(this.once, slot, 0)
    if (byVni === undefined) this.bySource.set(source, new Map([[vni, created]]))
    else byVni.set(vni, created)
    this.counters.created++
    if (this.probationSeconds === 0) this.promote(slot)
    return created
  }

  /**
   * Moves probation sessions whose traffic now spans the probation time to the established
   * segment. Called about once a second (cost: the probation sessions).
   */
  tick(): void {
    for (const g of [this.once, this.probation]) {
      let i = g.head
      while (i !== NONE) {
        const nxt = this.next[i] as number
        const s = this.slots[i] as TargetSession
        if (s.packets > 1 && s.lastSeen - s.firstSeen >= this.probationSeconds) this.promote(i)
        i = nxt
      }
    }
  }

  /** Evicts every session (stop): the owner writes out what it holds before calling this. */
  clear(): void {
    for (let i = 0; i < this.slotCount; i++) if (this.slots[i] !== null) this.evict(i)
    this.release()
  }

  private promote(slot: number): void {
    this.unlink(slot)
    this.append(this.established, slot, 2)
    const s = this.slots[slot] as TargetSession
    s.established = true
    this.onEstablished?.(s)
  }

  private evictOne(nowSec: number): boolean {
    // 1. Sessions seen once, oldest first (those seen again since move on to probation).
    while (this.once.size > 0) {
      const i = this.once.head
      const s = this.slots[i] as TargetSession
      if (s.packets > 1) {
        this.unlink(i)
        this.mark[i] = s.packets
        this.append(this.probation, i, 1)
        continue
      }
      this.evict(i)
      this.counters.evictedProbation++
      return true
    }
    // 2. Probation, CLOCK sweep: at most one full turn of second chances, then an eviction.
    let turns = this.probation.size
    while (this.probation.size > 0) {
      const i = this.probation.head
      const s = this.slots[i] as TargetSession
      if (turns > 0 && s.packets > (this.mark[i] as number)) {
        this.mark[i] = s.packets
        this.unlink(i)
        this.append(this.probation, i, 1)
        turns--
        continue
      }
      this.evict(i)
      this.counters.evictedProbation++
      return true
    }
    // 3. The established session idle longest, if idle long enough.
    if (nowSec < this.noIdleBefore) return false
    let victim = NONE
    let oldest = Number.POSITIVE_INFINITY
    for (let i = this.established.head; i !== NONE; i = this.next[i] as number) {
      const last = (this.slots[i] as TargetSession).lastSeen
      if (last < oldest) {
        oldest = last
        victim = i
      }
    }
    if (victim !== NONE && nowSec - oldest >= this.idleSeconds) {
      this.evict(victim)
      this.counters.evictedIdle++
      return true
    }
    // Nothing can become idle enough before the oldest one's deadline (re-checked then).
    this.noIdleBefore = victim === NONE ? nowSec + 1 : oldest + this.idleSeconds
    return false
  }

  private evict(slot: number): void {
    const s = this.slots[slot] as TargetSession
    this.unlink(slot)
    this.slots[slot] = null
    this.pendingFree[this.pendingCount++] = slot
    this.live--
    const byVni = this.bySource.get(s.source)
    if (byVni !== undefined) {
      byVni.delete(s.vni)
      if (byVni.size === 0) this.bySource.delete(s.source)
    }
    this.onEvict(s)
  }

  private append(g: Segment, slot: number, which: number): void {
    this.seg[slot] = which
    this.prev[slot] = g.tail
    this.next[slot] = NONE
    if (g.tail === NONE) g.head = slot
    else this.next[g.tail] = slot
    g.tail = slot
    g.size++
  }

  private unlink(slot: number): void {
    const w = this.seg[slot]
    const g = w === 0 ? this.once : w === 1 ? this.probation : this.established
    const p = this.prev[slot] as number
    const n = this.next[slot] as number
    if (p === NONE) g.head = n
    else this.next[p] = n
    if (n === NONE) g.tail = p
    else this.prev[n] = p
    this.prev[slot] = NONE
    this.next[slot] = NONE
    g.size--
  }
}
