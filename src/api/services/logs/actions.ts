// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs' actions: thin handlers that read and bound the JSON members (names and limits
 * from AWS's service model) and call `cp.logs`.
 * @module
 */
import { ApiError, MAX_BATCH_EVENTS, type InputEvent, type ControlPlane } from '../../../control/index.ts'
import type { JsonHandler, JsonInput, StrOpts } from '../../protocols/json-1.1/index.ts'
import { agentKey } from '../../auth/roles.ts'
import { checkAgentLogGroup } from './agent.ts'
import { insightsHandlers } from './insights.ts'

const GROUP: StrOpts = { min: 1, max: 512 }
const GROUP_ID: StrOpts = { min: 1, max: 2048 }
const STREAM: StrOpts = { min: 1, max: 512 }
const TOKEN: StrOpts = { min: 1, max: 4096 }
const TAG_KEY: StrOpts = { min: 1, max: 128 }
const TAG_VALUE: StrOpts = { max: 256 }
const ARN: StrOpts = { min: 1, max: 1011 }
const PATTERN: StrOpts = { max: 1024 }

/** `logGroupName` or `logGroupIdentifier` (exactly one), for the actions that take either. */
function groupOf(i: JsonInput, required = true): string | undefined {
  const name = i.str('logGroupName', GROUP)
  const id = i.str('logGroupIdentifier', GROUP_ID)
  if (name !== undefined && id !== undefined)
    throw new ApiError(
      'InvalidParameterException',
      'LogGroup name and LogGroup ARN are mutually exclusive parameters.',
    )
  const g = name ?? id
  if (g === undefined && required)
    throw new ApiError('InvalidParameterException', 'Should provide either name or ARN of the log group.')
  return g
}

function tags(i: JsonInput, name: string): Map<string, string> | undefined {
  return i.strMap(name, { min: 1, max: 50 }, TAG_KEY, TAG_VALUE)
}

/** The events of a PutLogEvents batch, read in one pass (the hot path). */
function readEvents(i: JsonInput): InputEvent[] {
  const raw = i.rawList('logEvents', { min: 1, max: MAX_BATCH_EVENTS })
  if (raw === undefined) throw i.missing('logEvents')
  const out: InputEvent[] = new Array<InputEvent>(raw.length)
  for (let k = 0; k < raw.length; k++) {
    const e = raw[k] as { timestamp?: unknown; message?: unknown } | null
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw new ApiError('SerializationException', `Member 'logEvents.${k + 1}' must be an object.`)
    const { timestamp, message } = e
    if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp))
      throw timestamp === undefined || timestamp === null
        ? i.missing(`logEvents.${k + 1}.timestamp`)
        : new ApiError('SerializationException', `Member 'logEvents.${k + 1}.timestamp' must be an integer.`)
    if (typeof message !== 'string')
      throw message === undefined || message === null
        ? i.missing(`logEvents.${k + 1}.message`)
        : new ApiError('SerializationException', `Member 'logEvents.${k + 1}.message' must be a string.`)
    if (timestamp < 0)
      throw i.violation(
        `logEvents.${k + 1}.timestamp`,
        timestamp,
        'Member must have value greater than or equal to 0',
      )
    if (message.length === 0)
      throw i.violation(
        `logEvents.${k + 1}.message`,
        message,
        'Member must have length greater than or equal to 1',
      )
    out[k] = { timestamp, message }
  }
  return out
}

