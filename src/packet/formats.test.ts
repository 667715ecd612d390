// SPDX-License-Identifier: Apache-2.0
// test-group: golden
/**
 * Per-frame golden test of format variants (byte orders, µs/ns, pcapng, SLL/SLL2, null/loop, raw IP,
 * VLAN, fragments) against tshark 4.0's decode, kept in testdata/tshark-frames.expected.jsonl.
 * `UPDATE_GOLDEN=1` regenerates it with the installed tshark; review the diff like code.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { sharedData } from '../../test/helpers/shared.ts'
import { MAX_TIMESTAMP_SEC } from './reader.ts'
import { decodeAll } from './testing.ts'
import type { FrameRecord } from './testing.ts'

const GOLDEN = new URL('./testdata/tshark-frames.expected.jsonl', import.meta.url)

/** Captures (under shared/data) whose every frame is compared. */
const CASES = [
  'pcapplusplus/PcapExamples/sll2.pcap', // LINKTYPE_LINUX_SLL2
  'pcapplusplus/PcapExamples/sll.pcap', // LINKTYPE_LINUX_SLL
  'pcapplusplus/PcapExamples/null_loopback.pcap', // BSD null, IPv4 + IPv6 (AF 30)
  'pcapplusplus/PcapExamples/microsecs.pcap',
  'pcapplusplus/PcapExamples/nanosecs.pcap', // ns time stamps
  'pcapplusplus/PcapExamples/nanosecs_big_endian.pcap', // big-endian, ns
  'pcapplusplus/PcapExamples/linktype_ipv4.pcap', // LINKTYPE_IPV4
  'pcapplusplus/PcapExamples/linktype_ipv6.pcap', // LINKTYPE_IPV6
  'pcapplusplus/PcapExamples/raw_ip.pcap', // LINKTYPE_RAW
  'pcapplusplus/PcapExamples/pcapng-example.pcapng', // pcapng with options, comments, several interfaces
  'pcapplusplus/PcapExamples/VlanPackets.pcap', // 802.1Q
  'pcapplusplus/PcapExamples/ICMPv6_echos.cap',
  'pcapplusplus/PcapExamples/frag_with_padding.pcap', // fragments + Ethernet padding
  'pcapplusplus/PcapExamples/ip4_fragments.pcap',
  'pcapplusplus/PcapExamples/ip6_fragments.pcap',
  'arkime/tests-pcap/bigendian.pcap', // big-endian, µs
  'arkime/tests-pcap/dot1ad.pcap', // 802.1ad
  'zeek/pcapng-multi-interface/pcapng-multi-interface.pcapng',
  'tcpdump-tests/icmp-length-zero.pcapng',
  'tcpdump-tests/icmpv6-length-zero.pcapng',
  'tcpdump-tests/802.1ad_QinQ.pcap',
]

/** One frame: [capLen, wireLen, time, src, dst, sport, dport, ipLength, vlanIds] (outermost IP header). */
type Row = [number, number, string, string, string, number, number, number, string]

const FIELDS = [
  'frame.cap_len',
  'frame.len',
  'frame.time_epoch',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'ip.len',
  'ipv6.plen',
  'vlan.id',
  'ieee8021ad.id',
  'frame.protocols',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'ip.proto',
  'ipv6.nxt',
]

function tsharkRows(file: string): Row[] {
  const r = spawnSync(
    'tshark',
    [
      '-n',
      '-o',
      'ip.defragment:FALSE',
      '-o',
      'ipv6.defragment:FALSE',
      '-r',
      file,
      '-T',
      'fields',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=|',
      ...FIELDS.flatMap((f) => ['-e', f]),
    ],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  )
  const rows: Row[] = []
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue
    const c = line.split('\t')
    const first = (s: string | undefined): string => (s ?? '').split('|')[0] ?? ''
    // The 802.1ad S-tag is its own field in tshark; the outer tag comes first.
    const vlans = [c[10] ?? '', c[9] ?? ''].filter((v) => v !== '').join('|')
    c.splice(10, 1)
    const protos = (c[10] ?? '').split(':')
    const v4 = first(c[3]) !== ''
    const v6first =
      protos.indexOf('ipv6') >= 0 &&
      (protos.indexOf('ip') < 0 || protos.indexOf('ipv6') < protos.indexOf('ip'))
    const src = v6first || !v4 ? first(c[5]) : first(c[3])
    const dst = v6first || !v4 ? first(c[6]) : first(c[4])
    const ipLen = src === '' ? 0 : v6first || !v4 ? Number(first(c[8])) + 40 : Number(first(c[7]))
    // Ports of the first transport right after the outermost IP header only (not inside ICMP errors or tunnels).
    const ipAt = Math.min(...['ip', 'ipv6'].map((p) => protos.indexOf(p)).filter((i) => i >= 0))
    const next = protos[ipAt + 1] ?? ''
    const nextIsExt =
      next === 'ipv6.hopopts' || next === 'ipv6.routing' || next === 'ipv6.dstopts' || next === 'ipv6.fraghdr'
    const after = nextIsExt ? (protos.slice(ipAt + 1).find((p) => !p.startsWith('ipv6.')) ?? '') : next
    let sport = 0
    let dport = 0
    if (after === 'tcp') [sport, dport] = [Number(first(c[11])), Number(first(c[12]))]
    if (after === 'udp') [sport, dport] = [Number(first(c[13])), Number(first(c[14]))]
    rows.push([Number(c[0]), Number(c[1]), c[2]!, src, dst, sport, dport, ipLen, vlans])
  }
  return rows
}

function ourRows(frames: FrameRecord[]): Row[] {
  return frames.map((f) => {
    const ports =
      (f.proto === 6 || f.proto === 17) &&
      f.fragOffset === 0 &&
      f.malformed !== 'TcpTruncated' &&
      f.malformed !== 'UdpTruncated'
    const vlans = [f.vlanOuter, f.vlanInner].slice(0, f.vlans).join('|')
    return [
      f.capLen,
      f.origLen,
      f.ts,
      f.src,
      f.dst,
      ports ? f.sport : 0,
      ports ? f.dport : 0,
      f.src === '' ? 0 : f.ipLength,
      vlans,
    ] as Row
  })
}

if (process.env.UPDATE_GOLDEN === '1') {
  const lines = CASES.map((rel) =>
    JSON.stringify({ file: rel, frames: tsharkRows(sharedData(...rel.split('/'))) }),
  )
  writeFileSync(GOLDEN, lines.join('\n') + '\n')
}

const golden = new Map<string, Row[]>(
  readFileSync(GOLDEN, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const j = JSON.parse(l) as { file: string; frames: Row[] }
      return [j.file, j.frames]
    }),
)

for (const rel of CASES) {
  test(`tshark frames: ${rel}`, async () => {
    const want = golden.get(rel)
    assert.ok(want !== undefined && want.length > 0, 'golden rows present')
    const { frames, error } = await decodeAll(sharedData(...rel.split('/')))
    assert.equal(error, null)
    const got = ourRows(frames)
    assert.equal(got.length, want.length, 'frame count')
    // The one chosen difference: a time past 2³² − 1 s is clamped by our reader (docs/packet.md, "Reading").
    for (const w of want) if (Number(w[2]) > MAX_TIMESTAMP_SEC) w[2] = `${MAX_TIMESTAMP_SEC}.000000000`
    for (let i = 0; i < got.length; i++)
      assert.deepEqual(
        got[i],
        want[i],
        `frame ${i + 1}: [capLen, wireLen, time, src, dst, sport, dport, ipLength, vlans]`,
      )
  })
}
