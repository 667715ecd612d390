// SPDX-License-Identifier: Apache-2.0
/**
 * The mirror target (the "appliance" end of Traffic Mirroring): VXLAN receive on UDP 4789, demux by
 * (VNI, source address), a rotating pcap ring per session, flow logs of the inner packets, counters
 * on /metrics and in a JSON status file, and optional hand-off of the inner frames to a local
 * interface for Suricata, Zeek or tcpdump.
 *
 * ```ts
 * const cfg = defaultTargetConfig('/var/lib/mirrorflow/target')
 * const target = await MirrorTarget.start(cfg)
 * // … VXLAN arrives; pcaps appear under /var/lib/mirrorflow/target/pcap/vni-<VNI>_<source>/
 * const status = await target.stop()
 * ```
 *
 * Each pcap is in time order: frames wait in a bounded reorder window before they are written
 * (fragmented datagrams are reassembled: by the kernel in socket mode, by `Ipv4Reassembler` in
 * capture mode, and can arrive late). It does not deduplicate. GENEVE (a GWLB in front of the
 * target) is not unwrapped. Sessions, descriptors and disk are bounded against spoofed senders.
 * @module
 */
export {
  DEFAULT_RECEIVE_MODE,
  defaultTargetConfig,
  parseHostPort,
  RECEIVE_MODES,
  validateTargetConfig,
} from './config.ts'
export type {
  PcapRingConfig,
  ReceiveMode,
  TargetConfig,
  TargetFlowLogConfig,
  TargetLimits,
} from './config.ts'
export { AllowList, parseVniRanges } from './allow-list.ts'
export { SessionTable } from './sessions.ts'
export { PcapDisk } from './pcap-disk.ts'
export { PcapStaging } from './pcap-staging.ts'
export { TargetBindError, TargetCaptureError, TargetConfigError, TargetForwardError } from './errors.ts'
export { captureFilter, interfaceOf } from './capture.ts'
export { demuxVxlanBatch } from './ingest.ts'
export type { DemuxContext, DemuxSession } from './ingest.ts'
export { Ipv4Reassembler } from './reassembly.ts'
export { FrameForwarder } from './forwarder.ts'
export { TargetFlowLogSink, targetFlowLogId, type TargetLogGroup } from './flowlog-sink.ts'
export { PcapRing } from './pcap-ring.ts'
export { MirrorTarget, readUdpSocketDrops } from './target.ts'
export type { InnerFrameSink, TargetOptions, TargetSession, TargetStatus } from './target.ts'
export type { TargetLog } from './target-runtime.ts'
export { extractFlow, parseFlowSpec, addressBytes, MAX_EXTRACT_BYTES } from './pcap-extract.ts'
export type { Extraction, FlowQuery } from './pcap-extract.ts'
export { startPacketService, type PacketService } from './packet-service.ts'
export { frameFlowHash, flowHash, INDEX_BITS } from './pcap-index.ts'
