// SPDX-License-Identifier: Apache-2.0
/**
 * Packets on demand: the frames of one flow (a 5-tuple, both directions) within a time range, out
 * of every session's pcap ring, as one pcap file in time order. The ring's index (pcap-index.ts)
 * says which files may hold them; only those are read, in 4 MiB chunks, asynchronously (the target
 * keeps receiving meanwhile); each record is matched on its addresses, ports and protocol in place.
 *
 * When nothing matches and the range starts before the oldest frame any ring still holds, the
 * answer says so (`noLongerHeld`), so that the caller can tell "rotated away" from "never mirrored".
 * @module
 */
import { open } from 'node:fs/promises'
import { isIP } from 'node:net'
import type { PcapDisk, PcapFile } from './pcap-disk.ts'
import { flowHash, hasPorts, mayHold } from './pcap-index.ts'

/** A flow to extract: addresses as text (IPv4 or IPv6), ports (ignored unless TCP/UDP/SCTP), protocol number. */
export interface FlowQuery {
  srcAddr: string
  srcPort: number
  dstAddr: string
  dstPort: number
  protocol: number
  /** The range, µs since the epoch, inclusive. */
  startUs: number
  endUs: number
}

export interface Extraction {
  /** A classic pcap file (Ethernet), the matching frames in time order. */
  pcap: Buffer
  packets: number
  /** True when the output stopped at the size limit. */
  truncated: boolean
  filesScanned: number
  filesSkipped: number
  bytesRead: number
  /** The oldest frame time held by any ring (µs), or -1 with no file. */
  oldestUs: number
  /** Nothing matched, and the range starts before the oldest frame held. */
  noLongerHeld: boolean
}

/** Largest pcap an extraction returns (bytes); the frames after it are left out (`truncated`). */
export const MAX_EXTRACT_BYTES = 64 * 1024 * 1024
const CHUNK = 4 * 1024 * 1024
const NAME_TIME = /-(\d{8})T(\d{6})Z\.pcap$/

/** An address as 16 bytes (IPv4 mapped as ::ffff:a.b.c.d is not used: IPv4 is 4 bytes), or null. */
export function addressBytes(s: string): Uint8Array | null {
  const fam = isIP(s)
  if (fam === 4) return Uint8Array.from(s.split('.').map(Number))
  if (fam !== 6) return null
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, '']
  const h = head === '' ? [] : head.split(':')
  const t = tail === '' ? [] : tail.split(':')
  // An embedded IPv4 tail (::ffff:1.2.3.4).
  const words: number[] = []
  const push = (parts: string[]): void => {
    for (const p of parts) {
      if (p.includes('.')) {
        const b = p.split('.').map(Number)
        words.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!)
      } else words.push(parseInt(p, 16))
    }
  }
  push(h)
  const headWords = words.length
  push(t)
  const tailWords = words.splice(headWords)
  while (words.length + tailWords.length < 8) words.push(0)
  words.push(...tailWords)
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8
    out[i * 2 + 1] = words[i]! & 0xff
  }
  return out
}

function fold(a: Uint8Array): number {
  const v = new DataView(a.buffer, a.byteOffset, a.byteLength)
  if (a.length === 4) return v.getInt32(0)
  return (v.getUint32(0) ^ v.getUint32(4) ^ v.getUint32(8) ^ v.getUint32(12)) | 0
}

/** The time of a file's first frame: from its index, else from its name (second precision). */
function fileStartUs(f: PcapFile): number {
  if (f.index !== undefined && f.index.firstUs >= 0) return f.index.firstUs
  const m = NAME_TIME.exec(f.path)
  if (m === null) return 0
  const d = m[1]!
  const t = m[2]!
  return (
    Date.UTC(
      +d.slice(0, 4),
      +d.slice(4, 6) - 1,
      +d.slice(6, 8),
      +t.slice(0, 2),
      +t.slice(2, 4),
      +t.slice(4, 6),
    ) * 1000
  )
}

