// SPDX-License-Identifier: Apache-2.0
/**
 * Capture statistics for `mirrorflow inspect`: counters by link type, VLAN, L3, L4, malformed reason,
 * VXLAN VNI, the busiest 5-tuples and the time span. Fed batch by batch; bounded memory.
 * @module
 */
import type { FrameBatch } from './frame-batch.ts'
import { PacketMeta } from './packet-meta.ts'
import { decodeFrame } from './decode.ts'
import { LinkType } from './link-type.ts'
import { MALFORMED_NAMES } from './malformed.ts'
import {
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_OLD,
  ETHERTYPE_VLAN,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MAX_VLAN_DEPTH,
} from './constants.ts'
import { formatIPv4, formatIPv6 } from './addr.ts'
import type { CaptureReadStats } from './reader.ts'

const LINK_NAMES = new Map<number, string>(Object.entries(LinkType).map(([k, v]) => [v as number, k]))

/** Name of a link type for reports (`LINKTYPE_<n>` when unknown). */
export function linkTypeName(lt: number): string {
  return LINK_NAMES.get(lt) ?? `LINKTYPE_${lt}`
}

/** Distinct 5-tuples tracked before rare ones are pruned (then the top list is approximate). */
const MAX_TUPLES = 100_000

export interface FlowCount {
  proto: number
  src: string
  srcPort: number
  dst: string
  dstPort: number
  vni: number
  frames: number
  bytes: number
}

export interface CaptureSummaryJson {
  files: string[]
  frames: number
  capturedBytes: number
  wireBytes: number
  malformed: number
  malformedByReason: Record<string, number>
  linkTypes: Record<string, number>
  vlan: { tagged: number; qinq: number; ids: Record<string, number> }
  l3: { ipv4: number; ipv6: number; other: number }
  l4: { tcp: number; udp: number; icmp: number; icmpv6: number; other: number }
  fragments: number
  vxlan: Record<string, number>
  /** What the VXLAN-encapsulated (inner) frames carry. */
  inner: {
    frames: number
    malformed: number
    l3: { ipv4: number; ipv6: number; other: number }
    l4: { tcp: number; udp: number; icmp: number; icmpv6: number; other: number }
  }
  firstTs: number | null
  lastTs: number | null
  durationSec: number
  /** Frames whose time stamp was out of range and clamped by the reader (see `MAX_TIMESTAMP_SEC`). */
  clampedTimestamps: number
  topFlows: FlowCount[]
  topFlowsExact: boolean
}

function l3l4(): { l3: CaptureSummaryJson['l3']; l4: CaptureSummaryJson['l4'] } {
  return { l3: { ipv4: 0, ipv6: 0, other: 0 }, l4: { tcp: 0, udp: 0, icmp: 0, icmpv6: 0, other: 0 } }
}

export class CaptureSummary {
  readonly files: string[] = []
  frames = 0
  capturedBytes = 0
  wireBytes = 0
  malformed = 0
  private readonly byReason = new Float64Array(64)
  private readonly byLink = new Map<number, number>()
  private readonly byVlan = new Map<number, number>()
  private vlanTagged = 0
  private qinq = 0
  private readonly outer = l3l4()
  private readonly innerCounts = l3l4()
  private innerFrames = 0
  private innerMalformed = 0
  private fragments = 0
  private readonly byVni = new Map<number, number>()
  private readonly tuples = new Map<string, { frames: number; bytes: number }>()
  private pruneBelow = 1
  private pruned = false
  private minTs = Infinity
  private maxTs = -Infinity
  private readonly m = new PacketMeta()
  private readonly inner = new PacketMeta()
  /** Pass to `readCapture({ stats })` so that the summary reports clamped time stamps. */
  readonly readStats: CaptureReadStats = { clampedTimestamps: 0 }

  /** Counts every frame of a batch. */
  add(b: FrameBatch): void {
    const m = this.m
    for (let i = 0; i < b.count; i++) {
      const start = b.starts[i]!
      const end = b.ends[i]!
      const lt = b.linkTypes[i]!
      this.frames++
      this.capturedBytes += end - start
      this.wireBytes += b.origLens[i]!
      this.byLink.set(lt, (this.byLink.get(lt) ?? 0) + 1)
      const ts = b.tsSec[i]! + b.tsNsec[i]! / 1e9
      if (ts < this.minTs) this.minTs = ts
      if (ts > this.maxTs) this.maxTs = ts
      const r = decodeFrame(b.view, start, end, lt, m)
      if (r < 0) {
        this.malformed++
        this.byReason[m.malformed]!++
      }
      if (m.vlanCount > 0) {
        this.vlanTagged++
        if (m.vlanCount > 1) this.qinq++
        // Every tag of the stack, outer first, as tshark lists them (vlan.id and ieee8021ad.id).
        for (let k = 0, o = m.vlanOffset; k < m.vlanCount; k++, o += 4)
          this.countVlan(b.view.getUint16(o, false))
      }
      // The tags of an Ethernet frame inside an MPLS pseudowire, when the outer frame had its own.
      if (m.pwOffset >= 0 && m.vlanOffset >= 0 && m.vlanOffset < m.pwOffset) {
        for (let o = m.pwOffset + 12, k = 0; k < MAX_VLAN_DEPTH && o + 4 <= end; k++, o += 4) {
          const tpid = b.view.getUint16(o, false)
          if (tpid !== ETHERTYPE_VLAN && tpid !== ETHERTYPE_QINQ && tpid !== ETHERTYPE_QINQ_OLD) break
          this.countVlan(b.view.getUint16(o + 2, false))
        }
      }
      if (m.isFragment) this.fragments++
      countLayers(m, this.outer)
      if (m.vni >= 0) {
        this.byVni.set(m.vni, (this.byVni.get(m.vni) ?? 0) + 1)
        this.innerFrames++
        const inner = this.inner
        const ie = m.l3Offset + m.ipLength < end ? m.l3Offset + m.ipLength : end
        if (decodeFrame(b.view, m.innerOffset, ie, LinkType.Ethernet, inner) < 0) this.innerMalformed++
        countLayers(inner, this.innerCounts)
        // Mirrored traffic: the flow that matters is the one inside the tunnel, tagged with its VNI.
        if (inner.ipVersion !== 0) this.addTuple(b, inner, m.vni)
        else this.addTuple(b, m, -1)
      } else if (m.ipVersion !== 0) this.addTuple(b, m, -1)
    }
  }

