// SPDX-License-Identifier: Apache-2.0
/**
 * Flow-log destinations: where record batches go. `FlowLogDestination` is the small interface every
 * destination implements (STYLE.md §3.2.2), so the agent reuses these for live delivery:
 *
 * - `write(batch)` is synchronous and must render or copy the rows it needs before returning (the
 *   batch is reused by its producer);
 * - `flush()` publishes what is buffered (for S3-layout directories: closes the pending objects);
 * - `close()` flushes and releases the destination.
 *
 * Implementations here: `TextStreamDestination` (plain text lines to a stream, e.g. stdout) and
 * `S3DirectoryDestination` (a local directory in the exact S3 key layout, plain text `.log.gz` or
 * Parquet).
 * @module
 */
import { writeSync } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { LogFormat } from './log-format.ts'
import type { FlowRecordBatch } from './record.ts'
import { LineWriter } from './line-writer.ts'
import {
  DELIVERY_WINDOW_SECONDS,
  deliveryWindowStart,
  objectHash,
  s3ObjectName,
  s3ObjectPrefix,
  validateS3Layout,
  type S3LayoutOptions,
} from './s3-layout.ts'
import { writeParquetFile } from './parquet.ts'
import { mkdirWithin, writeError, writeFileWithin, type WriteErrorStats } from './confined-path.ts'
import type { FlowLogsWriteError } from './errors.ts'

/** A sink for flow-log records. */
export interface FlowLogDestination {
  /** Takes the rows of `batch` (synchronously: the batch is reused after this returns). */
  write(batch: FlowRecordBatch): void
  /** Publishes everything buffered so far. */
  flush(): Promise<void>
  /** Flushes and releases resources; the destination is unusable afterwards. */
  close(): Promise<void>
}

/** Options of `TextStreamDestination`. */
export interface TextStreamOptions {
  /** Write the header line (field names) first. Default false (CloudWatch-style lines only). */
  header?: boolean
  /** Bytes buffered before a write to the stream. Default 1 MiB. */
  bufferBytes?: number
}

/**
 * Plain-text records, one line each, to a writable stream or a file descriptor. With a descriptor
 * (e.g. 1 for stdout) the lines are written synchronously and one buffer is reused: no garbage and
 * flat memory however many records (an async stream gets a fresh buffer per write).
 */
export class TextStreamDestination implements FlowLogDestination {
  private readonly target: NodeJS.WritableStream | number
  private readonly writer: LineWriter
  private needDrain = false
  /** Records written. */
  records = 0

  constructor(format: LogFormat, target: NodeJS.WritableStream | number, options: TextStreamOptions = {}) {
    this.target = target
    this.writer = new LineWriter(format, options.bufferBytes ?? 1 << 20)
    if (options.header === true) {
      this.writer.buf.write(format.header + '\n', 0, 'latin1')
      this.writer.pos = format.header.length + 1
    }
  }

  write(batch: FlowRecordBatch): void {
    const w = this.writer
    for (let i = 0; i < batch.count; i++) {
      w.writeRow(batch, i)
      if (w.full) this.push()
    }
    this.records += batch.count
  }

  private push(): void {
    if (this.writer.pos === 0) return
    if (typeof this.target === 'number') {
      writeAllSync(this.target, this.writer.peek())
      this.writer.reset()
    } else if (!this.target.write(this.writer.take())) {
      this.needDrain = true
    }
  }

  async flush(): Promise<void> {
    this.push()
    if (this.needDrain && typeof this.target !== 'number') {
      this.needDrain = false
      const stream = this.target
      await new Promise<void>((resolve) => stream.once('drain', resolve))
    }
  }

  async close(): Promise<void> {
    await this.flush()
  }
}

/** Writes all of `data` to `fd`, waiting briefly when a non-blocking descriptor is full (EAGAIN). */
function writeAllSync(fd: number, data: Uint8Array): void {
  let off = 0
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }
  }
}

/** Options of `S3DirectoryDestination`. */
export interface S3DirectoryOptions extends S3LayoutOptions {
  /** Local directory standing for the bucket. */
  dir: string
  format: LogFormat
  /**
   * The aggregation interval of the records (60 or 600; 0 = unknown). With it, `publishCompleted()`
   * can tell which delivery windows no later record can fall in.
   */
  maxAggregationInterval?: number | undefined
  /**
   * Called for each object that could not be written, with the error (`MF_FLOWLOGS_WRITE`: its
   * `reason` is the errno code or `refused-path`) and the number of records lost with it. The counts
   * are in `stats` as well.
   */
  onWriteError?: ((err: FlowLogsWriteError, records: number) => void) | undefined
}

/** What an `S3DirectoryDestination` wrote, and what it could not. */
export interface S3DirectoryStats extends WriteErrorStats {
  /** Objects written. */
  objects: number
  /** Records in them. */
  records: number
}

/** Records of one object being assembled: text chunks, or rows kept for Parquet. */
interface PendingObject {
  windowSec: number
  records: number
  text: LineWriter | null
  rows: (string | number | null)[][]
}

