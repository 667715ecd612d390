// SPDX-License-Identifier: Apache-2.0
/**
 * EC2's quotas (the traffic-mirroring quotas are not adjustable in AWS; here they are settings, for
 * tests and operators) and the bounds of what the EC2 actions store.
 * @module
 */
import { charLength, invalidValue } from '../core/errors.ts'

export interface Quotas {
  sessionsPerAccount: number
  sessionsPerInterface: number
  targetsPerAccount: number
  filtersPerAccount: number
  rulesPerFilter: number
  sourcesPerInterfaceTarget: number
  tagsPerResource: number
  /** Instances and network interfaces the admin API and agents may register (mirrorflow's bounds). */
  instancesPerAccount: number
  networkInterfacesPerAccount: number
  /** VPCs of the region (AWS: 5 by default, adjustable), subnets per VPC (AWS: 200). */
  vpcsPerRegion: number
  subnetsPerVpc: number
  /** Flow logs per VPC, subnet or interface (AWS: 50). */
  flowLogsPerResource: number
  /** Security groups of the region (AWS: 2,500). */
  securityGroupsPerRegion: number
  /** Inbound rules per security group, and outbound rules, each (AWS: 60). */
  rulesPerSecurityGroup: number
  /** Security groups per network interface (AWS: 5). */
  securityGroupsPerInterface: number
  /** Customer-managed prefix lists of the region (AWS: 100). */
  prefixListsPerRegion: number
  /** Network ACLs per VPC (AWS: 200). */
  networkAclsPerVpc: number
  /** Entries per network ACL, inbound and outbound each (AWS: 20). */
  entriesPerNetworkAcl: number
}

export const DEFAULT_QUOTAS: Quotas = {
  sessionsPerAccount: 10_000,
  sessionsPerInterface: 3,
  targetsPerAccount: 10_000,
  filtersPerAccount: 10_000,
  rulesPerFilter: 10,
  sourcesPerInterfaceTarget: 10,
  tagsPerResource: 50,
  instancesPerAccount: 10_000,
  networkInterfacesPerAccount: 100_000,
  vpcsPerRegion: 1000,
  subnetsPerVpc: 200,
  flowLogsPerResource: 50,
  securityGroupsPerRegion: 2500,
  rulesPerSecurityGroup: 60,
  securityGroupsPerInterface: 5,
  prefixListsPerRegion: 100,
  networkAclsPerVpc: 200,
  entriesPerNetworkAcl: 20,
}

/** Descriptions (targets, filters, rules, sessions, interfaces, keys): 255 characters at most. */
export const DESCRIPTION_MAX = 255

/** Refuses a description over {@link DESCRIPTION_MAX} characters (code points, as AWS counts). */
export function checkDescription(d: string | undefined): void {
  if (d !== undefined && charLength(d) > DESCRIPTION_MAX)
    throw invalidValue(`The description must be ${DESCRIPTION_MAX} characters or fewer.`)
}

/** Every CIDR block of the EC2 API carries its prefix length. */
export const PREFIX_REQUIRED = { requirePrefix: true } as const
