// SPDX-License-Identifier: Apache-2.0
/**
 * The authorization step: once per request, after SigV4 and the action's decoding and before its
 * handler, the server asks {@link Authorizer.check} whether the principal behind the access key may
 * perform `prefix:Action` on every resource the call declares (protocols/authz.ts), in the request's
 * context (`aws:SourceIp`, `aws:CurrentTime`, `aws:EpochTime`, `aws:username`, `aws:userid`,
 * `aws:PrincipalArn`, `aws:PrincipalTag/…`, `aws:RequestTag/…`, `aws:TagKeys`, and per resource
 * `aws:ResourceTag/…` and `PREFIX:ResourceTag/…`).
 *
 * Temporary credentials (ASIA…) must come with their session token and before their expiry.
 * Denials answer in each protocol's spelling: EC2 `UnauthorizedOperation` with an encoded message,
 * AWS Query services `AccessDenied`, JSON services `AccessDeniedException`.
 * `sts:GetCallerIdentity` needs no permission (as in AWS).
 * @module
 */
import { ApiError, type ControlPlane, type Principal, type Tag } from '../../control/index.ts'
import type { AuthzRequest, ServiceEndpoint } from '../protocols/index.ts'
import { compilePolicy, evaluate, LayeredContext, type CompiledPolicy, type EvalResult } from './evaluate.ts'
import { encodeAuthorizationMessage } from './messages.ts'

/** What the server knows of the request besides the call. */
export interface RequestFacts {
  accessKeyId: string
  headers: Readonly<Record<string, string | string[] | undefined>>
  /** The peer's address (aws:SourceIp). */
  sourceIp: string | undefined
  /** Now (ms); default Date.now(). */
  now?: number
}

/** The outcome of an allowed call: who made it (for the audit trail). */
export interface Authorized {
  principal: Principal
  action: string
}

interface Cached {
  generation: number
  principal: Principal
  policies: CompiledPolicy[]
  base: Map<string, readonly string[]>
}

/** Principals kept compiled at most (beyond it the cache starts over). */
const CACHE_MAX = 10_000

function header(h: RequestFacts['headers'], name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v[0] : v
}

function tagMap(prefixes: readonly string[], tags: readonly Tag[]): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>()
  for (const t of tags) for (const p of prefixes) m.set(`${p}${t.key.toLowerCase()}`, [t.value])
  return m
}

/**
 * The request's own keys over the principal's (no copy of the principal's map per request); the
 * time keys are made only when a condition asks for them.
 */
class RequestKeys {
  base: ReadonlyMap<string, readonly string[]> = new Map()
  own = new Map<string, readonly string[]>()
  now = 0
  get(key: string): readonly string[] | undefined {
    const v = this.own.get(key) ?? this.base.get(key)
    if (v !== undefined) return v
    if (key === 'aws:currenttime') return [new Date(this.now).toISOString()]
    if (key === 'aws:epochtime') return [String(Math.floor(this.now / 1000))]
    return undefined
  }
  entries(): [string, readonly string[]][] {
    return [
      ...this.base,
      ...this.own,
      ['aws:currenttime', [new Date(this.now).toISOString()]],
      ['aws:epochtime', [String(Math.floor(this.now / 1000))]],
    ]
  }
}

export class Authorizer {
  private readonly cp: ControlPlane
  private readonly cache = new Map<string, Cached>()
  private readonly clock: () => number

  /** `clock` is the authorization step's time (temporary credentials' expiry, aws:CurrentTime). */
  constructor(cp: ControlPlane, clock: () => number = Date.now) {
    this.cp = cp
    this.clock = clock
  }

  private principal(accessKeyId: string): Cached | undefined {
    const gen = this.cp.iam.generation
    const hit = this.cache.get(accessKeyId)
    if (hit !== undefined && hit.generation === gen) return hit
    const principal = this.cp.iam.principalOf(accessKeyId)
    if (principal === undefined) return undefined
    const base = tagMap(['aws:principaltag/'], principal.tags)
    base.set('aws:principalarn', [principal.arn])
    base.set('aws:principaltype', [principal.type === 'IAMUser' ? 'User' : 'AssumedRole'])
    base.set('aws:principalaccount', [this.cp.accountId])
    base.set('aws:userid', [principal.principalId])
    if (principal.type === 'IAMUser') base.set('aws:username', [principal.name])
    base.set('aws:requestedregion', [this.cp.region])
    base.set('aws:securetransport', ['false'])
    const c: Cached = {
      generation: gen,
      principal,
      policies: principal.policies.map((p) => compilePolicy(p.source, p.document)),
      base,
    }
    if (this.cache.size >= CACHE_MAX) this.cache.clear()
    this.cache.set(accessKeyId, c)
    return c
  }

