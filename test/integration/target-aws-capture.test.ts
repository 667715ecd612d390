// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// The mirror target fed the real AWS Traffic Mirroring capture (suricata-verify vxlan-decoder-03),
// replayed with tcpreplay into a namespace where `mirrorflow target` listens: one session, VNI
// 5569041 from 172.31.0.238, whose pcap holds exactly the inner frames — checked against the
// reference TSV with the independent tshark-based flowsum.py — and flow logs of the same flows.
// Run once per receive mode (socket, capture): both must give the same result.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Lab, nsArgv, uniquePrefix } from '../../src/lab/netns.ts'
import { DEFAULT_ACCOUNT_ID } from '../../src/flowlogs/index.ts'
import { readCapture } from '../../src/packet/index.ts'
import { REPO_ROOT, sharedData } from '../helpers/shared.ts'

const CAPTURE = sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap')
const REFERENCE = sharedData('suricata-verify', 'vxlan-decoder-03', 'vxlan.pcap.flows.inner.tsv')
const FLOWSUM = sharedData('tools', 'flowsum.py')

/**
 * flowsum rows keyed by "src dst proto sport dport" → "packets ip_bytes inner_frame_bytes tcp_flags".
 * The reference counts the outer frame: AWS adds 50 bytes to each inner frame (spec §2.1), so
 * `outerOverhead` 50 turns its frame bytes into the inner frames' bytes.
 */
function flows(tsv: string, outerOverhead = 0): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of tsv.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('vni\t')) continue
    const c = line.split('\t')
    const packets = Number(c[6])
    out.set(c.slice(1, 6).join(' '), [packets, c[7], Number(c[8]) - outerOverhead * packets, c[11]].join(' '))
  }
  return out
}

