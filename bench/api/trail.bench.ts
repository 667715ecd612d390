// SPDX-License-Identifier: Apache-2.0
/**
 * bench/api: what writing the CloudTrail trail costs the create rate, both ways in ONE server.
 *
 * One server runs as a child process with `MIRRORFLOW_BENCH_AUDIT=toggle`: each SIGUSR2 switches
 * its recording off or on (the audit recorder returns at once when off: the server without a
 * trail). Two server processes differ by more than the cost measured (an A/A run of two servers
 * that both record nothing measured −11 % and +5 %), so the two sides are the same process, heap and
 * JIT, measured in turn (`BENCH_TRAIL_SERVERS=2` measures the two-process way instead, a server
 * per side). Each side is seeded with interfaces and targets of its own and warmed up
 * with 300 creates of each kind (neither measured); then, in BENCH_ROUNDS (default 8) rounds, each
 * side in turn (the order alternating) takes BENCH_PER_ROUND (default 550)
 * CreateTrafficMirrorFilter, as many CreateTrafficMirrorFilterRule and CreateTrafficMirrorSession
 * calls with BENCH_CONCURRENCY (default 32) in flight, signed before the clock starts.
 *
 * The server has a logging trail (with log file validation) delivering to a local bucket, so the
 * cost on the recording side is the whole of "writing the trail": recording, the event store, and
 * the gzip log files.
 *
 * Figures per side: creates/s (wall clock: what the issue's goal names; each phase's clock stops
 * once a LookupEvents has answered, which waits until the writer has stored the phase's calls, and
 * a second clock stops at the last create's answer: the steady cost lies between); the server process's CPU
 * time per 1,000 creates (user + system from /proc, read after a pause that lets the trail's
 * deferred batch finish, so the recording's whole cost is counted, the writer thread's included);
 * the API thread's alone (/proc/PID/task/PID); and this process's own CPU per 1,000 creates (the
 * client, which shares the cores). The summary prints the three costs in percent, from the sums
 * over all rounds, and the median of the rounds' rate costs; the goal (10 %) is on the rate.
 *
 * The server is the compiled command (`dist/mirrorflow.mjs`, built first from this checkout), as
 * users run it: from the sources, through tsx, both sides pay the loader's costs (its helpers and
 * source maps), the trail's writer thread too, and the figures are not the installed command's.
 *
 * Run: `npm run bench:trail`.
 * @module
 */
import { execSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  child,
  httpClient,
  parseXml,
  readCredentials,
  signRequest,
  spawnServer,
  type ChildServer,
  type RawRequest,
} from '../../test/helpers/api-server.ts'
import { REPO_ROOT } from '../../test/helpers/shared.ts'
import { emit } from '../emit.ts'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 550)
/** Creates of each kind per side before the rounds, not measured (the create paths' JIT warm-up). */
const WARMUP = 300
// Both sides' filters stay in the one server: the account's quota of 10,000 bounds them.
if (2 * (ROUNDS * PER_ROUND + WARMUP) > 10_000)
  throw new Error('2 × (BENCH_ROUNDS × BENCH_PER_ROUND + 300) must not pass 10,000')
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const REGION = 'us-east-1'
/** Pause after each phase before CPU time is read (the trail flushes every 250 ms). */
const SETTLE_MS = 600
const CLK_TCK = 100

type Params = Record<string, string>

