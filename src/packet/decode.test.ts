// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  decodeFrame,
  encodeEthernet,
  encodeIPv4,
  encodeIPv6,
  encodeUDP,
  encodeVXLAN,
  formatIPv4,
  formatIPv6,
  formatMAC,
  ipv4HeaderChecksum,
  LinkType,
  Malformed,
  MALFORMED_NAMES,
  PacketMeta,
  parseIPv4,
  parseIPv6,
  parseMAC,
  udpChecksumIPv4,
  udpChecksumIPv6,
  VXLAN_PORT,
} from './index.ts'

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '')
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16)
  return out
}

function decode(bytes: Uint8Array, linkType: number): { r: number; m: PacketMeta } {
  const m = new PacketMeta()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { r: decodeFrame(view, 0, bytes.length, linkType, m), m }
}

/*
 * Ethernet II | 802.1ad tag (TPID 88a8, VID 200) | 802.1Q tag (TPID 8100, VID 2001) | IPv4 | UDP 4789 | VXLAN
 *  dst mac           src mac           88a8 TCI  8100 TCI  type
 *  IPv4: 45 00 len id flags/frag ttl proto csum src dst
 *  UDP: sport dport len csum; VXLAN: flags 08, reserved, VNI 0x123456, reserved
 */
const QINQ_VXLAN = hex(`
  ffffffffffff 001122334455 88a8 00c8 8100 07d1 0800
  45 00 0032 1234 4000 40 11 0000 0a000001 0a000002
  c000 12b5 001e 0000
  08 000000 123456 00
  aabbccddeeff 665544332211 0806 0001
`)

