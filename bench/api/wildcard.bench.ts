// SPDX-License-Identifier: Apache-2.0
/**
 * bench/api/wildcard: the cost of Describe filter wildcards at their worst, in-process (no HTTP):
 * one filter of 200 adversarial patterns (the most a call may carry) over BENCH_RESOURCES
 * (default 10,000) values of 255 characters that none of them matches, so every pattern runs to
 * the end on every value. Output: one JSON line (`{case, matches, seconds, nsPerMatch, msPerCall}`).
 * Run: `node --import tsx bench/api/wildcard.bench.ts`.
 */
import { compileFilters } from '../../src/api/protocols/ec2-query/describe.ts'
import type { Tag } from '../../src/control/index.ts'

const RESOURCES = Number(process.env.BENCH_RESOURCES ?? 10_000)

const families: Record<string, (i: number) => string> = {
  'star-a-runs': (i) => '*a'.repeat(1 + (i % 60)) + '*c',
  'long-literal': (i) => `*${'a'.repeat(1 + (i % 200))}c*`,
  'star-question': (i) => `${'*?'.repeat(1 + (i % 120))}c`,
  'question-runs': (i) => `*${'?'.repeat(1 + (i % 250))}c`,
}
interface Row {
  tags: Tag[]
  d: string
}
const rows: Row[] = Array.from({ length: RESOURCES }, (_, i) => ({
  tags: [],
  d: i % 2 === 0 ? 'a'.repeat(255) : 'ab'.repeat(127) + 'a',
}))
for (const [name, make] of [
  ...Object.entries(families),
  ['mixed', (i: number) => Object.values(families)[i % 4]!(i)] as const,
]) {
  const values = Array.from({ length: 200 }, (_, i) => make(i))
  const match = compileFilters<Row>([{ name: 'description', values }], { description: (r) => r.d })
  let hits = 0
  for (let i = 0; i < 200; i++) if (match(rows[i]!)) hits++ // warm-up
  const t0 = process.hrtime.bigint()
  for (const r of rows) if (match(r)) hits++
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const matches = 200 * RESOURCES
  process.stdout.write(
    JSON.stringify({
      case: `api/wildcard/${name}/200x${RESOURCES}`,
      matches,
      hits,
      seconds: +seconds.toFixed(3),
      nsPerMatch: Math.round((seconds * 1e9) / matches),
      msPerCall: +(seconds * 1e3).toFixed(1),
      node: process.version,
    }) + '\n',
  )
}
