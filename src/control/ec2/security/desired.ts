// SPDX-License-Identifier: Apache-2.0
/**
 * What an agent enforces on one interface: its security groups' rules (stateful, allow-only, the
 * union of every group of the interface) and its subnet's network ACL (stateless, numbered entries,
 * first match wins). The control plane computes it (`desiredState`, per interface, field
 * `security`); the agent compiles it into its datapath. Everything here is already resolved: a rule
 * that references another security group carries the member interfaces' private addresses, a
 * prefix-list rule carries the list's CIDR blocks, so the agent needs no other resource.
 *
 * Conventions shared by security-group rules and network-ACL entries:
 * - `protocol` is an IP protocol number, or -1 for every protocol (AWS's `-1`/`all`); the names
 *   `tcp`, `udp`, `icmp`, `icmpv6` of the API arrive here as 6, 17, 1 and 58.
 * - `portRange` is set only for TCP (6) and UDP (17), inclusive on both ends; `null` there means
 *   every port. For other protocols it is always `null`.
 * - `icmpType`/`icmpCode` are set only for ICMP (1) and ICMPv6 (58); `null` means any type / any
 *   code (AWS's -1). For other protocols both are `null`.
 * - CIDR blocks are in canonical text with their prefix length (`10.0.0.0/16`, `2001:db8::/32`),
 *   either family; a rule applies to a packet only if the packet's family matches the block's.
 * @module
 */

/** An inclusive port range (TCP/UDP). */
export interface DesiredPortRange {
  fromPort: number
  toPort: number
}

/**
 * One security-group rule as enforced. Security groups only allow: a packet is allowed in its
 * direction when any rule of any group of the interface matches it, and dropped otherwise — except
 * return traffic of a connection (conntrack) already allowed, which is always allowed. A rule
 * change does not cut tracked connections.
 */
export interface DesiredSecurityGroupRule {
  /** The rule's id (`sgr-…`). */
  securityGroupRuleId: string
  /** The group it belongs to (`sg-…`). */
  groupId: string
  /** `ingress`: matched against the packet's source; `egress`: against its destination. */
  direction: 'ingress' | 'egress'
  /** IP protocol number; -1 = every protocol (then no port or ICMP condition). */
  protocol: number
  portRange: DesiredPortRange | null
  icmpType: number | null
  icmpCode: number | null
  /**
   * The peer addresses the rule allows (source for ingress, destination for egress), both
   * families. For a rule by CIDR, its one block; by prefix list, the list's blocks; by referenced
   * security group, every private address (primary, secondary, IPv6) of every interface in that
   * group, as /32 or /128. An empty list matches nothing (a referenced group without members).
   */
  cidrBlocks: string[]
  /** Where the addresses come from: the referenced group (`sg-…`), else null. */
  referencedGroupId: string | null
  /** The prefix list (`pl-…`) the addresses come from, else null. */
  prefixListId: string | null
}

/** One security group of the interface. */
export interface DesiredSecurityGroup {
  groupId: string
  groupName: string
}

/**
 * One network-ACL entry. Entries of a direction are evaluated in ascending `ruleNumber` order,
 * statelessly (return traffic must be allowed by an entry of the other direction); the first
 * entry matching the packet decides. The list always ends with AWS's `*` entry (rule number
 * 32767, `deny`, every protocol, `0.0.0.0/0` and `::/0`), which denies what nothing else matched.
 */
export interface DesiredNetworkAclEntry {
  /** 1–32766 for the ACL's own entries; 32767 for the closing `*` deny. */
  ruleNumber: number
  ruleAction: 'allow' | 'deny'
  /** IP protocol number; -1 = every protocol. */
  protocol: number
  /** The peer block: source for inbound entries, destination for outbound ones. */
  cidrBlock: string
  portRange: DesiredPortRange | null
  icmpType: number | null
  icmpCode: number | null
}

/** The network ACL of the interface's subnet (the explicitly associated one, else the VPC's default). */
export interface DesiredNetworkAcl {
  networkAclId: string
  /** The VPC's default ACL. */
  isDefault: boolean
  /** Inbound entries (traffic arriving at the interface), in evaluation order. */
  ingress: DesiredNetworkAclEntry[]
  /** Outbound entries (traffic leaving the interface), in evaluation order. */
  egress: DesiredNetworkAclEntry[]
}

/**
 * The enforcement of one interface. Every interface is in at least one security group (an
 * interface given none is in its VPC's default group, as in AWS) and its subnet always has an ACL,
 * so `securityGroups` is never empty and `networkAcl` is always set.
 *
 * Carried by the desired state as `DesiredInterface.security` (see `desired-state.ts`).
 */
export interface DesiredInterfaceSecurity {
  /** The interface's groups, in the order they were set (1 to 5 by default). */
  securityGroups: DesiredSecurityGroup[]
  /** Every ingress rule of every group of the interface (group order, then rule creation order). */
  ingressRules: DesiredSecurityGroupRule[]
  /** Every egress rule of every group of the interface (group order, then rule creation order). */
  egressRules: DesiredSecurityGroupRule[]
  networkAcl: DesiredNetworkAcl
  /**
   * The interface's source/destination check (ModifyNetworkInterfaceAttribute): when true (AWS's
   * default), traffic neither from nor to one of the interface's own addresses is not the
   * interface's to forward.
   */
  sourceDestCheck: boolean
}
