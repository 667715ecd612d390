// SPDX-License-Identifier: Apache-2.0
/**
 * The fast text renderer: writes record lines as bytes straight into a Buffer, without building a
 * string per field or per line. Integers and IPv4 addresses are written digit by digit; other values
 * (ids, IPv6, tags) go through the catalogue getter and are copied in. Output is byte-identical to
 * `renderRecordLine` (a unit test checks both on every field). Measured on the 5M-packet benchmark:
 * rendering ~600k records went from ~0.9 s (string concatenation) to ~0.25 s, and the heap no longer
 * grows by tens of MiB at an interval edge.
 * @module
 */
import { DIRECTION_NAMES, Direction, LogStatus, TCP_FLAGS_NONE, type FlowRecordBatch } from './record.ts'
import type { LogFormat } from './log-format.ts'

/** Field operations with a dedicated fast path; everything else uses the catalogue getter. */
const Op = {
  Generic: 0,
  SrcAddr: 1,
  DstAddr: 2,
  PktSrcAddr: 3,
  PktDstAddr: 4,
  SrcPort: 5,
  DstPort: 6,
  Protocol: 7,
  Packets: 8,
  Bytes: 9,
  Start: 10,
  End: 11,
  Action: 12,
  LogStatus: 13,
  TcpFlags: 14,
  Type: 15,
  Version: 16,
  FlowDirection: 17,
  /** A field whose value depends only on the interface (ids, region, …): cached bytes per interface. */
  PerInterface: 18,
} as const

/** Fields that read only the interface metadata (and are the same for every record of it). */
const PER_INTERFACE = new Set([
  'account-id',
  'interface-id',
  'vpc-id',
  'subnet-id',
  'instance-id',
  'region',
  'az-id',
  'sublocation-type',
  'sublocation-id',
])

const OPS: Record<string, number> = {
  srcaddr: Op.SrcAddr,
  dstaddr: Op.DstAddr,
  'pkt-srcaddr': Op.PktSrcAddr,
  'pkt-dstaddr': Op.PktDstAddr,
  srcport: Op.SrcPort,
  dstport: Op.DstPort,
  protocol: Op.Protocol,
  packets: Op.Packets,
  bytes: Op.Bytes,
  start: Op.Start,
  end: Op.End,
  action: Op.Action,
  'log-status': Op.LogStatus,
  'tcp-flags': Op.TcpFlags,
  type: Op.Type,
  version: Op.Version,
  'flow-direction': Op.FlowDirection,
}

/** Decimal text of 0..255, 3 bytes per entry, and its length. */
const OCTET = new Uint8Array(256 * 3)
const OCTET_LEN = new Uint8Array(256)
for (let i = 0; i < 256; i++) {
  const s = String(i)
  OCTET_LEN[i] = s.length
  for (let k = 0; k < s.length; k++) OCTET[i * 3 + k] = s.charCodeAt(k)
}

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1')
const ACTION_BYTES = [enc('ACCEPT'), enc('REJECT')]
const STATUS_BYTES = [enc('OK'), enc('NODATA'), enc('SKIPDATA')]
const TYPE4 = enc('IPv4')
const TYPE6 = enc('IPv6')
const DIR_BYTES = DIRECTION_NAMES.map(enc)
const DASH = 45
const SPACE = 32
const NL = 10
/** Bytes kept free before each line; longer values make the buffer grow. */
const LINE_HEADROOM = 2048

/** Renders batches of records into a growing byte buffer, one `\n`-terminated line per record. */
export class LineWriter {
  private readonly format: LogFormat
  private readonly ops: Uint8Array
  private readonly versionBytes: Uint8Array
  private readonly chunk: number
  buf: Buffer
  pos = 0
  /** Cache of PerInterface field bytes: [interface index][field index], for `cachedFor`'s interfaces. */
  private cache: (Uint8Array | undefined)[][] = []
  private cachedFor: unknown = null

  constructor(format: LogFormat, chunkBytes = 1 << 20) {
    this.format = format
    this.ops = Uint8Array.from(
      format.fields.map((f) => OPS[f.name] ?? (PER_INTERFACE.has(f.name) ? Op.PerInterface : Op.Generic)),
    )
    this.versionBytes = enc(String(format.version))
    this.chunk = chunkBytes
    this.buf = Buffer.allocUnsafe(chunkBytes + LINE_HEADROOM)
  }

  /** Returns the bytes written so far and starts a fresh buffer (the returned one is not reused). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos)
    this.buf = Buffer.allocUnsafe(this.chunk + LINE_HEADROOM)
    this.pos = 0
    return out
  }

  /** The bytes written so far, as a view of the internal buffer (valid until the next write). */
  peek(): Buffer {
    return this.buf.subarray(0, this.pos)
  }

