// SPDX-License-Identifier: Apache-2.0
/**
 * A recorded call as the request path leaves it ({@link RawCall}: plain data, so that it can cross
 * to the trail's writer thread), and how the writer turns it into its CloudTrail record
 * ({@link renderCall}): parameters and answer rendered, resources found, an event id given.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { EventResource, RenderedEvent, UserIdentity } from '../../../control/index.ts'
import { EVENT_VERSION, isoSeconds } from '../../../control/index.ts'
import { JSON_WIRE_CODES } from '../../protocols/json-1.1/index.ts'
import { renderRequest, renderResponse, type RenderProtocol } from './render.ts'

/** The raw facts of one answered call, taken on the request path. */
export interface RawCall {
  identity: UserIdentity
  /** ms since the epoch. */
  time: number
  service: string
  protocol: RenderProtocol
  action: string
  region: string
  sourceIp: string
  userAgent: string
  requestId: string
  accountId: string
  readOnly: boolean
  /** The query string and body, when their signature was checked ('' / undefined otherwise). */
  query: string
  /** The body's bytes, one character each (latin1). */
  body: string | undefined
  error: { awsCode: string; httpStatus: number; message: string } | undefined
  response: { contentType: string; body: string } | undefined
}

/**
 * A call as one string (what crosses to the writer thread: one copy, no object graph to clone):
 * its fields in a fixed order, each as `<length>:<text>`; the identity as its JSON (the recorder
 * keeps it per access key), an absent field as `-`.
 */
export function encodeCall(c: RawCall, identityJson: string): string {
  const f = (v: string | undefined): string => (v === undefined ? '-' : `${v.length}:${v}`)
  const e = c.error
  return (
    f(identityJson) +
    f(String(c.time)) +
    f(c.service) +
    f(c.protocol) +
    f(c.action) +
    f(c.region) +
    f(c.sourceIp) +
    f(c.userAgent) +
    f(c.requestId) +
    f(c.accountId) +
    (c.readOnly ? '1' : '0') +
    f(c.query) +
    f(c.body) +
    f(e?.awsCode) +
    f(e === undefined ? undefined : String(e.httpStatus)) +
    f(e?.message) +
    f(c.response?.contentType) +
    f(c.response?.body)
  )
}

const identities = new Map<string, UserIdentity>()

/** The call {@link encodeCall} wrote (throws on a string it did not write). */
export function decodeCall(s: string): RawCall {
  let i = 0
  const f = (): string | undefined => {
    if (s[i] === '-') {
      i++
      return undefined
    }
    const colon = s.indexOf(':', i)
    if (colon < 0 || colon - i > 9) throw new Error('malformed call')
    const len = Number(s.slice(i, colon))
    const v = s.slice(colon + 1, colon + 1 + len)
    if (!Number.isInteger(len) || v.length !== len) throw new Error('malformed call')
    i = colon + 1 + len
    return v
  }
  const req = (): string => {
    const v = f()
    if (v === undefined) throw new Error('malformed call')
    return v
  }
  const idJson = req()
  let identity = identities.get(idJson)
  if (identity === undefined) {
    if (identities.size >= 10_000) identities.clear()
    identities.set(idJson, (identity = JSON.parse(idJson) as UserIdentity))
  }
  const time = Number(req())
  const service = req()
  const protocol = req() as RenderProtocol
  const action = req()
  const region = req()
  const sourceIp = req()
  const userAgent = req()
  const requestId = req()
  const accountId = req()
  const readOnly = s[i++] === '1'
  const query = req()
  const body = f()
  const awsCode = f()
  const httpStatus = f()
  const message = f()
  const contentType = f()
  const responseBody = f()
  return {
    identity,
    time,
    service,
    protocol,
    action,
    region,
    sourceIp,
    userAgent,
    requestId,
    accountId,
    readOnly,
    query,
    body,
    error:
      awsCode === undefined ? undefined : { awsCode, httpStatus: Number(httpStatus), message: message ?? '' },
    response: contentType === undefined ? undefined : { contentType, body: responseBody ?? '' },
  }
}

