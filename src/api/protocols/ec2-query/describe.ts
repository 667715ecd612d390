// SPDX-License-Identifier: Apache-2.0
/**
 * The common machinery of every Describe action: requested ids (each must exist), `Filter.N`
 * (names ANDed, values ORed, `*`/`?` wildcards, `tag:<key>`, `tag-key`, `tag-value`), and
 * `MaxResults`/`NextToken` pagination in creation order with an opaque token.
 * @module
 */
import { createHash } from 'node:crypto'
import { ApiError, type Tag } from '../../../control/index.ts'
import { truncate, type Params } from './params.ts'
import { codePoints, compileWildcard, hasWildcard, matchCodePoints, type Wildcard } from './wildcard.ts'

/** Extracts the value(s) a filter name compares against. */
export type FilterField<R> = (r: R) => string | number | boolean | undefined | readonly (string | number)[]

export interface Filter {
  name: string
  values: string[]
}

const MAX_FILTERS = 50
/**
 * Filter values per request, all filters together (AWS's limit and message); with the matcher's
 * linear cost per value this bounds the work of one Describe call.
 */
const MAX_VALUES = 200

/**
 * Reads `Filter.N.Name` / `Filter.N.Value.M`, checking names against the action's table. An
 * unknown name answers `InvalidParameterValue` "The filter 'x' is invalid" (the exact code is
 * UNCONFIRMED for these actions; spec §5.4 recommends EC2's usual answer). `tag:` filters are
 * accepted everywhere (UNCONFIRMED for the traffic-mirroring actions; harmless).
 */
export function readFilters(p: Params, known: ReadonlySet<string>, tagFilters = true): Filter[] {
  const out: Filter[] = []
  let total = 0
  const structs = p.structs('Filter')
  if (structs.length > MAX_FILTERS)
    throw new ApiError('FilterLimitExceeded', `The maximum number of filters (${MAX_FILTERS}) was exceeded.`)
  for (const s of structs) {
    const name = s.str('Name')
    const values = s.list('Value')
    s.done()
    if (name === undefined) throw new ApiError('InvalidParameterValue', "The filter 'null' is invalid")
    const isTag = tagFilters && (name.startsWith('tag:') || name === 'tag-key' || name === 'tag-value')
    if (!isTag && !known.has(name))
      throw new ApiError('InvalidParameterValue', `The filter '${truncate(name)}' is invalid`)
    total += values.length
    if (total > MAX_VALUES) {
      throw new ApiError(
        'FilterLimitExceeded',
        `The maximum number of filter values specified on a single call is ${MAX_VALUES}`,
      )
    }
    out.push({ name, values })
  }
  return out
}

/**
 * A compiled matcher for one filter's values: exact values by set lookup, wildcard values by the
 * linear-time matcher of wildcard.ts (never a regular expression built from input).
 */
function valueMatcher(values: string[]): (v: string) => boolean {
  const exact = new Set<string>()
  const seen = new Set<string>()
  const patterns: Wildcard[] = []
  for (const v of values) {
    if (!hasWildcard(v)) exact.add(v)
    else if (!seen.has(v)) {
      seen.add(v)
      patterns.push(compileWildcard(v))
    }
  }
  if (patterns.length === 0) return (v) => exact.has(v)
  return (v) => {
    if (exact.has(v)) return true
    const t = codePoints(v)
    for (const w of patterns) if (matchCodePoints(w, t)) return true
    return false
  }
}

/** Builds a predicate over resources from the filters (all must match). */
export function compileFilters<R extends { tags: Tag[] }>(
  filters: Filter[],
  fields: Record<string, FilterField<R>>,
): (r: R) => boolean {
  const tests: ((r: R) => boolean)[] = []
  for (const f of filters) {
    const m = valueMatcher(f.values)
    if (f.name.startsWith('tag:')) {
      const key = f.name.slice(4)
      tests.push((r) => r.tags.some((t) => t.key === key && m(t.value)))
    } else if (f.name === 'tag-key') {
      tests.push((r) => r.tags.some((t) => m(t.key)))
    } else if (f.name === 'tag-value') {
      tests.push((r) => r.tags.some((t) => m(t.value)))
    } else {
      const get = fields[f.name]!
      tests.push((r) => {
        const v = get(r)
        if (v === undefined) return false
        if (Array.isArray(v)) return v.some((x) => m(String(x)))
        return m(String(v))
      })
    }
  }
  if (tests.length === 0) return () => true
  return (r) => {
    for (const t of tests) if (!t(r)) return false
    return true
  }
}

