// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow pcap --flow SRC:PORT-DST:PORT/PROTO --start T --end T`: the packets of one flow, in
 * both directions, fetched by the server from the mirror targets' pcap rings, written as one pcap
 * file (`-o FILE`, `-` for standard output; default `flow-….pcap`). A signed `GET
 * /mirrorflow/v1/pcap`; errors are printed as the AWS CLI prints them (exit status 254).
 * @module
 */
import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'

interface PcapOptions {
  flow: string
  start: string
  end: string
  endpointUrl: string
  profile?: string
  region?: string
  output?: string
}

export function registerPcap(program: Command): void {
  program
    .command('pcap')
    .description("a flow's packets from the mirror targets' pcap rings, as one pcap file")
    .requiredOption(
      '--flow <SRC:PORT-DST:PORT/PROTO>',
      'the flow (IPv6 addresses in brackets; PROTO tcp, udp, icmp or a number)',
    )
    .requiredOption('--start <time>', 'start of the range (ISO 8601 or seconds since the epoch)')
    .requiredOption('--end <time>', 'end of the range (ISO 8601 or seconds since the epoch)')
    .option('-o, --output <file>', 'where to write the pcap (- = standard output; default flow-….pcap)')
    .option('--endpoint-url <url>', 'the mirrorflow server', 'http://127.0.0.1:4566')
    .option('--profile <p>', 'credentials profile (as the AWS CLI)')
    .option('--region <r>', 'signing region')
    .action(async (o: PcapOptions) => {
      const { resolveCredentials, signRequest } = await import('../api/index.ts')
      const creds = resolveCredentials({ profile: o.profile, region: o.region })
      if (creds === undefined)
        throw new UsageError(
          'no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE (or --profile), or MIRRORFLOW_DATA_DIR',
        )
      const base = o.endpointUrl.replace(/\/+$/, '')
      const q = new URLSearchParams({ Flow: o.flow, StartTime: o.start, EndTime: o.end })
      // SigV4's canonical query wants %20, not +.
      const url = new URL(`${base}/mirrorflow/v1/pcap?${q.toString().replace(/\+/g, '%20')}`)
      const headers = signRequest({
        method: 'GET',
        url,
        headers: {},
        body: '',
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        region: creds.region,
        service: 'ec2',
      })
      delete headers.host
      let res: Response
      try {
        res = await fetch(url, { headers })
      } catch (err) {
        process.stderr.write(
          `\nCould not connect to the endpoint URL: "${base}" (${(err as Error).message})\n`,
        )
        process.exitCode = 255
        return
      }
      const body = Buffer.from(await res.arrayBuffer())
      if (!res.ok) {
        const t = body.toString('utf8')
        const code = /<Code>([^<]*)<\/Code>/.exec(t)?.[1] ?? `HTTP${res.status}`
        const msg = /<Message>([^<]*)<\/Message>/.exec(t)?.[1] ?? t.slice(0, 300)
        process.stderr.write(
          `\nAn error occurred (${code}) when calling the MirrorflowGetFlowPackets operation: ${msg}\n`,
        )
        process.exitCode = 254
        return
      }
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'flow.pcap'
      const out = o.output ?? name
      const packets = res.headers.get('x-mirrorflow-packets') ?? '?'
      const truncated = res.headers.get('x-mirrorflow-truncated') === 'true'
      if (out === '-') process.stdout.write(body)
      else writeFileSync(out, body)
      process.stderr.write(
        `mirrorflow pcap: ${packets} packets, ${body.length} bytes${out === '-' ? '' : ` in ${out}`}${truncated ? ' (cut at the size limit)' : ''}\n`,
      )
    })
}
