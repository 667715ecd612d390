// SPDX-License-Identifier: Apache-2.0
/**
 * STS's actions (AWS Query, signing name `sts`, version 2011-06-15): GetCallerIdentity (needs no
 * permission, as in AWS), AssumeRole (the caller's policies must allow `sts:AssumeRole` on the role
 * and the role's trust policy must name the caller, its account, or `*`; the answer is temporary
 * credentials — an `ASIA…` key, a secret and a session token — valid for DurationSeconds), and
 * DecodeAuthorizationMessage (the encoded message of an EC2 denial, for a caller allowed
 * `sts:DecodeAuthorizationMessage`).
 * @module
 */
import { ApiError, parsePolicy, truncate, type ControlPlane, type IamRole } from '../../../control/index.ts'
import { compilePolicy, evaluate, LayeredContext } from '../../auth/evaluate.ts'
import { decodeAuthorizationMessage } from '../../auth/messages.ts'
import {
  awsQueryEndpoint,
  el,
  type AwsQueryContext,
  type AwsQueryHandler,
} from '../../protocols/aws-query/index.ts'
import type { ActionAuthz, ServiceEndpoint } from '../../protocols/index.ts'

export const STS_VERSION = '2011-06-15'
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

/** Shortest session AssumeRole grants (seconds); a server may lower it for tests and labs. */
export const STS_MIN_DURATION = 900

/** What STS needs of the server: the shortest DurationSeconds it accepts. */
export interface StsOptions {
  minDurationSeconds?: number
}

function callerArn(ctx: AwsQueryContext): { arn: string; userId: string } {
  const p = ctx.cp.iam.principalOf(ctx.accessKeyId)
  if (p === undefined)
    throw new ApiError('InvalidClientTokenId', 'The security token included in the request is invalid.')
  return { arn: p.arn, userId: p.principalId }
}

/** Whether the role's trust policy lets this caller assume it. */
function trusts(cp: ControlPlane, role: IamRole, caller: string): boolean {
  const doc = parsePolicy(role.trust, 'trust')
  const root = `arn:aws:iam::${cp.accountId}:root`
  const named = doc.statements.filter((s) => {
    const p = s.principal
    if (p === undefined) return false
    return p.any || p.aws.some((a) => a === caller || a === cp.accountId || a === root)
  })
  if (named.length === 0) return false
  const compiled = compilePolicy('trust', { version: doc.version, statements: named })
  const ctx = new LayeredContext(new Map([['aws:principalarn', [caller]]]))
  return evaluate([compiled], 'sts:assumerole', role.arn, ctx).decision === 'Allow'
}

function roleOfArn(cp: ControlPlane, arn: string): IamRole {
  const m = /^arn:aws:iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]{1,64})$/.exec(arn)
  if (m === null || arn.length > 2048)
    throw new ApiError('ValidationError', `${truncate(arn, 256)} is invalid`)
  const role = m[1] === cp.accountId ? cp.iam.findRole(m[2]!) : undefined
  if (role === undefined || role.arn !== arn)
    throw new ApiError(
      'AccessDenied',
      `User is not authorized to perform: sts:AssumeRole on resource: ${truncate(arn, 256)}`,
    )
  return role
}

function actions(opts: StsOptions): [string, AwsQueryHandler][] {
  const min = opts.minDurationSeconds ?? STS_MIN_DURATION
  return [
    [
      'GetCallerIdentity',
      (ctx) => {
        ctx.ready()
        const c = callerArn(ctx)
        return el('UserId', c.userId) + el('Account', ctx.cp.accountId) + el('Arn', c.arn)
      },
    ],
    [
      'AssumeRole',
      (ctx) => {
        const arn = ctx.p.str('RoleArn') ?? ''
        const session = ctx.p.str('RoleSessionName') ?? ''
        const duration = ctx.p.int('DurationSeconds') ?? 3600
        ctx.ready()
        if (!/^[\w+=,.@-]{2,64}$/.test(session))
          throw new ApiError(
            'ValidationError',
            `1 validation error detected: Value '${truncate(session, 64)}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64`,
          )
        const caller = callerArn(ctx)
        const role = roleOfArn(ctx.cp, arn)
        if (duration < min || duration > role.maxSessionDuration)
          throw new ApiError(
            'ValidationError',
            `The requested DurationSeconds exceeds the MaxSessionDuration set for this role, or is below ${min}.`,
          )
        if (!trusts(ctx.cp, role, caller.arn))
          throw new ApiError(
            'AccessDenied',
            `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`,
          )
        const c = ctx.cp.iam.assumeRole(role, session, duration)
        return (
          `<Credentials>${el('AccessKeyId', c.accessKeyId)}${el('SecretAccessKey', c.secretAccessKey)}` +
          `${el('SessionToken', c.sessionToken)}${el('Expiration', new Date(c.expiration).toISOString())}</Credentials>` +
          `<AssumedRoleUser>${el('AssumedRoleId', `${role.id}:${session}`)}` +
          `${el('Arn', `arn:aws:sts::${ctx.cp.accountId}:assumed-role/${role.name}/${session}`)}</AssumedRoleUser>`
        )
      },
    ],
    [
      'DecodeAuthorizationMessage',
      (ctx) => {
        const msg = ctx.p.str('EncodedMessage') ?? ''
        ctx.ready()
        const decoded = decodeAuthorizationMessage(ctx.cp.iam.messageKey, msg)
        if (decoded === undefined)
          throw new ApiError(
            'InvalidAuthorizationMessageException',
            'The message is not an encoded authorization failure message of this server.',
          )
        return el('DecodedMessage', decoded)
      },
    ],
  ]
}

/** AssumeRole's resource is the role. */
const stsAuthz: ActionAuthz = (action, params) => {
  const arn = params.get('RoleArn')
  return action === 'AssumeRole' && arn !== undefined ? { resources: [{ arn }] } : undefined
}

export function stsEndpoint(cp: ControlPlane, opts: StsOptions = {}): ServiceEndpoint {
  return awsQueryEndpoint(cp, {
    signingName: 'sts',
    iamPrefix: 'sts',
    version: STS_VERSION,
    namespace: STS_NS,
    actions: new Map(actions(opts)),
    authz: stsAuthz,
  })
}
