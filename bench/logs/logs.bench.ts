// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs benchmarks against the real server over HTTP (SigV4, JSON 1.1), in one run:
 *
 * 1. PutLogEvents: 1,000,000 flow-log events in batches of 10,000 (one stream per 100k events) —
 *    events/s (target ≥ 50,000);
 * 2. FilterLogEvents over those 1M events with a space-delimited pattern (`destport="22"`,
 *    `action="REJECT"`), following nextToken to the end — seconds (target < 2);
 * 3. Logs Insights `stats count(*), sum(bytes) by bin(5m)` over the 1M events, StartQuery to
 *    Complete — seconds (target < 3).
 *
 * `npm run bench:logs` (EVENTS=N to change the count). Prints one JSON line per measure, each with
 * its wall figure, `cpuSeconds` (this process: client and server both run in it) and the load.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { signRequest, startServer } from '../../src/api/index.ts'

const EVENTS = Number(process.env.EVENTS ?? 1_000_000)
// As many events as fit AWS's 1,048,576-byte batch (~136 bytes each as AWS counts them).
const BATCH = 7_500
const dir = mkdtempSync(join(tmpdir(), 'mf-bench-logs-'))
const srv = await startServer({
  dataDir: dir,
  port: 0,
  logsQuotas: { storedEvents: EVENTS * 2 },
})
const url = new URL(srv.url)

async function call(action: string, input: object): Promise<Record<string, unknown>> {
  const body = JSON.stringify(input)
  const headers = signRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${action}` },
    body,
    accessKeyId: srv.credentials.accessKeyId,
    secretAccessKey: srv.credentials.secretAccessKey,
    region: 'us-east-1',
    service: 'logs',
  })
  delete headers.host
  const res = await fetch(url, { method: 'POST', headers, body })
  const text = await res.text()
  if (!res.ok) throw new Error(`${action}: ${res.status} ${text.slice(0, 300)}`)
  return JSON.parse(text) as Record<string, unknown>
}

let cpu0 = process.cpuUsage()

/**
 * One result line. `cpuSeconds` is this process's CPU time (client and server both run in it)
 * since the previous line: on a loaded machine the wall time says more about the neighbours.
 */
function report(name: string, value: number, unit: string, extra: object = {}): void {
  const c = process.cpuUsage(cpu0)
  cpu0 = process.cpuUsage()
  const cpuSeconds = Math.round((c.user + c.system) / 1e4) / 100
  const line = {
    bench: name,
    value: Math.round(value * 1000) / 1000,
    unit,
    ...extra,
    cpuSeconds,
    loadavg1: loadavg()[0],
  }
  process.stdout.write(JSON.stringify(line) + '\n')
}

try {
  await call('CreateLogGroup', { logGroupName: '/bench/flow' })
  const now = Date.now()
  const t0 = now - 10 * 3600 * 1000
  const step = (10 * 3600 * 1000) / EVENTS
  const srcs = ['10.0.1.10', '10.0.1.11', '203.0.113.5', '198.51.100.7']
  // The batches, made before the clock starts.
  const batches: { stream: string; events: { timestamp: number; message: string }[] }[] = []
  let expectedMatches = 0
  for (let b = 0; b * BATCH < EVENTS; b++) {
    const events = []
    for (let k = 0; k < BATCH && b * BATCH + k < EVENTS; k++) {
      const i = b * BATCH + k
      const ts = Math.floor(t0 + i * step)
      const dport = i % 200 === 0 ? 22 : 443
      const action = i % 3 === 0 ? 'REJECT' : 'ACCEPT'
      if (dport === 22 && action === 'REJECT') expectedMatches++
      const s = Math.floor(ts / 1000)
      events.push({
        timestamp: ts,
        message: `2 123456789012 eni-0bench${String(Math.floor(i / 100_000)).padStart(12, '0')} ${srcs[i % 4]} 10.0.2.${i % 250} ${1024 + (i % 60000)} ${dport} 6 ${1 + (i % 40)} ${40 + (i % 9000)} ${s} ${s + 60} ${action} OK`,
      })
    }
    batches.push({
      stream: `eni-0bench${String(Math.floor((b * BATCH) / 100_000)).padStart(12, '0')}`,
      events,
    })
  }
  for (const s of new Set(batches.map((b) => b.stream)))
    await call('CreateLogStream', { logGroupName: '/bench/flow', logStreamName: s })

  cpu0 = process.cpuUsage()
  let t = process.hrtime.bigint()
  for (const b of batches)
    await call('PutLogEvents', { logGroupName: '/bench/flow', logStreamName: b.stream, logEvents: b.events })
  let secs = Number(process.hrtime.bigint() - t) / 1e9
  report('PutLogEvents', EVENTS / secs, 'events/s', { events: EVENTS, batch: BATCH, seconds: secs })

  const pattern =
    '[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
  t = process.hrtime.bigint()
  let matches = 0
  let pages = 0
  let nextToken: string | undefined
  do {
    const r = await call('FilterLogEvents', {
      logGroupName: '/bench/flow',
      filterPattern: pattern,
      ...(nextToken ? { nextToken } : {}),
    })
    matches += (r.events as unknown[]).length
    pages++
    nextToken = r.nextToken as string | undefined
  } while (nextToken !== undefined)
  secs = Number(process.hrtime.bigint() - t) / 1e9
  if (matches !== expectedMatches)
    throw new Error(`FilterLogEvents found ${matches}, expected ${expectedMatches}`)
  report('FilterLogEvents space-delimited over all events', secs, 's', { events: EVENTS, matches, pages })

  t = process.hrtime.bigint()
  const { queryId } = await call('StartQuery', {
    logGroupName: '/bench/flow',
    startTime: Math.floor(t0 / 1000) - 60,
    endTime: Math.floor(now / 1000) + 60,
    queryString: 'stats count(*) as n, sum(bytes) as b by bin(5m)',
  })
  let r: Record<string, unknown>
  for (;;) {
    r = await call('GetQueryResults', { queryId })
    if (r.status === 'Complete' || r.status === 'Failed') break
    // Every 50 ms: the polls' own CPU stays out of the query's figure (it runs in this process).
    await new Promise((res) => setTimeout(res, 50))
  }
  secs = Number(process.hrtime.bigint() - t) / 1e9
  const total = (r.results as { field: string; value: string }[][]).reduce(
    (a, row) => a + Number(row.find((f) => f.field === 'n')!.value),
    0,
  )
  if (r.status !== 'Complete' || total !== EVENTS)
    throw new Error(`query ${String(r.status)}: counted ${total} of ${EVENTS}`)
  report('Insights stats by bin(5m)', secs, 's', { events: EVENTS, bins: (r.results as unknown[]).length })
} finally {
  await srv.close()
  rmSync(dir, { recursive: true, force: true })
}
