// SPDX-License-Identifier: Apache-2.0
/**
 * Configuration of the mirror target: where it listens, where it writes, and how large its pcap
 * rings grow. `defaultTargetConfig()` is what "embedded defaults" means for `mirrorflow target`.
 * @module
 */
import { parseHostPort as parseListen } from '../runtime/index.ts'
import { parseAllowSources } from './allow-list.ts'
import { TargetConfigError } from './errors.ts'
import { DEFAULT_ACCOUNT_ID } from '../flowlogs/index.ts'

/** Limits of one session's rotating pcap ring. */
export interface PcapRingConfig {
  /** Rotate the current file once it holds at least this many bytes. */
  maxFileBytes: number
  /** Rotate the current file once it is this old (seconds since its first packet). */
  maxFileSeconds: number
  /** Files kept per session, the current one included; older ones are deleted. */
  keepFiles: number
  /** Bytes kept of each inner frame (pcap snaplen); longer frames are truncated with orig_len kept. */
  snaplen: number
  /** All sessions' pcap files together: at most this many bytes; the oldest files go first. */
  maxTotalBytes: number
  /** All sessions' pcap files together: at most this many files (each costs an inode). */
  maxTotalFiles: number
  /**
   * Reorder window, ms: a frame is held this long (stream time) before it is written, so that a
   * frame that arrives late (a reassembled datagram) still goes into its place; 0 = no reordering.
   */
  reorderMs: number
  /** Memory that holds frames not yet written (reorder window and write batching), bytes. */
  stagingBytes: number
}

/**
 * Limits against remote senders: who may create a session, how many there may be, and which one
 * gives way. Every (VNI, source) pair a datagram carries can be spoofed, so each is bounded.
 */
export interface TargetLimits {
  /** Sessions (VNI, source) held at once. */
  maxSessions: number
  /** A session younger than this (seconds since its first packet) is on probation: evicted first. */
  probationSeconds: number
  /** An established session is evicted for a new one only after this many seconds without traffic. */
  idleSeconds: number
  /** pcap files held open at once (file descriptors); the least recently written is closed first. */
  maxOpenFiles: number
  /** Outer source CIDR blocks allowed to create sessions (empty: any). */
  allowSources: string[]
  /** VNI ranges allowed (inclusive pairs; empty: any). */
  allowVnis: Array<[number, number]>
}

/** Flow logs made from the inner packets of every session. */
export interface TargetFlowLogConfig {
  enabled: boolean
  /** Root of the S3-layout directory (AWSLogs/… is created below it). */
  dir: string
  accountId: string
  region: string
  /** Aggregation interval, 60 or 600 seconds. */
  aggregationSeconds: 60 | 600
  /**
   * Flows each session's aggregator holds per interval (64 bytes each, allocated when the session's
   * first frames are written); beyond it, the interval gets a SKIPDATA record.
   */
  flowTableSize: number
}

/**
 * How datagrams are received. `socket`: a UDP socket, one datagram per callback, stamped on
 * receipt by this process. `capture`: tcpdump on the listening interface piped into the pcap
 * reader, batches and kernel timestamps; the UDP socket stays bound (so the kernel sends no ICMP
 * port unreachable) but what it receives is discarded.
 */
export type ReceiveMode = 'capture' | 'socket'

export const RECEIVE_MODES: readonly ReceiveMode[] = ['capture', 'socket']

export interface TargetConfig {
  receive: ReceiveMode
  /** Capture mode: kernel capture buffer (tcpdump -B), KiB. */
  captureBufferKiB: number
  /** Capture mode: interface to capture on (null: the one holding the listen address, `any` for 0.0.0.0). */
  captureInterface: string | null
  /** UDP address the VXLAN socket binds. */
  listenHost: string
  listenPort: number
  /** Root directory: pcaps under `pcap/`, the status file, flow logs (by default) under `flowlogs/`. */
  dataDir: string
  pcap: PcapRingConfig
  limits: TargetLimits
  flowLogs: TargetFlowLogConfig
  /** Interface to hand decapsulated frames to (null: none). */
  forwardTo: string | null
  /** host:port of the Prometheus /metrics listener (null: none). */
  metricsListen: string | null
  /** Status file rewritten every `statusIntervalMs` (null: none). */
  statusFile: string | null
  statusIntervalMs: number
  /** SO_RCVBUF asked for the VXLAN socket (the kernel caps it at net.core.rmem_max unless root). */
  recvBufferBytes: number
}

/** The default receive mode (chosen by measurement: docs/target.md "Performance"). */
export const DEFAULT_RECEIVE_MODE: ReceiveMode = 'capture'

