// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { Registry } from 'prom-client'
import { hasCode } from '../errors.ts'
import { createLogger, parseHostPort, StateLog, StatusFileWriter, StatusServer } from './index.ts'

describe('parseHostPort', () => {
  test('a bare port binds loopback; addresses and IPv6 in brackets are kept', () => {
    assert.deepEqual(parseHostPort('9480', '--metrics'), { host: '127.0.0.1', port: 9480 })
    assert.deepEqual(parseHostPort('0.0.0.0:9480', '--metrics'), { host: '0.0.0.0', port: 9480 })
    assert.deepEqual(parseHostPort('[::1]:0', '--metrics'), { host: '::1', port: 0 })
    assert.deepEqual(parseHostPort('localhost:1', '--metrics'), { host: 'localhost', port: 1 })
  })
  for (const bad of [
    '',
    ':9480',
    'host:80',
    '1.2.3.4:65536',
    '1.2.3.4:',
    '::1:80',
    '1.2.3.4:123456',
    'x'.repeat(400),
  ]) {
    test(`'${bad.slice(0, 20)}' is refused with MF_LISTEN_ADDRESS`, () => {
      assert.throws(
        () => parseHostPort(bad, '--metrics'),
        (e: Error) => hasCode(e, 'MF_LISTEN_ADDRESS') && e.message.startsWith('--metrics: '),
      )
    })
  }
})

describe('StatusServer', () => {
  test('serves /metrics and /status on the given address, 404 elsewhere, 405 for POST', async () => {
    const registry = new Registry()
    registry.setDefaultLabels({ job: 't' })
    const s = new StatusServer({ listen: parseHostPort('0', 'x'), registry, status: () => ({ ok: 1 }) })
    const a = await s.start()
    assert.equal(a.host, '127.0.0.1') // loopback by default
    const base = `http://127.0.0.1:${a.port}`
    assert.deepEqual(await (await fetch(`${base}/status`)).json(), { ok: 1 })
    const m = await fetch(`${base}/metrics`)
    assert.equal(m.status, 200)
    assert.equal((await fetch(`${base}/nope`)).status, 404)
    assert.equal((await fetch(`${base}/status`, { method: 'POST' })).status, 405)
    // A second server on the same port fails with MF_LISTEN, not a crash.
    const again = new StatusServer({ listen: a, registry, status: () => ({}) })
    await assert.rejects(again.start(), (e: Error) => hasCode(e, 'MF_LISTEN'))
    await s.stop()
  })
})

describe('StateLog', () => {
  test('each change is logged once; a first ok is not news', () => {
    const lines: string[] = []
    const log = createLogger('t', { destination: { write: (s: string) => lines.push(s) } })
    const st = new StateLog(log)
    st.set('reconcile', 'ok', 'info', 'reconcile ok')
    st.set('reconcile', 'failed', 'error', 'reconcile failed', { error: 'boom' })
    st.set('reconcile', 'failed', 'error', 'reconcile failed', { error: 'boom' })
    st.set('reconcile', 'ok', 'info', 'reconcile recovered')
    const got = lines.map(
      (l) => JSON.parse(l) as { msg: string; state: string; level: number; error?: string },
    )
    assert.deepEqual(
      got.map((l) => [l.msg, l.state, l.level, l.error]),
      [
        ['reconcile failed', 'failed', 50, 'boom'],
        ['reconcile recovered', 'ok', 30, undefined],
      ],
    )
  })
})

describe('StatusFileWriter', () => {
  test('writes atomically; a failure is counted, not thrown', () => {
    const d = mkdtempSync(join(tmpdir(), 'mf-rt-'))
    const w = new StatusFileWriter(join(d, 'status.json'))
    assert.equal(w.write({ a: 1 }), true)
    assert.deepEqual(JSON.parse(readFileSync(join(d, 'status.json'), 'utf8')), { a: 1 })
    rmSync(d, { recursive: true })
    assert.equal(w.write({ a: 2 }), false)
    assert.equal(w.errors, 1)
    assert.match(w.lastError, /ENOENT/)
  })
})