  /** Forgets the bytes written so far, keeping the buffer (after `peek()` was consumed). */
  reset(): void {
    this.pos = 0
  }

  /** True when the buffer holds at least the chunk size. */
  get full(): boolean {
    return this.pos >= this.chunk
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  /** Appends row `i` of `b` as one line. */
  writeRow(b: FlowRecordBatch, i: number): void {
    this.ensure(LINE_HEADROOM)
    // buf/p live in locals; helpers return the new position (measured ~2x faster than this.pos++).
    let buf = this.buf
    let p = this.pos
    const ops = this.ops
    const ok = b.logStatus[i] === LogStatus.OK
    for (let k = 0; k < ops.length; k++) {
      if (k > 0) buf[p++] = SPACE
      const op = ops[k]!
      switch (op) {
        case Op.Version:
          p = putBytes(buf, p, this.versionBytes)
          break
        case Op.SrcAddr:
        case Op.DstAddr:
        case Op.PktSrcAddr:
        case Op.PktDstAddr: {
          if (!ok) {
            buf[p++] = DASH
            break
          }
          const src = op === Op.SrcAddr || op === Op.PktSrcAddr
          let own: string | null = null
          if (op === Op.SrcAddr || op === Op.DstAddr) {
            const dir = b.direction[i]
            if ((src && dir === Direction.Egress) || (!src && dir === Direction.Ingress)) {
              const r = b.interfaces[b.iface[i]!]!
              own = b.family[i] === 4 ? r.primary4Text : r.primary6Text
            }
          }
          if (own === null && b.family[i] === 4) {
            p = putIPv4(buf, p, (src ? b.src : b.dst)[i * 4]!)
          } else if (own === null && b.family[i] === 6) {
            p = putIPv6(buf, p, src ? b.src : b.dst, i * 4)
          } else {
            this.pos = p
            if (own !== null) this.str(own)
            else this.generic(k, b, i)
            buf = this.buf
            p = this.pos
          }
          break
        }
        case Op.SrcPort:
          p = ok ? putUint(buf, p, b.srcPort[i]!) : putDash(buf, p)
          break
        case Op.DstPort:
          p = ok ? putUint(buf, p, b.dstPort[i]!) : putDash(buf, p)
          break
        case Op.Protocol:
          p = ok ? putUint(buf, p, b.protocol[i]!) : putDash(buf, p)
          break
        case Op.Packets:
          p = ok ? putUint(buf, p, b.packets[i]!) : putDash(buf, p)
          break
        case Op.Bytes:
          p = ok ? putUint(buf, p, b.bytes[i]!) : putDash(buf, p)
          break
        case Op.Start:
          p = putUint(buf, p, b.start[i]!)
          break
        case Op.End:
          p = putUint(buf, p, b.end[i]!)
          break
        case Op.Action:
          p = ok ? putBytes(buf, p, ACTION_BYTES[b.action[i]!]!) : putDash(buf, p)
          break
        case Op.LogStatus:
          p = putBytes(buf, p, STATUS_BYTES[b.logStatus[i]!]!)
          break
        case Op.TcpFlags:
          p = ok && b.tcpFlags[i] !== TCP_FLAGS_NONE ? putUint(buf, p, b.tcpFlags[i]!) : putDash(buf, p)
          break
        case Op.Type:
          p = ok ? putBytes(buf, p, b.family[i] === 6 ? TYPE6 : TYPE4) : putDash(buf, p)
          break
        case Op.FlowDirection:
          p =
            ok && b.direction[i] !== Direction.Unknown
              ? putBytes(buf, p, DIR_BYTES[b.direction[i]!]!)
              : putDash(buf, p)
          break
        case Op.PerInterface: {
          if (b.interfaces !== this.cachedFor) {
            this.cachedFor = b.interfaces
            this.cache = []
          }
          const j = b.iface[i]!
          const row = this.cache[j] ?? (this.cache[j] = [])
          let x = row[k]
          if (x === undefined) {
            const v = this.format.fields[k]!.get(b, i, this.format.version)
            x = row[k] = Buffer.from(v === null ? '-' : String(v), 'utf8')
          }
          if (p + x.length + LINE_HEADROOM > buf.length) {
            this.pos = p
            this.ensure(x.length + LINE_HEADROOM)
            buf = this.buf
          }
          p = putBytes(buf, p, x)
          break
        }
        default:
          this.pos = p
          this.generic(k, b, i)
          buf = this.buf
          p = this.pos
      }
    }
    buf[p++] = NL
    this.pos = p
  }

  /** Appends every row of `b`. */
  writeBatch(b: FlowRecordBatch): void {
    for (let i = 0; i < b.count; i++) this.writeRow(b, i)
  }

  private generic(k: number, b: FlowRecordBatch, i: number): void {
    const v = this.format.fields[k]!.get(b, i, this.format.version)
    if (v === null) this.pos = putDash(this.buf, this.pos)
    else if (typeof v === 'number') this.pos = putUint(this.buf, this.pos, v)
    else this.str(v)
  }

  private str(s: string): void {
    this.ensure(s.length * 3 + LINE_HEADROOM)
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }
}

function putDash(buf: Uint8Array, p: number): number {
  buf[p] = DASH
  return p + 1
}

function putBytes(buf: Uint8Array, p: number, x: Uint8Array): number {
  for (let k = 0; k < x.length; k++) buf[p + k] = x[k]!
  return p + x.length
}

/** Dotted-quad digits of an IPv4 address held as uint32. */
function putIPv4(buf: Uint8Array, p: number, a: number): number {
  for (let s = 24; s >= 0; s -= 8) {
    const o = (a >>> s) & 255
    const len = OCTET_LEN[o]!
    buf[p] = OCTET[o * 3]!
    if (len > 1) buf[p + 1] = OCTET[o * 3 + 1]!
    if (len > 2) buf[p + 2] = OCTET[o * 3 + 2]!
    p += len
    if (s > 0) buf[p++] = 46
  }
  return p
}

/** Decimal digits of a non-negative integer (< 2⁵³). */
function putUint(buf: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 48 + n
    return p + 1
  }
  if (n < 4294967296) {
    // uint32 fast path: integer division (ports, counters, Unix seconds).
    let x = n >>> 0
    const len =
      x < 100
        ? 2
        : x < 1000
          ? 3
          : x < 10000
            ? 4
            : x < 100000
              ? 5
              : x < 1000000
                ? 6
                : x < 10000000
                  ? 7
                  : x < 100000000
                    ? 8
                    : x < 1000000000
                      ? 9
                      : 10
    let q = p + len
    while (x >= 10) {
      const d = (x / 10) >>> 0
      buf[--q] = 48 + x - d * 10
      x = d
    }
    buf[--q] = 48 + x
    return p + len
  }
  let len = 1
  for (let t = n; t >= 10; t = Math.floor(t / 10)) len++
  let q = p + len
  while (n >= 10) {
    const d = Math.floor(n / 10)
    buf[--q] = 48 + (n - d * 10)
    n = d
  }
  buf[--q] = 48 + n
  return p + len
}

