// SPDX-License-Identifier: Apache-2.0
/**
 * Mirroring throughput and delivery, in namespaces (npm run bench:mirror). iperf3 TCP from the source
 * namespace to its peer, through the mirrored interface s0, with:
 *   - no session (baseline);
 *   - an accept-all session on our kernel path (nftables netdev `dup` → vxlan);
 *   - the kernel's own `tc … u32 … action mirred egress mirror dev <vxlan>` on the same vxlan device
 *     (the reference: the best the kernel does);
 *   - our user-space path (tcpdump → evaluator → UDP), in both capture modes (immediate, batched),
 *     unpaced and at fixed paced rates, to find the highest rate it delivers 100 % of.
 * Delivery = VXLAN packets received at the target / packets that crossed s0 (both directions).
 * GSO is limited to one segment on s0/p0 so each packet is a wire-sized frame, as on a NIC.
 * Output: one JSON line per case, then a summary line. Env: MF_BENCH_SECONDS (default 4),
 * MF_BENCH_ROUNDS (default 3), MF_BENCH_SETTLE_MS (wait for the last copies, default 2500),
 * MF_BENCH_USERSPACE=0 (kernel cases only).
 */
import { execFileSync } from 'node:child_process'
import { Lab, interfaceMac, interfaceStats, stopProcess, uniquePrefix } from '../../src/lab/netns.ts'
import { NftablesDatapath, UserspaceDatapath, type MirrorState } from '../../src/mirror/index.ts'

const SECONDS = Number(process.env.MF_BENCH_SECONDS ?? 4)
/** Rounds of the three kernel-side cases, interleaved; the summary takes medians (2 shared cores are noisy). */
const ROUNDS = Number(process.env.MF_BENCH_ROUNDS ?? 3)
const SRC_IP = '10.87.0.1'
const PEER_IP = '10.87.0.2'
const TGT_IP = '10.88.0.2'

