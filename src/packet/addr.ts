// SPDX-License-Identifier: Apache-2.0
/**
 * Addresses as text: the one place mirrorflow formats and parses IPv4, IPv6 and MAC addresses. Used at
 * output and configuration edges only, never per packet (the decoders keep IPv4 as a 32-bit number and
 * IPv6 as an offset into the frame; the flow table keeps IPv6 as four 32-bit words).
 *
 * Text forms: IPv4 is the dotted quad without leading zeros. IPv6 is written per RFC 5952 (lower case,
 * the longest run of two or more zero groups as `::`, the first one on a tie, an IPv4-mapped address
 * with its dotted tail) and read in any RFC 4291 form. Zone ids (`fe80::1%eth0`), whitespace and
 * prefix lengths are not addresses and are refused.
 * @module
 */

/** Longest text of an IPv6 address (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`). */
export const MAX_ADDRESS_TEXT = 45

/** Dotted quad of an unsigned 32-bit IPv4 address. */
export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/

/** Parses a dotted quad into an unsigned 32-bit number; throws `TypeError` on anything else. */
export function parseIPv4(s: string): number {
  const parts = s.split('.', 5)
  if (parts.length !== 4) throw new TypeError(`bad IPv4 address: ${JSON.stringify(s)}`)
  let n = 0
  for (const p of parts) {
    if (!DECIMAL_OCTET.test(p)) throw new TypeError(`bad IPv4 address: ${JSON.stringify(s)}`)
    const v = Number(p)
    if (v > 255) throw new TypeError(`bad IPv4 address: ${JSON.stringify(s)}`)
    n = n * 256 + v
  }
  return n >>> 0
}

/** The eight 16-bit groups of the address being formatted (formatting is synchronous: one scratch). */
const groups = new Uint16Array(8)

/** RFC 5952 text of the address in `groups`. */
function formatGroups(): string {
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  // IPv4-mapped addresses keep their dotted tail (RFC 5952 §5).
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) {
    return `::ffff:${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`
  }
  if (bestLen < 2) bestStart = -1
  let s = ''
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':'
      i += bestLen - 1
      continue
    }
    s += groups[i]!.toString(16)
    if (i < 7) s += ':'
  }
  return s
}

/** RFC 5952 text of the 16 bytes at `bytes[off]`. */
export function formatIPv6(bytes: Uint8Array, off: number): string {
  for (let i = 0; i < 8; i++) groups[i] = ((bytes[off + 2 * i] ?? 0) << 8) | (bytes[off + 2 * i + 1] ?? 0)
  return formatGroups()
}

/** RFC 5952 text of the IPv6 address held as four big-endian 32-bit words `w[off..off+4)`. */
export function formatIPv6Words(w: ArrayLike<number>, off = 0): string {
  for (let k = 0; k < 4; k++) {
    const x = w[off + k]! >>> 0
    groups[2 * k] = x >>> 16
    groups[2 * k + 1] = x & 0xffff
  }
  return formatGroups()
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

/** Parses any RFC 4291 IPv6 text form (incl. `::` and a dotted IPv4 tail) into 16 bytes; throws on bad. */
export function parseIPv6(s: string): Uint8Array {
  const bad = (): never => {
    throw new TypeError(`bad IPv6 address: ${JSON.stringify(s)}`)
  }
  if (s.length > MAX_ADDRESS_TEXT || s.length < 2) bad()
  let text = s
  const out = new Uint8Array(16)
  let tail4 = -1
  const lastColon = text.lastIndexOf(':')
  if (lastColon >= 0 && text.indexOf('.', lastColon) >= 0) {
    try {
      tail4 = parseIPv4(text.slice(lastColon + 1))
    } catch {
      bad()
    }
    text = text.slice(0, lastColon + 1) + '0:0'
  }
  const dbl = text.indexOf('::')
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) bad()
  const parseGroups = (t: string): number[] => {
    if (t === '') return []
    return t.split(':', 9).map((h) => {
      if (!HEX_GROUP.test(h)) bad()
      return parseInt(h, 16)
    })
  }
  let g: number[]
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl))
    const tail = parseGroups(text.slice(dbl + 2))
    if (head.length + tail.length > 7) bad()
    g = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  } else {
    g = parseGroups(text)
    if (g.length !== 8) bad()
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = g[i]! >> 8
    out[2 * i + 1] = g[i]! & 255
  }
  if (tail4 >= 0) {
    out[12] = tail4 >>> 24
    out[13] = (tail4 >>> 16) & 255
    out[14] = (tail4 >>> 8) & 255
    out[15] = tail4 & 255
  }
  return out
}

/** An address parsed from text. `v4` is the IPv4 address (0 for IPv6); `v6` its 16 bytes (empty for IPv4). */
export interface IpAddress {
  readonly family: 4 | 6
  readonly v4: number
  readonly v6: Uint8Array
}

const NO_BYTES = new Uint8Array(0)

/**
 * Parses an IPv4 or IPv6 literal; undefined for anything else (including text with a zone id, a
 * prefix length or whitespace, or longer than `MAX_ADDRESS_TEXT`). Never throws.
 */
export function parseAddress(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_ADDRESS_TEXT) return undefined
  try {
    if (text.includes(':')) return { family: 6, v4: 0, v6: parseIPv6(text) }
    return { family: 4, v4: parseIPv4(text), v6: NO_BYTES }
  } catch {
    return undefined
  }
}

/** The address as big-endian 32-bit words: one for IPv4, four for IPv6 (the flow table's form). */
export function addressWords(a: IpAddress): number[] {
  if (a.family === 4) return [a.v4 >>> 0]
  const b = a.v6
  const out: number[] = []
  for (let k = 0; k < 16; k += 4)
    out.push(((b[k]! << 24) | (b[k + 1]! << 16) | (b[k + 2]! << 8) | b[k + 3]!) >>> 0)
  return out
}

/** `parseAddress` then `addressWords`: 1 or 4 words, or null when the text is no address. */
export function parseAddressWords(text: string): number[] | null {
  const a = parseAddress(text)
  return a === undefined ? null : addressWords(a)
}

/** Text of a parsed address (canonical: IPv6 per RFC 5952). */
export function formatAddress(a: IpAddress): string {
  return a.family === 4 ? formatIPv4(a.v4) : formatIPv6(a.v6, 0)
}

/** `aa:bb:cc:dd:ee:ff` of the 6 bytes at `off`. */
export function formatMAC(bytes: Uint8Array, off: number): string {
  let s = ''
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (bytes[off + i] ?? 0).toString(16).padStart(2, '0')
  return s
}

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`) into 6 bytes; throws on bad. */
export function parseMAC(s: string): Uint8Array {
  const parts = s.split(/[:-]/, 7)
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`bad MAC address: ${JSON.stringify(s)}`)
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)))
}
