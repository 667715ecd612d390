// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench:detect [-- RECORDS]`: the detection engine over RECORDS flow-log records (default
 * 10,000,000) written as text `.log.gz` objects (default format), read back and analysed by
 * `detectFlowLogs` — what `mirrorflow detect --flow-logs DIR` does. The traffic: 20,000 client
 * hosts talking to 500 servers (ordinary), plus a 1,000-port scan and an SSH guessing run, so that
 * every state table fills and evicts. Prints records/s and the peak RSS; the findings must be
 * exactly the scan's and the guessing's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { detectFlowLogs } from '../../src/analytics/index.ts'

const total = Number(process.argv[2] ?? 10_000_000)
const perFile = 500_000
const dir = mkdtempSync(join(tmpdir(), 'mf-detect-bench-'))
const header =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
let t = 1_700_000_000
let written = 0
const genStart = Date.now()
for (let f = 0; written < total; f++) {
  const n = Math.min(perFile, total - written)
  const lines: string[] = [header]
  for (let i = 0; i < n; i++) {
    const k = written + i
    if (k % 100_000 === 0) t += 60
    const c = k % 20_000
    const s = (k * 7) % 500
    const client = `10.${1 + (c >> 16)}.${(c >> 8) & 255}.${c & 255}`
    const server = `172.16.${s >> 8}.${s & 255}`
    if (k % 2 === 0)
      lines.push(
        `2 123456789012 eni-${c} ${client} ${server} ${30000 + (k % 30000)} 443 6 12 9000 ${t} ${t + 60} ACCEPT OK`,
      )
    else
      lines.push(
        `2 123456789012 eni-${c} ${server} ${client} 443 ${30000 + (k % 30000)} 6 10 20000 ${t} ${t + 60} ACCEPT OK`,
      )
  }
  if (f === 0) {
    for (let p = 1; p <= 1000; p++)
      lines.push(`2 123456789012 eni-a 10.200.0.66 10.200.0.10 61000 ${p} 6 1 44 ${t} ${t + 60} ACCEPT OK`)
    for (let i = 0; i < 50; i++)
      lines.push(
        `2 123456789012 eni-a 10.200.0.66 10.200.0.10 ${40000 + i} 22 6 25 4000 ${t} ${t + 60} ACCEPT OK`,
      )
  }
  writeFileSync(
    join(dir, `part-${String(f).padStart(4, '0')}.log.gz`),
    gzipSync(lines.join('\n') + '\n', { level: 1 }),
  )
  written += n
}
process.stderr.write(`generated ${written} records in ${((Date.now() - genStart) / 1000).toFixed(1)} s\n`)
let peak = 0
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100)
const start = process.hrtime.bigint()
const { engine, read } = await detectFlowLogs([dir])
const secs = Number(process.hrtime.bigint() - start) / 1e9
clearInterval(timer)
peak = Math.max(peak, process.memoryUsage().rss)
rmSync(dir, { recursive: true, force: true })
const types = engine
  .findings()
  .map((f) => `${f.Type}/${f.Service.ResourceRole}`)
  .sort()
console.log(
  JSON.stringify({
    records: read.records,
    seconds: Number(secs.toFixed(2)),
    recordsPerSecond: Math.round(read.records / secs),
    peakRssMiB: Math.round(peak / 2 ** 20),
    evicted: engine.stats.evicted,
    findings: types,
  }),
)
const want = [
  'Recon:EC2/InboundPortscan.Mirrorflow/TARGET',
  'Recon:EC2/Portscan/ACTOR',
  'UnauthorizedAccess:EC2/SSHBruteForce/ACTOR',
  'UnauthorizedAccess:EC2/SSHBruteForce/TARGET',
]
if (JSON.stringify(types) !== JSON.stringify(want)) {
  console.error(`unexpected findings: ${JSON.stringify(types)}`)
  process.exitCode = 1
}