/** Where a listing resumes, and what the token is bound to. */
export interface Paging {
  maxResults?: number
  after: number
  /** Hash of the action and its selecting parameters: a token only works for the same listing. */
  scope: string
}

function scopeOf(action: string, p: Params): string {
  const sel = [...p.map.entries()]
    .filter(
      ([k]) =>
        k !== 'NextToken' &&
        k !== 'MaxResults' &&
        k !== 'DryRun' &&
        k !== 'Version' &&
        !k.startsWith('X-Amz-'),
    )
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  return createHash('sha256').update(`${action}?${sel}`).digest('hex').slice(0, 12)
}

/**
 * Reads MaxResults (bounds `min`–`max`) and NextToken. A token is `mf1.<seq>.<scope>`: the last
 * creation sequence number returned and the hash of the listing it belongs to; a token of another
 * action or other filters is `InvalidNextToken`.
 */
export function readPaging(p: Params, action: string, min = 5, max = 1000): Paging {
  const m = p.int('MaxResults')
  if (m !== undefined && (m < min || m > max)) {
    throw new ApiError(
      'InvalidParameterValue',
      `Value ( ${m} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    )
  }
  const token = p.str('NextToken')
  const scope = scopeOf(action, p)
  let after = 0
  if (token !== undefined) {
    const m2 = /^mf1\.([0-9]{1,15})\.([0-9a-f]{12})$/.exec(Buffer.from(token, 'base64url').toString('latin1'))
    if (m2 === null || tokenFor(Number(m2[1]), m2[2]!) !== token || m2[2] !== scope) {
      throw new ApiError('InvalidNextToken', `The token '${truncate(token)}' is invalid.`)
    }
    after = Number(m2[1])
  }
  return m === undefined ? { after, scope } : { maxResults: m, after, scope }
}

function tokenFor(seq: number, scope: string): string {
  return Buffer.from(`mf1.${seq}.${scope}`, 'latin1').toString('base64url')
}

/**
 * The longest page when the request gives no MaxResults: no answer is unbounded; a longer listing
 * comes with a NextToken, as when MaxResults is given.
 */
export const DEFAULT_PAGE_SIZE = 1000

/** One page of matching resources (in creation order) and the token of the next, if any. */
export function page<R extends { seq: number }>(
  items: Iterable<R>,
  match: (r: R) => boolean,
  paging: Paging,
): { items: R[]; nextToken?: string } {
  const out: R[] = []
  const limit = paging.maxResults ?? DEFAULT_PAGE_SIZE
  for (const r of items) {
    if (r.seq <= paging.after || !match(r)) continue
    if (out.length === limit)
      return { items: out, nextToken: tokenFor(out[out.length - 1]!.seq, paging.scope) }
    out.push(r)
  }
  return { items: out }
}

/**
 * The resources named by ids (each must exist: `lookup` throws the NotFound error), in creation
 * order, or all of them when no id is given.
 */
export function byIds<R extends { seq: number }>(
  ids: string[],
  all: Iterable<R>,
  lookup: (id: string) => R,
): Iterable<R> {
  if (ids.length === 0) return all
  const found = new Map<string, R>()
  let notFound: ApiError | undefined
  const missing: string[] = []
  for (const id of ids) {
    try {
      found.set(id, lookup(id))
    } catch (err) {
      // Malformed ids fail at once; unknown ones are all named in one NotFound error, as AWS does.
      if (!(err instanceof ApiError) || !err.awsCode.endsWith('.NotFound')) throw err
      notFound ??= err
      if (!missing.includes(id)) missing.push(id)
    }
  }
  if (notFound !== undefined) {
    if (missing.length === 1) throw notFound
    throw new ApiError(
      notFound.awsCode,
      `The IDs '${missing.map((m) => truncate(m)).join(', ')}' do not exist`,
    )
  }
  return [...found.values()].sort((a, b) => a.seq - b.seq)
}
