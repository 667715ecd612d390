// SPDX-License-Identifier: Apache-2.0
/**
 * Streaming capture readers: classic pcap (both byte orders, µs/ns, Kuznetzov's modified format) and
 * pcapng (SHB/IDB/EPB/SPB/OPB, several interfaces and sections, both byte orders). Reads large blocks
 * into one reusable buffer and hands out `FrameBatch`es whose frames point into it: memory stays
 * bounded by the chunk size (plus one oversized frame) whatever the file size.
 * @module
 */
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { newFrameBatch, type FrameBatch } from './frame-batch.ts'
import { CaptureFormatError } from './errors.ts'

export interface ReadCaptureOptions {
  /** Frames per batch (default 4096). */
  batchSize?: number
  /** Bytes per read and initial buffer size (default 4 MiB). */
  chunkBytes?: number
  /** Name used in errors (default: the path, or `<stdin>`/`<stream>`). */
  name?: string
  /** Called after each block read with the number of bytes read from the source so far (progress bars). */
  onProgress?: (bytesRead: number) => void
  /** Counters the reader adds to (e.g. time stamps it clamped); one object may serve several reads. */
  stats?: CaptureReadStats
}

/** What a read found that is not damage but changed a frame's data. */
export interface CaptureReadStats {
  /** Frames whose time stamp was outside 0 … `MAX_TIMESTAMP_SEC` and was clamped into it. */
  clampedTimestamps: number
}

/**
 * The latest time stamp a frame can carry: 2³² − 1 s after the epoch (2106-02-07T06:28:15Z), the
 * largest a classic pcap record holds and the largest a flow-log record's `start`/`end` keeps. A pcapng
 * time stamp is 64 bits of ticks plus a signed offset, and a damaged or crafted file can put a frame in
 * the year 586,000 or before 1970: the reader clamps such a time stamp to 0 or to this value (whole
 * seconds, 0 ns) and counts it in `CaptureReadStats.clampedTimestamps`, so that every command sees the
 * same, printable time and none wraps it.
 */
export const MAX_TIMESTAMP_SEC = 4294967295

/** Largest record or block accepted (as Wireshark's pcapng reader): anything bigger is damage. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024
const DEFAULT_BATCH = 4096
// 4 MiB reads: ~2x faster than 64 KiB, level with 1 MiB, 16 MiB no better (2M-packet bench:decode file).
const DEFAULT_CHUNK = 4 * 1024 * 1024
/** pcapng: most interfaces per section we keep track of. */
const MAX_INTERFACES = 65535

/** Where bytes come from: a file handle or a readable stream, copied into our buffer. */
interface ByteSource {
  /** Reads up to `len` bytes into `buf[off…]`; resolves 0 at the end. */
  read(buf: Uint8Array, off: number, len: number): Promise<number>
  close(): Promise<void>
}

function fileSource(fh: FileHandle): ByteSource {
  return {
    async read(buf, off, len) {
      const { bytesRead } = await fh.read(buf, off, len, null)
      return bytesRead
    },
    close: () => fh.close(),
  }
}

function streamSource(stream: NodeJS.ReadableStream): ByteSource {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]()
  let pending: Uint8Array | null = null
  let pendingOff = 0
  let done = false
  return {
    async read(buf, off, len) {
      let n = 0
      while (n < len) {
        if (pending === null) {
          // Return what we have rather than wait: the reader loops until the buffer is full enough.
          if (done || n > 0) break
          const r = await it.next()
          if (r.done === true) {
            done = true
            break
          }
          const v = r.value
          pending = typeof v === 'string' ? Buffer.from(v, 'latin1') : v
          pendingOff = 0
        }
        const take = Math.min(len - n, pending.length - pendingOff)
        buf.set(pending.subarray(pendingOff, pendingOff + take), off + n)
        n += take
        pendingOff += take
        if (pendingOff === pending.length) pending = null
      }
      return n
    },
    async close() {
      if (!done && typeof it.return === 'function') await it.return()
    },
  }
}

/** Scratch results of `ticksToTs` (no allocation per frame). */
let tsSecOut = 0
let tsNsecOut = 0

/**
 * Splits a 64-bit tick count `hi·2³² + lo` into whole seconds and nanoseconds for `ticksPerSec`
 * ≤ 2³¹, exactly, by long division over 16-bit digits (every intermediate stays below 2⁴⁷).
 */
