// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 2: no Describe answer is unbounded — without MaxResults a page holds at most
// DEFAULT_PAGE_SIZE items and the rest comes with a NextToken.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_PAGE_SIZE, page, readPaging } from './describe.ts'
import { Params } from './params.ts'

test('item 2: a listing without MaxResults is cut at 1000 items, with a NextToken to the rest', () => {
  const rows = Array.from({ length: 2500 }, (_, i) => ({ seq: i + 1 }))
  const first = page(rows, () => true, readPaging(new Params(new Map()), 'DescribeVpcs'))
  assert.equal(DEFAULT_PAGE_SIZE, 1000)
  assert.equal(first.items.length, 1000)
  assert.ok(first.nextToken !== undefined)
  const second = page(
    rows,
    () => true,
    readPaging(new Params(new Map([['NextToken', first.nextToken]])), 'DescribeVpcs'),
  )
  assert.equal(second.items[0]!.seq, 1001)
  assert.equal(second.items.length, 1000)
  const third = page(
    rows,
    () => true,
    readPaging(new Params(new Map([['NextToken', second.nextToken!]])), 'DescribeVpcs'),
  )
  assert.equal(third.items.length, 500)
  assert.equal(third.nextToken, undefined)
})
