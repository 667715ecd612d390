// SPDX-License-Identifier: Apache-2.0
/**
 * IAM policy documents: parsing and validation into a normalized {@link PolicyDocument} (every
 * element a list, condition operators split into their qualifier, base operator and `IfExists`),
 * with IAM's `MalformedPolicyDocument` and the reason for anything that does not fit the grammar,
 * and IAM's size quotas (counted as IAM counts them: characters other than white space).
 *
 * Evaluation is not here: the api layer's evaluator (`api/auth/`) compiles the normalized document
 * into matchers. Nothing here builds a regular expression from a document.
 * @module
 */
import { ApiError } from '../core/errors.ts'

export type Effect = 'Allow' | 'Deny'

/** The base condition operators IAM knows (without `IfExists` and set qualifiers). */
export const CONDITION_OPERATORS: ReadonlySet<string> = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null',
])

/** One condition: `Qualifier:OperatorIfExists` → key → values. */
export interface PolicyCondition {
  /** `ForAllValues`, `ForAnyValue`, or undefined. */
  set?: 'ForAllValues' | 'ForAnyValue'
  /** The base operator (`StringLike`). */
  op: string
  ifExists: boolean
  /** The condition key as written (matched without regard to case). */
  key: string
  values: string[]
}

/** A principal of a trust policy: `*`, or lists of AWS principals / services. */
export interface PolicyPrincipal {
  any: boolean
  aws: string[]
  service: string[]
}

export interface PolicyStatement {
  sid?: string
  effect: Effect
  action?: string[]
  notAction?: string[]
  resource?: string[]
  notResource?: string[]
  principal?: PolicyPrincipal
  conditions: PolicyCondition[]
}

export interface PolicyDocument {
  /** `2012-10-17` (policy variables are substituted) or `2008-10-17` (they are literal). */
  version: string
  statements: PolicyStatement[]
}

/** Which kind of document: identity policies name resources; trust policies name principals. */
export type PolicyKind = 'identity' | 'trust'

/** IAM's quotas on policy size (characters other than white space). */
export const POLICY_SIZE = {
  managed: 6144,
  userInline: 2048,
  groupInline: 5120,
  roleInline: 10240,
  trust: 2048,
} as const

/** Longest document text accepted before anything is parsed (IAM's PolicyDocument max length). */
export const POLICY_TEXT_MAX = 131072
const STATEMENTS_MAX = 500
const LIST_MAX = 500
const ELEMENT_MAX = 2048

function malformed(reason: string): ApiError {
  return new ApiError('MalformedPolicyDocument', reason)
}

/** The characters of a document IAM counts against its size quotas: everything but white space. */
export function policySize(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) n++
  }
  return n
}

function strings(v: unknown, what: string): string[] {
  const list = Array.isArray(v) ? v : [v]
  if (list.length === 0) throw malformed(`Policy statement ${what} must not be an empty list.`)
  if (list.length > LIST_MAX) throw malformed(`Policy statement ${what} has more than ${LIST_MAX} entries.`)
  return list.map((x) => {
    if (typeof x !== 'string')
      throw malformed(`Policy statement ${what} must be a string or a list of strings.`)
    if (x.length > ELEMENT_MAX)
      throw malformed(`Policy statement ${what} has an entry longer than ${ELEMENT_MAX} characters.`)
    return x
  })
}

function checkAction(a: string): void {
  if (a === '*') return
  const colon = a.indexOf(':')
  if (colon <= 0 || colon === a.length - 1 || !/^[A-Za-z0-9-]+$/.test(a.slice(0, colon))) {
    throw malformed(`Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.`)
  }
  if (!/^[A-Za-z0-9*?]+$/.test(a.slice(colon + 1))) {
    throw malformed(`Action ${a.slice(0, 128)} has characters an action name cannot have.`)
  }
}

function checkResource(r: string): void {
  if (r === '*') return
  if (!r.startsWith('arn:') || r.split(':', 6).length < 6) {
    throw malformed(`Resource ${r.slice(0, 128)} must be in ARN format or "*".`)
  }
}

