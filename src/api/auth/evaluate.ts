// SPDX-License-Identifier: Apache-2.0
/**
 * IAM policy evaluation for identity policies: an explicit deny in any statement wins, then an
 * allow, and anything not allowed is denied. A statement applies when its `Action`/`NotAction`
 * matches the action (without regard to case), its `Resource`/`NotResource` the resource ARN, and
 * every condition holds (operators AND, keys AND, values OR; `ForAllValues`/`ForAnyValue` over
 * multi-valued keys; `…IfExists`; `Null`). Policy variables (`${aws:username}`, `${aws:PrincipalTag/…}`,
 * defaults `${key, 'x'}`, `${*}`, `${?}`, `${$}`) are substituted in resources and condition values
 * of version 2012-10-17 documents.
 *
 * Policies are compiled once (per principal, cached by the caller): wildcards become linear-time
 * matchers (`protocols/ec2-query/wildcard.ts`, never a regular expression), CIDR blocks, numbers and
 * dates are parsed. Evaluating allocates nothing for a statement without policy variables.
 * @module
 */
import type { PolicyCondition, PolicyDocument, PolicyStatement } from '../../control/index.ts'
import { cidrWithin, tryParseCidr, type Cidr } from '../../packet/index.ts'
import {
  compileWildcard,
  hasWildcard,
  matchWildcard,
  type Wildcard,
} from '../protocols/ec2-query/wildcard.ts'

/** Lower-cased condition key → values (a single-valued key has one). */
export interface EvalContext {
  get(key: string): readonly string[] | undefined
}

/** A context of two layers: the resource's keys over the request's. */
export class LayeredContext implements EvalContext {
  base: EvalContext
  top: ReadonlyMap<string, readonly string[]> | undefined
  constructor(base: EvalContext, top?: ReadonlyMap<string, readonly string[]>) {
    this.base = base
    this.top = top
  }
  get(key: string): readonly string[] | undefined {
    return this.top?.get(key) ?? this.base.get(key)
  }
}

/** A pattern: exact text, a compiled wildcard, or a template with policy variables. */
interface Pattern {
  exact?: string
  wild?: Wildcard
  /** Text with `${…}`: substituted, then matched, at each evaluation. */
  template?: string
}

interface CompiledCondition {
  set: PolicyCondition['set']
  /** Base positive operator (`StringEquals` for `StringNotEquals`). */
  base: string
  negated: boolean
  ifExists: boolean
  key: string
  values: string[]
  patterns: Pattern[]
  numbers: number[]
  cidrs: Cidr[]
  /** Condition values of Null (true: the key must be absent). */
  nullWants: boolean[]
  variables: boolean
}

interface CompiledStatement {
  deny: boolean
  sid: string | undefined
  actions: Pattern[] | undefined
  notActions: Pattern[] | undefined
  resources: Pattern[] | undefined
  notResources: Pattern[] | undefined
  conditions: CompiledCondition[]
}

