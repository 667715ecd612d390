// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's Prometheus metrics, read from its state when /metrics is scraped.
 *
 * Mirroring uses AWS's CloudWatch metric names (spec-traffic-mirroring §4.1) as Prometheus names
 * with the `mirrorflow_` prefix and labels `instance_id`, `interface_id`, `session_id`:
 * `NetworkMirrorIn/Out` (bytes), `NetworkPacketsMirrorIn/Out`, `NetworkSkipMirrorIn/Out`,
 * `NetworkPacketsSkipMirrorIn/Out`. How they are measured: the user-space path counts per session
 * and direction; the kernel path counts at each session's vxlan device — see docs/agent.md for what
 * each path can split by direction.
 * @module
 */
import { Counter, Gauge, Registry } from 'prom-client'

/** One row of mirror counters. */
export interface MirrorCounterRow {
  interfaceId: string
  sessionId: string
  /** Bytes of original packets (outer headers not counted), packets; per direction. */
  inBytes: number
  outBytes: number
  inPackets: number
  outPackets: number
  skipInBytes: number
  skipOutBytes: number
  skipInPackets: number
  skipOutPackets: number
}

/** What the metrics read; the agent implements it. */
export interface AgentMetricsSource {
  instanceId(): string
  mirrorRows(): MirrorCounterRow[]
  captureRows(): Array<{ ifname: string; interfaceId: string; packets: number; kernelDropped: number }>
  flowLogRows(): Array<{
    flowLogId: string
    records: number
    nodataRecords: number
    skipdataRecords: number
    skippedRecordsSpoolFull: number
    /** Failed capture-journal file operations (MF_AGENT_WRITE) and spool objects not written (MF_FLOWLOGS_WRITE). */
    writeErrors: number
    /** Records lost with spool objects that could not be written. */
    droppedRecords: number
  }>
  delivery(): {
    delivered: number
    failures: number
    rejected: number
    spooledObjects: number
    spooledBytes: number
  }
  reconciles(): { ok: number; failed: number; version: number }
}

const MIRROR: Array<[string, keyof MirrorCounterRow, string]> = [
  ['NetworkMirrorIn', 'inBytes', 'Received bytes that were mirrored'],
  ['NetworkMirrorOut', 'outBytes', 'Sent bytes that were mirrored'],
  ['NetworkPacketsMirrorIn', 'inPackets', 'Received packets that were mirrored'],
  ['NetworkPacketsMirrorOut', 'outPackets', 'Sent packets that were mirrored'],
  ['NetworkSkipMirrorIn', 'skipInBytes', 'Received bytes that matched a filter but were not mirrored'],
  ['NetworkSkipMirrorOut', 'skipOutBytes', 'Sent bytes that matched a filter but were not mirrored'],
  [
    'NetworkPacketsSkipMirrorIn',
    'skipInPackets',
    'Received packets that matched a filter but were not mirrored',
  ],
  [
    'NetworkPacketsSkipMirrorOut',
    'skipOutPackets',
    'Sent packets that matched a filter but were not mirrored',
  ],
]

export function createAgentMetrics(src: AgentMetricsSource): Registry {
  const registry = new Registry()
  for (const [name, field, help] of MIRROR) {
    new Counter({
      name: `mirrorflow_${name}`,
      help,
      labelNames: ['instance_id', 'interface_id', 'session_id'],
      registers: [registry],
      collect() {
        this.reset()
        for (const r of src.mirrorRows()) {
          this.inc(
            { instance_id: src.instanceId(), interface_id: r.interfaceId, session_id: r.sessionId },
            r[field] as number,
          )
        }
      },
    })
  }
  new Counter({
    name: 'mirrorflow_agent_capture_packets_total',
    help: 'Packets captured for flow logs, per interface',
    labelNames: ['ifname', 'interface_id'],
    registers: [registry],
    collect() {
      this.reset()
      for (const r of src.captureRows())
        this.inc({ ifname: r.ifname, interface_id: r.interfaceId }, r.packets)
    },
  })
  new Counter({
    name: 'mirrorflow_agent_capture_kernel_drops_total',
    help: 'Packets the kernel dropped before the flow-log capture read them (tcpdump report)',
    labelNames: ['ifname', 'interface_id'],
    registers: [registry],
    collect() {
      this.reset()
      for (const r of src.captureRows())
        this.inc({ ifname: r.ifname, interface_id: r.interfaceId }, r.kernelDropped)
    },
  })
  for (const [name, field, help] of [
    ['records', 'records', 'Flow-log records written (OK, NODATA and SKIPDATA)'],
    ['nodata_records', 'nodataRecords', 'NODATA records written'],
    ['skipdata_records', 'skipdataRecords', 'SKIPDATA records written'],
    [
      'spool_full_records',
      'skippedRecordsSpoolFull',
      'Records not spooled because the spool was full (accounted by SKIPDATA)',
    ],
    [
      'write_errors',
      'writeErrors',
      'Failed capture-journal writes and spool objects not written (disk full, no descriptor, name too long, refused path)',
    ],
    ['dropped_records', 'droppedRecords', 'Records lost with spool objects that could not be written'],
  ] as const) {
    new Counter({
      name: `mirrorflow_agent_flowlog_${name}_total`,
      help,
      labelNames: ['flow_log_id'],
      registers: [registry],
      collect() {
        this.reset()
        for (const r of src.flowLogRows()) this.inc({ flow_log_id: r.flowLogId }, r[field])
      },
    })
  }
  new Counter({
    name: 'mirrorflow_agent_delivered_objects_total',
    help: 'Flow-log objects delivered to their destination',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.delivery().delivered)
    },
  })
  new Counter({
    name: 'mirrorflow_agent_delivery_failures_total',
    help: 'Failed delivery attempts (retried with back-off)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.delivery().failures)
    },
  })
  new Counter({
    name: 'mirrorflow_agent_delivery_rejected_objects_total',
    help: 'Spooled objects the store can never take (refused path, name too long), removed from the spool',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.delivery().rejected)
    },
  })
  new Gauge({
    name: 'mirrorflow_agent_spool_bytes',
    help: 'Bytes waiting in the delivery spool',
    registers: [registry],
    collect() {
      this.set(src.delivery().spooledBytes)
    },
  })
  new Gauge({
    name: 'mirrorflow_agent_desired_state_version',
    help: 'Version of the desired state last applied',
    registers: [registry],
    collect() {
      this.set(src.reconciles().version)
    },
  })
  new Counter({
    name: 'mirrorflow_agent_reconcile_failures_total',
    help: 'Reconciliations that failed (retried)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.reconciles().failed)
    },
  })
  return registry
}
