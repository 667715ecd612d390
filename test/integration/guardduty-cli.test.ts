// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * The GuardDuty API and live detection, end to end: `mirrorflow server` (a child process, as users
 * run it) with a webhook; the real AWS CLI (/usr/bin/aws) creates a detector, a threat list and a
 * trusted list; a flow-log object with a port scan and SSH password guessing lands in the server's
 * bucket directory; within seconds `aws guardduty list-findings` / `get-findings` show the findings,
 * the webhook receives them as EventBridge events and findings.jsonl holds them; statistics,
 * archiving, criteria, sort, pagination and the error code of each bad request. The CLI commands run
 * through `AwsBatch` (the unmodified /usr/bin/aws script once per command, in one Python process: a
 * separate `aws` process costs about a CPU-second for its start and imports); the last command, the
 * empty detector list, is a separate /usr/bin/aws process, so a CLI of its own is checked too.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { after, before, test } from 'node:test'
import { REPO_ROOT } from '../helpers/shared.ts'
import { AWS_CLI, run, type CliResult } from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

let dir: string
let server: ChildProcess
let url: string
let hook: http.Server
const events: { source: string; 'detail-type': string; detail: { type: string; id: string } }[] = []
let hookFailuresLeft = 1
let detectorId: string
let cli: AwsBatch

function cliEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'data', 'credentials'),
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_PROFILE: 'mirrorflow',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '1',
  }
}

function aws(...args: string[]): Promise<CliResult> {
  return cli.run(...args)
}

/** `aws ARGS` as a separate /usr/bin/aws process. */
function awsProcess(...args: string[]): Promise<CliResult> {
  return run(AWS_CLI, [...args, '--endpoint-url', url, '--output', 'json'], cliEnv())
}

async function ok(...args: string[]): Promise<Record<string, unknown>> {
  const r = await aws(...args)
  assert.equal(r.code, 0, `aws ${args.join(' ')}: ${r.stderr}`)
  return (r.json ?? {}) as Record<string, unknown>
}

/** One flow-log object (default format) in the server's bucket directory. */
function deliver(name: string, lines: string[]): void {
  const d = join(dir, 'data', 's3', 'lab-bucket', 'AWSLogs', '123456789012', 'vpcflowlogs', 'us-east-1')
  mkdirSync(d, { recursive: true })
  const header =
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
  writeFileSync(join(d, `${name}.tmp`), gzipSync([header, ...lines, ''].join('\n')))
  // As the agent's store does: a rename, so the object appears whole.
  renameSync(join(d, `${name}.tmp`), join(d, `${name}.log.gz`))
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mf-guardduty-'))
  writeFileSync(join(dir, 'no-config'), '')
  hook = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      // The first delivery fails: the retry must bring it.
      if (hookFailuresLeft > 0) {
        hookFailuresLeft--
        res.writeHead(503).end()
        return
      }
      events.push(JSON.parse(body))
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
  const hookPort = (hook.address() as { port: number }).port
  mkdirSync(join(dir, 'data', 'lists'), { recursive: true })
  server = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
      'server',
      '--data-dir',
      join(dir, 'data'),
      '--port',
      '0',
      '--webhook',
      `http://127.0.0.1:${hookPort}/hook`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  url = await new Promise<string>((resolve, reject) => {
    let out = ''
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    server.on('exit', (c) => reject(new Error(`server exited ${c}`)))
  })
  cli = new AwsBatch(cliEnv(), url)
})

after(async () => {
  await cli?.close()
  server?.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  hook?.close()
  rmSync(dir, { recursive: true, force: true })
})

test('create-detector, get-detector, list-detectors; a second detector is refused', async () => {
  detectorId = (await ok('guardduty', 'create-detector', '--enable')).DetectorId as string
  assert.match(detectorId, /^[0-9a-f]{32}$/)
  assert.deepEqual(await ok('guardduty', 'list-detectors'), { DetectorIds: [detectorId] })
  const d = await ok('guardduty', 'get-detector', '--detector-id', detectorId)
  assert.equal(d.Status, 'ENABLED')
  const again = await aws('guardduty', 'create-detector', '--enable')
  assert.equal(again.code, 254)
  assert.match(again.stderr, /\(BadRequestException\) when calling the CreateDetector operation/)
  const unknown = await aws('guardduty', 'get-detector', '--detector-id', 'ffff')
  assert.match(unknown.stderr, /\(BadRequestException\) when calling the GetDetector operation/)
})

