// SPDX-License-Identifier: Apache-2.0
/**
 * The one live frame source: a capture process writing a pcap stream to its stdout — `tcpdump -U -w -`
 * or, with `gsoExact`, our `mf-capture` helper (gso-helper.ts) — piped into the packet layer's
 * streaming pcap reader, which hands out `FrameBatch`es.
 *
 * Why a process and a pipe: libpcap (in tcpdump) gives the kernel's packet ring and an in-kernel BPF
 * filter without a native addon, and reports exact kernel drop counts; this pipe measured ~660 k
 * packets/s without loss, where the npm libpcap bindings lost 1–4 % at the same rate.
 *
 * Lifecycle: `LiveCapture.start()` resolves once the process says it is capturing (its "listening on"
 * line: packets from then on are seen) and throws `CaptureError` when it cannot start. A capture that
 * ends on its own afterwards — the process killed or dead, the pipe broken, a batch handler throwing —
 * is reported once through `onFailure`, never in silence. `stop()` ends it after every frame the
 * interface saw before the call was delivered. Kernel drop counts come from the process's statistics
 * lines (on SIGUSR1 every `statsIntervalMs`, and at exit).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'
import { readCapture, type FrameBatch } from '../packet/index.ts'
import { CaptureError } from './errors.ts'
import { compileFilter, gsoHelperPath, supportsGsoExact } from './gso-helper.ts'

/** Snap length meaning "whole frames" (tcpdump's default maximum). */
export const SNAPLEN_WHOLE = 262144
/** libpcap's ring-block timeout as tcpdump sets it (ms), plus a margin. */
const BLOCK_TIMEOUT_MS = 1100
/** stderr kept for statistics and error messages (the tail beyond this is dropped). */
const STDERR_KEEP = 16 * 1024

/** What to capture and how. */
export interface CaptureOptions {
  /** Interface name, or `any` (tcpdump engine only). */
  iface: string
  /** BPF filter expression ('' = every frame). */
  filter: string
  /** Bytes kept per frame (`SNAPLEN_WHOLE`: whole frames). The wire length is always kept. */
  snaplen: number
  /** Kernel buffer (tcpdump -B), KiB. */
  bufferKiB: number
  /** Which frames: received, sent, or both. */
  direction: 'in' | 'out' | 'inout'
  /**
   * tcpdump's immediate mode: every frame is handed over at once (a wake-up per frame) instead of in
   * ring blocks retired at most every second.
   */
  immediate: boolean
  /** Frames per batch handed to `onBatch`. */
  batchSize: number
  /** Bytes per pipe read (the reader's chunk). */
  chunkBytes: number
  /** How often to ask the process for its statistics (ms; 0: only at exit). */
  statsIntervalMs: number
  /**
   * Count GSO/GRO/TSO super-frames as the segments that cross the wire: the `mf-capture` helper reads
   * the kernel's virtio-net header of each frame and hands out one frame per segment (headers, IP
   * length and wire length of that segment). Needs an Ethernet interface and the helper built by
   * scripts/setup.sh; when either is missing the capture says so in `gsoFallback` and uses tcpdump.
   */
  gsoExact: boolean
  /** How long to wait for the process to start capturing (ms). */
  readyTimeoutMs: number
  /** Run the capture inside this named network namespace (`ip netns exec`); null: this one. */
  netns: string | null
  /**
   * The NFLOG group the interface's security groups and network ACL log their drops to (0: none).
   * With one, the `mf-capture` helper also reads the group and writes pcapng: frames of interface 0
   * were accepted, frames of interface 1 were dropped (REJECT), and an arriving frame that was then
   * dropped appears once, as dropped (see `REJECTED_IF_INDEX`). Needs the helper (`gsoExact`'s
   * conditions); without it the capture says why in `verdictFallback`.
   */
  nflogGroup: number
}

/** `FrameBatch.ifIndex` of a frame that the interface's security groups or network ACL dropped. */
export const REJECTED_IF_INDEX = 1

/** Options with their defaults: both directions, whole frames, 4 MiB buffer, batched, tcpdump. */
export function defaultCaptureOptions(iface: string, filter = ''): CaptureOptions {
  return {
    iface,
    filter,
    snaplen: SNAPLEN_WHOLE,
    bufferKiB: 4096,
    direction: 'inout',
    immediate: false,
    batchSize: 2048,
    chunkBytes: 1 << 20,
    statsIntervalMs: 1000,
    gsoExact: false,
    readyTimeoutMs: 15_000,
    netns: null,
    nflogGroup: 0,
  }
}

/** Argument vector of a tcpdump run with these options (exported for the docs and tests). */
export function tcpdumpArgv(o: CaptureOptions): string[] {
  const argv = ['tcpdump', '-n', '-U', '-B', String(o.bufferKiB), '-s', String(o.snaplen)]
  argv.push('--time-stamp-precision', 'nano')
  if (o.direction !== 'inout') argv.push('-Q', o.direction)
  if (o.immediate) argv.push('--immediate-mode')
  argv.push('-i', o.iface, '-w', '-')
  if (o.filter !== '') argv.push(o.filter)
  return argv
}

