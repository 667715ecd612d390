// SPDX-License-Identifier: Apache-2.0
/**
 * The regular expressions of Logs Insights queries (`like /…/`, `=~ /…/`), run by a Thompson NFA
 * simulation: time linear in the text times the pattern's size, whatever the pattern — never
 * JavaScript's backtracking RegExp. The subset: literals, `.`, classes `[a-z0-9_]` / `[^…]`,
 * escapes `\d \w \s \D \W \S` and escaped metacharacters, groups `( )` / `(?: )` / `(?<name> )`
 * (grouping only), alternation `|`, `* + ?`, bounded `{n}` `{n,}` `{n,m}` (at most 100), anchors
 * `^ $`, and a leading `(?i)` for case-insensitive matching. Anything else (back-references,
 * lookaround, lazy quantifiers) is an {@link InsightsQueryError}.
 * @module
 */
import { InsightsQueryError } from '../errors.ts'

/** Longest pattern, and most NFA states, accepted. */
const MAX_PATTERN = 1024
const MAX_STATES = 20_000

/** A set of characters: ranges of code units, possibly negated. */
interface CharSet {
  ranges: number[] // pairs lo, hi
  neg: boolean
}

type Node =
  | { t: 'char'; set: CharSet }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'star' | 'plus' | 'opt'; item: Node }
  | { t: 'bol' | 'eol' | 'empty' }

function bad(msg: string): never {
  throw new InsightsQueryError(`Unsupported regular expression: ${msg}`)
}

const DIGIT = [48, 57]
const WORD = [48, 57, 65, 90, 95, 95, 97, 122]
const SPACE = [9, 13, 32, 32]

class RegexParser {
  private i = 0
  private depth = 0
  private readonly src: string
  constructor(src: string) {
    this.src = src
  }

  parse(): Node {
    const n = this.alt()
    if (this.i < this.src.length) bad(`unexpected '${this.src[this.i]}'.`)
    return n
  }

  private alt(): Node {
    if (++this.depth > 64) bad('nested too deeply.')
    const items = [this.cat()]
    while (this.src[this.i] === '|') {
      this.i++
      items.push(this.cat())
    }
    this.depth--
    return items.length === 1 ? items[0]! : { t: 'alt', items }
  }

