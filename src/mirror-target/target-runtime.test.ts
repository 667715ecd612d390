// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TargetEvents, type TargetLog } from './target-runtime.ts'

function recorder(): {
  log: TargetLog
  lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }>
} {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = []
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      lines.push({ level, msg, fields })
    }
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

function counters(over: { refusedFull?: number; fileErrors?: Record<string, number> } = {}) {
  return {
    table: {
      counters: {
        refusedFull: over.refusedFull ?? 0,
        refusedSource: 0,
        refusedVni: 0,
        evictedProbation: 0,
        evictedIdle: 0,
      },
    },
    disk: { errors: over.fileErrors ?? {}, totalBytes: 0, maxTotalBytes: 1, reclaimedFiles: 0 },
    drops: { pcap_write: 0 },
  }
}

describe('TargetEvents (issue 9 item 18, target side)', () => {
  test('a failure is logged once however often it repeats, and its recovery clears lastError', () => {
    const { log, lines } = recorder()
    const ev = new TargetEvents(log)
    ev.observe(counters())
    assert.equal(lines.length, 0) // conditions that start out fine are not news
    ev.capture('failed', 'capture on eth0 ended: tcpdump exited (1); capturing again in 1 s')
    ev.capture('failed', 'capture on eth0 ended: tcpdump exited (1); capturing again in 2 s')
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.level, 'error')
    assert.deepEqual([lines[0]!.fields.condition, lines[0]!.fields.state], ['capture', 'failed'])
    assert.equal(ev.state, 'degraded')
    assert.equal(ev.lastError, 'capture on eth0 ended: tcpdump exited (1); capturing again in 2 s')
    ev.capture('running', 'capturing again')
    assert.equal(lines.length, 2)
    assert.deepEqual([lines[1]!.level, lines[1]!.fields.state], ['info', 'ok'])
    assert.equal(ev.state, 'running')
    assert.equal(ev.lastError, null)
  })

  test('file errors: one error line while they go on, one line when they stop; lastError follows', () => {
    const { log, lines } = recorder()
    const ev = new TargetEvents(log)
    ev.fileError('ENOSPC', 'cannot write /d/x.pcap: ENOSPC: no space left on device')
    ev.observe(counters({ fileErrors: { ENOSPC: 1 } }))
    ev.observe(counters({ fileErrors: { ENOSPC: 5 } }))
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.level, 'error')
    assert.equal(lines[0]!.fields.code, 'MF_TARGET_WRITE')
    assert.match(ev.lastError ?? '', /ENOSPC/)
    ev.observe(counters({ fileErrors: { ENOSPC: 5 } }))
    assert.equal(lines.length, 2)
    assert.equal(lines[1]!.fields.state, 'ok')
    assert.equal(ev.lastError, null)
    assert.equal(ev.state, 'running')
  })

  test('a full session table is a warning when refusals start and news again when they stop', () => {
    const { log, lines } = recorder()
    const ev = new TargetEvents(log)
    ev.observe(counters({ refusedFull: 10 }))
    ev.observe(counters({ refusedFull: 20 }))
    ev.observe(counters({ refusedFull: 20 }))
    assert.deepEqual(
      lines.map((l) => [l.level, l.fields.condition, l.fields.state]),
      [
        ['warn', 'sessions', 'full'],
        ['info', 'sessions', 'ok'],
      ],
    )
    // Refusing newcomers is the policy working, not a failure of the target.
    assert.equal(ev.lastError, null)
  })
})