/** CPU seconds (user + system) a process has used, or its main thread (the API's) alone. */
function cpuSeconds(pid: number, mainThread = false): number {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Side {
  name: 'trail' | 'no-trail'
  server: ChildServer
  dir: string
  sign: (p: Params) => Promise<RawRequest>
  send: (r: RawRequest) => Promise<string>
  close: () => void
  enis: string[]
  targets: string[]
  creates: number
  seconds: number
  /** The same, each phase's clock stopped at the last create's answer (the writer's last work left out). */
  secondsAnswered: number
  cpu: number
  mainCpu: number
  /** This process's CPU while it drove the side (the HTTP client: shares the 2 cores). */
  clientCpu: number
  /** Creates/s of each round. */
  roundRates: number[]
}

/** The one server, started so that SIGUSR2 switches its recording; it records at first. */
async function startServer(): Promise<{ server: ChildServer; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mf-bench-trail-'))
  const prev = process.env.MIRRORFLOW_BENCH_AUDIT
  process.env.MIRRORFLOW_BENCH_AUDIT = 'toggle'
  try {
    return { server: await spawnServer(dir, ['--region', REGION], 60_000, 'dist/mirrorflow.mjs'), dir }
  } finally {
    if (prev === undefined) delete process.env.MIRRORFLOW_BENCH_AUDIT
    else process.env.MIRRORFLOW_BENCH_AUDIT = prev
  }
}

/** Which side each server records as now (it starts recording). */
const recording = new Map<ChildServer, Side['name']>()

/** Switches the side's server's recording to the side's (a signal, then a pause for it to be taken). */
async function become(s: Side): Promise<void> {
  if ((recording.get(s.server) ?? 'trail') === s.name) return
  s.server.proc.kill('SIGUSR2')
  recording.set(s.server, s.name)
  await sleep(200)
}

function side(name: Side['name'], server: ChildServer, dir: string): Side {
  const credentials = readCredentials(dir)
  const client = httpClient(server.url, CONCURRENCY)
  return {
    name,
    server,
    dir,
    sign: (p) => signRequest(server.url, { Version: '2016-11-15', ...p }, { credentials, region: REGION }),
    send: async (r) => {
      const res = await client.request(r)
      if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status}: ${res.body.slice(0, 400)}`)
      return res.body
    },
    close: () => client.close(),
    enis: [],
    targets: [],
    creates: 0,
    seconds: 0,
    secondsAnswered: 0,
    cpu: 0,
    mainCpu: 0,
    clientCpu: 0,
    roundRates: [],
  }
}

async function pool<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!)
      }
    }),
  )
  return out
}

function text(xml: string, ...path: string[]): string {
  let el: ReturnType<typeof parseXml> | undefined = parseXml(xml)
  for (const p of path) el = el && child(el, p)
  if (!el) throw new Error(`no ${path.join('/')} in ${xml.slice(0, 200)}`)
  return el.text
}

async function seed(s: Side): Promise<void> {
  const vpc = text(
    await s.send(await s.sign({ Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' })),
    'vpc',
    'vpcId',
  )
  const subnet = text(
    await s.send(await s.sign({ Action: 'CreateSubnet', VpcId: vpc, CidrBlock: '10.0.0.0/17' })),
    'subnet',
    'subnetId',
  )
  const sources = Math.ceil((ROUNDS * PER_ROUND + WARMUP) / 3)
  const targets = Math.ceil(sources / 10)
  const ip = (i: number): string => `10.0.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}`
  const reqs = await Promise.all(
    Array.from({ length: sources + targets }, (_, i) =>
      s.sign({ Action: 'MirrorflowRegisterNetworkInterface', SubnetId: subnet, PrivateIpAddress: ip(i) }),
    ),
  )
  const enis = await pool(
    reqs,
    async (r) =>
      (JSON.parse(await s.send(r)) as { NetworkInterface: { NetworkInterfaceId: string } }).NetworkInterface
        .NetworkInterfaceId,
  )
  s.enis = enis.slice(0, sources)
  const treqs = await Promise.all(
    enis.slice(sources).map((e) => s.sign({ Action: 'CreateTrafficMirrorTarget', NetworkInterfaceId: e })),
  )
  s.targets = await pool(treqs, async (r) =>
    text(await s.send(r), 'trafficMirrorTarget', 'trafficMirrorTargetId'),
  )
}

/**
 * One measured phase: the calls signed first, then sent; its clock stops once a LookupEvents has
 * answered, which first waits until the trail's writer has stored every call taken (so the wall
 * time holds the writing of the phase's events, not only their recording); CPU is read after the
 * trail settled.
 */
async function phase(s: Side, params: Params[], pick: (xml: string) => string): Promise<string[]> {
  const reqs = await Promise.all(params.map((p) => s.sign(p)))
  const lookup = await signRequest(s.server.url, JSON.stringify({ MaxResults: 1 }), {
    credentials: readCredentials(s.dir),
    region: REGION,
    service: 'cloudtrail',
    extraHeaders: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
    },
  })
  await become(s)
  const cpu0 = cpuSeconds(s.server.proc.pid!)
  const main0 = cpuSeconds(s.server.proc.pid!, true)
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const out = await pool(reqs, async (r) => pick(await s.send(r)))
  s.secondsAnswered += Number(process.hrtime.bigint() - t0) / 1e9
  await s.send(lookup)
  s.seconds += Number(process.hrtime.bigint() - t0) / 1e9
  const c1 = process.cpuUsage(c0)
  s.clientCpu += (c1.user + c1.system) / 1e6
  await sleep(SETTLE_MS)
  s.cpu += cpuSeconds(s.server.proc.pid!) - cpu0
  s.mainCpu += cpuSeconds(s.server.proc.pid!, true) - main0
  s.creates += params.length
  return out
}

async function round(s: Side, r: number): Promise<void> {
  const [creates0, seconds0] = [s.creates, s.seconds]
  await phases(s, r * PER_ROUND, PER_ROUND)
  s.roundRates.push((s.creates - creates0) / (s.seconds - seconds0))
}

/** The three creates, `count` of each, numbered from `base`. */
async function phases(s: Side, base: number, count: number): Promise<void> {
  const filters = await phase(
    s,
    Array.from({ length: count }, (_, i) => ({
      Action: 'CreateTrafficMirrorFilter',
      Description: `bench-${base + i}`,
      'TagSpecification.1.ResourceType': 'traffic-mirror-filter',
      'TagSpecification.1.Tag.1.Key': 'Name',
      'TagSpecification.1.Tag.1.Value': `f${base + i}`,
    })),
    (x) => text(x, 'trafficMirrorFilter', 'trafficMirrorFilterId'),
  )
  await phase(
    s,
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
    (x) => text(x, 'trafficMirrorFilterRule', 'trafficMirrorFilterRuleId'),
  )
  await phase(
    s,
    filters.map((f, i) => ({
      Action: 'CreateTrafficMirrorSession',
      NetworkInterfaceId: s.enis[Math.floor((base + i) / 3)]!,
      TrafficMirrorTargetId: s.targets[Math.floor((base + i) / 30)]!,
      TrafficMirrorFilterId: f,
      SessionNumber: String(1 + ((base + i) % 3)),
    })),
    (x) => text(x, 'trafficMirrorSession', 'trafficMirrorSessionId'),
  )
}

/** The trail side also delivers: a logging trail writing to a local bucket (what "writing the trail" is). */
async function createTrail(s: Side, credentials: ReturnType<typeof readCredentials>): Promise<void> {
  mkdirSync(join(s.dir, 's3', 'bench-trail'), { recursive: true })
  for (const [action, body] of [
    ['CreateTrail', { Name: 'bench', S3BucketName: 'bench-trail', EnableLogFileValidation: true }],
    ['StartLogging', { Name: 'bench' }],
  ] as const) {
    const r = await signRequest(s.server.url, JSON.stringify(body), {
      credentials,
      region: REGION,
      service: 'cloudtrail',
      extraHeaders: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${action}`,
      },
    })
    await s.send(r)
  }
}

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b)
  return v.length % 2 === 1 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2
}

