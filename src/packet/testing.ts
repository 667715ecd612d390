// SPDX-License-Identifier: Apache-2.0
/**
 * Test helpers of the packet layer (not used by production code): read a whole capture into
 * per-frame records, and summarise it per direction the way shared/data/tools/flowsum.py does.
 * @module
 */
import { readFileSync } from 'node:fs'
import { decodeFrame } from './decode.ts'
import { PacketMeta } from './packet-meta.ts'
import { readCapture } from './reader.ts'
import type { ReadCaptureOptions } from './reader.ts'
import { formatIPv4, formatIPv6 } from './addr.ts'
import { LinkType } from './link-type.ts'
import { MALFORMED_NAMES } from './malformed.ts'

/** One decoded frame in a readable projection. */
export interface FrameRecord {
  n: number
  linkType: number
  capLen: number
  origLen: number
  ts: string
  vlans: number
  vlanOuter: number
  vlanInner: number
  src: string
  dst: string
  proto: number
  sport: number
  dport: number
  ipLength: number
  frag: number
  fragOffset: number
  tcpFlags: number
  icmp: string
  vni: number
  malformed: string
  /** The VXLAN inner frame, decoded as Ethernet (null when not VXLAN). */
  inner: FrameRecord | null
  /** First IPv6 Next Header value (before extension headers), -1 for IPv4. */
  nxt0: number
}

function project(
  bytes: Uint8Array,
  view: DataView,
  m: PacketMeta,
  n: number,
  capLen: number,
  origLen: number,
  ts: string,
  r: number,
): FrameRecord {
  const v = m.ipVersion
  return {
    n,
    linkType: m.linkType,
    capLen,
    origLen,
    ts,
    vlans: m.vlanCount,
    vlanOuter: m.vlanOuter,
    vlanInner: m.vlanInner,
    src: v === 4 ? formatIPv4(m.src4) : v === 6 ? formatIPv6(bytes, m.src6Offset) : '',
    dst: v === 4 ? formatIPv4(m.dst4) : v === 6 ? formatIPv6(bytes, m.dst6Offset) : '',
    proto: m.ipProto,
    sport: m.srcPort,
    dport: m.dstPort,
    ipLength: m.ipLength,
    frag: m.isFragment,
    fragOffset: m.fragOffset,
    tcpFlags: m.tcpFlags,
    icmp: m.icmpType >= 0 ? `${m.icmpType}/${m.icmpCode}` : '',
    vni: m.vni,
    malformed: r < 0 ? (MALFORMED_NAMES[m.malformed] ?? String(m.malformed)) : '',
    inner: null,
    nxt0: v === 6 ? view.getUint8(m.l3Offset + 6) : -1,
  }
}

/** Decodes every frame of a capture (VXLAN inner frames too, up to 4 deep). Returns records and any error. */
export async function decodeAll(
  source: string | NodeJS.ReadableStream,
  opts: ReadCaptureOptions = {},
): Promise<{ frames: FrameRecord[]; error: Error | null }> {
  const frames: FrameRecord[] = []
  const m = new PacketMeta()
  let n = 0
  try {
    for await (const b of readCapture(source, opts)) {
      for (let i = 0; i < b.count; i++) {
        n++
        const start = b.starts[i]!
        const end = b.ends[i]!
        const ts = `${b.tsSec[i]}.${String(b.tsNsec[i]).padStart(9, '0')}`
        const r = decodeFrame(b.view, start, end, b.linkTypes[i]!, m)
        const rec = project(b.bytes, b.view, m, n, end - start, b.origLens[i]!, ts, r)
        let outer = rec
        for (let depth = 0; depth < 4 && m.vni >= 0; depth++) {
          const ie = m.l3Offset + m.ipLength < end ? m.l3Offset + m.ipLength : end
          const r2 = decodeFrame(b.view, m.innerOffset, ie, LinkType.Ethernet, m)
          outer.inner = project(b.bytes, b.view, m, n, ie - m.frameStart, ie - m.frameStart, ts, r2)
          outer = outer.inner
        }
        frames.push(rec)
      }
    }
  } catch (err) {
    return { frames, error: err as Error }
  }
  return { frames, error: null }
}

/** A row of a flowsum.py TSV. */
export interface FlowRow {
  key: string
  packets: number
  ipBytes: number
  frameBytes: number
  first: number
  last: number
  tcpFlagsOr: number
}

/** Parses a flowsum.py TSV: frames from its header comment and rows by key. */
export function readFlowsumTsv(path: string): { frames: number; nonIp: number; rows: Map<string, FlowRow> } {
  const lines = readFileSync(path, 'utf8').split('\n')
  const head = lines[0] ?? ''
  const frames = Number(/frames=(\d+)/.exec(head)?.[1] ?? NaN)
  const nonIp = Number(/non_ip_frames=(\d+)/.exec(head)?.[1] ?? NaN)
  const rows = new Map<string, FlowRow>()
  for (const line of lines.slice(2)) {
    if (line === '') continue
    const c = line.split('\t')
    const key = c.slice(0, 6).join(' ')
    rows.set(key, {
      key,
      packets: Number(c[6]),
      ipBytes: Number(c[7]),
      frameBytes: Number(c[8]),
      first: Number(c[9]),
      last: Number(c[10]),
      tcpFlagsOr: Number(c[11]),
    })
  }
  return { frames, nonIp, rows }
}

const TRANSPORTS = new Set([1, 6, 17, 58])

/** Our per-direction summary in flowsum.py's terms (`inner`: innermost VXLAN payload; `outer`: first IP). */
export function flowsum(
  frames: FrameRecord[],
  level: 'inner' | 'outer',
): { nonIp: number; rows: Map<string, FlowRow> } {
  const rows = new Map<string, FlowRow>()
  let nonIp = 0
  for (const f of frames) {
    let r = f
    let vni = '-'
    if (level === 'inner') {
      while (r.inner !== null && r.inner.src !== '') {
        vni = String(r.vni)
        r = r.inner
      }
    }
    if (r.src === '') {
      nonIp++
      continue
    }
    // tshark names the transport only when it dissected TCP/UDP/ICMP; otherwise IPv6 shows its first Next Header.
    const dissected =
      TRANSPORTS.has(r.proto) && r.fragOffset === 0 && !(r.proto === 6 && r.malformed === 'TcpTruncated')
    const proto = dissected || r.nxt0 < 0 ? r.proto : r.nxt0
    const icmp = r.proto === 1 || r.proto === 58
    const sport = dissected && !icmp ? r.sport : 0
    const dport = dissected && !icmp ? r.dport : 0
    const key = [vni, r.src, r.dst, proto, sport, dport].join(' ')
    const ts = Number(f.ts)
    let row = rows.get(key)
    if (row === undefined) {
      row = { key, packets: 0, ipBytes: 0, frameBytes: 0, first: ts, last: ts, tcpFlagsOr: 0 }
      rows.set(key, row)
    }
    row.packets++
    row.ipBytes += r.ipLength
    row.frameBytes += f.origLen
    if (ts < row.first) row.first = ts
    if (ts > row.last) row.last = ts
    if (dissected && r.proto === 6) row.tcpFlagsOr |= r.tcpFlags
  }
  return { nonIp, rows }
}
