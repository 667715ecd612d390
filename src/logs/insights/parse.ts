// SPDX-License-Identifier: Apache-2.0
/**
 * The Logs Insights query language, parsed into commands. Commands are separated by `|` (or a new
 * line that starts with a command), `#` starts a comment:
 *
 * - `fields e [as a], …` / `display f, …` — what each result shows (and computed fields);
 * - `filter <bool>` — comparisons `= != < <= > >=`, `like "text"` (substring), `like /re/` and
 *   `=~ /re/` (regex.ts, linear-time), `in [..]`, `not in`, `and`, `or`, `not`, arithmetic
 *   `+ - * / %`, and functions (see FUNCTIONS);
 * - `stats agg(e) [as a], … [by e [as a], …]` — `count(*)`, `count(e)`, `sum`, `avg`, `min`,
 *   `max`, `count_distinct`, `earliest`, `latest`, `pct(e, n)`, `stddev`; groups may use
 *   `bin(5m)` (units ms, s, m, h, d, w);
 * - `sort f [asc|desc], …`, `limit n`, `dedup f, …`;
 * - `parse f "text * more *" as a, b` — a glob with `*` captures.
 *
 * Anything else is an {@link InsightsQueryError} (the API answers MalformedQueryException).
 * @module
 */
import { InsightsQueryError } from '../errors.ts'
import { compileSafeRegex, type SafeRegex } from './regex.ts'

export type Expr =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'field'; name: string }
  | { t: 'dur'; ms: number }
  | { t: 'regex'; re: SafeRegex }
  | { t: 'list'; items: Expr[] }
  | { t: 'bin'; op: string; a: Expr; b: Expr }
  | { t: 'not'; a: Expr }
  | { t: 'neg'; a: Expr }
  | { t: 'call'; fn: string; args: Expr[] }
  | { t: 'agg'; fn: string; args: Expr[]; star: boolean }

export interface Named {
  expr: Expr
  name: string
}

export type Command =
  | { t: 'fields'; items: Named[] }
  | { t: 'display'; names: string[] }
  | { t: 'filter'; expr: Expr }
  | { t: 'stats'; aggs: Named[]; by: Named[] }
  | { t: 'sort'; keys: { name: string; desc: boolean }[] }
  | { t: 'limit'; n: number }
  | { t: 'dedup'; names: string[] }
  | { t: 'parse'; field: string; parts: string[]; names: string[] }

/** Longest query (AWS's QueryString limit). */
export const MAX_QUERY = 10_000
/** Most rows a query may ask for (`limit`). */
export const MAX_LIMIT = 10_000

/** Scalar functions, with their argument counts [min, max]. */
export const FUNCTIONS: Readonly<Record<string, [number, number]>> = {
  isipv4insubnet: [2, 2],
  isipinsubnet: [2, 2],
  ispresent: [1, 1],
  isempty: [1, 1],
  isblank: [1, 1],
  strlen: [1, 1],
  toupper: [1, 1],
  tolower: [1, 1],
  trim: [1, 1],
  concat: [1, 16],
  substr: [2, 3],
  replace: [3, 3],
  strcontains: [2, 2],
  abs: [1, 1],
  ceil: [1, 1],
  floor: [1, 1],
  greatest: [1, 16],
  least: [1, 16],
  bin: [1, 1],
  datefloor: [2, 2],
  dateceil: [2, 2],
  frommillis: [1, 1],
  tomillis: [1, 1],
  coalesce: [1, 16],
}

export const AGGREGATES = new Set([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'count_distinct',
  'earliest',
  'latest',
  'pct',
  'stddev',
])

function fail(msg: string): never {
  throw new InsightsQueryError(msg)
}

type Tok =
  | { k: 'id'; v: string }
  | { k: 'num'; v: number }
  | { k: 'dur'; ms: number }
  | { k: 'str'; v: string }
  | { k: 're'; v: string }
  | { k: 'op'; v: string }
  | { k: 'pipe' }

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const COMMANDS = new Set(['fields', 'display', 'filter', 'stats', 'sort', 'limit', 'parse', 'dedup'])

function isIdStart(c: string): boolean {
  return /[A-Za-z_@$]/.test(c)
}

function isIdChar(c: string): boolean {
  return /[A-Za-z0-9_@.$-]/.test(c)
}

