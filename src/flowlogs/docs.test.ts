// SPDX-License-Identifier: Apache-2.0
// docs/flowlogs.md embeds the field catalogue generated from fields.ts; UPDATE_GOLDEN=1 rewrites it.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { renderFieldTableMarkdown } from './fields.ts'

const DOC = new URL('../../docs/flowlogs.md', import.meta.url).pathname
const BEGIN =
  '<!-- fields:begin (generated from src/flowlogs/fields.ts; UPDATE_GOLDEN=1 npm test rewrites it) -->'
const END = '<!-- fields:end -->'

test('docs/flowlogs.md field table is generated from the catalogue', () => {
  const doc = readFileSync(DOC, 'utf8')
  const a = doc.indexOf(BEGIN)
  const b = doc.indexOf(END)
  assert.ok(a >= 0 && b > a, 'markers present')
  const want = `${BEGIN}\n${renderFieldTableMarkdown()}\n${END}`
  const got = doc.slice(a, b + END.length)
  if (process.env.UPDATE_GOLDEN && got !== want)
    writeFileSync(DOC, doc.slice(0, a) + want + doc.slice(b + END.length))
  else assert.equal(got, want)
})