  private cat(): Node {
    const items: Node[] = []
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      items.push(this.repeat())
    }
    return items.length === 1 ? items[0]! : items.length === 0 ? { t: 'empty' } : { t: 'cat', items }
  }

  private repeat(): Node {
    let n = this.atom()
    for (;;) {
      const c = this.src[this.i]
      if (c === '*' || c === '+' || c === '?') {
        this.i++
        if (this.src[this.i] === '?' || this.src[this.i] === '+') bad('lazy or possessive quantifiers.')
        n = { t: c === '*' ? 'star' : c === '+' ? 'plus' : 'opt', item: n }
      } else if (c === '{') {
        const m = /^\{(\d{1,3})(,(\d{0,3}))?\}/.exec(this.src.slice(this.i, this.i + 10))
        if (m === null) bad("a '{' that is not a bounded repetition.")
        this.i += m[0].length
        const lo = Number(m[1])
        const hi = m[2] === undefined ? lo : m[3] === '' ? Infinity : Number(m[3])
        if (lo > 100 || (hi !== Infinity && (hi > 100 || hi < lo))) bad('a repetition over 100.')
        const items: Node[] = []
        for (let k = 0; k < lo; k++) items.push(n)
        if (hi === Infinity) items.push({ t: 'star', item: n })
        else for (let k = lo; k < hi; k++) items.push({ t: 'opt', item: n })
        n = { t: 'cat', items }
      } else return n
    }
  }

  private atom(): Node {
    const c = this.src[this.i++]!
    switch (c) {
      case '.':
        return { t: 'char', set: { ranges: [10, 10], neg: true } }
      case '^':
        return { t: 'bol' }
      case '$':
        return { t: 'eol' }
      case '(': {
        if (this.src[this.i] === '?') {
          if (this.src[this.i + 1] === ':') this.i += 2
          else if (this.src[this.i + 1] === '<' && /^[A-Za-z]/.test(this.src[this.i + 2] ?? '')) {
            const close = this.src.indexOf('>', this.i)
            if (close < 0) bad('an unterminated group name.')
            this.i = close + 1
          } else bad('lookaround and inline flags inside the pattern.')
        }
        const inner = this.alt()
        if (this.src[this.i] !== ')') bad("a missing ')'.")
        this.i++
        return inner
      }
      case '[':
        return { t: 'char', set: this.cls() }
      case '\\':
        return { t: 'char', set: this.escape(false) }
      case '*':
      case '+':
      case '?':
      case '{':
        bad(`nothing to repeat before '${c}'.`)
      // eslint-disable-next-line no-fallthrough
      default:
        return { t: 'char', set: { ranges: [c.charCodeAt(0), c.charCodeAt(0)], neg: false } }
    }
  }

  private escape(inClass: boolean): CharSet {
    const c = this.src[this.i++]
    if (c === undefined) bad('a trailing backslash.')
    switch (c) {
      case 'd':
        return { ranges: DIGIT, neg: false }
      case 'D':
        return { ranges: DIGIT, neg: true }
      case 'w':
        return { ranges: WORD, neg: false }
      case 'W':
        return { ranges: WORD, neg: true }
      case 's':
        return { ranges: SPACE, neg: false }
      case 'S':
        return { ranges: SPACE, neg: true }
      case 't':
        return { ranges: [9, 9], neg: false }
      case 'n':
        return { ranges: [10, 10], neg: false }
      case 'r':
        return { ranges: [13, 13], neg: false }
      default:
        if (/[A-Za-z0-9]/.test(c) && !inClass) bad(`the escape '\\${c}'.`)
        return { ranges: [c.charCodeAt(0), c.charCodeAt(0)], neg: false }
    }
  }

  private cls(): CharSet {
    const ranges: number[] = []
    let neg = false
    if (this.src[this.i] === '^') {
      neg = true
      this.i++
    }
    let first = true
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false
      let lo: number
      if (this.src[this.i] === '\\') {
        this.i++
        const s = this.escape(true)
        if (s.neg || s.ranges.length > 2) {
          if (s.neg) bad('a negated escape inside a class.')
          ranges.push(...s.ranges)
          continue
        }
        lo = s.ranges[0]!
      } else lo = this.src.charCodeAt(this.i++)
      let hi = lo
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++
        hi =
          this.src[this.i] === '\\' ? (this.i++, this.escape(true).ranges[0]!) : this.src.charCodeAt(this.i++)
        if (hi < lo) bad('a class range out of order.')
      }
      ranges.push(lo, hi)
    }
    if (this.src[this.i] !== ']') bad("a missing ']'.")
    this.i++
    return { ranges, neg }
  }
}

// ------------------------------------------------------------ the NFA

const SPLIT = -1
const MATCH = -2
const BOL = -3
const EOL = -4

/** The compiled program: per state, a kind (char set index, SPLIT, MATCH, BOL, EOL) and next states. */
export interface SafeRegex {
  readonly source: string
  test(s: string): boolean
}

class Builder {
  kind: number[] = []
  out1: number[] = []
  out2: number[] = []
  sets: CharSet[] = []

  state(kind: number): number {
    if (this.kind.length >= MAX_STATES) bad('the pattern is too large.')
    this.kind.push(kind)
    this.out1.push(-1)
    this.out2.push(-1)
    return this.kind.length - 1
  }

