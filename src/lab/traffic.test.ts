// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertLabAddress, connectScan, runAttacker, runClient } from './traffic.ts'

test('generators refuse every address outside the lab (10.0.0.0/16)', async () => {
  for (const ok of ['10.0.0.1', '10.0.1.10', '10.0.255.254']) assert.doesNotThrow(() => assertLabAddress(ok))
  for (const bad of [
    '127.0.0.1',
    '10.1.0.1',
    '192.168.0.1',
    '8.8.8.8',
    '::1',
    'localhost',
    '10.0.1',
    '10.0.1.256',
  ]) {
    assert.throws(() => assertLabAddress(bad), /outside the lab/, bad)
  }
  await assert.rejects(connectScan('127.0.0.1', [22]), /outside the lab/)
  await assert.rejects(runClient('1.1.1.1', { durationMs: 10, count: 1, intervalMs: 1 }), /outside the lab/)
  await assert.rejects(
    runAttacker('1.1.1.1', { durationMs: 10, scanPorts: 1, attempts: 1, intervalMs: 1 }),
    /outside the lab/,
  )
})
