// SPDX-License-Identifier: Apache-2.0
/**
 * GuardDuty's actions (REST-JSON, signing name `guardduty`), thin handlers over
 * `control/guardduty/`: detectors, findings (list with `FindingCriteria` and sort, get, statistics,
 * archive), ThreatIntelSets and IPSets. Member names, paths and methods are those of GuardDuty's API
 * model (2017-11-28); answers use its wire names (lower camel case).
 * @module
 */
import {
  ApiError,
  findingWire,
  LIST_FORMATS,
  PUBLISHING_FREQUENCIES,
  truncate,
  type Condition,
  type ControlPlane,
  type GuardDuty,
  type ListSet,
} from '../../../control/index.ts'
import type { JsonInput } from '../../protocols/json-1.1/input.ts'
import { restJsonEndpoint, type RestContext, type RestRoute } from '../../protocols/rest-json/endpoint.ts'
import type { ServiceEndpoint } from '../../protocols/index.ts'

const DEFAULT_MAX_RESULTS = 50
/** Most criteria in one FindingCriteria, and values in one condition. */
const MAX_CRITERIA = 50
const MAX_CONDITION_VALUES = 50

function bad(message: string): ApiError {
  return new ApiError('BadRequestException', message)
}

function gd(ctx: RestContext): GuardDuty {
  return ctx.cp.guardduty
}

function detectorId(ctx: RestContext): string {
  return ctx.uri.get('detectorId') ?? ''
}

/** maxResults (1–50, default 50) and nextToken (an offset we issued) from the body or the query string. */
function page(ctx: RestContext, fromQuery: boolean): { max: number; offset: number } {
  let max: number | undefined
  let token: string | undefined
  if (fromQuery) {
    const m = ctx.query.get('maxResults')
    if (m !== undefined) {
      if (!/^\d{1,4}$/.test(m))
        throw bad(`The request is rejected because maxResults '${truncate(m, 16)}' is not a number.`)
      max = Number(m)
    }
    token = ctx.query.get('nextToken')
  } else {
    max = ctx.input.int('maxResults')
    token = ctx.input.str('nextToken', { max: 1024 })
  }
  if (max !== undefined && (max < 1 || max > 50))
    throw bad('The request is rejected because maxResults must be between 1 and 50.')
  let offset = 0
  if (token !== undefined && token !== '') {
    const m = /^o(\d{1,9})$/.exec(Buffer.from(token.slice(0, 64), 'base64url').toString('latin1'))
    if (m === null) throw bad('The request is rejected because the nextToken is not valid.')
    offset = Number(m[1])
  }
  return { max: max ?? DEFAULT_MAX_RESULTS, offset }
}

function paged<T>(
  items: readonly T[],
  p: { max: number; offset: number },
): { items: T[]; nextToken?: string } {
  const slice = items.slice(p.offset, p.offset + p.max)
  const next = p.offset + p.max
  return next < items.length
    ? { items: slice, nextToken: Buffer.from(`o${next}`, 'latin1').toString('base64url') }
    : { items: slice }
}

function tags(input: JsonInput): Record<string, string> | undefined {
  const m = input.strMap('tags', { min: 1, max: 200 }, { min: 1, max: 128 }, { max: 256 })
  return m === undefined ? undefined : Object.fromEntries(m)
}

function stringList(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined
  if (
    !Array.isArray(v) ||
    v.length > MAX_CONDITION_VALUES ||
    v.some((x) => typeof x !== 'string' || x.length > 512)
  )
    throw bad(
      `The request is rejected because ${what} must be a list of at most ${MAX_CONDITION_VALUES} strings.`,
    )
  return v as string[]
}

function numberOf(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw bad(`The request is rejected because ${what} must be a number.`)
  return v
}

