// SPDX-License-Identifier: Apache-2.0
// Logs Insights queries run in steps (issue 14): a query over more events than one step lets the
// event loop run between steps (each event counted once, in whatever order it was stored), StopQuery ends a running query at its next step (Cancelled, no
// results), and an unstopped one completes with the count of every event.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Logs } from './logs.ts'
import { STEP_EVENTS } from './queries.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-queries-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const turn = () => new Promise<void>((r) => setImmediate(r))

test('a query runs in steps, yields to the event loop, and StopQuery stops it', async () => {
  const now = Date.now()
  const logs = new Logs({
    path: join(dir, 'l.sqlite'),
    region: 'us-east-1',
    accountId: '123456789012',
    now: () => now,
  })
  try {
    logs.createLogGroup('/q', {})
    logs.createLogStream('/q', 's')
    const n = 3 * STEP_EVENTS + 10
    // Odd timestamps first, the even ones after: later rows (higher ids) older than earlier ones,
    // so that a step that resumed by id rather than by time would count some twice.
    for (const parity of [1, 0])
      for (let b = parity; b < n; b += 10_000) {
        const events = []
        for (let i = b; i < Math.min(n, b + 10_000); i += 2)
          events.push({ timestamp: now - 3_600_000 + i, message: `e ${i}` })
        logs.putLogEvents('/q', 's', events)
      }
    const start = (query: string) =>
      logs.queries.start({
        groups: ['/q'],
        startTime: Math.floor(now / 1000) - 7200,
        endTime: Math.floor(now / 1000),
        query,
        formats: [],
      })
    // Left alone, it completes after several turns, and counts every event.
    const a = start('stats count(*) as n')
    await turn()
    assert.equal(logs.queries.results(a).status, 'Running')
    let turns = 1
    while (logs.queries.results(a).status === 'Running') {
      await turn()
      turns++
    }
    assert.ok(turns >= 4, `${turns} turns`)
    const done = logs.queries.results(a)
    assert.equal(done.status, 'Complete')
    assert.deepEqual(done.results, [[{ field: 'n', value: String(n) }]])
    // Stopped after its first step: Cancelled, and it stays so, with nothing in it.
    const b = start('stats count(*) as n')
    await turn()
    assert.equal(logs.queries.results(b).status, 'Running')
    assert.equal(logs.queries.stop(b), true)
    for (let i = 0; i < 6; i++) await turn()
    const stopped = logs.queries.results(b)
    assert.equal(stopped.status, 'Cancelled')
    assert.deepEqual(stopped.results, [])
    assert.equal(logs.queries.stop(b), false)
  } finally {
    logs.close()
  }
})
