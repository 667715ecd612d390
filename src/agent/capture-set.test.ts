// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// Mirror traffic never leaks into flow logs, fragments included (issue 9 item 10). A kernel mirror
// session on s0 (namespace S) sends VXLAN to the target T; pings of 1472 bytes make 1514-byte frames,
// whose VXLAN datagrams (1550 bytes of IP) the kernel fragments (DF unset, as AWS). The agent's capture
// filter must see the pings, exactly, and no fragment of the mirror copies; the old filter
// (`not (udp port 4789)`) lets the later fragments through.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, test } from 'node:test'
import { compileFilter, defaultCaptureOptions, LiveCapture } from '../capture/index.ts'
import { NftablesDatapath, type MirrorState } from '../mirror/index.ts'
import { decodeFrame, PacketMeta, type FrameBatch } from '../packet/index.ts'
import { CAPTURE_SNAPLEN, mirrorExclusion, mirrorPaths } from './capture-set.ts'

const P = `mffrag${process.pid % 100000}`
const [S, T] = [`${P}s`, `${P}t`]
const naming = { table: 'mirrorflow', devicePrefix: 'mfv' }

function sh(...argv: string[]): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const ns = (n: string, ...argv: string[]): string => sh('ip', 'netns', 'exec', n, ...argv)

const dp = new NftablesDatapath({ naming })
before(() => {
  for (const n of [S, T]) sh('ip', 'netns', 'add', n)
  ns(S, 'ip', 'link', 'add', 's0', 'type', 'veth', 'peer', 'name', 't0', 'netns', T)
  ns(S, 'ip', 'addr', 'add', '10.66.0.1/24', 'dev', 's0')
  ns(T, 'ip', 'addr', 'add', '10.66.0.2/24', 'dev', 't0')
  ns(S, 'ip', 'link', 'set', 's0', 'up')
  ns(T, 'ip', 'link', 'set', 't0', 'up')
})
after(async () => {
  await dp.remove().catch(() => undefined)
  for (const n of [S, T]) spawnSync('ip', ['netns', 'del', n])
})

const state: MirrorState = {
  sources: [{ networkInterfaceId: 'eni-s', ifname: 's0', mac: '', addresses: ['10.66.0.1'], netns: S }],
  targets: [{ trafficMirrorTargetId: 'tmt-t', type: 'network-interface', addresses: ['10.66.0.2'] }],
  filters: [
    {
      trafficMirrorFilterId: 'tmf-1',
      ingressFilterRules: [
        {
          ruleNumber: 1,
          ruleAction: 'accept',
          protocol: 1,
          sourceCidrBlock: '0.0.0.0/0',
          destinationCidrBlock: '0.0.0.0/0',
        },
      ],
      egressFilterRules: [
        {
          ruleNumber: 1,
          ruleAction: 'accept',
          protocol: 1,
          sourceCidrBlock: '0.0.0.0/0',
          destinationCidrBlock: '0.0.0.0/0',
        },
      ],
      networkServices: [],
    },
  ],
  sessions: [
    {
      trafficMirrorSessionId: 'tms-1',
      networkInterfaceId: 'eni-s',
      trafficMirrorTargetId: 'tmt-t',
      trafficMirrorFilterId: 'tmf-1',
      sessionNumber: 1,
      virtualNetworkId: 42,
    },
  ],
  amazonDnsResolvers: [],
}

/** Echo requests and replies, and later fragments of UDP datagrams from the mirror source to the target. */
class Count {
  readonly m = new PacketMeta()
  icmp = 0
  mirrorFragments = 0
  add(b: FrameBatch): void {
    for (let i = 0; i < b.count; i++) {
      decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, this.m)
      const m = this.m
      if (m.ipProto === 1 && (m.icmpType === 8 || m.icmpType === 0)) this.icmp++
      if (m.ipProto === 17 && m.fragOffset !== 0 && m.src4 === 0x0a420001 && m.dst4 === 0x0a420002)
        this.mirrorFragments++
    }
  }
}

test('the capture filter leaves out later fragments of mirror VXLAN, and nothing else', async () => {
  assert.deepEqual(mirrorPaths(state), [{ local: '10.66.0.1', remote: '10.66.0.2' }])
  await dp.apply(state)
  const now = new Count()
  const old = new Count()
  const o = { ...defaultCaptureOptions('s0'), snaplen: CAPTURE_SNAPLEN, netns: S }
  const fixed = await LiveCapture.start({ ...o, filter: mirrorExclusion(mirrorPaths(state)) }, (b) =>
    now.add(b),
  )
  const before = await LiveCapture.start({ ...o, filter: 'not (udp port 4789)' }, (b) => old.add(b))
  ns(S, 'ping', '-c', '10', '-i', '0.05', '-s', '1472', '-q', '10.66.0.2')
  await Promise.all([fixed.stop(), before.stop()])
  // 10 requests and 10 replies, each mirrored; each mirror copy is two IP fragments. (T also answers
  // some copies with ICMP port unreachable, rate-limited: those are not counted.)
  assert.equal(old.mirrorFragments, 20, 'the mirror datagrams did not fragment: the test would prove nothing')
  assert.equal(now.mirrorFragments, 0)
  assert.equal(now.icmp, 20)
  assert.equal(old.icmp, 20)
})

test('the exclusion compiles for IPv4 and IPv6 mirror paths (tcpdump accepts it)', async () => {
  const paths = [
    { local: '10.66.0.1', remote: '10.66.0.2' },
    { local: 'fd00::1', remote: 'fd00::2' },
  ]
  const f = mirrorExclusion(paths)
  assert.equal(
    f,
    'not (udp port 4789 or (ip and src host 10.66.0.1 and dst host 10.66.0.2 and ip[9] = 17 and ip[6:2] & 0x1fff != 0) or (ip6 and src host fd00::1 and dst host fd00::2 and ip6[6] = 44))',
  )
  const program = await compileFilter('s0', f, S)
  assert.match(program, /^\d+,/)
})