function lex(src: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  let lineStart = true
  while (i < src.length) {
    const c = src[i]!
    if (c === '\n') {
      lineStart = true
      i++
      continue
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++
      continue
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++
      continue
    }
    // A new line that begins with a command word starts a new command, as the console allows.
    if (lineStart && out.length > 0 && out[out.length - 1]!.k !== 'pipe') {
      const m = /^[a-z]+/.exec(src.slice(i, i + 10))
      if (m !== null && COMMANDS.has(m[0]) && !/[A-Za-z0-9_(]/.test(src[i + m[0].length] ?? ''))
        out.push({ k: 'pipe' })
    }
    lineStart = false
    if (c === '|') {
      out.push({ k: 'pipe' })
      i++
    } else if (c === '"' || c === "'") {
      let v = ''
      i++
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) {
          i++
          v += src[i] === 'n' ? '\n' : src[i] === 't' ? '\t' : src[i]
        } else v += src[i]
        i++
      }
      if (i >= src.length) fail('unterminated string.')
      i++
      out.push({ k: 'str', v })
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1)
      if (j < 0) fail('unterminated `field name`.')
      out.push({ k: 'id', v: src.slice(i + 1, j) })
      i = j + 1
    } else if (c === '/' && lastIsOperandStart(out)) {
      let j = i + 1
      let v = ''
      while (j < src.length && src[j] !== '/') {
        if (src[j] === '\\' && j + 1 < src.length) {
          v += src[j]! + src[j + 1]!
          j += 2
        } else v += src[j++]
      }
      if (j >= src.length) fail('unterminated /regular expression/.')
      out.push({ k: 're', v })
      i = j + 1
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)([a-z]+)?/.exec(src.slice(i, i + 40))!
      i += m[0].length
      if (m[2] !== undefined) {
        const unit = UNIT_MS[m[2]]
        if (unit === undefined) fail(`unknown time unit '${m[2]}'.`)
        out.push({ k: 'dur', ms: Number(m[1]) * unit })
      } else out.push({ k: 'num', v: Number(m[1]) })
    } else if (isIdStart(c)) {
      let j = i + 1
      while (j < src.length && isIdChar(src[j]!)) {
        // `a-b` is a field name only when no space surrounds the dash and a letter follows
        if (src[j] === '-' && !/[A-Za-z]/.test(src[j + 1] ?? '')) break
        j++
      }
      out.push({ k: 'id', v: src.slice(i, j) })
      i = j
    } else {
      const two = src.slice(i, i + 2)
      if (['!=', '<=', '>=', '=~', '=='].includes(two)) {
        out.push({ k: 'op', v: two === '==' ? '=' : two })
        i += 2
      } else if ('=<>+-*/%(),[]^'.includes(c)) {
        out.push({ k: 'op', v: c })
        i++
      } else fail(`unexpected character '${c}'.`)
    }
  }
  return out
}

/** A `/` begins a regex where an operand is expected (after an operator, `like`, `(`, `,`, start). */
function lastIsOperandStart(out: Tok[]): boolean {
  const t = out[out.length - 1]
  if (t === undefined || t.k === 'pipe') return true
  if (t.k === 'op') return t.v !== ')' && t.v !== ']'
  if (t.k === 'id') return ['like', 'and', 'or', 'not', 'filter'].includes(t.v.toLowerCase())
  return false
}

class Parser {
  private i = 0
  private depth = 0
  private readonly toks: Tok[]
  constructor(toks: Tok[]) {
    this.toks = toks
  }

  get atEnd(): boolean {
    const t = this.toks[this.i]
    return t === undefined || t.k === 'pipe'
  }

  peek(): Tok | undefined {
    return this.toks[this.i]
  }

  next(): Tok {
    const t = this.toks[this.i++]
    if (t === undefined || t.k === 'pipe') fail('unexpected end of command.')
    return t
  }

  isOp(v: string): boolean {
    const t = this.peek()
    return t !== undefined && t.k === 'op' && t.v === v
  }

  isWord(v: string): boolean {
    const t = this.peek()
    return t !== undefined && t.k === 'id' && t.v.toLowerCase() === v
  }

  expectOp(v: string): void {
    if (!this.isOp(v)) fail(`expected '${v}'.`)
    this.i++
  }

  skipPipe(): boolean {
    const t = this.peek()
    if (t === undefined) return false
    if (t.k !== 'pipe') fail('expected | between commands.')
    this.i++
    return true
  }

  ident(): string {
    const t = this.next()
    if (t.k !== 'id') fail('expected a field name.')
    return t.v
  }

  expr(): Expr {
    if (++this.depth > 64) fail('expression nested too deeply.')
    let a = this.and()
    while (this.isWord('or')) {
      this.i++
      a = { t: 'bin', op: 'or', a, b: this.and() }
    }
    this.depth--
    return a
  }

  private and(): Expr {
    let a = this.not()
    while (this.isWord('and')) {
      this.i++
      a = { t: 'bin', op: 'and', a, b: this.not() }
    }
    return a
  }

