// SPDX-License-Identifier: Apache-2.0
// test-group: golden
/**
 * Golden tests of the readers and the decoder against third-party ground truth in shared/data:
 * - tshark per-direction summaries (shared/data/tools/flowsum.py TSVs): packets, IP bytes, frame bytes,
 *   first/last time stamp and TCP flags of every 5-tuple (+ VNI);
 * - tcpdump's own decodes (`.out`): per packet addresses, ports, VNI, VLAN ids and IP length;
 * - packet counts asserted by PcapPlusPlus' tests and per-session packet/byte counts from Arkime's tests.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { sharedData } from '../../test/helpers/shared.ts'
import { decodeAll, flowsum, readFlowsumTsv } from './testing.ts'
import type { FrameRecord } from './testing.ts'

/** tshark reference TSVs (level from the file name). Geneve/IP-in-IP "inner" TSVs are excluded: we decode VXLAN only. */
const TSV_CASES = [
  'arkime/tests-pcap/v6.pcap.flows.inner.tsv', // IPv6
  'pcapplusplus/PcapExamples/example.pcap.flows.inner.tsv', // Ethernet/IPv4, 4631 frames
  'pcapplusplus/PcapExamples/ip4_fragments.pcap.flows.inner.tsv', // IPv4 fragments
  'pcapplusplus/PcapExamples/ip6_fragments.pcap.flows.inner.tsv', // IPv6 fragment headers
  'pcapplusplus/PcapExamples/many_interfaces-1.pcapng.flows.inner.tsv', // pcapng, several interfaces/link types
  'suricata-verify/community-id-ipv6/input.pcap.flows.inner.tsv', // IPv6
  'suricata-verify/flow-pkt-recursion/tunnel-pkt-flows.pcap.flows.outer.tsv', // tunnels, outer level
  'suricata-verify/geneve-decoder/input.pcap.flows.outer.tsv', // Geneve, outer level
  'suricata-verify/vxlan-decoder-01/input.pcap.flows.inner.tsv', // VXLAN
  'suricata-verify/vxlan-decoder-01/input.pcap.flows.outer.tsv',
  'suricata-verify/vxlan-decoder-02/vxlan.pcap.flows.inner.tsv', // VXLAN
  'suricata-verify/vxlan-decoder-02/vxlan.pcap.flows.outer.tsv',
  'suricata-verify/vxlan-decoder-03/vxlan.pcap.flows.inner.tsv', // real AWS Traffic Mirroring, VNI 5569041
  'suricata-verify/vxlan-decoder-03/vxlan.pcap.flows.outer.tsv',
  'suricata-verify/vxlan-non-zero-reserved-fields/input.pcap.flows.inner.tsv', // VXLAN reserved bits set
  'suricata-verify/vxlan-non-zero-reserved-fields/input.pcap.flows.outer.tsv',
  'tcpdump-tests/bigtcp-ipv4-vxlan-ipv4.pcap.flows.outer.tsv', // BIG TCP (total length 0) in VXLAN
  'tcpdump-tests/gso-ipv4-vxlan-ipv4.pcap.flows.inner.tsv', // GSO in VXLAN
  'tcpdump-tests/gso-ipv4-vxlan-ipv4.pcap.flows.outer.tsv',
  'tcpdump-tests/vxlan_port_8472.pcap.flows.inner.tsv', // Linux VXLAN port 8472: not VXLAN for us or tshark
  'tcpdump-tests/vxlan_port_8472.pcap.flows.outer.tsv',
  'zeek/ftp-ipv6/ipv6.pcap.flows.inner.tsv', // IPv6
  'zeek/mixed-vlan-mpls/mixed-vlan-mpls.pcap.flows.inner.tsv', // VLAN + MPLS
  'zeek/pcapng-multi-interface/pcapng-multi-interface.pcapng.flows.inner.tsv', // pcapng multi-interface
  'zeek/q-in-q/q-in-q.pcap.flows.inner.tsv', // 802.1ad Q-in-Q
  'zeek/ssh-basic/ssh.pcap.flows.inner.tsv',
  'zeek/vxlan-encapsulated-http/vxlan-encapsulated-http.pcap.flows.inner.tsv', // VXLAN
  'zeek/vxlan-encapsulated-http/vxlan-encapsulated-http.pcap.flows.outer.tsv',
  'zeek/vxlan-overlapping-http-get/vxlan-overlapping-http-get.pcap.flows.inner.tsv', // same 5-tuple, two VNIs
  'zeek/vxlan-overlapping-http-get/vxlan-overlapping-http-get.pcap.flows.outer.tsv',
  'zeek/vxlan/vxlan.pcap.flows.inner.tsv', // VXLAN VNI 123
  'zeek/vxlan/vxlan.pcap.flows.outer.tsv',
  'zeek/wikipedia/wikipedia.pcap.flows.inner.tsv',
]

