// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 security-group actions: CreateSecurityGroup, DeleteSecurityGroup, DescribeSecurityGroups,
 * DescribeSecurityGroupRules, Authorize/RevokeSecurityGroupIngress/Egress,
 * ModifySecurityGroupRules, UpdateSecurityGroupRuleDescriptionsIngress/Egress, with their Describe
 * filter tables. Permissions arrive as `IpPermissions.N` (with `IpRanges`, `Ipv6Ranges`,
 * `PrefixListIds`, `Groups`) or, the older way, as top-level `IpProtocol`/`FromPort`/`ToPort`/
 * `CidrIp`/`SourceSecurityGroupName`.
 * @module
 */
import {
  ApiError,
  type ControlPlane,
  type IpPermissionInput,
  type PeerInput,
  type SecurityGroup,
  type SecurityGroupRule,
} from '../../../control/index.ts'
import type { FilterField } from '../../protocols/ec2-query/describe.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { L, toXml, type Node } from '../../protocols/ec2-query/xml.ts'
import { describe, readTagSpecs, type ActionContext, type Handler } from './context.ts'
import { tagSet } from './shapes.ts'

/** Reads `IpPermissions.N` and the older top-level form into permissions. */
export function readPermissions(p: Params): IpPermissionInput[] {
  const perms: IpPermissionInput[] = p.structs('IpPermissions').map((s) => {
    const peers: PeerInput[] = [
      ...s.structs('IpRanges').map((r) => {
        const v = { cidrIp: r.str('CidrIp'), description: r.str('Description') }
        r.done()
        return v
      }),
      ...s.structs('Ipv6Ranges').map((r) => {
        const v = { cidrIpv6: r.str('CidrIpv6'), description: r.str('Description') }
        r.done()
        return v
      }),
      ...s.structs('PrefixListIds').map((r) => {
        const v = { prefixListId: r.str('PrefixListId'), description: r.str('Description') }
        r.done()
        return v
      }),
      ...s.structs('Groups').map((r) => {
        const v = {
          groupId: r.str('GroupId'),
          groupName: r.str('GroupName'),
          userId: r.str('UserId'),
          description: r.str('Description'),
          vpcId: r.str('VpcId'),
          vpcPeeringConnectionId: r.str('VpcPeeringConnectionId'),
          peeringStatus: r.str('PeeringStatus'),
        }
        r.done()
        return {
          groupId: v.groupId,
          groupName: v.groupName,
          userId: v.userId,
          description: v.description,
        }
      }),
    ]
    const perm = {
      ipProtocol: s.str('IpProtocol'),
      fromPort: s.int('FromPort'),
      toPort: s.int('ToPort'),
      peers,
    }
    s.done()
    return perm
  })
  const legacy = {
    ipProtocol: p.str('IpProtocol'),
    fromPort: p.int('FromPort'),
    toPort: p.int('ToPort'),
    cidrIp: p.str('CidrIp'),
    groupName: p.str('SourceSecurityGroupName'),
    userId: p.str('SourceSecurityGroupOwnerId'),
  }
  if (Object.values(legacy).some((v) => v !== undefined)) {
    if (perms.length > 0)
      throw new ApiError(
        'InvalidParameterCombination',
        'The parameter IpPermissions cannot be used with IpProtocol, FromPort, ToPort, CidrIp or SourceSecurityGroupName.',
      )
    const peer: PeerInput =
      legacy.cidrIp !== undefined
        ? { cidrIp: legacy.cidrIp }
        : legacy.groupName?.startsWith('sg-') === true
          ? { groupId: legacy.groupName, userId: legacy.userId }
          : { groupName: legacy.groupName, userId: legacy.userId }
    perms.push({
      // A source group without a protocol allows every protocol (the older API's meaning).
      ipProtocol: legacy.ipProtocol ?? (legacy.cidrIp === undefined ? '-1' : undefined),
      fromPort: legacy.fromPort,
      toPort: legacy.toPort,
      peers: legacy.cidrIp === undefined && legacy.groupName === undefined ? [] : [peer],
    })
  }
  return perms
}

