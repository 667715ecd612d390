// SPDX-License-Identifier: Apache-2.0
/**
 * CIDR arithmetic for the control plane: containment and overlap as integer ranges, for subnet
 * placement (an address within a subnet's CIDR, subnets inside their VPC, no two subnets
 * overlapping) and rule validation (one family per rule). Parsing and formatting of addresses and
 * blocks are the packet and mirror domains' (`parseIPv4`/`parseIPv6`, `parseCidr`); this file only
 * turns their results into BigInt ranges and never throws on bad input (it answers undefined).
 * @module
 */
import { parseCidr as parseBlock, type Cidr as Block } from '../../../mirror/index.ts'
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../../packet/index.ts'

/** A parsed CIDR block. `base` is the network address (host bits cleared). */
export interface Cidr {
  readonly family: 4 | 6
  readonly base: bigint
  readonly prefix: number
  /** As given, for echoing back. */
  readonly text: string
}

function bytesToBig(b: Uint8Array): bigint {
  let v = 0n
  for (const x of b) v = (v << 8n) | BigInt(x)
  return v
}

/** The address as an unsigned integer, or undefined when it is not a valid IPv4/IPv6 address. */
export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64 || /[%/\s]/.test(text))
    return undefined
  try {
    if (text.includes(':')) return { family: 6, value: bytesToBig(parseIPv6(text)) }
    return { family: 4, value: BigInt(parseIPv4(text)) }
  } catch {
    return undefined
  }
}

/** Parses `a.b.c.d/n` or `x::/n`; undefined when malformed. The prefix length is required here. */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string' || text.length > 64 || !text.includes('/') || /[%\s]/.test(text))
    return undefined
  let b: Block
  try {
    b = parseBlock(text)
  } catch {
    return undefined
  }
  const base = b.family === 4 ? BigInt(b.v4) : bytesToBig(b.v6)
  return { family: b.family, base, prefix: b.prefixLength, text }
}

/** Number of addresses in the block. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt((c.family === 4 ? 32 : 128) - c.prefix)
}

/** True when the address (same family) lies within the block. */
export function cidrContains(c: Cidr, addr: { family: 4 | 6; value: bigint }): boolean {
  return addr.family === c.family && addr.value >= c.base && addr.value < c.base + cidrSize(c)
}

/** True when `inner` lies entirely within `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.family === outer.family &&
    inner.prefix >= outer.prefix &&
    cidrContains(outer, { family: inner.family, value: inner.base })
  )
}

/** True when the two blocks share at least one address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return (
    a.family === b.family &&
    (cidrContains(a, { family: b.family, value: b.base }) ||
      cidrContains(b, { family: a.family, value: a.base }))
  )
}

/** Canonical text of the block's network address and prefix (`10.0.0.0/16`). */
export function cidrNetworkText(c: Cidr): string {
  return `${formatAddress(c.family, c.base)}/${c.prefix}`
}

/** Formats an integer address (IPv6 per RFC 5952). */
export function formatAddress(family: 4 | 6, v: bigint): string {
  if (family === 4) return formatIPv4(Number(v))
  const bytes = new Uint8Array(16)
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(v & 255n)
    v >>= 8n
  }
  return formatIPv6(bytes, 0)
}