for (const rel of TSV_CASES) {
  test(`tshark flowsum: ${rel}`, async () => {
    const tsv = sharedData(...rel.split('/'))
    const level = rel.includes('.outer.') ? 'outer' : 'inner'
    const want = readFlowsumTsv(tsv)
    const { frames, error } = await decodeAll(tsv.replace(/\.flows\.(inner|outer)\.tsv$/, ''))
    assert.equal(error, null)
    assert.equal(frames.length, want.frames, 'frames')
    const got = flowsum(frames, level)
    assert.equal(got.nonIp, want.nonIp, 'non-IP frames')
    assert.deepEqual([...got.rows.keys()].sort(), [...want.rows.keys()].sort(), 'flow keys')
    for (const [k, w] of want.rows) {
      const g = got.rows.get(k)!
      assert.deepEqual(
        [g.packets, g.ipBytes, g.frameBytes, g.tcpFlagsOr],
        [w.packets, w.ipBytes, w.frameBytes, w.tcpFlagsOr],
        `${k}: packets, ip bytes, frame bytes, tcp flags`,
      )
      assert.ok(Math.abs(g.first - w.first) < 2e-6 && Math.abs(g.last - w.last) < 2e-6, `${k}: first/last`)
    }
  })
}

/** What tcpdump printed for one packet: the IP address pairs in order (outer, then VXLAN inner), VNIs, VLAN ids. */
interface TcpdumpPacket {
  pairs: { src: string; sport: number; dst: string; dport: number }[]
  vnis: number[]
  vlans: number[]
  lengths: number[]
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/
const ADDR = String.raw`((?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]*:[0-9a-f:]*)`
const PAIR = new RegExp(String.raw`(?:^|[\s)])${ADDR}(?:\.(\d+))? > ${ADDR}(?:\.(\d+))?[:,]`, 'g')

function parseTcpdumpOut(path: string): TcpdumpPacket[] {
  const out: TcpdumpPacket[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(line))
      out.push({ pairs: [], vnis: [], vlans: [], lengths: [] })
    const p = out[out.length - 1]
    if (p === undefined) continue
    for (const mm of line.matchAll(PAIR)) {
      if (MAC.test(mm[1]!) || MAC.test(mm[3]!)) continue
      p.pairs.push({ src: mm[1]!, sport: Number(mm[2] ?? 0), dst: mm[3]!, dport: Number(mm[4] ?? 0) })
    }
    // IPv6 with a jumbo option prints addresses first, then the ports alone.
    const last = p.pairs[p.pairs.length - 1]
    const portsOnly = /\s(\d+) > (\d+): /.exec(line)
    if (last !== undefined && last.sport === 0 && last.dport === 0 && portsOnly !== null) {
      last.sport = Number(portsOnly[1])
      last.dport = Number(portsOnly[2])
    }
    for (const mm of line.matchAll(/vni (\d+)/g)) p.vnis.push(Number(mm[1]))
    for (const mm of line.matchAll(/vlan (\d+), p/g)) p.vlans.push(Number(mm[1]))
    for (const mm of line.matchAll(/proto \w+ \(\d+\), length (\d+)|payload length (\d+)\)/g)) {
      // Payload length 0 is a jumbogram/BIG TCP: tcpdump prints the 0, we count the captured bytes.
      p.lengths.push(mm[1] !== undefined ? Number(mm[1]) : Number(mm[2]) === 0 ? NaN : Number(mm[2]) + 40)
    }
  }
  return out
}

