// SPDX-License-Identifier: Apache-2.0
/**
 * The capture receive mode's frame source: `tcpdump -U -B <KiB> -s 0 -w -` on the listening
 * interface, piped into the streaming pcap reader (STYLE.md "Chosen dependencies": ~660 k pkt/s
 * without loss, exact kernel drop counts, no native addon). The kernel stamps each frame (ns), the
 * kernel ring (`-B`) absorbs bursts, and frames reach us in batches of one pipe read.
 *
 * libpcap's TPACKET_V3 ring hands blocks over when full or after its 1 s timeout, so a frame can
 * take up to ~1 s to arrive when traffic is light; `stop()` waits that long before it ends tcpdump
 * so that nothing received before the stop is lost. Kernel drop counts come from tcpdump's own
 * statistics (SIGUSR1 every second, and its final report).
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readCapture, type FrameBatch } from '../packet/index.ts'
import { TargetCaptureError } from './errors.ts'

/** libpcap's block timeout as tcpdump sets it (ms), plus a margin. */
const BLOCK_TIMEOUT_MS = 1100

export interface CaptureSpec {
  /** Interface name, or `any`. */
  iface: string
  /** BPF filter expression. */
  filter: string
  /** Kernel capture buffer (tcpdump -B), KiB. */
  bufferKiB: number
}

/**
 * The interface that holds `host` in this network namespace (`any` for the wildcard addresses),
 * from `ip -o addr`. Throws TargetCaptureError when no interface has it.
 */
export function interfaceOf(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'any'
  const r = spawnSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' })
  if (r.status !== 0) throw new TargetCaptureError(`cannot list addresses: ${r.stderr || r.error?.message}`)
  for (const line of r.stdout.split('\n')) {
    const c = line.trim().split(/\s+/)
    // "2: eth0    inet 10.0.0.1/24 brd … scope global eth0 …"
    if ((c[2] === 'inet' || c[2] === 'inet6') && c[3]?.split('/')[0] === host)
      return (c[1] as string).replace(/@.*$/, '')
  }
  throw new TargetCaptureError(`no interface has the address ${host}: cannot capture its VXLAN`)
}

/**
 * The BPF filter of the datagrams the socket bound to `host:port` would receive, plus the later
 * fragments of IPv4 UDP datagrams (they carry no port; the reassembler sorts them out).
 */
export function captureFilter(host: string, port: number): string {
  const v6 = host.includes(':')
  const dst = host === '0.0.0.0' || host === '::' ? '' : ` and dst host ${host}`
  if (v6) return `ip6${dst} and udp dst port ${port}`
  return `ip${dst} and (udp dst port ${port} or (ip proto 17 and ip[6:2] & 0x1fff != 0))`
}

/** Argument vector of the tcpdump run (exported for the benchmark and docs). */
export function tcpdumpArgv(spec: CaptureSpec): string[] {
  return [
    'tcpdump',
    '-n',
    '-U',
    '-B',
    String(spec.bufferKiB),
    '-s',
    '0',
    '--time-stamp-precision',
    'nano',
    '-Q',
    'in',
    '-i',
    spec.iface,
    '-w',
    '-',
    spec.filter,
  ]
}

export class TcpdumpCapture {
  readonly spec: CaptureSpec
  /** Frames the kernel dropped (tcpdump's "dropped by kernel"), as last reported. */
  kernelDrops = 0
  /** Frames tcpdump reported as captured, as last reported. */
  captured = 0
  /** Link type line of tcpdump, e.g. `LINUX_SLL2`. */
  linkType = ''
  private readonly child: ChildProcess
  private stderr = ''
  private done: Promise<void> = Promise.resolve()
  private exited: Promise<number | null>
  private timer: NodeJS.Timeout | null = null
  private failure: Error | null = null
  private stopping = false

  private constructor(spec: CaptureSpec) {
    this.spec = spec
    const argv = tcpdumpArgv(spec)
    this.child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    this.exited = new Promise((r) => {
      this.child.once('exit', (code) => r(code))
      this.child.once('error', (err) => {
        this.failure = err
        r(null)
      })
    })
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d
      this.parseStats()
      if (this.stderr.length > 65536) this.stderr = this.stderr.slice(-4096)
    })
  }

  /**
   * Starts tcpdump and resolves once it is capturing; `onBatch` gets every batch of captured frames
   * (valid only during the call). Throws TargetCaptureError if tcpdump cannot start.
   */
  static async start(
    spec: CaptureSpec,
    onBatch: (batch: FrameBatch) => void,
    onFailure: (err: Error) => void = () => {},
  ): Promise<TcpdumpCapture> {
    const c = new TcpdumpCapture(spec)
    const ready = await Promise.race([
      c.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        const check = (): void => {
          if (c.stderr.includes('listening on')) {
            c.child.stderr!.off('data', check)
            resolve(true)
          }
        }
        c.child.stderr!.on('data', check)
      }),
    ])
    if (!ready) {
      const why = c.failure?.message ?? c.stderr.trim()
      throw new TargetCaptureError(`tcpdump ${spec.iface} '${spec.filter}' failed: ${why}`)
    }
    const m = /link-type (\S+)/.exec(c.stderr)
    c.linkType = m?.[1] ?? ''
    c.done = (async () => {
      for await (const batch of readCapture(c.child.stdout!, { batchSize: 2048, name: 'tcpdump' }))
        onBatch(batch)
    })()
    // Kept observed so that a broken pipe is reported at stop(), not as an unhandled rejection.
    c.done.catch((err: unknown) => {
      c.failure = err as Error
    })
    // A capture that ends on its own (tcpdump killed, the pipe broken, a frame handler throwing) is a
    // failure the owner must hear of: it would otherwise stop receiving in silence.
    void Promise.all([c.exited, c.done.catch(() => undefined)]).then(([code]) => {
      if (c.stopping) return
      const tail = c.stderr.trim().split('\n').slice(-2).join('; ')
      const why =
        c.failure?.message ?? `tcpdump exited (${code ?? c.child.signalCode})${tail ? `: ${tail}` : ''}`
      onFailure(new TargetCaptureError(`capture on ${spec.iface} ended: ${why}`))
    })
    c.timer = setInterval(() => c.child.kill('SIGUSR1'), 1000)
    c.timer.unref()
    return c
  }

  private parseStats(): void {
    const last = (re: RegExp): number => {
      let v = -1
      for (const m of this.stderr.matchAll(re)) v = Number(m[1])
      return v
    }
    const captured = last(/(\d+) packets? captured/g)
    const drops = last(/(\d+) packets? dropped by kernel/g)
    if (captured >= 0) this.captured = captured
    if (drops >= 0) this.kernelDrops = drops
  }

  /** tcpdump's stderr so far (tail). */
  get log(): string {
    return this.stderr
  }

  /**
   * Waits for libpcap's block timeout (so frames received before the call are delivered), ends
   * tcpdump, waits for the last frames to be read and its final statistics.
   */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise((r) => setTimeout(r, BLOCK_TIMEOUT_MS))
      this.child.kill('SIGINT')
    }
    await this.exited
    await this.done.catch(() => undefined)
    this.parseStats()
  }
}
