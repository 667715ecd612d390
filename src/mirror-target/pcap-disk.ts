// SPDX-License-Identifier: Apache-2.0
/**
 * What all sessions' pcap files share: the disk budget (`maxTotalBytes`, `maxTotalFiles` over every
 * file under `pcap/`, kept or left by a previous run), the descriptor budget (`maxOpenFiles` files
 * open at once; the least recently written is closed first and reopened for appending when its
 * session writes again), the file numbering of each session directory, and the count of failed file
 * operations by error code (`EMFILE`, `ENOSPC`, `ENAMETOOLONG`, …), none of which is ever thrown.
 *
 * Reclaiming space: files of sessions that are gone (evicted, or from a previous run) go first,
 * oldest first; then the oldest file of any live session. A directory left empty by a session that
 * is gone is removed. The directory tree is read once, at start; after that the ledger knows every
 * file, so a new session costs no directory read.
 * @module
 */
import { closeSync, openSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { FileIndex } from './pcap-index.ts'

/** A kept pcap file. */
export interface PcapFile {
  readonly path: string
  readonly dir: string
  bytes: number
  /** The ring holding it, or null once its session is gone. */
  owner: FileOwner | null
  deleted: boolean
  /** Times and flows written to it (pcap-index.ts); absent for files an earlier run left. */
  index?: FileIndex
}

/** What the ledger needs of a ring. */
export interface FileOwner {
  /** The ledger deleted `f` (global cap); if it is the file being written, stop writing it. */
  onDeleted(f: PcapFile): void
  /** The descriptor budget closes this ring's file (it reopens it for appending later). */
  closeFd(): void
}

/** Session directory name: `vni-<VNI>_<source>` (`:` of IPv6 as `-`). */
export function sessionDirName(vni: number, source: string): string {
  return `vni-${vni}_${source.replace(/:/g, '-')}`
}

const DIR_RE = /^vni-\d{1,8}_[0-9a-fA-F.-]{1,64}$/
const FILE_RE = /^(vni-\d{1,8}_[0-9a-fA-F.-]{1,64})-(\d{6,})-[0-9TZ]+\.pcap$/

/** First-in first-out queue of files with lazy removal (entries that moved or were deleted are skipped). */
class FileQueue {
  private items: PcapFile[] = []
  private head = 0
  push(f: PcapFile): void {
    this.items.push(f)
  }
  /** The oldest entry satisfying `live`, removed; or null. */
  shift(live: (f: PcapFile) => boolean): PcapFile | null {
    while (this.head < this.items.length) {
      const f = this.items[this.head++] as PcapFile
      if (live(f)) {
        this.compact()
        return f
      }
    }
    this.compact()
    return null
  }
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

export class PcapDisk {
  readonly root: string
  totalBytes = 0
  totalFiles = 0
  /** Files deleted to stay under the global caps. */
  reclaimedFiles = 0
  /** Failed file operations by error code (`EMFILE`, `ENOSPC`, `ENAMETOOLONG`, …). */
  readonly errors: Record<string, number> = {}
  private readonly live = new FileQueue()
  private readonly orphans = new FileQueue()
  /** Every file not deleted. */
  private readonly kept = new Set<PcapFile>()
  /** Files of directories whose session is gone, by directory, for a session that comes back. */
  private readonly orphansByDir = new Map<string, PcapFile[]>()
  private readonly nextSeq = new Map<string, number>()
  private readonly filesInDir = new Map<string, number>()
  private readonly activeDirs = new Set<string>()
  /** Rings holding a descriptor, least recently written first (Map order). */
  private readonly open = new Map<FileOwner, true>()
  private readonly firstError = new Set<string>()

  readonly maxTotalBytes: number
  readonly maxTotalFiles: number
  readonly maxOpenFiles: number
  /** Told once per error code (its first occurrence). */
  private readonly report: (code: string, message: string) => void

  constructor(
    root: string,
    maxTotalBytes: number,
    maxTotalFiles: number,
    maxOpenFiles: number,
    report: (code: string, message: string) => void,
  ) {
    this.root = root
    this.maxTotalBytes = maxTotalBytes
    this.maxTotalFiles = maxTotalFiles
    this.maxOpenFiles = maxOpenFiles
    this.report = report
  }

  /** Reads what earlier runs left under the root (once, at start) and applies the caps. */
  scan(): void {
    let dirs: string[]
    try {
      dirs = readdirSync(this.root)
    } catch (err) {
      this.fail(err, `cannot read ${this.root}`)
      return
    }
    const found: Array<{ f: PcapFile; seq: number; mtime: number }> = []
    for (const d of dirs) {
      if (!DIR_RE.test(d)) continue
      let names: string[]
      try {
        names = readdirSync(join(this.root, d))
      } catch {
        continue
      }
      for (const n of names) {
        const m = FILE_RE.exec(n)
        if (m === null || m[1] !== d) continue
        const path = join(this.root, d, n)
        try {
          const st = statSync(path)
          if (!st.isFile()) continue
          found.push({
            f: { path, dir: d, bytes: st.size, owner: null, deleted: false },
            seq: Number(m[2]),
            mtime: st.mtimeMs,
          })
        } catch {
          continue
        }
      }
    }
    found.sort((a, b) => a.mtime - b.mtime || a.seq - b.seq)
    for (const { f, seq } of found) {
      this.account(f)
      this.orphans.push(f)
      const list = this.orphansByDir.get(f.dir)
      if (list === undefined) this.orphansByDir.set(f.dir, [f])
      else list.push(f)
      if (seq + 1 > (this.nextSeq.get(f.dir) ?? 0)) this.nextSeq.set(f.dir, seq + 1)
    }
    this.enforce()
  }

  /** A ring starts using `dir`: returns the files an earlier session left there (oldest first). */
  attach(dir: string): PcapFile[] {
    this.activeDirs.add(dir)
    const old = this.orphansByDir.get(dir)
    if (old === undefined) return []
    this.orphansByDir.delete(dir)
    const kept = old.filter((f) => !f.deleted)
    for (const f of kept) {
      // Re-queued as a live file: the orphan queue's entry is skipped because it has an owner now.
      this.live.push(f)
    }
    return kept
  }

  /**
   * A ring's session is gone: its files become the first to be reclaimed. `madeDir`: the ring
   * created the directory (else there is nothing to remove, and no system call is spent on it).
   */
  detach(dir: string, files: readonly PcapFile[], owner: FileOwner, madeDir: boolean): void {
    this.activeDirs.delete(dir)
    this.open.delete(owner)
    const kept: PcapFile[] = []
    for (const f of files) {
      if (f.deleted) continue
      f.owner = null
      this.orphans.push(f)
      kept.push(f)
    }
    if (kept.length > 0) this.orphansByDir.set(dir, kept)
    else if (madeDir || this.filesInDir.has(dir)) this.removeDirIfEmpty(dir)
  }

  /** The next file number in `dir` (continues across restarts). */
  takeSeq(dir: string): number {
    const n = this.nextSeq.get(dir) ?? 0
    this.nextSeq.set(dir, n + 1)
    return n
  }

  /** A new file exists (its header written). */
  added(f: PcapFile): void {
    this.account(f)
    this.live.push(f)
  }

  /** `n` more bytes were written to `f`. */
  grew(f: PcapFile, n: number): void {
    f.bytes += n
    this.totalBytes += n
  }

  /** Deletes one file (retention or cap); true if it is gone. */
  remove(f: PcapFile): void {
    if (f.deleted) return
    try {
      unlinkSync(f.path)
    } catch (err) {
      // Already removed by an operator: nothing to keep track of; anything else is counted.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.fail(err, `cannot delete ${f.path}`)
    }
    f.deleted = true
    this.kept.delete(f)
    this.totalBytes -= f.bytes
    this.totalFiles--
    const left = (this.filesInDir.get(f.dir) ?? 1) - 1
    if (left > 0) this.filesInDir.set(f.dir, left)
    else {
      this.filesInDir.delete(f.dir)
      if (!this.activeDirs.has(f.dir)) this.removeDirIfEmpty(f.dir)
    }
  }

  /** Deletes files until both global caps hold (gone sessions' files first, then the oldest). */
  enforce(): void {
    while (this.totalBytes > this.maxTotalBytes || this.totalFiles > this.maxTotalFiles) {
      const f =
        this.orphans.shift((x) => !x.deleted && x.owner === null) ??
        this.live.shift((x) => !x.deleted && x.owner !== null)
      if (f === null) return
      const owner = f.owner
      this.remove(f)
      this.reclaimedFiles++
      owner?.onDeleted(f)
    }
  }

  /**
   * Opens `path` for `owner` (`w`: new file, `a`: reopen), closing the least recently written
   * file first when the descriptor budget is used up, and once more if the system says EMFILE or
   * ENFILE. Returns the descriptor, or -1 after counting the failure.
   */
  openFor(owner: FileOwner, path: string, flags: 'w' | 'a'): number {
    while (this.open.size >= this.maxOpenFiles) this.closeLeastRecent()
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(path, flags)
        this.open.set(owner, true)
        return fd
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (attempt === 0 && (code === 'EMFILE' || code === 'ENFILE') && this.open.size > 0) {
          // Counted although the retry may succeed: the budget is above what the system allows.
          this.fail(err, `cannot open ${path} (closing the least recently written file and retrying)`)
          this.closeLeastRecent()
          continue
        }
        this.fail(err, `cannot open ${path}`)
        return -1
      }
    }
  }

  /** `owner` wrote: it becomes the most recently used. */
  touch(owner: FileOwner): void {
    this.open.delete(owner)
    this.open.set(owner, true)
  }

  /** `owner` closed its descriptor itself. */
  closed(owner: FileOwner): void {
    this.open.delete(owner)
  }

  get openFiles(): number {
    return this.open.size
  }

  /** Closes a descriptor without throwing (counted). */
  closeFd(fd: number, path: string): void {
    try {
      closeSync(fd)
    } catch (err) {
      this.fail(err, `cannot close ${path}`)
    }
  }

  /** Counts a failed file operation by its code; the first of each code is reported. */
  fail(err: unknown, what: string): void {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    const key = /^E[A-Z0-9]{1,15}$/.test(code) ? code : 'other'
    this.errors[key] = (this.errors[key] ?? 0) + 1
    if (this.firstError.has(key)) return
    this.firstError.add(key)
    this.report(key, `${what}: ${(err as Error).message}`)
  }

  private closeLeastRecent(): void {
    const first = this.open.keys().next()
    if (first.done === true) return
    this.open.delete(first.value)
    first.value.closeFd()
  }

  /** Every file kept (not deleted), for packet extraction. */
  files(): IterableIterator<PcapFile> {
    return this.kept.values()
  }

  private account(f: PcapFile): void {
    this.kept.add(f)
    this.totalBytes += f.bytes
    this.totalFiles++
    this.filesInDir.set(f.dir, (this.filesInDir.get(f.dir) ?? 0) + 1)
  }

  private removeDirIfEmpty(dir: string): void {
    if (this.activeDirs.has(dir) || (this.filesInDir.get(dir) ?? 0) > 0) return
    this.orphansByDir.delete(dir)
    try {
      rmdirSync(join(this.root, dir))
      this.nextSeq.delete(dir)
    } catch {
      // Not empty (an operator's file) or never made: leave it.
    }
  }
}
