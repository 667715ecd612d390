// SPDX-License-Identifier: Apache-2.0
/**
 * The audit recorder: the server calls {@link AuditRecorder.record} once per API call, after its
 * answer is known (success or failure, authentication failures included), and the call becomes a
 * CloudTrail management event. The call site does only what must be done at once — resolve the
 * caller's identity (remembered per access key), take the time and the request's raw facts as one
 * {@link RawCall} — and writes it as bytes into the event log's bounded buffer (call.ts,
 * {@link writeCall}: one copy of the body and the answer, no string built). Everything else
 * (parameters, answer, resources, event id, JSON, the store's insert) is done by the event log's
 * writer in batches (control/cloudtrail/event-log.ts), in a worker thread of its own when the store
 * is on disk (writer-worker.ts), so that auditing costs the request path next to nothing.
 *
 * What is recorded: every call signed with an access key (known or not) to a service endpoint.
 * Requests without any credentials are not (nobody to name, and a stranger could fill the trail);
 * nor are the agents' desired-state long polls (not an API call).
 * @module
 */
import type { FastifyRequest } from 'fastify'
import { isoSeconds, type ApiError, type ControlPlane, type UserIdentity } from '../../../control/index.ts'
import { startWorker } from '../../../entry-points.ts'
import { callBound, renderCall, writeCall, type RawCall } from './call.ts'
import { MAX_RENDERED_BYTES, type RenderProtocol } from './render.ts'

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
const SPACE = /^\s$/u
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
/** Identities remembered (an access key's identity never changes; the cache is emptied when full). */
const MAX_CACHED_IDENTITIES = 10_000

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
      // Up to the first comma or white space, 400 characters at most (no copy to search in).
      const start = i + 11
      const stop = Math.min(auth.length, start + 400)
      let end = start
      for (; end < stop; end++) {
        const ch = auth.charCodeAt(end)
        if (ch === 44 || ch === 32 || (ch >= 9 && ch <= 13)) break
        if (ch > 0x7f && SPACE.test(auth[end]!)) break
      }
      cred = auth.slice(start, end)
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

/**
 * The identity CloudTrail names for an access key: its IAM user (`IAMUser`: the user's id, ARN and
 * name), or the role it assumed (`AssumedRole`: `AROA…:session`, the `sts` assumed-role ARN, and
 * the role as `sessionContext.sessionIssuer` with the session's creation time). A key IAM does not
 * know (deleted, or expired temporary credentials forgotten) has none.
 */
export function defaultPrincipals(cp: ControlPlane): PrincipalResolver {
  return (accessKeyId) => {
    const c = cp.iam.callerOf(accessKeyId)
    if (c === undefined) return undefined
    const accountId = cp.accountId
    if (c.type === 'IAMUser') {
      return {
        type: 'IAMUser',
        principalId: c.user.id,
        arn: c.user.arn,
        accountId,
        accessKeyId,
        userName: c.user.name,
      }
    }
    const { role, session } = c
    return {
      type: 'AssumedRole',
      principalId: `${role.id}:${session.sessionName}`,
      arn: `arn:aws:sts::${accountId}:assumed-role/${role.name}/${session.sessionName}`,
      accountId,
      accessKeyId,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: role.id, arn: role.arn, accountId, userName: role.name },
        webIdFederationData: {},
        attributes: {
          creationDate: isoSeconds(session.createdAt ?? session.expiration - 3_600_000),
          mfaAuthenticated: 'false',
        },
      },
    }
  }
}

export class AuditRecorder {
  private readonly cp: ControlPlane
  /** Who an access key is; IAM's users and roles plug in here. */
  principals: PrincipalResolver

  /**
   * False only in the benchmark that measures the trail's cost (bench/api/trail.bench.ts): with
   * `MIRRORFLOW_BENCH_AUDIT=off` the server records nothing; with `MIRRORFLOW_BENCH_AUDIT=toggle`
   * each SIGUSR2 switches recording off or on, so that one server process is measured both ways
   * (two processes differ by more than the cost measured). Without the variable it is always on.
   */
  enabled: boolean

