// SPDX-License-Identifier: Apache-2.0
/**
 * Security groups and network ACLs on the host (npm run bench:security), in namespaces:
 *   1. apply: 1,000 interfaces × 60 inbound + 60 outbound security-group rules (distinct /32 and /24
 *      peers, TCP/UDP port ranges, ICMP) a 20-entry ACL each way and the source/destination check, compiled and applied with one
 *      `nft -f` into a fresh namespace; then re-applied with one rule changed; then removed.
 *   2. throughput: iperf3 TCP between two namespaces over a veth, without any table, then with the
 *      server interface enforced (its 60 + 60 rules, plus the 999 other interfaces' rules in the same
 *      sets), rounds interleaved; medians compared.
 * Output: one JSON line per measurement, then a summary line. Env: MF_BENCH_SECONDS (iperf3 run,
 * default 4), MF_BENCH_ROUNDS (default 3), MF_BENCH_INTERFACES (default 1000), MF_BENCH_RULES (60).
 */
import { execFileSync } from 'node:child_process'
import { Lab, nsSpawn, stopProcess, uniquePrefix } from '../../src/lab/netns.ts'
import {
  compilePolicy,
  NftablesPolicy,
  type PolicyInterface,
  type PolicyNetworkAclEntry,
  type PolicySecurityGroupRule,
  type PolicyState,
} from '../../src/policy/index.ts'

const SECONDS = Number(process.env.MF_BENCH_SECONDS ?? 4)
const ROUNDS = Number(process.env.MF_BENCH_ROUNDS ?? 3)
const IFACES = Number(process.env.MF_BENCH_INTERFACES ?? 1000)
const RULES = Number(process.env.MF_BENCH_RULES ?? 60)
const CLI = '10.86.0.1'
const SRV = '10.86.0.2'

function rules(k: number, out: boolean): PolicySecurityGroupRule[] {
  return Array.from({ length: RULES }, (_, i): PolicySecurityGroupRule => {
    const peer =
      i % 3 === 0
        ? `172.${16 + (k % 16)}.${i}.0/24`
        : `10.${(k >> 8) & 255}.${k & 255}.${i + (out ? 100 : 0)}/32`
    if (i % 10 === 9) return { protocol: 1, portRange: null, icmpType: 8, icmpCode: null, cidrBlocks: [peer] }
    const from = 1000 + ((i * 37 + k) % 50000)
    return {
      protocol: i % 4 === 1 ? 17 : 6,
      portRange: { fromPort: from, toPort: from + (i % 5) },
      icmpType: null,
      icmpCode: null,
      cidrBlocks: [peer],
    }
  })
}

function acl(): { ingress: PolicyNetworkAclEntry[]; egress: PolicyNetworkAclEntry[] } {
  const e = (
    n: number,
    act: 'allow' | 'deny',
    protocol: number,
    cidr: string,
    p?: [number, number],
  ): PolicyNetworkAclEntry => ({
    ruleNumber: n,
    ruleAction: act,
    protocol,
    cidrBlock: cidr,
    portRange: p === undefined ? null : { fromPort: p[0], toPort: p[1] },
    icmpType: null,
    icmpCode: null,
  })
  const list = [
    ...Array.from({ length: 18 }, (_, i) => e(100 + i, 'deny', 6, `192.0.2.${i * 8}/29`, [22, 22])),
    e(200, 'allow', -1, '0.0.0.0/0'),
    e(32767, 'deny', -1, '0.0.0.0/0'),
  ]
  return { ingress: list, egress: list }
}

function iface(k: number, ifname: string): PolicyInterface {
  return {
    networkInterfaceId: `eni-${k.toString(16).padStart(17, '0')}`,
    ifname,
    ingressRules: rules(k, false),
    egressRules: rules(k, true),
    networkAcl: { networkAclId: 'acl-0123456789abcdef0', ...acl() },
    logGroup: 20001 + k,
    // The source/destination check is on (AWS's default): one own address per interface.
    ownAddresses: [k === 0 ? SRV : `10.${128 + ((k >> 8) & 127)}.${k & 255}.1`],
  }
}

