// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs filter patterns, parsed once into a compiled matcher. Three forms:
 *
 * - **terms** — `ERROR`, `"connection refused"`, `?ERROR ?WARN`, `ERROR -Exiting`: every plain term
 *   must occur in the message, at least one `?` term if there are any, and no `-` term (substring
 *   matches, case-sensitive). An empty pattern matches every event.
 * - **space-delimited** — `[version, account, eni, source, destination, srcport, destport="22",
 *   protocol, packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]`: the message is
 *   split on spaces (a `"…"` or `[…]` run is one field, without its delimiters), fields are bound to
 *   the names by position (`...` stands for any number of fields, once), and the conditions must
 *   hold: `=`, `!=`, `<`, `<=`, `>`, `>=` against numbers (numeric comparison) or strings (`*`
 *   wildcards, `=`/`!=` only), combined with `&&`, `||` and parentheses. Without `...` the field count
 *   must be exactly the pattern's.
 * - **JSON** — `{ $.eventType = "UpdateTrail" }`, `{ ($.latency > 500) && ($.status != 200) }`,
 *   `{ $.user.email IS NULL }`, `{ $.a[0].b NOT EXISTS }`, `{ $.ok IS TRUE }`: selectors into a JSON
 *   message, with the same comparisons and boolean logic.
 *
 * Matching is linear in the message (star-globs match part by part with `indexOf`, see glob.ts); no
 * RegExp is ever built from a pattern. CloudWatch's `%regex%` terms are refused with a
 * {@link FilterPatternError}, as is anything that does not parse.
 * @module
 */
import { FilterPatternError } from './errors.ts'
import { compileGlob, globMatch, type Glob } from './glob.ts'

/** Longest filter pattern (AWS's limit). */
export const MAX_FILTER_PATTERN = 1024
/** Most fields a space-delimited message is split into; a message with more does not match. */
export const MAX_FIELDS = 1024
/** Deepest JSON message a JSON pattern looks into. */
const MAX_JSON_MESSAGE = 256 * 1024

export type PatternKind = 'all' | 'terms' | 'space-delimited' | 'json'

/** A compiled filter pattern. */
export interface FilterMatcher {
  readonly kind: PatternKind
  match(message: string): boolean
  /**
   * For space-delimited patterns: the names of the pattern's fields, in order (`...` omitted), and
   * their values in a matching message (metric filters' `$name` values; TestMetricFilter).
   */
  extract?(message: string): Record<string, string> | undefined
}

type Op = '=' | '!=' | '<' | '<=' | '>' | '>='

/** A comparison's right-hand side. */
type Literal = { num: number; str: string; glob: Glob; numeric: boolean }

/** A condition tree; a selector is a field index (space-delimited) or a JSON path. */
type Cond<S> =
  | { t: 'cmp'; sel: S; op: Op; lit: Literal }
  | { t: 'is'; sel: S; what: 'null' | 'true' | 'false' | 'exists' | 'notexists' }
  | { t: 'and' | 'or'; a: Cond<S>; b: Cond<S> }

function fail(message: string): never {
  throw new FilterPatternError(`Invalid filter pattern: ${message}`)
}

// ---------------------------------------------------------------- tokens

type Tok =
  | { k: 'str'; v: string } // "quoted"
  | { k: 'word'; v: string } // bare word, number, selector, keyword
  | { k: 'op'; v: Op | '&&' | '||' | '(' | ')' | ',' }

const OP_CHARS = new Set(['=', '!', '<', '>', '&', '|', '(', ')', ','])

function tokenize(src: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }
    if (c === '"') {
      let v = ''
      i++
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) i++
        v += src[i]
        i++
      }
      if (i >= src.length) fail('unterminated quoted string.')
      i++
      out.push({ k: 'str', v })
      continue
    }
    const two = src.slice(i, i + 2)
    if (two === '&&' || two === '||' || two === '!=' || two === '<=' || two === '>=') {
      out.push({ k: 'op', v: two })
      i += 2
      continue
    }
    if (c === '=' || c === '<' || c === '>' || c === '(' || c === ')' || c === ',') {
      out.push({ k: 'op', v: c })
      i++
      continue
    }
    if (c === '!' || c === '&' || c === '|') fail(`unexpected '${c}'.`)
    let j = i
    while (j < src.length) {
      const d = src[j]!
      if (d === ' ' || d === '\t' || d === '\n' || d === '\r' || d === '"' || OP_CHARS.has(d)) break
      j++
    }
    out.push({ k: 'word', v: src.slice(i, j) })
    i = j
  }
  return out
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/

function literal(t: Tok | undefined): Literal {
  if (t === undefined || t.k === 'op') fail('a comparison needs a value.')
  const numeric = t.k === 'word' && NUMBER.test(t.v)
  return { num: numeric ? Number(t.v) : NaN, str: t.v, glob: compileGlob(t.v), numeric }
}