  private not(): Expr {
    if (this.isWord('not')) {
      this.i++
      return { t: 'not', a: this.not() }
    }
    return this.cmp()
  }

  private cmp(): Expr {
    const a = this.add()
    const t = this.peek()
    if (t === undefined) return a
    if (t.k === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++
      return { t: 'bin', op: t.v, a, b: this.add() }
    }
    if (t.k === 'op' && t.v === '=~') {
      this.i++
      return { t: 'bin', op: 'like', a, b: this.pattern(true) }
    }
    let negate = false
    if (t.k === 'id' && t.v.toLowerCase() === 'not') {
      const n = this.toks[this.i + 1]
      if (n?.k === 'id' && ['like', 'in'].includes(n.v.toLowerCase())) {
        negate = true
        this.i++
      } else return a
    }
    const w = this.peek()
    if (w?.k === 'id' && w.v.toLowerCase() === 'like') {
      this.i++
      const e: Expr = { t: 'bin', op: 'like', a, b: this.pattern(false) }
      return negate ? { t: 'not', a: e } : e
    }
    if (w?.k === 'id' && w.v.toLowerCase() === 'in') {
      this.i++
      this.expectOp('[')
      const items: Expr[] = []
      while (!this.isOp(']')) {
        items.push(this.add())
        if (items.length > 1000) fail('an in list over 1000 items.')
        if (!this.isOp(']')) this.expectOp(',')
      }
      this.i++
      const e: Expr = { t: 'bin', op: 'in', a, b: { t: 'list', items } }
      return negate ? { t: 'not', a: e } : e
    }
    if (negate) fail("expected 'like' or 'in' after 'not'.")
    return a
  }

  private pattern(regexOnly: boolean): Expr {
    const t = this.next()
    if (t.k === 're') return { t: 'regex', re: compileSafeRegex(t.v) }
    if (t.k === 'str' && !regexOnly) return { t: 'str', v: t.v }
    fail(
      regexOnly ? "'=~' needs a /regular expression/." : "'like' needs a string or a /regular expression/.",
    )
  }

  private add(): Expr {
    let a = this.mul()
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.next() as { v: string }).v
      a = { t: 'bin', op, a, b: this.mul() }
    }
    return a
  }

  private mul(): Expr {
    let a = this.unary()
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.next() as { v: string }).v
      a = { t: 'bin', op, a, b: this.unary() }
    }
    return a
  }

  private unary(): Expr {
    if (this.isOp('-')) {
      this.i++
      return { t: 'neg', a: this.unary() }
    }
    return this.primary()
  }

  private primary(): Expr {
    const t = this.next()
    switch (t.k) {
      case 'num':
        return { t: 'num', v: t.v }
      case 'dur':
        return { t: 'dur', ms: t.ms }
      case 'str':
        return { t: 'str', v: t.v }
      case 're':
        return { t: 'regex', re: compileSafeRegex(t.v) }
      case 'op':
        if (t.v === '(') {
          const e = this.expr()
          this.expectOp(')')
          return e
        }
        fail(`unexpected '${t.v}'.`)
      // eslint-disable-next-line no-fallthrough
      case 'id': {
        if (!this.isOp('(')) return { t: 'field', name: t.v }
        this.i++
        const fn = t.v.toLowerCase()
        const args: Expr[] = []
        let star = false
        if (this.isOp('*') && (AGGREGATES.has(fn) || fn === 'count')) {
          this.i++
          star = true
        } else {
          while (!this.isOp(')')) {
            args.push(this.expr())
            if (args.length > 16) fail('too many arguments.')
            if (!this.isOp(')')) this.expectOp(',')
          }
        }
        this.expectOp(')')
        if (AGGREGATES.has(fn)) return { t: 'agg', fn, args, star }
        const arity = FUNCTIONS[fn]
        if (arity === undefined) fail(`unknown function '${t.v.slice(0, 40)}'.`)
        if (args.length < arity[0] || args.length > arity[1]) fail(`wrong number of arguments to ${t.v}.`)
        return { t: 'call', fn, args }
      }
      default:
        fail('unexpected token.')
    }
  }

  /** `e [as name]`; the default name is the expression's text as the console shows it. */
  named(src: (e: Expr) => string): Named {
    const expr = this.expr()
    if (this.isWord('as')) {
      this.i++
      return { expr, name: this.ident() }
    }
    return { expr, name: src(expr) }
  }
}