/** The capture's counters. */
export interface CaptureStats {
  /** Frames handed to `onBatch` (with `gsoExact`: segments). */
  frames: number
  /** Frames the process reported as captured, as last reported. */
  captured: number
  /** Frames the kernel dropped before the process could read them, as last reported. */
  kernelDrops: number
  /** `gsoExact`: super-frames (GSO/GRO/TSO) read, and the segments they were split into. */
  gsoFrames: number
  gsoSegments: number
  /** `gsoExact`: frames whose GSO type the helper cannot split (counted as one frame each). */
  gsoUnknown: number
  /** `nflogGroup`: dropped packets read from NFLOG, by direction. */
  rejectedIn: number
  rejectedOut: number
  /** `nflogGroup`: times the NFLOG socket overflowed (drops were lost, not recorded). */
  nflogLost: number
}

/**
 * The child's stdout (the pcap stream). A child without one (not spawned with a pipe) is killed and
 * `MF_CAPTURE` thrown: nothing could ever be read from it.
 */
export function captureStdout(child: ChildProcess, iface: string): Readable {
  if (child.stdout !== null) return child.stdout
  child.kill('SIGKILL')
  throw new CaptureError(`capture on ${iface}: no stdout to read the capture from`, iface)
}

/** Latest value of a counter line in the process's statistics (-1 when absent). */
function lastCount(text: string, re: RegExp): number {
  let v = -1
  for (const m of text.matchAll(re)) v = Number(m[1])
  return v
}

/**
 * A running live capture. Frames reach `onBatch` in batches (valid only during the call, see
 * `FrameBatch`); link type and timestamps (ns) are the stream's.
 */
export class LiveCapture {
  readonly options: CaptureOptions
  /** `mf-capture` (GSO-exact) or `tcpdump`. */
  readonly engine: 'mf-capture' | 'tcpdump'
  /** Why `gsoExact` was asked for but tcpdump is used ('' otherwise). */
  readonly gsoFallback: string
  /** Why `nflogGroup` was given but dropped packets are not recorded ('' otherwise). */
  verdictFallback = ''
  /** The link type the process announced (e.g. `EN10MB`). */
  linkType = ''
  readonly stats: CaptureStats = {
    frames: 0,
    captured: 0,
    kernelDrops: 0,
    gsoFrames: 0,
    gsoSegments: 0,
    gsoUnknown: 0,
    rejectedIn: 0,
    rejectedOut: 0,
    nflogLost: 0,
  }
  /** Why the capture ended on its own ('' while it runs or after a clean stop). */
  lastError = ''
  readonly #child: ChildProcess
  readonly #exited: Promise<number | null>
  #stderr = ''
  #spawnError: Error | null = null
  #done: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | null = null
  #stopping = false
  #ended = false