  /** IAM users' identities by access key, with their JSON's bytes (what an encoded call carries). */
  private readonly identities = new Map<string, { identity: UserIdentity; json: Buffer }>()

  constructor(cp: ControlPlane, principals?: PrincipalResolver) {
    this.cp = cp
    this.principals = principals ?? defaultPrincipals(cp)
    const bench = process.env.MIRRORFLOW_BENCH_AUDIT
    this.enabled = bench !== 'off'
    if (bench === 'toggle') process.on('SIGUSR2', () => (this.enabled = !this.enabled))
    cp.cloudtrail.log.useRenderer(renderCall)
    // On disk, rendering and storing run in a thread of their own.
    cp.cloudtrail.log.useWorker((workerData, transferList) =>
      startWorker('trail-writer', { workerData, transferList }),
    )
  }

  /** Records one answered call (never throws). */
  record(req: FastifyRequest, outcome: CallOutcome): void {
    if (!this.enabled) return
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
    let who = this.identities.get(cred.accessKeyId)
    // A user's key names the same user as long as it exists (a user cannot be renamed, nor deleted
    // while it has keys); an assumed role's is resolved at each call.
    if (who !== undefined && cp.iam.get(cred.accessKeyId) === undefined) who = undefined
    if (who === undefined) {
      const known = this.principals(cred.accessKeyId)
      const identity = known ?? { type: 'Unknown', accountId: cp.accountId, accessKeyId: cred.accessKeyId }
      who = { identity, json: Buffer.from(JSON.stringify(identity), 'utf8') }
      if (known?.type === 'IAMUser') {
        if (this.identities.size >= MAX_CACHED_IDENTITIES) this.identities.clear()
        this.identities.set(cred.accessKeyId, who)
      }
    }
    let action = o.action
    if (!ACTION.test(action)) {
      // Failed before the body was read: JSON protocols name the action in a header.
      const target = header(req, 'x-amz-target') ?? ''
      const dot = target.lastIndexOf('.')
      action = ACTION.test(target.slice(dot + 1)) ? target.slice(dot + 1) : 'unknown'
    }
    const ip = req.socket.remoteAddress ?? ''
    const error = o.error
    const verified = error === undefined || !AUTH_FAILURES.has(error.awsCode)
    const url = req.raw.url ?? ''
    const q = url.indexOf('?')
    const body = verified && Buffer.isBuffer(req.body) ? req.body : undefined
    // Parameters above the rendering bound are not rendered at all (null), the query included.
    const rendered = body === undefined || body.length <= MAX_RENDERED_BYTES
    const call: RawCall = {
      identity: who.identity,
      time: Date.now(),
      service: o.service,
      protocol: o.protocol,
      action,
      region: o.service === 'iam' ? 'us-east-1' : REGION.test(cred.region) ? cred.region : cp.region,
      sourceIp: ip.startsWith('::ffff:') ? ip.slice(7) : ip,
      userAgent: (header(req, 'user-agent') ?? '').slice(0, 1024),
      requestId: req.id,
      accountId: cp.accountId,
      readOnly: READ_ONLY.test(action),
      query: q < 0 || !verified || !rendered ? '' : url.slice(q + 1),
      // Its bytes, copied once: straight into the event log's chunk.
      body: body === undefined || !rendered ? undefined : body,
      error:
        error === undefined
          ? undefined
          : { awsCode: error.awsCode, httpStatus: error.httpStatus, message: error.message.slice(0, 2048) },
      response:
        o.response === undefined || o.response.body.length > MAX_RENDERED_BYTES ? undefined : o.response,
    }
    const identity = who.json
    cp.cloudtrail.log.addBytes(callBound(call, identity), (buf, at) => writeCall(call, identity, buf, at))
  }
}