/** FindingCriteria (wire form) → conditions by attribute path. */
function criteria(body: Record<string, unknown>): Record<string, Condition> | undefined {
  const fc = body.findingCriteria
  if (fc === undefined || fc === null) return undefined
  if (typeof fc !== 'object' || Array.isArray(fc))
    throw bad('The request is rejected because findingCriteria must be an object.')
  const crit = (fc as Record<string, unknown>).criterion
  if (crit === undefined || crit === null) return undefined
  if (typeof crit !== 'object' || Array.isArray(crit))
    throw bad('The request is rejected because findingCriteria.criterion must be an object.')
  const entries = Object.entries(crit as Record<string, unknown>)
  if (entries.length > MAX_CRITERIA)
    throw bad(`The request is rejected because findingCriteria has more than ${MAX_CRITERIA} criteria.`)
  const out: Record<string, Condition> = {}
  for (const [key, c] of entries) {
    if (key.length === 0 || key.length > 256)
      throw bad('The request is rejected because a criterion name is empty or too long.')
    if (typeof c !== 'object' || c === null || Array.isArray(c))
      throw bad(`The request is rejected because the criterion '${truncate(key)}' must be an object.`)
    const o = c as Record<string, unknown>
    const w = `the criterion '${truncate(key)}'`
    const cond: Condition = {}
    for (const k of ['eq', 'neq', 'equals', 'notEquals'] as const) {
      const v = stringList(o[k], `${w}.${k}`)
      if (v !== undefined) cond[k] = v
    }
    for (const k of [
      'gt',
      'gte',
      'lt',
      'lte',
      'greaterThan',
      'greaterThanOrEqual',
      'lessThan',
      'lessThanOrEqual',
    ] as const) {
      const v = numberOf(o[k], `${w}.${k}`)
      if (v !== undefined) cond[k] = v
    }
    out[key] = cond
  }
  return out
}

function sortCriteria(input: JsonInput): { attributeName?: string; orderBy?: string } | undefined {
  const s = input.struct('sortCriteria')
  if (s === undefined) return undefined
  const attributeName = s.str('attributeName', { min: 1, max: 256 })
  const orderBy = s.enumOf('orderBy', ['ASC', 'DESC'] as const)
  return {
    ...(attributeName !== undefined ? { attributeName } : {}),
    ...(orderBy !== undefined ? { orderBy } : {}),
  }
}

function findingIds(input: JsonInput): string[] {
  const ids = input.strList('findingIds', { max: 50 }, { min: 1, max: 300 })
  if (ids === undefined) throw bad('The request is rejected because findingIds is missing.')
  return ids
}

function setShape(s: ListSet): object {
  return { name: s.name, format: s.format, location: s.location, status: s.status, tags: s.tags }
}

function setActions(kind: 'threat' | 'ip'): RestRoute[] {
  const path = kind === 'threat' ? '/detector/{detectorId}/threatintelset' : '/detector/{detectorId}/ipset'
  const idName = kind === 'threat' ? 'threatIntelSetId' : 'ipSetId'
  const noun = kind === 'threat' ? 'ThreatIntelSet' : 'IPSet'
  return [
    {
      method: 'POST',
      path,
      action: `Create${noun}`,
      handler: (ctx) => {
        const i = ctx.input
        const activate = i.bool('activate')
        if (activate === undefined) throw i.missing('activate')
        const set = gd(ctx).createSet(detectorId(ctx), kind, {
          name: i.reqStr('name', { min: 1, max: 300 }),
          format: i.reqStr('format', { min: 1, max: 300 }),
          location: i.reqStr('location', { min: 1, max: 300 }),
          activate,
          tags: tags(i),
        })
        i.str('clientToken', { max: 64 })
        return { [idName]: set.id }
      },
    },
    {
      method: 'GET',
      path,
      action: `List${noun}s`,
      handler: (ctx) => {
        const p = paged(
          gd(ctx)
            .listSets(detectorId(ctx), kind)
            .map((s) => s.id),
          page(ctx, true),
        )
        return {
          [kind === 'threat' ? 'threatIntelSetIds' : 'ipSetIds']: p.items,
          ...(p.nextToken ? { nextToken: p.nextToken } : {}),
        }
      },
    },
    {
      method: 'GET',
      path: `${path}/{${idName}}`,
      action: `Get${noun}`,
      handler: (ctx) => setShape(gd(ctx).getSet(detectorId(ctx), kind, ctx.uri.get(idName) ?? '')),
    },
    {
      method: 'DELETE',
      path: `${path}/{${idName}}`,
      action: `Delete${noun}`,
      handler: (ctx) => {
        gd(ctx).deleteSet(detectorId(ctx), kind, ctx.uri.get(idName) ?? '')
        return {}
      },
    },
  ]
}

