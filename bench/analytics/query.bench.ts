// SPDX-License-Identifier: Apache-2.0
/**
 * Benchmark of `mirrorflow query` (src/analytics):
 *
 *   npm run bench:query -- [--records N] [--text-records N] [--text-objects K] [--dir DIR] [--threads N]
 *                          [--only query|ingest]
 *
 * 1. query: N flow records (default 10,000,000) in Parquet (10 objects in the Hive S3 layout), the
 *    VPC console's top-talkers GROUP BY (`VpcFlowLogsTopTalkers`) and the top pairs
 *    (`VpcFlowLogsTotalBytesTransferred`), timed in process (session open + query) and through the
 *    command line (`node bin/mirrorflow.mjs query --flow-logs DIR --saved VpcFlowLogsTopTalkers`).
 * 2. ingest: text `.log.gz` objects in AWS's default format (default 5,000,000 records in 10 objects,
 *    as a flow log writes many objects): a scan that parses every field (sums of the numbers, lengths
 *    of the strings) — the ingest goal's figure —, and the conversion of every record to Parquet
 *    (`COPY … TO`), in records per second of wall time and of CPU time. A gzip stream is decompressed
 *    by one thread, so DuckDB spreads the objects over its threads: `busyThreads` and
 *    `cpuByThreadMs` (Linux) show how the work was shared, `loadAverage` how busy the machine was.
 *
 * The data is synthetic (fixed seed: 100,000 sources, 20,000 destinations, 1,000 ports, TCP/UDP,
 * 10 % REJECT), written once by DuckDB under DIR (default /tmp/mf-query-bench) and reused.
 * Prints one JSON line per case.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { openAnalytics, savedQuery } from '../../src/analytics/index.ts'

const ROOT = resolve(new URL('../..', import.meta.url).pathname)

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def
}
const records = Number(arg('records', '10000000'))
const textRecords = Number(arg('text-records', '5000000'))
const textObjects = Number(arg('text-objects', '10'))
const only = arg('only', '')
const dir = arg('dir', '/tmp/mf-query-bench')
const threads = process.argv.includes('--threads') ? Number(arg('threads', '2')) : undefined
const commit =
  spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || null

/** The synthetic records of object `k` of `per` records, as a SELECT over range(). */
function recordsSql(k: number, per: number): string {
  return `SELECT 2 AS "version", '123456789012' AS "account-id",
      'eni-' || lpad(CAST(i % 50 AS VARCHAR), 17, '0') AS "interface-id",
      '10.' || CAST((hash(i, 1) % 100000) // 256 % 256 AS VARCHAR) || '.' || CAST(hash(i, 1) % 100000 % 256 AS VARCHAR) || '.7' AS srcaddr,
      '172.31.' || CAST((hash(i, 2) % 20000) // 256 AS VARCHAR) || '.' || CAST(hash(i, 2) % 20000 % 256 AS VARCHAR) AS dstaddr,
      CAST(1024 + hash(i, 3) % 60000 AS INTEGER) AS srcport,
      CAST(hash(i, 4) % 1000 AS INTEGER) AS dstport,
      CASE WHEN i % 5 = 0 THEN 17 ELSE 6 END AS protocol,
      CAST(1 + hash(i, 5) % 100 AS BIGINT) AS packets,
      CAST(40 + hash(i, 6) % 150000 AS BIGINT) AS bytes,
      CAST(1700000000 + ${k} * 300 + i % 300 AS BIGINT) AS "start",
      CAST(1700000000 + ${k} * 300 + i % 300 + 60 AS BIGINT) AS "end",
      CASE WHEN i % 10 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS "action",
      'OK' AS "log-status"
    FROM range(${k * per}, ${(k + 1) * per}) t(i)`
}

