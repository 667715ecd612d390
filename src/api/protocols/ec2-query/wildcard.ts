// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 filter-value wildcards without regular expressions: `*` matches any run of characters (also
 * none), `?` exactly one character, and a backslash makes the next `*`, `?` or `\` literal (a
 * backslash before any other character, or at the end, is itself literal). Characters are Unicode
 * code points, as AWS counts them, not UTF-16 units.
 *
 * A pattern is compiled once into the segments between its stars. Matching anchors the first
 * segment at the start and the last at the end, and finds each middle segment at its leftmost place
 * after the previous one (the leftmost place never hurts the segments after it). A segment is
 * searched with a shift-and bit automaton: one pass over the text, ⌈length/32⌉ word operations per
 * character. So one match costs O(n·⌈s/32⌉) for a text of n characters and a longest segment of s
 * — linear for every pattern that can match a field of the API (no field is longer than 256
 * characters) — never the exponential backtracking a regular expression falls into on
 * `*a*a*a*a*b`.
 * @module
 */

const STAR = 0x2a
const QUESTION = 0x3f
const BACKSLASH = 0x5c

/** One segment's shift-and tables (bit j of word j>>5 stands for segment position j). */
interface Segment {
  readonly length: number
  /** Code points (-1 for `?`), for the anchored checks. */
  readonly cps: Int32Array
  readonly words: number
  /** Per ASCII code point, `words` masks: the positions it may stand at. */
  readonly ascii: Int32Array
  /** The same for other code points named in the segment. */
  readonly other: Map<number, Int32Array>
  /** Masks of the `?` positions: what any other code point may stand at. */
  readonly any: Int32Array
}

/**
 * A compiled pattern: the segments between its stars (`a*b?*` → `a`, `b?`, ``). With no star the one
 * segment must cover the whole text; otherwise the first is anchored at the start, the last at the
 * end, and the middle ones (empty ones dropped) are found in order between them.
 */
export interface Wildcard {
  readonly segments: readonly Segment[]
  /** Total characters the segments need. */
  readonly minLength: number
}

const ANY = -1

function isSpecial(c: number): boolean {
  return c === STAR || c === QUESTION || c === BACKSLASH
}

/** True when `v` needs the wildcard matcher (it has `*`, `?` or `\`); otherwise compare exactly. */
export function hasWildcard(v: string): boolean {
  for (let i = 0; i < v.length; i++) if (isSpecial(v.charCodeAt(i))) return true
  return false
}

/** The code points of `s`. */
export function codePoints(s: string): Int32Array {
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

function segment(cps: number[]): Segment {
  const length = cps.length
  const words = Math.max(1, (length + 31) >>> 5)
  const any = new Int32Array(words)
  for (let j = 0; j < length; j++) if (cps[j] === ANY) any[j >>> 5]! |= 1 << (j & 31)
  const ascii = new Int32Array(128 * words)
  for (let c = 0; c < 128; c++) ascii.set(any, c * words)
  const other = new Map<number, Int32Array>()
  for (let j = 0; j < length; j++) {
    const c = cps[j]!
    if (c === ANY) continue
    const bit = 1 << (j & 31)
    if (c < 128) ascii[c * words + (j >>> 5)]! |= bit
    else {
      let m = other.get(c)
      if (m === undefined) other.set(c, (m = Int32Array.from(any)))
      m[j >>> 5]! |= bit
    }
  }
  return { length, cps: Int32Array.from(cps), words, ascii, other, any }
}

/** Compiles a filter value. */
export function compileWildcard(pattern: string): Wildcard {
  const cps = codePoints(pattern)
  const parts: number[][] = []
  let cur: number[] = []
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!
    if (c === STAR) {
      parts.push(cur)
      cur = []
    } else if (c === QUESTION) cur.push(ANY)
    else if (c === BACKSLASH && i + 1 < cps.length && isSpecial(cps[i + 1]!)) cur.push(cps[++i]!)
    else cur.push(c)
  }
  parts.push(cur)
  // Middle segments that are empty (from `**`) constrain nothing.
  const kept =
    parts.length <= 2
      ? parts
      : [parts[0]!, ...parts.slice(1, -1).filter((x) => x.length > 0), parts[parts.length - 1]!]
  let minLength = 0
  for (const x of kept) minLength += x.length
  return { segments: kept.map(segment), minLength }
}

/** Whether `seg` matches `t` at `at` (the caller checked the bounds). */
function matchesAt(seg: Segment, t: Int32Array, at: number): boolean {
  const p = seg.cps
  for (let j = 0; j < p.length; j++) {
    const c = p[j]!
    if (c !== ANY && c !== t[at + j]) return false
  }
  return true
}

/** Reused state words of the automaton (the matcher is synchronous and not re-entered). */
let state = new Int32Array(8)

/** Leftmost start of `seg` in t[from, to) with the whole occurrence inside, or -1. */
function find(seg: Segment, t: Int32Array, from: number, to: number): number {
  const { words, length } = seg
  if (length === 0) return from
  if (to - from < length) return -1
  if (words === 1) {
    const accept = 1 << (length - 1)
    let s = 0
    for (let i = from; i < to; i++) {
      const c = t[i]!
      s = ((s << 1) | 1) & (c < 128 ? seg.ascii[c]! : (seg.other.get(c)?.[0] ?? seg.any[0]!))
      if ((s & accept) !== 0) return i - length + 1
    }
    return -1
  }
  if (state.length < words) state = new Int32Array(words)
  const st = state
  st.fill(0, 0, words)
  const top = (length - 1) >>> 5
  const accept = 1 << ((length - 1) & 31)
  const ascii = seg.ascii
  for (let i = from; i < to; i++) {
    const c = t[i]!
    if (c < 128) {
      const base = c * words
      let carry = 1
      for (let w = 0; w < words; w++) {
        const old = st[w]!
        st[w] = ((old << 1) | carry) & ascii[base + w]!
        carry = old >>> 31
      }
    } else step(st, words, seg.other.get(c) ?? seg.any)
    if ((st[top]! & accept) !== 0) return i - length + 1
  }
  return -1
}

/** One automaton step for a code point outside ASCII. */
function step(st: Int32Array, words: number, masks: Int32Array): void {
  let carry = 1
  for (let w = 0; w < words; w++) {
    const old = st[w]!
    st[w] = ((old << 1) | carry) & masks[w]!
    carry = old >>> 31
  }
}

/** Whether the code points `t` match the compiled pattern `w`. */
export function matchCodePoints(w: Wildcard, t: Int32Array): boolean {
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
    const at = find(s, t, pos, end)
    if (at < 0) return false
    pos = at + s.length
  }
  return true
}

/** Whether `text` matches the compiled pattern `w`. */
export function matchWildcard(w: Wildcard, text: string): boolean {
  return matchCodePoints(w, codePoints(text))
}
