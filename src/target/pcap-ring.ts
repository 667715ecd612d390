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

  /** Appends one inner frame; rotates first when a limit is reached. */
  write(bytes: Uint8Array, start: number, end: number, tsSec: number, tsNsec: number): void {
    if (
      this.writer === null ||
      this.currentBytes >= this.cfg.maxFileBytes ||
      tsSec - this.currentStartSec >= this.cfg.maxFileSeconds
    ) {
      this.rotate(tsSec)
    }
    ;(this.writer as PcapWriter).write(bytes, start, end, end - start, tsSec, tsNsec)
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
    if (this.writer === null) return
    void this.writer.close()
    this.writer = null
  }

  /** Writes buffered frames to the current file (the target calls this every ~100 ms). */
  flush(): void {
    if (this.writer !== null) void this.writer.flush()
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