async function main(): Promise<void> {
  // The server as users run it: the compiled command, built from the sources of this checkout.
  execSync('npm run -s build', { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  const one = await startServer()
  // BENCH_TRAIL_SERVERS=2: a server per side instead (the no-trail one switched off at once).
  const two = process.env.BENCH_TRAIL_SERVERS === '2' ? await startServer() : one
  const sides = [side('trail', one.server, one.dir), side('no-trail', two.server, two.dir)]
  const { dir } = one
  try {
    if (two !== one) await become(sides[1]!)
    if (process.env.BENCH_TRAIL_DELIVERY !== '0') await createTrail(sides[0]!, readCredentials(dir))
    for (const s of sides) {
      await become(s)
      await seed(s)
    }
    // A warm-up of each side, then its counters start from zero.
    for (const s of sides) {
      await phases(s, ROUNDS * PER_ROUND, WARMUP)
      Object.assign(s, { creates: 0, seconds: 0, secondsAnswered: 0, cpu: 0, mainCpu: 0, clientCpu: 0 })
    }
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse()
      for (const s of order) await round(s, r)
    }
    await sleep(SETTLE_MS)
    for (const s of sides) {
      emit({
        case: `trail/${s.name}`,
        creates: s.creates,
        seconds: +s.seconds.toFixed(3),
        createsPerSec: Math.round(s.creates / s.seconds),
        roundCreatesPerSec: s.roundRates.map(Math.round),
        serverCpuSeconds: +s.cpu.toFixed(2),
        cpuMsPer1000Creates: Math.round((s.cpu * 1e6) / s.creates),
        apiThreadCpuMsPer1000Creates: Math.round((s.mainCpu * 1e6) / s.creates),
        otherThreadsCpuMsPer1000Creates: Math.round(((s.cpu - s.mainCpu) * 1e6) / s.creates),
        clientCpuMsPer1000Creates: Math.round((s.clientCpu * 1e6) / s.creates),
      })
    }
    const [on, off] = sides as [Side, Side]
    const rateOn = on.creates / on.seconds
    const rateOff = off.creates / off.seconds
    const rateCost = (1 - rateOn / rateOff) * 100
    const rateCostAnswered = (1 - on.creates / on.secondsAnswered / (off.creates / off.secondsAnswered)) * 100
    const roundCosts = on.roundRates.map((r, i) => (1 - r / off.roundRates[i]!) * 100)
    const cpuCost = (on.cpu / on.creates / (off.cpu / off.creates) - 1) * 100
    const apiThreadCost = (on.mainCpu / on.creates / (off.mainCpu / off.creates) - 1) * 100
    emit({
      case: 'trail/summary',
      createsPerSecWithTrail: Math.round(rateOn),
      createsPerSecWithoutTrail: Math.round(rateOff),
      rateCostPercent: +rateCost.toFixed(1),
      // The two clocks bound the cost under steady load: there, the writer's last work of a phase
      // would run beside the next calls (not after them, as here), but on the same cores.
      rateCostPercentClockAtLastAnswer: +rateCostAnswered.toFixed(1),
      roundRateCostPercent: roundCosts.map((c) => +c.toFixed(1)),
      medianRoundRateCostPercent: +median(roundCosts).toFixed(1),
      cpuCostPercent: +cpuCost.toFixed(1),
      apiThreadCpuCostPercent: +apiThreadCost.toFixed(1),
      target: { maxRateCostPercent: 10 },
      servers: two === one ? 1 : 2,
      met: rateCost < 10,
    })
  } finally {
    for (const s of sides) s.close()
    for (const x of new Set([one, two])) {
      x.server.proc.kill('SIGTERM')
      await x.server.exited
    }
    // What the trail delivered (at 10,000 records and at shutdown): proof it was writing.
    const bucket = join(dir, 's3', 'bench-trail')
    const files = existsSync(bucket) ? readdirSync(bucket, { recursive: true }).map(String) : []
    emit({
      case: 'trail/delivered',
      logFiles: files.filter((f) => f.includes('/CloudTrail/') && f.endsWith('.json.gz')).length,
      digestFiles: files.filter((f) => f.includes('/CloudTrail-Digest/')).length,
    })
    for (const x of new Set([one, two])) rmSync(x.dir, { recursive: true, force: true })
  }
}

await main()
