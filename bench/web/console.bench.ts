// SPDX-License-Identifier: Apache-2.0
/**
 * bench/web: the console over a large flow-log store.
 *
 * Writes BENCH_RECORDS (default 10,000,000) VPC flow-log records as Parquet objects in a local
 * bucket (the S3 layout agents deliver to; 10 objects, 400 addresses, 64 ports, 5 % REJECT, one day
 * of start times), starts the server in process with that store, lets the store's roll-up catch up
 * with the objects (as it does while they arrive; its time and CPU are reported as `rollup-catch-up`),
 * signs in to the console, then measures with Debian's Chromium (headless, through playwright-core):
 *
 * - `overview-first-render` — from navigating to `#/overview?range=86400` until the three charts and
 *   the agents table are in the page (every server call of the page included: traffic series, top-N,
 *   status, the resource picker). The first render after the server starts (`cold`, DuckDB opening
 *   the objects) and the next (`warm`) are reported.
 * - `flow-search` — `MirrorflowSearchFlows` through the console's signed pass-through: a filter
 *   (destination port, action), newest first, 50 records a page, with the total count.
 *
 * Output: one JSON line per case (with the server process's CPU seconds over the case: on a loaded
 * machine these say more than wall time), then a summary with the targets (render < 1.5 s, search
 * < 1 s).
 * Run: `npm run bench:web` (BENCH_RECORDS=1000000 for a quick run).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { chromium } from 'playwright-core'
import { startServer } from '../../src/api/index.ts'
import { flowLogStore } from '../../src/analytics/index.ts'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000_000)
const FILES = 10
const DAY = Date.UTC(2026, 11, 3) / 1000

const root = mkdtempSync(join(tmpdir(), 'mf-bench-web-'))
const store = join(root, 's3')
const objDir = join(
  store,
  'bench-bucket',
  'AWSLogs',
  '123456789012',
  'vpcflowlogs',
  'us-east-1',
  '2026',
  '12',
  '03',
)
mkdirSync(objDir, { recursive: true })

/** CPU seconds of this process (the server and DuckDB's threads) since `u`. */
function cpuSince(u: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(u)
  return Math.round((d.user + d.system) / 1e4) / 100
}

function line(o: object): void {
  process.stdout.write(JSON.stringify(o) + '\n')
}