function big(serverRules: PolicySecurityGroupRule[]): PolicyState {
  const interfaces = Array.from({ length: IFACES - 1 }, (_, k) => iface(k + 1, `bx${k + 1}`))
  const s = iface(0, 'b0')
  s.ingressRules = [...s.ingressRules.slice(1), ...serverRules]
  interfaces.push(s)
  return { interfaces, mirrorTargets: [], exemptAddresses: [] }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

async function main(): Promise<void> {
  const lab = new Lab(uniquePrefix('mfsb'))
  const table = `mfsb_${lab.prefix}`
  try {
    const A = await lab.namespace('cli')
    const B = await lab.namespace('srv')
    await lab.veth(
      { ns: A, ifname: 'a0', addresses: [`${CLI}/24`] },
      { ns: B, ifname: 'b0', addresses: [`${SRV}/24`] },
    )
    const p = new NftablesPolicy({ naming: { table }, netns: B })
    const allowIperf: PolicySecurityGroupRule = {
      protocol: 6,
      portRange: { fromPort: 5201, toPort: 5201 },
      icmpType: null,
      icmpCode: null,
      cidrBlocks: [`${CLI}/32`],
    }

    // 1. Apply.
    const state = big([allowIperf])
    let t = performance.now()
    const c = compilePolicy(state, { table })
    const compileMs = performance.now() - t
    t = performance.now()
    await p.apply(state)
    const applyMs = performance.now() - t
    const changed = big([allowIperf, { ...allowIperf, portRange: { fromPort: 5202, toPort: 5202 } }])
    t = performance.now()
    await p.apply(changed)
    const reapplyMs = performance.now() - t
    t = performance.now()
    await p.apply(changed)
    const unchangedMs = performance.now() - t
    const apply = {
      case: 'apply',
      interfaces: IFACES,
      rulesPerInterface: `${RULES} in + ${RULES} out, 20 ACL entries each way`,
      setElements: c.elements,
      scriptBytes: c.script.length,
      compileMs: Math.round(compileMs),
      applyMs: Math.round(applyMs),
      reapplyOneChangeMs: Math.round(reapplyMs),
      unchangedMs: Math.round(unchangedMs),
    }
    console.log(JSON.stringify(apply))
    await p.remove()

    // 2. Throughput, interleaved rounds.
    const srv = nsSpawn(B, ['iperf3', '-s'])
    await new Promise((r) => setTimeout(r, 500))
    const iperf = (): number => {
      const out = execFileSync('ip', ['netns', 'exec', A, 'iperf3', '-c', SRV, '-t', String(SECONDS), '-J'], {
        encoding: 'utf8',
      })
      const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }
      return j.end.sum_received.bits_per_second / 1e6
    }
    const none: number[] = []
    const withRules: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      await p.remove()
      none.push(iperf())
      console.log(JSON.stringify({ case: 'iperf3-no-rules', round: r, mbps: Math.round(none[r]!) }))
      await p.apply(state)
      withRules.push(iperf())
      console.log(JSON.stringify({ case: 'iperf3-rules', round: r, mbps: Math.round(withRules[r]!) }))
    }
    await stopProcess(srv)
    await p.remove()
    const m0 = median(none)
    const m1 = median(withRules)
    console.log(
      JSON.stringify({
        summary: true,
        compileAndApplyMs: apply.compileMs + apply.applyMs,
        underSeconds: 15,
        applyOk: apply.compileMs + apply.applyMs < 15_000,
        iperf3MedianMbps: { none: Math.round(m0), rules: Math.round(m1) },
        throughputRatio: Number((m1 / m0).toFixed(3)),
        within10Percent: m1 >= 0.9 * m0,
      }),
    )
  } finally {
    await lab.cleanup()
  }
}

await main()