function principal(v: unknown): PolicyPrincipal {
  if (v === '*') return { any: true, aws: [], service: [] }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw malformed('Invalid principal in policy: Principal must be "*" or an object.')
  const out: PolicyPrincipal = { any: false, aws: [], service: [] }
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k === 'AWS') out.aws = strings(val, 'Principal AWS')
    else if (k === 'Service') out.service = strings(val, 'Principal Service')
    else if (k === 'Federated' || k === 'CanonicalUser') strings(val, `Principal ${k}`)
    else throw malformed(`Invalid principal in policy: unknown principal type "${k.slice(0, 64)}".`)
  }
  for (const a of out.aws) {
    if (a === '*') out.any = true
    else if (!/^\d{12}$/.test(a) && !/^arn:aws:(iam|sts)::\d{12}:[A-Za-z0-9+=,.@_/-]+$/.test(a))
      throw malformed(`Invalid principal in policy: "AWS":"${a.slice(0, 128)}"`)
  }
  return out
}

function conditions(v: unknown): PolicyCondition[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw malformed('Syntax errors in policy: Condition must be an object.')
  const out: PolicyCondition[] = []
  for (const [opName, block] of Object.entries(v as Record<string, unknown>)) {
    let rest = opName
    let set: PolicyCondition['set']
    const colon = rest.indexOf(':')
    if (colon >= 0) {
      const q = rest.slice(0, colon)
      if (q !== 'ForAllValues' && q !== 'ForAnyValue')
        throw malformed(`Invalid Condition type : ${opName.slice(0, 64)}.`)
      set = q
      rest = rest.slice(colon + 1)
    }
    let ifExists = false
    if (rest.endsWith('IfExists') && rest !== 'IfExists') {
      ifExists = true
      rest = rest.slice(0, -'IfExists'.length)
    }
    if (!CONDITION_OPERATORS.has(rest) || (rest === 'Null' && ifExists))
      throw malformed(`Invalid Condition type : ${opName.slice(0, 64)}.`)
    if (typeof block !== 'object' || block === null || Array.isArray(block))
      throw malformed(`Syntax errors in policy: the ${opName.slice(0, 64)} block must be an object.`)
    for (const [key, vals] of Object.entries(block as Record<string, unknown>)) {
      if (key.length === 0 || key.length > 256 || key.indexOf(':') <= 0)
        throw malformed(
          `Invalid Condition key : ${key.slice(0, 128)}. Condition keys must be prefaced by a vendor.`,
        )
      const list = Array.isArray(vals) ? vals : [vals]
      if (list.length === 0 || list.length > LIST_MAX)
        throw malformed(
          `Condition ${opName.slice(0, 64)} on ${key.slice(0, 128)} needs 1 to ${LIST_MAX} values.`,
        )
      const values = list.map((x) => {
        if (typeof x === 'string') {
          if (x.length > ELEMENT_MAX)
            throw malformed(`A condition value is longer than ${ELEMENT_MAX} characters.`)
          return x
        }
        if (typeof x === 'boolean' || typeof x === 'number') return String(x)
        throw malformed(`Condition values of ${key.slice(0, 128)} must be strings, numbers or booleans.`)
      })
      out.push({ ...(set === undefined ? {} : { set }), op: rest, ifExists, key, values })
      if (out.length > LIST_MAX) throw malformed(`A statement has more than ${LIST_MAX} conditions.`)
    }
  }
  return out
}

const STATEMENT_FIELDS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
])

