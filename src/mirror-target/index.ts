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
 * It does not reorder or deduplicate: each datagram's inner frame is written as received (fragmented
 * datagrams are reassembled: by the kernel in socket mode, by `Ipv4Reassembler` in capture mode). GENEVE (a GWLB in front of the target) is not unwrapped.
 * @module
 */
export {
  DEFAULT_RECEIVE_MODE,
  defaultTargetConfig,
  parseHostPort,
  RECEIVE_MODES,
  validateTargetConfig,
} from './config.ts'
export type { PcapRingConfig, ReceiveMode, TargetConfig, TargetFlowLogConfig } from './config.ts'
export { TargetBindError, TargetCaptureError, TargetConfigError, TargetForwardError } from './errors.ts'
export { captureFilter, interfaceOf, tcpdumpArgv, TcpdumpCapture } from './capture.ts'
export { demuxVxlanBatch } from './ingest.ts'
export type { DemuxContext, DemuxSession } from './ingest.ts'
export { Ipv4Reassembler } from './reassembly.ts'
export { FrameForwarder } from './forwarder.ts'
export { TargetFlowLogSink, targetFlowLogId } from './flowlog-sink.ts'
export { PcapRing } from './pcap-ring.ts'
export { MirrorTarget, readUdpSocketDrops } from './target.ts'
export type { InnerFrameSink, TargetSession, TargetStatus } from './target.ts'