  /** Compiles `n`; returns [start, list of dangling states whose out1 must be patched]. */
  build(n: Node): [number, number[]] {
    switch (n.t) {
      case 'char': {
        this.sets.push(n.set)
        const s = this.state(this.sets.length - 1)
        return [s, [s]]
      }
      case 'bol':
      case 'eol': {
        const s = this.state(n.t === 'bol' ? BOL : EOL)
        return [s, [s]]
      }
      case 'empty': {
        const s = this.state(SPLIT)
        return [s, [s]]
      }
      case 'cat': {
        const first = this.build(n.items[0]!)
        const start = first[0]
        let dangling = first[1]
        for (const item of n.items.slice(1)) {
          const [s, d] = this.build(item)
          for (const x of dangling) this.patch(x, s)
          dangling = d
        }
        return [start, dangling]
      }
      case 'alt': {
        let [start, dangling] = this.build(n.items[0]!)
        for (const item of n.items.slice(1)) {
          const [s, d] = this.build(item)
          const split = this.state(SPLIT)
          this.out1[split] = start
          this.out2[split] = s
          start = split
          dangling = [...dangling, ...d]
        }
        return [start, dangling]
      }
      case 'star':
      case 'plus':
      case 'opt': {
        const [s, d] = this.build(n.item)
        const split = this.state(SPLIT)
        this.out1[split] = s
        if (n.t === 'opt') return [split, [...d, split]]
        for (const x of d) this.patch(x, split)
        return [n.t === 'star' ? split : s, [split]]
      }
    }
  }

  /** Points a dangling state's free exit at `to`. */
  patch(x: number, to: number): void {
    if (this.kind[x] === SPLIT && this.out1[x] !== -1) this.out2[x] = to
    else this.out1[x] = to
  }
}

function inSet(set: CharSet, c: number, fold: boolean): boolean {
  const test = (code: number) => {
    const r = set.ranges
    for (let k = 0; k < r.length; k += 2) if (code >= r[k]! && code <= r[k + 1]!) return true
    return false
  }
  let hit = test(c)
  if (!hit && fold) {
    if (c >= 65 && c <= 90) hit = test(c + 32)
    else if (c >= 97 && c <= 122) hit = test(c - 32)
  }
  return set.neg ? !hit : hit
}

/** Compiles a query's regular expression (the text between the slashes). */
export function compileSafeRegex(source: string): SafeRegex {
  if (source.length > MAX_PATTERN) bad(`longer than ${MAX_PATTERN} characters.`)
  let src = source
  let fold = false
  if (src.startsWith('(?i)')) {
    fold = true
    src = src.slice(4)
  }
  const b = new Builder()
  const [start, dangling] = b.build(new RegexParser(src).parse())
  const match = b.state(MATCH)
  for (const x of dangling) b.patch(x, match)
  const { kind, out1, out2, sets } = b
  const n = kind.length
  let cur = new Int32Array(n)
  let next = new Int32Array(n)
  const mark = new Int32Array(n).fill(-1)
  // Each state is pushed at most once per out-edge (two for a split): 2n bounds the stack.
  const stack = new Int32Array(2 * n + 4)
  // Generations number the steps of every run, so `mark` never needs clearing between runs.
  let gen = 0

  /** Adds state s and what it reaches without consuming a character, at position `pos`. */
  function add(list: Int32Array, count: number, s: number, gen: number, pos: number, len: number): number {
    let sp = 0
    stack[sp++] = s
    while (sp > 0) {
      const x = stack[--sp]!
      if (x < 0 || mark[x] === gen) continue
      mark[x] = gen
      const k = kind[x]!
      if (k === SPLIT) {
        if (out2[x]! >= 0) stack[sp++] = out2[x]!
        stack[sp++] = out1[x]!
      } else if (k === BOL) {
        if (pos === 0) stack[sp++] = out1[x]!
      } else if (k === EOL) {
        if (pos === len) stack[sp++] = out1[x]!
      } else list[count++] = x
    }
    return count
  }

  return {
    source,
    test(s) {
      const len = s.length
      if (gen > 0x3fffffff) {
        mark.fill(-1)
        gen = 0
      }
      let cc = add(cur, 0, start, ++gen, 0, len)
      for (let pos = 0; ; pos++) {
        for (let k = 0; k < cc; k++) if (kind[cur[k]!] === MATCH) return true
        if (pos >= len) return false
        const c = s.charCodeAt(pos)
        const g = ++gen
        let nc = 0
        for (let k = 0; k < cc; k++) {
          const x = cur[k]!
          const kx = kind[x]!
          if (kx >= 0 && inSet(sets[kx]!, c, fold)) nc = add(next, nc, out1[x]!, g, pos + 1, len)
        }
        // Unanchored search: a match may start at every position.
        nc = add(next, nc, start, g, pos + 1, len)
        const t = cur
        cur = next
        next = t
        cc = nc
      }
    },
  }
}