const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0))
/** `::ffff:`, the text before an IPv4-mapped address's dotted tail (built once, not per record). */
const MAPPED_PREFIX = enc('::ffff:')

/** Lowercase hex of a 16-bit group, no leading zeros. */
function putHex16(buf: Uint8Array, p: number, g: number): number {
  if (g >= 0x1000) buf[p++] = HEX[g >>> 12]!
  if (g >= 0x100) buf[p++] = HEX[(g >>> 8) & 15]!
  if (g >= 0x10) buf[p++] = HEX[(g >>> 4) & 15]!
  buf[p++] = HEX[g & 15]!
  return p
}

/**
 * RFC 5952 text of the IPv6 address in words `w[o..o+4)`, byte for byte what `formatIPv6Words` returns
 * (longest run of ≥ 2 zero groups compressed, first on ties; IPv4-mapped with a dotted tail).
 */
function putIPv6(buf: Uint8Array, p: number, w: Uint32Array, o: number): number {
  const w0 = w[o]!
  const w1 = w[o + 1]!
  const w2 = w[o + 2]!
  const w3 = w[o + 3]!
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) {
    p = putBytes(buf, p, MAPPED_PREFIX)
    return putIPv4(buf, p, w3)
  }
  // Groups g0..g7 and the longest zero run (≥ 2).
  let bestStart = -1
  let bestLen = 0
  let runStart = -1
  for (let k = 0; k < 8; k++) {
    const x = k < 2 ? w0 : k < 4 ? w1 : k < 6 ? w2 : w3
    const g = k & 1 ? x & 0xffff : x >>> 16
    if (g === 0) {
      if (runStart < 0) runStart = k
      const len = k - runStart + 1
      if (len > bestLen) {
        bestLen = len
        bestStart = runStart
      }
    } else {
      runStart = -1
    }
  }
  if (bestLen < 2) bestStart = -1
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      buf[p++] = 58
      buf[p++] = 58
      k += bestLen - 1
      continue
    }
    if (k > 0 && k !== bestStart + bestLen) buf[p++] = 58
    const x = k < 2 ? w0 : k < 4 ? w1 : k < 6 ? w2 : w3
    p = putHex16(buf, p, k & 1 ? x & 0xffff : x >>> 16)
  }
  return p
}