/** A recursive-descent parser over tokens; `selector` turns a word into a selector. */
class ExprParser<S> {
  private i = 0
  private depth = 0
  private readonly toks: Tok[]
  private readonly selector: (word: string) => S
  constructor(toks: Tok[], selector: (word: string) => S) {
    this.toks = toks
    this.selector = selector
  }

  get done(): boolean {
    return this.i >= this.toks.length
  }

  private peek(): Tok | undefined {
    return this.toks[this.i]
  }

  private isOp(v: string): boolean {
    const t = this.peek()
    return t !== undefined && t.k === 'op' && t.v === v
  }

  parse(): Cond<S> {
    if (++this.depth > 32) fail('too deeply nested.')
    let left = this.and()
    while (this.isOp('||')) {
      this.i++
      left = { t: 'or', a: left, b: this.and() }
    }
    this.depth--
    return left
  }

  private and(): Cond<S> {
    let left = this.unary()
    while (this.isOp('&&')) {
      this.i++
      left = { t: 'and', a: left, b: this.unary() }
    }
    return left
  }

  private unary(): Cond<S> {
    if (this.isOp('(')) {
      this.i++
      const inner = this.parse()
      if (!this.isOp(')')) fail("missing ')'.")
      this.i++
      return inner
    }
    const t = this.toks[this.i++]
    if (t === undefined || t.k !== 'word') fail('expected a field or selector.')
    const sel = this.selector(t.v)
    const next = this.peek()
    if (next !== undefined && next.k === 'word') {
      const w = next.v.toUpperCase()
      const w2 = this.toks[this.i + 1]
      const w2v = w2 !== undefined && w2.k === 'word' ? w2.v.toUpperCase() : ''
      if (w === 'IS' && (w2v === 'NULL' || w2v === 'TRUE' || w2v === 'FALSE')) {
        this.i += 2
        return { t: 'is', sel, what: w2v.toLowerCase() as 'null' | 'true' | 'false' }
      }
      if (w === 'NOT' && w2v === 'EXISTS') {
        this.i += 2
        return { t: 'is', sel, what: 'notexists' }
      }
      if (w === 'EXISTS') {
        this.i++
        return { t: 'is', sel, what: 'exists' }
      }
      fail(`unexpected '${next.v.slice(0, 32)}'.`)
    }
    if (next === undefined || next.k !== 'op' || !['=', '!=', '<', '<=', '>', '>='].includes(next.v))
      fail(`expected a comparison after '${t.v.slice(0, 32)}'.`)
    this.i++
    const lit = literal(this.toks[this.i++])
    const op = next.v as Op
    if (!lit.numeric && op !== '=' && op !== '!=') fail(`'${op}' needs a number.`)
    return { t: 'cmp', sel, op, lit }
  }
}

function cmpNumber(op: Op, a: number, b: number): boolean {
  switch (op) {
    case '=':
      return a === b
    case '!=':
      return a !== b
    case '<':
      return a < b
    case '<=':
      return a <= b
    case '>':
      return a > b
    case '>=':
      return a >= b
  }
}

/** Compares a present value (its text, and its number when it has one) with a literal. */
function compare(op: Op, lit: Literal, text: string, num: number): boolean {
  if (lit.numeric) {
    if (Number.isNaN(num)) return op === '=' || op === '!=' ? globCompare(op, lit, text) : false
    return cmpNumber(op, num, lit.num)
  }
  return globCompare(op, lit, text)
}

function globCompare(op: Op, lit: Literal, text: string): boolean {
  const m = globMatch(lit.glob, text)
  return op === '=' ? m : !m
}

function textNumber(s: string): number {
  return s.length > 0 && s.length < 64 && NUMBER.test(s) ? Number(s) : NaN
}

// ---------------------------------------------------------------- terms

function compileTerms(src: string): FilterMatcher {
  const required: string[] = []
  const optional: string[] = []
  const excluded: string[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }
    let into = required
    if (c === '?' || c === '-') {
      into = c === '?' ? optional : excluded
      i++
    }
    let term: string
    if (src[i] === '"') {
      let v = ''
      i++
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) i++
        v += src[i]
        i++
      }
      if (i >= src.length) fail('unterminated quoted string.')
      i++
      term = v
    } else {
      let j = i
      while (j < src.length && !' \t\n\r"'.includes(src[j]!)) j++
      term = src.slice(i, j)
      i = j
      if (term.startsWith('%')) fail('regular-expression terms (%…%) are not supported.')
    }
    if (term === '') fail('an empty term.')
    into.push(term)
  }
  if (required.length + optional.length + excluded.length === 0) return MATCH_ALL
  return {
    kind: 'terms',
    match(message) {
      for (const t of required) if (!message.includes(t)) return false
      for (const t of excluded) if (message.includes(t)) return false
      if (optional.length === 0) return true
      for (const t of optional) if (message.includes(t)) return true
      return false
    },
  }
}