/** The group a request names (`GroupId`, or `GroupName`, which needs a default VPC). */
function targetGroup(ctx: ActionContext, id: string | undefined, name: string | undefined): SecurityGroup {
  if (id === undefined && name === undefined)
    throw new ApiError('MissingParameter', 'The request must contain the parameter groupId')
  return ctx.cp.ec2.securityGroups.resolve(id, name)
}

function ruleArn(cp: ControlPlane, r: SecurityGroupRule): string {
  return `arn:aws:ec2:${cp.region}:${cp.accountId}:security-group-rule/${r.id}`
}

/** What a rule matches, as both `SecurityGroupRule` and `RevokedSecurityGroupRule` spell it. */
function ruleMatchShape(r: SecurityGroupRule): Node[] {
  return [
    ['ipProtocol', 'IpProtocol', r.ipProtocol],
    ['fromPort', 'FromPort', r.fromPort],
    ['toPort', 'ToPort', r.toPort],
    ['cidrIpv4', 'CidrIpv4', r.cidrIpv4],
    ['cidrIpv6', 'CidrIpv6', r.cidrIpv6],
    ['prefixListId', 'PrefixListId', r.prefixListId],
  ]
}

export function securityGroupRuleShape(cp: ControlPlane, r: SecurityGroupRule): Node[] {
  return [
    ['securityGroupRuleId', 'SecurityGroupRuleId', r.id],
    ['groupId', 'GroupId', r.groupId],
    ['groupOwnerId', 'GroupOwnerId', cp.accountId],
    ['isEgress', 'IsEgress', r.isEgress],
    ...ruleMatchShape(r),
    [
      'referencedGroupInfo',
      'ReferencedGroupInfo',
      r.referencedGroupId === undefined
        ? undefined
        : [
            ['groupId', 'GroupId', r.referencedGroupId],
            ['userId', 'UserId', cp.accountId],
          ],
    ],
    ['description', 'Description', r.description],
    tagSet(r.tags),
    ['securityGroupRuleArn', 'SecurityGroupRuleArn', ruleArn(cp, r)],
  ]
}

/** Rules of one direction grouped into `IpPermission`s: one per (protocol, from, to), in rule order. */
function ipPermissions(cp: ControlPlane, rules: readonly SecurityGroupRule[]): Node[][] {
  const byKey = new Map<string, SecurityGroupRule[]>()
  for (const r of rules) {
    const k = `${r.ipProtocol}|${r.fromPort}|${r.toPort}`
    let list = byKey.get(k)
    if (list === undefined) byKey.set(k, (list = []))
    list.push(r)
  }
  return [...byKey.values()].map((rs) => {
    const r0 = rs[0]!
    /** The rules of this permission that have `field`, each as that value and its description. */
    const ranges = (field: 'cidrIpv4' | 'cidrIpv6' | 'prefixListId', query: string, xml: string) =>
      L(
        rs
          .filter((r) => r[field] !== undefined)
          .map((r): Node[] => [
            [query, xml, r[field]],
            ['description', 'Description', r.description],
          ]),
      )
    const ports =
      r0.ipProtocol !== '-1' && (r0.fromPort !== -1 || r0.ipProtocol === 'icmp' || r0.ipProtocol === 'icmpv6')
    return [
      ['ipProtocol', 'IpProtocol', r0.ipProtocol],
      ['fromPort', 'FromPort', ports ? r0.fromPort : undefined],
      ['toPort', 'ToPort', ports ? r0.toPort : undefined],
      [
        'groups',
        'UserIdGroupPairs',
        L(
          rs
            .filter((r) => r.referencedGroupId !== undefined)
            .map((r): Node[] => [
              ['description', 'Description', r.description],
              ['userId', 'UserId', cp.accountId],
              ['groupId', 'GroupId', r.referencedGroupId],
            ]),
        ),
      ],
      ['ipRanges', 'IpRanges', ranges('cidrIpv4', 'cidrIp', 'CidrIp')],
      ['ipv6Ranges', 'Ipv6Ranges', ranges('cidrIpv6', 'cidrIpv6', 'CidrIpv6')],
      ['prefixListIds', 'PrefixListIds', ranges('prefixListId', 'prefixListId', 'PrefixListId')],
    ]
  })
}