const cases: {
  name: string
  bytes: Uint8Array
  linkType: number
  want: Partial<Record<keyof PacketMeta, number>>
  r?: number
}[] = [
  {
    name: 'Q-in-Q + IPv4 + UDP + VXLAN',
    bytes: QINQ_VXLAN,
    linkType: LinkType.Ethernet,
    want: {
      vlanCount: 2,
      vlanOuter: 200,
      vlanInner: 2001,
      ipVersion: 4,
      ipProto: 17,
      srcPort: 49152,
      dstPort: VXLAN_PORT,
      vni: 0x123456,
      innerOffset: 58,
      ipLength: 50,
      l3Offset: 22,
      l4Offset: 42,
    },
  },
  {
    // IPv4 with 4 bytes of options (IHL 6), TCP SYN with data offset 6
    name: 'IPv4 options + TCP',
    bytes: hex(
      `46000030 0000 0000 40 06 0000 c0a80001 c0a80002 01010101  1f90 0050 00000001 00000000 60 02 ffff 0000 0000 020405b4`,
    ),
    linkType: LinkType.Raw,
    want: {
      ipVersion: 4,
      l4Offset: 24,
      srcPort: 8080,
      dstPort: 80,
      tcpFlags: 0x02,
      payloadOffset: 48,
      ipLength: 48,
    },
  },
  {
    // non-first IPv4 fragment (offset 185*8): no ports
    name: 'IPv4 later fragment',
    bytes: hex(
      `45000030 0001 00b9 40 11 0000 0a000001 0a000002  1234 5678 0010 0000 0000000000000000 0000000000000000`,
    ),
    linkType: LinkType.IPv4,
    want: { isFragment: 1, fragOffset: 185, srcPort: 0, dstPort: 0, ipProto: 17 },
  },
  {
    // IPv6, hop-by-hop (8 bytes), fragment header (first fragment, M=1), UDP
    name: 'IPv6 HBH + fragment + UDP',
    bytes: hex(`
      60000000 0020 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002
      2c 00 0000 00000000
      11 00 0001 0000abcd
      0035 d431 0010 0000`),
    linkType: LinkType.IPv6,
    want: {
      ipVersion: 6,
      ipProto: 17,
      isFragment: 1,
      fragOffset: 0,
      srcPort: 53,
      dstPort: 54321,
      l4Offset: 56,
      ipLength: 72,
    },
  },
  {
    name: 'Linux SLL + ICMP echo',
    bytes: hex(
      `0000 0001 0006 001122334455 0000 0800  45000020 0000 0000 40 01 0000 0a000001 0a000002  0800 f7ff 0000 0000`,
    ),
    linkType: LinkType.LinuxSLL,
    want: { ipVersion: 4, ipProto: 1, icmpType: 8, icmpCode: 0, l3Offset: 16 },
  },
  {
    name: 'SLL2 + ICMPv6',
    bytes: hex(
      `86dd 0000 00000002 0001 00 06 001122334455 0000  60000000 0004 3a 40 00000000000000000000000000000001 00000000000000000000000000000001 8000 0000`,
    ),
    linkType: LinkType.LinuxSLL2,
    want: { ipVersion: 6, ipProto: 58, icmpType: 128, icmpCode: 0, l3Offset: 20 },
  },
  {
    name: 'BSD null (host order, little-endian AF_INET)',
    bytes: hex(`02000000 45000014 0000 0000 40 3b 0000 0a000001 0a000002`),
    linkType: LinkType.Null,
    want: { ipVersion: 4, ipProto: 59, l3Offset: 4 },
  },
  {
    name: 'BSD loop (network order AF_INET6 = 24)',
    bytes: hex(
      `00000018 60000000 0000 3b 40 00000000000000000000000000000001 00000000000000000000000000000002`,
    ),
    linkType: LinkType.Loop,
    want: { ipVersion: 6, ipProto: 59, l3Offset: 4 },
  },
  {
    name: 'truncated Ethernet',
    bytes: hex(`ffffffffffff0011223344`),
    linkType: LinkType.Ethernet,
    want: { malformed: Malformed.EthernetTruncated },
    r: -1,
  },
  {
    name: 'VLAN tags too deep',
    bytes: hex(`ffffffffffff 001122334455 ${'8100 0001 '.repeat(9)} 0800`),
    linkType: LinkType.Ethernet,
    want: { malformed: Malformed.VlanTooDeep, vlanCount: 8, vlanOuter: 1 },
    r: -1,
  },
  {
    name: 'IPv4 bad header length keeps addresses',
    bytes: hex(`44000014 0000 0000 40 06 0000 0a000001 0a000002`),
    linkType: LinkType.Raw,
    want: { malformed: Malformed.Ipv4BadHeaderLength, src4: 0x0a000001, dst4: 0x0a000002 },
    r: -1,
  },
  {
    name: 'TCP truncated',
    bytes: hex(`45000028 0000 0000 40 06 0000 0a000001 0a000002 0050 0051 0000`),
    linkType: LinkType.Raw,
    want: { malformed: Malformed.TcpTruncated, ipProto: 6 },
    r: -1,
  },
  {
    // RFC 7348: too short for a VXLAN header, still a valid UDP datagram (tshark: UDP flow, no VNI).
    name: 'UDP/4789 shorter than a VXLAN header stays plain UDP',
    bytes: hex(`4500001f 0000 0000 40 11 0000 0a000001 0a000002 1234 12b5 000b 0000 080000`),
    linkType: LinkType.Raw,
    want: {
      malformed: Malformed.None,
      ipProto: 17,
      dstPort: 4789,
      vni: -1,
      innerOffset: -1,
      payloadOffset: 28,
    },
  },
  {
    name: 'UDP/4789 with empty payload stays plain UDP',
    bytes: hex(`4500001c 0000 0000 40 11 0000 0a000001 0a000002 1234 12b5 0008 0000`),
    linkType: LinkType.Raw,
    want: { malformed: Malformed.None, ipProto: 17, srcPort: 0x1234, dstPort: 4789, vni: -1 },
  },
  {
    name: 'unknown link type',
    bytes: hex(`00`),
    linkType: 147,
    want: { malformed: Malformed.UnknownLinkType },
    r: -1,
  },
]