function equalAt(b: Uint8Array, o: number, a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (b[o + i] !== a[i]) return false
  return true
}

/** Extracts the flow's frames from every file of `disk` that may hold them. */
export async function extractFlow(
  disk: PcapDisk,
  q: FlowQuery,
  maxBytes = MAX_EXTRACT_BYTES,
): Promise<Extraction> {
  const a = addressBytes(q.srcAddr)
  const b = addressBytes(q.dstAddr)
  if (a === null || b === null || a.length !== b.length)
    throw new RangeError('the two addresses must be IPv4 or IPv6, of one family')
  const ports = hasPorts(q.protocol)
  const ap = ports ? q.srcPort : 0
  const bp = ports ? q.dstPort : 0
  const hash = flowHash(fold(a), ap, fold(b), bp, q.protocol)
  const v6 = a.length === 16
  let oldestUs = -1
  const candidates: PcapFile[] = []
  let skipped = 0
  const files = [...disk.files()]
  for (const f of files) {
    const start = fileStartUs(f)
    if (oldestUs < 0 || start < oldestUs) oldestUs = start
    const ix = f.index
    const endUs = ix !== undefined && ix.lastUs >= 0 ? ix.lastUs : Number.MAX_SAFE_INTEGER
    if (ix !== undefined && ix.frames === 0) {
      skipped++
      continue
    }
    // An unindexed file ends at most where the next file of its directory starts (files are in time order).
    if (start > q.endUs || endUs < q.startUs || (ix !== undefined && !mayHold(ix, hash))) {
      skipped++
      continue
    }
    candidates.push(f)
  }
  // Matching records: [time µs, chunk, offset, length] gathered, then sorted by time.
  const out: Buffer[] = []
  const times: number[] = []
  let outBytes = 24
  let truncated = false
  let bytesRead = 0
  const buf = Buffer.allocUnsafe(CHUNK)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (const f of candidates) {
    if (truncated) break
    let fh
    try {
      fh = await open(f.path, 'r')
    } catch {
      continue // rotated away meanwhile
    }
    try {
      // The size known now: frames written after this are not read (they are after the request).
      const size = (await fh.stat()).size
      let pos = 24
      let have = 0
      let base = 0 // file position of buf[0]
      let le = true
      const head = await fh.read(buf, 0, 24, 0)
      if (head.bytesRead < 24) continue
      const magic = view.getUint32(0, true)
      if (magic === 0xd4c3b2a1) le = false
      else if (magic !== 0xa1b2c3d4) continue
      while (pos < size && !truncated) {
        // Refill so that buf holds the file from `pos` on.
        if (pos - base + 16 > have || pos < base) {
          const r = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos)
          bytesRead += r.bytesRead
          base = pos
          have = r.bytesRead
          if (have < 16) break
        }
        let o = pos - base
        const incl = view.getUint32(o + 8, le)
        if (incl > 262144) break // damaged
        if (o + 16 + incl > have) {
          if (base === pos) break // a record cut at the end (being written)
          base = -1 // force a refill at pos
          have = 0
          continue
        }
        const us = view.getUint32(o, le) * 1e6 + view.getUint32(o + 4, le)
        pos += 16 + incl
        if (us < q.startUs || us > q.endUs) continue
        // Ethernet → IP → ports, compared in place.
        const end = o + 16 + incl
        o += 16 + 12
        let et = view.getUint16(o)
        while ((et === 0x8100 || et === 0x88a8) && o + 6 <= end) {
          o += 4
          et = view.getUint16(o)
        }
        o += 2
        let so: number
        let doff: number
        let proto: number
        let l4: number
        let first = true
        if (!v6 && et === 0x0800 && o + 20 <= end) {
          so = o + 12
          doff = o + 16
          proto = buf[o + 9]!
          l4 = o + (buf[o]! & 0x0f) * 4
          first = (view.getUint16(o + 6) & 0x1fff) === 0
        } else if (v6 && et === 0x86dd && o + 40 <= end) {
          so = o + 8
          doff = o + 24
          proto = buf[o + 6]!
          l4 = o + 40
        } else continue
        if (proto !== q.protocol) continue
        let sp = 0
        let dp = 0
        if (ports && first && l4 + 4 <= end) {
          sp = view.getUint16(l4)
          dp = view.getUint16(l4 + 2)
        }
        const fwd =
          equalAt(buf, so, a) && equalAt(buf, doff, b) && (!ports || !first || (sp === ap && dp === bp))
        const rev =
          !fwd &&
          equalAt(buf, so, b) &&
          equalAt(buf, doff, a) &&
          (!ports || !first || (sp === bp && dp === ap))
        if (!fwd && !rev) continue
        const recStart = end - incl - 16
        if (outBytes + 16 + incl > maxBytes) {
          truncated = true
          break
        }
        const rec = Buffer.from(buf.subarray(recStart, end))
        if (!le) {
          // Written out little-endian like the rest of the output.
          for (const k of [0, 4, 8, 12]) rec.writeUInt32LE(rec.readUInt32BE(k), k)
        }
        out.push(rec)
        times.push(us)
        outBytes += rec.length
      }
    } finally {
      await fh.close()
    }
  }
  const order = times.map((_, i) => i).sort((x, y) => times[x]! - times[y]! || x - y)
  const pcap = Buffer.allocUnsafe(outBytes)
  pcap.writeUInt32LE(0xa1b2c3d4, 0)
  pcap.writeUInt16LE(2, 4)
  pcap.writeUInt16LE(4, 6)
  pcap.writeInt32LE(0, 8)
  pcap.writeUInt32LE(0, 12)
  pcap.writeUInt32LE(262144, 16)
  pcap.writeUInt32LE(1, 20)
  let w = 24
  for (const i of order) w += out[i]!.copy(pcap, w)
  return {
    pcap,
    packets: out.length,
    truncated,
    filesScanned: candidates.length,
    filesSkipped: skipped,
    bytesRead,
    oldestUs,
    noLongerHeld:
      out.length === 0 && oldestUs >= 0 ? q.startUs < oldestUs : out.length === 0 && files.length === 0,
  }
}