async function generate(): Promise<{ pq: string; txt: string }> {
  const pq = join(dir, `parquet-${records}`)
  const txt = join(dir, `text-${textRecords}-${textObjects}`)
  const inst = await DuckDBInstance.create(':memory:')
  const conn = await inst.connect()
  if (!existsSync(pq) && only !== 'ingest') {
    process.stderr.write(`writing ${records} records as Parquet under ${pq} …\n`)
    const per = Math.ceil(records / 10)
    for (let k = 0; k < 10; k++) {
      const d = join(
        pq,
        `AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2023/month=11/day=14`,
      )
      mkdirSync(d, { recursive: true })
      const cols = `* RENAME ("account-id" AS account_id, "interface-id" AS interface_id, "log-status" AS log_status)`
      await conn.run(
        `COPY (SELECT ${cols} FROM (${recordsSql(k, per)})) TO '${join(d, `123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20231114T22${String(k).padStart(2, '0')}Z_0000000${k}.log.parquet`)}' (FORMAT PARQUET, COMPRESSION SNAPPY)`,
      )
    }
  }
  if (!existsSync(txt) && only !== 'query') {
    process.stderr.write(`writing ${textRecords} records as .log.gz under ${txt} …\n`)
    const per = Math.ceil(textRecords / textObjects)
    const d = join(txt, 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2023/11/14')
    mkdirSync(d, { recursive: true })
    for (let k = 0; k < textObjects; k++) {
      const stamp = `20231114T${String(22 + Math.floor(k / 12)).padStart(2, '0')}${String((k % 12) * 5).padStart(2, '0')}Z`
      await conn.run(
        `COPY (${recordsSql(k, per)}) TO '${join(d, `123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_${stamp}_${String(k).padStart(8, '0')}.log.gz`)}' (FORMAT CSV, DELIMITER ' ', HEADER true, QUOTE '', COMPRESSION gzip)`,
      )
    }
  }
  conn.closeSync()
  inst.closeSync()
  return { pq, txt }
}

const ms = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6

const { pq, txt } = await generate()

/** CPU time (ms) of each thread of this process so far, by thread id (Linux; empty elsewhere). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>()
  try {
    const hz = 100
    for (const t of readdirSync('/proc/self/task')) {
      const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8')
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
      out.set(t, ((Number(f[11]) + Number(f[12])) * 1000) / hz)
    }
  } catch {
    // not Linux: no per-thread figures
  }
  return out
}

// 1. Query over Parquet.
for (const name of only === 'ingest' ? [] : ['VpcFlowLogsTopTalkers', 'VpcFlowLogsTotalBytesTransferred']) {
  const t0 = process.hrtime.bigint()
  const s = await openAnalytics({ inputs: { vpc_flow_logs: [pq] }, threads })
  const open = ms(t0)
  // Three runs: the median is reported (the machine is shared).
  const times: number[] = []
  let r = await s.query('SELECT 1')
  for (let k = 0; k < 3; k++) {
    const t1 = process.hrtime.bigint()
    r = await s.query(savedQuery(name).sql)
    times.push(ms(t1))
  }
  const query = times.sort((a, b) => a - b)[1]!
  const n = Number((await s.query('SELECT count(*) FROM vpc_flow_logs')).rows[0]![0])
  s.close()
  console.log(
    JSON.stringify({
      case: `query/parquet/${name}`,
      records: n,
      openMs: Math.round(open),
      queryMs: Math.round(query),
      totalMs: Math.round(open + query),
      rows: r.rows.length,
      commit,
    }),
  )
}
if (only !== 'ingest') {
  // The compiled build when there is one (npm run build), as installed users run it.
  const dist = join(ROOT, 'dist', 'mirrorflow.mjs')
  const fresh =
    existsSync(dist) && statSync(dist).mtimeMs > statSync(join(ROOT, 'src', 'cli', 'query.ts')).mtimeMs
  const cli = fresh ? dist : join(ROOT, 'bin', 'mirrorflow.mjs')
  const t0 = process.hrtime.bigint()
  const r = spawnSync(
    process.execPath,
    [cli, 'query', '--flow-logs', pq, '--saved', 'VpcFlowLogsTopTalkers', '--format', 'csv'],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  )
  if (r.status !== 0) throw new Error(`CLI failed: ${r.stderr}`)
  console.log(
    JSON.stringify({ case: 'query/parquet/cli-top-talkers', records, wallMs: Math.round(ms(t0)), commit }),
  )
}

// 2. Ingest of text .log.gz: every field parsed (numbers cast, strings measured), then conversion of
// every record to Parquet. Wall time and the process's CPU time (DuckDB's threads included) are both
// reported: on a shared machine the CPU rate says more.
if (only !== 'query') {
  const s = await openAnalytics({ inputs: { vpc_flow_logs: [txt] }, threads })
  const nums = ['version', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', '"end"']
  const strs = ['account_id', 'interface_id', 'srcaddr', 'dstaddr', 'action', 'log_status']
  const scanSql = `SELECT count(*), ${[...nums.map((n) => `sum(${n})`), ...strs.map((c) => `sum(length(${c}))`)].join(', ')} FROM vpc_flow_logs`
  interface Timed {
    wall: number
    cpu: number
    first: unknown
    byThread: number[]
    load: number
  }
  const timed = async (sql: string): Promise<Timed> => {
    const th0 = threadCpu()
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const r = await s.query(sql)
    const c = process.cpuUsage(c0)
    const wall = ms(t0)
    const byThread = [...threadCpu()]
      .map(([t, v]) => Math.round(v - (th0.get(t) ?? 0)))
      .filter((v) => v > 0)
      .sort((a, b) => b - a)
    return { wall, cpu: (c.user + c.system) / 1000, first: r.rows[0]?.[0], byThread, load: loadavg()[0]! }
  }
  const scan = await timed(scanSql)
  const n = Number(scan.first)
  const out = join(s.exportDir, 'all.parquet')
  const conv = await timed(
    `COPY (SELECT * FROM vpc_flow_logs) TO '${out}' (FORMAT PARQUET, COMPRESSION SNAPPY)`,
  )
  s.close()
  for (const [name, t] of [
    ['scan-all-fields', scan],
    ['to-parquet', conv],
  ] as const) {
    console.log(
      JSON.stringify({
        case: `ingest/text-gz/${name}`,
        records: n,
        ms: Math.round(t.wall),
        cpuMs: Math.round(t.cpu),
        recordsPerSec: Math.round(n / (t.wall / 1000)),
        recordsPerCpuSec: Math.round(n / (t.cpu / 1000)),
        objects: textObjects,
        // Threads that did at least a tenth of the work: 2 on a 2-core machine when the objects are shared.
        busyThreads: t.byThread.filter((v) => v >= t.cpu / 10).length,
        cpuByThreadMs: t.byThread.slice(0, 4),
        loadAverage: Number(t.load.toFixed(2)),
        commit,
      }),
    )
  }
}
if (process.argv.includes('--clean')) rmSync(dir, { recursive: true, force: true })