  private constructor(options: CaptureOptions, argv: string[], engine: LiveCapture['engine'], why: string) {
    this.options = options
    this.engine = engine
    this.gsoFallback = why
    this.#child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#exited = new Promise((resolve) => {
      // 'close', not 'exit': by then stderr is read to its end, final statistics included.
      this.#child.once('close', (code) => resolve(code))
      this.#child.once('error', (err) => {
        this.#spawnError = err
        resolve(null)
      })
    })
    this.#child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr += d
      this.#parseStats()
      if (this.#stderr.length > 4 * STDERR_KEEP) this.#stderr = this.#stderr.slice(-STDERR_KEEP)
    })
  }

  /**
   * Starts the capture and resolves once it is capturing. `onBatch` receives every batch; `onFailure`
   * is called once if the capture later ends without `stop()`. Throws `CaptureError` (`MF_CAPTURE`)
   * when the process cannot start or does not start capturing within `readyTimeoutMs`.
   */
  static async start(
    options: CaptureOptions,
    onBatch: (batch: FrameBatch) => void,
    onFailure: (err: CaptureError) => void = () => {},
  ): Promise<LiveCapture> {
    let argv = tcpdumpArgv(options)
    let engine: LiveCapture['engine'] = 'tcpdump'
    let why = ''
    if (options.gsoExact || options.nflogGroup > 0) {
      const reason = supportsGsoExact(options.iface, options.netns)
      if (reason === '') {
        const program = await compileFilter(options.iface, options.filter, options.netns)
        argv = [gsoHelperPath(), ...helperArgs(options, program)]
        engine = 'mf-capture'
      } else why = reason
    }
    if (options.netns !== null) argv = ['ip', 'netns', 'exec', options.netns, ...argv]
    const c = new LiveCapture(options, argv, engine, why)
    if (options.nflogGroup > 0 && engine !== 'mf-capture')
      c.verdictFallback = `dropped packets are not recorded: ${why}`
    const stdout = captureStdout(c.#child, options.iface)
    let timer: NodeJS.Timeout | undefined
    const ready = await Promise.race([
      c.#exited.then(() => 'exited' as const),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), options.readyTimeoutMs))),
      new Promise<'ready'>((resolve) => {
        const check = (): void => {
          if (!c.#stderr.includes('listening on')) return
          c.#child.stderr?.off('data', check)
          resolve('ready')
        }
        c.#child.stderr?.on('data', check)
      }),
    ])
    clearTimeout(timer)
    if (ready !== 'ready') {
      c.#child.kill('SIGKILL')
      await c.#exited
      const detail = c.#spawnError?.message ?? (c.#stderr.trim() || 'no output')
      const what = ready === 'timeout' ? `did not start within ${options.readyTimeoutMs} ms` : 'failed'
      throw new CaptureError(`${engine} on ${options.iface} ${what}: ${detail}`, options.iface)
    }
    c.linkType = /link-type (\S+)/.exec(c.#stderr)?.[1] ?? ''
    c.#done = (async () => {
      const name = `${engine} -i ${options.iface}`
      const batches = readCapture(stdout, {
        batchSize: options.batchSize,
        chunkBytes: options.chunkBytes,
        name,
      })
      for await (const batch of batches) {
        c.stats.frames += batch.count
        onBatch(batch)
      }
    })()
    // Kept observed so that a broken pipe is reported through onFailure, not as an unhandled rejection.
    c.#done.catch((err: unknown) => {
      c.lastError = (err as Error).message
      // A reader that stopped leaves the process writing into a pipe nobody reads.
      c.#child.kill('SIGKILL')
    })
    void Promise.all([c.#exited, c.#done.catch(() => undefined)]).then(([code]) => {
      c.#ended = true
      if (c.#timer !== null) clearInterval(c.#timer)
      if (c.#stopping) return
      const tail = c.#stderr.trim().split('\n').slice(-2).join('; ')
      const status = code ?? c.#child.signalCode
      if (c.lastError === '') c.lastError = `${engine} exited (${status})${tail ? `: ${tail}` : ''}`
      onFailure(new CaptureError(`capture on ${options.iface} ended: ${c.lastError}`, options.iface))
    })
    if (options.statsIntervalMs > 0) {
      c.#timer = setInterval(() => c.#child.kill('SIGUSR1'), options.statsIntervalMs)
      c.#timer.unref()
    }
    return c
  }

  #parseStats(): void {
    const s = this.stats
    const text = this.#stderr
    const captured = lastCount(text, /(\d+) packets? captured/g)
    const drops = lastCount(text, /(\d+) packets? dropped by kernel/g)
    if (captured >= 0) s.captured = captured
    if (drops >= 0) s.kernelDrops = drops
    const gso = /(\d+) gso frames?, (\d+) segments?, (\d+) unknown/g
    let m: RegExpExecArray | null = null
    for (const x of text.matchAll(gso)) m = x
    if (m !== null) {
      s.gsoFrames = Number(m[1])
      s.gsoSegments = Number(m[2])
      s.gsoUnknown = Number(m[3])
    }
    const v = /(\d+) rejected in, (\d+) rejected out, (\d+) matched, (\d+) lost/g
    let w: RegExpExecArray | null = null
    for (const x of text.matchAll(v)) w = x
    if (w !== null) {
      s.rejectedIn = Number(w[1])
      s.rejectedOut = Number(w[2])
      s.nflogLost = Number(w[4])
    }
  }

  /** Whether the capture has ended (stopped, or failed on its own). */
  get ended(): boolean {
    return this.#ended
  }

  /** The capture process's id. */
  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The process's stderr so far (its tail). */
  get log(): string {
    return this.#stderr
  }

  /**
   * Ends the capture: waits for libpcap's block timeout (tcpdump without immediate mode hands frames
   * over in blocks retired at most every second, and a block still open at the stop would be lost),
   * stops the process, and resolves once every frame it captured has reached `onBatch` and its final
   * statistics are read.
   */
  async stop(): Promise<void> {
    this.#stopping = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const wait = this.engine === 'tcpdump' && !this.options.immediate ? BLOCK_TIMEOUT_MS : 50
      await new Promise((r) => setTimeout(r, wait))
      this.#child.kill('SIGINT')
    }
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), 3000)
    await this.#exited
    await this.#done.catch(() => undefined)
    clearTimeout(kill)
    this.#parseStats()
  }
}

/** Arguments of the `mf-capture` helper for these options and a compiled filter program. */
function helperArgs(o: CaptureOptions, program: string): string[] {
  return [
    '-i',
    o.iface,
    '-s',
    String(Math.min(o.snaplen, SNAPLEN_WHOLE)),
    '-B',
    String(o.bufferKiB),
    '-Q',
    o.direction,
    '-f',
    program,
    ...(o.nflogGroup > 0 ? ['-g', String(o.nflogGroup)] : []),
  ]
}