function statement(v: unknown, kind: PolicyKind): PolicyStatement {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw malformed('Syntax errors in policy: each statement must be an object.')
  const s = v as Record<string, unknown>
  for (const k of Object.keys(s))
    if (!STATEMENT_FIELDS.has(k)) throw malformed(`Syntax errors in policy: unknown field ${k.slice(0, 64)}.`)
  const out: PolicyStatement = { effect: 'Allow', conditions: [] }
  if (s.Sid !== undefined) {
    if (
      typeof s.Sid !== 'string' ||
      (kind === 'identity' && !/^[A-Za-z0-9]*$/.test(s.Sid)) ||
      s.Sid.length > 128
    )
      throw malformed('Statement IDs (SID) must be alpha-numeric.')
    out.sid = s.Sid
  }
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
    throw malformed(
      s.Effect === undefined
        ? 'Missing required field Effect'
        : 'Invalid effect: Effect must be Allow or Deny.',
    )
  out.effect = s.Effect
  if ((s.Action === undefined) === (s.NotAction === undefined))
    throw malformed(
      s.Action === undefined
        ? 'Policy statement must contain actions.'
        : 'A statement cannot have both Action and NotAction.',
    )
  if (s.Action !== undefined) (out.action = strings(s.Action, 'Action')).forEach(checkAction)
  if (s.NotAction !== undefined) (out.notAction = strings(s.NotAction, 'NotAction')).forEach(checkAction)
  if (s.Resource !== undefined && s.NotResource !== undefined)
    throw malformed('A statement cannot have both Resource and NotResource.')
  if (s.Resource !== undefined) (out.resource = strings(s.Resource, 'Resource')).forEach(checkResource)
  if (s.NotResource !== undefined)
    (out.notResource = strings(s.NotResource, 'NotResource')).forEach(checkResource)
  if (kind === 'identity') {
    if (s.Principal !== undefined || s.NotPrincipal !== undefined)
      throw malformed('Policy document should not specify a principal.')
    if (out.resource === undefined && out.notResource === undefined)
      throw malformed('Policy statement must contain resources.')
  } else {
    if (s.NotPrincipal !== undefined) throw malformed('NotPrincipal is not supported in a role trust policy.')
    if (s.Principal === undefined) throw malformed('Missing required field Principal')
    if (out.resource !== undefined || out.notResource !== undefined)
      throw malformed('Has prohibited field Resource')
    out.principal = principal(s.Principal)
  }
  if (s.Condition !== undefined) out.conditions = conditions(s.Condition)
  return out
}

/**
 * Parses and validates a policy document. `sizeLimit`, when given, is the quota it counts against
 * (`LimitExceeded` beyond it); anything that is not a valid document is `MalformedPolicyDocument`
 * with the reason.
 */
export function parsePolicy(text: string, kind: PolicyKind, sizeLimit?: number): PolicyDocument {
  if (text.length > POLICY_TEXT_MAX)
    throw malformed(`The policy document is longer than ${POLICY_TEXT_MAX} characters.`)
  if (sizeLimit !== undefined && policySize(text) > sizeLimit)
    throw new ApiError('LimitExceeded', `Cannot exceed quota for PolicySize: ${sizeLimit}`)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw malformed('Syntax errors in policy.')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw malformed('Syntax errors in policy: the document must be a JSON object.')
  const d = doc as Record<string, unknown>
  for (const k of Object.keys(d))
    if (k !== 'Version' && k !== 'Id' && k !== 'Statement')
      throw malformed(`Syntax errors in policy: unknown field ${k.slice(0, 64)}.`)
  const version = d.Version ?? '2008-10-17'
  if (version !== '2012-10-17' && version !== '2008-10-17')
    throw malformed('The policy failed legacy parsing: Version must be 2012-10-17 or 2008-10-17.')
  if (d.Id !== undefined && typeof d.Id !== 'string')
    throw malformed('Syntax errors in policy: Id must be a string.')
  if (d.Statement === undefined) throw malformed('Missing required field Statement')
  const list = Array.isArray(d.Statement) ? d.Statement : [d.Statement]
  if (list.length === 0) throw malformed('Missing required field Statement')
  if (list.length > STATEMENTS_MAX) throw malformed(`A policy has at most ${STATEMENTS_MAX} statements.`)
  const statements = list.map((s) => statement(s, kind))
  const sids = new Set<string>()
  for (const s of statements) {
    if (s.sid === undefined || s.sid === '') continue
    if (sids.has(s.sid)) throw malformed('Statement IDs (SID) in a single policy must be unique')
    sids.add(s.sid)
  }
  return { version, statements }
}
