// SPDX-License-Identifier: Apache-2.0
/**
 * A rotating ring of pcap files for one mirror session: the current file is rotated when it holds
 * `maxFileBytes` or has been open `maxFileSeconds`, and only the newest `keepFiles` files are kept.
 * Files are named `<base>-<seq>-<UTC time of the first frame>.pcap`, with `seq` a 6-digit counter
 * that continues across restarts, so `ls` order is time order.
 *
 * A ring does nothing on disk until it has frames to write: its directory is made and its file
 * opened at the first write (`PcapStaging` writes every ~100 ms), so a session costs no system call
 * to create. Descriptors, disk space and file numbers are shared through `PcapDisk`. Frames arrive
 * as pcap records already built in the staging arena, in time order; a record older than the last
 * one written (it came later than the reorder window) is written with the last one's time, so the
 * file stays in time order, and counted in `late`.
 * @module
 */
import { mkdirSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { LinkType } from '../packet/index.ts'
import type { PcapRingConfig } from './config.ts'
import type { FileOwner, PcapDisk, PcapFile } from './pcap-disk.ts'
import { frameFlowHash, indexFrame, newFileIndex } from './pcap-index.ts'

const PCAP_HEADER = 24
const RECORD_HEADER = 16
/** One output buffer for all rings (a ring fills and drains it within one `writeRecords` call). */
const OUT = new Uint8Array(1 << 20)

function stamp(tsSec: number): string {
  return new Date(tsSec * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

export class PcapRing implements FileOwner {
  /** Directory name under the pcap root (`vni-<VNI>_<source>`), also the file names' base. */
  readonly name: string
  private readonly disk: PcapDisk
  private readonly cfg: PcapRingConfig
  private fd = -1
  private cur: PcapFile | null = null
  private curStartSec = 0
  private dirMade = false
  /** Files kept, oldest first (the current one last). */
  private kept: PcapFile[] = []
  /** Time (µs) of the last record written. */
  private lastUs = -1
  /** Records (frames) whose file operation failed; they are lost. */
  lost = 0
  /** Records written with a raised time because they arrived after the reorder window. */
  late = 0
  /** Failed opens, writes and closes of this ring's files. */
  writeErrors = 0
  private outUsed = 0
  private outRecords = 0
  /** A run of records contiguous in the arena, written with one call (`runEnd === runStart`: none). */
  private runStart = 0
  private runEnd = 0
  private runRecords = 0

  constructor(disk: PcapDisk, name: string, cfg: PcapRingConfig) {
    this.disk = disk
    this.name = name
    this.cfg = cfg
    this.kept = disk.attach(name)
    for (const f of this.kept) f.owner = this
  }

  get dir(): string {
    return join(this.disk.root, this.name)
  }

  /** The file being written, or null. */
  get current(): string | null {
    return this.cur === null ? null : this.cur.path
  }

  /** Files kept, oldest first, with their sizes (from the ledger: no system call). */
  files(): Array<{ path: string; bytes: number }> {
    return this.kept.map((f) => ({ path: f.path, bytes: f.bytes }))
  }

  /**
   * Writes the records `arena[offs[order[k]], + lens[order[k]])` for k < n, in that order (pcap
   * records: 16-byte header, then the bytes). Returns how many were lost to a failed file operation.
   */
  writeRecords(
    arena: Uint8Array,
    view: DataView,
    offs: Int32Array,
    lens: Int32Array,
    order: Int32Array,
    n: number,
  ): number {
    const lostBefore = this.lost
    let failedOpen = false
    for (let k = 0; k < n; k++) {
      const r = order[k] as number
      const off = offs[r] as number
      const len = lens[r] as number
      if (failedOpen) {
        this.lost++
        continue
      }
      let sec = view.getUint32(off, true)
      const us = sec * 1e6 + view.getUint32(off + 4, true)
      const written = us < this.lastUs ? this.lastUs : us
      if (us < this.lastUs) {
        sec = Math.floor(this.lastUs / 1e6)
        view.setUint32(off, sec, true)
        view.setUint32(off + 4, this.lastUs - sec * 1e6, true)
        this.late++
      } else this.lastUs = us
      const pending = (this.cur?.bytes ?? 0) + this.outUsed + (this.runEnd - this.runStart)
      if (
        this.cur === null ||
        pending >= this.cfg.maxFileBytes ||
        sec - this.curStartSec >= this.cfg.maxFileSeconds
      ) {
        this.flushRun(arena)
        this.drain()
        if (!this.rotate(sec)) {
          failedOpen = true
          this.lost++
          continue
        }
      } else if (this.fd < 0 && !this.reopen()) {
        failedOpen = true
        this.lost++
        continue
      }
      // The file's index: its time span and the record's flow (pcap-index.ts).
      const frame = off + RECORD_HEADER
      indexFrame(
        (this.cur as PcapFile).index!,
        frameFlowHash(view, arena, frame, frame + view.getUint32(off + 8, true)),
        written,
      )
      // Records that follow each other in the arena are written straight from it, in one call.
      if (this.runEnd > this.runStart && off === this.runEnd) {
        this.runEnd += len
        this.runRecords++
        continue
      }
      this.flushRun(arena)
      this.drain() // a new file's header goes first
      this.runStart = off
      this.runEnd = off + len
      this.runRecords = 1
    }
    this.flushRun(arena)
    this.drain()
    if (this.fd >= 0) this.disk.touch(this)
    return this.lost - lostBefore
  }

  /** Writes the pending run of records straight from the arena; on failure they are lost and counted. */
  private flushRun(arena: Uint8Array): void {
    const start = this.runStart
    const end = this.runEnd
    const records = this.runRecords
    this.runStart = 0
    this.runEnd = 0
    this.runRecords = 0
    if (end === start) return
    if (this.fd < 0 || this.cur === null) {
      this.lost += records
      return
    }
    let off = start
    try {
      while (off < end) off += writeSync(this.fd, arena, off, end - off)
    } catch (err) {
      this.writeErrors++
      this.lost += records
      this.disk.fail(err, `cannot write ${this.cur.path}`)
    }
    this.disk.grew(this.cur, off - start)
  }

  /** Hands OUT to the file; on failure its records are lost and counted. */
  private drain(): void {
    if (this.outUsed === 0) return
    const used = this.outUsed
    const records = this.outRecords
    this.outUsed = 0
    this.outRecords = 0
    if (this.fd < 0 || this.cur === null) {
      this.lost += records
      return
    }
    let off = 0
    try {
      while (off < used) off += writeSync(this.fd, OUT, off, used - off)
    } catch (err) {
      this.writeErrors++
      this.lost += records
      this.disk.fail(err, `cannot write ${this.cur.path}`)
    }
    this.disk.grew(this.cur, off)
  }

  /** Starts a new file at `sec`; false (counted) if it cannot be made. */
  private rotate(sec: number): boolean {
    this.closeCurrentFd()
    this.cur = null
    if (!this.dirMade) {
      try {
        mkdirSync(this.dir, { recursive: true })
        this.dirMade = true
      } catch (err) {
        this.writeErrors++
        this.disk.fail(err, `cannot make ${this.dir}`)
        return false
      }
    }
    const seq = this.disk.takeSeq(this.name)
    const path = join(this.dir, `${this.name}-${String(seq).padStart(6, '0')}-${stamp(sec)}.pcap`)
    const fd = this.disk.openFor(this, path, 'w')
    if (fd < 0) {
      this.writeErrors++
      return false
    }
    this.fd = fd
    const f: PcapFile = { path, dir: this.name, bytes: 0, owner: this, deleted: false, index: newFileIndex() }
    this.cur = f
    this.curStartSec = sec
    this.disk.added(f)
    this.kept.push(f)
    const v = new DataView(OUT.buffer, OUT.byteOffset)
    v.setUint32(0, 0xa1b2c3d4, true)
    v.setUint16(4, 2, true)
    v.setUint16(6, 4, true)
    v.setInt32(8, 0, true)
    v.setUint32(12, 0, true)
    v.setUint32(16, this.cfg.snaplen, true)
    v.setUint32(20, LinkType.Ethernet, true)
    this.outUsed = PCAP_HEADER
    this.outRecords = 0
    while (this.kept.length > this.cfg.keepFiles) this.disk.remove(this.kept.shift() as PcapFile)
    return true
  }

  /** The descriptor budget closed our file earlier: reopen it for appending. */
  private reopen(): boolean {
    const f = this.cur as PcapFile
    const fd = this.disk.openFor(this, f.path, 'a')
    if (fd < 0) {
      this.writeErrors++
      return false
    }
    this.fd = fd
    return true
  }

  private closeCurrentFd(): void {
    if (this.fd < 0) return
    const fd = this.fd
    this.fd = -1
    this.disk.closed(this)
    this.disk.closeFd(fd, this.cur?.path ?? this.dir)
  }

  /** FileOwner: the descriptor budget takes our descriptor back. */
  closeFd(): void {
    if (this.fd < 0) return
    const fd = this.fd
    this.fd = -1
    this.disk.closeFd(fd, this.cur?.path ?? this.dir)
  }

  /** FileOwner: the ledger deleted `f` to stay under the global caps. */
  onDeleted(f: PcapFile): void {
    this.kept = this.kept.filter((k) => k !== f)
    if (f === this.cur) {
      this.closeCurrentFd()
      this.cur = null
    }
  }

  /** Closes the current file (stop). The ring may write again later (a new file). */
  close(): void {
    this.closeCurrentFd()
    this.cur = null
  }

  /** The session is gone: closes, and hands the files to the ledger as reclaimable. */
  detach(): void {
    this.close()
    this.disk.detach(this.name, this.kept, this, this.dirMade)
    this.kept = []
  }

  /** Bytes of record overhead per frame (for callers sizing buffers). */
  static readonly RECORD_HEADER = RECORD_HEADER
}
