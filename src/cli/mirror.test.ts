// SPDX-License-Identifier: Apache-2.0
// test-group: process
// `mirrorflow mirror` end to end, with the sample configuration of docs/mirroring.md (so the docs
// stay true) on the inner frames of the real AWS capture vxlan-decoder-03; tshark reads the output.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeFrame, LinkType, PacketMeta, PcapWriter, readCapture } from '../packet/index.ts'
import { REPO_ROOT, sharedData } from '../../test/helpers/shared.ts'

/** The ```json sample-config block of docs/mirroring.md. */
function sampleConfig(): string {
  const md = readFileSync(join(REPO_ROOT, 'docs', 'mirroring.md'), 'utf8')
  const m = /```json sample-config\n([\s\S]*?)\n```/.exec(md)
  assert.ok(m, 'docs/mirroring.md has a sample-config block')
  return m[1]!
}

describe('mirrorflow mirror (offline)', () => {
  let dir = ''
  let summary: { frames: number; mirrored: number; perSession: Record<string, number> } = {
    frames: 0,
    mirrored: 0,
    perSession: {},
  }
  let rows: string[][] = []
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-cli-mirror-'))
    // The inner frames of the AWS capture, as they were on the source interface.
    const w = new PcapWriter(join(dir, 'inner.pcap'), { linkType: LinkType.Ethernet })
    const m = new PacketMeta()
    for await (const b of readCapture(sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap'))) {
      for (let i = 0; i < b.count; i++) {
        decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, m)
        w.write(b.bytes, m.innerOffset, b.ends[i]!, b.ends[i]! - m.innerOffset, b.tsSec[i]!, b.tsNsec[i]!)
      }
    }
    await w.close()
    writeFileSync(join(dir, 'config.json'), sampleConfig())
    const r = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
        'mirror',
        '--pcap',
        join(dir, 'inner.pcap'),
        '--config',
        join(dir, 'config.json'),
        '--out',
        join(dir, 'out.pcap'),
      ],
      { encoding: 'utf8', cwd: REPO_ROOT },
    )
    assert.equal(r.status, 0, r.stderr)
    summary = JSON.parse(r.stderr.trim().split('\n').pop()!) as typeof summary
    const out = execFileSync(
      'tshark',
      [
        '-r',
        join(dir, 'out.pcap'),
        '-T',
        'fields',
        '-E',
        'occurrence=l',
        '-e',
        'vxlan.vni',
        '-e',
        'ip.dst',
        '-e',
        'tcp.srcport',
        '-e',
        'tcp.dstport',
        '-e',
        'frame.len',
        '-e',
        'ip.src',
      ],
      { encoding: 'utf8' },
    )
    rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('every packet is mirrored exactly once', () => {
    assert.equal(summary.frames, 100)
    assert.equal(summary.mirrored, 100)
    assert.equal(rows.length, 100)
  })

  test('SSH goes to session 2 (VNI 7159709), cut to 128 bytes, one appliance per connection', () => {
    // With occurrence=l, ip.dst is the inner destination; the outer one is read separately below.
    const ssh = rows.filter((r) => r[2] === '22' || r[3] === '22')
    assert.ok(ssh.length > 0)
    for (const r of ssh) {
      assert.equal(r[0], '7159709')
      assert.ok(Number(r[4]) <= 128 + 50, `frame ${r[4]} bytes`)
    }
    assert.equal(summary.perSession['tms-0a1b2c3d4e5f60002'], ssh.length)
    const outer = execFileSync(
      'tshark',
      [
        '-r',
        join(dir, 'out.pcap'),
        '-Y',
        'vxlan.vni == 7159709',
        '-T',
        'fields',
        '-E',
        'occurrence=f',
        '-e',
        'ip.dst',
        '-e',
        'tcp.srcport',
        '-e',
        'tcp.dstport',
      ],
      {
        encoding: 'utf8',
      },
    )
    const byConn = new Map<string, Set<string>>()
    for (const l of outer.trim().split('\n')) {
      const [dst, sp, dp] = l.split('\t') as [string, string, string]
      assert.ok(['172.31.20.11', '172.31.20.12', '172.31.20.13'].includes(dst), dst)
      const conn = [sp, dp].sort().join('-')
      byConn.set(conn, (byConn.get(conn) ?? new Set()).add(dst))
    }
    assert.equal(byConn.size, 4)
    for (const [conn, dsts] of byConn) assert.equal(dsts.size, 1, `connection ${conn}`)
  })

  test('everything else (NTP, DNS to the VPC resolver) goes to session 1 (VNI 5569041), whole', () => {
    const rest = rows.filter((r) => r[2] !== '22' && r[3] !== '22')
    assert.ok(rest.length > 0)
    for (const r of rest) assert.equal(r[0], '5569041')
    assert.ok(
      rest.some((r) => r[1] === '172.31.0.2' || r[5] === '172.31.0.2'),
      'DNS to the resolver is mirrored (amazon-dns)',
    )
    assert.equal(summary.perSession['tms-0a1b2c3d4e5f60001'], rest.length)
  })

  test('--nft prints the kernel table (needs Ifname) and a bad config is a clear error', () => {
    const cfg = JSON.parse(sampleConfig()) as {
      NetworkInterfaces: { Ifname?: string }[]
      TrafficMirrorSessions: unknown[]
    }
    cfg.NetworkInterfaces[0]!.Ifname = 'eth0'
    cfg.TrafficMirrorSessions = cfg.TrafficMirrorSessions.slice(0, 1)
    writeFileSync(join(dir, 'k.json'), JSON.stringify(cfg))
    const r = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'mirrorflow.mjs'), 'mirror', '--config', join(dir, 'k.json'), '--nft'],
      { encoding: 'utf8', cwd: REPO_ROOT },
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /hook ingress device "eth0"/)
    assert.match(r.stdout, /th dport 22 return comment "rule 10"/)
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({
        ...cfg,
        TrafficMirrorSessions: [{ ...(cfg.TrafficMirrorSessions[0] as object), SessionNumber: 0 }],
      }),
    )
    const bad = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'mirrorflow.mjs'), 'mirror', '--config', join(dir, 'bad.json'), '--nft'],
      { encoding: 'utf8', cwd: REPO_ROOT },
    )
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /session number: 0 is not an integer in 1\.\.32766/)
  })
})
