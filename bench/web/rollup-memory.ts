// SPDX-License-Identifier: Apache-2.0
/**
 * bench/web: the memory a row of the console's flow-log roll-up costs (console-rollup.ts), which sets
 * what `--flow-logs-max-rows` means in bytes.
 *
 * Fills the roll-up's table in an engine like the store's with BENCH_ROWS (default 2,000,000) rows
 * where every row is distinct (the worst case: every record a new pair, interface and port), once
 * with IPv4 and once with IPv6 addresses, and prints per case DuckDB's own count of the memory it
 * holds (`duckdb_memory()`) and the process's resident-set growth, in all and a row.
 * Run: `node --expose-gc --import tsx bench/web/rollup-memory.ts`.
 */
import { QueryEngine } from '../../src/analytics/engine.ts'
import { ROLLUP_TABLE_SQL } from '../../src/analytics/console-rollup.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000)
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined)

/** SQL for a distinct address from the integer expression `e`. */
function address(e: string, v6: boolean): string {
  return v6
    ? `'2001:db8:' || printf('%x', (${e}) // 65536) || '::' || printf('%x', (${e}) % 65536)`
    : `'10.' || ((${e}) // 65536 % 256)::VARCHAR || '.' || ((${e}) // 256 % 256)::VARCHAR || '.' || ((${e}) % 256)::VARCHAR`
}

async function measure(v6: boolean): Promise<void> {
  const db = await QueryEngine.open({ threads: 1 })
  try {
    await db.exec(ROLLUP_TABLE_SQL)
    const held = async (): Promise<number> =>
      Number((await db.query('SELECT sum(memory_usage_bytes) FROM duckdb_memory()')).rows[0]![0])
    gc()
    const rss0 = process.memoryUsage().rss
    const mem0 = await held()
    for (let off = 0; off < ROWS; off += 500_000) {
      const end = Math.min(ROWS, off + 500_000)
      await db.exec(`INSERT INTO rollup SELECT (i // 1000)::INTEGER, 1764756000 + (i % 1000) * 60,
        'eni-' || lpad((i % 50)::VARCHAR, 17, '0'), CASE WHEN i % 5 = 0 THEN 'REJECT' ELSE 'ACCEPT' END,
        ${address('i * 7', v6)}, ${address('i * 13 + 5', v6)}, (i % 65536)::INTEGER, 6,
        (i % 1000 * 70)::DOUBLE, (i % 1000)::DOUBLE, 1, 1 FROM range(${off}, ${end}) r(i)`)
    }
    const mem = (await held()) - mem0
    gc()
    const rss = process.memoryUsage().rss - rss0
    const mb = (n: number): number => Math.round(n / 2 ** 20)
    process.stdout.write(
      JSON.stringify({
        case: v6 ? 'ipv6' : 'ipv4',
        rows: ROWS,
        duckdbMB: mb(mem),
        duckdbBytesPerRow: Math.round(mem / ROWS),
        rssMB: mb(rss),
        rssBytesPerRow: Math.round(rss / ROWS),
      }) + '\n',
    )
  } finally {
    db.close()
  }
}

await measure(false)
await measure(true)