/**
 * A local directory laid out exactly as the S3 bucket of a flow log (spec §4.2): one object per
 * 5-minute delivery window (by record `end`), plain text gzip with the header line first, or Parquet
 * with AWS's column names and types. Every object is written below `dir` and never outside it (the
 * prefix is checked when the destination is made, links inside `dir` are refused when writing: see
 * confined-path.ts); a failed object is counted in `stats`, never thrown. `flush()` writes every pending object; calling it inside a window
 * gives that window a second object, as AWS may ("multiple files may be published").
 */
export class S3DirectoryDestination implements FlowLogDestination {
  private readonly o: S3DirectoryOptions
  private readonly pending = new Map<number, PendingObject>()
  /** Largest record `end` seen. */
  private maxEnd = -Infinity
  /** Paths (relative to `dir`) of the objects written so far. */
  readonly written: string[] = []
  /** Objects and records written, and those lost to write errors. */
  readonly stats: S3DirectoryStats = {
    objects: 0,
    records: 0,
    writeErrors: 0,
    droppedRecords: 0,
    lastWriteError: null,
  }

  constructor(options: S3DirectoryOptions) {
    validateS3Layout(options)
    this.o = options
  }

  write(batch: FlowRecordBatch): void {
    const fmt = this.o.format
    const parquet = this.o.fileFormat === 'parquet'
    let cur: PendingObject | undefined
    for (let i = 0; i < batch.count; i++) {
      if (batch.end[i]! > this.maxEnd) this.maxEnd = batch.end[i]!
      const w = deliveryWindowStart(batch.end[i]!)
      if (cur === undefined || cur.windowSec !== w) {
        cur = this.pending.get(w)
        if (cur === undefined) {
          cur = { windowSec: w, records: 0, text: parquet ? null : new LineWriter(fmt, 64 * 1024), rows: [] }
          this.pending.set(w, cur)
        }
      }
      cur.records++
      if (parquet) {
        const row = new Array<string | number | null>(fmt.fields.length)
        for (let k = 0; k < fmt.fields.length; k++) row[k] = fmt.fields[k]!.get(batch, i, fmt.version)
        cur.rows.push(row)
      } else {
        cur.text!.writeRow(batch, i)
      }
    }
  }

  async flush(): Promise<void> {
    await this.publish(Infinity)
  }

  /**
   * Writes the objects of delivery windows that are complete: records arrive interval by interval, so
   * once a record ends in interval [t, t + I), every window ending at or before t is final. Keeps
   * memory bounded on long captures. A no-op without `maxAggregationInterval`.
   */
  async publishCompleted(): Promise<void> {
    const I = this.o.maxAggregationInterval ?? 0
    if (!(I > 0) || this.maxEnd === -Infinity) return
    const t = Math.floor(this.maxEnd / I) * I
    await this.publish(t - DELIVERY_WINDOW_SECONDS)
  }

  /**
   * Writes the pending objects whose window starts at or before `lastWindow`. An object that cannot be
   * written (disk full, no descriptor, a name too long, a path refused for leaving `dir`) is counted in
   * `stats` with its records, reported to `onWriteError`, and the next object is tried: never a throw.
   */
  private async publish(lastWindow: number): Promise<void> {
    const objs = [...this.pending.values()]
      .filter((o) => o.windowSec <= lastWindow)
      .sort((a, b) => a.windowSec - b.windowSec)
    for (const obj of objs) this.pending.delete(obj.windowSec)
    for (const obj of objs) {
      const folder = s3ObjectPrefix(this.o, obj.windowSec)
      try {
        if (this.o.fileFormat === 'parquet') {
          const abs = await mkdirWithin(this.o.dir, folder.slice(0, -1))
          const tmp = join(abs, `.incoming-${process.pid}-${obj.windowSec}.parquet`)
          try {
            const bytes = await writeParquetFile(tmp, this.o.format, obj.rows)
            const name = s3ObjectName(this.o, obj.windowSec, objectHash(bytes))
            await rename(tmp, join(abs, name))
            this.written.push(folder + name)
          } catch (err) {
            await unlink(tmp).catch(() => undefined)
            throw writeError(tmp, err)
          }
        } else {
          const body = obj.text!.take()
          const gz = gzipSync(Buffer.concat([Buffer.from(this.o.format.header + '\n', 'latin1'), body]))
          const name = s3ObjectName(this.o, obj.windowSec, objectHash(gz))
          await writeFileWithin(this.o.dir, folder.slice(0, -1), name, gz)
          this.written.push(folder + name)
        }
        this.stats.objects++
        this.stats.records += obj.records
      } catch (err) {
        const e = writeError(join(this.o.dir, folder), err)
        this.stats.writeErrors++
        this.stats.droppedRecords += obj.records
        this.stats.lastWriteError = e.message
        this.o.onWriteError?.(e, obj.records)
      }
    }
  }

  async close(): Promise<void> {
    await this.flush()
  }
}
