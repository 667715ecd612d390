// SPDX-License-Identifier: Apache-2.0
/**
 * A recorded call as the request path leaves it ({@link RawCall}, written as bytes into the event
 * log's chunk that crosses to the trail's writer thread), and how the writer turns it into its CloudTrail record
 * ({@link renderCall}): parameters and answer rendered, resources found, an event id given.
 * @module
 */
import type { EventResource, RenderedEvent, UserIdentity } from '../../../control/index.ts'
import { EVENT_VERSION, HEX_BYTE, idBytes, isoSeconds } from '../../../control/index.ts'
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
  /** The body's bytes. */
  body: Uint8Array | undefined
  error: { awsCode: string; httpStatus: number; message: string } | undefined
  response: { contentType: string; body: string } | undefined
}

const HAS_BODY = 1
const HAS_ERROR = 2
const HAS_RESPONSE = 4

/**
 * The most bytes {@link writeCall} writes for a call (UTF-8 takes at most 3 bytes per UTF-16 unit),
 * its identity's JSON being `identity` (UTF-8).
 */
export function callBound(c: RawCall, identity: Uint8Array): number {
  const e = c.error
  const r = c.response
  return (
    4 * 16 +
    16 +
    identity.length +
    3 *
      (c.service.length +
        c.protocol.length +
        c.action.length +
        c.region.length +
        c.sourceIp.length +
        c.userAgent.length +
        c.requestId.length +
        c.accountId.length +
        c.query.length +
        (e === undefined ? 0 : e.awsCode.length + e.message.length) +
        (r === undefined ? 0 : r.contentType.length + r.body.length)) +
    (c.body?.length ?? 0)
  )
}

/**
 * Writes a call into `buf` from `at` as bytes (what crosses to the writer thread, inside the event
 * log's chunk: no string or object of its own) and returns where it ends: the identity's JSON (the
 * recorder keeps its bytes per access key), the time, flags, then each text as `<u32 LE byte
 * length><UTF-8>` in a fixed order, the body's bytes as they came. `buf` must have
 * {@link callBound} bytes from `at`.
 */
export function writeCall(c: RawCall, identity: Uint8Array, buf: Buffer, at: number): number {
  const str = (v: string): void => {
    const n = buf.write(v, at + 4, 'utf8')
    buf.writeUInt32LE(n, at)
    at += 4 + n
  }
  const e = c.error
  const r = c.response
  const body = c.body
  buf.writeUInt32LE(identity.length, at)
  buf.set(identity, at + 4)
  at += 4 + identity.length
  buf.writeDoubleLE(c.time, at)
  buf[at + 8] =
    (body === undefined ? 0 : HAS_BODY) |
    (e === undefined ? 0 : HAS_ERROR) |
    (r === undefined ? 0 : HAS_RESPONSE)
  buf[at + 9] = c.readOnly ? 1 : 0
  buf.writeUInt16LE(e === undefined ? 0 : e.httpStatus & 0xffff, at + 10)
  at += 12
  str(c.service)
  str(c.protocol)
  str(c.action)
  str(c.region)
  str(c.sourceIp)
  str(c.userAgent)
  str(c.requestId)
  str(c.accountId)
  str(c.query)
  if (body !== undefined) {
    buf.writeUInt32LE(body.length, at)
    buf.set(body, at + 4)
    at += 4 + body.length
  }
  if (e !== undefined) {
    str(e.awsCode)
    str(e.message)
  }
  if (r !== undefined) {
    str(r.contentType)
    str(r.body)
  }
  return at
}

/** A call's bytes in a buffer of their own ({@link writeCall}). */
export function encodeCall(c: RawCall, identityJson: string): Buffer {
  const identity = Buffer.from(identityJson, 'utf8')
  const buf = Buffer.alloc(callBound(c, identity))
  return buf.subarray(0, writeCall(c, identity, buf, 0))
}

const identities = new Map<string, UserIdentity>()