/** The text of an expression, used as the default name of a result field (`count(*)`, `sum(bytes)`). */
export function exprText(e: Expr): string {
  switch (e.t) {
    case 'num':
      return String(e.v)
    case 'str':
      return JSON.stringify(e.v)
    case 'field':
      return e.name
    case 'dur':
      return `${e.ms}ms`
    case 'regex':
      return `/${e.re.source}/`
    case 'list':
      return `[${e.items.map(exprText).join(', ')}]`
    case 'bin':
      return `${exprText(e.a)} ${e.op} ${exprText(e.b)}`
    case 'not':
      return `not ${exprText(e.a)}`
    case 'neg':
      return `-${exprText(e.a)}`
    case 'call':
    case 'agg':
      return `${e.fn}(${'star' in e && e.star ? '*' : e.args.map(exprText).join(', ')})`
  }
}

/** `bin(5m)` durations keep the text the user wrote in default names. */
function namer(src: string): (e: Expr) => string {
  void src
  return exprText
}

/** Parses a query into its commands. */
export function parseQuery(query: string): Command[] {
  if (query.length > MAX_QUERY) fail(`the query is longer than ${MAX_QUERY} characters.`)
  const p = new Parser(lex(query))
  const name = namer(query)
  const cmds: Command[] = []
  let stats = 0
  while (!p.atEnd || p.peek() !== undefined) {
    if (p.atEnd) {
      if (!p.skipPipe()) break
      continue
    }
    const word = p.ident().toLowerCase()
    switch (word) {
      case 'fields': {
        const items: Named[] = []
        do items.push(p.named(name))
        while (p.isOp(',') && (p.next(), true))
        cmds.push({ t: 'fields', items })
        break
      }
      case 'display': {
        const names: string[] = []
        do names.push(p.ident())
        while (p.isOp(',') && (p.next(), true))
        cmds.push({ t: 'display', names })
        break
      }
      case 'filter':
        cmds.push({ t: 'filter', expr: p.expr() })
        break
      case 'stats': {
        if (++stats > 1) fail('only one stats command is supported.')
        const aggs: Named[] = []
        do aggs.push(p.named(name))
        while (p.isOp(',') && (p.next(), true))
        for (const a of aggs)
          if (!hasAgg(a.expr)) fail(`stats needs an aggregate function, not '${exprText(a.expr)}'.`)
        const by: Named[] = []
        if (p.isWord('by')) {
          p.next()
          do by.push(p.named(name))
          while (p.isOp(',') && (p.next(), true))
        }
        cmds.push({ t: 'stats', aggs, by })
        break
      }
      case 'sort': {
        const keys: { name: string; desc: boolean }[] = []
        do {
          const n = p.ident()
          let desc = false
          if (p.isWord('desc')) {
            p.next()
            desc = true
          } else if (p.isWord('asc')) p.next()
          keys.push({ name: n, desc })
        } while (p.isOp(',') && (p.next(), true))
        cmds.push({ t: 'sort', keys })
        break
      }
      case 'limit': {
        const t = p.next()
        if (t.k !== 'num' || !Number.isInteger(t.v) || t.v < 1 || t.v > MAX_LIMIT)
          fail(`limit must be an integer from 1 to ${MAX_LIMIT}.`)
        cmds.push({ t: 'limit', n: t.v })
        break
      }
      case 'dedup': {
        const names: string[] = []
        do names.push(p.ident())
        while (p.isOp(',') && (p.next(), true))
        cmds.push({ t: 'dedup', names })
        break
      }
      case 'parse': {
        const field = p.ident()
        const t = p.next()
        if (t.k === 're')
          fail('parse with a regular expression is not supported: use a glob pattern ("… * …").')
        if (t.k !== 'str') fail('parse needs a "pattern with * captures".')
        const parts = t.v.split('*')
        if (!p.isWord('as')) fail("parse needs 'as' and the capture names.")
        p.next()
        const names: string[] = []
        do names.push(p.ident())
        while (p.isOp(',') && (p.next(), true))
        if (names.length !== parts.length - 1)
          fail(`parse has ${parts.length - 1} captures but ${names.length} names.`)
        cmds.push({ t: 'parse', field, parts, names })
        break
      }
      default:
        fail(`unknown command '${word.slice(0, 40)}'.`)
    }
    if (!p.atEnd) fail(`unexpected text after the ${word} command.`)
  }
  if (cmds.length === 0) fail('the query is empty.')
  return cmds
}

function hasAgg(e: Expr): boolean {
  switch (e.t) {
    case 'agg':
      return true
    case 'bin':
      return hasAgg(e.a) || hasAgg(e.b)
    case 'neg':
    case 'not':
      return hasAgg(e.a)
    case 'call':
      return e.args.some(hasAgg)
    default:
      return false
  }
}
