// SPDX-License-Identifier: Apache-2.0
/**
 * Resource ids: the AWS prefix, a dash and 17 lowercase hex digits (`tmf-04812ff784b25ae67`).
 * Accepted on input: the prefix and 8 or 17 hex digits, as AWS ids of both generations look.
 * @module
 */
import { randomBytes } from 'node:crypto'

/** The id prefixes of the resources mirrorflow stores. */
export const ID_PREFIX = {
  vpc: 'vpc',
  subnet: 'subnet',
  instance: 'i',
  networkInterface: 'eni',
  trafficMirrorTarget: 'tmt',
  trafficMirrorFilter: 'tmf',
  trafficMirrorFilterRule: 'tmfr',
  trafficMirrorSession: 'tms',
  flowLog: 'fl',
  vpcEndpoint: 'vpce',
  reservation: 'r',
  attachment: 'eni-attach',
  vpcCidrAssoc: 'vpc-cidr-assoc',
} as const

/**
 * Randomness for ids, drawn 4 KiB at a time: a draw costs about 7 µs however small, and every create
 * makes an id. Ids name resources and are not secrets (keys and tokens draw their own).
 */
let pool = Buffer.alloc(0)
let at = 0
/** Each byte's two lowercase hex digits. */
export const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
)

/** `n` random bytes for an id (a view of the pool: copy it to keep or change it). */
export function idBytes(n: number): Buffer {
  if (at + n > pool.length) {
    pool = randomBytes(4096)
    at = 0
  }
  const b = pool.subarray(at, at + n)
  at += n
  return b
}

/** A fresh id: prefix + 17 random lowercase hex digits. */
export function newId(prefix: string): string {
  const b = idBytes(9)
  let s = prefix + '-'
  for (let i = 0; i < 8; i++) s += HEX_BYTE[b[i]!]!
  return s + HEX_BYTE[b[8]!]![0]!
}

const CACHE = new Map<string, RegExp>()
/** True when `id` has the shape of an id with this prefix (8 or 17 hex digits). */
export function isIdOf(prefix: string, id: string): boolean {
  let re = CACHE.get(prefix)
  if (re === undefined) {
    re = new RegExp(`^${prefix.replace(/-/g, '\\-')}-(?:[0-9a-f]{8}|[0-9a-f]{17})$`)
    CACHE.set(prefix, re)
  }
  return re.test(id)
}
