// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 tag actions: CreateTags, DeleteTags, DescribeTags (one row per tag, over every taggable
 * kind), with the DescribeTags filter table.
 * @module
 */
import { ApiError, type Resource, type Tag } from '../../../control/index.ts'
import {
  compileFilters,
  page,
  readFilters,
  readPaging,
  type FilterField,
} from '../../protocols/ec2-query/describe.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { L, toXml, type Node } from '../../protocols/ec2-query/xml.ts'
import type { Handler } from './context.ts'
function readTags(p: Params, valueRequired: boolean): { key: string; value?: string | undefined }[] {
  return p.structs('Tag').map((t) => {
    const key = t.str('Key')
    const value = t.str('Value')
    t.done()
    if (key === undefined) throw new ApiError('InvalidParameterValue', 'Tag key cannot be null.')
    return valueRequired ? { key, value: value ?? '' } : { key, value }
  })
}

const createTags: Handler = (ctx) => {
  const ids = ctx.p.list('ResourceId')
  const tags = readTags(ctx.p, true) as Tag[]
  ctx.ready()
  if (ids.length === 0)
    throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
  if (tags.length === 0) throw new ApiError('MissingParameter', 'The request must contain the parameter Tag')
  ctx.cp.ec2.tags.createTags(ids, tags)
  return toXml([['return', 'Return', true]])
}

const deleteTags: Handler = (ctx) => {
  const ids = ctx.p.list('ResourceId')
  const tags = readTags(ctx.p, false)
  ctx.ready()
  if (ids.length === 0)
    throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
  ctx.cp.ec2.tags.deleteTags(ids, tags)
  return toXml([['return', 'Return', true]])
}

/** One row of DescribeTags (its own `tags` is empty: DescribeTags has no tag filters). */
interface TagRow {
  seq: number
  resource: Resource
  /** The resource-type name of the resource's kind. */
  type: string
  key: string
  value: string
  tags: Tag[]
}

export const tagRowFields: Record<string, FilterField<TagRow>> = {
  key: (r) => r.key,
  value: (r) => r.value,
  'resource-id': (r) => r.resource.id,
  'resource-type': (r) => r.type,
}

const describeTags: Handler = (ctx) => {
  const p = ctx.p
  const filters = readFilters(p, new Set(Object.keys(tagRowFields)), false)
  const paging = readPaging(p, ctx.action, 5, 1000)
  ctx.ready()
  const match = compileFilters(filters, tagRowFields)
  // Rows are numbered resource seq × 64 + tag index (≤ 50 tags each), so a token points between two tags.
  const rows = function* (): Generator<TagRow> {
    for (const r of ctx.cp.state.byId.values()) {
      const type = ctx.cp.ec2.tags.resourceTypeOf(r)
      if (type === undefined) continue
      for (let i = 0; i < r.tags.length; i++) {
        const t = r.tags[i]!
        yield { seq: r.seq * 64 + i, resource: r, type, key: t.key, value: t.value, tags: [] }
      }
    }
  }
  const sorted = [...rows()].sort((a, b) => a.seq - b.seq)
  const res = page(sorted, match, paging)
  return toXml([
    [
      'tagSet',
      'Tags',
      L(
        res.items.map((r): Node[] => [
          ['resourceId', 'ResourceId', r.resource.id],
          ['resourceType', 'ResourceType', r.type],
          ['key', 'Key', r.key],
          ['value', 'Value', r.value],
        ]),
      ),
    ],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

/** The tag actions. */
export const TAG_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['CreateTags', createTags],
  ['DeleteTags', deleteTags],
  ['DescribeTags', describeTags],
]
