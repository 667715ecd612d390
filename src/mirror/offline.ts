// SPDX-License-Identifier: Apache-2.0
/**
 * Offline mirroring: what the sessions of a state would send for a capture, written as a pcap of
 * complete VXLAN frames (outer Ethernet/IP/UDP/VXLAN + inner frame), one per mirrored packet, with
 * the inner packet's timestamp. The outer headers are built by `prependOuter` exactly as AWS does.
 * @module
 */
import { LinkType, parseIPv4, parseIPv6, parseMAC, PcapWriter, readCapture } from '../packet/index.ts'
import type { FrameBatch } from '../packet/index.ts'
import { HEADROOM, prependOuter, type OuterAddressing } from './encapsulate.ts'
import { MirrorEvaluator } from './evaluator.ts'
import { MirrorConfigError } from './errors.ts'
import type { MirrorState } from './model.ts'
import { MirrorPipeline, type PipelineStats } from './pipeline.ts'

/** Options of `mirrorCapture`. */
export interface OfflineMirrorOptions {
  /** address → MAC, for outer Ethernet addresses; unknown MACs are written as 00:00:00:00:00:00. */
  macByAddress?: ReadonlyMap<string, string>
}

/** What an offline run did. */
export interface OfflineMirrorResult {
  frames: number
  mirrored: number
  /** Mirrored packets per session id. */
  perSession: Record<string, number>
  /** Input frames whose time stamp was out of range and clamped by the reader (`MAX_TIMESTAMP_SEC`). */
  clampedTimestamps: number
}

/** Outer addressing for every (session, appliance), parsed once. */
export function outerAddressing(
  ev: MirrorEvaluator,
  macByAddress: ReadonlyMap<string, string> = new Map(),
): OuterAddressing[][] {
  const zero = new Uint8Array(6)
  return ev.sessions.map((s, k) => {
    const src = ev.state.sources[ev.sessionSource[k]!]!
    return ev.sessionTargets[k]!.addresses.map((dst) => {
      const six = dst.includes(':')
      const srcAddr = src.addresses.find((a) => a.includes(':') === six)
      if (srcAddr === undefined) {
        throw new MirrorConfigError(
          `session ${s.trafficMirrorSessionId}: source has no IPv${six ? 6 : 4} address to reach ${dst}`,
        )
      }
      const dstMac = macByAddress.get(dst)
      return {
        srcMac: src.mac !== '' ? parseMAC(src.mac) : zero,
        dstMac: dstMac !== undefined ? parseMAC(dstMac) : zero,
        family: six ? 6 : 4,
        src4: six ? 0 : parseIPv4(srcAddr),
        dst4: six ? 0 : parseIPv4(dst),
        src6: six ? parseIPv6(srcAddr) : new Uint8Array(16),
        dst6: six ? parseIPv6(dst) : new Uint8Array(16),
      } satisfies OuterAddressing
    })
  })
}

/**
 * Reads `input` (pcap/pcapng path, `'-'` or a stream), mirrors it through `state`'s sessions and
 * writes the VXLAN frames to `output` (path or stream). Resolves when both are done.
 */
export async function mirrorCapture(
  state: MirrorState,
  input: string | NodeJS.ReadableStream,
  output: string | NodeJS.WritableStream,
  opts: OfflineMirrorOptions = {},
): Promise<OfflineMirrorResult> {
  const ev = new MirrorEvaluator(state)
  const outer = outerAddressing(ev, opts.macByAddress)
  const writer = new PcapWriter(output, { linkType: LinkType.Ethernet, snaplen: HEADROOM + 65535 })
  const pipeline = new MirrorPipeline(ev, {
    send(k, appliance, srcPort, buf, view, vxlanStart, end, batch: FrameBatch, f) {
      const start = prependOuter(view, vxlanStart, end - vxlanStart, outer[k]![appliance]!, srcPort)
      writer.write(buf, start, end, end - start, batch.tsSec[f]!, batch.tsNsec[f]!)
    },
  })
  let stats: PipelineStats
  const read = { clampedTimestamps: 0 }
  try {
    for await (const batch of readCapture(input, { stats: read })) pipeline.processBatch(batch)
  } finally {
    await Promise.resolve(writer.close())
    stats = pipeline.stats
  }
  const perSession: Record<string, number> = {}
  ev.sessions.forEach((s, k) => (perSession[s.trafficMirrorSessionId] = stats.perSession[k]!))
  return {
    frames: stats.frames,
    mirrored: stats.mirrored,
    perSession,
    clampedTimestamps: read.clampedTimestamps,
  }
}