  private countVlan(tci: number): void {
    const vid = tci & 0x0fff
    this.byVlan.set(vid, (this.byVlan.get(vid) ?? 0) + 1)
  }

  private addTuple(b: FrameBatch, m: PacketMeta, vni: number): void {
    const src = m.ipVersion === 4 ? formatIPv4(m.src4) : formatIPv6(b.bytes, m.src6Offset)
    const dst = m.ipVersion === 4 ? formatIPv4(m.dst4) : formatIPv6(b.bytes, m.dst6Offset)
    const key = `${m.ipProto}|${src}|${m.srcPort}|${dst}|${m.dstPort}|${vni}`
    const e = this.tuples.get(key)
    if (e !== undefined) {
      e.frames++
      e.bytes += m.ipLength
      return
    }
    if (this.tuples.size >= MAX_TUPLES) {
      // Space bound: drop the rarest tuples; the top list stays right for heavy hitters.
      this.pruned = true
      for (const [k, v] of this.tuples) if (v.frames <= this.pruneBelow) this.tuples.delete(k)
      if (this.tuples.size >= MAX_TUPLES / 2) this.pruneBelow++
    }
    this.tuples.set(key, { frames: 1, bytes: m.ipLength })
  }

  /** Top `n` 5-tuples by frames (ties by key). */
  topFlows(n: number): FlowCount[] {
    return [...this.tuples.entries()]
      .sort((a, b) => b[1].frames - a[1].frames || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([k, v]) => {
        const [proto, src, sp, dst, dp, vni] = k.split('|')
        return {
          proto: Number(proto),
          src: src!,
          srcPort: Number(sp),
          dst: dst!,
          dstPort: Number(dp),
          vni: Number(vni),
          frames: v.frames,
          bytes: v.bytes,
        }
      })
  }

  toJSON(top = 10): CaptureSummaryJson {
    const malformedByReason: Record<string, number> = {}
    for (let r = 1; r < this.byReason.length; r++) {
      if (this.byReason[r]! > 0) malformedByReason[MALFORMED_NAMES[r] ?? `reason${r}`] = this.byReason[r]!
    }
    const linkTypes: Record<string, number> = {}
    for (const [k, v] of [...this.byLink].sort((a, b) => a[0] - b[0])) linkTypes[linkTypeName(k)] = v
    const ids: Record<string, number> = {}
    for (const [k, v] of [...this.byVlan].sort((a, b) => a[0] - b[0])) ids[String(k)] = v
    const vxlan: Record<string, number> = {}
    for (const [k, v] of [...this.byVni].sort((a, b) => a[0] - b[0])) vxlan[String(k)] = v
    const first = this.frames > 0 ? this.minTs : null
    const last = this.frames > 0 ? this.maxTs : null
    return {
      files: [...this.files],
      frames: this.frames,
      capturedBytes: this.capturedBytes,
      wireBytes: this.wireBytes,
      malformed: this.malformed,
      malformedByReason,
      linkTypes,
      vlan: { tagged: this.vlanTagged, qinq: this.qinq, ids },
      l3: { ...this.outer.l3 },
      l4: { ...this.outer.l4 },
      fragments: this.fragments,
      vxlan,
      inner: {
        frames: this.innerFrames,
        malformed: this.innerMalformed,
        l3: { ...this.innerCounts.l3 },
        l4: { ...this.innerCounts.l4 },
      },
      firstTs: first,
      lastTs: last,
      durationSec: first !== null && last !== null ? Math.round((last - first) * 1e6) / 1e6 : 0,
      clampedTimestamps: this.readStats.clampedTimestamps,
      topFlows: this.topFlows(top),
      topFlowsExact: !this.pruned,
    }
  }
}

function countLayers(m: PacketMeta, c: { l3: CaptureSummaryJson['l3']; l4: CaptureSummaryJson['l4'] }): void {
  if (m.ipVersion === 4) c.l3.ipv4++
  else if (m.ipVersion === 6) c.l3.ipv6++
  else {
    c.l3.other++
    return
  }
  const p = m.ipProto
  if (p === IPPROTO_TCP) c.l4.tcp++
  else if (p === IPPROTO_UDP) c.l4.udp++
  else if (p === IPPROTO_ICMP) c.l4.icmp++
  else if (p === IPPROTO_ICMPV6) c.l4.icmpv6++
  else c.l4.other++
}
