// SPDX-License-Identifier: Apache-2.0
/**
 * Security groups and their rules: CreateSecurityGroup/DeleteSecurityGroup, Authorize/Revoke
 * (ingress and egress, by permission or by rule id), ModifySecurityGroupRules and the rule
 * descriptions, with AWS's rules — a `default` group per VPC (ingress from itself, egress to
 * everywhere) that a user cannot delete, a new group's egress-to-everywhere rule, one rule per peer
 * (CIDR block, referenced group or prefix list), duplicate rules refused, the per-group rule quota
 * per direction (a rule by prefix list weighs the list's `MaxEntries`, as in AWS).
 * @module
 */
import { createHash } from 'node:crypto'
import { ApiError, charLength, invalidValue, truncate } from '../../core/errors.ts'
import { newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Resource, Tag } from '../../core/model.ts'
import type { Index } from '../../core/state.ts'
import type { SecurityGroup, SecurityGroupRule, Vpc } from '../model.ts'
import type { Quotas } from '../limits.ts'
import type { Tags } from '../tags.ts'
import type { PrefixLists } from './prefix-lists.ts'
import { hasPorts, isIcmp, protocolName, protocolNumber, protocolOfName, ruleCidr } from './protocol.ts'

/** Group names and descriptions: at most 255 characters. */
export const GROUP_TEXT_MAX = 255
/** Permissions, and peers in one permission, one request may carry (bounds the work of a call). */
export const PERMISSIONS_MAX = 100
export const PEERS_MAX = 100

/** One peer of a permission as the API gives it. */
export interface PeerInput {
  cidrIp?: string | undefined
  cidrIpv6?: string | undefined
  prefixListId?: string | undefined
  groupId?: string | undefined
  groupName?: string | undefined
  userId?: string | undefined
  description?: string | undefined
}

/** One `IpPermission` as the API gives it (the peers flattened, each with its kind set). */
export interface IpPermissionInput {
  ipProtocol?: string | undefined
  fromPort?: number | undefined
  toPort?: number | undefined
  peers: PeerInput[]
}

/** A rule as `ModifySecurityGroupRules` gives it. */
export interface RuleRequestInput {
  ipProtocol?: string | undefined
  fromPort?: number | undefined
  toPort?: number | undefined
  cidrIpv4?: string | undefined
  cidrIpv6?: string | undefined
  prefixListId?: string | undefined
  referencedGroupId?: string | undefined
  description?: string | undefined
}

/** A validated rule before it has an id. */
type RuleSpec = Pick<
  SecurityGroupRule,
  | 'ipProtocol'
  | 'fromPort'
  | 'toPort'
  | 'cidrIpv4'
  | 'cidrIpv6'
  | 'prefixListId'
  | 'referencedGroupId'
  | 'description'
>

/** Characters AWS allows in group names and descriptions (VPC groups). */
const GROUP_TEXT = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/
/** Characters AWS allows in rule descriptions. */
const RULE_DESCRIPTION = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/

function checkRuleDescription(d: string | undefined): void {
  if (d === undefined) return
  if (charLength(d) > GROUP_TEXT_MAX || !RULE_DESCRIPTION.test(d))
    throw invalidValue(
      `Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*`,
    )
}

/** The rule identity AWS compares for duplicates and revocation (description excluded). */
function ruleKey(r: RuleSpec & { isEgress: boolean }): string {
  const peer =
    r.cidrIpv4 !== undefined
      ? `4|${r.cidrIpv4}`
      : r.cidrIpv6 !== undefined
        ? `6|${r.cidrIpv6}`
        : r.referencedGroupId !== undefined
          ? `g|${r.referencedGroupId}`
          : `p|${r.prefixListId ?? ''}`
  return `${r.isEgress ? 'e' : 'i'}|${r.ipProtocol}|${r.fromPort}|${r.toPort}|${peer}`
}

/** How AWS names a rule in a duplicate message. */
function describeRule(r: RuleSpec): string {
  const peer = r.cidrIpv4 ?? r.cidrIpv6 ?? r.referencedGroupId ?? r.prefixListId ?? ''
  const proto = r.ipProtocol === '-1' ? 'ALL' : r.ipProtocol.toUpperCase()
  return `peer: ${peer}, ${proto}, from port: ${r.fromPort}, to port: ${r.toPort}, ALLOW`
}

