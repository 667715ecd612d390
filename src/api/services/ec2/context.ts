// SPDX-License-Identifier: Apache-2.0
/**
 * What every EC2 action handler works with: the request context (control plane, typed parameters,
 * `ready()` — unknown parameters, then DryRun — and the idempotency key of a Create), the
 * `TagSpecification.N` reader, and the common shape of the Describe actions (ids, filters,
 * pagination).
 * @module
 */
import { ApiError, type PortRange, type Resource, type Tag } from '../../../control/index.ts'
import {
  byIds,
  compileFilters,
  page,
  readFilters,
  readPaging,
  type FilterField,
} from '../../protocols/ec2-query/describe.ts'
import type { QueryContext } from '../../protocols/ec2-query/context.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { L, toXml, type Node } from '../../protocols/ec2-query/xml.ts'

/** What an EC2 action handler gets (the EC2 Query protocol's context). */
export type ActionContext = QueryContext

/** An EC2 action: reads its parameters, calls `ctx.ready()`, runs the control plane, answers the XML body. */
export type Handler = (ctx: ActionContext) => string

/** Reads `TagSpecification.N` for a create whose resource type is `type`. */
export function readTagSpecs(p: Params, type: string): Tag[] {
  const tags: Tag[] = []
  const seenTypes = new Set<string>()
  for (const spec of p.structs('TagSpecification')) {
    const rt = spec.str('ResourceType')
    const list = spec.structs('Tag').map((t) => {
      const key = t.str('Key')
      const value = t.str('Value') ?? ''
      t.done()
      if (key === undefined) throw new ApiError('InvalidParameterValue', 'Tag key cannot be null.')
      return { key, value }
    })
    spec.done()
    if (rt === undefined || rt === '')
      throw new ApiError('InvalidParameterValue', 'Tag specification resource type must have a value')
    if (rt !== type) {
      throw new ApiError(
        'InvalidParameterValue',
        `'${rt.slice(0, 64)}' is not a valid taggable resource type for this operation.`,
      )
    }
    if (seenTypes.has(rt)) {
      throw new ApiError(
        'InvalidParameterValue',
        'The same resource type may not be specified more than once in tag specifications',
      )
    }
    seenTypes.add(rt)
    tags.push(...list)
  }
  return tags
}

export function portRange(p: Params, name: string): Partial<PortRange> | undefined {
  const s = p.struct(name)
  if (s === undefined) return undefined
  const fromPort = s.int('FromPort')
  const toPort = s.int('ToPort')
  s.done()
  const r: Partial<PortRange> = {}
  if (fromPort !== undefined) r.fromPort = fromPort
  if (toPort !== undefined) r.toPort = toPort
  return r
}

/** Common shape of the Describe handlers. */
export function describe<R extends Resource>(
  ctx: ActionContext,
  o: {
    idParam: string
    all: () => Iterable<R>
    lookup: (id: string) => R
    fields: Record<string, FilterField<R>>
    wrapper: [string, string]
    shape: (r: R) => Node[]
    /** DescribeInstances refuses ids together with MaxResults. */
    idsWithMaxResults?: boolean
    extra?: (p: Params) => (r: R) => boolean
    /** The action's MaxResults bounds (default 5–1000). */
    maxResults?: [number, number]
  },
): string {
  const p = ctx.p
  const ids = p.list(o.idParam)
  const filters = readFilters(p, new Set(Object.keys(o.fields)))
  const paging = readPaging(p, ctx.action, ...(o.maxResults ?? [5, 1000]))
  const extra = o.extra?.(p)
  ctx.ready()
  if (o.idsWithMaxResults === false && ids.length > 0 && paging.maxResults !== undefined) {
    throw new ApiError(
      'InvalidParameterCombination',
      `The parameter ${o.idParam} cannot be used with the parameter maxResults`,
    )
  }
  const match = compileFilters(filters, o.fields)
  const res = page(
    byIds(ids, o.all(), o.lookup),
    extra === undefined ? match : (r) => match(r) && extra(r),
    paging,
  )
  return toXml([
    [o.wrapper[0], o.wrapper[1], L(res.items.map(o.shape))],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}
