// SPDX-License-Identifier: Apache-2.0
// The encapsulator against AWS itself: the inner frames of the real Traffic Mirroring capture
// suricata-verify/vxlan-decoder-03 are mirrored again through mirrorCapture, and every outer byte
// must equal AWS's, except the outer source MAC (AWS writes its fabric's MAC) and the UDP source
// port (a hash AWS does not specify, spec §2.2) — for which symmetry per flow is checked instead.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeFrame, LinkType, PacketMeta, PcapWriter, readCapture } from '../packet/index.ts'
import { sharedData } from '../../test/helpers/shared.ts'
import { parseAwsMirrorConfig } from './aws-config.ts'
import { mirrorCapture } from './offline.ts'
import { mirroredLength } from './encapsulate.ts'
import { buildFrame, decodeBuilt } from './testing.ts'

interface Frame {
  bytes: Uint8Array
  innerOffset: number
}

async function readAll(path: string): Promise<Frame[]> {
  const out: Frame[] = []
  const m = new PacketMeta()
  for await (const b of readCapture(path)) {
    for (let i = 0; i < b.count; i++) {
      decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, m)
      out.push({ bytes: b.bytes.slice(b.starts[i]!, b.ends[i]!), innerOffset: m.innerOffset - b.starts[i]! })
    }
  }
  return out
}

/** The AWS CLI JSON of the session that produced the capture (VNI 5569041, source 172.31.0.238). */
export const AWS_CAPTURE_CONFIG = {
  NetworkInterfaces: [
    {
      NetworkInterfaceId: 'eni-0source0000000001',
      MacAddress: '02:85:69:c2:ab:02',
      PrivateIpAddress: '172.31.0.238',
    },
    {
      NetworkInterfaceId: 'eni-0target0000000001',
      MacAddress: '06:e2:43:9c:ff:5e',
      PrivateIpAddress: '172.31.17.188',
    },
  ],
  TrafficMirrorTargets: [
    {
      TrafficMirrorTargetId: 'tmt-0aaaaaaaaaaaaaaaa',
      NetworkInterfaceId: 'eni-0target0000000001',
      Type: 'network-interface',
    },
  ],
  TrafficMirrorFilters: [
    {
      TrafficMirrorFilterId: 'tmf-0aaaaaaaaaaaaaaaa',
      IngressFilterRules: [
        {
          RuleNumber: 100,
          RuleAction: 'accept',
          SourceCidrBlock: '0.0.0.0/0',
          DestinationCidrBlock: '0.0.0.0/0',
          TrafficDirection: 'ingress',
        },
      ],
      EgressFilterRules: [
        {
          RuleNumber: 100,
          RuleAction: 'accept',
          SourceCidrBlock: '0.0.0.0/0',
          DestinationCidrBlock: '0.0.0.0/0',
          TrafficDirection: 'egress',
        },
      ],
      NetworkServices: ['amazon-dns'],
    },
  ],
  TrafficMirrorSessions: [
    {
      TrafficMirrorSessionId: 'tms-0aaaaaaaaaaaaaaaa',
      TrafficMirrorTargetId: 'tmt-0aaaaaaaaaaaaaaaa',
      TrafficMirrorFilterId: 'tmf-0aaaaaaaaaaaaaaaa',
      NetworkInterfaceId: 'eni-0source0000000001',
      SessionNumber: 1,
      VirtualNetworkId: 5569041,
    },
  ],
  AmazonDnsResolvers: ['172.31.0.2', '169.254.169.253'],
}

describe('encapsulation matches AWS (vxlan-decoder-03)', () => {
  let dir = ''
  let aws: Frame[] = []
  let ours: Frame[] = []
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-mirror-'))
    aws = await readAll(sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap'))
    const inner = join(dir, 'inner.pcap')
    const w = new PcapWriter(inner, { linkType: LinkType.Ethernet })
    for (const f of aws) w.write(f.bytes, f.innerOffset, f.bytes.length, f.bytes.length - f.innerOffset, 0, 0)
    await w.close()
    const cfg = parseAwsMirrorConfig(AWS_CAPTURE_CONFIG)
    // AWS writes its fabric's MAC as the outer source; the source interface's MAC is what we know.
    const res = await mirrorCapture(cfg.state, inner, join(dir, 'out.pcap'), {
      macByAddress: cfg.macByAddress,
    })
    assert.equal(res.frames, aws.length)
    ours = await readAll(join(dir, 'out.pcap'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('every packet is mirrored once, in order', () => {
    assert.equal(aws.length, 100)
    assert.equal(ours.length, aws.length)
  })

  test('outer headers equal AWS byte for byte (except outer source MAC and UDP source port)', () => {
    for (let i = 0; i < aws.length; i++) {
      const a = aws[i]!.bytes
      const o = ours[i]!.bytes
      assert.equal(o.length, a.length, `frame ${i} length`)
      const mask = (b: Uint8Array) => {
        const c = b.slice()
        c.fill(0, 6, 12) // outer source MAC
        c.fill(0, 34, 36) // UDP source port
        return Buffer.from(c).toString('hex')
      }
      assert.equal(mask(o), mask(a), `frame ${i} (-ours, +aws)`)
    }
  })

  test('UDP source port: 0xFF80-0xFFFF, and one port per flow in both directions (as AWS)', () => {
    const byFlow = new Map<string, Set<number>>()
    const m = new PacketMeta()
    for (let i = 0; i < ours.length; i++) {
      const o = ours[i]!
      const sport = (o.bytes[34]! << 8) | o.bytes[35]!
      assert.ok(sport >= 0xff80, `port ${sport}`)
      const v = new DataView(o.bytes.buffer, o.bytes.byteOffset)
      decodeFrame(v, o.innerOffset, o.bytes.length, LinkType.Ethernet, m)
      const ends = [`${m.src4}:${m.srcPort}`, `${m.dst4}:${m.dstPort}`].sort().join('-') + `/${m.ipProto}`
      const awsPort = (aws[i]!.bytes[34]! << 8) | aws[i]!.bytes[35]!
      // AWS's own anomaly (spec §2.2): resolver responses all used 65408; skip those for AWS parity.
      if (awsPort === 65408) continue
      if (!byFlow.has(ends)) byFlow.set(ends, new Set())
      byFlow.get(ends)!.add(sport)
    }
    assert.ok(byFlow.size >= 5)
    for (const [flow, ports] of byFlow)
      assert.equal(ports.size, 1, `flow ${flow} got ports ${[...ports].join(',')}`)
  })
})

describe('mirroredLength (packet length, spec §1.5/§7.4)', () => {
  const v4 = buildFrame({ payload: 100 }) // 14 + 20 + 20 + 100 = 154
  const v6 = buildFrame({ src: 'fd00::1', dst: 'fd00::2', payload: 100 }) // 14 + 40 + 20 + 100 = 174
  const cases = [
    { name: 'unset: whole frame', b: v4, pl: 0, want: 154 },
    { name: 'longer than the frame: whole frame', b: v4, pl: 8500, want: 154 },
    { name: 'cut to 100', b: v4, pl: 100, want: 100 },
    { name: 'IPv4 floor 35', b: v4, pl: 1, want: 35 },
    { name: 'IPv4 exactly 35', b: v4, pl: 35, want: 35 },
    { name: 'IPv6 floor 55', b: v6, pl: 25, want: 55 },
    { name: 'IPv6 cut to 60', b: v6, pl: 60, want: 60 },
  ]
  for (const c of cases) test(c.name, () => assert.equal(mirroredLength(decodeBuilt(c.b), c.pl), c.want))
})