export function securityGroupShape(cp: ControlPlane, g: SecurityGroup): Node[] {
  const sg = cp.ec2.securityGroups
  return [
    ['ownerId', 'OwnerId', cp.accountId],
    ['groupId', 'GroupId', g.id],
    ['groupName', 'GroupName', g.groupName],
    ['groupDescription', 'Description', g.description],
    ['vpcId', 'VpcId', g.vpcId],
    ['ipPermissions', 'IpPermissions', L(ipPermissions(cp, sg.rulesOf(g.id, false)))],
    ['ipPermissionsEgress', 'IpPermissionsEgress', L(ipPermissions(cp, sg.rulesOf(g.id, true)))],
    tagSet(g.tags),
    [
      'securityGroupArn',
      'SecurityGroupArn',
      `arn:aws:ec2:${cp.region}:${cp.accountId}:security-group/${g.id}`,
    ],
  ]
}

const createSecurityGroup: Handler = (ctx) => {
  const p = ctx.p
  const groupName = p.str('GroupName', true)
  const description = p.str('GroupDescription', true)
  const vpcId = p.str('VpcId')
  const tags = readTagSpecs(p, 'security-group')
  ctx.ready()
  const { group } = ctx.cp.ec2.securityGroups.createGroup({ groupName, description, vpcId }, tags, (id) =>
    ctx.cp.ec2.vpcs.vpc(id),
  )
  return toXml([
    ['return', 'Return', true],
    ['groupId', 'GroupId', group.id],
    tagSet(group.tags),
    [
      'securityGroupArn',
      'SecurityGroupArn',
      `arn:aws:ec2:${ctx.cp.region}:${ctx.cp.accountId}:security-group/${group.id}`,
    ],
  ])
}

const deleteSecurityGroup: Handler = (ctx) => {
  const id = ctx.p.str('GroupId')
  const name = ctx.p.str('GroupName')
  ctx.ready()
  const g = targetGroup(ctx, id, name)
  ctx.cp.ec2.securityGroups.deleteGroup(g, (gid) => ctx.cp.ec2.interfaces.inUse(gid))
  return toXml([
    ['return', 'Return', true],
    ['groupId', 'GroupId', g.id],
  ])
}