const MATCH_ALL: FilterMatcher = { kind: 'all', match: () => true }

// ---------------------------------------------------------------- space-delimited

/**
 * Splits a message into fields: spaces separate, a `"…"` or `[…]` run is one field (without its
 * delimiters). Fills `starts`/`ends` and returns the count, or -1 past {@link MAX_FIELDS}.
 */
export function splitFields(message: string, starts: Int32Array, ends: Int32Array): number {
  let n = 0
  let i = 0
  const len = message.length
  while (i < len) {
    const c = message.charCodeAt(i)
    if (c === 32 || c === 9) {
      i++
      continue
    }
    if (n >= starts.length) return -1
    if (c === 34 || c === 91) {
      const close = c === 34 ? '"' : ']'
      let j = message.indexOf(close, i + 1)
      if (j < 0) j = len
      starts[n] = i + 1
      ends[n] = j
      i = j + 1
    } else {
      let j = i
      while (j < len) {
        const d = message.charCodeAt(j)
        if (d === 32 || d === 9) break
        j++
      }
      starts[n] = i
      ends[n] = j
      i = j
    }
    n++
  }
  return n
}

function compileSpaceDelimited(inner: string): FilterMatcher {
  const toks = tokenize(inner)
  // Split the entries on top-level commas.
  const entries: Tok[][] = [[]]
  let depth = 0
  for (const t of toks) {
    if (t.k === 'op' && t.v === '(') depth++
    if (t.k === 'op' && t.v === ')') depth--
    if (t.k === 'op' && t.v === ',' && depth === 0) entries.push([])
    else entries[entries.length - 1]!.push(t)
  }
  if (entries.length > MAX_FIELDS) fail(`more than ${MAX_FIELDS} fields.`)
  const names: string[] = []
  let ellipsis = -1
  const slotOf = new Map<string, number>()
  for (const [i, e] of entries.entries()) {
    // The slot's name is its first word, after any opening parentheses.
    const first = e.find((t) => t.k === 'word')
    if (first === undefined) fail('an empty field.')
    if (first.v === '...' && e.length === 1) {
      if (ellipsis >= 0) fail("'...' may appear only once.")
      ellipsis = i
      names.push('...')
      continue
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(first.v) && first.v !== '*')
      fail(`bad field name '${first.v.slice(0, 32)}'.`)
    names.push(first.v)
    if (first.v !== '*') {
      if (slotOf.has(first.v)) fail(`field '${first.v}' named twice.`)
      slotOf.set(first.v, i)
    }
  }
  const conds: Cond<number>[] = []
  for (const e of entries) {
    if (e.length <= 1) continue
    const p = new ExprParser<number>(e, (w) => {
      const s = slotOf.get(w)
      if (s === undefined) fail(`unknown field '${w.slice(0, 32)}'.`)
      return s
    })
    conds.push(p.parse())
    if (!p.done) fail('unexpected text after a condition.')
  }
  const slots = names.length
  const fixed = ellipsis >= 0 ? slots - 1 : slots
  const starts = new Int32Array(MAX_FIELDS)
  const ends = new Int32Array(MAX_FIELDS)
  /** Message field index of slot `s` given `n` fields. */
  const fieldOf = (s: number, n: number): number => (ellipsis < 0 || s < ellipsis ? s : n - (slots - s))

  function bind(message: string): number {
    const n = splitFields(message, starts, ends)
    if (n < 0) return -1
    if (ellipsis < 0 ? n !== slots : n < fixed) return -1
    return n
  }

  function evalCond(c: Cond<number>, message: string, n: number): boolean {
    switch (c.t) {
      case 'and':
        return evalCond(c.a, message, n) && evalCond(c.b, message, n)
      case 'or':
        return evalCond(c.a, message, n) || evalCond(c.b, message, n)
      case 'is': {
        const present = true
        return c.what === 'exists' ? present : c.what === 'notexists' ? !present : false
      }
      case 'cmp': {
        const f = fieldOf(c.sel, n)
        const text = message.slice(starts[f], ends[f])
        return compare(c.op, c.lit, text, c.lit.numeric ? textNumber(text) : NaN)
      }
    }
  }

  return {
    kind: 'space-delimited',
    match(message) {
      const n = bind(message)
      if (n < 0) return false
      for (const c of conds) if (!evalCond(c, message, n)) return false
      return true
    },
    extract(message) {
      const n = bind(message)
      if (n < 0) return undefined
      for (const c of conds) if (!evalCond(c, message, n)) return undefined
      const out: Record<string, string> = {}
      for (let s = 0; s < slots; s++) {
        if (s === ellipsis || names[s] === '*') continue
        const f = fieldOf(s, n)
        out[`$${names[s]}`] = message.slice(starts[f], ends[f])
      }
      return out
    },
  }
}