for (const mode of ['socket', 'capture'] as const)
  describe(`receive ${mode}`, () => {
    const lab = new Lab(uniquePrefix(mode === 'socket' ? 'mftgs' : 'mftgc'))
    const dir = mkdtempSync(join(tmpdir(), `mf-target-aws-${mode}-`))
    const fwd = mode === 'socket' ? 'mffwds0' : 'mffwdc0'
    let status: {
      datagrams: number
      packets: number
      malformed: Record<string, number>
      drops: Record<string, number>
      sessions: Array<{ vni: number; source: string; packets: number; files: Array<{ path: string }> }>
      forward: { interface: string; forwarded: number; dropped: number } | null
      flowLogs: { files: string[]; records: number; flowLogId: string } | null
      receive: string
      capture: { captured: number; ignored: number } | null
    }

    before(async () => {
      const tgt = await lab.namespace('t')
      const rep = await lab.namespace('r')
      // The target end takes the capture's outer destination MAC and address, so the kernel delivers
      // the replayed frames to the UDP socket exactly as the AWS target ENI did.
      await lab.veth(
        { ns: rep, ifname: `${lab.prefix}r` },
        { ns: tgt, ifname: `${lab.prefix}t`, addresses: ['172.31.17.188/16'], mac: '06:e2:43:9c:ff:5e' },
      )
      const argv = nsArgv(tgt, [
        process.execPath,
        join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
        'target',
        '--receive',
        mode,
        '--listen',
        '0.0.0.0:4789',
        '--data-dir',
        dir,
        '--forward-to',
        fwd,
      ])
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
      // Ready once it says it is receiving.
      for (let i = 0; i < 100 && !err.includes('receiving VXLAN'); i++)
        await new Promise((r) => setTimeout(r, 100))
      assert.match(err, /receiving VXLAN/, err)
      // The target made the veth pair fwd/fwdp; tcpdump on the peer is what Suricata or Zeek would read.
      const dumpArgv = nsArgv(tgt, [
        'tcpdump',
        '-i',
        `${fwd}p`,
        '-n',
        '--immediate-mode',
        '-B',
        '16384',
        '-c',
        '100',
        '-U',
        '-w',
        join(dir, 'forwarded.pcap'),
      ])
      const dump = spawn(dumpArgv[0] as string, dumpArgv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      let dumpErr = ''
      dump.stderr.setEncoding('utf8').on('data', (d: string) => (dumpErr += d))
      const dumpExited = new Promise<void>((r) => dump.on('exit', () => r()))
      for (let i = 0; i < 100 && !dumpErr.includes('listening on'); i++)
        await new Promise((r) => setTimeout(r, 50))
      // A second, independent capture of the outer frames: its kernel timestamps are the ones the
      // capture mode must put in the session pcap.
      const outerArgv = nsArgv(tgt, [
        'tcpdump',
        '-i',
        `${lab.prefix}t`,
        '-n',
        '-U',
        '-c',
        '100',
        '-w',
        join(dir, 'outer.pcap'),
        'udp dst port 4789',
      ])
      const outer = spawn(outerArgv[0] as string, outerArgv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      let outerErr = ''
      outer.stderr.setEncoding('utf8').on('data', (d: string) => (outerErr += d))
      const outerExited = new Promise<void>((r) => outer.on('exit', () => r()))
      for (let i = 0; i < 100 && !outerErr.includes('listening on'); i++)
        await new Promise((r) => setTimeout(r, 50))
      const rr = spawnSync(
        'ip',
        ['netns', 'exec', rep, 'tcpreplay', '-q', '--topspeed', '-i', `${lab.prefix}r`, CAPTURE],
        {
          encoding: 'utf8',
        },
      )
      assert.equal(rr.status, 0, rr.stderr)
      // tcpdump exits by itself after 100 frames (-c 100); a stuck forwarder fails the test at 10 s.
      const killer = setTimeout(() => dump.kill('SIGINT'), 10_000)
      const outerKiller = setTimeout(() => outer.kill('SIGINT'), 10_000)
      await Promise.all([dumpExited, outerExited])
      clearTimeout(killer)
      clearTimeout(outerKiller)
      await new Promise((r) => setTimeout(r, 200))
      child.kill('SIGTERM')
      assert.equal(await exited, 0, err)
      status = JSON.parse(out) as typeof status
    })

    after(async () => {
      await lab.cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    test('one session, VNI 5569041 from 172.31.0.238, every datagram accounted for', () => {
      assert.equal(status.datagrams, 100)
      assert.equal(status.sessions.length, 1)
      const s = status.sessions[0]!
      assert.equal(s.vni, 5569041)
      assert.equal(s.source, '172.31.0.238')
      assert.equal(s.packets, 100)
      assert.deepEqual(Object.values(status.malformed), [0, 0, 0])
      assert.equal(status.drops.socket, 0)
      assert.equal(status.drops.capture, 0)
      assert.equal(status.receive, mode)
      if (mode === 'capture') {
        // Every frame tcpdump captured was VXLAN to the port, and the pcap holds kernel timestamps.
        assert.equal(status.capture!.captured, 100)
        assert.equal(status.capture!.ignored, 0)
      }
    })

    test("the session's pcap has exactly the inner flows of the reference TSV", () => {
      const files = status.sessions[0]!.files.map((f) => f.path)
      assert.equal(files.length, 1)
      const r = spawnSync('/usr/bin/python3', [FLOWSUM, files[0]!, '--level', 'inner'], { encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(flows(r.stdout), flows(readFileSync(REFERENCE, 'utf8'), 50))
    })

    test(`pcap timestamps: ${mode === 'capture' ? "the kernel's" : 'receipt by the process'}`, async () => {
      const ts = async (f: string): Promise<number[]> => {
        const out: number[] = []
        for await (const b of readCapture(f))
          for (let i = 0; i < b.count; i++) out.push(b.tsSec[i]! * 1e6 + Math.floor(b.tsNsec[i]! / 1000))
        return out
      }
      const kernel = await ts(join(dir, 'outer.pcap'))
      const written = await ts(status.sessions[0]!.files[0]!.path)
      assert.equal(kernel.length, 100)
      assert.equal(written.length, 100)
      if (mode === 'capture') assert.deepEqual(written, kernel)
      // The process stamps a frame after the kernel did, never before.
      else for (let i = 0; i < 100; i++) assert.ok(written[i]! >= kernel[i]!, `frame ${i}`)
    })

    test('--forward-to hands the same inner frames to a local interface (tcpdump reads them there)', () => {
      assert.deepEqual(status.forward, { interface: fwd, forwarded: 100, dropped: 0 })
      const r = spawnSync('/usr/bin/python3', [FLOWSUM, join(dir, 'forwarded.pcap'), '--level', 'inner'], {
        encoding: 'utf8',
      })
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(flows(r.stdout), flows(readFileSync(REFERENCE, 'utf8'), 50))
    })

    test('flow logs of the inner packets: S3-layout objects whose records add up to the reference flows', () => {
      const fl = status.flowLogs!
      assert.ok(fl.files.length >= 1)
      const got = new Map<string, string>()
      const sums = new Map<string, [number, number]>()
      for (const f of fl.files) {
        assert.match(
          f.slice(dir.length),
          new RegExp(
            `^/flowlogs/AWSLogs/${DEFAULT_ACCOUNT_ID}/vpcflowlogs/us-east-1/\\d{4}/\\d{2}/\\d{2}/${DEFAULT_ACCOUNT_ID}_vpcflowlogs_us-east-1_${fl.flowLogId}_\\d{8}T\\d{4}Z_[0-9a-f]{8}\\.log\\.gz$`,
          ),
        )
        const lines = gunzipSync(readFileSync(f)).toString('utf8').trim().split('\n')
        assert.equal(
          lines[0],
          'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
        )
        for (const line of lines.slice(1)) {
          const c = line.split(' ')
          assert.equal(c[2], 'vni-5569041')
          // A replay that straddles a minute boundary splits flows over two windows: add them up.
          const key = [c[3], c[4], c[7], c[5], c[6]].join(' ')
          const prev = sums.get(key) ?? [0, 0]
          sums.set(key, [prev[0] + Number(c[8]), prev[1] + Number(c[9])])
        }
      }
      for (const [k, [p, b]] of sums) got.set(k, `${p} ${b}`)
      const want = new Map(
        [...flows(readFileSync(REFERENCE, 'utf8'), 50)].map(([k, v]) => [
          k,
          v.split(' ').slice(0, 2).join(' '),
        ]),
      )
      assert.deepEqual(got, want)
      assert.equal(fl.records >= want.size, true)
    })
  })
