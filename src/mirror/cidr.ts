// SPDX-License-Identifier: Apache-2.0
/** CIDR blocks of filter rules, parsed once at configuration time (never per packet). @module */
import { parseIPv4, parseIPv6 } from '../packet/index.ts'
import { MirrorConfigError } from './errors.ts'

/** A parsed CIDR block: the network with host bits cleared, and its prefix length. */
export interface Cidr {
  family: 4 | 6
  prefixLength: number
  /** IPv4 network (host bits zero) and mask, as unsigned 32-bit numbers; 0 for IPv6. */
  v4: number
  mask4: number
  /** IPv6 network (host bits zero), 16 bytes; empty for IPv4. */
  v6: Uint8Array
  /** The block as text, normalised (network address / prefix length). */
  text: string
}

/**
 * Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a /32 or /128). Host bits set in the address are
 * cleared (AWS stores what it is given; whether it rejects host bits is UNCONFIRMED, spec §7.9 — we
 * accept and normalise). Throws `MirrorConfigError` on anything else.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const isV6 = addr.includes(':')
  const max = isV6 ? 128 : 32
  let prefixLength = max
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > max)
      throw new MirrorConfigError(`bad CIDR block: ${JSON.stringify(text)}`)
    prefixLength = Number(p)
  }
  try {
    if (!isV6) {
      const mask4 = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0
      const v4 = (parseIPv4(addr) & mask4) >>> 0
      const t = `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}/${prefixLength}`
      return { family: 4, prefixLength, v4, mask4, v6: new Uint8Array(0), text: t }
    }
    const v6 = parseIPv6(addr)
    for (let i = 0; i < 16; i++) {
      const bits = Math.min(8, Math.max(0, prefixLength - i * 8))
      v6[i] = v6[i]! & ((0xff00 >> bits) & 0xff)
    }
    return { family: 6, prefixLength, v4: 0, mask4: 0, v6, text: `${formatV6(v6)}/${prefixLength}` }
  } catch (err) {
    if (err instanceof MirrorConfigError) throw err
    throw new MirrorConfigError(`bad CIDR block: ${JSON.stringify(text)}`, { cause: err })
  }
}

function formatV6(b: Uint8Array): string {
  const g: string[] = []
  for (let i = 0; i < 16; i += 2) g.push(((b[i]! << 8) | b[i + 1]!).toString(16))
  return g.join(':')
}

/** True when the 16 bytes at `bytes[off]` fall inside the IPv6 block. */
export function cidr6Contains(c: Cidr, bytes: Uint8Array, off: number): boolean {
  let bits = c.prefixLength
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff00 >> bits) & 0xff
    if ((bytes[off + i]! & mask) !== c.v6[i]) return false
  }
  return true
}
