// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow mirror`: try a Traffic Mirroring configuration offline. Reads a capture, runs it through
 * the sessions of an AWS-CLI-shaped JSON config and writes what they would send — complete VXLAN
 * frames, as AWS sends them — to a pcap. `--nft` prints the nftables table the kernel datapath would
 * load for the same config instead (interfaces need an `Ifname`).
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'
import {
  compileNftables,
  kernelCapable,
  mirrorCapture,
  parseAwsMirrorConfig,
  validateMirrorState,
} from '../mirror/index.ts'

interface MirrorOptions {
  pcap?: string
  config: string
  out?: string
  nft?: boolean
}

/** Registers `mirror` on the program. */
export function registerMirror(program: Command): void {
  program
    .command('mirror')
    .description(
      'mirror a capture through Traffic Mirroring sessions (AWS CLI JSON config) into a VXLAN pcap',
    )
    .requiredOption(
      '--config <file>',
      'JSON: {NetworkInterfaces, TrafficMirrorSessions, TrafficMirrorFilters, TrafficMirrorTargets}',
    )
    .option('--pcap <file>', "input capture (pcap or pcapng; '-' for stdin)")
    .option('--out <file>', "output pcap of VXLAN frames ('-' for stdout)")
    .option('--nft', 'print the nftables table of the kernel datapath instead')
    .action(async (o: MirrorOptions) => {
      let json: unknown
      try {
        json = JSON.parse(readFileSync(o.config, 'utf8'))
      } catch (err) {
        throw new UsageError(`cannot read config ${o.config}: ${(err as Error).message}`)
      }
      const cfg = parseAwsMirrorConfig(json)
      if (o.nft === true) {
        validateMirrorState(cfg.state)
        const srcs = cfg.state.sources.filter((s) => kernelCapable(cfg.state, s))
        for (const s of srcs)
          if (s.ifname === undefined)
            throw new UsageError(`interface ${s.networkInterfaceId} needs an "Ifname" for --nft`)
        process.stdout.write(compileNftables(cfg.state, srcs).ruleset)
        return
      }
      if (o.pcap === undefined || o.out === undefined)
        throw new UsageError('--pcap and --out are required (or --nft)')
      const res = await mirrorCapture(cfg.state, o.pcap, o.out === '-' ? process.stdout : o.out, {
        macByAddress: cfg.macByAddress,
      })
      process.stderr.write(JSON.stringify(res) + '\n')
    })
}
