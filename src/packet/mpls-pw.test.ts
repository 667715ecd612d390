// SPDX-License-Identifier: Apache-2.0
// test-group: golden
// Issue 9 item 12: Ethernet over MPLS pseudowires (label stack, PW control word, inner Ethernet frame)
// decoded in the packet layer, checked frame by frame against tshark on a capture built with the
// encoders. Issue 9 item 16: `inspect` lists every VLAN id of a frame (outer and inner), as tshark does.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { sharedData } from '../../test/helpers/shared.ts'
import {
  CaptureSummary,
  encodeEthernet,
  encodeIPv4,
  encodeIPv6,
  encodeUDP,
  LinkType,
  parseIPv4,
  parseIPv6,
  PcapWriter,
  readCapture,
} from './index.ts'
import { decodeAll } from './testing.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-mpls-pw-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const MAC_A = Uint8Array.from([0x02, 0, 0, 0, 0, 0x0a])
const MAC_B = Uint8Array.from([0x02, 0, 0, 0, 0, 0x0b])
/*
 * The inner frame's MACs carry vendors' OUIs (Cisco 00:00:0c, Intel 00:1b:21): tshark's pseudowire
 * heuristic takes the first nibble 0 for a control word only when an Ethernet header with known
 * vendors follows it (as real provider edges send).
 */
const MAC_CISCO = Uint8Array.from([0x00, 0x00, 0x0c, 0x01, 0x02, 0x03])
const MAC_INTEL = Uint8Array.from([0x00, 0x1b, 0x21, 0x04, 0x05, 0x06])

/** One frame to build: outer VLAN tags, MPLS labels, what follows the bottom label. */
interface Spec {
  outerVlans?: number[]
  labels: number[]
  /** 'pw': control word + inner Ethernet; 'ip': IP right after the labels; 'ach': an associated channel. */
  payload: 'pw' | 'ip' | 'ach'
  innerVlans?: number[]
  six?: boolean
  proto?: 6 | 17
  /** Cut the frame after this many bytes. */
  cut?: number
}

/** Writes the TCI and next type of each tag at `off` (the first TPID is the Ethernet type before it). */
function tags(v: DataView, off: number, ids: number[], etherType: number): number {
  ids.forEach((id, k) => {
    v.setUint16(off, id, false)
    v.setUint16(off + 2, k === ids.length - 1 ? etherType : 0x8100, false)
    off += 4
  })
  return off
}

function build(s: Spec, i: number): Uint8Array {
  const b = new Uint8Array(256)
  const v = new DataView(b.buffer)
  const outer = s.outerVlans ?? []
  let off = encodeEthernet(v, 0, MAC_B, MAC_A, outer.length > 0 ? 0x8100 : 0x8847)
  off = tags(v, off, outer, 0x8847)
  s.labels.forEach((label, k) => {
    // Label (20 bits), TC 0, S on the last, TTL 255.
    v.setUint32(off, ((label << 12) | (k === s.labels.length - 1 ? 0x100 : 0) | 255) >>> 0, false)
    off += 4
  })
  if (s.payload === 'ach') {
    v.setUint32(off, 0x10000000 | 0x0007, false) // 0001, version 0, channel type 7 (BFD)
    return b.subarray(0, off + 16)
  }
  if (s.payload === 'pw') {
    v.setUint32(off, i & 0xffff, false) // 0000, flags 0, FRG 0, length 0, sequence number i
    off += 4
    const inner = s.innerVlans ?? []
    const type = s.six === true ? 0x86dd : 0x0800
    off = encodeEthernet(v, off, MAC_CISCO, MAC_INTEL, inner.length > 0 ? 0x8100 : type)
    off = tags(v, off, inner, type)
  }
  const proto = s.proto ?? 17
  const l4 = proto === 6 ? 20 : 8
  if (s.six === true) {
    off = encodeIPv6(v, off, parseIPv6('2001:db8::1'), parseIPv6(`2001:db8::${i + 2}`), proto, l4, 64)
  } else {
    off = encodeIPv4(v, off, parseIPv4('10.1.1.1'), parseIPv4(`10.2.2.${i + 2}`), proto, 20 + l4, 64, i, true)
  }
  if (proto === 17) off = encodeUDP(v, off, 40000 + i, 53, 8, 0)
  else {
    v.setUint16(off, 40000 + i, false)
    v.setUint16(off + 2, 443, false)
    v.setUint8(off + 12, 0x50)
    v.setUint8(off + 13, 0x02) // SYN
    off += 20
  }
  return b.subarray(0, s.cut ?? off)
}

const SPECS: { name: string; spec: Spec; malformed: string }[] = [
  { name: 'two labels, CW, Ethernet, IPv4/UDP', spec: { labels: [100, 200], payload: 'pw' }, malformed: '' },
  {
    name: 'one label, CW, Ethernet + 802.1Q, IPv4/TCP',
    spec: { labels: [16], payload: 'pw', innerVlans: [42], proto: 6 },
    malformed: '',
  },
  {
    name: 'CW, Ethernet + Q-in-Q, IPv6/UDP',
    spec: { labels: [300, 301, 302], payload: 'pw', innerVlans: [10, 20], six: true },
    malformed: '',
  },
  {
    name: 'outer VLAN, labels, CW, Ethernet + VLAN, IPv4',
    spec: { outerVlans: [7], labels: [400], payload: 'pw', innerVlans: [42] },
    malformed: '',
  },
  {
    name: 'IPv4 right after the labels (no pseudowire)',
    spec: { labels: [500], payload: 'ip' },
    malformed: '',
  },
  { name: 'associated channel: not decoded', spec: { labels: [13], payload: 'ach' }, malformed: '' },
  {
    name: 'control word cut short',
    spec: { labels: [600], payload: 'pw', cut: 14 + 4 + 2 },
    malformed: 'MplsPwTruncated',
  },
  {
    name: 'inner Ethernet cut short',
    spec: { labels: [600], payload: 'pw', cut: 14 + 4 + 4 + 10 },
    malformed: 'MplsPwTruncated',
  },
]