export interface CompiledPolicy {
  source: string
  statements: CompiledStatement[]
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny'

export interface EvalResult {
  decision: Decision
  /** The statement that decided (the deny, or the first allow). */
  source?: string
  sid?: string | undefined
}

const NEGATED: ReadonlyMap<string, string> = new Map([
  ['StringNotEquals', 'StringEquals'],
  ['StringNotEqualsIgnoreCase', 'StringEqualsIgnoreCase'],
  ['StringNotLike', 'StringLike'],
  ['NumericNotEquals', 'NumericEquals'],
  ['DateNotEquals', 'DateEquals'],
  ['NotIpAddress', 'IpAddress'],
  ['ArnNotEquals', 'ArnEquals'],
  ['ArnNotLike', 'ArnLike'],
])

/** IAM wildcards have no escape: a backslash is literal, so it is escaped for the matcher. */
function iamWildcard(p: string): Wildcard {
  return compileWildcard(p.includes('\\') ? p.replaceAll('\\', '\\\\') : p)
}

function pattern(text: string, variables: boolean, lower: boolean): Pattern {
  const t = lower ? text.toLowerCase() : text
  if (variables && t.includes('${')) return { template: t }
  if (t.includes('*') || t.includes('?')) return { wild: iamWildcard(t) }
  return { exact: t }
}

/** Substitutes policy variables; undefined when a variable has no value and no default. */
export function substitute(template: string, ctx: EvalContext): string | undefined {
  let out = ''
  let i = 0
  while (i < template.length) {
    const open = template.indexOf('${', i)
    if (open < 0) {
      out += template.slice(i)
      break
    }
    const close = template.indexOf('}', open + 2)
    if (close < 0) {
      out += template.slice(i)
      break
    }
    out += template.slice(i, open)
    const inner = template.slice(open + 2, close)
    i = close + 1
    if (inner === '*' || inner === '?' || inner === '$') {
      out += inner
      continue
    }
    const comma = inner.indexOf(',')
    const key = (comma < 0 ? inner : inner.slice(0, comma)).trim().toLowerCase()
    const v = ctx.get(key)
    if (v !== undefined && v.length === 1) {
      out += v[0]!
      continue
    }
    if (comma >= 0) {
      const d = inner.slice(comma + 1).trim()
      if (d.length >= 2 && d.startsWith("'") && d.endsWith("'")) {
        out += d.slice(1, -1)
        continue
      }
    }
    return undefined
  }
  return out
}

function matchPattern(p: Pattern, text: string, ctx: EvalContext, lower: boolean): boolean {
  if (p.exact !== undefined) return p.exact === text
  if (p.wild !== undefined) return matchWildcard(p.wild, text)
  const s = substitute(p.template!, ctx)
  if (s === undefined) return false
  const t = lower ? s.toLowerCase() : s
  return hasWildcard(t) ? matchWildcard(iamWildcard(t), text) : t === text
}

function anyPattern(list: readonly Pattern[], text: string, ctx: EvalContext, lower: boolean): boolean {
  for (const p of list) if (matchPattern(p, text, ctx, lower)) return true
  return false
}

function parseDate(v: string): number {
  if (/^\d{1,12}$/.test(v)) return Number(v) * 1000
  const t = Date.parse(v)
  return Number.isNaN(t) ? NaN : t
}

function compileCondition(c: PolicyCondition, variables: boolean): CompiledCondition {
  const base = NEGATED.get(c.op) ?? c.op
  const out: CompiledCondition = {
    set: c.set,
    base,
    negated: NEGATED.has(c.op),
    ifExists: c.ifExists,
    key: c.key.toLowerCase(),
    values: c.values,
    patterns: [],
    numbers: [],
    cidrs: [],
    nullWants: [],
    variables,
  }
  switch (base) {
    case 'StringLike':
      out.patterns = c.values.map((v) => pattern(v, variables, false))
      break
    case 'StringEquals':
      out.patterns = c.values.map((v) => (variables && v.includes('${') ? { template: v } : { exact: v }))
      break
    case 'StringEqualsIgnoreCase':
      out.patterns = c.values.map((v) =>
        variables && v.includes('${') ? { template: v.toLowerCase() } : { exact: v.toLowerCase() },
      )
      break
    case 'ArnLike':
    case 'ArnEquals':
      out.patterns = c.values.map((v) => pattern(v, variables, false))
      break
    case 'NumericEquals':
    case 'NumericLessThan':
    case 'NumericLessThanEquals':
    case 'NumericGreaterThan':
    case 'NumericGreaterThanEquals':
      out.numbers = c.values.map((v) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : NaN))
      break
    case 'DateEquals':
    case 'DateLessThan':
    case 'DateLessThanEquals':
    case 'DateGreaterThan':
    case 'DateGreaterThanEquals':
      out.numbers = c.values.map(parseDate)
      break
    case 'IpAddress':
      for (const v of c.values) {
        const cidr = tryParseCidr(v)
        if (cidr !== undefined) out.cidrs.push(cidr)
      }
      break
    case 'Null':
      out.nullWants = c.values.map((v) => v.toLowerCase() === 'true')
      break
  }
  return out
}

/** Compiles a parsed document (once per principal and policy version). */
export function compilePolicy(source: string, doc: PolicyDocument): CompiledPolicy {
  const variables = doc.version === '2012-10-17'
  const statements = doc.statements.map((s: PolicyStatement) => ({
    deny: s.effect === 'Deny',
    sid: s.sid,
    actions: s.action?.map((a) => pattern(a, false, true)),
    notActions: s.notAction?.map((a) => pattern(a, false, true)),
    resources: s.resource?.map((r) => pattern(r, variables, false)),
    notResources: s.notResource?.map((r) => pattern(r, variables, false)),
    conditions: s.conditions.map((c) => compileCondition(c, variables)),
  }))
  return { source, statements }
}

/** ARNs compared part by part (the first five colons split them), each part a wildcard. */
function arnMatch(p: Pattern, value: string, ctx: EvalContext): boolean {
  let text = p.exact ?? p.template
  if (text === undefined) {
    // A compiled wildcard over the whole ARN: the parts are matched as one text, colons included.
    return matchWildcard(p.wild!, value)
  }
  if (p.template !== undefined) {
    const s = substitute(p.template, ctx)
    if (s === undefined) return false
    text = s
    if (hasWildcard(text)) return matchWildcard(iamWildcard(text), value)
  }
  return text === value
}

