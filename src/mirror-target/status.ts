// SPDX-License-Identifier: Apache-2.0
/** The target's status document (status file, `/status`, `stop()`'s result). @module */
import type { ReceiveMode, TargetLimits } from './config.ts'
import type { CaptureStatus } from './receive-capture.ts'

/** The JSON status file's shape (also returned by `stop()`). */
export interface TargetStatus {
  startedAt: string
  updatedAt: string
  listen: string
  receive: ReceiveMode
  /**
   * `running`, or `degraded` while something it should do fails (a capture being restarted, files
   * that cannot be written, the session table refusing newcomers); `stopped` after stop.
   */
  state: 'running' | 'degraded' | 'stopped'
  /** The latest failure while one lasts; null once everything works again. */
  lastError: string | null
  /** Capture mode: tcpdump's interface, filter and own counters; null in socket mode. */
  capture: CaptureStatus | null
  /** SO_RCVBUF the kernel granted (capped by net.core.rmem_max; Linux doubles the request). */
  recvBufferBytes: number
  datagrams: number
  packets: number
  bytes: number
  malformed: Record<string, number>
  /**
   * Frames lost, by stage: `socket`, `capture`, `reassembly`, `forward` (see docs/target.md),
   * `refused` (their session was refused), `evicted` (their session was evicted before they were
   * written), `pcap_write` (a file operation failed).
   */
  drops: Record<string, number>
  /** Failed pcap file operations over all sessions (opens, writes, closes); see `MF_TARGET_WRITE`. */
  writeErrors: number
  limits: TargetLimits
  sessionTable: {
    active: number
    established: number
    created: number
    evictedProbation: number
    evictedIdle: number
    refusedFull: number
    refusedSource: number
    refusedVni: number
  }
  pcap: {
    totalBytes: number
    totalFiles: number
    maxTotalBytes: number
    maxTotalFiles: number
    openFiles: number
    maxOpenFiles: number
    /** Files deleted to stay under the global caps. */
    reclaimedFiles: number
    /** Failed file operations by error code. */
    fileErrors: Record<string, number>
    reorderMs: number
    /** Frames put back in time order; frames that came after the window (written with a raised time). */
    reordered: number
    late: number
    /** Times a full staging arena cut the reorder window short. */
    forcedFlushes: number
  }
  forward: { interface: string; forwarded: number; dropped: number } | null
  sessions: Array<{
    vni: number
    source: string
    established: boolean
    packets: number
    bytes: number
    firstSeen: string
    lastSeen: string
    pcapDir: string
    currentFile: string | null
    files: Array<{ path: string; bytes: number }>
    pcapWriteErrors: number
  }>
  flowLogs: Record<string, unknown> | null
}
