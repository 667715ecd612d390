// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// Resource ids: AWS's shape, unique, from randomness drawn a pool at a time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { idBytes, isIdOf, newId } from './ids.ts'

test('ids have the prefix and 17 hex digits, are unique across pool draws, and use every digit', () => {
  const ids = new Set<string>()
  // 20,000 ids: about 44 draws of the 4 KiB pool, ids straddling each refill.
  for (let i = 0; i < 20_000; i++) {
    const id = newId('tms')
    assert.ok(isIdOf('tms', id), id)
    ids.add(id)
  }
  assert.equal(ids.size, 20_000)
  const digits = new Set([...ids].flatMap((id) => [...id.slice(4)]))
  assert.equal(digits.size, 16)
  // A view of the pool, never the same bytes twice.
  const a = Buffer.from(idBytes(6))
  const b = Buffer.from(idBytes(6))
  assert.notDeepEqual(a, b)
})