for (const c of cases) {
  test(`decodeFrame: ${c.name}`, () => {
    const { r, m } = decode(c.bytes, c.linkType)
    assert.equal(r, c.r ?? 0, `returned ${r} (${MALFORMED_NAMES[m.malformed]})`)
    for (const [k, v] of Object.entries(c.want)) assert.equal(m[k as keyof PacketMeta], v, k)
  })
}

test('decodeFrame: VXLAN inner frame decodes as a frame of its own', () => {
  const { m } = decode(QINQ_VXLAN, LinkType.Ethernet)
  const inner = new PacketMeta()
  const view = new DataView(QINQ_VXLAN.buffer)
  assert.equal(decodeFrame(view, m.innerOffset, QINQ_VXLAN.length, LinkType.Ethernet, inner), 0)
  assert.equal(inner.etherType, 0x0806)
  assert.equal(formatMAC(QINQ_VXLAN, m.innerOffset), 'aa:bb:cc:dd:ee:ff')
})

test('encoders: VXLAN in IPv4/UDP in Ethernet round-trips through the decoder, checksums verify', () => {
  const innerFrame = QINQ_VXLAN.subarray(58)
  const buf = new Uint8Array(128 + innerFrame.length)
  const view = new DataView(buf.buffer)
  // Headroom model: the mirrored frame sits at 50, headers are written in front of it.
  const at = 50
  buf.set(innerFrame, at)
  const udpLen = 8 + 8 + innerFrame.length
  let o = encodeEthernet(view, 0, parseMAC('02:00:00:00:00:02'), parseMAC('02:00:00:00:00:01'), 0x0800)
  o = encodeIPv4(view, o, parseIPv4('10.1.2.3'), parseIPv4('10.9.8.7'), 17, 20 + udpLen, 255, 7, true)
  const udpOff = o
  o = encodeUDP(view, o, 50000, VXLAN_PORT, udpLen, 0)
  o = encodeVXLAN(view, o, 5569041)
  assert.equal(o, at)
  view.setUint16(
    udpOff + 6,
    udpChecksumIPv4(view, udpOff, udpLen, parseIPv4('10.1.2.3'), parseIPv4('10.9.8.7')),
  )
  const m = new PacketMeta()
  assert.equal(decodeFrame(view, 0, at + innerFrame.length, LinkType.Ethernet, m), 0)
  assert.equal(formatIPv4(m.src4), '10.1.2.3')
  assert.equal(m.vni, 5569041)
  assert.equal(m.innerOffset, at)
  assert.equal(m.ttl, 255)
  assert.equal(view.getUint16(14 + 6), 0x4000)
  // A correct one's-complement checksum makes the sum over the header (or pseudo-header + datagram) 0xffff.
  assert.equal(ipv4HeaderChecksum(view, 14, 20), view.getUint16(14 + 10))
  assert.equal(
    udpChecksumIPv4(view, udpOff, udpLen, parseIPv4('10.1.2.3'), parseIPv4('10.9.8.7')),
    view.getUint16(udpOff + 6),
  )
  // VXLAN header bytes: flags 0x08 then three zero bytes, VNI then one zero byte.
  assert.deepEqual([...buf.subarray(udpOff + 8, udpOff + 16)], [0x08, 0, 0, 0, 0x54, 0xfa, 0x11, 0])
})

