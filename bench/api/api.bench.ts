// SPDX-License-Identifier: Apache-2.0
/**
 * bench/api: the EC2-compatible API over real HTTP with SigV4-signed requests.
 *
 * The server runs as a child process (`mirrorflow server --data-dir <tmp> --port 0`); this process
 * is the client. It seeds BENCH_SESSIONS (default 10,000) sessions, as many filters and rules, with
 * the interfaces and targets they need (3 sessions per source, ≤ 10 sources per interface target,
 * spec-traffic-mirroring §3), measuring create throughput with BENCH_CONCURRENCY (default 32)
 * requests in flight; then it measures DescribeTrafficMirrorSessions with a filter, one request at a
 * time, for p50/p99 latency. Requests are signed before the clock starts, so the figures are the
 * server's (plus loopback HTTP), not the signer's.
 *
 * Then, with BENCH_FLOOD_INFLIGHT (default 8) unsigned 1 MiB form bodies of 100,000 parameters each
 * kept in flight by a worker thread (an attacker without keys), it measures the same Describe again:
 * the p99 an honest client sees while the server is flooded, and how many flood requests were
 * answered (each must be refused).
 *
 * Output: one JSON line per case (`{case, ops, seconds, opsPerSec, nsPerOp, …}`), then a summary line
 * with the targets (p99 < 10 ms, ≥ 2,000 creates/s). Run: `npm run bench:api`.
 */
import { Worker } from 'node:worker_threads'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  child,
  httpClient,
  parseXml,
  readCredentials,
  signRequest,
  spawnServer,
  type Credentials,
  type RawRequest,
} from '../../test/helpers/api-server.ts'
import { emit } from '../emit.ts'

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const DESCRIBES = Number(process.env.BENCH_DESCRIBES ?? 2_000)
const REGION = 'us-east-1'
/** Unsigned 1 MiB bodies kept in flight during the flood case (0 skips the case). */
const FLOOD_INFLIGHT = Number(process.env.BENCH_FLOOD_INFLIGHT ?? 8)
/** Describe calls measured under the flood. */
const FLOOD_DESCRIBES = Number(process.env.BENCH_FLOOD_DESCRIBES ?? 300)
/** The admin action `mirrorflow admin register-interface` sends (the server's admin API). */
const REGISTER_ACTION = process.env.BENCH_REGISTER_ACTION ?? 'MirrorflowRegisterNetworkInterface'

type Params = Record<string, string>

/** Runs `items` through `fn` with `concurrency` in flight; returns the results in order and the wall time. */
async function pool<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<{ out: R[]; seconds: number }> {
  const out: R[] = new Array(items.length)
  let next = 0
  const t0 = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i], i)
      }
    }),
  )
  return { out, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }
}

