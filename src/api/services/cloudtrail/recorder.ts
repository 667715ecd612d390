// SPDX-License-Identifier: Apache-2.0
/**
 * The audit recorder: the server calls {@link AuditRecorder.record} once per API call, after its
 * answer is known (success or failure, authentication failures included), and the call becomes a
 * CloudTrail management event. The call site does only what must be done at once — resolve the
 * caller's identity, take the time and the request's references — and the rest (parameters, answer,
 * resources, JSON) is rendered by the event log's next batch (control/cloudtrail/event-log.ts), so
 * that auditing costs the request path next to nothing.
 *
 * What is recorded: every call signed with an access key (known or not) to a service endpoint.
 * Requests without any credentials are not (nobody to name, and a stranger could fill the trail);
 * nor are the agents' desired-state long polls (not an API call).
 * @module
 */
import { createHash, randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { ApiError, ControlPlane, EventResource, UserIdentity } from '../../../control/index.ts'
import { EVENT_VERSION, isoSeconds, type RenderedEvent } from '../../../control/index.ts'
import { JSON_WIRE_CODES } from '../../protocols/json-1.1/index.ts'
import { renderRequest, renderResponse, type RenderProtocol } from './render.ts'

/** Resolves an access key to the identity CloudTrail names (IAM may replace the default). */
export type PrincipalResolver = (accessKeyId: string) => UserIdentity | undefined

/** What the server knows once a call is answered. */
export interface CallOutcome {
  /** The signing service (`ec2`, `iam`, …). */
  service: string
  protocol: RenderProtocol
  action: string
  /** The error answered, if the call failed. */
  error?: ApiError | undefined
  /** The encoded answer, if the call succeeded. */
  response?: { contentType: string; body: string } | undefined
}

const READ_ONLY = /^(?:Describe|Get|List|Lookup|Search|Filter|Test|Decode)/
const ACTION = /^[A-Za-z][A-Za-z0-9]{0,127}$/
const KEY_ID = /^[A-Z0-9]{16,128}$/
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/
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
/** Failures of authentication: the body's signature was not checked, so the body is not parsed. */
const AUTH_FAILURES = new Set([
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'AuthFailure',
  'SignatureDoesNotMatch',
  'RequestExpired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestEntityTooLarge',
  'RequestTimeout',
])

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** The access key and region a request claims (Authorization header or presigned query), unverified. */
export function claimedCredential(req: FastifyRequest): { accessKeyId: string; region: string } | undefined {
  const auth = header(req, 'authorization')
  let cred: string | undefined
  if (auth !== undefined) {
    const i = auth.indexOf('Credential=')
    if (i >= 0) {
      const end = auth.slice(i + 11, i + 11 + 400).search(/[,\s]/)
      cred = auth.slice(i + 11, end < 0 ? i + 11 + 400 : i + 11 + end)
    }
  } else {
    const url = req.raw.url ?? ''
    const m = /[?&]X-Amz-Credential=([^&]{1,400})/i.exec(url.length > 8192 ? url.slice(0, 8192) : url)
    if (m !== null) {
      try {
        cred = decodeURIComponent(m[1]!)
      } catch {
        cred = undefined
      }
    }
  }
  if (cred === undefined) return undefined
  const parts = cred.split('/')
  if (parts.length < 3 || !KEY_ID.test(parts[0]!)) return undefined
  return { accessKeyId: parts[0]!, region: parts[2]! }
}

/** The default identity of an access key: its IAM user if IAM knows one, else the key's role. */
export function defaultPrincipals(cp: ControlPlane): PrincipalResolver {
  return (accessKeyId) => {
    const key = cp.iam.get(accessKeyId)
    if (key === undefined) return undefined
    const role = cp.iam.roleOf(key)
    const userName =
      role === 'admin'
        ? 'mirrorflow-admin'
        : role === 'agent'
          ? `mirrorflow-agent-${key.instanceId ?? 'unbound'}`
          : `mirrorflow-user-${accessKeyId.slice(-6).toLowerCase()}`
    return {
      type: 'IAMUser',
      principalId: `AIDA${createHash('sha256').update(accessKeyId).digest('hex').slice(0, 17).toUpperCase()}`,
      arn: `arn:aws:iam::${cp.accountId}:user/${userName}`,
      accountId: cp.accountId,
      accessKeyId,
      userName,
    }
  }
}

function resourcesOf(service: string, values: unknown[]): EventResource[] {
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

export class AuditRecorder {
  private readonly cp: ControlPlane
  /** Who an access key is; IAM's users and roles plug in here. */
  principals: PrincipalResolver

  constructor(cp: ControlPlane, principals?: PrincipalResolver) {
    this.cp = cp
    this.principals = principals ?? defaultPrincipals(cp)
  }

  /** Records one answered call (never throws). */
  record(req: FastifyRequest, outcome: CallOutcome): void {
    try {
      this.take(req, outcome)
    } catch {
      this.cp.cloudtrail.log.stats.renderErrors++
    }
  }

  private take(req: FastifyRequest, o: CallOutcome): void {
    const cred = claimedCredential(req)
    if (cred === undefined || o.action === 'MirrorflowGetDesiredState') return
    const cp = this.cp
    const now = Date.now()
    const identity: UserIdentity = this.principals(cred.accessKeyId) ?? {
      type: 'Unknown',
      accountId: cp.accountId,
      accessKeyId: cred.accessKeyId,
    }
    let action = o.action
    if (!ACTION.test(action)) {
      // Failed before the body was read: JSON protocols name the action in a header.
      const target = header(req, 'x-amz-target') ?? ''
      const dot = target.lastIndexOf('.')
      action = ACTION.test(target.slice(dot + 1)) ? target.slice(dot + 1) : 'unknown'
    }
    const region = o.service === 'iam' ? 'us-east-1' : REGION.test(cred.region) ? cred.region : cp.region
    const ip = req.socket.remoteAddress ?? ''
    const sourceIp = ip.startsWith('::ffff:') ? ip.slice(7) : ip
    const userAgent = (header(req, 'user-agent') ?? '').slice(0, 1024)
    const requestId = req.id
    const error = o.error
    const verified = error === undefined || !AUTH_FAILURES.has(error.awsCode)
    const url = req.raw.url ?? ''
    const q = url.indexOf('?')
    const query = q < 0 || !verified ? '' : url.slice(q + 1)
    const body = verified && Buffer.isBuffer(req.body) ? req.body : undefined
    const response = o.response
    const readOnly = READ_ONLY.test(action)
    const service = o.service
    const protocol = o.protocol
    cp.cloudtrail.log.add((): RenderedEvent => {
      // Parameters are only rendered for a body whose signature was checked (or a failure after it).
      const requestParameters = renderRequest(protocol, query, body)
      const responseElements =
        response === undefined || readOnly
          ? null
          : renderResponse(protocol, response.contentType, response.body)
      const record = {
        eventVersion: EVENT_VERSION,
        userIdentity: identity,
        eventTime: isoSeconds(now),
        eventSource: `${service}.amazonaws.com`,
        eventName: action,
        awsRegion: region,
        sourceIPAddress: sourceIp,
        userAgent,
        ...(error === undefined
          ? {}
          : {
              errorCode:
                protocol === 'ec2-query'
                  ? `${error.httpStatus >= 500 ? 'Server' : 'Client'}.${error.awsCode}`
                  : protocol === 'json-1.1'
                    ? (JSON_WIRE_CODES[error.awsCode] ?? error.awsCode)
                    : error.awsCode,
              errorMessage: error.message.slice(0, 2048),
            }),
        requestParameters,
        responseElements,
        requestID: requestId,
        eventID: randomUUID(),
        readOnly,
        eventType: 'AwsApiCall' as const,
        managementEvent: true as const,
        recipientAccountId: cp.accountId,
        eventCategory: 'Management' as const,
      }
      return {
        record,
        resources: resourcesOf(service, [requestParameters, responseElements]),
        username: identity.userName ?? identity.sessionContext?.sessionIssuer?.userName,
      }
    })
  }
}
