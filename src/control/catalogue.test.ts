// SPDX-License-Identifier: Apache-2.0
// The error catalogue and docs/errors.md in step: every AWS code the server may answer is documented.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { CLOUDTRAIL_ERRORS, COMMON_ERRORS, EC2_ERRORS, IAM_ERRORS, LOGS_ERRORS } from './index.ts'

test('every code of the error catalogue is in docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8')
  const missing = [
    ...Object.keys(COMMON_ERRORS),
    ...Object.keys(EC2_ERRORS),
    ...Object.keys(IAM_ERRORS),
    ...Object.keys(CLOUDTRAIL_ERRORS),
    ...Object.keys(LOGS_ERRORS),
  ].filter((code) => {
    if (doc.includes(`\`${code}\``)) return false
    // "`InvalidXId.Malformed` / `.NotFound`" documents both codes of a kind.
    const m = /^(.*)\.NotFound$/.exec(code)
    return m === null || !doc.includes(`\`${m[1]!}.Malformed\` / \`.NotFound\``)
  })
  assert.deepEqual(missing, [])
})