/** The call {@link writeCall} wrote (throws on bytes it did not write); its body is a view into `bytes`. */
export function decodeCall(bytes: Uint8Array): RawCall {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  let i = 0
  const span = (): [number, number] => {
    if (i + 4 > b.length) throw new Error('malformed call')
    const len = b.readUInt32LE(i)
    const start = i + 4
    if (start + len > b.length) throw new Error('malformed call')
    i = start + len
    return [start, i]
  }
  const str = (): string => {
    const [start, end] = span()
    return b.toString('utf8', start, end)
  }
  const idJson = str()
  let identity = identities.get(idJson)
  if (identity === undefined) {
    if (identities.size >= 10_000) identities.clear()
    identities.set(idJson, (identity = JSON.parse(idJson) as UserIdentity))
  }
  if (i + 12 > b.length) throw new Error('malformed call')
  const time = b.readDoubleLE(i)
  const flags = b[i + 8]!
  const readOnly = b[i + 9] === 1
  const httpStatus = b.readUInt16LE(i + 10)
  i += 12
  const service = str()
  const protocol = str() as RenderProtocol
  const action = str()
  const region = str()
  const sourceIp = str()
  const userAgent = str()
  const requestId = str()
  const accountId = str()
  const query = str()
  let body: Buffer | undefined
  if (flags & HAS_BODY) {
    const [start, end] = span()
    body = b.subarray(start, end)
  }
  let error: RawCall['error']
  if (flags & HAS_ERROR) {
    const awsCode = str()
    error = { awsCode, httpStatus, message: str() }
  }
  let response: RawCall['response']
  if (flags & HAS_RESPONSE) {
    const contentType = str()
    response = { contentType, body: str() }
  }
  if (i !== b.length) throw new Error('malformed call')
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
    error,
    response,
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
  const named = NAMED[service]
  const visit = (v: unknown, key: string, depth: number): void => {
    if (out.length >= MAX_RESOURCES || depth > 16) return
    if (typeof v === 'string') {
      let type: string | undefined
      const m = v.length <= 30 && v.includes('-') ? EC2_ID.exec(v) : null
      if (m !== null) type = EC2_TYPE[m[1]!]
      else if (named !== undefined) type = named[key]
      if (type === undefined || v.length > 2048) return
      // At most MAX_RESOURCES found: a scan finds a repeat.
      for (const r of out) if (r.name === v && r.type === type) return
      out.push({ type, name: v })
    } else if (Array.isArray(v)) for (const x of v) visit(x, key, depth + 1)
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>
      for (const k in o) if (Object.hasOwn(o, k)) visit(o[k], k, depth + 1)
    }
  }
  for (const v of values) visit(v, '', 0)
  return out
}

/**
 * Event ids: version-7 UUIDs (RFC 9562) — the first 48 bits are the event's time in milliseconds,
 * the remaining 74 free bits random, from the ids' pool of randomness (one draw per ~400 events).
 * Beginning with the time, a new id lands at the end of the store's id index rather than on a
 * random page of it (see the event store's schema).
 */
export function eventId(timeMs: number): string {
  const b = idBytes(10)
  const h = (i: number): string => HEX_BYTE[b[i]!]!
  const t = Math.max(0, Math.min(Math.floor(timeMs), 2 ** 48 - 1))
    .toString(16)
    .padStart(12, '0')
  return (
    t.slice(0, 8) +
    '-' +
    t.slice(8, 12) +
    '-' +
    HEX_BYTE[(b[0]! & 0x0f) | 0x70]! +
    h(1) +
    '-' +
    HEX_BYTE[(b[2]! & 0x3f) | 0x80]! +
    h(3) +
    '-' +
    h(4) +
    h(5) +
    h(6) +
    h(7) +
    h(8) +
    h(9)
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
  const c = item instanceof Uint8Array ? decodeCall(item) : (item as RawCall)
  const body =
    c.body === undefined || Buffer.isBuffer(c.body)
      ? c.body
      : Buffer.from(c.body.buffer, c.body.byteOffset, c.body.length)
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
    eventID: eventId(c.time),
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
    // eventTime's second, as a number (not parsed back from the text).
    time: Math.floor(c.time / 1000) * 1000,
  }
}