async function writeCapture(): Promise<string> {
  const f = join(dir, 'mpls-pw.pcap')
  const w = new PcapWriter(f, { linkType: LinkType.Ethernet, snaplen: 65535 })
  SPECS.forEach((c, i) => {
    const frame = build(c.spec, i)
    w.write(frame, 0, frame.length, frame.length, 1_700_000_000 + i, 0)
  })
  await w.close()
  return f
}

/** Per frame, from tshark: [src, dst, sport, dport, vlan ids] of the first IP header it decodes. */
function tsharkRows(file: string): string[][] {
  const fields = [
    'ip.src',
    'ip.dst',
    'ipv6.src',
    'ipv6.dst',
    'tcp.srcport',
    'tcp.dstport',
    'udp.srcport',
    'udp.dstport',
    'vlan.id',
    'frame.protocols',
  ]
  const r = spawnSync(
    'tshark',
    [
      '-n',
      '-r',
      file,
      '-T',
      'fields',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=|',
      ...fields.flatMap((x) => ['-e', x]),
    ],
    { encoding: 'utf8' },
  )
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const c = line.split('\t').map((x) => x.split('|')[0] ?? '')
      const all = line.split('\t')
      const src = c[0] !== '' ? c[0]! : c[2]!
      const dst = c[1] !== '' ? c[1]! : c[3]!
      const sport = c[4] !== '' ? c[4]! : c[6]!
      const dport = c[5] !== '' ? c[5]! : c[7]!
      return [src, dst, sport, dport, all[8] ?? '', all[9] ?? '']
    })
}

test('Ethernet over MPLS pseudowires decodes as tshark does, frame by frame', async () => {
  const f = await writeCapture()
  const want = tsharkRows(f)
  const { frames, error } = await decodeAll(f)
  assert.equal(error, null)
  assert.equal(frames.length, SPECS.length)
  // tshark itself: the pseudowire frames are pwethcw, then eth and the inner layers.
  assert.match(want[0]![5]!, /^eth:ethertype:mpls:pwethheuristic:pwethcw:eth:ethertype:ip:udp$/)
  SPECS.forEach((c, i) => {
    const g = frames[i]!
    const w = want[i]!
    const ports = g.malformed === '' && (g.proto === 6 || g.proto === 17)
    assert.deepEqual(
      [g.src, g.dst, ports ? String(g.sport) : '', ports ? String(g.dport) : '', g.malformed],
      [w[0], w[1], w[2], w[3], c.malformed],
      `frame ${i + 1} (${c.name}) (-got, +want)`,
    )
  })
})

test('the VLAN fields describe the first tag stack; inspect counts every tag, as tshark does', async () => {
  const f = await writeCapture()
  const { frames } = await decodeAll(f)
  assert.deepEqual(
    frames.map((g) => [g.vlans, g.vlanOuter, g.vlanInner]),
    [
      [0, 0, 0],
      [1, 42, 0],
      [2, 10, 20],
      [1, 7, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ],
  )
  const s = new CaptureSummary()
  for await (const b of readCapture(f)) s.add(b)
  assert.deepEqual(s.toJSON().vlan, { tagged: 3, qinq: 1, ids: tsharkVlanIds(f) })
  assert.deepEqual(s.toJSON().vlan.ids, { '7': 1, '10': 1, '20': 1, '42': 2 })
  assert.equal(s.toJSON().malformedByReason['MplsPwTruncated'], 2)
})

/** Frames per VLAN id over every tag tshark reports (802.1Q `vlan.id` and 802.1ad `ieee8021ad.id`). */
function tsharkVlanIds(file: string): Record<string, number> {
  const r = spawnSync(
    'tshark',
    [
      '-n',
      '-r',
      file,
      '-T',
      'fields',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=|',
      '-e',
      'ieee8021ad.id',
      '-e',
      'vlan.id',
    ],
    {
      encoding: 'utf8',
    },
  )
  assert.equal(r.status, 0, r.stderr)
  const ids = new Map<number, number>()
  for (const line of r.stdout.split('\n'))
    for (const id of line.split(/[\t|]/).filter((x) => x !== ''))
      ids.set(Number(id), (ids.get(Number(id)) ?? 0) + 1)
  return Object.fromEntries([...ids].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]))
}

for (const rel of [
  'tcpdump-tests/802.1ad_QinQ.pcap',
  'zeek/q-in-q/q-in-q.pcap',
  'arkime/tests-pcap/dot1ad.pcap',
  'pcapplusplus/PcapExamples/VlanPackets.pcap',
  'zeek/mixed-vlan-mpls/mixed-vlan-mpls.pcap',
]) {
  test(`inspect lists outer and inner VLAN ids as tshark does: ${rel}`, async () => {
    const f = sharedData(...rel.split('/'))
    const s = new CaptureSummary()
    for await (const b of readCapture(f)) s.add(b)
    assert.deepEqual(s.toJSON().vlan.ids, tsharkVlanIds(f))
  })
}
