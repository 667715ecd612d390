// SPDX-License-Identifier: Apache-2.0
/**
 * The flow aggregator: packets in, flow-log records out (spec §2). Packets arrive in `FrameBatch`es
 * and are decoded in place into one reused `PacketMeta`; each is keyed by (interface, direction,
 * action, VNI, protocol, source and destination address and port) into a fixed-capacity flow table
 * (flow-table.ts: typed arrays, open addressing; no object per flow and no allocation per packet,
 * STYLE.md §3.5). The capacity (`flowTableSize`) never grows.
 *
 * This file is the per-packet loop and the record emission; the parts it drives are one file each:
 * flow-table.ts (the table), direction.ts (flow-direction), unlogged.ts (traffic AWS does not log),
 * window.ts (the aggregation window).
 *
 * Windows: aggregation intervals are aligned to multiples of `maxAggregationInterval` seconds since
 * the epoch (60 or 600; 0 = one window for everything, for whole-capture comparisons). When a packet
 * of a later interval arrives, or `flush(nowSec)` passes the interval's end, every flow of the interval
 * becomes one record (in first-seen order) and the table is emptied. A packet whose time is before the
 * current interval (reordered capture) counts in the current interval, its time clamped to the
 * interval start (spec §2.2 "clamped to the window").
 *
 * Full table: a packet of a new flow that does not fit is counted in `stats.skippedPackets`, and the
 * interval gets one SKIPDATA record per interface that lost packets, whose start/end are the first and
 * last skipped packet's seconds (spec §2.3). NODATA: with `nodata` on, every interface without
 * traffic in an interval gets a NODATA record carrying the interval's first and last second, for
 * every interval from the first packet (or `flush`) on (spec §2.3; how often AWS writes NODATA is
 * UNCONFIRMED).
 *
 * Direction: a per-frame hint (live capture knows it) wins; then the link layer: Linux cooked
 * captures (`tcpdump -i any`, SLL/SLL2) carry the kernel's packet type (outgoing = egress, anything
 * received = ingress), and Ethernet frames are compared with the interface MAC when one is given;
 * then addresses: a packet from one of the interface's addresses is egress, one to them is ingress.
 * Anything else has no known direction (its flow-direction renders `-` and its srcaddr/dstaddr are
 * the packet's own). Decapsulated VXLAN flows use addresses only.
 *
 * Malformed frames (the decoder set a reason) are counted by reason and not aggregated. With
 * `decapVxlan`, a VXLAN packet whose inner frame is not IP (ARP) or does not decode is counted as its
 * outer UDP flow, as Zeek and the reference TSVs do.
 * @module
 */
import { decodeFrame, LinkType, PacketMeta, type FrameBatch } from '../packet/index.ts'
import { FlowLogsConfigError } from './errors.ts'
import type { AwsServiceRanges } from './aws-services.ts'
import { addressDirection4, addressDirection6, linkDirection } from './direction.ts'
import { FlowTable, KEY_V6 } from './flow-table.ts'
import {
  Action,
  FlowRecordBatch,
  LogStatus,
  resolveInterface,
  type FlowLogInterface,
  type ResolvedInterface,
} from './record.ts'
import { isUnlogged4, isUnlogged6 } from './unlogged.ts'
import { AggregationWindow } from './window.ts'

export { MAX_NODATA_INTERVALS } from './window.ts'

/** ACCEPT, REJECT or ALL: which records a flow log keeps (spec §2.5). */
export type TrafficType = 'ACCEPT' | 'REJECT' | 'ALL'

/** Settings of a `FlowAggregator`. */
export interface FlowAggregatorConfig {
  /** Interfaces the batches are captured on; `addBatch` names one by index. At least one. */
  interfaces: readonly FlowLogInterface[]
  /** 60 or 600 (AWS); 0 = a single window covering everything. Default 600 (spec §2.1). */
  maxAggregationInterval?: number
  /** Most flows per interval (the table never grows). Default 1,048,576. */
  flowTableSize?: number
  /** Default ALL. */
  trafficType?: TrafficType
  /** Decapsulate VXLAN (UDP 4789) and key the inner flows by VNI as well. Default false. */
  decapVxlan?: boolean
  /** Emit NODATA records for idle interfaces. Default false. */
  nodata?: boolean
  /**
   * Drop what AWS never logs (spec §1.12): instance metadata 169.254.169.254, Time Sync 169.254.169.123,
   * the link-local DNS resolver 169.254.169.253, DHCP (UDP between 67/68 and 67/68) and DHCPv6 (UDP between
   * 546/547 and 546/547); a packet from any other port to a DHCP port is logged. Default false.
   */
  excludeUnlogged?: boolean
  /** Receives records in reused batches of up to `recordBatchSize` rows, synchronously. */
  onRecords: (batch: FlowRecordBatch) => void
  /** AWS ip-ranges (from ip-ranges.json) for the `pkt-*-aws-service` fields; without it they are `-`. */
  awsServiceRanges?: AwsServiceRanges | null
  /** Rows per record batch handed to `onRecords`. Default 8192. */
  recordBatchSize?: number
}