/** The embedded defaults, rooted at `dataDir`. */
export function defaultTargetConfig(dataDir = 'mirrorflow-target'): TargetConfig {
  return {
    receive: DEFAULT_RECEIVE_MODE,
    captureBufferKiB: 65536,
    captureInterface: null,
    listenHost: '0.0.0.0',
    listenPort: 4789,
    dataDir,
    pcap: {
      maxFileBytes: 64 * 1024 * 1024,
      maxFileSeconds: 300,
      keepFiles: 10,
      snaplen: 65535,
      maxTotalBytes: 8 * 1024 * 1024 * 1024,
      maxTotalFiles: 10000,
      reorderMs: 20,
      stagingBytes: 32 * 1024 * 1024,
    },
    limits: {
      maxSessions: 1024,
      probationSeconds: 2,
      idleSeconds: 300,
      maxOpenFiles: 256,
      allowSources: [],
      allowVnis: [],
    },
    flowLogs: {
      enabled: true,
      dir: `${dataDir}/flowlogs`,
      accountId: DEFAULT_ACCOUNT_ID,
      region: 'us-east-1',
      aggregationSeconds: 60,
      flowTableSize: 4096,
    },
    forwardTo: null,
    metricsListen: null,
    statusFile: `${dataDir}/status.json`,
    statusIntervalMs: 1000,
    recvBufferBytes: 32 * 1024 * 1024,
  }
}

/**
 * Splits `ADDR:PORT` (IPv6 as `[ADDR]:PORT`) with the processes' one parser (src/runtime); the VXLAN
 * listen address must name its address. Throws TargetConfigError on anything else.
 */
export function parseHostPort(s: string, what: string): { host: string; port: number } {
  if (/^\d+$/.test(s)) throw new TargetConfigError(`${what}: expected ADDR:PORT, got '${s}'`)
  try {
    return parseListen(s, what)
  } catch (err) {
    throw new TargetConfigError((err as Error).message, { cause: err })
  }
}

/** Checks a configuration; throws TargetConfigError naming the first bad field. */
export function validateTargetConfig(c: TargetConfig): void {
  const p = c.pcap
  if (!(p.maxFileBytes >= 4096))
    throw new TargetConfigError(`pcap.maxFileBytes must be >= 4096 (got ${p.maxFileBytes})`)
  if (!(p.maxFileSeconds >= 1))
    throw new TargetConfigError(`pcap.maxFileSeconds must be >= 1 (got ${p.maxFileSeconds})`)
  if (!Number.isInteger(p.keepFiles) || p.keepFiles < 1) {
    throw new TargetConfigError(`pcap.keepFiles must be an integer >= 1 (got ${p.keepFiles})`)
  }
  if (!Number.isInteger(p.snaplen) || p.snaplen < 64 || p.snaplen > 262144) {
    throw new TargetConfigError(`pcap.snaplen must be 64..262144 (got ${p.snaplen})`)
  }
  const intIn = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new TargetConfigError(`${name} must be an integer ${lo}..${hi} (got ${v})`)
  }
  intIn('pcap.maxTotalFiles', p.maxTotalFiles, 1, 10_000_000)
  if (!(p.maxTotalBytes >= p.maxFileBytes))
    throw new TargetConfigError(`pcap.maxTotalBytes must be >= pcap.maxFileBytes (got ${p.maxTotalBytes})`)
  intIn('pcap.reorderMs', p.reorderMs, 0, 10_000)
  intIn('pcap.stagingBytes', p.stagingBytes, 1 << 20, 1 << 30)
  const l = c.limits
  intIn('limits.maxSessions', l.maxSessions, 1, 1_000_000)
  intIn('limits.maxOpenFiles', l.maxOpenFiles, 1, 65536)
  if (!(l.probationSeconds >= 0 && l.probationSeconds <= 3600))
    throw new TargetConfigError(`limits.probationSeconds must be 0..3600 (got ${l.probationSeconds})`)
  if (!(l.idleSeconds >= 0 && l.idleSeconds <= 86400 * 365))
    throw new TargetConfigError(`limits.idleSeconds must be >= 0 (got ${l.idleSeconds})`)
  if (l.allowSources.length > 4096 || l.allowVnis.length > 4096)
    throw new TargetConfigError('at most 4096 allowed source blocks and 4096 VNI ranges')
  parseAllowSources(l.allowSources)
  for (const [lo, hi] of l.allowVnis) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 0xffffff || lo > hi)
      throw new TargetConfigError(`allowed VNI range ${lo}-${hi} is not within 0..16777215`)
  }
  intIn('flowLogs.flowTableSize', c.flowLogs.flowTableSize, 16, 1 << 22)
  if (c.flowLogs.aggregationSeconds !== 60 && c.flowLogs.aggregationSeconds !== 600) {
    throw new TargetConfigError(`flowLogs.aggregationSeconds must be 60 or 600`)
  }
  if (!/^\d{12}$/.test(c.flowLogs.accountId))
    throw new TargetConfigError(`flowLogs.accountId must be 12 digits`)
  if (!RECEIVE_MODES.includes(c.receive))
    throw new TargetConfigError(`receive must be ${RECEIVE_MODES.join(' or ')} (got '${String(c.receive)}')`)
  if (!Number.isInteger(c.captureBufferKiB) || c.captureBufferKiB < 64 || c.captureBufferKiB > 4194304)
    throw new TargetConfigError(`captureBufferKiB must be 64..4194304 (got ${c.captureBufferKiB})`)
  if (c.captureInterface !== null && !/^[A-Za-z0-9_.:-]{1,15}$/.test(c.captureInterface))
    throw new TargetConfigError(`captureInterface: '${c.captureInterface}' is not an interface name`)
  if (c.forwardTo !== null && !/^[A-Za-z0-9_.:-]{1,15}$/.test(c.forwardTo)) {
    throw new TargetConfigError(`forwardTo: '${c.forwardTo}' is not an interface name`)
  }
}
