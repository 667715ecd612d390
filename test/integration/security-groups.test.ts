// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// Security groups and network ACLs enforced by nftables, with real traffic between two namespaces:
// what passes and what is dropped follows AWS's semantics (stateful groups, stateless ACLs in
// rule-number order), and the flow-log action of every packet is the kernel's verdict. The packets
// are counted at both ends: tcpdump on the client (what it sent and got back), and the agent's
// verdict capture on the enforced interface (mf-capture reading the interface and its NFLOG group).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { verdictActions, agentCaptureOptions } from '../../src/agent/index.ts'
import { LiveCapture } from '../../src/capture/index.ts'
import { FlowAggregator, recordObject, type FlowRecordObject } from '../../src/flowlogs/index.ts'
import { Lab, nsExec, nsSpawn, run, stopProcess, uniquePrefix } from '../../src/lab/index.ts'
import {
  NftablesPolicy,
  type PolicyInterface,
  type PolicyNetworkAclEntry,
  type PolicySecurityGroupRule,
  type PolicyState,
} from '../../src/policy/index.ts'
import { tcpdump } from './agent-lab.ts'

const CLI = '10.88.0.1'
const SRV = '10.88.0.2'
const GROUP = 20001

const sg = (protocol: number, cidrBlocks: string[], ports?: [number, number]): PolicySecurityGroupRule => ({
  protocol,
  portRange: ports === undefined ? null : { fromPort: ports[0], toPort: ports[1] },
  icmpType: null,
  icmpCode: null,
  cidrBlocks,
})
const acl = (
  ruleNumber: number,
  ruleAction: 'allow' | 'deny',
  protocol: number,
  ports?: [number, number],
): PolicyNetworkAclEntry => ({
  ruleNumber,
  ruleAction,
  protocol,
  cidrBlock: '0.0.0.0/0',
  portRange: ports === undefined ? null : { fromPort: ports[0], toPort: ports[1] },
  icmpType: null,
  icmpCode: null,
})
const STAR = acl(32767, 'deny', -1)
const ALLOW_ALL = [acl(100, 'allow', -1), STAR]

function srv(over: Partial<PolicyInterface>): PolicyState {
  return {
    interfaces: [
      {
        networkInterfaceId: 'eni-0000000000000000b',
        ifname: 'b0',
        ingressRules: [],
        egressRules: [sg(-1, ['0.0.0.0/0'])],
        networkAcl: { networkAclId: 'acl-1', ingress: ALLOW_ALL, egress: ALLOW_ALL },
        logGroup: GROUP,
        ...over,
      },
    ],
    mirrorTargets: [],
    exemptAddresses: [],
  }
}

/** Records of one interval, as plain objects, for the traffic `fn` makes; plus the client's pcap. */
interface Observed {
  records: FlowRecordObject[]
  clientPcap: string
}