/**
 * Parses `SRC:PORT-DST:PORT/PROTO` (IPv6 addresses in brackets; PROTO a name — tcp, udp, icmp,
 * icmpv6, sctp — or a number). Throws a RangeError saying what is wrong.
 */
export function parseFlowSpec(spec: string): Omit<FlowQuery, 'startUs' | 'endUs'> {
  if (spec.length > 200) throw new RangeError('the flow is longer than 200 characters')
  const slash = spec.lastIndexOf('/')
  if (slash < 0) throw new RangeError('the flow must end with /PROTOCOL (tcp, udp, icmp or a number)')
  const names: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132 }
  const p = spec.slice(slash + 1).toLowerCase()
  const protocol = names[p] ?? (/^\d{1,3}$/.test(p) && Number(p) <= 255 ? Number(p) : -1)
  if (protocol < 0) throw new RangeError(`unknown protocol '${p.slice(0, 16)}'`)
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})-(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})$/.exec(
    spec.slice(0, slash),
  )
  if (m === null)
    throw new RangeError('the flow must be SRC:PORT-DST:PORT/PROTO (IPv6 addresses in brackets)')
  const strip = (s: string): string => (s.startsWith('[') ? s.slice(1, -1) : s)
  const srcAddr = strip(m[1]!)
  const dstAddr = strip(m[3]!)
  const srcPort = Number(m[2])
  const dstPort = Number(m[4])
  if (isIP(srcAddr) === 0 || isIP(dstAddr) === 0 || isIP(srcAddr) !== isIP(dstAddr))
    throw new RangeError('the addresses must be IPv4 or IPv6, of one family')
  if (srcPort > 65535 || dstPort > 65535) throw new RangeError('ports are 0 to 65535')
  return { srcAddr, srcPort, dstAddr, dstPort, protocol }
}
