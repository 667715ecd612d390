// SPDX-License-Identifier: Apache-2.0
/**
 * Address text for records. The engine keeps addresses as 32-bit words (IPv4 in one word, IPv6 in
 * four big-endian words) and turns them into text only when a record is rendered. IPv6 text follows
 * RFC 5952 (lowercase, longest zero run of ≥ 2 groups compressed, first one on ties), as AWS prints it.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net'

/** Dotted-quad text of an IPv4 address held as an unsigned 32-bit number. */
export function formatIPv4Number(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** RFC 5952 text of the IPv6 address in `w[off..off+4)` (big-endian words). */
export function formatIPv6Words(w: ArrayLike<number>, off = 0): string {
  const g = new Array<number>(8)
  for (let k = 0; k < 4; k++) {
    const x = w[off + k]! >>> 0
    g[2 * k] = x >>> 16
    g[2 * k + 1] = x & 0xffff
  }
  let bestStart = -1
  let bestLen = 0
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) {
      k++
      continue
    }
    let e = k
    while (e < 8 && g[e] === 0) e++
    if (e - k > bestLen && e - k >= 2) {
      bestStart = k
      bestLen = e - k
    }
    k = e
  }
  // IPv4-mapped addresses keep the dotted tail, as inet_ntop does.
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4Number(w[off + 3]! >>> 0)}`
  }
  const parts: string[] = []
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      parts.push(k === 0 ? ':' : '')
      k += bestLen - 1
      if (k === 7) parts.push('')
      continue
    }
    parts.push(g[k]!.toString(16))
  }
  return parts.join(':')
}

/** Parses an IPv4 or IPv6 literal into 1 or 4 words; null if it is neither. */
export function parseAddress(text: string): number[] | null {
  if (isIPv4(text)) {
    const p = text.split('.').map(Number)
    return [((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0]
  }
  if (!isIPv6(text)) return null
  let s = text
  let tail: number[] = []
  const lastColon = s.lastIndexOf(':')
  if (s.indexOf('.', lastColon) >= 0) {
    const v4 = parseAddress(s.slice(lastColon + 1))
    if (v4 === null) return null
    tail = [v4[0]! >>> 16, v4[0]! & 0xffff]
    s = s.slice(0, lastColon + 1) + '0'
  }
  const halves = s.split('::')
  const head = halves[0] === '' ? [] : halves[0]!.split(':').map((h) => parseInt(h, 16))
  const rest =
    halves.length > 1 ? (halves[1] === '' ? [] : halves[1]!.split(':').map((h) => parseInt(h, 16))) : []
  if (tail.length > 0) {
    ;(halves.length > 1 ? rest : head).pop()
    ;(halves.length > 1 ? rest : head).push(...tail)
  }
  const groups =
    halves.length > 1 ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest] : head
  if (groups.length !== 8) return null
  const out: number[] = []
  for (let k = 0; k < 4; k++) out.push(((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0)
  return out
}