describe('security groups and network ACLs: enforcement and REJECT records', () => {
  const lab = new Lab(uniquePrefix('mfsg'))
  const table = `mfsg_${lab.prefix}`
  let A = ''
  let B = ''
  let policy: NftablesPolicy
  let srvMac = ''
  const dir = mkdtempSync(join(tmpdir(), 'mfsg-'))
  let n = 0

  before(async () => {
    A = await lab.namespace('cli')
    B = await lab.namespace('srv')
    await lab.veth(
      { ns: A, ifname: 'a0', addresses: [`${CLI}/24`] },
      { ns: B, ifname: 'b0', addresses: [`${SRV}/24`] },
    )
    policy = new NftablesPolicy({ naming: { table }, netns: B })
    srvMac = (
      JSON.parse((await nsExec(B, ['ip', '-j', 'link', 'show', 'b0'])).stdout) as Array<{ address: string }>
    )[0]!.address
  })
  after(async () => {
    await policy.remove().catch(() => undefined)
    await lab.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Runs `fn` while the server's interface is captured with its verdicts and the client's is recorded. */
  async function observe(fn: () => Promise<void>): Promise<Observed> {
    const clientPcap = join(dir, `c${n++}.pcap`)
    // Immediate mode (the helper): the last packets before the stop are in the file too.
    const td = await tcpdump(A, clientPcap, 'ip', 'a0')
    const records: FlowRecordObject[] = []
    const agg = new FlowAggregator({
      // The MAC too, as the agent gives it: a packet to an address that is not the interface's own
      // (the source/destination check) is told ingress by its destination MAC.
      interfaces: [
        { interfaceId: 'eni-0000000000000000b', accountId: '123456789012', addresses: [SRV], mac: srvMac },
      ],
      maxAggregationInterval: 0,
      onRecords: (b) => {
        for (let i = 0; i < b.count; i++) records.push(recordObject(b, i))
      },
    })
    const scratch = new Uint8Array(8192)
    const cap = await LiveCapture.start({ ...agentCaptureOptions('b0', 'ip', true, GROUP), netns: B }, (b) =>
      agg.addBatch(b, 0, null, verdictActions(b, scratch)),
    )
    assert.equal(cap.engine, 'mf-capture')
    assert.equal(cap.verdictFallback, '')
    try {
      await new Promise((r) => setTimeout(r, 200))
      await fn()
      await new Promise((r) => setTimeout(r, 300))
    } finally {
      // Also on a failure: a capture left running would keep the NFLOG group for the next test.
      await cap.stop()
      await td.stop()
    }
    agg.finish()
    return { records, clientPcap }
  }

  async function count(pcap: string, filter: string): Promise<number> {
    const { stdout } = await run(['tshark', '-r', pcap, '-Y', filter, '-T', 'fields', '-e', 'frame.number'])
    return stdout.split('\n').filter((l) => l !== '').length
  }

  function rec(o: Observed, where: Partial<FlowRecordObject>): FlowRecordObject[] {
    return o.records.filter((r) =>
      Object.entries(where).every(([k, v]) => r[k as keyof FlowRecordObject] === v),
    )
  }

  async function ping(count: number): Promise<void> {
    await nsExec(A, ['ping', '-c', String(count), '-i', '0.2', '-W', '1', SRV]).catch(() => undefined)
  }

  async function tcpConnect(port: number): Promise<boolean> {
    try {
      await nsExec(A, ['timeout', '5', 'bash', '-c', `echo > /dev/tcp/${SRV}/${port}`])
      return true
    } catch (e) {
      return /refused/.test((e as Error).message)
    }
  }

  test('AWS example: ping allowed in by the group, denied out by the ACL → ingress ACCEPT and egress REJECT', async () => {
    await policy.apply(
      srv({
        ingressRules: [sg(1, ['0.0.0.0/0'])],
        networkAcl: { networkAclId: 'acl-1', ingress: [acl(100, 'allow', 1), STAR], egress: [STAR] },
      }),
    )
    const o = await observe(() => ping(4))
    assert.equal(await count(o.clientPcap, 'icmp.type == 8'), 4)
    assert.equal(await count(o.clientPcap, 'icmp.type == 0'), 0, 'no reply left the server')
    const inn = rec(o, { direction: 'ingress', protocol: 1 })
    const out = rec(o, { direction: 'egress', protocol: 1 })
    assert.deepEqual(
      inn.map((r) => [r.action, r.packets, r.srcaddr, r.dstaddr]),
      [['ACCEPT', 4, CLI, SRV]],
    )
    assert.deepEqual(
      out.map((r) => [r.action, r.packets, r.srcaddr, r.dstaddr]),
      [['REJECT', 4, SRV, CLI]],
    )
  })

  test('AWS example: the ACL also allows ICMP out → two ACCEPT records (the group is stateful)', async () => {
    await policy.apply(srv({ ingressRules: [sg(1, ['0.0.0.0/0'])], egressRules: [] }))
    const o = await observe(() => ping(3))
    assert.equal(
      await count(o.clientPcap, 'icmp.type == 0'),
      3,
      JSON.stringify(o.records) + (await run(['tshark', '-r', o.clientPcap])).stdout,
    )
    assert.deepEqual(
      rec(o, { protocol: 1 }).map((r) => [r.direction, r.action, r.packets]),
      [
        ['ingress', 'ACCEPT', 3],
        ['egress', 'ACCEPT', 3],
      ],
    )
  })

  test('AWS example: the group denies ICMP in → one REJECT record, no reply; SSH rejected by the group', async () => {
    await policy.apply(srv({ ingressRules: [sg(6, ['0.0.0.0/0'], [80, 80])] }))
    const o = await observe(async () => {
      await ping(3)
      assert.equal(await tcpConnect(22), false, 'SSH must not get through')
      assert.equal(await tcpConnect(80), true, 'port 80 is allowed (refused: nothing listens)')
    })
    assert.deepEqual(
      rec(o, { protocol: 1 }).map((r) => [r.direction, r.action, r.packets]),
      [['ingress', 'REJECT', 3]],
    )
    const syns22 = await count(o.clientPcap, 'tcp.dstport == 22 && tcp.flags.syn == 1')
    assert.ok(syns22 >= 2)
    const ssh = rec(o, { dstport: 22 })
    assert.deepEqual(
      ssh.map((r) => [r.direction, r.action, r.packets]),
      [['ingress', 'REJECT', syns22]],
      'every SYN the client sent is one REJECT packet, none ACCEPT',
    )
    assert.deepEqual(
      rec(o, { dstport: 80 }).map((r) => [r.direction, r.action, r.packets]),
      [['ingress', 'ACCEPT', 1]],
    )
    assert.equal(rec(o, { srcport: 80 })[0]?.action, 'ACCEPT', 'the RST answer is return traffic')
  })

  test('stateful groups, stateless ACL: return traffic needs the ephemeral ports in the ACL', async () => {
    const server = nsSpawn(A, ['python3', '-m', 'http.server', '--bind', CLI, '8080'])
    try {
      await waitFor(async () => (await nsExec(A, ['ss', '-ltn'])).stdout.includes(':8080'))
      // Outbound to 8080 allowed by the group (all egress) and the ACL; no inbound group rule: the
      // answer passes as tracked return traffic, and the ACL allows 1024-65535 in.
      const ephemeral = {
        networkAclId: 'acl-2',
        ingress: [acl(100, 'allow', 6, [1024, 65535]), STAR],
        egress: [acl(100, 'allow', 6, [8080, 8080]), STAR],
      }
      await policy.apply(srv({ networkAcl: ephemeral }))
      const ok = await nsExec(B, [
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-m',
        '3',
        `http://${CLI}:8080/`,
      ])
      assert.equal(ok.stdout, '200')
      // Without the ephemeral range in the ACL, the same answer is dropped (and recorded) on the way in.
      await policy.apply(srv({ networkAcl: { ...ephemeral, ingress: [STAR] } }))
      const o = await observe(async () => {
        const r = await nsExec(B, [
          'curl',
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-m',
          '2',
          `http://${CLI}:8080/`,
        ]).catch((e: Error) => e)
        assert.ok(r instanceof Error, 'the connection cannot be made')
      })
      const answers = await count(o.clientPcap, 'tcp.srcport == 8080 && ip.src == 10.88.0.1')
      assert.ok(answers >= 1)
      assert.deepEqual(
        rec(o, { srcport: 8080 }).map((r) => [r.direction, r.action, r.packets]),
        [['ingress', 'REJECT', answers]],
      )
      assert.equal(rec(o, { dstport: 8080 })[0]?.action, 'ACCEPT')
    } finally {
      await stopProcess(server)
    }
  })

  test('a rule change does not cut a tracked connection; new connections follow the new rules', async () => {
    await policy.apply(srv({ ingressRules: [sg(6, [`${CLI}/32`], [9000, 9000])] }))
    const listener = nsSpawn(B, ['socat', '-u', 'TCP-LISTEN:9000,reuseaddr,fork', 'OPEN:/dev/null'])
    const fifo = join(dir, 'fifo')
    try {
      await waitFor(async () => (await nsExec(B, ['ss', '-ltn'])).stdout.includes(':9000'))
      await run(['mkfifo', fifo])
      const client = nsSpawn(A, ['socat', '-u', `OPEN:${fifo}`, `TCP:${SRV}:9000`])
      const writer = nsSpawn(A, [
        'bash',
        '-c',
        `exec 3>${fifo}; for i in $(seq 1 30); do echo line$i >&3; sleep 0.1; done`,
      ])
      await waitFor(async () =>
        (await nsExec(B, ['ss', '-tn', 'state', 'established'])).stdout.includes(':9000'),
      )
      await policy.apply(srv({ ingressRules: [] }))
      await new Promise((r) => setTimeout(r, 1000))
      const still = await nsExec(B, ['ss', '-tn', 'state', 'established'])
      assert.match(still.stdout, /:9000/, 'the tracked connection survives the rule change')
      assert.equal(await tcpConnect(9000), false, 'a new connection is dropped')
      await stopProcess(writer)
      await stopProcess(client)
    } finally {
      await stopProcess(listener)
    }
  })

  test('source/destination check: a packet to an address that is not the interface’s own is dropped (REJECT); off, it passes', async () => {
    const OTHER = '10.88.0.3'
    await nsExec(B, ['ip', 'addr', 'add', `${OTHER}/32`, 'dev', 'b0'])
    const pingTo = (addr: string, n: number) =>
      nsExec(A, ['ping', '-c', String(n), '-i', '0.2', '-W', '1', addr]).catch(() => undefined)
    try {
      await policy.apply(srv({ ingressRules: [sg(1, ['0.0.0.0/0'])], ownAddresses: [SRV] }))
      const on = await observe(async () => {
        await pingTo(OTHER, 2)
        await pingTo(SRV, 1)
      })
      assert.equal(await count(on.clientPcap, `icmp.type == 0 && ip.src == ${OTHER}`), 0)
      assert.equal(
        await count(on.clientPcap, `icmp.type == 0 && ip.src == ${SRV}`),
        1,
        'its own address answers',
      )
      assert.deepEqual(
        // (An ingress record's dstaddr is the interface's own address, as AWS writes it; the two
        // pings to OTHER are the only REJECTed packets.)
        rec(on, { protocol: 1, action: 'REJECT' }).map((r) => [r.direction, r.action, r.packets]),
        [['ingress', 'REJECT', 2]],
      )
      // The check off (ModifyNetworkInterfaceAttribute --no-source-dest-check): the same ping passes.
      await policy.apply(srv({ ingressRules: [sg(1, ['0.0.0.0/0'])] }))
      const off = await observe(async () => void (await pingTo(OTHER, 2)))
      assert.equal(await count(off.clientPcap, `icmp.type == 0 && ip.src == ${OTHER}`), 2)
      assert.deepEqual(
        rec(off, { protocol: 1, direction: 'ingress' }).map((r) => [r.direction, r.action, r.packets]),
        [['ingress', 'ACCEPT', 2]],
      )
    } finally {
      await nsExec(B, ['ip', 'addr', 'del', `${OTHER}/32`, 'dev', 'b0']).catch(() => undefined)
    }
  })

  test('rules at the quota limits (5 groups × 60 rules each way, 20 ACL entries) compile and apply within a second', async () => {
    const rules = (base: number) =>
      Array.from({ length: 300 }, (_, i) =>
        sg(6, [`10.${base}.${i >> 8}.${i & 255}/32`], [1000 + i, 1000 + i]),
      )
    const entries = Array.from({ length: 19 }, (_, i) => acl(100 + i, 'deny', 17, [5000 + i, 5000 + i]))
    const state = srv({
      ingressRules: [...rules(1), sg(1, ['0.0.0.0/0'])],
      egressRules: rules(2),
      networkAcl: {
        networkAclId: 'acl-3',
        ingress: [...entries, acl(200, 'allow', -1), STAR],
        egress: ALLOW_ALL,
      },
    })
    // Counted in CPU time (this process's compile and the `nft` it runs and waits for), which is the
    // wall-clock time on a quiet machine; the shared test machine's load only stretches the latter.
    const childCpuMs = (): number => {
      const stat = readFileSync('/proc/self/stat', 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return ((Number(f[13]) + Number(f[14])) * 1000) / 100 // cutime + cstime, in 100 Hz ticks
    }
    const c0 = process.cpuUsage()
    const k0 = childCpuMs()
    const t0 = performance.now()
    const r = await policy.apply(state)
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(c0)
    const cpuMs = (cpu.user + cpu.system) / 1000 + (childCpuMs() - k0)
    assert.equal(r.changed, true)
    assert.ok(cpuMs < 1000, `applied with ${cpuMs.toFixed(0)} ms of CPU (${ms.toFixed(0)} ms wall-clock)`)
    const o = await observe(() => ping(2))
    assert.equal(rec(o, { direction: 'egress', protocol: 1 })[0]?.action, 'ACCEPT')
    assert.equal((await policy.apply(state)).changed, false, 'an unchanged state writes nothing')
  })

  test('removing the interface leaves nothing behind', async () => {
    await policy.apply(srv({}))
    await policy.apply({ interfaces: [], mirrorTargets: [], exemptAddresses: [] })
    const { stdout } = await nsExec(B, ['nft', 'list', 'ruleset'])
    assert.equal(stdout.trim(), '')
    assert.equal(await policy.remove(), false)
    assert.equal(await tcpConnect(22), true, 'nothing filters any more (refused by the host)')
  })
})

async function waitFor(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('timed out waiting')
}