/** Ids of the EC2 resources mirrorflow serves, and their CloudFormation-style types. */
const EC2_ID = /^(vpc|subnet|eni|i|tmt|tmfr|tmf|tms|fl|sg|sgr|acl)-(?:[0-9a-f]{8}|[0-9a-f]{17})$/
const EC2_TYPE: Record<string, string> = {
  vpc: 'AWS::EC2::VPC',
  subnet: 'AWS::EC2::Subnet',
  eni: 'AWS::EC2::NetworkInterface',
  i: 'AWS::EC2::Instance',
  tmt: 'AWS::EC2::TrafficMirrorTarget',
  tmf: 'AWS::EC2::TrafficMirrorFilter',
  tmfr: 'AWS::EC2::TrafficMirrorFilterRule',
  tms: 'AWS::EC2::TrafficMirrorSession',
  fl: 'AWS::EC2::FlowLog',
  sg: 'AWS::EC2::SecurityGroup',
  sgr: 'AWS::EC2::SecurityGroupRule',
  acl: 'AWS::EC2::NetworkAcl',
}
/** Members that name a resource by name, per service. */
const NAMED: Record<string, Record<string, string>> = {
  iam: {
    userName: 'AWS::IAM::User',
    groupName: 'AWS::IAM::Group',
    roleName: 'AWS::IAM::Role',
    policyArn: 'AWS::IAM::Policy',
    accessKeyId: 'AWS::IAM::AccessKey',
  },
  sts: { roleArn: 'AWS::IAM::Role' },
  logs: { logGroupName: 'AWS::Logs::LogGroup', logStreamName: 'AWS::Logs::LogStream' },
  cloudtrail: { name: 'AWS::CloudTrail::Trail', trailName: 'AWS::CloudTrail::Trail' },
  guardduty: { detectorId: 'AWS::GuardDuty::Detector' },
}
const MAX_RESOURCES = 20

export function resourcesOf(service: string, values: unknown[]): EventResource[] {
  const out: EventResource[] = []
  const seen = new Set<string>()
  const named = NAMED[service]
  const visit = (v: unknown, key: string, depth: number): void => {
    if (out.length >= MAX_RESOURCES || depth > 16) return
    if (typeof v === 'string') {
      let type: string | undefined
      const m = v.length <= 30 ? EC2_ID.exec(v) : null
      if (m !== null) type = EC2_TYPE[m[1]!]
      else if (named !== undefined) type = named[key]
      if (type !== undefined && v.length <= 2048 && !seen.has(`${type}|${v}`)) {
        seen.add(`${type}|${v}`)
        out.push({ type, name: v })
      }
    } else if (Array.isArray(v)) for (const x of v) visit(x, key, depth + 1)
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) visit(x, k, depth + 1)
    }
  }
  for (const v of values) visit(v, '', 0)
  return out
}

/**
 * Event ids: random version-4 UUIDs, cut from 4 KiB of randomness drawn at a time (one draw per
 * 256 events rather than one per event).
 */
let pool = Buffer.alloc(0)
let at = 0
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function eventId(): string {
  if (at + 16 > pool.length) {
    pool = randomBytes(4096)
    at = 0
  }
  const b = pool
  const o = at
  at += 16
  const h = (i: number): string => HEX[b[o + i]!]!
  return (
    h(0) +
    h(1) +
    h(2) +
    h(3) +
    '-' +
    h(4) +
    h(5) +
    '-' +
    HEX[(b[o + 6]! & 0x0f) | 0x40]! +
    h(7) +
    '-' +
    HEX[(b[o + 8]! & 0x3f) | 0x80]! +
    h(9) +
    '-' +
    h(10) +
    h(11) +
    h(12) +
    h(13) +
    h(14) +
    h(15)
  )
}

/** The error code a record carries: EC2's `Client.`/`Server.` prefix, the JSON protocols' wire codes. */
function errorCode(protocol: RenderProtocol, e: NonNullable<RawCall['error']>): string {
  if (protocol === 'ec2-query') return `${e.httpStatus >= 500 ? 'Server' : 'Client'}.${e.awsCode}`
  if (protocol === 'json-1.1') return JSON_WIRE_CODES[e.awsCode] ?? e.awsCode
  return e.awsCode
}

/** A call's (a {@link RawCall} or its encoding) CloudTrail record, with the resources and user name LookupEvents finds it by. */
export function renderCall(item: unknown): RenderedEvent | undefined {
  const c = typeof item === 'string' ? decodeCall(item) : (item as RawCall)
  const body = c.body === undefined ? undefined : Buffer.from(c.body, 'latin1')
  // Parameters are only rendered for a body whose signature was checked (or a failure after it).
  const requestParameters = renderRequest(c.protocol, c.query, body)
  const responseElements =
    c.response === undefined || c.readOnly
      ? null
      : renderResponse(c.protocol, c.response.contentType, c.response.body)
  const error = c.error
  const record = {
    eventVersion: EVENT_VERSION,
    userIdentity: c.identity,
    eventTime: isoSeconds(c.time),
    eventSource: `${c.service}.amazonaws.com`,
    eventName: c.action,
    awsRegion: c.region,
    sourceIPAddress: c.sourceIp,
    userAgent: c.userAgent,
    ...(error === undefined
      ? {}
      : { errorCode: errorCode(c.protocol, error), errorMessage: error.message.slice(0, 2048) }),
    requestParameters,
    responseElements,
    requestID: c.requestId,
    eventID: eventId(),
    readOnly: c.readOnly,
    eventType: 'AwsApiCall' as const,
    managementEvent: true as const,
    recipientAccountId: c.accountId,
    eventCategory: 'Management' as const,
  }
  return {
    record,
    resources: resourcesOf(c.service, [requestParameters, responseElements]),
    username: c.identity.userName ?? c.identity.sessionContext?.sessionIssuer?.userName,
  }
}