  /** Checks the call; returns who made it, or throws the protocol's denial. */
  check(endpoint: ServiceEndpoint, authz: AuthzRequest, facts: RequestFacts): Authorized {
    const prefix = authz.prefix ?? endpoint.iamPrefix
    const action = `${prefix}:${authz.action}`
    const now = facts.now ?? this.clock()
    const session = this.cp.iam.checkSession(
      facts.accessKeyId,
      header(facts.headers, 'x-amz-security-token'),
      now,
    )
    if (session !== undefined) throw this.credentialError(endpoint, session)
    const who = this.principal(facts.accessKeyId)
    if (who === undefined) throw this.credentialError(endpoint, 'InvalidToken')
    if (action === 'sts:GetCallerIdentity') return { principal: who.principal, action }
    const req = new RequestKeys()
    req.base = who.base
    req.now = now
    if (facts.sourceIp !== undefined)
      req.own.set('aws:sourceip', [
        facts.sourceIp.startsWith('::ffff:') ? facts.sourceIp.slice(7) : facts.sourceIp,
      ])
    if (authz.requestTags !== undefined && authz.requestTags.length > 0) {
      for (const [k, v] of tagMap(['aws:requesttag/'], authz.requestTags)) req.own.set(k, v)
      req.own.set(
        'aws:tagkeys',
        authz.requestTags.map((t) => t.key),
      )
    } else if (authz.tagKeys !== undefined && authz.tagKeys.length > 0)
      req.own.set('aws:tagkeys', authz.tagKeys)
    if (authz.context !== undefined)
      for (const [k, v] of Object.entries(authz.context))
        req.own.set(k.toLowerCase(), typeof v === 'string' ? [v] : v)
    const lower = action.toLowerCase()
    const resources =
      authz.resources === undefined || authz.resources.length === 0 ? [{ arn: '*' }] : authz.resources
    const ctx = new LayeredContext(req)
    for (const r of resources) {
      ctx.top =
        'tags' in r && r.tags !== undefined
          ? tagMap(['aws:resourcetag/', `${prefix}:resourcetag/`], r.tags)
          : undefined
      const result = evaluate(who.policies, lower, r.arn, ctx)
      if (result.decision !== 'Allow') throw this.denial(endpoint, who.principal, action, r.arn, result, req)
    }
    for (const more of authz.also ?? []) {
      const name = `${more.prefix}:${more.action}`
      for (const r of more.resources) {
        ctx.top = undefined
        const result = evaluate(who.policies, name.toLowerCase(), r.arn, ctx)
        if (result.decision !== 'Allow') throw this.denial(endpoint, who.principal, name, r.arn, result, req)
      }
    }
    return { principal: who.principal, action }
  }

  private credentialError(endpoint: ServiceEndpoint, why: 'InvalidToken' | 'Expired'): ApiError {
    if (endpoint.protocol === 'ec2-query') {
      return why === 'Expired'
        ? new ApiError('RequestExpired', 'Request has expired.')
        : new ApiError('AuthFailure', 'AWS was not able to validate the provided access credentials')
    }
    return why === 'Expired'
      ? new ApiError('ExpiredToken', 'The security token included in the request is expired')
      : new ApiError('InvalidClientTokenId', 'The security token included in the request is invalid.')
  }

  private denial(
    endpoint: ServiceEndpoint,
    p: Principal,
    action: string,
    resource: string,
    result: EvalResult,
    req: RequestKeys,
  ): ApiError {
    const why =
      result.decision === 'ExplicitDeny'
        ? 'with an explicit deny in an identity-based policy'
        : `because no identity-based policy allows the ${action} action`
    const text = `User: ${p.arn} is not authorized to perform: ${action} on resource: ${resource} ${why}`
    if (endpoint.protocol === 'ec2-query') {
      const conditions = req
        .entries()
        .filter(([k]) => !k.startsWith('aws:principaltag/'))
        .map(([key, values]) => ({ key, values: { items: values.map((value) => ({ value })) } }))
      const encoded = encodeAuthorizationMessage(this.cp.iam.messageKey, {
        allowed: false,
        explicitDeny: result.decision === 'ExplicitDeny',
        matchedStatements: {
          items:
            result.decision === 'ExplicitDeny'
              ? [{ statementId: result.sid ?? '', source: result.source ?? '', effect: 'DENY' }]
              : [],
        },
        failures: { items: [] },
        context: {
          principal: { id: p.principalId, name: p.name, arn: p.arn },
          action,
          resource,
          conditions: { items: conditions },
        },
      })
      return new ApiError(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. ${text}. Encoded authorization failure message: ${encoded}`,
      )
    }
    return new ApiError(endpoint.protocol === 'aws-query' ? 'AccessDenied' : 'AccessDeniedException', text)
  }
}
