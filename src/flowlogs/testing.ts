// SPDX-License-Identifier: Apache-2.0
/**
 * Test helpers of the flow-logs engine (never imported by production code): synthetic packets as raw
 * IP frames in a `FrameBatch`, and an aggregator run that collects records as plain objects or lines.
 * @module
 */
import { LinkType, type FrameBatch } from '../packet/index.ts'
import { parseAddressWords as parseAddress } from '../packet/index.ts'
import { FlowAggregator, type FlowAggregatorConfig } from './aggregator.ts'
import type { LogFormat } from './log-format.ts'
import type { FlowRecordObject } from './record.ts'
import { recordObject, renderRecordLine } from './render.ts'

/** One synthetic packet. `ipLength` is the whole IP packet (IPv4 ≥ 20 + L4 header; IPv6 ≥ 40 + L4). */
export interface SynthPacket {
  src: string
  dst: string
  proto: number
  sport?: number
  dport?: number
  ipLength: number
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, …). */
  tcpFlags?: number
  /** Unix seconds (fractions allowed). */
  ts: number
  /** Wrap in a Linux cooked (SLL) header with this packet type (4 = outgoing). */
  sllType?: number
  /** Wrap in an Ethernet header with these MACs. */
  eth?: { src: string; dst: string }
}

function macBytes(s: string): number[] {
  return s.split(':').map((x) => parseInt(x, 16))
}

const TCP = 6
const UDP = 17

/** Builds a batch of frames holding `packets` (raw IP, or SLL/Ethernet when asked), with valid headers. */
export function synthBatch(packets: readonly SynthPacket[]): FrameBatch {
  let total = 0
  for (const p of packets) total += p.ipLength + (p.sllType !== undefined ? 16 : p.eth !== undefined ? 14 : 0)
  const bytes = new Uint8Array(total)
  const view = new DataView(bytes.buffer)
  const n = packets.length
  const batch: FrameBatch = {
    bytes,
    view,
    count: n,
    starts: new Uint32Array(n),
    ends: new Uint32Array(n),
    origLens: new Uint32Array(n),
    tsSec: new Float64Array(n),
    tsNsec: new Uint32Array(n),
    linkTypes: new Uint16Array(n).fill(LinkType.Raw),
    ifIndex: new Uint16Array(n),
  }
  let off = 0
  packets.forEach((p, i) => {
    const s = parseAddress(p.src)
    const d = parseAddress(p.dst)
    if (s === null || d === null || s.length !== d.length) throw new Error(`bad addresses ${p.src} ${p.dst}`)
    batch.starts[i] = off
    const v6 = s.length === 4
    if (p.sllType !== undefined) {
      batch.linkTypes[i] = LinkType.LinuxSLL
      view.setUint16(off, p.sllType)
      view.setUint16(off + 2, 1)
      view.setUint16(off + 4, 6)
      view.setUint16(off + 14, v6 ? 0x86dd : 0x0800)
      off += 16
    } else if (p.eth !== undefined) {
      batch.linkTypes[i] = LinkType.Ethernet
      bytes.set(macBytes(p.eth.dst), off)
      bytes.set(macBytes(p.eth.src), off + 6)
      view.setUint16(off + 12, v6 ? 0x86dd : 0x0800)
      off += 14
    }
    batch.ends[i] = off + p.ipLength
    batch.origLens[i] = batch.ends[i]! - batch.starts[i]!
    batch.tsSec[i] = Math.floor(p.ts)
    batch.tsNsec[i] = Math.round((p.ts - Math.floor(p.ts)) * 1e9)
    let l4: number
    if (s.length === 1) {
      view.setUint8(off, 0x45)
      view.setUint16(off + 2, p.ipLength)
      view.setUint8(off + 8, 64)
      view.setUint8(off + 9, p.proto)
      view.setUint32(off + 12, s[0]!)
      view.setUint32(off + 16, d[0]!)
      l4 = off + 20
    } else {
      view.setUint32(off, 0x60000000)
      view.setUint16(off + 4, p.ipLength - 40)
      view.setUint8(off + 6, p.proto)
      view.setUint8(off + 7, 64)
      for (let k = 0; k < 4; k++) {
        view.setUint32(off + 8 + 4 * k, s[k]!)
        view.setUint32(off + 24 + 4 * k, d[k]!)
      }
      l4 = off + 40
    }
    if (p.proto === TCP) {
      view.setUint16(l4, p.sport ?? 0)
      view.setUint16(l4 + 2, p.dport ?? 0)
      view.setUint8(l4 + 12, 5 << 4)
      view.setUint8(l4 + 13, p.tcpFlags ?? 0x10)
    } else if (p.proto === UDP) {
      view.setUint16(l4, p.sport ?? 0)
      view.setUint16(l4 + 2, p.dport ?? 0)
      view.setUint16(l4 + 4, p.ipLength - (l4 - off))
    } else if (p.proto === 1 || p.proto === 58) {
      view.setUint8(l4, p.proto === 1 ? 8 : 128)
    }
    off += p.ipLength
  })
  return batch
}

/** Runs an aggregator over batches (each optionally with per-frame directions) and returns its records. */
export function aggregate(
  config: Omit<FlowAggregatorConfig, 'onRecords'>,
  batches: readonly { batch: FrameBatch; iface?: number; direction?: Uint8Array; action?: Uint8Array }[],
  format: LogFormat | null = null,
): { records: FlowRecordObject[]; lines: string[]; aggregator: FlowAggregator } {
  const records: FlowRecordObject[] = []
  const lines: string[] = []
  const aggregator = new FlowAggregator({
    ...config,
    onRecords: (b) => {
      for (let i = 0; i < b.count; i++) {
        records.push(recordObject(b, i))
        if (format !== null) lines.push(renderRecordLine(format, b, i))
      }
    },
  })
  for (const x of batches) aggregator.addBatch(x.batch, x.iface ?? 0, x.direction ?? null, x.action ?? null)
  aggregator.finish()
  return { records, lines, aggregator }
}