function ticksToTs(hi: number, lo: number, ticksPerSec: number, nsPerTick: number): void {
  let r = 0
  let q = 0
  let cur = r * 65536 + (hi >>> 16)
  q = Math.floor(cur / ticksPerSec)
  r = cur - q * ticksPerSec
  cur = r * 65536 + (hi & 0xffff)
  let d = Math.floor(cur / ticksPerSec)
  r = cur - d * ticksPerSec
  q = q * 65536 + d
  cur = r * 65536 + (lo >>> 16)
  d = Math.floor(cur / ticksPerSec)
  r = cur - d * ticksPerSec
  q = q * 65536 + d
  cur = r * 65536 + (lo & 0xffff)
  d = Math.floor(cur / ticksPerSec)
  r = cur - d * ticksPerSec
  q = q * 65536 + d
  tsSecOut = q
  tsNsecOut = Math.floor(r * nsPerTick)
}

/** Slow path for resolutions finer than 2⁻³¹ s (picoseconds…): BigInt, rare. */
function ticksToTsBig(hi: number, lo: number, tpsBig: bigint): void {
  const t = (BigInt(hi) << 32n) | BigInt(lo)
  tsSecOut = Number(t / tpsBig)
  tsNsecOut = Number(((t % tpsBig) * 1_000_000_000n) / tpsBig)
}

/** One interface of a pcapng section. */
interface NgInterface {
  linkType: number
  snaplen: number
  ticksPerSec: number
  nsPerTick: number
  /** Set when ticksPerSec > 2³¹ (then ticksToTsBig is used). */
  bigTps: bigint
  offsetSec: number
}

/**
 * Reads a capture file (path), standard input (`'-'`) or a stream, yielding batches of frames.
 * The batch and its memory are reused: valid until the next batch is requested. Throws
 * `CaptureFormatError` after the last readable frame if the file is damaged or truncated.
 */
export async function* readCapture(
  source: string | NodeJS.ReadableStream,
  options: ReadCaptureOptions = {},
): AsyncGenerator<FrameBatch> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH))
  const chunk = Math.max(64, Math.floor(options.chunkBytes ?? DEFAULT_CHUNK))
  let name: string
  let src: ByteSource
  if (typeof source === 'string' && source !== '-') {
    name = options.name ?? source
    src = fileSource(await open(source, 'r'))
  } else {
    name = options.name ?? (source === '-' ? '<stdin>' : '<stream>')
    src = streamSource(source === '-' ? process.stdin : (source as NodeJS.ReadableStream))
  }
  try {
    yield* parse(
      src,
      name,
      batchSize,
      chunk,
      options.onProgress ?? null,
      options.stats ?? { clampedTimestamps: 0 },
    )
  } finally {
    await src.close()
  }
}