/** tcpdump `.out` decodes compared packet by packet. */
const TCPDUMP_CASES = [
  '802.1ad_QinQ', // 802.1ad + 802.1Q
  'vxlan', // VXLAN VNI 100, inner ICMP/ARP
  'gso-ipv4-vxlan-ipv4',
  'gso-ipv4-vxlan-ipv6',
  'gso-ipv6-vxlan-ipv4',
  'gso-ipv6-vxlan-ipv6',
  'bigtcp-ipv4-vxlan-ipv4', // total length 0 (BIG TCP)
  'bigtcp-ipv4-vxlan-ipv6',
  'bigtcp-ipv6-vxlan-ipv4',
  'bigtcp-ipv6-vxlan-ipv6',
  'gso-ipv4',
  'gso-ipv6',
  'bigtcp-ipv4',
  'bigtcp-ipv6-hbh', // IPv6 hop-by-hop jumbo
  'ipv4_tcp_http_xml_tso',
  'LINKTYPE_IPV4', // link type 228
  'LINKTYPE_IPV6-e', // link type 229
  'LINKTYPE_RAW_ipv4', // link type 101
  'LINKTYPE_RAW_ipv6',
  'ipv6_jumbogram_1',
]

function vxlanChain(f: FrameRecord): FrameRecord[] {
  const chain = [f]
  let r = f
  while (r.inner !== null) {
    chain.push(r.inner)
    r = r.inner
  }
  return chain
}

for (const name of TCPDUMP_CASES) {
  test(`tcpdump decode: ${name}`, async () => {
    const out = parseTcpdumpOut(sharedData('tcpdump-tests', `${name}.out`))
    const pcapName = name.replace(/-e$/, '')
    const { frames, error } = await decodeAll(sharedData('tcpdump-tests', `${pcapName}.pcap`))
    assert.equal(error, null)
    assert.equal(frames.length, out.length, 'packet count')
    for (let i = 0; i < frames.length; i++) {
      const want = out[i]!
      const chain = vxlanChain(frames[i]!).filter((r) => r.src !== '')
      const got = chain.map((r) => {
        const ports = r.proto === 6 || r.proto === 17 || r.proto === 132
        return { src: r.src, sport: ports ? r.sport : 0, dst: r.dst, dport: ports ? r.dport : 0 }
      })
      assert.deepEqual(got, want.pairs, `packet ${i + 1}: addresses and ports`)
      assert.deepEqual(
        vxlanChain(frames[i]!)
          .filter((r) => r.vni >= 0)
          .map((r) => r.vni),
        want.vnis,
        `packet ${i + 1}: VNIs`,
      )
      const vlans = vxlanChain(frames[i]!).flatMap((r) => [r.vlanOuter, r.vlanInner].slice(0, r.vlans))
      assert.deepEqual(vlans, want.vlans, `packet ${i + 1}: VLAN ids`)
      if (want.lengths.length > 0) {
        const got = chain.map((r) => r.ipLength).slice(0, want.lengths.length)
        assert.deepEqual(
          got.map((v, j) => (Number.isNaN(want.lengths[j]) ? NaN : v)),
          want.lengths,
          `packet ${i + 1}: IP lengths`,
        )
      }
    }
  })
}

/** Packet counts asserted by PcapPlusPlus' FileTests.cpp (shared/data/pcapplusplus/README.md). */
const PCPP_COUNTS = [
  { file: 'example.pcap', frames: 4631, ipv4: 4631, tcp: 4492, udp: 139 },
  { file: 'many_interfaces-1.pcapng', frames: 64, ip: 64, tcp: 32, udp: 32, links: { 1: 62, 0: 2 } },
  { file: 'sll.pcap', frames: 518, ipv4: 510, tcp: 483, udp: 28 },
]