function authorize(isEgress: boolean): Handler {
  return (ctx) => {
    const p = ctx.p
    const id = isEgress ? p.str('GroupId', true) : p.str('GroupId')
    const name = isEgress ? undefined : p.str('GroupName')
    const perms = readPermissions(p)
    const tags = readTagSpecs(p, 'security-group-rule')
    ctx.ready()
    const g = targetGroup(ctx, id, name)
    if (perms.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter IpPermissions')
    const rules = ctx.cp.ec2.securityGroups.authorize(g, isEgress, perms, tags)
    return toXml([
      ['return', 'Return', true],
      ['securityGroupRuleSet', 'SecurityGroupRules', L(rules.map((r) => securityGroupRuleShape(ctx.cp, r)))],
    ])
  }
}

function revoke(isEgress: boolean): Handler {
  return (ctx) => {
    const p = ctx.p
    const id = isEgress ? p.str('GroupId', true) : p.str('GroupId')
    const name = isEgress ? undefined : p.str('GroupName')
    const perms = readPermissions(p)
    const ruleIds = p.list('SecurityGroupRuleId')
    ctx.ready()
    const g = targetGroup(ctx, id, name)
    const sg = ctx.cp.ec2.securityGroups
    if (ruleIds.length > 0 && perms.length > 0)
      throw new ApiError(
        'InvalidParameterCombination',
        'The parameter SecurityGroupRuleIds cannot be used with IpPermissions.',
      )
    if (ruleIds.length > 0) {
      const rules = sg.revokeIds(g, isEgress, ruleIds)
      return toXml([
        ['return', 'Return', true],
        ['revokedSecurityGroupRuleSet', 'RevokedSecurityGroupRules', L(rules.map((r) => revokedShape(r)))],
      ])
    }
    if (perms.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter IpPermissions')
    const { revoked, unknown } = sg.revoke(g, isEgress, perms)
    const unknownRules = unknown.map((s): SecurityGroupRule => ({
      ...s,
      kind: 'security-group-rule',
      id: '',
      seq: 0,
      groupId: g.id,
      isEgress,
      tags: [],
    }))
    return toXml([
      ['return', 'Return', true],
      ['unknownIpPermissionSet', 'UnknownIpPermissions', L(ipPermissions(ctx.cp, unknownRules))],
      ['revokedSecurityGroupRuleSet', 'RevokedSecurityGroupRules', L(revoked.map((r) => revokedShape(r)))],
    ])
  }
}

function revokedShape(r: SecurityGroupRule): Node[] {
  return [
    ['securityGroupRuleId', 'SecurityGroupRuleId', r.id],
    ['groupId', 'GroupId', r.groupId],
    ['isEgress', 'IsEgress', r.isEgress],
    ...ruleMatchShape(r),
    ['referencedSecurityGroupId', 'ReferencedSecurityGroupId', r.referencedGroupId],
    ['description', 'Description', r.description],
  ]
}

const modifySecurityGroupRules: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('GroupId', true)
  const updates = p.structs('SecurityGroupRule').map((s) => {
    const ruleId = s.str('SecurityGroupRuleId', true)
    const r = s.struct('SecurityGroupRule')
    const rule =
      r === undefined
        ? {}
        : {
            ipProtocol: r.str('IpProtocol'),
            fromPort: r.int('FromPort'),
            toPort: r.int('ToPort'),
            cidrIpv4: r.str('CidrIpv4'),
            cidrIpv6: r.str('CidrIpv6'),
            prefixListId: r.str('PrefixListId'),
            referencedGroupId: r.str('ReferencedGroupId'),
            description: r.str('Description'),
          }
    r?.done()
    s.done()
    if (r === undefined)
      throw new ApiError('MissingParameter', 'The request must contain the parameter SecurityGroupRule')
    return { ruleId, rule }
  })
  ctx.ready()
  const g = ctx.cp.ec2.securityGroups.group(id)
  if (updates.length === 0)
    throw new ApiError('MissingParameter', 'The request must contain the parameter SecurityGroupRules')
  ctx.cp.ec2.securityGroups.modifyRules(g, updates)
  return toXml([['return', 'Return', true]])
}

function updateDescriptions(isEgress: boolean): Handler {
  return (ctx) => {
    const p = ctx.p
    const id = p.str('GroupId')
    const name = p.str('GroupName')
    const perms = readPermissions(p)
    const byId = p.structs('SecurityGroupRuleDescription').map((s) => {
      const v = { ruleId: s.str('SecurityGroupRuleId', true), description: s.str('Description') }
      s.done()
      return v
    })
    ctx.ready()
    const g = targetGroup(ctx, id, name)
    ctx.cp.ec2.securityGroups.updateDescriptions(g, isEgress, perms, byId)
    return toXml([['return', 'Return', true]])
  }
}

export function securityGroupFields(cp: ControlPlane): Record<string, FilterField<SecurityGroup>> {
  const sg = cp.ec2.securityGroups
  const perm =
    (isEgress: boolean, get: (r: SecurityGroupRule) => string | number | undefined) => (g: SecurityGroup) =>
      sg
        .rulesOf(g.id, isEgress)
        .map(get)
        .filter((v): v is string | number => v !== undefined)
  const groupName = (r: SecurityGroupRule): string | undefined =>
    r.referencedGroupId === undefined
      ? undefined
      : cp.state.get('security-group', r.referencedGroupId)?.groupName
  const fields: Record<string, FilterField<SecurityGroup>> = {
    description: (g) => g.description,
    'group-id': (g) => g.id,
    'group-name': (g) => g.groupName,
    'owner-id': () => cp.accountId,
    'vpc-id': (g) => g.vpcId,
  }
  for (const [prefix, isEgress] of [
    ['ip-permission', false],
    ['egress.ip-permission', true],
  ] as const) {
    fields[`${prefix}.cidr`] = perm(isEgress, (r) => r.cidrIpv4)
    fields[`${prefix}.ipv6-cidr`] = perm(isEgress, (r) => r.cidrIpv6)
    fields[`${prefix}.from-port`] = perm(isEgress, (r) => r.fromPort)
    fields[`${prefix}.to-port`] = perm(isEgress, (r) => r.toPort)
    fields[`${prefix}.group-id`] = perm(isEgress, (r) => r.referencedGroupId)
    fields[`${prefix}.group-name`] = perm(isEgress, groupName)
    fields[`${prefix}.prefix-list-id`] = perm(isEgress, (r) => r.prefixListId)
    fields[`${prefix}.protocol`] = perm(isEgress, (r) => r.ipProtocol)
    fields[`${prefix}.user-id`] = perm(isEgress, (r) =>
      r.referencedGroupId === undefined ? undefined : cp.accountId,
    )
  }
  return fields
}

const describeSecurityGroups: Handler = (ctx) => {
  let names: string[] = []
  return describe(ctx, {
    idParam: 'GroupId',
    all: () => {
      // Names need the default VPC, which mirrorflow does not have.
      if (names.length > 0)
        throw new ApiError(
          'VPCIdNotSpecified',
          'No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.',
        )
      return ctx.cp.state.table('security-group').values()
    },
    lookup: (id) => ctx.cp.ec2.securityGroups.group(id),
    fields: securityGroupFields(ctx.cp),
    wrapper: ['securityGroupInfo', 'SecurityGroups'],
    shape: (g) => securityGroupShape(ctx.cp, g),
    extra: (p) => {
      names = p.list('GroupName')
      return () => true
    },
  })
}

export function securityGroupRuleFields(): Record<string, FilterField<SecurityGroupRule>> {
  return {
    'group-id': (r) => r.groupId,
    'security-group-rule-id': (r) => r.id,
  }
}

const describeSecurityGroupRules: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'SecurityGroupRuleId',
    all: () => ctx.cp.state.table('security-group-rule').values(),
    lookup: (id) => ctx.cp.ledger.lookup('security-group-rule', id),
    fields: securityGroupRuleFields(),
    wrapper: ['securityGroupRuleSet', 'SecurityGroupRules'],
    shape: (r) => securityGroupRuleShape(ctx.cp, r),
  })

/** The security-group actions. */
export const SECURITY_GROUP_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['CreateSecurityGroup', createSecurityGroup],
  ['DeleteSecurityGroup', deleteSecurityGroup],
  ['DescribeSecurityGroups', describeSecurityGroups],
  ['DescribeSecurityGroupRules', describeSecurityGroupRules],
  ['AuthorizeSecurityGroupIngress', authorize(false)],
  ['AuthorizeSecurityGroupEgress', authorize(true)],
  ['RevokeSecurityGroupIngress', revoke(false)],
  ['RevokeSecurityGroupEgress', revoke(true)],
  ['ModifySecurityGroupRules', modifySecurityGroupRules],
  ['UpdateSecurityGroupRuleDescriptionsIngress', updateDescriptions(false)],
  ['UpdateSecurityGroupRuleDescriptionsEgress', updateDescriptions(true)],
]