function text(root: ReturnType<typeof parseXml>, ...path: string[]): string {
  let el: ReturnType<typeof parseXml> | undefined = root
  for (const p of path) el = el && child(el, p)
  if (!el) throw new Error(`no ${path.join('/')} in response`)
  return el.text
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

/**
 * The flood: a worker thread keeping `inflight` unsigned 1 MiB POSTs of 100,000 form parameters in
 * flight until told to stop; it reports how many were answered and with which status.
 */
const FLOOD_WORKER = `
const http = require('node:http')
const { parentPort, workerData } = require('node:worker_threads')
const u = new URL(workerData.url)
const parts = []
for (let i = 0; parts.length < 100000; i++) parts.push('P' + i + '=v')
let body = parts.join('&')
body = Buffer.from(body + '&Z=' + 'x'.repeat(Math.max(0, 1048576 - body.length - 3)))
const agent = new http.Agent({ keepAlive: true, maxSockets: workerData.inflight })
let stop = false
const statuses = {}
let answered = 0
function one() {
  if (stop) return Promise.resolve()
  return new Promise((resolve) => {
    const r = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/', agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } },
      (res) => { res.resume(); res.on('end', () => { answered++; statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1; resolve() }) })
    r.on('error', () => { statuses.error = (statuses.error || 0) + 1; resolve() })
    r.end(body)
  }).then(one)
}
const t0 = Date.now()
const all = Promise.all(Array.from({ length: workerData.inflight }, one))
parentPort.on('message', () => { stop = true; all.then(() => { agent.destroy(); parentPort.postMessage({ answered, statuses, seconds: (Date.now() - t0) / 1000, bodyBytes: body.length }) }) })
parentPort.postMessage('started')
`

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mf-bench-api-'))
  const server = await spawnServer(dataDir, ['--region', REGION])
  const creds: Credentials = readCredentials(dataDir)
  const client = httpClient(server.url, CONCURRENCY)
  const sign = (p: Params): Promise<RawRequest> =>
    signRequest(server.url, { Version: '2016-11-15', ...p }, { credentials: creds, region: REGION })
  const sendRaw = async (req: RawRequest): Promise<string> => {
    const res = await client.request(req)
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 400)}`)
    return res.body
  }
  const send = async (req: RawRequest): Promise<ReturnType<typeof parseXml>> => parseXml(await sendRaw(req))
  /** Signs every request first, then sends them with CONCURRENCY in flight; reports creates/s. */
  const createTotals = { ops: 0, seconds: 0 }
  const phase = async <R>(
    name: string,
    params: Params[],
    pick: (root: ReturnType<typeof parseXml>) => R,
    mirroring = true,
    json?: (body: string) => R,
  ): Promise<R[]> => {
    const reqs = await Promise.all(params.map(sign))
    const { out, seconds } = await pool(reqs, CONCURRENCY, async (r) =>
      json ? json(await sendRaw(r)) : pick(await send(r)),
    )
    if (mirroring) {
      createTotals.ops += params.length
      createTotals.seconds += seconds
    }
    emit({
      case: `api/${name}/${params.length}`,
      ops: params.length,
      concurrency: CONCURRENCY,
      seconds: +seconds.toFixed(3),
      opsPerSec: Math.round(params.length / seconds),
      nsPerOp: Math.round((seconds * 1e9) / params.length),
    })
    return out
  }

  try {
    const sources = Math.ceil(SESSIONS / 3)
    const targetsNeeded = Math.ceil(sources / 10)
    const vpc = text(
      await send(await sign({ Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' })),
      'vpc',
      'vpcId',
    )
    const subnet = text(
      await send(await sign({ Action: 'CreateSubnet', VpcId: vpc, CidrBlock: '10.0.0.0/17' })),
      'subnet',
      'subnetId',
    )
    const ip = (i: number): string => `10.0.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}`
    const enis = await phase(
      `${REGISTER_ACTION}`,
      Array.from({ length: sources + targetsNeeded }, (_, i) => ({
        Action: REGISTER_ACTION,
        SubnetId: subnet,
        PrivateIpAddress: ip(i),
      })),
      (root) => text(root, 'networkInterface', 'networkInterfaceId'),
      false,
      // The admin API answers JSON (the shape `mirrorflow admin register-interface` prints).
      (body) =>
        (JSON.parse(body) as { NetworkInterface: { NetworkInterfaceId: string } }).NetworkInterface
          .NetworkInterfaceId,
    )
    const srcEnis = enis.slice(0, sources)
    const tgtEnis = enis.slice(sources)
    const targets = await phase(
      'CreateTrafficMirrorTarget',
      tgtEnis.map((e) => ({ Action: 'CreateTrafficMirrorTarget', NetworkInterfaceId: e })),
      (root) => text(root, 'trafficMirrorTarget', 'trafficMirrorTargetId'),
    )
    const filters = await phase(
      'CreateTrafficMirrorFilter',
      Array.from({ length: SESSIONS }, (_, i) => ({
        Action: 'CreateTrafficMirrorFilter',
        Description: `bench-${i}`,
        'TagSpecification.1.ResourceType': 'traffic-mirror-filter',
        'TagSpecification.1.Tag.1.Key': 'Name',
        'TagSpecification.1.Tag.1.Value': `f${i}`,
      })),
      (root) => text(root, 'trafficMirrorFilter', 'trafficMirrorFilterId'),
    )
    await phase(
      'CreateTrafficMirrorFilterRule',
      filters.map((f, i) => ({
        Action: 'CreateTrafficMirrorFilterRule',
        TrafficMirrorFilterId: f,
        TrafficDirection: i % 2 === 0 ? 'ingress' : 'egress',
        RuleNumber: '100',
        RuleAction: 'accept',
        Protocol: '6',
        'DestinationPortRange.FromPort': '443',
        'DestinationPortRange.ToPort': '443',
        SourceCidrBlock: '0.0.0.0/0',
        DestinationCidrBlock: '10.0.0.0/16',
      })),
      (root) => text(root, 'trafficMirrorFilterRule', 'trafficMirrorFilterRuleId'),
    )
    await phase(
      'CreateTrafficMirrorSession',
      Array.from({ length: SESSIONS }, (_, i) => ({
        Action: 'CreateTrafficMirrorSession',
        NetworkInterfaceId: srcEnis[Math.floor(i / 3)],
        TrafficMirrorTargetId: targets[Math.floor(i / 30)],
        TrafficMirrorFilterId: filters[i],
        SessionNumber: String(1 + (i % 3)),
      })),
      (root) => text(root, 'trafficMirrorSession', 'trafficMirrorSessionId'),
    )

    // Describe with a filter, one at a time: by source interface (≤ 3 sessions), and by filter id (1).
    const latency = async (name: string, params: Params[]): Promise<{ p50: number; p99: number }> => {
      const reqs = await Promise.all(params.map(sign))
      for (let i = 0; i < Math.min(100, reqs.length); i++) await send(reqs[i]) // warm-up
      const ms: number[] = []
      for (const r of reqs) {
        const t0 = process.hrtime.bigint()
        const root = await send(r)
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6)
        // A wrong answer fast is no answer: each filter matches at least one seeded session.
        if ((child(root, 'trafficMirrorSessionSet')?.children.length ?? 0) < 1)
          throw new Error(`no session matched ${name}`)
      }
      ms.sort((a, b) => a - b)
      const res = { p50: +quantile(ms, 0.5).toFixed(3), p99: +quantile(ms, 0.99).toFixed(3) }
      emit({
        case: `api/DescribeTrafficMirrorSessions/${name}/${SESSIONS}`,
        ops: ms.length,
        p50Ms: res.p50,
        p99Ms: res.p99,
        maxMs: +ms[ms.length - 1].toFixed(3),
      })
      return res
    }
    const byEni = await latency(
      'network-interface-id',
      Array.from({ length: DESCRIBES }, (_, i) => ({
        Action: 'DescribeTrafficMirrorSessions',
        'Filter.1.Name': 'network-interface-id',
        'Filter.1.Value.1': srcEnis[(i * 7919) % srcEnis.length],
      })),
    )
    await latency(
      'traffic-mirror-filter-id',
      Array.from({ length: DESCRIBES }, (_, i) => ({
        Action: 'DescribeTrafficMirrorSessions',
        'Filter.1.Name': 'traffic-mirror-filter-id',
        'Filter.1.Value.1': filters[(i * 104729) % filters.length],
      })),
    )
    // The same Describe while unsigned 1 MiB bodies flood the server.
    let flooded: { p50: number; p99: number } | undefined
    if (FLOOD_INFLIGHT > 0) {
      const w = new Worker(FLOOD_WORKER, {
        eval: true,
        workerData: { url: server.url, inflight: FLOOD_INFLIGHT },
      })
      await new Promise((resolve) => w.once('message', resolve))
      await new Promise((resolve) => setTimeout(resolve, 500))
      try {
        flooded = await latency(
          `network-interface-id/under-flood-${FLOOD_INFLIGHT}x1MiB`,
          Array.from({ length: FLOOD_DESCRIBES }, (_, i) => ({
            Action: 'DescribeTrafficMirrorSessions',
            'Filter.1.Name': 'network-interface-id',
            'Filter.1.Value.1': srcEnis[(i * 7919) % srcEnis.length],
          })),
        )
      } finally {
        w.postMessage('stop')
        const r = (await new Promise((resolve) => w.once('message', resolve))) as Record<string, unknown>
        await w.terminate()
        emit({ case: 'api/flood/unsigned-1MiB', inflight: FLOOD_INFLIGHT, ...r })
      }
    }
    // Creates on the full store: one more rule on each of the first 2,000 filters.
    await phase(
      'CreateTrafficMirrorFilterRule/on-full-store',
      filters.slice(0, 2_000).map((f) => ({
        Action: 'CreateTrafficMirrorFilterRule',
        TrafficMirrorFilterId: f,
        TrafficDirection: 'ingress',
        RuleNumber: '200',
        RuleAction: 'reject',
        SourceCidrBlock: '0.0.0.0/0',
        DestinationCidrBlock: '0.0.0.0/0',
      })),
      (root) => text(root, 'trafficMirrorFilterRule', 'trafficMirrorFilterRuleId'),
    )
    const createsPerSec = Math.round(createTotals.ops / createTotals.seconds)
    emit({
      case: 'api/summary',
      sessions: SESSIONS,
      describeP50Ms: byEni.p50,
      describeP99Ms: byEni.p99,
      ...(flooded ? { floodedDescribeP50Ms: flooded.p50, floodedDescribeP99Ms: flooded.p99 } : {}),
      mirroringCreates: createTotals.ops,
      createsPerSec,
      targets: { describeP99Ms: 10, createsPerSec: 2000 },
      met: byEni.p99 < 10 && createsPerSec >= 2000,
    })
  } finally {
    client.close()
    server.proc.kill('SIGTERM')
    await server.exited
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