/** Counters of an aggregator (monotonic over its life). */
export interface FlowAggregatorStats {
  /** Frames offered. */
  packets: number
  /** Frames counted into a flow. */
  ipPackets: number
  /** Frames that decoded fine but carry no IP (ARP, LLDP, …): flow logs are IP-only. */
  nonIpPackets: number
  /** Frames the decoder rejected (see `malformedByReason`, indexed by `Malformed`). */
  malformedPackets: number
  malformedByReason: Float64Array
  /**
   * With `decapVxlan`: VXLAN packets whose inner frame did not decode (they count as their outer UDP
   * flow, see the module comment); the reasons are not split.
   */
  innerMalformedPackets: number
  /** Packets dropped by the traffic-type filter or the AWS exclusions. */
  filteredPackets: number
  excludedPackets: number
  /** Packets of flows that did not fit the full table (their interval got SKIPDATA). */
  skippedPackets: number
  /** Flows created (one per record with log-status OK). */
  flows: number
  /** Records emitted (OK + NODATA + SKIPDATA). */
  records: number
  skipdataRecords: number
  nodataRecords: number
  /**
   * Idle intervals that got no NODATA records because one gap (e.g. a clock jump) spanned more than
   * `MAX_NODATA_INTERVALS`: only the first that many intervals of a gap are written.
   */
  nodataSkippedIntervals: number
  /** Windows closed. */
  windows: number
}

/** AWS tcp-flags value of each TCP flags byte (spec §1.7): FIN 1, SYN 2 / SYN-ACK 18, RST 4; others 0. */
const TCP_AWS = new Uint8Array(256)
for (let f = 0; f < 256; f++) {
  let v = 0
  if (f & 0x01) v |= 1
  if ((f & 0x12) === 0x12) v |= 18
  else if (f & 0x02) v |= 2
  if (f & 0x04) v |= 4
  TCP_AWS[f] = v
}

/**
 * Turns packets into flow-log records. Construct once, `addBatch` every batch, `flush(now)` on a
 * timer in live mode, `finish()` at the end of a file. See the module comment for the semantics.
 */
export class FlowAggregator {
  readonly stats: FlowAggregatorStats
  readonly interval: number
  readonly capacity: number
  readonly trafficType: TrafficType
  readonly interfaces: ResolvedInterface[]
  private readonly decap: boolean
  private readonly nodata: boolean
  private readonly exclude: boolean
  private readonly onRecords: (batch: FlowRecordBatch) => void
  private readonly out: FlowRecordBatch

  private readonly table: FlowTable
  private readonly window: AggregationWindow
  /** `emitNodata` bound once (the window calls it for idle intervals). */
  private readonly nodataEach: (start: number, last: number) => void
  private readonly drain: () => void

  private readonly m = new PacketMeta()
  private readonly inner = new PacketMeta()
  private readonly inner2 = new PacketMeta()