for (const c of PCPP_COUNTS) {
  test(`PcapPlusPlus counts: ${c.file}`, async () => {
    const { frames, error } = await decodeAll(sharedData('pcapplusplus', 'PcapExamples', c.file))
    assert.equal(error, null)
    assert.equal(frames.length, c.frames)
    const ip = frames.filter((f) => f.src !== '')
    if (c.ipv4 !== undefined) assert.equal(ip.filter((f) => !f.src.includes(':')).length, c.ipv4)
    if (c.ip !== undefined) assert.equal(ip.length, c.ip)
    assert.equal(ip.filter((f) => f.proto === 6).length, c.tcp)
    assert.equal(ip.filter((f) => f.proto === 17).length, c.udp)
    if (c.links !== undefined) {
      const links: Record<number, number> = {}
      for (const f of frames) links[f.linkType] = (links[f.linkType] ?? 0) + 1
      assert.deepEqual(links, c.links)
    }
  })
}

/** Arkime captures: every session's packet and frame-byte counts per direction (its *.test ground truth). */
const ARKIME_CASES = [
  'twovlan.pcap', // two VLANs
  'dot1ad.pcap', // 802.1ad
  'mpls-basic.pcap', // MPLS
  'adb.pcap', // raw IPv4 link type
  'ip-boundaries.pcap',
  'long-session.pcap',
  'v6.pcap',
  'v6-http.pcap',
  'bigendian.pcap', // big-endian pcap
  'empty.pcap', // header only
  'padded-udp.pcap', // Ethernet padding after a short UDP
  'single-packets.pcap',
]

function unordered(proto: number, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}:${ap}`
  const y = `${b}:${bp}`
  return x < y ? `${proto} ${x} ${y}` : `${proto} ${y} ${x}`
}

interface ArkimeSession {
  proto: number
  src: string
  sport: number
  dst: string
  dport: number
  srcPackets: number
  srcBytes: number
  dstPackets: number
  dstBytes: number
}

function arkimeSessions(pcap: string): ArkimeSession[] {
  const lines = readFileSync(sharedData('arkime', 'arkime_sessions_summary.tsv'), 'utf8').split('\n')
  const out: ArkimeSession[] = []
  for (const line of lines) {
    const c = line.split('\t')
    if (c[0] !== pcap) continue
    out.push({
      proto: Number(c[1]),
      src: c[2]!,
      sport: Number(c[3]),
      dst: c[4]!,
      dport: Number(c[5]),
      srcPackets: Number(c[6]),
      srcBytes: Number(c[7]),
      dstPackets: Number(c[8]),
      dstBytes: Number(c[9]),
    })
  }
  return out
}

for (const pcap of ARKIME_CASES) {
  test(`Arkime sessions: ${pcap}`, async () => {
    const { frames, error } = await decodeAll(sharedData('arkime', 'tests-pcap', pcap))
    assert.equal(error, null)
    const sessions = arkimeSessions(pcap)
    if (pcap === 'empty.pcap') assert.equal(frames.length, 0)
    else assert.ok(sessions.length > 0, 'sessions in the summary')
    // Arkime picks a session's direction by its own heuristics and splits some ICMP exchanges: compare
    // the packets and frame bytes of each unordered 5-tuple, summed over its sessions.
    const want = new Map<string, [number, number]>()
    for (const s of sessions) {
      if (s.src === '') continue // a non-IP session (e.g. MPLS without IP)
      const k = unordered(s.proto, s.src, s.sport, s.dst, s.dport)
      const w = want.get(k) ?? [0, 0]
      want.set(k, [w[0] + s.srcPackets + s.dstPackets, w[1] + s.srcBytes + s.dstBytes])
    }
    const got = new Map<string, [number, number]>()
    for (const f of frames) {
      const r = vxlanChain(f)
        .filter((x) => x.src !== '')
        .pop()
      if (r === undefined) continue
      const ports = r.proto === 6 || r.proto === 17
      const k = unordered(r.proto, r.src, ports ? r.sport : 0, r.dst, ports ? r.dport : 0)
      if (!want.has(k)) continue
      const g = got.get(k) ?? [0, 0]
      got.set(k, [g[0] + 1, g[1] + f.capLen])
    }
    for (const [k, w] of want) assert.deepEqual(got.get(k) ?? [0, 0], w, k)
  })
}
