// SPDX-License-Identifier: Apache-2.0
/**
 * The target's Prometheus metrics. Counters are kept as plain numbers on the hot path and read
 * into prom-client only when /metrics is scraped (collect callbacks), so receiving costs no label
 * lookups. Each target owns its own Registry, so several can run in one process (tests, demo).
 * Per-session series exist only for the sessions in the table (at most `--max-sessions`).
 * @module
 */
import { performance } from 'node:perf_hooks'
import { Counter, Gauge, Registry } from 'prom-client'
import type { TargetStatus } from './status.ts'

/** What the metrics read; implemented by MirrorTarget. */
export interface TargetCounters {
  status(): TargetStatus
}

export function createTargetMetrics(src: TargetCounters): Registry {
  const registry = new Registry()
  // One status snapshot per scrape, shared by every metric's collect (they run in order).
  let snap: TargetStatus | null = null
  let snapAt = -1
  const st = (): TargetStatus => {
    const now = performance.now()
    if (snap === null || now - snapAt > 50) {
      snap = src.status()
      snapAt = now
    }
    return snap
  }
  const counter = (name: string, help: string, value: (s: TargetStatus) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(value(st()))
      },
    })
  }
  const gauge = (name: string, help: string, value: (s: TargetStatus) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(st()))
      },
    })
  }
  const labelled = (
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    label: string,
    values: (s: TargetStatus) => Record<string, number>,
  ): void => {
    const o = {
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect(this: Counter | Gauge) {
        this.reset()
        for (const [k, n] of Object.entries(values(st()))) {
          if (this instanceof Counter) this.inc({ [label]: k }, n)
          else this.set({ [label]: k }, n)
        }
      },
    }
    if (kind === 'counter') new Counter(o)
    else new Gauge(o)
  }
  const perSession = (
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    value: (s: TargetStatus['sessions'][number]) => number,
  ): void => {
    const o = {
      name,
      help,
      labelNames: ['vni', 'source'],
      registers: [registry],
      collect(this: Counter | Gauge) {
        this.reset()
        for (const s of st().sessions) {
          const l = { vni: String(s.vni), source: s.source }
          if (this instanceof Counter) this.inc(l, value(s))
          else this.set(l, value(s))
        }
      },
    }
    if (kind === 'counter') new Counter(o)
    else new Gauge(o)
  }
  counter(
    'mirrorflow_target_datagrams_total',
    'UDP datagrams received on the VXLAN socket',
    (s) => s.datagrams,
  )
  perSession(
    'counter',
    'mirrorflow_target_packets_total',
    'Inner packets received, per session (VNI and source address)',
    (s) => s.packets,
  )
  perSession(
    'counter',
    'mirrorflow_target_bytes_total',
    'Inner frame bytes received, per session',
    (s) => s.bytes,
  )
  labelled(
    'counter',
    'mirrorflow_target_malformed_total',
    'Datagrams that are not a valid VXLAN packet, by reason',
    'reason',
    (s) => s.malformed,
  )
  labelled(
    'counter',
    'mirrorflow_target_drops_total',
    'Frames lost, by stage: socket, capture, reassembly, forward, refused, evicted, pcap_write',
    'stage',
    (s) => s.drops,
  )
  counter(
    'mirrorflow_target_write_errors_total',
    'Failed pcap file operations (opens, writes, closes); their frames are lost',
    (s) => s.writeErrors,
  )
  labelled(
    'counter',
    'mirrorflow_target_file_errors_total',
    'Failed pcap file operations by error code',
    'code',
    (s) => s.pcap.fileErrors,
  )
  gauge(
    'mirrorflow_target_sessions',
    'Sessions (VNI, source) in the session table',
    (s) => s.sessionTable.active,
  )
  gauge(
    'mirrorflow_target_sessions_established',
    'Sessions past probation',
    (s) => s.sessionTable.established,
  )
  counter('mirrorflow_target_sessions_created_total', 'Sessions created', (s) => s.sessionTable.created)
  labelled(
    'counter',
    'mirrorflow_target_sessions_evicted_total',
    'Sessions evicted to make room, by class',
    'class',
    (s) => ({
      probation: s.sessionTable.evictedProbation,
      idle: s.sessionTable.evictedIdle,
    }),
  )
  labelled(
    'counter',
    'mirrorflow_target_sessions_refused_total',
    'New (VNI, source) pairs refused, by reason',
    'reason',
    (s) => ({
      full: s.sessionTable.refusedFull,
      source: s.sessionTable.refusedSource,
      vni: s.sessionTable.refusedVni,
    }),
  )
  perSession('gauge', 'mirrorflow_target_pcap_files', 'pcap files kept per session', (s) => s.files.length)
  gauge(
    'mirrorflow_target_pcap_disk_bytes',
    'Bytes of all pcap files under the data directory',
    (s) => s.pcap.totalBytes,
  )
  gauge('mirrorflow_target_pcap_disk_files', 'pcap files under the data directory', (s) => s.pcap.totalFiles)
  gauge('mirrorflow_target_pcap_open_files', 'pcap files held open', (s) => s.pcap.openFiles)
  counter(
    'mirrorflow_target_pcap_reclaimed_files_total',
    'pcap files deleted to stay under the global disk caps',
    (s) => s.pcap.reclaimedFiles,
  )
  counter(
    'mirrorflow_target_pcap_reordered_total',
    'Frames put back in time order before being written',
    (s) => s.pcap.reordered,
  )
  counter(
    'mirrorflow_target_pcap_late_total',
    'Frames that arrived after the reorder window (written with a raised time)',
    (s) => s.pcap.late,
  )
  return registry
}
