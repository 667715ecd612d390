// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ApiError } from '../../../control/index.ts'
import { byIds, compileFilters, page, readFilters, readPaging } from './describe.ts'
import { Params, parseForm } from './params.ts'

interface Row {
  id: string
  seq: number
  n: number
  d?: string
  tags: { key: string; value: string }[]
}
const rows: Row[] = Array.from({ length: 12 }, (_, i) => ({
  id: `r-${i}`,
  seq: i + 1,
  n: i % 3,
  ...(i % 2 === 0 ? { d: `web-${i}` } : {}),
  tags: i === 4 ? [{ key: 'Name', value: 'four' }] : [],
}))
const fields = { number: (r: Row) => r.n, description: (r: Row) => r.d }

function params(body: string): Params {
  const m = new Map<string, string>()
  parseForm(body, m)
  return new Params(m)
}

test('filters: names ANDed, values ORed, wildcards, tag filters, unknown names refused', () => {
  const p = params(
    'Filter.1.Name=number&Filter.1.Value.1=0&Filter.1.Value.2=1&Filter.2.Name=description&Filter.2.Value.1=web-*',
  )
  const match = compileFilters(readFilters(p, new Set(Object.keys(fields))), fields)
  assert.deepEqual(
    rows.filter(match).map((r) => r.id),
    ['r-0', 'r-4', 'r-6', 'r-10'],
  )
  const t = compileFilters(
    readFilters(params('Filter.1.Name=tag:Name&Filter.1.Value.1=f?ur'), new Set()),
    fields,
  )
  assert.deepEqual(
    rows.filter(t).map((r) => r.id),
    ['r-4'],
  )
  assert.throws(
    () => readFilters(params('Filter.1.Name=bogus&Filter.1.Value.1=1'), new Set(['number'])),
    (e: ApiError) => e.awsCode === 'InvalidParameterValue',
  )
})

test('pagination: pages in creation order, token bound to the listing, bounds 5–1000', () => {
  const seen: string[] = []
  let token: string | undefined
  do {
    const p = params(`MaxResults=5${token === undefined ? '' : `&NextToken=${token}`}`)
    const res = page(rows, () => true, readPaging(p, 'DescribeX'))
    seen.push(...res.items.map((r) => r.id))
    token = res.nextToken
  } while (token !== undefined)
  assert.deepEqual(
    seen,
    rows.map((r) => r.id),
  )
  const first = page(rows, () => true, readPaging(params('MaxResults=5'), 'DescribeX'))
  const code = (fn: () => unknown): string => {
    try {
      fn()
      return 'OK'
    } catch (e) {
      return (e as ApiError).awsCode
    }
  }
  assert.equal(
    code(() => readPaging(params(`NextToken=${first.nextToken!}`), 'DescribeY')),
    'InvalidNextToken',
  )
  assert.equal(
    code(() => readPaging(params(`NextToken=${first.nextToken!}&Filter.1.Name=x`), 'DescribeX')),
    'InvalidNextToken',
  )
  assert.equal(
    code(() => readPaging(params('NextToken=garbage'), 'DescribeX')),
    'InvalidNextToken',
  )
  assert.equal(
    code(() => readPaging(params('MaxResults=4'), 'DescribeX')),
    'InvalidParameterValue',
  )
  assert.equal(
    code(() => readPaging(params('MaxResults=1001'), 'DescribeX')),
    'InvalidParameterValue',
  )
})

test('byIds: every id must exist; several unknown ids are named together', () => {
  const lookup = (id: string): Row => {
    const r = rows.find((x) => x.id === id)
    if (r === undefined) throw new ApiError('InvalidVpcID.NotFound', `The row '${id}' does not exist`)
    return r
  }
  assert.deepEqual(
    [...byIds(['r-3', 'r-1'], rows, lookup)].map((r) => r.id),
    ['r-1', 'r-3'],
  )
  assert.throws(
    () => byIds(['r-1', 'x-1', 'x-2'], rows, lookup),
    (e: ApiError) => e.awsCode === 'InvalidVpcID.NotFound' && /x-1, x-2/.test(e.message),
  )
})

test('filters: at most 200 values per call, all filters together (AWS message)', () => {
  const body = (perFilter: number, filters: number): string =>
    Array.from({ length: filters }, (_, f) =>
      [
        `Filter.${f + 1}.Name=number`,
        ...Array.from({ length: perFilter }, (_, v) => `Filter.${f + 1}.Value.${v + 1}=${v}`),
      ].join('&'),
    ).join('&')
  assert.equal(readFilters(params(body(100, 2)), new Set(['number'])).length, 2)
  assert.throws(
    () => readFilters(params(body(101, 2)), new Set(['number'])),
    (e: ApiError) =>
      e.awsCode === 'FilterLimitExceeded' &&
      e.message === 'The maximum number of filter values specified on a single call is 200',
  )
})
