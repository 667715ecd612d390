// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { decodeAuthorizationMessage, encodeAuthorizationMessage } from './messages.ts'

test('no encoded message begins with "-" (the AWS CLI would take it for an option); each decodes', () => {
  const key = randomBytes(32)
  // With a random first character, 2,000 messages begin with "-" at least once with p ≈ 1 − 2e-14.
  for (let i = 0; i < 2000; i++) {
    const m = encodeAuthorizationMessage(key, { i })
    assert.match(m, /^A[A-Za-z0-9_-]+$/)
    assert.equal(decodeAuthorizationMessage(key, m), JSON.stringify({ i }))
  }
})

test('a message of the earlier form (no version byte) still decodes; a tampered one does not', () => {
  const key = randomBytes(32)
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update('{"allowed":false}', 'utf8'), c.final()])
  const legacy = Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')
  assert.equal(decodeAuthorizationMessage(key, legacy), '{"allowed":false}')
  const m = encodeAuthorizationMessage(key, { allowed: false })
  const flipped = m.slice(0, -2) + (m.at(-2) === 'A' ? 'B' : 'A') + m.at(-1)
  assert.equal(decodeAuthorizationMessage(key, flipped), undefined)
  assert.equal(decodeAuthorizationMessage(key, 'AAAA'), undefined)
})
