// SPDX-License-Identifier: Apache-2.0
/**
 * Computes what an agent enforces on an interface (`DesiredInterfaceSecurity`): the rules of its
 * groups with referenced groups resolved to their members' addresses and prefix lists to their
 * current entries, and its subnet's ACL entries
 * in evaluation order, closed by the `*` deny.
 * @module
 */
import type { Ledger } from '../../core/ledger.ts'
import type { NetworkAclEntry, NetworkInterface, SecurityGroupRule } from '../model.ts'
import type {
  DesiredInterfaceSecurity,
  DesiredNetworkAcl,
  DesiredNetworkAclEntry,
  DesiredSecurityGroupRule,
} from './desired.ts'
import type { SecurityGroups } from './groups.ts'
import type { Interfaces } from './interfaces.ts'
import { sortEntries, starEntries, type NetworkAcls } from './nacls.ts'
import { hasPorts, isIcmp, protocolOfName } from './protocol.ts'

/** An interface's private addresses as host blocks (/32, /128). */
function hostBlocks(e: NetworkInterface): string[] {
  return [
    ...[e.privateIpAddress, ...e.secondaryPrivateIpAddresses].map((a) => `${a}/32`),
    ...e.ipv6Addresses.map((a) => `${a}/128`),
  ]
}

function ports(
  protocol: number,
  from: number,
  to: number,
): Pick<DesiredSecurityGroupRule, 'portRange' | 'icmpType' | 'icmpCode'> {
  if (hasPorts(protocol))
    return {
      portRange: from === 0 && to === 65535 ? null : { fromPort: from, toPort: to },
      icmpType: null,
      icmpCode: null,
    }
  if (isIcmp(protocol))
    return { portRange: null, icmpType: from === -1 ? null : from, icmpCode: to === -1 ? null : to }
  return { portRange: null, icmpType: null, icmpCode: null }
}

function naclEntry(e: NetworkAclEntry): DesiredNetworkAclEntry {
  const protocol = Number(e.protocol)
  const p = ports(protocol, e.portRange?.from ?? 0, e.portRange?.to ?? 65535)
  const icmp = isIcmp(protocol) ? (e.icmpTypeCode ?? { type: -1, code: -1 }) : undefined
  return {
    ruleNumber: e.ruleNumber,
    ruleAction: e.ruleAction,
    protocol,
    cidrBlock: e.cidrBlock ?? e.ipv6CidrBlock ?? '0.0.0.0/0',
    portRange: hasPorts(protocol)
      ? { fromPort: e.portRange?.from ?? 0, toPort: e.portRange?.to ?? 65535 }
      : p.portRange,
    icmpType: icmp === undefined || icmp.type === -1 ? null : icmp.type,
    icmpCode: icmp === undefined || icmp.code === -1 ? null : icmp.code,
  }
}

/**
 * Group id (or `pl|` + prefix-list id) → its address blocks, valid for one state version: every agent's desired
 * state computed after one change (the long-poll flush computes them all) shares it, so a group
 * that thousands of interfaces reference is resolved once per change, not once per instance.
 */
const MEMBER_CACHE = new WeakMap<Ledger, { version: number; members: Map<string, string[]> }>()

function membersAt(l: Ledger): Map<string, string[]> {
  let c = MEMBER_CACHE.get(l)
  if (c === undefined || c.version !== l.version) {
    c = { version: l.version, members: new Map() }
    MEMBER_CACHE.set(l, c)
  }
  return c.members
}

/** Computes interfaces' enforcement (one view per desired-state computation). */
export class EnforcementView {
  private readonly l: Ledger
  private readonly groups: SecurityGroups
  private readonly acls: NetworkAcls
  private readonly interfaces: Interfaces
  private readonly members: Map<string, string[]>

  constructor(l: Ledger, groups: SecurityGroups, acls: NetworkAcls, interfaces: Interfaces) {
    this.l = l
    this.groups = groups
    this.acls = acls
    this.interfaces = interfaces
    this.members = membersAt(l)
  }

  private memberBlocks(groupId: string): string[] {
    let m = this.members.get(groupId)
    if (m === undefined) {
      const g = this.l.state.get('security-group', groupId)
      m = g === undefined ? [] : this.interfaces.membersOf(g).flatMap(hostBlocks)
      this.members.set(groupId, m)
    }
    return m
  }

  /** A prefix list's current entries (a list is never deleted while a rule references it). */
  private listBlocks(prefixListId: string): string[] {
    const key = `pl|${prefixListId}`
    let m = this.members.get(key)
    if (m === undefined) {
      m = this.l.state.get('prefix-list', prefixListId)?.entries.map((e) => e.cidr) ?? []
      this.members.set(key, m)
    }
    return m
  }

  private rule(r: SecurityGroupRule): DesiredSecurityGroupRule {
    const protocol = protocolOfName(r.ipProtocol)
    return {
      securityGroupRuleId: r.id,
      groupId: r.groupId,
      direction: r.isEgress ? 'egress' : 'ingress',
      protocol,
      ...ports(protocol, r.fromPort, r.toPort),
      cidrBlocks:
        r.referencedGroupId !== undefined
          ? [...this.memberBlocks(r.referencedGroupId)]
          : r.prefixListId !== undefined
            ? [...this.listBlocks(r.prefixListId)]
            : [r.cidrIpv4 ?? r.cidrIpv6].filter((c): c is string => c !== undefined),
      referencedGroupId: r.referencedGroupId ?? null,
      prefixListId: r.prefixListId ?? null,
    }
  }

  private acl(eni: NetworkInterface): DesiredNetworkAcl {
    const subnet = this.l.state.get('subnet', eni.subnetId)
    const acl = subnet === undefined ? undefined : this.acls.aclOfSubnet(subnet)
    if (acl === undefined) {
      // No ACL (cannot happen once defaults are complete): deny nothing the agent cannot explain.
      return { networkAclId: '', isDefault: true, ingress: allowAll(), egress: allowAll() }
    }
    const entries = sortEntries([...acl.entries])
    return {
      networkAclId: acl.id,
      isDefault: acl.isDefault,
      ingress: [...entries.filter((e) => !e.egress), ...starEntries(false)].map(naclEntry),
      egress: [...entries.filter((e) => e.egress), ...starEntries(true)].map(naclEntry),
    }
  }

  of(eni: NetworkInterface): DesiredInterfaceSecurity {
    const groups = this.interfaces.groupsOf(eni)
    const ingressRules: DesiredSecurityGroupRule[] = []
    const egressRules: DesiredSecurityGroupRule[] = []
    for (const g of groups) {
      for (const r of this.groups.rulesOf(g.id)) (r.isEgress ? egressRules : ingressRules).push(this.rule(r))
    }
    return {
      securityGroups: groups.map((g) => ({ groupId: g.id, groupName: g.groupName })),
      ingressRules,
      egressRules,
      networkAcl: this.acl(eni),
      sourceDestCheck: eni.sourceDestCheck ?? true,
    }
  }
}

function allowAll(): DesiredNetworkAclEntry[] {
  return [
    {
      ruleNumber: 100,
      ruleAction: 'allow',
      protocol: -1,
      cidrBlock: '0.0.0.0/0',
      portRange: null,
      icmpType: null,
      icmpCode: null,
    },
    {
      ruleNumber: 101,
      ruleAction: 'allow',
      protocol: -1,
      cidrBlock: '::/0',
      portRange: null,
      icmpType: null,
      icmpCode: null,
    },
  ]
}
