// SPDX-License-Identifier: Apache-2.0
/**
 * EC2's quotas (the traffic-mirroring quotas are not adjustable in AWS; here they are settings, for
 * tests and operators) and the bounds of what the EC2 actions store.
 * @module
 */
import { invalidValue } from '../core/errors.ts'

export interface Quotas {
  sessionsPerAccount: number
  sessionsPerInterface: number
  targetsPerAccount: number
  filtersPerAccount: number
  rulesPerFilter: number
  sourcesPerInterfaceTarget: number
  tagsPerResource: number
}

export const DEFAULT_QUOTAS: Quotas = {
  sessionsPerAccount: 10_000,
  sessionsPerInterface: 3,
  targetsPerAccount: 10_000,
  filtersPerAccount: 10_000,
  rulesPerFilter: 10,
  sourcesPerInterfaceTarget: 10,
  tagsPerResource: 50,
}

/** Descriptions (targets, filters, rules, sessions, interfaces): 255 characters at most. */
export function checkDescription(d: string | undefined): void {
  if (d !== undefined && d.length > 255)
    throw invalidValue('The description must be 255 characters or fewer.')
}

/** Every CIDR block of the EC2 API carries its prefix length. */
export const PREFIX_REQUIRED = { requirePrefix: true } as const
