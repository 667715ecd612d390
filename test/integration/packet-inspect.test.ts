// SPDX-License-Identifier: Apache-2.0
// test-group: process
/** `mirrorflow inspect` end to end: the bundled sample, --json names, a VXLAN capture, a damaged file, stdin. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT, sharedData } from '../helpers/shared.ts'

const BIN = join(REPO_ROOT, 'bin', 'mirrorflow.mjs')

function run(args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, cwd: REPO_ROOT })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('inspect with no file summarises the bundled sample', () => {
  const r = run(['inspect'])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /frames: +1000 /)
  assert.match(r.stdout, /VNI 5569041: 167, VNI 7340033: 167/)
  assert.match(r.stdout, /malformed: +3 /)
  assert.match(r.stdout, /top 5-tuples/)
})

test('inspect --json: the documented names, as numbers, for a real AWS Traffic Mirroring capture', () => {
  const r = run(['inspect', '--json', sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap')])
  assert.equal(r.status, 0, r.stderr)
  const j = JSON.parse(r.stdout) as Record<string, unknown>
  assert.equal(j.frames, 100)
  assert.equal(j.malformed, 0)
  assert.deepEqual(j.l3, { ipv4: 100, ipv6: 0, other: 0 })
  const l4 = j.l4 as Record<string, number>
  assert.equal(l4.udp, 100)
  assert.deepEqual(Object.keys(l4).sort(), ['icmp', 'icmpv6', 'other', 'tcp', 'udp'])
  assert.deepEqual(j.vxlan, { '5569041': 100 })
})

test('inspect on a damaged file prints what it read, then a clear error, exit 1; stdin with -', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-inspect-'))
  try {
    const good = readFileSync(sharedData('pcapplusplus', 'PcapExamples', 'example.pcap'))
    const f = join(dir, 'cut.pcap')
    writeFileSync(f, good.subarray(0, good.length - 10))
    const r = run(['inspect', '--json', f])
    assert.equal(r.status, 1)
    assert.equal((JSON.parse(r.stdout) as { frames: number }).frames, 4630)
    assert.match(r.stderr, /cut\.pcap: damaged capture at byte \d+: truncated record/)
    const s = run(['inspect', '--json', '-'], good)
    assert.equal(s.status, 0, s.stderr)
    assert.equal((JSON.parse(s.stdout) as { frames: number }).frames, 4631)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