interface CaseResult {
  case: string
  mbps: number
  retransmits: number
  sourcePackets: number
  targetPackets: number
  delivery: number
  rateLimitMbps?: number
  worker?: unknown
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return 'unknown'
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

async function main(): Promise<void> {
  const lab = new Lab(uniquePrefix('mfmb'))
  const results: CaseResult[] = []
  try {
    const src = await lab.namespace('src')
    const peer = await lab.namespace('peer')
    const tgt = await lab.namespace('tgt')
    await lab.veth(
      { ns: src, ifname: 's0', addresses: [`${SRC_IP}/24`] },
      { ns: peer, ifname: 'p0', addresses: [`${PEER_IP}/24`] },
    )
    await lab.veth(
      { ns: src, ifname: 's1', addresses: ['10.88.0.1/24'] },
      { ns: tgt, ifname: 't0', addresses: [`${TGT_IP}/24`] },
    )
    await lab.exec(src, ['ip', 'link', 'set', 's1', 'mtu', '9001'])
    await lab.exec(tgt, ['ip', 'link', 'set', 't0', 'mtu', '9001'])
    await lab.exec(src, ['ip', 'link', 'set', 's0', 'gso_max_segs', '1'])
    await lab.exec(peer, ['ip', 'link', 'set', 'p0', 'gso_max_segs', '1'])
    const srcMac = await interfaceMac(src, 's0')
    await lab.exec(src, [
      'ip',
      'neigh',
      'replace',
      PEER_IP,
      'lladdr',
      await interfaceMac(peer, 'p0'),
      'dev',
      's0',
      'nud',
      'permanent',
    ])
    await lab.exec(peer, [
      'ip',
      'neigh',
      'replace',
      SRC_IP,
      'lladdr',
      srcMac,
      'dev',
      'p0',
      'nud',
      'permanent',
    ])
    await lab.exec(src, [
      'ip',
      'neigh',
      'replace',
      TGT_IP,
      'lladdr',
      await interfaceMac(tgt, 't0'),
      'dev',
      's1',
      'nud',
      'permanent',
    ])
    await lab.exec(tgt, ['nft', '-f', '-'], {
      input:
        'table inet mfdrop {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\tudp dport 4789 drop\n\t}\n}\n',
    })
    await lab.exec(src, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1'])
    await lab.exec(peer, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1'])
    const server = lab.spawn(peer, ['iperf3', '-s', '-B', PEER_IP])
    await new Promise((r) => setTimeout(r, 500))

    const state: MirrorState = {
      sources: [
        { networkInterfaceId: 'eni-bench', ifname: 's0', netns: src, mac: srcMac, addresses: [SRC_IP] },
      ],
      targets: [{ trafficMirrorTargetId: 'tmt-bench', type: 'network-interface', addresses: [TGT_IP] }],
      filters: [
        {
          trafficMirrorFilterId: 'tmf-bench',
          ingressFilterRules: [
            {
              ruleNumber: 1,
              ruleAction: 'accept',
              sourceCidrBlock: '0.0.0.0/0',
              destinationCidrBlock: '0.0.0.0/0',
            },
          ],
          egressFilterRules: [
            {
              ruleNumber: 1,
              ruleAction: 'accept',
              sourceCidrBlock: '0.0.0.0/0',
              destinationCidrBlock: '0.0.0.0/0',
            },
          ],
          networkServices: [],
        },
      ],
      sessions: [
        {
          trafficMirrorSessionId: 'tms-bench',
          networkInterfaceId: 'eni-bench',
          trafficMirrorTargetId: 'tmt-bench',
          trafficMirrorFilterId: 'tmf-bench',
          sessionNumber: 1,
          virtualNetworkId: 4242,
        },
      ],
      amazonDnsResolvers: [],
    }

    const measure = async (name: string, rateMbps?: number): Promise<CaseResult> => {
      const s0a = await interfaceStats(src, 's0')
      const t0a = await interfaceStats(tgt, 't0')
      const argv = ['iperf3', '-c', PEER_IP, '-t', String(SECONDS), '-J']
      if (rateMbps !== undefined) argv.push('-b', `${rateMbps}M`)
      const out = await lab.exec(src, argv, { timeoutMs: (SECONDS + 20) * 1000 })
      // Let the last mirrored copies (user space: through capture and socket) arrive.
      await new Promise((r) => setTimeout(r, Number(process.env.MF_BENCH_SETTLE_MS ?? 2500)))
      const s0b = await interfaceStats(src, 's0')
      const t0b = await interfaceStats(tgt, 't0')
      const j = JSON.parse(out.stdout) as {
        end: {
          sum_sent: { bits_per_second: number; retransmits: number }
          sum_received: { bits_per_second: number }
        }
      }
      const sourcePackets = s0b.txPackets - s0a.txPackets + (s0b.rxPackets - s0a.rxPackets)
      const targetPackets = t0b.rxPackets - t0a.rxPackets
      const r: CaseResult = {
        case: `mirror/iperf3-tcp/${name}`,
        mbps: Math.round(j.end.sum_received.bits_per_second / 1e5) / 10,
        retransmits: j.end.sum_sent.retransmits,
        sourcePackets,
        targetPackets,
        delivery: sourcePackets === 0 ? 0 : Math.round((targetPackets / sourcePackets) * 10000) / 10000,
      }
      if (rateMbps !== undefined) r.rateLimitMbps = rateMbps
      process.stdout.write(
        JSON.stringify({ ...r, seconds: SECONDS, node: process.version, commit: commit() }) + '\n',
      )
      results.push(r)
      return r
    }

    const kernel = new NftablesDatapath({
      naming: { table: `mirrorflow_${lab.prefix}`, devicePrefix: 'mfv' },
    })
    const none: CaseResult[] = []
    const ours: CaseResult[] = []
    const tc: CaseResult[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // 1. No session.
      none.push(await measure('none'))
      // 2. Our kernel path.
      await kernel.apply(state)
      ours.push(await measure('kernel-nftables'))
      // 3. tc mirred on the same vxlan device (our table removed first, the device kept).
      const dev = (await lab.exec(src, ['ip', '-br', 'link', 'show', 'type', 'vxlan'])).stdout
        .trim()
        .split(/\s+/)[0]!
      await lab.exec(src, ['nft', 'delete', 'table', 'netdev', `mirrorflow_${lab.prefix}`])
      await lab.exec(src, ['tc', 'qdisc', 'add', 'dev', 's0', 'clsact'])
      for (const dir of ['ingress', 'egress']) {
        await lab.exec(src, [
          'tc',
          'filter',
          'add',
          'dev',
          's0',
          dir,
          'protocol',
          'all',
          'u32',
          'match',
          'u32',
          '0',
          '0',
          'action',
          'mirred',
          'egress',
          'mirror',
          'dev',
          dev,
        ])
      }
      tc.push(await measure('tc-mirred-reference'))
      await lab.exec(src, ['tc', 'qdisc', 'del', 'dev', 's0', 'clsact'])
      await kernel.remove()
    }
    // 4. User space, both capture modes: unpaced, then paced rates up to the first below 100 %.
    const userspace = async (mode: 'immediate' | 'batched', rates: number[]) => {
      const us = new UserspaceDatapath({ captureMode: mode })
      await us.apply(state)
      const withWorker = async (name: string, rate?: number): Promise<CaseResult> => {
        const before = us.stats().get('eni-bench')!
        const r = await measure(name, rate)
        const after = us.stats().get('eni-bench')!
        r.worker = {
          frames: after.frames - before.frames,
          sent: after.sent - before.sent,
          droppedRingFull: after.dropped - before.dropped,
          errors: after.errors - before.errors,
        }
        process.stdout.write(JSON.stringify({ case: `${r.case}/worker`, ...(r.worker as object) }) + '\n')
        return r
      }
      const free = await withWorker(`userspace-${mode}`)
      let best = 0
      let bestPps = 0
      for (const rate of rates) {
        const r = await withWorker(`userspace-${mode}-paced-${rate}M`, rate)
        if (r.delivery < 1) break
        best = r.mbps
        bestPps = Math.round(r.sourcePackets / SECONDS)
      }
      await us.remove()
      return { free, best, bestPps }
    }
    const skip = { free: { mbps: 0, delivery: 0 }, best: 0, bestPps: 0 }
    const withUs = process.env.MF_BENCH_USERSPACE !== '0'
    const imm = withUs ? await userspace('immediate', [50, 100, 200, 300, 400]) : skip
    const bat = withUs ? await userspace('batched', [100, 200, 300, 400]) : skip
    await stopProcess(server)
    process.stdout.write(
      JSON.stringify({
        case: 'mirror/summary',
        rounds: ROUNDS,
        baselineMbps: median(none.map((r) => r.mbps)),
        kernelMbps: median(ours.map((r) => r.mbps)),
        tcMirredMbps: median(tc.map((r) => r.mbps)),
        kernelVsTc:
          Math.round((median(ours.map((r) => r.mbps)) / median(tc.map((r) => r.mbps))) * 1000) / 1000,
        kernelDelivery: Math.min(...ours.map((r) => r.delivery)),
        tcDelivery: Math.min(...tc.map((r) => r.delivery)),
        userspaceImmediateUnpacedMbps: imm.free.mbps,
        userspaceImmediateUnpacedDelivery: imm.free.delivery,
        userspaceImmediateFullDeliveryUpToMbps: imm.best,
        userspaceImmediateFullDeliveryUpToPps: imm.bestPps,
        userspaceBatchedUnpacedMbps: bat.free.mbps,
        userspaceBatchedUnpacedDelivery: bat.free.delivery,
        userspaceBatchedFullDeliveryUpToMbps: bat.best,
        userspaceBatchedFullDeliveryUpToPps: bat.bestPps,
      }) + '\n',
    )
  } finally {
    await lab.cleanup()
  }
}

await main()
