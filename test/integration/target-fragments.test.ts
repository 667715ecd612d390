// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// VXLAN datagrams larger than the link MTU reach the target as IPv4 fragments. In socket mode the
// kernel reassembles them; in capture mode the target's own reassembler must: in both modes, each
// big datagram becomes one inner frame, byte for byte, beside small ones sent in between.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Lab, nsArgv, uniquePrefix } from '../../src/lab/netns.ts'
import { readCapture } from '../../src/packet/index.ts'
import { REPO_ROOT } from '../helpers/shared.ts'

/** Sends VXLAN datagrams (VNI 4242) whose inner frames are `sizes` bytes, frame i filled with byte i. */
const SENDER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i, n in enumerate(int(x) for x in sys.argv[1].split(',')):
    inner = bytes([i]) * n
    s.sendto(bytes([8, 0, 0, 0, 0, 0x10, 0x92, 0]) + inner, ('10.77.0.2', 4789))
`
const SIZES = [3000, 100, 8000, 1400, 1600, 60000]

for (const mode of ['socket', 'capture'] as const)
  describe(`receive ${mode}: fragmented VXLAN datagrams`, () => {
    const lab = new Lab(uniquePrefix(mode === 'socket' ? 'mftfs' : 'mftfc'))
    const dir = mkdtempSync(join(tmpdir(), `mf-target-frag-${mode}-`))
    let status: {
      datagrams: number
      drops: Record<string, number>
      sessions: Array<{
        vni: number
        source: string
        packets: number
        bytes: number
        files: Array<{ path: string }>
      }>
      capture: { fragmentsReassembled: number } | null
    }

    before(async () => {
      const tgt = await lab.namespace('t')
      const snd = await lab.namespace('s')
      await lab.veth(
        { ns: snd, ifname: `${lab.prefix}s`, addresses: ['10.77.0.1/24'] },
        { ns: tgt, ifname: `${lab.prefix}t`, addresses: ['10.77.0.2/24'] },
      )
      const argv = nsArgv(tgt, [
        process.execPath,
        join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
        'target',
        '--receive',
        mode,
        '--listen',
        '10.77.0.2:4789',
        '--data-dir',
        dir,
        '--no-flow-logs',
      ])
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
      for (let i = 0; i < 100 && !err.includes('receiving VXLAN'); i++)
        await new Promise((r) => setTimeout(r, 100))
      assert.match(err, new RegExp(`receiving VXLAN on 10\\.77\\.0\\.2:4789 \\(${mode} mode\\)`), err)
      const r = spawnSync('ip', ['netns', 'exec', snd, '/usr/bin/python3', '-c', SENDER, SIZES.join(',')], {
        encoding: 'utf8',
      })
      assert.equal(r.status, 0, r.stderr)
      await new Promise((r) => setTimeout(r, 300))
      child.kill('SIGTERM')
      assert.equal(await exited, 0, err)
      status = JSON.parse(out) as typeof status
    })

    after(async () => {
      await lab.cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    test('each datagram is one inner frame, whole', async () => {
      assert.equal(status.datagrams, SIZES.length)
      assert.equal(status.sessions.length, 1)
      const s = status.sessions[0]!
      assert.deepEqual([s.vni, s.source, s.packets], [4242, '10.77.0.1', SIZES.length])
      assert.equal(
        s.bytes,
        SIZES.reduce((a, b) => a + b, 0),
      )
      assert.equal(status.drops.reassembly, 0)
      if (mode === 'capture') assert.equal(status.capture!.fragmentsReassembled, 4)
      const got: Array<[number, number]> = []
      for await (const b of readCapture(s.files[0]!.path)) {
        for (let i = 0; i < b.count; i++) {
          const frame = b.bytes.subarray(b.starts[i], b.ends[i])
          const fill = frame[0]!
          assert.ok(
            frame.every((x) => x === fill),
            `frame ${i} intact`,
          )
          got.push([fill, frame.length])
        }
      }
      // The reassembled ones may come after the small one that completed earlier: compare as sets.
      assert.deepEqual(
        got.sort((a, b) => a[0] - b[0]),
        SIZES.map((n, i) => [i, n]),
      )
    })
  })