try {
  let t = performance.now()
  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  const per = Math.ceil(RECORDS / FILES)
  for (let f = 0; f < FILES; f++) {
    const file = join(
      objDir,
      `123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261203T${String(f).padStart(2, '0')}00Z_${f}.log.parquet`,
    )
    await c.run(`COPY (
      SELECT 2::INTEGER AS version, '123456789012' AS account_id,
        'eni-' || lpad(printf('%x', (i % 40)::INTEGER), 17, '0') AS interface_id,
        '10.0.' || ((i * 7) % 20)::VARCHAR || '.' || ((i * 13) % 20 + 1)::VARCHAR AS srcaddr,
        '10.1.' || ((i * 11) % 20)::VARCHAR || '.' || ((i * 17) % 20 + 1)::VARCHAR AS dstaddr,
        (32768 + (i * 31) % 28000)::INTEGER AS srcport,
        ([22, 80, 443, 53, 5432, 3389, 8080, 25][(i % 8) + 1] + (i // 1000) % 8 * 1000)::INTEGER AS dstport,
        (CASE WHEN i % 10 = 0 THEN 17 ELSE 6 END)::INTEGER AS protocol,
        (1 + i % 50)::BIGINT AS packets, (64 + (i * 37) % 60000)::BIGINT AS bytes,
        (${DAY} + (i * 86399) // ${RECORDS})::BIGINT AS start, (${DAY} + (i * 86399) // ${RECORDS} + 60)::BIGINT AS "end",
        CASE WHEN i % 20 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS action, 'OK' AS log_status
      FROM range(${f * per}, ${Math.min(RECORDS, (f + 1) * per)}) r(i)
    ) TO '${file}' (FORMAT PARQUET, COMPRESSION SNAPPY)`)
  }
  c.closeSync()
  line({ case: 'generate', records: RECORDS, files: FILES, seconds: (performance.now() - t) / 1000 })

  const analytics = flowLogStore([store])
  t = performance.now()
  let cpu0 = process.cpuUsage()
  const rolled = await analytics.caughtUp()
  line({
    case: 'rollup-catch-up',
    ...rolled,
    seconds: (performance.now() - t) / 1000,
    cpuSeconds: cpuSince(cpu0),
  })
  const srv = await startServer({ dataDir: join(root, 'server'), port: 0, analytics })
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await ctx.newPage()
    // The bundle is made at the first request when the server runs from the sources: not measured.
    await page.goto(`${srv.url}/console/`)
    await page.getByLabel('Access key ID').fill(srv.credentials.accessKeyId)
    await page.getByLabel('Secret access key').fill(srv.credentials.secretAccessKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForSelector('h1:text("Overview")')
    await page.goto('about:blank')
    const end = new Date((DAY + 86400) * 1000).toISOString()
    const start = new Date(DAY * 1000).toISOString()
    const renders: number[] = []
    const renderCpu: number[] = []
    for (const kind of ['cold', 'warm', 'warm']) {
      t = performance.now()
      cpu0 = process.cpuUsage()
      await page.goto(`${srv.url}/console/#/overview?start=${start}&end=${end}`)
      await page.waitForFunction(
        () => {
          const d = (
            globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
          ).document
          return d.querySelectorAll('.sr-summary').length === 3 && d.querySelectorAll('caption').length >= 5
        },
        undefined,
        { timeout: 120_000 },
      )
      const ms = performance.now() - t
      renders.push(ms)
      const cpu = cpuSince(cpu0)
      renderCpu.push(cpu)
      const totals = await page.locator('.sr-summary').first().getAttribute('data-totals')
      line({
        case: 'overview-first-render',
        kind,
        records: RECORDS,
        ms: Math.round(ms),
        serverCpuSeconds: cpu,
        bytesChart: totals,
      })
      await page.goto('about:blank')
    }
    // Flow search through the console's pass-through (the page's own call).
    await page.goto(`${srv.url}/console/#/flows`)
    await page.waitForSelector('h1:text("Flows")')
    const searches: number[] = []
    const searchCpu: number[] = []
    for (const [port, action] of [
      [443, 'REJECT'],
      [22, 'ACCEPT'],
      [5432, 'REJECT'],
    ] as const) {
      cpu0 = process.cpuUsage()
      const r = await page.evaluate(
        async ({ start, end, port, action }) => {
          const s = (await (await fetch('/console/api/session')).json()) as { csrfToken: string }
          const body = new URLSearchParams({
            Action: 'MirrorflowSearchFlows',
            Version: '2016-11-15',
            StartTime: start,
            EndTime: end,
            DestinationPort: String(port),
            FlowAction: action,
            MaxResults: '50',
          })
          const t0 = performance.now()
          const res = await fetch('/console/api/aws', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-mirrorflow-csrf': s.csrfToken },
            body: JSON.stringify({ service: 'ec2', body: body.toString() }),
          })
          const j = (await res.json()) as { Total: number; Flows: unknown[] }
          return { ms: performance.now() - t0, total: j.Total, rows: j.Flows.length }
        },
        { start, end, port, action },
      )
      searches.push(r.ms)
      searchCpu.push(cpuSince(cpu0))
      line({
        serverCpuSeconds: searchCpu[searchCpu.length - 1],
        case: 'flow-search',
        records: RECORDS,
        dstport: port,
        action,
        ms: Math.round(r.ms),
        total: r.total,
        rows: r.rows,
      })
    }
    const warm = Math.max(...renders.slice(1))
    line({
      summary: 'console',
      records: RECORDS,
      overviewColdMs: Math.round(renders[0]!),
      overviewWarmMs: Math.round(warm),
      searchMaxMs: Math.round(Math.max(...searches)),
      overviewFirstRenderCpuSeconds: renderCpu[0],
      searchMaxCpuSeconds: Math.max(...searchCpu),
      targets: { overviewMs: 1500, searchMs: 1000 },
      pass: Math.max(...renders) < 1500 && Math.max(...searches) < 1000,
    })
  } finally {
    await browser.close()
    await srv.close()
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}
