// SPDX-License-Identifier: Apache-2.0
/** Classic pcap writer (little-endian, µs or ns), buffered, with snaplen truncation. @module */
import { closeSync, openSync, writeSync } from 'node:fs'
import { once } from 'node:events'

export interface PcapWriterOptions {
  linkType: number
  /** Longest captured length written per frame (default 262144). */
  snaplen?: number
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanosecond?: boolean
}

const BUFFER_BYTES = 1 << 20

/**
 * Writes a pcap file to a path (synchronous writes of 1 MiB blocks) or to a stream (1 MiB copies;
 * `flush()` waits for the stream to drain — call it now and then when writing much to a slow pipe).
 */
export class PcapWriter {
  readonly snaplen: number
  readonly nanosecond: boolean
  private fd: number
  private stream: NodeJS.WritableStream | null
  private buf: Uint8Array
  private view: DataView
  private used: number
  private closed: boolean

  constructor(out: string | NodeJS.WritableStream, opts: PcapWriterOptions) {
    this.snaplen = opts.snaplen ?? 262144
    this.nanosecond = opts.nanosecond ?? false
    if (!(this.snaplen > 0)) throw new RangeError('snaplen must be > 0')
    this.fd = -1
    this.stream = null
    if (typeof out === 'string') this.fd = openSync(out, 'w')
    else this.stream = out
    this.buf = new Uint8Array(Math.max(BUFFER_BYTES, this.snaplen + 16))
    this.view = new DataView(this.buf.buffer)
    this.used = 0
    this.closed = false
    const v = this.view
    v.setUint32(0, this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, true)
    v.setUint16(4, 2, true)
    v.setUint16(6, 4, true)
    v.setInt32(8, 0, true)
    v.setUint32(12, 0, true)
    v.setUint32(16, this.snaplen, true)
    v.setUint32(20, opts.linkType, true)
    this.used = 24
  }

  /** Appends one frame `bytes[start, end)` whose wire length was `origLen`, cut to the snaplen. */
  write(bytes: Uint8Array, start: number, end: number, origLen: number, tsSec: number, tsNsec: number): void {
    if (this.closed) throw new Error('PcapWriter is closed')
    let incl = end - start
    if (incl < 0) incl = 0
    if (incl > this.snaplen) incl = this.snaplen
    if (origLen < end - start) origLen = end - start
    if (this.buf.length - this.used < 16 + incl) this.drain()
    const v = this.view
    const o = this.used
    v.setUint32(o, tsSec >>> 0, true)
    v.setUint32(o + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), true)
    v.setUint32(o + 8, incl, true)
    v.setUint32(o + 12, origLen >>> 0, true)
    this.buf.set(bytes.subarray(start, start + incl), o + 16)
    this.used = o + 16 + incl
  }

  /** Hands the buffered bytes to the file or stream. */
  private drain(): void {
    if (this.used === 0) return
    if (this.fd >= 0) {
      let off = 0
      while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off)
    } else if (this.stream !== null) {
      this.stream.write(Buffer.from(this.buf.subarray(0, this.used)))
    }
    this.used = 0
  }

  /** Writes everything buffered; for a stream, resolves once it has drained. */
  async flush(): Promise<void> {
    this.drain()
    const s = this.stream as (NodeJS.WritableStream & { writableNeedDrain?: boolean }) | null
    if (s !== null && s.writableNeedDrain === true) await once(s as unknown as NodeJS.EventEmitter, 'drain')
  }

  /** Flushes and closes the file (a stream given by the caller is flushed, not ended). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.flush()
    } finally {
      // The file is closed even when the last write failed (disk full): no descriptor leaks.
      if (this.fd >= 0) {
        closeSync(this.fd)
        this.fd = -1
      }
    }
  }
}