async function* parse(
  src: ByteSource,
  name: string,
  batchSize: number,
  chunk: number,
  onProgress: ((bytesRead: number) => void) | null,
  stats: CaptureReadStats,
): AsyncGenerator<FrameBatch> {
  let buf = new Uint8Array(chunk)
  let view = new DataView(buf.buffer)
  /** Valid bytes are buf[pos, len); `base` is the file offset of buf[0]. */
  let pos = 0
  let len = 0
  let base = 0
  let eof = false
  const batch = newFrameBatch(batchSize, buf)

  /** Makes at least `need` bytes available from `pos` (fewer only at the end of input). */
  async function fill(need: number): Promise<void> {
    if (len - pos >= need || eof) return
    if (need > buf.length) {
      const bigger = new Uint8Array(Math.max(need, buf.length * 2))
      bigger.set(buf.subarray(pos, len))
      buf = bigger
      view = new DataView(buf.buffer)
      batch.bytes = buf
      batch.view = view
    } else if (pos > 0) {
      buf.copyWithin(0, pos, len)
    }
    base += pos
    len -= pos
    pos = 0
    while (len < need && !eof) {
      const n = await src.read(buf, len, buf.length - len)
      if (n === 0) eof = true
      len += n
    }
    if (onProgress !== null) onProgress(base + len)
  }

  await fill(24)
  if (len - pos < 4)
    throw new CaptureFormatError(
      name,
      base + pos,
      len === 0 ? 'empty input, no capture header' : 'not a capture file: too short',
    )
  const magicBE = view.getUint32(pos, false)

  if (magicBE === 0x0a0d0d0a) {
    yield* parseNg()
    return
  }

  // Classic pcap.
  let le: boolean
  let nanos = false
  let recHdr = 16
  const magicLE = view.getUint32(pos, true)
  if (magicLE === 0xa1b2c3d4 || magicBE === 0xa1b2c3d4) le = magicLE === 0xa1b2c3d4
  else if (magicLE === 0xa1b23c4d || magicBE === 0xa1b23c4d) {
    le = magicLE === 0xa1b23c4d
    nanos = true
  } else if (magicLE === 0xa1b2cd34 || magicBE === 0xa1b2cd34) {
    // Kuznetzov's patched libpcap: 8 more bytes (ifindex, protocol, pkt_type) per record header.
    le = magicLE === 0xa1b2cd34
    recHdr = 24
  } else {
    throw new CaptureFormatError(
      name,
      base + pos,
      `unknown magic 0x${magicBE.toString(16).padStart(8, '0')}: not pcap or pcapng`,
    )
  }
  if (len - pos < 24) throw new CaptureFormatError(name, base + pos, 'truncated pcap file header')
  const linkType = view.getUint32(pos + 20, le) & 0x03ffffff
  const lt16 = linkType & 0xffff
  pos += 24
  const usScale = nanos ? 1 : 1000

  while (true) {
    if (len - pos < recHdr) {
      if (batch.count > 0) {
        yield batch
        batch.count = 0
      }
      await fill(recHdr)
      if (len - pos === 0) return
      if (len - pos < recHdr)
        throw new CaptureFormatError(
          name,
          base + pos,
          `truncated record header (${len - pos} of ${recHdr} bytes)`,
        )
    }
    const incl = view.getUint32(pos + 8, le)
    if (incl > MAX_RECORD_BYTES) {
      if (batch.count > 0) yield batch
      throw new CaptureFormatError(name, base + pos, `record length ${incl} exceeds ${MAX_RECORD_BYTES}`)
    }
    const total = recHdr + incl
    if (len - pos < total) {
      if (batch.count > 0) {
        yield batch
        batch.count = 0
      }
      await fill(total)
      if (len - pos < total)
        throw new CaptureFormatError(
          name,
          base + pos,
          `truncated record: ${len - pos - recHdr} of ${incl} bytes`,
        )
    }
    const i = batch.count
    let sec = view.getUint32(pos, le)
    let sub = view.getUint32(pos + 4, le) * usScale
    if (sub >= 1e9) {
      sec += Math.floor(sub / 1e9)
      sub %= 1e9
    }
    // Only a damaged sub-second field can carry a classic pcap past the range.
    if (sec > MAX_TIMESTAMP_SEC) {
      sec = MAX_TIMESTAMP_SEC
      sub = 0
      stats.clampedTimestamps++
    }
    batch.tsSec[i] = sec
    batch.tsNsec[i] = sub
    const orig = view.getUint32(pos + 12, le)
    batch.origLens[i] = orig < incl ? incl : orig
    batch.starts[i] = pos + recHdr
    batch.ends[i] = pos + total
    batch.linkTypes[i] = lt16
    batch.ifIndex[i] = 0
    pos += total
    if (++batch.count === batchSize) {
      yield batch
      batch.count = 0
    }
  }

  async function* parseNg(): AsyncGenerator<FrameBatch> {
    let le = true
    let ifaces: NgInterface[] = []
    let sawSection = false
    while (true) {
      if (len - pos < 12) {
        if (batch.count > 0) {
          yield batch
          batch.count = 0
        }
        await fill(12)
        if (len - pos === 0) return
        if (len - pos < 12)
          throw new CaptureFormatError(name, base + pos, `truncated block header (${len - pos} bytes)`)
      }
      let type = view.getUint32(pos, le)
      if (view.getUint32(pos, false) === 0x0a0d0d0a) {
        // Section header: byte order from its magic.
        type = 0x0a0d0d0a
        const bom = view.getUint32(pos + 8, true)
        if (bom === 0x1a2b3c4d) le = true
        else if (bom === 0x4d3c2b1a) le = false
        else {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, `bad pcapng byte-order magic 0x${bom.toString(16)}`)
        }
      } else if (!sawSection) {
        throw new CaptureFormatError(name, base + pos, 'pcapng block before any section header')
      }
      const blen = view.getUint32(pos + 4, le)
      if (blen < 12 || blen > MAX_RECORD_BYTES || (blen & 3) !== 0) {
        if (batch.count > 0) yield batch
        throw new CaptureFormatError(name, base + pos, `bad pcapng block length ${blen}`)
      }
      if (len - pos < blen) {
        if (batch.count > 0) {
          yield batch
          batch.count = 0
        }
        await fill(blen)
        if (len - pos < blen)
          throw new CaptureFormatError(
            name,
            base + pos,
            `truncated pcapng block: ${len - pos} of ${blen} bytes`,
          )
      }
      if (view.getUint32(pos + blen - 4, le) !== blen) {
        if (batch.count > 0) yield batch
        throw new CaptureFormatError(
          name,
          base + pos,
          `pcapng block trailer length differs from header (${blen})`,
        )
      }
      const body = pos + 8
      const bodyEnd = pos + blen - 4
      if (type === 0x0a0d0d0a) {
        if (blen < 28) {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, 'pcapng section header too short')
        }
        const major = view.getUint16(body + 4, le)
        if (major !== 1) {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, `unsupported pcapng version ${major}`)
        }
        sawSection = true
        ifaces = []
      } else if (type === 1) {
        if (bodyEnd - body < 8) {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, 'pcapng interface description too short')
        }
        const iface: NgInterface = {
          linkType: view.getUint16(body, le),
          snaplen: view.getUint32(body + 4, le),
          ticksPerSec: 1_000_000,
          nsPerTick: 1000,
          bigTps: 0n,
          offsetSec: 0,
        }
        // Options: code, length, value padded to 4; bounded by the block and by a count limit.
        let o = body + 8
        for (let n = 0; n < 4096 && bodyEnd - o >= 4; n++) {
          const code = view.getUint16(o, le)
          const olen = view.getUint16(o + 2, le)
          if (code === 0) break
          const v = o + 4
          if (bodyEnd - v < olen) break
          if (code === 9 && olen >= 1) {
            const r = view.getUint8(v)
            const exp = r & 0x7f
            if ((r & 0x80) === 0) {
              if (exp <= 9) {
                iface.ticksPerSec = 10 ** exp
                iface.nsPerTick = 10 ** (9 - exp)
              } else if (exp <= 30) {
                iface.bigTps = 10n ** BigInt(exp)
              }
            } else if (exp <= 31) {
              iface.ticksPerSec = 2 ** exp
              iface.nsPerTick = 1e9 / 2 ** exp
            } else if (exp <= 100) {
              iface.bigTps = 2n ** BigInt(exp)
            }
          } else if (code === 14 && olen >= 8) {
            iface.offsetSec = Number(view.getBigInt64(v, le))
          }
          o = v + ((olen + 3) & ~3)
        }
        if (ifaces.length < MAX_INTERFACES) ifaces.push(iface)
      } else if (type === 6 || type === 2) {
        // EPB (6) and the obsolete OPB (2, 16-bit interface id + 16-bit drops).
        if (bodyEnd - body < 20) {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, 'pcapng packet block too short')
        }
        const ifId = type === 6 ? view.getUint32(body, le) : view.getUint16(body, le)
        const iface = ifaces[ifId]
        if (iface === undefined) {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, `packet block for undeclared interface ${ifId}`)
        }
        const capLen = view.getUint32(body + 12, le)
        const data = body + 20
        if (capLen > bodyEnd - data) {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, `captured length ${capLen} exceeds block`)
        }
        const hi = view.getUint32(body + 4, le)
        const lo = view.getUint32(body + 8, le)
        if (iface.bigTps === 0n) ticksToTs(hi, lo, iface.ticksPerSec, iface.nsPerTick)
        else ticksToTsBig(hi, lo, iface.bigTps)
        const i = batch.count
        let sec = tsSecOut + iface.offsetSec
        let ns = tsNsecOut
        if (!(sec >= 0 && sec <= MAX_TIMESTAMP_SEC)) {
          sec = sec < 0 ? 0 : MAX_TIMESTAMP_SEC
          ns = 0
          stats.clampedTimestamps++
        }
        batch.tsSec[i] = sec
        batch.tsNsec[i] = ns
        const orig = view.getUint32(body + 16, le)
        batch.origLens[i] = orig < capLen ? capLen : orig
        batch.starts[i] = data
        batch.ends[i] = data + capLen
        batch.linkTypes[i] = iface.linkType
        batch.ifIndex[i] = ifId
        if (++batch.count === batchSize) {
          pos += blen
          yield batch
          batch.count = 0
          continue
        }
      } else if (type === 3) {
        // SPB: interface 0; captured length = min(original, snaplen, what the block holds).
        const iface = ifaces[0]
        if (iface === undefined || bodyEnd - body < 4) {
          if (batch.count > 0) yield batch
          throw new CaptureFormatError(name, base + pos, 'simple packet block without interface 0')
        }
        const orig = view.getUint32(body, le)
        const data = body + 4
        let capLen = bodyEnd - data
        if (orig < capLen) capLen = orig
        if (iface.snaplen !== 0 && iface.snaplen < capLen) capLen = iface.snaplen
        const i = batch.count
        batch.tsSec[i] = 0
        batch.tsNsec[i] = 0
        batch.origLens[i] = orig < capLen ? capLen : orig
        batch.starts[i] = data
        batch.ends[i] = data + capLen
        batch.linkTypes[i] = iface.linkType
        batch.ifIndex[i] = 0
        if (++batch.count === batchSize) {
          pos += blen
          yield batch
          batch.count = 0
          continue
        }
      }
      // Any other block type (NRB, ISB, DSB, custom…) is skipped whole.
      pos += blen
    }
  }
}
