// SPDX-License-Identifier: Apache-2.0
/**
 * CloudTrail's actions (JSON 1.1, signing name `cloudtrail`, target prefix
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`): LookupEvents over the event store;
 * CreateTrail, DescribeTrails, GetTrail, GetTrailStatus, StartLogging, StopLogging, DeleteTrail over
 * the trails; ListPublicKeys for the digest signing key. Thin handlers over control/cloudtrail/.
 * @module
 */
import { ApiError, isoSeconds, type Trail } from '../../../control/index.ts'
import type { JsonContext, JsonHandler } from '../../protocols/json-1.1/index.ts'
import type { JsonInput } from '../../protocols/json-1.1/index.ts'

export {
  AuditRecorder,
  claimedCredential,
  defaultPrincipals,
  type CallOutcome,
  type PrincipalResolver,
} from './recorder.ts'
export { HIDDEN, isSecretName, renderRequest, renderResponse } from './render.ts'

export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101'

/** CloudTrail's validation error. */
export function cloudTrailInvalid(message: string): ApiError {
  return new ApiError('InvalidParameterException', message)
}

const NAME = { min: 1, max: 1024 }

function trailShape(t: Trail): Record<string, unknown> {
  return {
    Name: t.name,
    S3BucketName: t.s3BucketName,
    ...(t.s3KeyPrefix === '' ? {} : { S3KeyPrefix: t.s3KeyPrefix }),
    IncludeGlobalServiceEvents: t.includeGlobalServiceEvents,
    IsMultiRegionTrail: t.isMultiRegionTrail,
    HomeRegion: t.homeRegion,
    TrailARN: t.trailArn,
    LogFileValidationEnabled: t.logFileValidationEnabled,
    HasCustomEventSelectors: false,
    HasInsightSelectors: false,
    IsOrganizationTrail: false,
  }
}

/** Epoch seconds (JSON 1.1's timestamp form) of a time in ms. */
function epoch(ms: number): number {
  return ms / 1000
}

function time(input: JsonInput, name: string): number | undefined {
  const v = input.num(name)
  if (v === undefined) return undefined
  if (v < 0 || v > 253402300799) throw cloudTrailInvalid(`${name} is out of range.`)
  return Math.round(v * 1000)
}

function lookupEvents(ctx: JsonContext): object {
  const i = ctx.input
  const attrs = i.list('LookupAttributes', { max: 50 })?.map((a) => ({
    key: a.reqStr('AttributeKey', { min: 1, max: 64 }),
    value: a.reqStr('AttributeValue', { min: 0, max: 2000 }),
  }))
  const out = ctx.cp.cloudtrail.lookup({
    lookupAttributes: attrs,
    startTime: time(i, 'StartTime'),
    endTime: time(i, 'EndTime'),
    maxResults: i.int('MaxResults', {}),
    nextToken: i.str('NextToken', { min: 1, max: 1000 }),
    eventCategory: i.str('EventCategory', { min: 1, max: 64 }),
  })
  return {
    Events: out.events.map((e) => ({
      EventId: e.eventId,
      EventName: e.eventName,
      ReadOnly: String(e.readOnly),
      ...(e.accessKeyId === null ? {} : { AccessKeyId: e.accessKeyId }),
      EventTime: epoch(e.time),
      EventSource: e.eventSource,
      ...(e.username === null ? {} : { Username: e.username }),
      Resources: e.resources.map((r) => ({ ResourceType: r.type, ResourceName: r.name })),
      CloudTrailEvent: e.json,
    })),
    ...(out.nextToken === undefined ? {} : { NextToken: out.nextToken }),
  }
}

function createTrail(ctx: JsonContext): object {
  const i = ctx.input
  for (const m of ['SnsTopicName', 'CloudWatchLogsLogGroupArn', 'CloudWatchLogsRoleArn', 'KmsKeyId']) {
    if (i.has(m)) throw cloudTrailInvalid(`${m} is not supported by mirrorflow's CloudTrail.`)
  }
  if (i.bool('IsOrganizationTrail') === true)
    throw cloudTrailInvalid('Organization trails are not supported by mirrorflow.')
  const t = ctx.cp.cloudtrail.trails.create({
    name: i.reqStr('Name', NAME),
    s3BucketName: i.reqStr('S3BucketName', NAME),
    s3KeyPrefix: i.str('S3KeyPrefix', { min: 0, max: 1024 }),
    includeGlobalServiceEvents: i.bool('IncludeGlobalServiceEvents'),
    isMultiRegionTrail: i.bool('IsMultiRegionTrail'),
    enableLogFileValidation: i.bool('EnableLogFileValidation'),
  })
  const s = trailShape(t)
  delete s.HomeRegion
  delete s.HasCustomEventSelectors
  delete s.HasInsightSelectors
  return s
}