// ---------------------------------------------------------------- JSON

type JsonPath = readonly (string | number)[]

function parseSelector(word: string): JsonPath {
  if (!word.startsWith('$')) fail(`a JSON selector starts with '$', not '${word.slice(0, 32)}'.`)
  const path: (string | number)[] = []
  let i = 1
  while (i < word.length) {
    if (word[i] === '.') {
      let j = i + 1
      while (j < word.length && word[j] !== '.' && word[j] !== '[') j++
      const key = word.slice(i + 1, j)
      if (key === '' || key === '*') fail(`bad selector '${word.slice(0, 64)}'.`)
      path.push(key)
      i = j
    } else if (word[i] === '[') {
      const j = word.indexOf(']', i)
      const idx = j < 0 ? '' : word.slice(i + 1, j)
      if (!/^\d{1,6}$/.test(idx)) fail(`bad array index in '${word.slice(0, 64)}'.`)
      path.push(Number(idx))
      i = j + 1
    } else fail(`bad selector '${word.slice(0, 64)}'.`)
    if (path.length > 32) fail('a selector deeper than 32 levels.')
  }
  if (path.length === 0) fail("a selector must name a field ('$.name').")
  return path
}

const MISSING = Symbol('missing')

function lookup(doc: unknown, path: JsonPath): unknown {
  let v: unknown = doc
  for (const k of path) {
    if (typeof k === 'number') {
      if (!Array.isArray(v) || k >= v.length) return MISSING
      v = v[k]
    } else {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, k)) return MISSING
      v = (v as Record<string, unknown>)[k]
    }
  }
  return v
}

function evalJson(c: Cond<JsonPath>, doc: unknown): boolean {
  switch (c.t) {
    case 'and':
      return evalJson(c.a, doc) && evalJson(c.b, doc)
    case 'or':
      return evalJson(c.a, doc) || evalJson(c.b, doc)
    case 'is': {
      const v = lookup(doc, c.sel)
      switch (c.what) {
        case 'null':
          return v === null
        case 'true':
          return v === true
        case 'false':
          return v === false
        case 'exists':
          return v !== MISSING
        case 'notexists':
          return v === MISSING
      }
      return false
    }
    case 'cmp': {
      const v = lookup(doc, c.sel)
      if (typeof v === 'number') return compare(c.op, c.lit, String(v), v)
      if (typeof v === 'string') return compare(c.op, c.lit, v, c.lit.numeric ? textNumber(v) : NaN)
      if (typeof v === 'boolean') return !c.lit.numeric && globCompare(c.op, c.lit, String(v))
      return false
    }
  }
}

/** The nesting depth of a JSON text, stopping past `limit`. */
function depthOver(s: string, limit: number): boolean {
  let depth = 0
  let inStr = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (inStr) {
      if (c === 92) i++
      else if (c === 34) inStr = false
    } else if (c === 34) inStr = true
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}

function compileJson(inner: string): FilterMatcher {
  const p = new ExprParser<JsonPath>(tokenize(inner), parseSelector)
  const cond = p.parse()
  if (!p.done) fail('unexpected text after a condition.')
  return {
    kind: 'json',
    match(message) {
      const s = message.trimStart()
      if (s.charCodeAt(0) !== 123 || s.length > MAX_JSON_MESSAGE || depthOver(s, 64)) return false
      let doc: unknown
      try {
        doc = JSON.parse(s)
      } catch {
        return false
      }
      return evalJson(cond, doc)
    },
  }
}

// ---------------------------------------------------------------- entry point

/** Parses a filter pattern into a matcher; throws {@link FilterPatternError} when it cannot. */
export function compileFilterPattern(pattern: string): FilterMatcher {
  if (pattern.length > MAX_FILTER_PATTERN) fail(`longer than ${MAX_FILTER_PATTERN} characters.`)
  const src = pattern.trim()
  if (src === '') return MATCH_ALL
  if (src.startsWith('{')) {
    if (!src.endsWith('}')) fail("a JSON pattern must end with '}'.")
    return compileJson(src.slice(1, -1))
  }
  if (src.startsWith('[')) {
    if (!src.endsWith(']')) fail("a space-delimited pattern must end with ']'.")
    const inner = src.slice(1, -1)
    if (inner.trim() === '') fail('a space-delimited pattern needs fields.')
    return compileSpaceDelimited(inner)
  }
  return compileTerms(src)
}