  constructor(config: FlowAggregatorConfig) {
    const interval = config.maxAggregationInterval ?? 600
    if (!(interval === 60 || interval === 600 || interval === 0)) {
      throw new FlowLogsConfigError(`max aggregation interval must be 60 or 600 seconds, got ${interval}`)
    }
    const cap = config.flowTableSize ?? 1 << 20
    if (!Number.isInteger(cap) || cap < 1 || cap > 1 << 26) {
      throw new FlowLogsConfigError(`flow table size must be an integer from 1 to ${1 << 26}, got ${cap}`)
    }
    const tt = config.trafficType ?? 'ALL'
    if (tt !== 'ACCEPT' && tt !== 'REJECT' && tt !== 'ALL') {
      throw new FlowLogsConfigError(`traffic type must be ACCEPT, REJECT or ALL, got '${String(tt)}'`)
    }
    if (config.interfaces.length === 0 || config.interfaces.length > 65535) {
      throw new FlowLogsConfigError('a flow aggregator needs 1 to 65535 interfaces')
    }
    this.interval = interval
    this.capacity = cap
    this.trafficType = tt
    this.interfaces = config.interfaces.map(resolveInterface)
    this.decap = config.decapVxlan ?? false
    this.nodata = config.nodata ?? false
    this.exclude = config.excludeUnlogged ?? false
    this.onRecords = config.onRecords
    this.out = new FlowRecordBatch(Math.max(1, config.recordBatchSize ?? 8192))
    this.out.interfaces = this.interfaces
    this.out.awsServices = config.awsServiceRanges ?? null

    this.stats = {
      packets: 0,
      ipPackets: 0,
      nonIpPackets: 0,
      malformedPackets: 0,
      malformedByReason: new Float64Array(64),
      innerMalformedPackets: 0,
      filteredPackets: 0,
      excludedPackets: 0,
      skippedPackets: 0,
      flows: 0,
      records: 0,
      skipdataRecords: 0,
      nodataRecords: 0,
      nodataSkippedIntervals: 0,
      windows: 0,
    }
    this.table = new FlowTable(cap, this.interfaces.length, this.stats)
    this.window = new AggregationWindow(interval)
    this.nodataEach = (start, last) => this.emitNodata(start, last)
    this.drain = () => this.drainOut()
  }

  /** Flows in the table now (the current interval). */
  get activeFlows(): number {
    return this.table.size
  }

  /**
   * Adds every frame of `batch`, captured on interface number `iface` (index into `interfaces`).
   * `direction[i]` (Direction values, 0 = work it out) and `action[i]` (Action values) are optional
   * per-frame hints from the capture point; without `action` every packet is ACCEPT.
   * Records of intervals that close on the way go to `onRecords` before this returns.
   */
  addBatch(
    batch: FrameBatch,
    iface = 0,
    direction: Uint8Array | null = null,
    action: Uint8Array | null = null,
  ): void {
    if (!(iface >= 0 && iface < this.interfaces.length)) throw new RangeError(`no interface number ${iface}`)
    const view = batch.view
    const starts = batch.starts
    const ends = batch.ends
    const tsSec = batch.tsSec
    const linkTypes = batch.linkTypes
    const count = batch.count
    const st = this.stats
    const m = this.m
    const local4 = this.interfaces[iface]!.local4
    const local6 = this.interfaces[iface]!.local6
    const table = this.table
    const win = this.window
    const k = table.k
    const wantAccept = this.trafficType !== 'REJECT'
    const wantReject = this.trafficType !== 'ACCEPT'
    const decap = this.decap
    const exclude = this.exclude
    const macHi = this.interfaces[iface]!.macHi
    const macLo = this.interfaces[iface]!.macLo
    st.packets += count
    for (let i = 0; i < count; i++) {
      const end = ends[i]!
      if (decodeFrame(view, starts[i]!, end, linkTypes[i]!, m) < 0) {
        st.malformedPackets++
        st.malformedByReason[m.malformed]!++
        continue
      }
      let p = m
      let vni = -1
      if (decap && m.vni >= 0 && m.innerOffset >= 0) {
        // Decapsulate down to the last IP layer (nested VXLAN, bounded), alternating two records. An
        // inner frame that is not IP or does not decode leaves the packet keyed by its last good IP
        // layer (the reference TSVs and Zeek count such VXLAN packets as outer UDP flows).
        let q = this.inner
        for (let depth = 0; p.vni >= 0 && p.innerOffset >= 0 && depth < 4; depth++) {
          if (decodeFrame(view, p.innerOffset, end, LinkType.Ethernet, q) < 0) {
            st.innerMalformedPackets++
            break
          }
          if (q.ipVersion === 0) break
          vni = p.vni
          p = q
          q = q === this.inner ? this.inner2 : this.inner
        }
      }
      const ipv = p.ipVersion
      if (ipv === 0) {
        st.nonIpPackets++
        continue
      }
      const act = action === null ? Action.ACCEPT : action[i]!
      if (act === Action.ACCEPT ? !wantAccept : !wantReject) {
        st.filteredPackets++
        continue
      }
      const proto = p.ipProto
      const sport = p.srcPort
      const dport = p.dstPort
      let dir = direction === null ? 0 : direction[i]!
      if (dir === 0 && p === m) dir = linkDirection(view, m.frameStart, m.linkType, macHi, macLo)
      if (ipv === 4) {
        const s = p.src4 >>> 0
        const d = p.dst4 >>> 0
        if (exclude && isUnlogged4(s, d, proto, sport, dport)) {
          st.excludedPackets++
          continue
        }
        if (dir === 0) dir = addressDirection4(local4, s, d)
        let sec = tsSec[i]!
        if (sec >= win.end) this.advance(sec)
        if (sec < win.start) sec = win.start
        table.add4(
          iface,
          (iface | (dir << 16) | (act << 18) | (proto << 20)) >>> 0,
          (vni + 1) >>> 0,
          ((sport << 16) | dport) >>> 0,
          s,
          d,
          sec,
          p.ipLength,
          proto === 6 ? TCP_AWS[p.tcpFlags]! : 0,
        )
      } else {
        const so = p.src6Offset
        const dof = p.dst6Offset
        k[3] = view.getUint32(so)
        k[4] = view.getUint32(so + 4)
        k[5] = view.getUint32(so + 8)
        k[6] = view.getUint32(so + 12)
        k[7] = view.getUint32(dof)
        k[8] = view.getUint32(dof + 4)
        k[9] = view.getUint32(dof + 8)
        k[10] = view.getUint32(dof + 12)
        if (exclude && isUnlogged6(proto, sport, dport)) {
          st.excludedPackets++
          continue
        }
        if (dir === 0) dir = addressDirection6(local6, k)
        k[0] = (iface | (dir << 16) | (act << 18) | KEY_V6 | (proto << 20)) >>> 0
        k[1] = (vni + 1) >>> 0
        k[2] = ((sport << 16) | dport) >>> 0
        let sec = tsSec[i]!
        if (sec >= win.end) this.advance(sec)
        if (sec < win.start) sec = win.start
        table.add6(iface, sec, p.ipLength, proto === 6 ? TCP_AWS[p.tcpFlags]! : 0)
      }
    }
  }

