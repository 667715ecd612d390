// SPDX-License-Identifier: Apache-2.0
/**
 * One-line summaries of the packets in a pcap file, in the manner of tshark's default output:
 * `1 0.000000 10.0.1.10 → 10.0.2.20 TCP 74 41234 → 80 [SYN] Seq=0 Win=64240 Len=0`. Classic pcap
 * (either byte order, µs or ns), Ethernet with 802.1Q tags, IPv4, IPv6, TCP, UDP, ICMP and ICMPv6;
 * anything else is named by its EtherType or protocol number. No DOM: also used by tests.
 * @module
 */

export interface PacketLine {
  no: number
  /** Seconds since the first packet. */
  rel: number
  /** Absolute time, seconds since the epoch (with fraction). */
  time: number
  src: string
  dst: string
  proto: string
  length: number
  info: string
}

function ipv4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`
}

function ipv6(v: DataView, o: number): string {
  const g: string[] = []
  for (let i = 0; i < 8; i++) g.push(v.getUint16(o + i * 2).toString(16))
  // The longest run of zero groups (two or more) becomes '::'.
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (g[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === '0') j++
    if (j - i > bestLen && j - i >= 2) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  if (best < 0) return g.join(':')
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`
}

const TCP_FLAGS: Array<[number, string]> = [
  [0x02, 'SYN'],
  [0x10, 'ACK'],
  [0x01, 'FIN'],
  [0x04, 'RST'],
  [0x08, 'PSH'],
  [0x20, 'URG'],
]

function transport(
  v: DataView,
  b: Uint8Array,
  proto: number,
  o: number,
  end: number,
  v6: boolean,
): { proto: string; info: string } {
  if (proto === 6 && o + 20 <= end) {
    const sp = v.getUint16(o)
    const dp = v.getUint16(o + 2)
    const seq = v.getUint32(o + 4)
    const off = (b[o + 12]! >> 4) * 4
    const fl = b[o + 13]!
    const win = v.getUint16(o + 14)
    const flags = TCP_FLAGS.filter(([m]) => (fl & m) !== 0).map(([, n]) => n)
    const len = Math.max(0, end - o - off)
    return { proto: 'TCP', info: `${sp} → ${dp} [${flags.join(', ')}] Seq=${seq} Win=${win} Len=${len}` }
  }
  if (proto === 17 && o + 8 <= end) {
    const sp = v.getUint16(o)
    const dp = v.getUint16(o + 2)
    return { proto: 'UDP', info: `${sp} → ${dp} Len=${Math.max(0, v.getUint16(o + 4) - 8)}` }
  }
  if ((proto === 1 || proto === 58) && o + 4 <= end) {
    const t = b[o]!
    const names: Record<number, string> = v6
      ? {
          128: 'Echo (ping) request',
          129: 'Echo (ping) reply',
          1: 'Destination unreachable',
          135: 'Neighbor Solicitation',
          136: 'Neighbor Advertisement',
        }
      : {
          8: 'Echo (ping) request',
          0: 'Echo (ping) reply',
          3: 'Destination unreachable',
          11: 'Time-to-live exceeded',
        }
    return { proto: v6 ? 'ICMPv6' : 'ICMP', info: names[t] ?? `type ${t} code ${b[o + 1]}` }
  }
  return { proto: `IP proto ${proto}`, info: '' }
}

/** Summarises every packet of a classic pcap file; throws on anything else. */
export function summarizePcap(buf: Uint8Array, max = 10_000): PacketLine[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (buf.length < 24) throw new Error('not a pcap file (too short)')
  const magic = v.getUint32(0, true)
  let le: boolean
  let nano: boolean
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    le = true
    nano = magic === 0xa1b23c4d
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    le = false
    nano = magic === 0x4d3cb2a1
  } else throw new Error('not a pcap file (bad magic number)')
  const link = v.getUint32(20, le)
  const out: PacketLine[] = []
  let off = 24
  let first = -1
  while (off + 16 <= buf.length && out.length < max) {
    const sec = v.getUint32(off, le)
    const frac = v.getUint32(off + 4, le)
    const incl = v.getUint32(off + 8, le)
    const orig = v.getUint32(off + 12, le)
    const p = off + 16
    const end = Math.min(p + incl, buf.length)
    off = p + incl
    const time = sec + frac / (nano ? 1e9 : 1e6)
    if (first < 0) first = time
    const line: PacketLine = {
      no: out.length + 1,
      rel: time - first,
      time,
      src: '',
      dst: '',
      proto: '',
      length: orig,
      info: '',
    }
    out.push(line)
    if (link !== 1 || end - p < 14) {
      line.proto = `linktype ${link}`
      continue
    }
    let o = p + 12
    let et = v.getUint16(o)
    while ((et === 0x8100 || et === 0x88a8) && o + 6 <= end) {
      o += 4
      et = v.getUint16(o)
    }
    o += 2
    if (et === 0x0800 && o + 20 <= end) {
      const ihl = (buf[o]! & 0x0f) * 4
      const total = v.getUint16(o + 2)
      line.src = ipv4(buf, o + 12)
      line.dst = ipv4(buf, o + 16)
      const fragOff = v.getUint16(o + 6) & 0x1fff
      if (fragOff !== 0) {
        line.proto = 'IPv4'
        line.info = 'Fragmented IP protocol'
        continue
      }
      const t = transport(v, buf, buf[o + 9]!, o + ihl, Math.min(end, o + total), false)
      line.proto = t.proto
      line.info = t.info
    } else if (et === 0x86dd && o + 40 <= end) {
      line.src = ipv6(v, o + 8)
      line.dst = ipv6(v, o + 24)
      const t = transport(v, buf, buf[o + 6]!, o + 40, Math.min(end, o + 40 + v.getUint16(o + 4)), true)
      line.proto = t.proto
      line.info = t.info
    } else if (et === 0x0806) {
      line.proto = 'ARP'
    } else line.proto = `EtherType 0x${et.toString(16).padStart(4, '0')}`
  }
  return out
}

/** The line as tshark prints it by default. */
export function formatLine(l: PacketLine): string {
  return `${l.no} ${l.rel.toFixed(6)} ${l.src} → ${l.dst} ${l.proto} ${l.length} ${l.info}`.trimEnd()
}
