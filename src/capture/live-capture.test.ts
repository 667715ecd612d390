// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// test-group: namespace
// The live frame source: start/ready, failure reporting when the capture process dies, stop delivering
// what was seen, and the start-up errors. Uses real tcpdump on a veth pair in a namespace of its own.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { hasCode } from '../errors.ts'
import type { CaptureError } from './index.ts'
import { captureStdout, defaultCaptureOptions, LiveCapture, tcpdumpArgv } from './index.ts'

const NS = `mfcap${process.pid % 100000}`
const PEER = `${NS}p`
const sh = (...argv: string[]): void => {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
}
const inNs = (ns: string, ...argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv]

before(() => {
  sh('ip', 'netns', 'add', NS)
  sh('ip', 'netns', 'add', PEER)
  sh(...inNs(NS, 'ip', 'link', 'add', 'b0', 'type', 'veth', 'peer', 'name', 'a0', 'netns', PEER))
  sh(...inNs(PEER, 'ip', 'addr', 'add', '10.9.0.1/24', 'dev', 'a0'))
  sh(...inNs(NS, 'ip', 'addr', 'add', '10.9.0.2/24', 'dev', 'b0'))
  sh(...inNs(PEER, 'ip', 'link', 'set', 'a0', 'up'))
  sh(...inNs(NS, 'ip', 'link', 'set', 'b0', 'up'))
})
after(() => {
  spawnSync('ip', ['netns', 'del', NS])
  spawnSync('ip', ['netns', 'del', PEER])
})

function ping(count: number): void {
  sh(...inNs(PEER, 'ping', '-c', String(count), '-i', '0.01', '-q', '10.9.0.2'))
}

describe('LiveCapture', () => {
  test('tcpdumpArgv: direction, immediate mode and filter', () => {
    const o = {
      ...defaultCaptureOptions('eth0', 'udp'),
      direction: 'in' as const,
      immediate: true,
      snaplen: 128,
    }
    assert.deepEqual(tcpdumpArgv(o), [
      'tcpdump',
      '-n',
      '-U',
      '-B',
      '4096',
      '-s',
      '128',
      '--time-stamp-precision',
      'nano',
      '-Q',
      'in',
      '--immediate-mode',
      '-i',
      'eth0',
      '-w',
      '-',
      'udp',
    ])
  })

  test('a capture child without stdout is killed and rejected with MF_CAPTURE', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' })
    const exited = new Promise((r) => child.once('exit', r))
    assert.throws(
      () => captureStdout(child, 'eth9'),
      (e: Error) => hasCode(e, 'MF_CAPTURE'),
    )
    assert.equal(await exited, null) // killed by a signal, not left running
  })

  test('no such interface: start throws MF_CAPTURE with tcpdump’s reason', async () => {
    await assert.rejects(
      LiveCapture.start(defaultCaptureOptions('mf-no-such0'), () => {}),
      (e: Error) => hasCode(e, 'MF_CAPTURE') && /mf-no-such0/.test(e.message),
    )
  })

  test('ready, frames, stop delivers everything; a dying tcpdump is reported once', async () => {
    {
      let frames = 0
      const failures: CaptureError[] = []
      const o = { ...defaultCaptureOptions('b0', 'icmp'), direction: 'in' as const, netns: NS }
      const cap = await LiveCapture.start(
        o,
        (b) => (frames += b.count),
        (e) => failures.push(e),
      )
      assert.equal(cap.engine, 'tcpdump')
      assert.equal(cap.linkType, 'EN10MB')
      ping(20)
      await cap.stop()
      assert.equal(frames, 20) // the 20 echo requests received by b0, none lost at the stop
      assert.equal(cap.stats.frames, 20)
      assert.equal(cap.stats.captured, 20)
      assert.equal(cap.stats.kernelDrops, 0)
      assert.equal(failures.length, 0) // a stop is not a failure

      // Killing tcpdump behind the capture's back is a failure its owner hears of.
      const dead = await LiveCapture.start(
        o,
        () => {},
        (e) => failures.push(e),
      )
      const pid = dead.pid ?? 0
      assert.ok(pid > 0)
      const reported = new Promise<void>((r) => {
        const t = setInterval(() => {
          if (failures.length > 0) {
            clearInterval(t)
            r()
          }
        }, 20)
      })
      process.kill(pid, 'SIGKILL')
      await reported
      assert.equal(failures.length, 1)
      assert.ok(hasCode(failures[0], 'MF_CAPTURE'))
      assert.match(failures[0]!.message, /capture on b0 ended: tcpdump exited/)
      assert.ok(dead.ended)
      await dead.stop()
      assert.equal(failures.length, 1)
    }
  })

  test('a batch handler that throws ends the capture and is reported', async () => {
    {
      const failures: CaptureError[] = []
      const o = {
        ...defaultCaptureOptions('b0', 'icmp'),
        direction: 'in' as const,
        immediate: true,
        netns: NS,
      }
      const cap = await LiveCapture.start(
        o,
        () => {
          throw new Error('handler bug')
        },
        (e) => failures.push(e),
      )
      ping(1)
      for (let i = 0; i < 100 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
      assert.equal(failures.length, 1)
      assert.match(failures[0]!.message, /handler bug/)
      await cap.stop()
    }
  })
})