  /** Moves to the interval holding `sec`, closing the current one (and NODATA for idle ones). */
  private advance(sec: number): void {
    const win = this.window
    if (win.isOpen) {
      this.closeWindow()
      // Idle intervals between the closed one and the new one: NODATA for every interface.
      if (this.nodata) this.stats.nodataSkippedIntervals += win.forEachIdle(sec, this.nodataEach)
    }
    win.openAt(sec)
  }

  private emitNodata(ws: number, we: number): void {
    const out = this.out
    for (let j = 0; j < this.interfaces.length; j++) {
      if (out.count === out.capacity) this.drainOut()
      out.pushStatus(j, LogStatus.NODATA, ws, we)
      this.stats.records++
      this.stats.nodataRecords++
    }
  }

  private drainOut(): void {
    if (this.out.count === 0) return
    this.onRecords(this.out)
    this.out.count = 0
  }

  /** Emits the records of the current interval and empties the table. */
  private closeWindow(): void {
    const out = this.out
    const st = this.stats
    const t = this.table
    st.records += t.emit(out, this.drain)
    for (let j = 0; j < this.interfaces.length; j++) {
      if (t.skipped[j]! > 0) {
        if (out.count === out.capacity) this.drainOut()
        out.pushStatus(j, LogStatus.SKIPDATA, t.skipFirst[j]!, t.skipLast[j]!)
        st.records++
        st.skipdataRecords++
      } else if (this.nodata && t.active[j] === 0 && this.interval > 0) {
        if (out.count === out.capacity) this.drainOut()
        out.pushStatus(j, LogStatus.NODATA, this.window.start, this.window.end - 1)
        st.records++
        st.nodataRecords++
      }
    }
    this.drainOut()
    t.clear()
    st.windows++
  }

  /**
   * Live mode: closes every interval that ended at or before `nowSec` (Unix seconds), emitting its
   * records (and NODATA for idle interfaces when enabled). Before any packet, starts the interval
   * clock at `nowSec`'s interval.
   */
  flush(nowSec: number): void {
    if (this.interval === 0) return
    if (!this.window.isOpen) this.window.openAt(nowSec)
    else if (nowSec >= this.window.end) this.advance(nowSec)
  }

  /** End of input: emits the records of the open interval. The aggregator can be reused afterwards. */
  finish(): void {
    if (this.window.isOpen) this.closeWindow()
    this.window.reset()
  }
}
