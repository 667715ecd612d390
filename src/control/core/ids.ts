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

/** A fresh id: prefix + 17 random lowercase hex digits. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`
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