test('threat and trusted lists: created from files in the lists root, refused outside it', async () => {
  writeFileSync(join(dir, 'data', 'lists', 'bad.txt'), '# scanners\n198.51.100.0/24\n')
  writeFileSync(join(dir, 'data', 'lists', 'trusted.txt'), '10.9.9.9\n')
  const t = await ok(
    'guardduty',
    'create-threat-intel-set',
    '--detector-id',
    detectorId,
    '--name',
    'scanners',
    '--format',
    'TXT',
    '--location',
    'bad.txt',
    '--activate',
  )
  assert.match(t.ThreatIntelSetId as string, /^[0-9a-f]{32}$/)
  assert.deepEqual(await ok('guardduty', 'list-threat-intel-sets', '--detector-id', detectorId), {
    ThreatIntelSetIds: [t.ThreatIntelSetId],
  })
  const g = await ok(
    'guardduty',
    'get-threat-intel-set',
    '--detector-id',
    detectorId,
    '--threat-intel-set-id',
    t.ThreatIntelSetId as string,
  )
  assert.deepEqual(g, { Name: 'scanners', Format: 'TXT', Location: 'bad.txt', Status: 'ACTIVE', Tags: {} })
  await ok(
    'guardduty',
    'create-ip-set',
    '--detector-id',
    detectorId,
    '--name',
    'ours',
    '--format',
    'TXT',
    '--location',
    'trusted.txt',
    '--activate',
  )
  const outside = await aws(
    'guardduty',
    'create-threat-intel-set',
    '--detector-id',
    detectorId,
    '--name',
    'x',
    '--format',
    'TXT',
    '--location',
    '/etc/passwd',
    '--activate',
  )
  assert.match(outside.stderr, /\(BadRequestException\).*is not inside/)
  const https = await aws(
    'guardduty',
    'create-threat-intel-set',
    '--detector-id',
    detectorId,
    '--name',
    'y',
    '--format',
    'TXT',
    '--location',
    'https://example.com/list.txt',
    '--activate',
  )
  assert.match(https.stderr, /\(BadRequestException\)/)
})

test('a delivered scan and SSH guessing: findings within seconds, through list-findings and get-findings', async () => {
  const t = Math.floor(Date.now() / 1000)
  const lines: string[] = []
  for (let p = 1; p <= 1000; p++)
    lines.push(`2 123456789012 eni-0a1 10.0.0.66 10.0.0.10 61000 ${p} 6 1 44 ${t - 60} ${t} ACCEPT OK`)
  for (let i = 0; i < 30; i++)
    lines.push(
      `2 123456789012 eni-0a1 10.0.0.66 10.0.0.10 ${40000 + i} 22 6 25 4000 ${t - 60} ${t} ACCEPT OK`,
    )
  // A trusted host's scan: suppressed. A listed host's probe of an open port.
  for (let p = 1; p <= 1000; p++)
    lines.push(`2 123456789012 eni-0a1 10.9.9.9 10.0.0.10 61000 ${p} 6 1 44 ${t - 60} ${t} ACCEPT OK`)
  lines.push(`2 123456789012 eni-0a1 198.51.100.9 10.0.0.10 51000 443 6 1 44 ${t - 60} ${t} ACCEPT OK`)
  const started = Date.now()
  deliver('scan', lines)
  const ids = await waitFor('findings', async () => {
    const r = await ok('guardduty', 'list-findings', '--detector-id', detectorId)
    const ids = r.FindingIds as string[]
    return ids.length >= 5 ? ids : undefined
  })
  assert.ok(Date.now() - started < 10_000)
  // The server's own measure, independent of the CLI's start-up: from the object landing to its
  // findings being stored (GuardDuty's goal here: 10 s), and the live detection counters.
  const metrics = await (await fetch(`${url}/metrics`)).text()
  const metric = (name: string): number => {
    const line = metrics.split('\n').find((l) => l.startsWith(`${name} `))
    assert.ok(line !== undefined, `${name} in /metrics`)
    return Number(line.slice(name.length + 1))
  }
  assert.equal(metric('mirrorflow_detect_objects_total'), 1)
  assert.equal(metric('mirrorflow_detect_records_total'), lines.length)
  assert.equal(metric('mirrorflow_detect_unreadable_total'), 0)
  assert.equal(metric('mirrorflow_detect_findings_changed_total'), 5)
  const latency = metric('mirrorflow_detect_last_latency_seconds')
  assert.ok(latency >= 0 && latency < 10, `latency ${latency} s`)
  const got = await ok('guardduty', 'get-findings', '--detector-id', detectorId, '--finding-ids', ...ids)
  const findings = got.Findings as {
    Type: string
    Severity: number
    Service: {
      ResourceRole: string
      Count: number
      Action: {
        NetworkConnectionAction?: {
          RemoteIpDetails: { IpAddressV4: string }
          LocalIpDetails: { IpAddressV4: string }
        }
      }
    }
  }[]
  const summary = findings
    .map((f) => {
      const n = f.Service.Action.NetworkConnectionAction
      return `${f.Type} ${f.Severity} ${f.Service.ResourceRole}${n ? ` ${n.LocalIpDetails.IpAddressV4}<-${n.RemoteIpDetails.IpAddressV4}` : ''}`
    })
    .sort()
  assert.deepEqual(summary, [
    'Recon:EC2/InboundPortscan.Mirrorflow 2 TARGET',
    'Recon:EC2/PortProbeUnprotectedPort 2 TARGET',
    'Recon:EC2/Portscan 5 ACTOR 10.0.0.66<-10.0.0.10',
    'UnauthorizedAccess:EC2/SSHBruteForce 2 TARGET 10.0.0.10<-10.0.0.66',
    'UnauthorizedAccess:EC2/SSHBruteForce 8 ACTOR 10.0.0.66<-10.0.0.10',
  ])

  // Criteria, sort and pages.
  const high = await ok(
    'guardduty',
    'list-findings',
    '--detector-id',
    detectorId,
    '--finding-criteria',
    JSON.stringify({ Criterion: { severity: { Gte: 7 } } }),
  )
  assert.equal((high.FindingIds as string[]).length, 1)
  const byType = await ok(
    'guardduty',
    'list-findings',
    '--detector-id',
    detectorId,
    '--finding-criteria',
    JSON.stringify({ Criterion: { type: { Eq: ['Recon:EC2/Portscan'] } } }),
  )
  assert.equal((byType.FindingIds as string[]).length, 1)
  const sorted = await ok(
    'guardduty',
    'list-findings',
    '--detector-id',
    detectorId,
    '--sort-criteria',
    'AttributeName=severity,OrderBy=DESC',
  )
  assert.equal((sorted.FindingIds as string[])[0], (high.FindingIds as string[])[0])
  const page1 = await ok(
    'guardduty',
    'list-findings',
    '--detector-id',
    detectorId,
    '--max-results',
    '2',
    '--no-paginate',
  )
  assert.equal((page1.FindingIds as string[]).length, 2)
  assert.equal(typeof page1.NextToken, 'string')

  // Statistics and archiving.
  assert.deepEqual(
    await ok(
      'guardduty',
      'get-findings-statistics',
      '--detector-id',
      detectorId,
      '--finding-statistic-types',
      'COUNT_BY_SEVERITY',
    ),
    { FindingStatistics: { CountBySeverity: { '2.0': 3, '5.0': 1, '8.0': 1 } } },
  )
  await ok(
    'guardduty',
    'archive-findings',
    '--detector-id',
    detectorId,
    '--finding-ids',
    (high.FindingIds as string[])[0]!,
  )
  const archived = await ok(
    'guardduty',
    'list-findings',
    '--detector-id',
    detectorId,
    '--finding-criteria',
    JSON.stringify({ Criterion: { 'service.archived': { Eq: ['true'] } } }),
  )
  assert.deepEqual(archived.FindingIds, high.FindingIds)
  await ok(
    'guardduty',
    'unarchive-findings',
    '--detector-id',
    detectorId,
    '--finding-ids',
    (high.FindingIds as string[])[0]!,
  )

  // Delivery: the webhook (after one 503) and the JSON-lines file have every finding as an event.
  await waitFor('webhook events', async () => (events.length >= 5 ? true : undefined))
  assert.equal(events[0]!.source, 'aws.guardduty')
  assert.equal(events[0]!['detail-type'], 'GuardDuty Finding')
  assert.deepEqual(new Set(events.map((e) => e.detail.id)), new Set(ids))
  const lines2 = readFileSync(join(dir, 'data', 'findings.jsonl'), 'utf8')
    .trim()
    .split('\n')
  assert.equal(lines2.length, 5)
  assert.equal(JSON.parse(lines2[0]!).detail.schemaVersion, '2.0')
})

