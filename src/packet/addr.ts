// SPDX-License-Identifier: Apache-2.0
/** Address formatting and parsing: only at output and configuration edges, never per packet. @module */

/** Dotted quad of an unsigned 32-bit IPv4 address. */
export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** Parses a dotted quad into an unsigned 32-bit number; throws on anything else. */
export function parseIPv4(s: string): number {
  const parts = s.split('.')
  if (parts.length !== 4) throw new TypeError(`bad IPv4 address: ${JSON.stringify(s)}`)
  let n = 0
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) throw new TypeError(`bad IPv4 address: ${JSON.stringify(s)}`)
    const v = Number(p)
    if (v > 255) throw new TypeError(`bad IPv4 address: ${JSON.stringify(s)}`)
    n = n * 256 + v
  }
  return n >>> 0
}

/** RFC 5952 text of the 16 bytes at `off`: lower case, longest run (≥ 2) of zero groups as `::`. */
export function formatIPv6(bytes: Uint8Array, off: number): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push(((bytes[off + 2 * i] ?? 0) << 8) | (bytes[off + 2 * i + 1] ?? 0))
  // IPv4-mapped addresses keep their dotted tail (RFC 5952 §5).
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${(g[6]! >> 8) & 255}.${g[6]! & 255}.${(g[7]! >> 8) & 255}.${g[7]! & 255}`
  }
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':')
  const head = g
    .slice(0, bestStart)
    .map((x) => x.toString(16))
    .join(':')
  const tail = g
    .slice(bestStart + bestLen)
    .map((x) => x.toString(16))
    .join(':')
  return `${head}::${tail}`
}

/** Parses any RFC 4291 IPv6 text form (incl. `::` and a dotted IPv4 tail) into 16 bytes; throws on bad. */
export function parseIPv6(s: string): Uint8Array {
  const bad = (): never => {
    throw new TypeError(`bad IPv6 address: ${JSON.stringify(s)}`)
  }
  let text = s
  const pct = text.indexOf('%')
  if (pct >= 0) text = text.slice(0, pct)
  const out = new Uint8Array(16)
  let tail4: number | null = null
  const lastColon = text.lastIndexOf(':')
  if (lastColon >= 0 && text.indexOf('.', lastColon) >= 0) {
    tail4 = parseIPv4(text.slice(lastColon + 1))
    text = text.slice(0, lastColon + 1) + '0:0'
  }
  const dbl = text.indexOf('::')
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) bad()
  const parseGroups = (t: string): number[] => {
    if (t === '') return []
    return t.split(':').map((h) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) bad()
      return parseInt(h, 16)
    })
  }
  let groups: number[]
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl))
    const tail = parseGroups(text.slice(dbl + 2))
    if (head.length + tail.length > 7) bad()
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  } else {
    groups = parseGroups(text)
    if (groups.length !== 8) bad()
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8
    out[2 * i + 1] = groups[i]! & 255
  }
  if (tail4 !== null) {
    out[12] = tail4 >>> 24
    out[13] = (tail4 >>> 16) & 255
    out[14] = (tail4 >>> 8) & 255
    out[15] = tail4 & 255
  }
  return out
}

/** `aa:bb:cc:dd:ee:ff` of the 6 bytes at `off`. */
export function formatMAC(bytes: Uint8Array, off: number): string {
  let s = ''
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (bytes[off + i] ?? 0).toString(16).padStart(2, '0')
  return s
}

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`) into 6 bytes; throws on bad. */
export function parseMAC(s: string): Uint8Array {
  const parts = s.split(/[:-]/)
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`bad MAC address: ${JSON.stringify(s)}`)
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)))
}
