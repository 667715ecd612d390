// SPDX-License-Identifier: Apache-2.0
/**
 * What security-group rules and network-ACL entries share: IP protocols as the API spells them
 * (names or numbers) and CIDR blocks as the API accepts them (a prefix length, no host bits).
 * @module
 */
import { tryParseCidr, type Cidr } from '../../../packet/index.ts'
import { invalidValue, truncate } from '../../core/errors.ts'

/** Protocol names security groups accept, with their numbers. */
const NAMES: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 }
/** Numbers security groups answer with their names. */
const NAME_OF: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6' }

/**
 * The protocol number of `tcp`/`udp`/`icmp`/`icmpv6`/`-1`/`all`/`0`–`255` (case-insensitive
 * names); -1 = every protocol. Anything else is `InvalidParameterValue`.
 */
export function protocolNumber(text: string, param: string): number {
  const t = text.trim().toLowerCase()
  if (t === '-1' || t === 'all') return -1
  const n = NAMES[t]
  if (n !== undefined) return n
  if (/^[0-9]{1,3}$/.test(t) && Number(t) <= 255) return Number(t)
  throw invalidValue(`Invalid value '${truncate(text)}' for ${param}. Unknown protocol.`)
}

/** A security group's spelling of a protocol number: `tcp`, `udp`, `icmp`, `icmpv6`, `-1` or the number. */
export function protocolName(n: number): string {
  return n === -1 ? '-1' : (NAME_OF[n] ?? String(n))
}

/** A security group's stored protocol text back to a number. */
export function protocolOfName(name: string): number {
  return name === '-1' ? -1 : (NAMES[name] ?? Number(name))
}

/** True for protocols whose rules carry ports. */
export function hasPorts(protocol: number): boolean {
  return protocol === 6 || protocol === 17
}

/** True for protocols whose rules carry an ICMP type and code. */
export function isIcmp(protocol: number): boolean {
  return protocol === 1 || protocol === 58
}

/**
 * A CIDR block of the given family as AWS accepts it in rules: a prefix length is required and no
 * host bit may be set (`10.0.0.1/16` is refused). Answers the canonical block.
 */
export function ruleCidr(text: string, family: 4 | 6, param: string): Cidr {
  const c = text.length <= 64 ? tryParseCidr(text, { requirePrefix: true }) : undefined
  if (c === undefined || c.family !== family)
    throw invalidValue(
      `Value (${truncate(text)}) for parameter ${param} is invalid. This is not a valid CIDR block.`,
    )
  const bare = tryParseCidr(text.slice(0, text.indexOf('/')))
  if (bare === undefined || bare.text.split('/')[0] !== c.text.split('/')[0])
    throw invalidValue(`CIDR block ${truncate(text)} is malformed`)
  return c
}