export const GUARDDUTY_ROUTES: readonly RestRoute[] = [
  {
    method: 'POST',
    path: '/detector',
    action: 'CreateDetector',
    handler: (ctx) => {
      const i = ctx.input
      const enable = i.bool('enable')
      if (enable === undefined) throw i.missing('enable')
      i.str('clientToken', { max: 64 })
      const d = gd(ctx).createDetector({
        enable,
        findingPublishingFrequency: i.enumOf('findingPublishingFrequency', PUBLISHING_FREQUENCIES),
        tags: tags(i),
      })
      return { detectorId: d.id }
    },
  },
  {
    method: 'GET',
    path: '/detector',
    action: 'ListDetectors',
    handler: (ctx) => {
      const p = paged(
        gd(ctx)
          .listDetectors()
          .map((d) => d.id),
        page(ctx, true),
      )
      return { detectorIds: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) }
    },
  },
  {
    method: 'GET',
    path: '/detector/{detectorId}',
    action: 'GetDetector',
    handler: (ctx) => {
      const d = gd(ctx).detector(detectorId(ctx))
      return {
        createdAt: d.createdAt,
        findingPublishingFrequency: d.findingPublishingFrequency,
        serviceRole: `arn:aws:iam::${ctx.cp.accountId}:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty`,
        status: d.status,
        updatedAt: d.updatedAt,
        dataSources: {
          cloudTrail: { status: 'DISABLED' },
          dnsLogs: { status: 'DISABLED' },
          flowLogs: { status: 'ENABLED' },
          s3Logs: { status: 'DISABLED' },
        },
        tags: d.tags,
      }
    },
  },
  {
    method: 'POST',
    path: '/detector/{detectorId}',
    action: 'UpdateDetector',
    handler: (ctx) => {
      const freq = ctx.input.enumOf('findingPublishingFrequency', PUBLISHING_FREQUENCIES)
      gd(ctx).updateDetector(detectorId(ctx), {
        enable: ctx.input.bool('enable'),
        ...(freq !== undefined ? { findingPublishingFrequency: freq } : {}),
      })
      return {}
    },
  },
  {
    method: 'DELETE',
    path: '/detector/{detectorId}',
    action: 'DeleteDetector',
    handler: (ctx) => {
      gd(ctx).deleteDetector(detectorId(ctx))
      return {}
    },
  },
  {
    method: 'POST',
    path: '/detector/{detectorId}/findings',
    action: 'ListFindings',
    handler: (ctx) => {
      const list = gd(ctx).queryFindings(detectorId(ctx), criteria(ctx.body), sortCriteria(ctx.input))
      const p = paged(
        list.map((f) => f.Id),
        page(ctx, false),
      )
      return { findingIds: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) }
    },
  },
  {
    method: 'POST',
    path: '/detector/{detectorId}/findings/get',
    action: 'GetFindings',
    handler: (ctx) => {
      const ids = findingIds(ctx.input)
      const sort = sortCriteria(ctx.input)
      let found = gd(ctx).getFindings(detectorId(ctx), ids)
      if (sort?.attributeName !== undefined) {
        const order = new Map(
          gd(ctx)
            .queryFindings(detectorId(ctx), undefined, sort)
            .map((f, i) => [f.Id, i]),
        )
        found = found.sort((a, b) => order.get(a.Id)! - order.get(b.Id)!)
      }
      return { findings: found.map(findingWire) }
    },
  },
  {
    method: 'POST',
    path: '/detector/{detectorId}/findings/statistics',
    action: 'GetFindingsStatistics',
    handler: (ctx) => {
      const types = ctx.input.strList('findingStatisticTypes', { max: 10 }, { min: 1, max: 64 })
      for (const t of types ?? [])
        if (t !== 'COUNT_BY_SEVERITY')
          throw bad(
            `The request is rejected because the finding statistic type '${truncate(t)}' is not COUNT_BY_SEVERITY.`,
          )
      const counts: Record<string, number> = {}
      for (const f of gd(ctx).queryFindings(detectorId(ctx), criteria(ctx.body))) {
        const k = f.Severity.toFixed(1)
        counts[k] = (counts[k] ?? 0) + 1
      }
      return { findingStatistics: { countBySeverity: counts } }
    },
  },
  {
    method: 'POST',
    path: '/detector/{detectorId}/findings/archive',
    action: 'ArchiveFindings',
    handler: (ctx) => {
      gd(ctx).archive(detectorId(ctx), findingIds(ctx.input), true)
      return {}
    },
  },
  {
    method: 'POST',
    path: '/detector/{detectorId}/findings/unarchive',
    action: 'UnarchiveFindings',
    handler: (ctx) => {
      gd(ctx).archive(detectorId(ctx), findingIds(ctx.input), false)
      return {}
    },
  },
  ...setActions('threat'),
  ...setActions('ip'),
]

/** The formats a list may declare (mirrorflow reads TXT). */
export const GUARDDUTY_LIST_FORMATS = LIST_FORMATS

export function guarddutyEndpoint(cp: ControlPlane): ServiceEndpoint {
  return restJsonEndpoint(cp, {
    signingName: 'guardduty',
    routes: GUARDDUTY_ROUTES,
    invalid: (m) => new ApiError('BadRequestException', m),
    bodyType: (code) => (code === 'BadRequestException' ? 'InvalidInputException' : code),
  })
}