test('encoders: IPv6 outer header round-trips', () => {
  const buf = new Uint8Array(14 + 40 + 8 + 8 + 14)
  const view = new DataView(buf.buffer)
  const src = parseIPv6('2001:db8::1')
  const dst = parseIPv6('2001:db8::2')
  let o = encodeEthernet(view, 0, new Uint8Array(6), new Uint8Array(6), 0x86dd)
  o = encodeIPv6(view, o, src, dst, 17, 30, 64)
  const udpOff = o
  o = encodeUDP(view, o, 1, VXLAN_PORT, 30, 0)
  encodeVXLAN(view, o, 42)
  view.setUint16(udpOff + 6, udpChecksumIPv6(view, udpOff, 30, src, dst))
  const m = new PacketMeta()
  assert.equal(decodeFrame(view, 0, buf.length, LinkType.Ethernet, m), 0)
  assert.equal(formatIPv6(buf, m.dst6Offset), '2001:db8::2')
  assert.equal(m.vni, 42)
  assert.equal(m.ipLength, 70)
  assert.notEqual(view.getUint16(udpOff + 6), 0)
})

test('address helpers', () => {
  const v6 = [
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ]
  for (const [input, want] of v6) assert.equal(formatIPv6(parseIPv6(input!), 0), want)
  assert.equal(formatIPv4(parseIPv4('192.168.0.255')), '192.168.0.255')
  for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', 'a.b.c.d']) assert.throws(() => parseIPv4(bad))
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::']) assert.throws(() => parseIPv6(bad))
  assert.equal(formatMAC(parseMAC('AA-bb-cc-00-11-22'), 0), 'aa:bb:cc:00:11:22')
  assert.throws(() => parseMAC('aa:bb'))
})

const LINK_TYPES = [
  LinkType.Ethernet,
  LinkType.Raw,
  LinkType.IPv4,
  LinkType.IPv6,
  LinkType.LinuxSLL,
  LinkType.LinuxSLL2,
  LinkType.Null,
  LinkType.Loop,
  147,
]

/** The decoder's invariants for any input. */
function checkInvariants(bytes: Uint8Array, start: number, end: number, lt: number): void {
  const m = new PacketMeta()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const r = decodeFrame(view, start, end, lt, m)
  assert.ok(r === 0 || r === -1)
  assert.equal(r === -1, m.malformed !== Malformed.None)
  for (const k of ['l3Offset', 'l4Offset', 'payloadOffset', 'innerOffset', 'malformedAt'] as const) {
    const v = m[k]
    assert.ok(v === -1 || (v >= start && v <= end), `${k} ${v} outside [${start}, ${end}]`)
  }
  if (m.src6Offset >= 0) assert.ok(m.src6Offset >= start && m.dst6Offset + 16 <= end)
  if (m.vni >= 0) assert.ok(m.vni <= 0xffffff && m.innerOffset >= 0)
}

test('property: decodeFrame never throws, stays within the frame, returns -1 iff malformed (random bytes)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(...LINK_TYPES),
      fc.nat(8),
      fc.nat(8),
      (bytes, lt, a, b) => {
        const start = Math.min(a, bytes.length)
        const end = Math.max(start, bytes.length - b)
        checkInvariants(bytes, start, end, lt)
      },
    ),
    { numRuns: 5000, seed: 42 },
  )
})

test('property: same invariants on well-formed headers cut and corrupted anywhere', () => {
  fc.assert(
    fc.property(
      fc.nat(QINQ_VXLAN.length),
      fc.array(fc.tuple(fc.nat(QINQ_VXLAN.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      (cut, edits) => {
        const bytes = QINQ_VXLAN.slice()
        for (const [at, v] of edits) bytes[at] = v
        checkInvariants(bytes, 0, cut, LinkType.Ethernet)
        const m = new PacketMeta()
        const view = new DataView(bytes.buffer)
        if (decodeFrame(view, 0, cut, LinkType.Ethernet, m) === 0 && m.vni >= 0)
          checkInvariants(bytes, m.innerOffset, cut, LinkType.Ethernet)
      },
    ),
    { numRuns: 5000, seed: 7 },
  )
})

test('property: parseIPv6 ∘ formatIPv6 is the identity on 16 bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      assert.deepEqual(parseIPv6(formatIPv6(b, 0)), b)
    }),
    { numRuns: 2000, seed: 1 },
  )
})
