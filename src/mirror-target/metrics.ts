// SPDX-License-Identifier: Apache-2.0
/**
 * The target's Prometheus metrics. Counters are kept as plain numbers on the hot path and read
 * into prom-client only when /metrics is scraped (collect callbacks), so receiving costs no label
 * lookups. Each target owns its own Registry, so several can run in one process (tests, demo).
 * @module
 */
import { Counter, Gauge, Registry } from 'prom-client'

/** What the metrics read; implemented by MirrorTarget. */
export interface TargetCounters {
  datagrams(): number
  malformed: Record<string, number>
  drops: Record<string, number>
  writeErrors(): number
  sessions(): Array<{ vni: number; source: string; packets: number; bytes: number; pcapFiles: number }>
}

export function createTargetMetrics(src: TargetCounters): Registry {
  const registry = new Registry()
  new Counter({
    name: 'mirrorflow_target_datagrams_total',
    help: 'UDP datagrams received on the VXLAN socket',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.datagrams())
    },
  })
  new Counter({
    name: 'mirrorflow_target_packets_total',
    help: 'Inner packets received, per session (VNI and source address)',
    labelNames: ['vni', 'source'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of src.sessions()) this.inc({ vni: String(s.vni), source: s.source }, s.packets)
    },
  })
  new Counter({
    name: 'mirrorflow_target_bytes_total',
    help: 'Inner frame bytes received, per session',
    labelNames: ['vni', 'source'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of src.sessions()) this.inc({ vni: String(s.vni), source: s.source }, s.bytes)
    },
  })
  new Counter({
    name: 'mirrorflow_target_malformed_total',
    help: 'Datagrams that are not a valid VXLAN packet, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [reason, n] of Object.entries(src.malformed)) this.inc({ reason }, n)
    },
  })
  new Counter({
    name: 'mirrorflow_target_drops_total',
    help: 'Packets lost, by stage: socket (kernel receive buffer), forward (interface hand-off)',
    labelNames: ['stage'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [stage, n] of Object.entries(src.drops)) this.inc({ stage }, n)
    },
  })
  new Counter({
    name: 'mirrorflow_target_write_errors_total',
    help: 'Failed pcap file writes, flushes and closes (disk full, I/O error); their frames are lost',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.writeErrors())
    },
  })
  new Gauge({
    name: 'mirrorflow_target_sessions',
    help: 'Sessions (VNI, source) seen since start',
    registers: [registry],
    collect() {
      this.set(src.sessions().length)
    },
  })
  new Gauge({
    name: 'mirrorflow_target_pcap_files',
    help: 'pcap files kept per session',
    labelNames: ['vni', 'source'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of src.sessions()) this.set({ vni: String(s.vni), source: s.source }, s.pcapFiles)
    },
  })
  return registry
}
