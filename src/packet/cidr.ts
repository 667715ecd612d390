// SPDX-License-Identifier: Apache-2.0
/**
 * CIDR blocks: the one parser and the containment arithmetic shared by the control plane (subnet
 * placement, rule validation), the mirror engine (filter rules, compiled once per configuration) and
 * the flow-log engine. Parsed at configuration time, never per packet; the containment tests on a
 * parsed block allocate nothing and may run per packet.
 * @module
 */
import { formatIPv4, formatIPv6, MAX_ADDRESS_TEXT, parseIPv4, parseIPv6, type IpAddress } from './addr.ts'

/** A parsed CIDR block: the network with host bits cleared, and its prefix length. */
export interface Cidr {
  readonly family: 4 | 6
  readonly prefixLength: number
  /** IPv4 network (host bits zero) and mask, as unsigned 32-bit numbers; 0 for IPv6. */
  readonly v4: number
  readonly mask4: number
  /** IPv6 network (host bits zero), 16 bytes; empty for IPv4. */
  readonly v6: Uint8Array
  /** The block as canonical text: network address (IPv6 per RFC 5952) `/` prefix length. */
  readonly text: string
}

/** Options of `parseCidr`. */
export interface ParseCidrOptions {
  /** Refuse a bare address (without `/n`) instead of reading it as a /32 or /128. Default false. */
  readonly requirePrefix?: boolean
}

const NO_BYTES = new Uint8Array(0)
const PREFIX = /^[0-9]{1,3}$/

/**
 * Parses `a.b.c.d/n` or `x::y/n` (or, unless `requirePrefix`, a bare address as a /32 or /128). Host bits
 * set in the address are cleared. Throws `TypeError` on anything else: whitespace, a zone id, a prefix
 * longer than the family's width, text longer than 49 characters.
 */
export function parseCidr(text: string, options: ParseCidrOptions = {}): Cidr {
  const bad = (): never => {
    throw new TypeError(`bad CIDR block: ${JSON.stringify(text)}`)
  }
  if (typeof text !== 'string' || text.length > MAX_ADDRESS_TEXT + 4) bad()
  const slash = text.indexOf('/')
  if (slash < 0 && options.requirePrefix === true) bad()
  const addr = slash < 0 ? text : text.slice(0, slash)
  const isV6 = addr.includes(':')
  const max = isV6 ? 128 : 32
  let prefixLength = max
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (!PREFIX.test(p) || Number(p) > max) bad()
    prefixLength = Number(p)
  }
  let a: number | Uint8Array = 0
  try {
    a = isV6 ? parseIPv6(addr) : parseIPv4(addr)
  } catch {
    bad()
  }
  if (typeof a === 'number') {
    const mask4 = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0
    const v4 = (a & mask4) >>> 0
    return { family: 4, prefixLength, v4, mask4, v6: NO_BYTES, text: `${formatIPv4(v4)}/${prefixLength}` }
  }
  const v6 = a
  for (let i = 0; i < 16; i++) {
    const bits = Math.min(8, Math.max(0, prefixLength - i * 8))
    v6[i] = v6[i]! & ((0xff00 >> bits) & 0xff)
  }
  return { family: 6, prefixLength, v4: 0, mask4: 0, v6, text: `${formatIPv6(v6, 0)}/${prefixLength}` }
}

/** `parseCidr` that answers undefined instead of throwing. */
export function tryParseCidr(text: string, options: ParseCidrOptions = {}): Cidr | undefined {
  try {
    return parseCidr(text, options)
  } catch {
    return undefined
  }
}

/** True when the IPv4 address (unsigned 32-bit) lies inside the (IPv4) block. */
export function cidr4Contains(c: Cidr, a: number): boolean {
  return c.family === 4 && (a & c.mask4) >>> 0 === c.v4
}

/** True when the 16 bytes at `bytes[off]` lie inside the (IPv6) block. */
export function cidr6Contains(c: Cidr, bytes: Uint8Array, off: number): boolean {
  if (c.family !== 6) return false
  let bits = c.prefixLength
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff00 >> bits) & 0xff
    if ((bytes[off + i]! & mask) !== c.v6[i]) return false
  }
  return true
}

/** True when the address lies inside the block (false across families). */
export function cidrContains(c: Cidr, a: IpAddress): boolean {
  return a.family === 4 ? cidr4Contains(c, a.v4) : cidr6Contains(c, a.v6, 0)
}

/** The block's network address as an `IpAddress`. */
function networkOf(c: Cidr): IpAddress {
  return { family: c.family, v4: c.v4, v6: c.v6 }
}

/** True when `inner` lies entirely within `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.family === outer.family &&
    inner.prefixLength >= outer.prefixLength &&
    cidrContains(outer, networkOf(inner))
  )
}

/** True when the two blocks share at least one address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrWithin(a, b) || cidrWithin(b, a)
}

/** Number of addresses in the block (exact up to 2^53; a /0 of IPv6 is 2^128 as a float). */
export function cidrSize(c: Cidr): number {
  return 2 ** ((c.family === 4 ? 32 : 128) - c.prefixLength)
}