function describeTrails(ctx: JsonContext): object {
  const names = ctx.input.strList('trailNameList', { max: 50 }, NAME)
  const all = ctx.cp.cloudtrail.trails.list()
  const list =
    names === undefined || names.length === 0
      ? all
      : all.filter((t) => names.includes(t.name) || names.includes(t.trailArn))
  return { trailList: list.map(trailShape) }
}

function getTrailStatus(ctx: JsonContext): object {
  const t = ctx.cp.cloudtrail.trails.get(ctx.input.reqStr('Name', NAME))
  const d = ctx.cp.cloudtrail.delivery
  const s = d?.statusOf(t.id)
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : isoSeconds(ms))
  const out: Record<string, unknown> = {
    IsLogging: t.isLogging,
    ...(t.startLoggingTime === undefined
      ? {}
      : {
          StartLoggingTime: epoch(Date.parse(t.startLoggingTime)),
          TimeLoggingStarted: isoSeconds(Date.parse(t.startLoggingTime)),
        }),
    ...(t.stopLoggingTime === undefined
      ? {}
      : {
          StopLoggingTime: epoch(Date.parse(t.stopLoggingTime)),
          TimeLoggingStopped: isoSeconds(Date.parse(t.stopLoggingTime)),
        }),
  }
  if (d === undefined)
    out.LatestDeliveryError = 'This server has no data directory: trails are not delivered.'
  if (s !== undefined) {
    if (s.latestDeliveryTime !== undefined) out.LatestDeliveryTime = epoch(s.latestDeliveryTime)
    if (s.latestDeliveryError !== undefined) out.LatestDeliveryError = s.latestDeliveryError
    if (s.latestDigestDeliveryTime !== undefined)
      out.LatestDigestDeliveryTime = epoch(s.latestDigestDeliveryTime)
    if (s.latestDigestDeliveryError !== undefined) out.LatestDigestDeliveryError = s.latestDigestDeliveryError
    const at = iso(s.latestDeliveryAttemptTime)
    if (at !== undefined) out.LatestDeliveryAttemptTime = at
    const ok = iso(s.latestDeliveryAttemptSucceeded)
    if (ok !== undefined) out.LatestDeliveryAttemptSucceeded = ok
  }
  return out
}

function listPublicKeys(ctx: JsonContext): object {
  const d = ctx.cp.cloudtrail.delivery
  if (d === undefined) return { PublicKeyList: [] }
  const k = d.publicKeyDer()
  return {
    PublicKeyList: [
      {
        Value: k.der.toString('base64'),
        ValidityStartTime: epoch(k.createdAt),
        ValidityEndTime: epoch(k.createdAt + 10 * 365 * 86_400_000),
        Fingerprint: k.fingerprint,
      },
    ],
  }
}

/** The actions, by name. */
export function cloudTrailHandlers(): Map<string, JsonHandler> {
  return new Map<string, JsonHandler>([
    ['LookupEvents', lookupEvents],
    ['CreateTrail', createTrail],
    ['DescribeTrails', describeTrails],
    [
      'GetTrail',
      (ctx) => ({ Trail: trailShape(ctx.cp.cloudtrail.trails.get(ctx.input.reqStr('Name', NAME))) }),
    ],
    ['GetTrailStatus', getTrailStatus],
    [
      'StartLogging',
      (ctx) => {
        ctx.cp.cloudtrail.trails.startLogging(ctx.input.reqStr('Name', NAME))
        return {}
      },
    ],
    [
      'StopLogging',
      (ctx) => {
        const name = ctx.input.reqStr('Name', NAME)
        // What the trail gathered while logging is still delivered.
        ctx.cp.cloudtrail.log.flush()
        ctx.cp.cloudtrail.trails.stopLogging(name)
        return {}
      },
    ],
    [
      'DeleteTrail',
      (ctx) => {
        ctx.cp.cloudtrail.trails.delete(ctx.input.reqStr('Name', NAME))
        return {}
      },
    ],
    ['ListPublicKeys', listPublicKeys],
  ])
}