/**
 * The outbound allow-all rules of a new group: to `0.0.0.0/0` and to `::/0`. Every mirrorflow VPC is
 * treated as dual-stack (interfaces may carry IPv6 addresses while VPCs have no IPv6 block to
 * declare), so groups get the rules AWS gives groups of a VPC with an IPv6 block.
 */
function allEgress(sg: SecurityGroups, groupId: string): SecurityGroupRule[] {
  return [
    sg.newRule(groupId, true, { ipProtocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' }),
    sg.newRule(groupId, true, { ipProtocol: '-1', fromPort: -1, toPort: -1, cidrIpv6: '::/0' }),
  ]
}

/** The deterministic id of a VPC's default group (so that a store predating groups gets one id). */
export function defaultGroupIdOf(vpcId: string): string {
  return `sg-${createHash('sha256').update(`default-sg|${vpcId}`).digest('hex').slice(0, 17)}`
}

export class SecurityGroups {
  private readonly l: Ledger
  private readonly q: Quotas
  private readonly tags: Tags
  private readonly prefixLists: PrefixLists
  readonly groupsByVpc: Index<SecurityGroup>
  readonly rulesByGroup: Index<SecurityGroupRule>
  /** Rules referencing a group, by the referenced group's id. */
  readonly rulesByReferencedGroup: Index<SecurityGroupRule>

  constructor(l: Ledger, q: Quotas, tags: Tags, prefixLists: PrefixLists) {
    this.l = l
    this.q = q
    this.tags = tags
    this.prefixLists = prefixLists
    prefixLists.groupRules = (groupId, isEgress) => this.rulesOf(groupId, isEgress)
    l.defineKind('security-group', {
      prefix: 'sg',
      malformed: 'InvalidGroupId.Malformed',
      notFound: 'InvalidGroup.NotFound',
      notFoundMessage: (id) => `The security group '${id}' does not exist`,
      resourceType: 'security-group',
    })
    l.defineKind('security-group-rule', {
      prefix: 'sgr',
      malformed: 'InvalidSecurityGroupRuleId.Malformed',
      notFound: 'InvalidSecurityGroupRuleId.NotFound',
      notFoundMessage: (id) => `The security group rule ID '${id}' does not exist`,
      resourceType: 'security-group-rule',
    })
    this.groupsByVpc = l.state.index('security-group', (g) => g.vpcId)
    this.rulesByGroup = l.state.index('security-group-rule', (r) => r.groupId)
    this.rulesByReferencedGroup = l.state.index('security-group-rule', (r) => r.referencedGroupId)
    // A VPC goes only without groups of its own; its default group (and the rules) go with it.
    l.onDelete('vpc', (vpc) => {
      const out: Resource[] = []
      for (const id of this.groupsByVpc.get(vpc.id)) {
        const g = l.state.get('security-group', id)!
        if (!g.isDefault)
          throw new ApiError(
            'DependencyViolation',
            `The vpc '${vpc.id}' has dependencies and cannot be deleted.`,
          )
        out.push(g, ...this.rulesOf(g.id))
      }
      return out
    })
  }

  /** The group, or `InvalidGroupId.Malformed` / `InvalidGroup.NotFound`. */
  group(id: string): SecurityGroup {
    return this.l.lookup('security-group', id)
  }

  /** A group named by id, or by name (the name needs a VPC: mirrorflow has no default VPC). */
  resolve(groupId: string | undefined, groupName: string | undefined, vpcId?: string): SecurityGroup {
    if (groupId !== undefined) return this.group(groupId)
    if (groupName === undefined)
      throw new ApiError('MissingParameter', 'The request must contain the parameter groupName or groupId')
    if (vpcId === undefined) {
      throw new ApiError(
        'VPCIdNotSpecified',
        'No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.',
      )
    }
    const g = this.byName(vpcId, groupName)
    if (g === undefined)
      throw new ApiError(
        'InvalidGroup.NotFound',
        `The security group '${truncate(groupName)}' does not exist in VPC '${vpcId}'`,
      )
    return g
  }

  byName(vpcId: string, name: string): SecurityGroup | undefined {
    for (const id of this.groupsByVpc.get(vpcId)) {
      const g = this.l.state.get('security-group', id)!
      if (g.groupName === name) return g
    }
    return undefined
  }

  /** The VPC's default group (every VPC has one). */
  defaultGroupOf(vpcId: string): SecurityGroup | undefined {
    return this.l.state.get('security-group', defaultGroupIdOf(vpcId))
  }

  /** A group's rules in creation order (both directions, or one). */
  rulesOf(groupId: string, isEgress?: boolean): SecurityGroupRule[] {
    return [...this.rulesByGroup.get(groupId)]
      .map((id) => this.l.state.get('security-group-rule', id)!)
      .filter((r) => isEgress === undefined || r.isEgress === isEgress)
      .sort((a, b) => a.seq - b.seq)
  }

  /** The records of a VPC's default group: the group, ingress from itself, egress to everywhere. */
  defaultsFor(vpc: Vpc): Resource[] {
    const id = defaultGroupIdOf(vpc.id)
    const g: SecurityGroup = {
      kind: 'security-group',
      id,
      seq: this.l.nextSeq(),
      groupName: 'default',
      description: 'default VPC security group',
      vpcId: vpc.id,
      isDefault: true,
      createdAt: this.l.now(),
      tags: [],
    }
    return [
      g,
      this.newRule(id, false, { ipProtocol: '-1', fromPort: -1, toPort: -1, referencedGroupId: id }),
      ...allEgress(this, id),
    ]
  }

  /** A new rule record (not committed). */
  newRule(groupId: string, isEgress: boolean, spec: RuleSpec, tags: Tag[] = []): SecurityGroupRule {
    const r: SecurityGroupRule = {
      kind: 'security-group-rule',
      id: newId('sgr'),
      seq: this.l.nextSeq(),
      groupId,
      isEgress,
      ipProtocol: spec.ipProtocol,
      fromPort: spec.fromPort,
      toPort: spec.toPort,
      tags,
    }
    if (spec.cidrIpv4 !== undefined) r.cidrIpv4 = spec.cidrIpv4
    if (spec.cidrIpv6 !== undefined) r.cidrIpv6 = spec.cidrIpv6
    if (spec.prefixListId !== undefined) r.prefixListId = spec.prefixListId
    if (spec.referencedGroupId !== undefined) r.referencedGroupId = spec.referencedGroupId
    if (spec.description !== undefined) r.description = spec.description
    return r
  }

  createGroup(
    input: { groupName: string; description: string; vpcId: string | undefined },
    tags: Tag[],
    vpcOf: (id: string) => Vpc,
    idem?: Idempotency,
  ): { group: SecurityGroup; rules: SecurityGroupRule[] } {
    const { groupName, description } = input
    if (input.vpcId === undefined) throw new ApiError('VPCIdNotSpecified', 'No default VPC for this user')
    const vpc = vpcOf(input.vpcId)
    if (groupName.length === 0 || charLength(groupName) > GROUP_TEXT_MAX || !GROUP_TEXT.test(groupName))
      throw invalidValue(
        `Value (${truncate(groupName)}) for parameter GroupName is invalid. Character sets beyond ASCII are not supported.`,
      )
    if (groupName.toLowerCase().startsWith('sg-'))
      throw invalidValue('Group names may not be in the format sg-*.')
    if (description.length === 0 || charLength(description) > GROUP_TEXT_MAX || !GROUP_TEXT.test(description))
      throw invalidValue(
        `Value (${truncate(description)}) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported.`,
      )
    if (groupName === 'default')
      throw new ApiError('InvalidGroup.Reserved', "The security group 'default' is reserved")
    const validTags = this.tags.validate(tags)
    return this.l.idempotent(idem, () => {
      if (this.byName(vpc.id, groupName) !== undefined)
        throw new ApiError(
          'InvalidGroup.Duplicate',
          `The security group '${truncate(groupName)}' already exists for VPC '${vpc.id}'`,
        )
      if (this.l.state.table('security-group').size >= this.q.securityGroupsPerRegion)
        throw new ApiError(
          'SecurityGroupLimitExceeded',
          `The maximum number of security groups (${this.q.securityGroupsPerRegion}) has been reached.`,
        )
      const g: SecurityGroup = {
        kind: 'security-group',
        id: newId('sg'),
        seq: this.l.nextSeq(),
        groupName,
        description,
        vpcId: vpc.id,
        isDefault: false,
        createdAt: this.l.now(),
        tags: validTags,
      }
      // A new VPC group allows every outbound packet until those rules are revoked, as in AWS.
      const egress = allEgress(this, g.id)
      const result = { group: g, rules: egress }
      this.l.remember(result)
      this.l.commit([g, ...egress])
      return result
    })
  }

  /** DeleteSecurityGroup: never the default group; not while interfaces or other groups' rules use it. */
  deleteGroup(g: SecurityGroup, inUse: (groupId: string) => boolean): void {
    if (g.isDefault)
      throw new ApiError(
        'CannotDelete',
        `the specified group: "${g.id}" name: "default" cannot be deleted by a user`,
      )
    const referencing = [...this.rulesByReferencedGroup.get(g.id)]
      .map((id) => this.l.state.get('security-group-rule', id)!)
      .filter((r) => r.groupId !== g.id)
    if (referencing.length > 0 || inUse(g.id))
      throw new ApiError('DependencyViolation', `resource ${g.id} has a dependent object`)
    this.l.commit([], [g, ...this.rulesOf(g.id), ...this.l.dependents(g)])
  }

  /** Validates one rule's protocol, ports and peer (exactly one peer), in the group's VPC. */
  private spec(
    g: SecurityGroup,
    proto: { ipProtocol?: string | undefined; fromPort?: number | undefined; toPort?: number | undefined },
    peer: PeerInput,
  ): RuleSpec {
    if (proto.ipProtocol === undefined)
      throw new ApiError('MissingParameter', 'The request must contain the parameter ipProtocol')
    const p = protocolNumber(proto.ipProtocol, 'IP protocol')
    let fromPort = -1
    let toPort = -1
    if (hasPorts(p)) {
      if (proto.fromPort === undefined && proto.toPort === undefined) {
        fromPort = 0
        toPort = 65535
      } else {
        if (proto.fromPort === undefined || proto.toPort === undefined)
          throw invalidValue('Invalid value for portRange. Must specify both from and to ports with TCP/UDP.')
        fromPort = proto.fromPort
        toPort = proto.toPort
        if (fromPort < 0 || fromPort > 65535 || toPort < 0 || toPort > 65535)
          throw invalidValue(
            `Invalid value '${fromPort < 0 || fromPort > 65535 ? fromPort : toPort}' for portRange.`,
          )
        if (fromPort > toPort)
          throw invalidValue(
            `Invalid value for portRange. From port ${fromPort} is greater than to port ${toPort}.`,
          )
      }
    } else if (isIcmp(p)) {
      fromPort = proto.fromPort ?? -1
      toPort = proto.toPort ?? -1
      if (fromPort < -1 || fromPort > 255) throw invalidValue(`Invalid value '${fromPort}' for ICMP type.`)
      if (toPort < -1 || toPort > 255) throw invalidValue(`Invalid value '${toPort}' for ICMP code.`)
      if (fromPort === -1 && toPort !== -1)
        throw invalidValue(
          `Invalid value '${toPort}' for ICMP code: the code must be -1 when the type is -1.`,
        )
    }
    const spec: RuleSpec = { ipProtocol: protocolName(p), fromPort, toPort }
    checkRuleDescription(peer.description)
    if (peer.description !== undefined) spec.description = peer.description
    const given = [peer.cidrIp, peer.cidrIpv6, peer.prefixListId, peer.groupId ?? peer.groupName].filter(
      (x) => x !== undefined,
    ).length
    if (given !== 1)
      throw new ApiError(
        'InvalidParameterCombination',
        'A rule has exactly one of a CIDR block, an IPv6 CIDR block, a prefix list or a security group.',
      )
    if (peer.cidrIp !== undefined) spec.cidrIpv4 = ruleCidr(peer.cidrIp, 4, 'cidrIp').text
    else if (peer.cidrIpv6 !== undefined) spec.cidrIpv6 = ruleCidr(peer.cidrIpv6, 6, 'cidrIpv6').text
    else if (peer.prefixListId !== undefined) spec.prefixListId = this.prefixLists.list(peer.prefixListId).id
    else {
      if (peer.userId !== undefined && peer.userId !== this.l.accountId)
        throw new ApiError(
          'InvalidGroup.NotFound',
          `The security group '${truncate(peer.groupId ?? peer.groupName ?? '')}' does not exist`,
        )
      const ref = this.resolve(peer.groupId, peer.groupName, g.vpcId)
      if (ref.vpcId !== g.vpcId)
        throw new ApiError(
          'InvalidGroup.NotFound',
          `You have specified two resources that belong to different networks: the security group '${ref.id}' is not in VPC '${g.vpcId}'.`,
        )
      spec.referencedGroupId = ref.id
    }
    return spec
  }

  private specsOf(g: SecurityGroup, perms: readonly IpPermissionInput[]): RuleSpec[] {
    if (perms.length > PERMISSIONS_MAX)
      throw invalidValue(`A request carries at most ${PERMISSIONS_MAX} permissions.`)
    const out: RuleSpec[] = []
    for (const perm of perms) {
      if (perm.peers.length > PEERS_MAX)
        throw invalidValue(`A permission carries at most ${PEERS_MAX} peers.`)
      if (perm.peers.length === 0)
        throw new ApiError(
          'MissingParameter',
          'Either a CIDR block, an IPv6 CIDR block, a prefix list or a security group must be specified.',
        )
      for (const peer of perm.peers) out.push(this.spec(g, perm, peer))
    }
    return out
  }

  /**
   * The quota of one direction: each rule weighs 1, a rule by prefix list the list's `MaxEntries`
   * (`rules` replaces the direction's rules when given: ModifySecurityGroupRules).
   */
  private checkQuota(
    g: SecurityGroup,
    isEgress: boolean,
    adding: readonly Pick<SecurityGroupRule, 'prefixListId'>[],
    rules: readonly Pick<SecurityGroupRule, 'prefixListId'>[] = this.rulesOf(g.id, isEgress),
  ): void {
    let weight = 0
    for (const r of rules) weight += this.prefixLists.weightOf(r)
    for (const r of adding) weight += this.prefixLists.weightOf(r)
    if (weight > this.q.rulesPerSecurityGroup)
      throw new ApiError(
        'RulesPerSecurityGroupLimitExceeded',
        'The maximum number of rules per security group has been reached.',
      )
  }

  /** AuthorizeSecurityGroupIngress/Egress: one rule per peer; a rule that exists already is refused. */
  authorize(
    g: SecurityGroup,
    isEgress: boolean,
    perms: readonly IpPermissionInput[],
    tags: Tag[],
  ): SecurityGroupRule[] {
    const specs = this.specsOf(g, perms)
    const validTags = this.tags.validate(tags)
    const have = new Set(this.rulesOf(g.id, isEgress).map((r) => ruleKey(r)))
    const rules: SecurityGroupRule[] = []
    for (const s of specs) {
      const key = ruleKey({ ...s, isEgress })
      if (have.has(key))
        throw new ApiError(
          'InvalidPermission.Duplicate',
          `the specified rule "${describeRule(s)}" already exists`,
        )
      have.add(key)
      rules.push(
        this.newRule(
          g.id,
          isEgress,
          s,
          validTags.map((t) => ({ ...t })),
        ),
      )
    }
    this.checkQuota(g, isEgress, rules)
    this.l.commit(rules)
    return rules
  }

  /**
   * RevokeSecurityGroupIngress/Egress by permission: the matching rules go; those that match no
   * rule are answered as unknown. When none matches, `InvalidPermission.NotFound`.
   */
  revoke(
    g: SecurityGroup,
    isEgress: boolean,
    perms: readonly IpPermissionInput[],
  ): { revoked: SecurityGroupRule[]; unknown: RuleSpec[] } {
    const specs = this.specsOf(g, perms)
    const byKey = new Map(this.rulesOf(g.id, isEgress).map((r) => [ruleKey(r), r]))
    const revoked: SecurityGroupRule[] = []
    const unknown: RuleSpec[] = []
    for (const s of specs) {
      const r = byKey.get(ruleKey({ ...s, isEgress }))
      if (r === undefined) unknown.push(s)
      else if (!revoked.includes(r)) revoked.push(r)
    }
    if (revoked.length === 0)
      throw new ApiError(
        'InvalidPermission.NotFound',
        'The specified rule does not exist in this security group.',
      )
    this.l.commit([], revoked)
    return { revoked, unknown }
  }

  /** RevokeSecurityGroupIngress/Egress by rule ids (each must be a rule of this group and direction). */
  revokeIds(g: SecurityGroup, isEgress: boolean, ids: readonly string[]): SecurityGroupRule[] {
    if (ids.length > PERMISSIONS_MAX) throw invalidValue(`A request names at most ${PERMISSIONS_MAX} rules.`)
    const rules = ids.map((id) => this.ruleOf(g, id))
    for (const r of rules) {
      if (r.isEgress !== isEgress)
        throw new ApiError(
          'InvalidSecurityGroupRuleId.NotFound',
          `The security group rule ID '${r.id}' is not an ${isEgress ? 'egress' : 'ingress'} rule of '${g.id}'`,
        )
    }
    this.l.commit([], [...new Set(rules)])
    return rules
  }

  private ruleOf(g: SecurityGroup, id: string): SecurityGroupRule {
    const r = this.l.lookup('security-group-rule', id)
    if (r.groupId !== g.id)
      throw new ApiError(
        'InvalidSecurityGroupRuleId.NotFound',
        `The security group rule ID '${id}' does not exist in '${g.id}'`,
      )
    return r
  }

  /** ModifySecurityGroupRules: each named rule of the group replaced by its new definition (same id). */
  modifyRules(g: SecurityGroup, updates: readonly { ruleId: string; rule: RuleRequestInput }[]): void {
    if (updates.length > PERMISSIONS_MAX)
      throw invalidValue(`A request names at most ${PERMISSIONS_MAX} rules.`)
    const changed = new Map<string, SecurityGroupRule>()
    for (const u of updates) {
      const old = this.ruleOf(g, u.ruleId)
      const r = u.rule
      const s = this.spec(g, r, {
        cidrIp: r.cidrIpv4,
        cidrIpv6: r.cidrIpv6,
        prefixListId: r.prefixListId,
        groupId: r.referencedGroupId,
        description: r.description,
      })
      const next: SecurityGroupRule = {
        ...this.newRule(g.id, old.isEgress, s, old.tags),
        id: old.id,
        seq: old.seq,
      }
      changed.set(old.id, next)
    }
    const keys = new Set<string>()
    const after: SecurityGroupRule[] = []
    for (const r of this.rulesOf(g.id)) {
      const now = changed.get(r.id) ?? r
      after.push(now)
      const k = ruleKey(now)
      if (keys.has(k))
        throw new ApiError(
          'InvalidPermission.Duplicate',
          `the specified rule "${describeRule(now)}" already exists`,
        )
      keys.add(k)
    }
    // A rule turned into a rule by prefix list may break the quota (each direction on its own).
    for (const isEgress of [false, true])
      this.checkQuota(
        g,
        isEgress,
        [],
        after.filter((r) => r.isEgress === isEgress),
      )
    this.l.commit([...changed.values()])
  }

  /** UpdateSecurityGroupRuleDescriptionsIngress/Egress, by permission or by rule id. */
  updateDescriptions(
    g: SecurityGroup,
    isEgress: boolean,
    perms: readonly IpPermissionInput[],
    byId: readonly { ruleId: string; description: string | undefined }[],
  ): void {
    const put = new Map<string, SecurityGroupRule>()
    const set = (r: SecurityGroupRule, d: string | undefined): void => {
      checkRuleDescription(d)
      const next = { ...(put.get(r.id) ?? r) }
      if (d === undefined || d === '') delete next.description
      else next.description = d
      put.set(r.id, next)
    }
    const byKey = new Map(this.rulesOf(g.id, isEgress).map((r) => [ruleKey(r), r]))
    for (const s of this.specsOf(g, perms)) {
      const r = byKey.get(ruleKey({ ...s, isEgress }))
      if (r === undefined)
        throw new ApiError(
          'InvalidPermission.NotFound',
          'The specified rule does not exist in this security group.',
        )
      set(r, s.description)
    }
    if (byId.length > PERMISSIONS_MAX) throw invalidValue(`A request names at most ${PERMISSIONS_MAX} rules.`)
    for (const u of byId) {
      const r = this.ruleOf(g, u.ruleId)
      if (r.isEgress !== isEgress)
        throw new ApiError(
          'InvalidSecurityGroupRuleId.NotFound',
          `The security group rule ID '${r.id}' is not in this direction`,
        )
      set(r, u.description)
    }
    if (put.size === 0)
      throw new ApiError(
        'MissingParameter',
        'The request must contain the parameter IpPermissions or SecurityGroupRuleDescriptions',
      )
    this.l.commit([...put.values()])
  }

  /** Every rule's protocol as a number (the enforcement's view). */
  static protocolOf(r: SecurityGroupRule): number {
    return protocolOfName(r.ipProtocol)
  }
}