test('mirrorflow findings lists them in a table', async () => {
  const r = await run(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'mirrorflow.mjs'), 'findings', '--endpoint-url', url],
    {
      PATH: process.env.PATH,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'data', 'credentials'),
      AWS_PROFILE: 'mirrorflow',
    },
  )
  assert.equal(r.code, 0, r.stderr)
  const rows = r.stdout.trim().split('\n')
  assert.match(rows[0]!, /^TYPE\s+SEVERITY\s+ROLE/)
  assert.equal(rows.length, 6)
  assert.match(rows[1]!, /^UnauthorizedAccess:EC2\/SSHBruteForce\s+High 8\s+ACTOR/)
})

test('bad requests: one code each', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['guardduty', 'list-findings', '--detector-id', detectorId, '--max-results', '51'],
      /\(BadRequestException\)|Invalid value for parameter/,
    ],
    [
      [
        'guardduty',
        'get-findings-statistics',
        '--detector-id',
        detectorId,
        '--finding-statistic-types',
        'NOPE',
      ],
      /\(BadRequestException\)/,
    ],
    [
      ['guardduty', 'delete-threat-intel-set', '--detector-id', detectorId, '--threat-intel-set-id', 'abc'],
      /\(BadRequestException\)/,
    ],
  ]
  for (const [args, re] of cases) {
    const r = await aws(...args)
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, re)
  }
  await ok('guardduty', 'delete-detector', '--detector-id', detectorId)
  // A separate /usr/bin/aws process (the file's one).
  const own = await awsProcess('guardduty', 'list-detectors')
  assert.equal(own.code, 0, own.stderr)
  assert.deepEqual(own.json, { DetectorIds: [] })
})