export function logsHandlers(): Map<string, JsonHandler> {
  const h = new Map<string, JsonHandler>()
  const add = (
    name: string,
    fn: (i: JsonInput, cp: ControlPlane, ctx: Parameters<JsonHandler>[0]) => object,
  ) => h.set(name, (ctx) => fn(ctx.input, ctx.cp, ctx))

  add('CreateLogGroup', (i, cp, ctx) => {
    const name = i.reqStr('logGroupName', GROUP)
    const kms = i.str('kmsKeyId', { max: 256 })
    const cls = i.enumOf('logGroupClass', ['STANDARD', 'INFREQUENT_ACCESS'])
    const t = tags(i, 'tags')
    checkAgentLogGroup(cp, ctx.accessKeyId, name, 'logs:createloggroup')
    cp.logs.createLogGroup(name, {
      ...(kms !== undefined ? { kmsKeyId: kms } : {}),
      ...(cls !== undefined ? { logGroupClass: cls } : {}),
      ...(t !== undefined ? { tags: t } : {}),
    })
    return {}
  })
  add('DeleteLogGroup', (i, cp) => {
    cp.logs.deleteLogGroup(i.reqStr('logGroupName', GROUP))
    return {}
  })
  add('DescribeLogGroups', (i, cp) => {
    i.strList('accountIdentifiers', { max: 20 }, { min: 12, max: 12 })
    i.bool('includeLinkedAccounts')
    const prefix = i.str('logGroupNamePrefix', GROUP)
    const pattern = i.str('logGroupNamePattern', { max: 512 })
    const limit = i.int('limit', { min: 1, max: 50 })
    const nextToken = i.str('nextToken', TOKEN)
    return cp.logs.describeLogGroups({
      ...(prefix !== undefined ? { prefix } : {}),
      ...(pattern !== undefined ? { pattern } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(nextToken !== undefined ? { nextToken } : {}),
    })
  })
  add('PutRetentionPolicy', (i, cp) => {
    const name = i.reqStr('logGroupName', GROUP)
    cp.logs.putRetentionPolicy(name, i.reqInt('retentionInDays'))
    return {}
  })
  add('DeleteRetentionPolicy', (i, cp) => {
    cp.logs.deleteRetentionPolicy(i.reqStr('logGroupName', GROUP))
    return {}
  })

  add('CreateLogStream', (i, cp, ctx) => {
    const group = i.reqStr('logGroupName', GROUP)
    const stream = i.reqStr('logStreamName', STREAM)
    checkAgentLogGroup(cp, ctx.accessKeyId, group, 'logs:createlogstream', stream)
    cp.logs.createLogStream(group, stream)
    return {}
  })
  add('DeleteLogStream', (i, cp) => {
    cp.logs.deleteLogStream(i.reqStr('logGroupName', GROUP), i.reqStr('logStreamName', STREAM))
    return {}
  })
  add('DescribeLogStreams', (i, cp) => {
    const group = groupOf(i)!
    const prefix = i.str('logStreamNamePrefix', STREAM)
    const orderBy = i.enumOf('orderBy', ['LogStreamName', 'LastEventTime'])
    const descending = i.bool('descending')
    const nextToken = i.str('nextToken', TOKEN)
    const limit = i.int('limit', { min: 1, max: 50 })
    return cp.logs.describeLogStreams({
      group,
      ...(prefix !== undefined ? { prefix } : {}),
      ...(orderBy !== undefined ? { orderBy } : {}),
      ...(descending !== undefined ? { descending } : {}),
      ...(nextToken !== undefined ? { nextToken } : {}),
      ...(limit !== undefined ? { limit } : {}),
    })
  })

  add('PutLogEvents', (i, cp, ctx) => {
    const group = i.reqStr('logGroupName', GROUP)
    const stream = i.reqStr('logStreamName', STREAM)
    i.str('sequenceToken', TOKEN) // accepted and ignored, as AWS does now
    const events = readEvents(i)
    checkAgentLogGroup(cp, ctx.accessKeyId, group, 'logs:putlogevents', stream)
    if (agentKey(cp, ctx.accessKeyId) === undefined) return cp.logs.putLogEvents(group, stream, events)
    // An agent delivering a flow log: how it went is the flow log's DeliverLogsStatus.
    try {
      const out = cp.logs.putLogEvents(group, stream, events)
      cp.logs.noteDelivery(group, null)
      return out
    } catch (err) {
      const e = err as ApiError
      // A missing group or stream is created by the agent next (the role allowing it: role.ts).
      if (e.awsCode !== 'ResourceNotFoundException') cp.logs.noteDelivery(group, e.message)
      throw err
    }
  })
  add('GetLogEvents', (i, cp) => {
    const group = groupOf(i)!
    const stream = i.reqStr('logStreamName', STREAM)
    const startTime = i.int('startTime', { min: 0 })
    const endTime = i.int('endTime', { min: 0 })
    const nextToken = i.str('nextToken', TOKEN)
    const limit = i.int('limit', { min: 1, max: 10_000 })
    const startFromHead = i.bool('startFromHead')
    i.bool('unmask')
    return cp.logs.getLogEvents({
      group,
      stream,
      ...(startTime !== undefined ? { startTime } : {}),
      ...(endTime !== undefined ? { endTime } : {}),
      ...(nextToken !== undefined ? { nextToken } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(startFromHead !== undefined ? { startFromHead } : {}),
    })
  })
  add('FilterLogEvents', (i, cp) => {
    const group = groupOf(i)!
    const streamNames = i.strList('logStreamNames', { min: 1, max: 100 }, STREAM)
    const streamPrefix = i.str('logStreamNamePrefix', STREAM)
    const startTime = i.int('startTime', { min: 0 })
    const endTime = i.int('endTime', { min: 0 })
    const filterPattern = i.str('filterPattern', PATTERN)
    const nextToken = i.str('nextToken', TOKEN)
    const limit = i.int('limit', { min: 1, max: 10_000 })
    i.bool('interleaved')
    i.bool('unmask')
    return cp.logs.filterLogEvents({
      group,
      ...(streamNames !== undefined ? { streamNames } : {}),
      ...(streamPrefix !== undefined ? { streamPrefix } : {}),
      ...(startTime !== undefined ? { startTime } : {}),
      ...(endTime !== undefined ? { endTime } : {}),
      ...(filterPattern !== undefined ? { filterPattern } : {}),
      ...(nextToken !== undefined ? { nextToken } : {}),
      ...(limit !== undefined ? { limit } : {}),
    })
  })

  add('TagResource', (i, cp) => {
    const g = cp.logs.groupOfArn(i.reqStr('resourceArn', ARN))
    const t = tags(i, 'tags')
    if (t === undefined) throw i.missing('tags')
    cp.logs.tagGroup(g, t)
    return {}
  })
  add('UntagResource', (i, cp) => {
    const g = cp.logs.groupOfArn(i.reqStr('resourceArn', ARN))
    const keys = i.strList('tagKeys', { max: 50 }, TAG_KEY)
    if (keys === undefined) throw i.missing('tagKeys')
    cp.logs.untagGroup(g, keys)
    return {}
  })
  add('ListTagsForResource', (i, cp) => ({
    tags: cp.logs.tagsOf(cp.logs.groupOfArn(i.reqStr('resourceArn', ARN))),
  }))
  add('TagLogGroup', (i, cp) => {
    const g = cp.logs.requireGroup(i.reqStr('logGroupName', GROUP))
    const t = tags(i, 'tags')
    if (t === undefined) throw i.missing('tags')
    cp.logs.tagGroup(g, t)
    return {}
  })
  add('UntagLogGroup', (i, cp) => {
    const g = cp.logs.requireGroup(i.reqStr('logGroupName', GROUP))
    const keys = i.strList('tags', { min: 1, max: 50 }, TAG_KEY)
    if (keys === undefined) throw i.missing('tags')
    cp.logs.untagGroup(g, keys)
    return {}
  })
  add('ListTagsLogGroup', (i, cp) => ({
    tags: cp.logs.tagsOf(cp.logs.requireGroup(i.reqStr('logGroupName', GROUP))),
  }))

  add('PutMetricFilter', (i, cp) => {
    const group = i.reqStr('logGroupName', GROUP)
    const name = i.reqStr('filterName', {
      min: 1,
      max: 512,
      valid: (s) => !s.includes(':') && !s.includes('*'),
      pattern: '[^:*]*',
    })
    const pattern = i.str('filterPattern', PATTERN)
    if (pattern === undefined) throw i.missing('filterPattern')
    const ts = i.list('metricTransformations', { min: 1, max: 1 })
    if (ts === undefined) throw i.missing('metricTransformations')
    const t = ts[0]!
    const metricOpts: StrOpts = { min: 1, max: 255, valid: (s) => !/[:*$]/.test(s), pattern: '[^:*$]*' }
    const metricName = t.reqStr('metricName', metricOpts)
    const metricNamespace = t.reqStr('metricNamespace', metricOpts)
    const metricValue = t.reqStr('metricValue', { min: 1, max: 100 })
    const defaultValue = t.num('defaultValue')
    const dimensions = t.strMap('dimensions', { max: 3 }, { min: 1, max: 255 }, { min: 1, max: 255 })
    const unit = t.str('unit', { max: 32 })
    cp.logs.putMetricFilter(group, name, pattern, {
      metricName,
      metricNamespace,
      metricValue,
      ...(defaultValue !== undefined ? { defaultValue } : {}),
      ...(dimensions !== undefined ? { dimensions: Object.fromEntries(dimensions) } : {}),
      ...(unit !== undefined ? { unit } : {}),
    })
    return {}
  })
  add('DeleteMetricFilter', (i, cp) => {
    cp.logs.deleteMetricFilter(i.reqStr('logGroupName', GROUP), i.reqStr('filterName', { min: 1, max: 512 }))
    return {}
  })
  add('DescribeMetricFilters', (i, cp) => {
    const group = i.str('logGroupName', GROUP)
    const prefix = i.str('filterNamePrefix', { min: 1, max: 512 })
    const metricName = i.str('metricName', { max: 255 })
    const metricNamespace = i.str('metricNamespace', { max: 255 })
    const limit = i.int('limit', { min: 1, max: 50 })
    const nextToken = i.str('nextToken', TOKEN)
    return cp.logs.describeMetricFilters({
      ...(group !== undefined ? { group } : {}),
      ...(prefix !== undefined ? { prefix } : {}),
      ...(metricName !== undefined ? { metricName } : {}),
      ...(metricNamespace !== undefined ? { metricNamespace } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(nextToken !== undefined ? { nextToken } : {}),
    })
  })
  add('TestMetricFilter', (i, cp) => {
    const pattern = i.str('filterPattern', PATTERN)
    if (pattern === undefined) throw i.missing('filterPattern')
    const messages = i.strList('logEventMessages', { min: 1, max: 50 }, { min: 1, max: 262_144 })
    if (messages === undefined) throw i.missing('logEventMessages')
    return { matches: cp.logs.testMetricFilter(pattern, messages) }
  })

  for (const [name, fn] of insightsHandlers()) h.set(name, fn)
  return h
}
