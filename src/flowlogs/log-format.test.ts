// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasCode } from '../errors.ts'
import { DEFAULT_LOG_FORMAT, parseLogFormat } from './log-format.ts'
import { DEFAULT_FIELDS, FIELDS } from './fields.ts'

describe('parseLogFormat', () => {
  test('default format: the 14 v2 fields, version 2', () => {
    const f = parseLogFormat()
    assert.equal(f.version, 2)
    assert.equal(f.fields.length, 14)
    assert.equal(
      f.header,
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    )
    assert.equal(f.text, DEFAULT_LOG_FORMAT)
    assert.deepEqual(DEFAULT_FIELDS, f.header.split(' '))
  })

  const versions = [
    { name: 'v2 fields only', fmt: '${srcaddr} ${dstaddr}', want: 2 },
    { name: 'v2+v3+v4 → 4', fmt: '${version} ${vpc-id} ${az-id}', want: 4 },
    { name: 'version not chosen still computed', fmt: '${tcp-flags} ${srcaddr}', want: 3 },
    { name: 'v5', fmt: '${flow-direction}', want: 5 },
    { name: 'ecs → 7', fmt: '${ecs-task-id} ${srcaddr}', want: 7 },
    { name: 'reject-reason → 8', fmt: '${reject-reason}', want: 8 },
    { name: 'resource-id → 9', fmt: '${resource-id}', want: 9 },
    { name: 'encryption-status → 10', fmt: '${encryption-status}', want: 10 },
    { name: 'tags → 11', fmt: '${instance-tag} ${version}', want: 11 },
    { name: 'extra whitespace tolerated', fmt: '  ${version}\t ${packets}  ', want: 2 },
  ]
  for (const c of versions) {
    test(`version: ${c.name}`, () => assert.equal(parseLogFormat(c.fmt).version, c.want))
  }

  const errors = [
    { name: 'empty', fmt: '', field: null, re: /empty/ },
    { name: 'blank', fmt: '   ', field: null, re: /empty/ },
    {
      name: 'unknown field',
      fmt: '${version} ${bogus-field}',
      field: 'bogus-field',
      re: /unknown field 'bogus-field'/,
    },
    {
      name: 'duplicate',
      fmt: '${srcaddr} ${dstaddr} ${srcaddr}',
      field: 'srcaddr',
      re: /'srcaddr' is given more than once/,
    },
    {
      name: 'bare word',
      fmt: '${version} srcaddr',
      field: 'srcaddr',
      re: /'srcaddr' is not a field reference/,
    },
    { name: 'unterminated', fmt: '${version', field: '${version', re: /not a field reference/ },
    { name: 'TGW-only field', fmt: '${tgw-id}', field: 'tgw-id', re: /unknown field 'tgw-id'/ },
  ]
  for (const c of errors) {
    test(`error: ${c.name}`, () => {
      assert.throws(
        () => parseLogFormat(c.fmt),
        (err: unknown) => {
          assert.ok(hasCode(err, 'MF_FLOWLOGS_LOG_FORMAT'))
          assert.match((err as Error).message, c.re)
          assert.equal((err as { field: string | null }).field, c.field)
          return true
        },
      )
    })
  }

  test('catalogue: 54 fields, unique names, version counts as in spec §1.5', () => {
    assert.equal(FIELDS.length, 54)
    assert.equal(new Set(FIELDS.map((f) => f.name)).size, 54)
    const perVersion: Record<number, number> = {}
    for (const f of FIELDS) perVersion[f.version] = (perVersion[f.version] ?? 0) + 1
    assert.deepEqual(perVersion, { 2: 14, 3: 7, 4: 4, 5: 4, 7: 10, 8: 1, 9: 1, 10: 1, 11: 12 })
    // Every field round-trips through the parser.
    const all = parseLogFormat(FIELDS.map((f) => `\${${f.name}}`).join(' '))
    assert.equal(all.version, 11)
    assert.equal(all.fields.length, 54)
  })
})
