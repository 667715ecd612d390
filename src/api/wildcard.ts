// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 filter-value wildcards without regular expressions: `*` matches any run of characters (also
 * none), `?` exactly one character, and a backslash makes the next `*`, `?` or `\` literal (a
 * backslash before any other character, or at the end, is itself literal). Characters are Unicode
 * code points, as AWS counts them, not UTF-16 units.
 *
 * The pattern is compiled once into its star-separated segments; matching anchors the first
 * segment at the start and the last at the end, and finds each middle segment at its leftmost
 * place after the previous one (the leftmost place never hurts the segments after it). A segment of
 * up to 31 characters is searched with a shift-and bit automaton (one pass over the text), a longer
 * one by direct comparison. So a match costs O(n) for patterns made of short segments and
 * O(n·m) at most (n text, m pattern length) — never the exponential backtracking a regular
 * expression can fall into on `*a*a*a*a*b`.
 * @module
 */

/** A wildcard code point in a compiled segment: `?`. */
const ANY = -1

/**
 * A compiled pattern: the segments between its stars (`a*b?*` → `a`, `b?`, ``). With no star the
 * one segment must cover the whole text; otherwise the first is anchored at the start, the last at
 * the end, and the middle ones (empty ones dropped) are found in order between them.
 */
export interface Wildcard {
  /** Code points per segment (`ANY` for `?`). */
  readonly segments: readonly Int32Array[]
  /** Total characters the segments need. */
  readonly minLength: number
  /** Shift-and tables per segment of 1–31 characters, else undefined. */
  readonly masks: readonly (ShiftAnd | undefined)[]
}

interface ShiftAnd {
  /** Mask for code points not named in the segment (the `?` positions). */
  readonly other: number
  readonly byChar: Map<number, number>
  readonly accept: number
}

/** True when `v` needs the wildcard matcher (it has `*`, `?` or `\`); otherwise compare exactly. */
export function hasWildcard(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    if (isSpecial(c)) return true
  }
  return false
}

/** Compiles a filter value. */
export function compileWildcard(pattern: string): Wildcard {
  const cps = codePoints(pattern)
  const segments: Int32Array[] = []
  let cur: number[] = []
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!
    if (c === STAR) {
      segments.push(Int32Array.from(cur))
      cur = []
    } else if (c === QUESTION) cur.push(ANY)
    else if (c === BACKSLASH && i + 1 < cps.length && isSpecial(cps[i + 1]!)) cur.push(cps[++i]!)
    else cur.push(c)
  }
  segments.push(Int32Array.from(cur))
  // Middle segments that are empty (from `**`) constrain nothing.
  const kept =
    segments.length <= 2
      ? segments
      : [segments[0]!, ...segments.slice(1, -1).filter((x) => x.length > 0), segments[segments.length - 1]!]
  let minLength = 0
  for (const x of kept) minLength += x.length
  return { segments: kept, minLength, masks: kept.map(shiftAnd) }
}

const STAR = 0x2a
const QUESTION = 0x3f
const BACKSLASH = 0x5c

function isSpecial(c: number): boolean {
  return c === STAR || c === QUESTION || c === BACKSLASH
}

function shiftAnd(seg: Int32Array): ShiftAnd | undefined {
  if (seg.length === 0 || seg.length > 31) return undefined
  let other = 0
  for (let j = 0; j < seg.length; j++) if (seg[j] === ANY) other |= 1 << j
  const byChar = new Map<number, number>()
  for (let j = 0; j < seg.length; j++) {
    const c = seg[j]!
    if (c !== ANY) byChar.set(c, (byChar.get(c) ?? other) | (1 << j))
  }
  return { other, byChar, accept: 1 << (seg.length - 1) }
}

/** The code points of `s` (UTF-16 units when it has no surrogate, to save the copy's decoding). */
function codePoints(s: string): Int32Array {
  let surrogates = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdfff) {
      surrogates = true
      break
    }
  }
  if (!surrogates) {
    const out = new Int32Array(s.length)
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
    return out
  }
  const out: number[] = []
  for (const ch of s) out.push(ch.codePointAt(0)!)
  return Int32Array.from(out)
}

/** Whether `seg` matches `t` at `at` (the caller checked the bounds). */
function matchesAt(seg: Int32Array, t: Int32Array, at: number): boolean {
  for (let j = 0; j < seg.length; j++) {
    const c = seg[j]!
    if (c !== ANY && c !== t[at + j]) return false
  }
  return true
}

/** Leftmost start of `seg` in t[from, to) (the whole occurrence inside), or -1. */
function find(seg: Int32Array, sa: ShiftAnd | undefined, t: Int32Array, from: number, to: number): number {
  if (seg.length === 0) return from
  if (sa !== undefined) {
    let state = 0
    for (let i = from; i < to; i++) {
      state = ((state << 1) | 1) & (sa.byChar.get(t[i]!) ?? sa.other)
      if ((state & sa.accept) !== 0) return i - seg.length + 1
    }
    return -1
  }
  for (let i = from; i + seg.length <= to; i++) if (matchesAt(seg, t, i)) return i
  return -1
}

/** Whether `text` matches the compiled pattern `w`. */
export function matchWildcard(w: Wildcard, text: string): boolean {
  const t = codePoints(text)
  const n = t.length
  if (w.minLength > n) return false
  const segs = w.segments
  const head = segs[0]!
  if (segs.length === 1) return n === head.length && matchesAt(head, t, 0)
  const tail = segs[segs.length - 1]!
  // minLength ≤ n, so head and tail fit without overlapping.
  if (!matchesAt(head, t, 0) || !matchesAt(tail, t, n - tail.length)) return false
  let pos = head.length
  const end = n - tail.length
  for (let k = 1; k < segs.length - 1; k++) {
    const s = segs[k]!
    const at = find(s, w.masks[k], t, pos, end)
    if (at < 0) return false
    pos = at + s.length
  }
  return true
}