function baseMatch(c: CompiledCondition, i: number, v: string, ctx: EvalContext): boolean {
  switch (c.base) {
    case 'StringEquals':
    case 'StringLike':
    case 'BinaryEquals': {
      const p = c.patterns[i]
      if (p === undefined) return c.values[i] === v
      return matchPattern(p, v, ctx, false)
    }
    case 'StringEqualsIgnoreCase':
      return matchPattern(c.patterns[i]!, v.toLowerCase(), ctx, true)
    case 'ArnEquals':
    case 'ArnLike':
      return arnMatch(c.patterns[i]!, v, ctx)
    case 'Bool':
      return c.values[i]!.toLowerCase() === v.toLowerCase()
    case 'NumericEquals':
    case 'NumericLessThan':
    case 'NumericLessThanEquals':
    case 'NumericGreaterThan':
    case 'NumericGreaterThanEquals':
    case 'DateEquals':
    case 'DateLessThan':
    case 'DateLessThanEquals':
    case 'DateGreaterThan':
    case 'DateGreaterThanEquals': {
      const want = c.numbers[i]!
      const got = c.base.startsWith('Date') ? parseDate(v) : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : NaN
      if (Number.isNaN(want) || Number.isNaN(got)) return false
      const op = c.base.startsWith('Date') ? c.base.slice(4) : c.base.slice(7)
      return op === 'Equals'
        ? got === want
        : op === 'LessThan'
          ? got < want
          : op === 'LessThanEquals'
            ? got <= want
            : op === 'GreaterThan'
              ? got > want
              : got >= want
    }
    default:
      return false
  }
}

/** Whether one request value matches any of the condition's values (the positive operator). */
function valueMatches(c: CompiledCondition, v: string, ctx: EvalContext): boolean {
  if (c.base === 'IpAddress') {
    const ip = tryParseCidr(v.startsWith('::ffff:') && v.includes('.') ? v.slice(7) : v)
    if (ip === undefined) return false
    for (const cidr of c.cidrs) if (cidrWithin(ip, cidr)) return true
    return false
  }
  for (let i = 0; i < c.values.length; i++) if (baseMatch(c, i, v, ctx)) return true
  return false
}

function conditionHolds(c: CompiledCondition, ctx: EvalContext): boolean {
  const got = ctx.get(c.key)
  const absent = got === undefined || got.length === 0
  if (c.base === 'Null') {
    for (const want of c.nullWants) if (want === absent) return true
    return false
  }
  if (absent) {
    if (c.set === 'ForAllValues') return true
    if (c.set === 'ForAnyValue') return false
    return c.ifExists || c.negated
  }
  if (c.set === 'ForAllValues') {
    for (const v of got) if (valueMatches(c, v, ctx) === c.negated) return false
    return true
  }
  if (c.set === 'ForAnyValue') {
    for (const v of got) if (valueMatches(c, v, ctx) !== c.negated) return true
    return false
  }
  let any = false
  for (const v of got)
    if (valueMatches(c, v, ctx)) {
      any = true
      break
    }
  return any !== c.negated
}

function statementApplies(s: CompiledStatement, action: string, resource: string, ctx: EvalContext): boolean {
  if (
    s.actions !== undefined
      ? !anyPattern(s.actions, action, ctx, true)
      : anyPattern(s.notActions!, action, ctx, true)
  )
    return false
  if (s.resources !== undefined) {
    if (!anyPattern(s.resources, resource, ctx, false)) return false
  } else if (s.notResources !== undefined && anyPattern(s.notResources, resource, ctx, false)) return false
  for (const c of s.conditions) if (!conditionHolds(c, ctx)) return false
  return true
}

/**
 * Evaluates identity policies for one action (`prefix:Action`, lower-cased) on one resource ARN.
 * An explicit deny anywhere wins; else the first allow; else the implicit deny.
 */
export function evaluate(
  policies: readonly CompiledPolicy[],
  action: string,
  resource: string,
  ctx: EvalContext,
): EvalResult {
  let allow: EvalResult | undefined
  for (const p of policies) {
    for (const s of p.statements) {
      if (allow !== undefined && !s.deny) continue
      if (!statementApplies(s, action, resource, ctx)) continue
      if (s.deny) return { decision: 'ExplicitDeny', source: p.source, sid: s.sid }
      allow = { decision: 'Allow', source: p.source, sid: s.sid }
    }
  }
  return allow ?? { decision: 'ImplicitDeny' }
}
