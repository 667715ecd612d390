// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow findings`: the server's GuardDuty findings in a terminal table (or `--json`, the
 * findings as `aws guardduty get-findings` prints them), newest detector's by default, highest
 * severity first. It calls the server's GuardDuty API (ListFindings, GetFindings), signed with the
 * same credentials as `mirrorflow status`.
 * @module
 */
import type { Command } from 'commander'
import { resolveCredentials, signRequest } from '../api/index.ts'
import type { Finding } from '../control/index.ts'
import { UsageError } from '../errors.ts'
import { findingsTable } from './detect.ts'

interface FindingsOptions {
  endpointUrl: string
  profile?: string
  region?: string
  detectorId?: string
  archived?: boolean
  json?: boolean
  max: string
}

/** Upper case first letter of every key (the wire form back to the API model's member names). */
function modelForm(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(modelForm)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k.charAt(0).toUpperCase() + k.slice(1)] = modelForm(x)
    return out
  }
  return v
}

class GuardDutyCallError extends Error {
  readonly code = 'MF_API_REMOTE'
  readonly awsCode: string
  constructor(awsCode: string, message: string) {
    super(message)
    this.awsCode = awsCode
  }
}

export function registerFindings(program: Command): void {
  program
    .command('findings')
    .description("the server's GuardDuty findings as a table (--json: as get-findings prints them)")
    .option(
      '--endpoint-url <url>',
      'the server',
      process.env.MIRRORFLOW_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
    )
    .option('--profile <name>', 'credentials profile')
    .option('--region <r>', 'signing region (default: from the profile, else us-east-1)')
    .option('--detector-id <id>', 'the detector (default: the first one)')
    .option('--archived', 'include archived findings')
    .option('--max <n>', 'most findings shown', '500')
    .option('--json', 'print a JSON array')
    .action(async (o: FindingsOptions) => {
      const max = Number(o.max)
      if (!Number.isInteger(max) || max < 1 || max > 10_000) throw new UsageError('--max must be 1 to 10000')
      const creds = resolveCredentials({ profile: o.profile, region: o.region })
      if (creds === undefined)
        throw new UsageError(
          'no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_SHARED_CREDENTIALS_FILE (or --profile)',
        )
      const call = async (method: string, path: string, body?: object): Promise<Record<string, unknown>> => {
        const url = new URL(path, o.endpointUrl.endsWith('/') ? o.endpointUrl : `${o.endpointUrl}/`)
        const text = body === undefined ? '' : JSON.stringify(body)
        const headers = signRequest({
          method,
          url,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: text,
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
          region: creds.region,
          service: 'guardduty',
        })
        delete headers.host
        const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: text }) })
        const out = (await res.json().catch(() => ({}))) as Record<string, unknown>
        if (!res.ok)
          throw new GuardDutyCallError(
            res.headers.get('x-amzn-errortype') ?? `HTTP${res.status}`,
            String(out.message ?? ''),
          )
        return out
      }
      try {
        let det = o.detectorId
        if (det === undefined) {
          const ids = (await call('GET', 'detector')).detectorIds as string[]
          if (ids.length === 0) {
            process.stdout.write('no detector (create one: aws guardduty create-detector --enable)\n')
            return
          }
          det = ids[0]!
        }
        const criterion = o.archived === true ? {} : { 'service.archived': { eq: ['false'] } }
        const ids: string[] = []
        let token: string | undefined
        do {
          const page = await call('POST', `detector/${encodeURIComponent(det)}/findings`, {
            findingCriteria: { criterion },
            sortCriteria: { attributeName: 'severity', orderBy: 'DESC' },
            maxResults: 50,
            ...(token !== undefined ? { nextToken: token } : {}),
          })
          ids.push(...(page.findingIds as string[]))
          token = page.nextToken as string | undefined
        } while (token !== undefined && ids.length < max)
        const findings: Finding[] = []
        for (let i = 0; i < Math.min(ids.length, max); i += 50) {
          const got = await call('POST', `detector/${encodeURIComponent(det)}/findings/get`, {
            findingIds: ids.slice(i, Math.min(i + 50, max)),
          })
          findings.push(...(modelForm(got.findings) as Finding[]))
        }
        findings.sort((a, b) => b.Severity - a.Severity || a.Type.localeCompare(b.Type))
        process.stdout.write(
          o.json === true ? JSON.stringify(findings, null, 2) + '\n' : findingsTable(findings),
        )
      } catch (err) {
        if (err instanceof GuardDutyCallError) {
          process.stderr.write(`\nAn error occurred (${err.awsCode}): ${err.message}\n`)
          process.exitCode = 254
          return
        }
        process.stderr.write(
          `\nCould not connect to the endpoint URL: "${o.endpointUrl}" (${(err as Error).message})\n`,
        )
        process.exitCode = 255
      }
    })
}
