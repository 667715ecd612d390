// SPDX-License-Identifier: Apache-2.0
/**
 * A rotating ring of pcap files for one mirror session: the current file is rotated when it holds
 * `maxFileBytes` or has been open `maxFileSeconds`, and only the newest `keepFiles` files are kept.
 * Files are named `<base>-<seq>-<UTC time of the first frame>.pcap`, with `seq` a 6-digit counter
 * that continues across restarts, so `ls` order is time order.
 * @module
 */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { LinkType, PcapWriter } from '../packet/index.ts'
import type { PcapRingConfig } from './config.ts'
import { TargetWriteError } from './errors.ts'

const PCAP_HEADER = 24
const RECORD_HEADER = 16

function stamp(tsSec: number): string {
  return new Date(tsSec * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

export class PcapRing {
  readonly dir: string
  readonly base: string
  private readonly cfg: PcapRingConfig
  private writer: PcapWriter | null = null
  private currentPath: string | null = null
  private currentBytes = 0
  private currentStartSec = 0
  private seq = 0
  /** Paths of the files kept, oldest first (the current one last). */
  private kept: string[] = []
  /** Files deleted by retention since the ring was opened. */
  deletedFiles = 0
  /**
   * Failed opens, writes, flushes and closes of the ring's files (disk full, I/O error). The frames
   * involved are lost; the first failure is reported once on stderr as `MF_TARGET_WRITE`.
   */
  writeErrors = 0
  private reported = false

  constructor(dir: string, base: string, cfg: PcapRingConfig) {
    this.dir = dir
    this.base = base
    this.cfg = cfg
    mkdirSync(dir, { recursive: true })
    // Continue a previous run's ring: its files count towards retention and its numbering goes on.
    const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{6})-[0-9TZ]+\\.pcap$`)
    const old: Array<[number, string]> = []
    for (const name of readdirSync(dir)) {
      const m = re.exec(name)
      if (m) old.push([Number(m[1]), join(dir, name)])
    }
    old.sort((a, b) => a[0] - b[0])
    this.kept = old.map((o) => o[1])
    if (old.length > 0) this.seq = (old[old.length - 1] as [number, string])[0] + 1
  }

  /**
   * Appends one inner frame `bytes[start, end)` whose original (wire) length was `origLen` — more
   * than `end - start` when the capture that received it cut it short; rotates first when a limit is
   * reached. A failed write is counted in `writeErrors`, never thrown.
   */
  write(bytes: Uint8Array, start: number, end: number, origLen: number, tsSec: number, tsNsec: number): void {
    try {
      if (
        this.writer === null ||
        this.currentBytes >= this.cfg.maxFileBytes ||
        tsSec - this.currentStartSec >= this.cfg.maxFileSeconds
      ) {
        this.rotate(tsSec)
      }
      ;(this.writer as PcapWriter).write(bytes, start, end, origLen, tsSec, tsNsec)
    } catch (e) {
      this.onWriteError(e)
      return
    }
    const incl = end - start < this.cfg.snaplen ? end - start : this.cfg.snaplen
    this.currentBytes += RECORD_HEADER + incl
  }

  private rotate(tsSec: number): void {
    this.closeCurrent()
    const path = join(this.dir, `${this.base}-${String(this.seq).padStart(6, '0')}-${stamp(tsSec)}.pcap`)
    this.seq++
    this.writer = new PcapWriter(path, {
      linkType: LinkType.Ethernet,
      snaplen: this.cfg.snaplen,
      nanosecond: false,
    })
    this.currentPath = path
    this.currentBytes = PCAP_HEADER
    this.currentStartSec = tsSec
    this.kept.push(path)
    while (this.kept.length > this.cfg.keepFiles) {
      const victim = this.kept.shift() as string
      try {
        unlinkSync(victim)
        this.deletedFiles++
      } catch {
        // Already removed by an operator: nothing to keep track of.
      }
    }
  }

  private closeCurrent(): void {
    const w = this.writer
    if (w === null) return
    this.writer = null
    w.close().catch((e: unknown) => this.onWriteError(e))
  }

  /** Writes buffered frames to the current file (the target calls this every ~100 ms). */
  flush(): void {
    if (this.writer !== null) this.writer.flush().catch((e: unknown) => this.onWriteError(e))
  }

  /** Counts a failed file operation; the first one is reported on stderr. */
  private onWriteError(e: unknown): void {
    this.writeErrors++
    if (this.reported) return
    this.reported = true
    const err = new TargetWriteError(
      `pcap ring ${this.dir}: ${(e as Error).message} (frames are lost; further errors are only counted)`,
      { cause: e },
    )
    process.stderr.write(`mirrorflow target: ${err.code}: ${err.message}\n`)
  }

  /** The file being written, or null before the first frame. */
  get current(): string | null {
    return this.currentPath
  }

  /** Files kept, oldest first, with their sizes on disk. */
  files(): Array<{ path: string; bytes: number }> {
    const out: Array<{ path: string; bytes: number }> = []
    for (const p of this.kept) {
      try {
        out.push({ path: p, bytes: statSync(p).size })
      } catch {
        // deleted under us
      }
    }
    return out
  }

  close(): void {
    this.closeCurrent()
  }
}
