// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs Insights' actions: StartQuery, GetQueryResults, StopQuery, DescribeQueries. The
 * flow-log formats of the flow logs delivering to the queried groups are passed to the engine, so
 * that custom-format records get their fields discovered too.
 * @module
 */
import { ApiError, type ControlPlane, type FlowLog, type QueryStatus } from '../../../control/index.ts'
import { flowFormat, formatFields, type FlowFormat } from '../../../logs/index.ts'
import type { JsonHandler, StrOpts } from '../../protocols/json-1.1/index.ts'

const GROUP: StrOpts = { min: 1, max: 512 }
const GROUP_ID: StrOpts = { min: 1, max: 2048 }

/** The formats of the flow logs that deliver to these log groups (custom formats first, each once). */
function formatsFor(cp: ControlPlane, groups: readonly string[]): FlowFormat[] {
  const want = new Set(groups.map((g) => g.replace(/^arn:.*:log-group:/, '').replace(/:\*$/, '')))
  const seen = new Set<string>()
  const out: FlowFormat[] = []
  for (const r of cp.state.tables.get('flow-log')?.values() ?? []) {
    const f = r as FlowLog
    if (
      f.logDestinationType !== 'cloud-watch-logs' ||
      f.logGroupName === undefined ||
      !want.has(f.logGroupName)
    )
      continue
    if (seen.has(f.logFormat)) continue
    seen.add(f.logFormat)
    const fields = formatFields(f.logFormat)
    if (fields.length > 0) out.push(flowFormat(fields))
  }
  return out
}

export function insightsHandlers(): Map<string, JsonHandler> {
  const h = new Map<string, JsonHandler>()
  h.set('StartQuery', ({ input: i, cp }) => {
    const one = i.str('logGroupName', GROUP)
    const names = i.strList('logGroupNames', { max: 50 }, GROUP)
    const ids = i.strList('logGroupIdentifiers', { max: 50 }, GROUP_ID)
    const given = [one !== undefined, names !== undefined, ids !== undefined].filter(Boolean).length
    if (given > 1)
      throw new ApiError(
        'InvalidParameterException',
        'logGroupName, logGroupNames and logGroupIdentifiers are mutually exclusive.',
      )
    const groups = one !== undefined ? [one] : (names ?? ids ?? [])
    const startTime = i.reqInt('startTime', { min: 0 })
    const endTime = i.reqInt('endTime', { min: 0 })
    const query = i.reqStr('queryString', { max: 10_000 })
    const limit = i.int('limit', { min: 1, max: 10_000 })
    const queryId = cp.logs.queries.start({
      groups,
      startTime,
      endTime,
      query,
      ...(limit !== undefined ? { limit } : {}),
      formats: formatsFor(cp, groups),
    })
    return { queryId }
  })
  h.set('GetQueryResults', ({ input: i, cp }) => cp.logs.queries.results(i.reqStr('queryId', { max: 256 })))
  h.set('StopQuery', ({ input: i, cp }) => ({
    success: cp.logs.queries.stop(i.reqStr('queryId', { max: 256 })),
  }))
  h.set('DescribeQueries', ({ input: i, cp }) => {
    const group = i.str('logGroupName', GROUP)
    const status = i.enumOf<QueryStatus>('status', [
      'Scheduled',
      'Running',
      'Complete',
      'Failed',
      'Cancelled',
      'Timeout',
      'Unknown',
    ] as QueryStatus[])
    const maxResults = i.int('maxResults', { min: 1, max: 1000 })
    const nextToken = i.str('nextToken', { min: 1, max: 64 })
    return cp.logs.queries.describe({
      ...(group !== undefined ? { group } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(maxResults !== undefined ? { maxResults } : {}),
      ...(nextToken !== undefined ? { nextToken } : {}),
    })
  })
  return h
}
