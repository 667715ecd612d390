// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 network-ACL actions: CreateNetworkAcl, DeleteNetworkAcl, DescribeNetworkAcls,
 * CreateNetworkAclEntry, ReplaceNetworkAclEntry, DeleteNetworkAclEntry,
 * ReplaceNetworkAclAssociation, with the DescribeNetworkAcls filter table. Entries are listed as
 * AWS lists them: every numbered entry, then the closing `*` entries (rule 32767), per direction.
 * @module
 */
import {
  ApiError,
  starEntries,
  type AssociationView,
  type ControlPlane,
  type NetworkAcl,
  type NetworkAclEntry,
  type NetworkAclEntryInput,
  type Subnet,
} from '../../../control/index.ts'
import type { FilterField } from '../../protocols/ec2-query/describe.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { L, toXml, type Node } from '../../protocols/ec2-query/xml.ts'
import { describe, readTagSpecs, type Handler } from './context.ts'
import { tagSet } from './shapes.ts'

function subnetsOf(cp: ControlPlane, vpcId: string): Subnet[] {
  return [...cp.ec2.index.subnetsByVpc.get(vpcId)]
    .map((id) => cp.state.get('subnet', id)!)
    .sort((a, b) => a.seq - b.seq)
}

/** Every entry as listed: numbered entries, then the `*` entries; egress and ingress. */
function listedEntries(acl: NetworkAcl): NetworkAclEntry[] {
  const out: NetworkAclEntry[] = []
  for (const egress of [true, false]) {
    out.push(...acl.entries.filter((e) => e.egress === egress).sort((a, b) => a.ruleNumber - b.ruleNumber))
    out.push(...starEntries(egress))
  }
  return out
}

function associations(cp: ControlPlane, acl: NetworkAcl): AssociationView[] {
  return cp.ec2.networkAcls.associationsOf(acl, () => subnetsOf(cp, acl.vpcId))
}

function entryShape(e: NetworkAclEntry): Node[] {
  return [
    ['ruleNumber', 'RuleNumber', e.ruleNumber],
    ['protocol', 'Protocol', e.protocol],
    ['ruleAction', 'RuleAction', e.ruleAction],
    ['egress', 'Egress', e.egress],
    ['cidrBlock', 'CidrBlock', e.cidrBlock],
    ['ipv6CidrBlock', 'Ipv6CidrBlock', e.ipv6CidrBlock],
    [
      'icmpTypeCode',
      'IcmpTypeCode',
      e.icmpTypeCode === undefined
        ? undefined
        : [
            ['code', 'Code', e.icmpTypeCode.code],
            ['type', 'Type', e.icmpTypeCode.type],
          ],
    ],
    [
      'portRange',
      'PortRange',
      e.portRange === undefined
        ? undefined
        : [
            ['from', 'From', e.portRange.from],
            ['to', 'To', e.portRange.to],
          ],
    ],
  ]
}

export function networkAclShape(cp: ControlPlane, acl: NetworkAcl): Node[] {
  return [
    ['networkAclId', 'NetworkAclId', acl.id],
    ['vpcId', 'VpcId', acl.vpcId],
    ['default', 'IsDefault', acl.isDefault],
    ['entrySet', 'Entries', L(listedEntries(acl).map(entryShape))],
    [
      'associationSet',
      'Associations',
      L(
        associations(cp, acl).map((a): Node[] => [
          ['networkAclAssociationId', 'NetworkAclAssociationId', a.networkAclAssociationId],
          ['networkAclId', 'NetworkAclId', a.networkAclId],
          ['subnetId', 'SubnetId', a.subnetId],
        ]),
      ),
    ],
    tagSet(acl.tags),
    ['ownerId', 'OwnerId', cp.accountId],
  ]
}

const createNetworkAcl: Handler = (ctx) => {
  const p = ctx.p
  const vpcId = p.str('VpcId', true)
  const tags = readTagSpecs(p, 'network-acl')
  const token = p.str('ClientToken')
  ctx.ready()
  const vpc = ctx.cp.ec2.vpcs.vpc(vpcId)
  const acl = ctx.cp.ec2.networkAcls.createAcl(vpc, tags, ctx.idem())
  return toXml([
    ['networkAcl', 'NetworkAcl', networkAclShape(ctx.cp, acl)],
    ['clientToken', 'ClientToken', token],
  ])
}

const deleteNetworkAcl: Handler = (ctx) => {
  const id = ctx.p.str('NetworkAclId', true)
  ctx.ready()
  ctx.cp.ec2.networkAcls.deleteAcl(ctx.cp.ec2.networkAcls.acl(id))
  return toXml([['return', 'Return', true]])
}

function readEntry(p: Params): NetworkAclEntryInput {
  const egress = p.bool('Egress')
  if (egress === undefined)
    throw new ApiError('MissingParameter', 'The request must contain the parameter egress')
  const port = p.struct('PortRange')
  const icmp = p.struct('Icmp')
  const e: NetworkAclEntryInput = {
    ruleNumber: p.int('RuleNumber', true),
    egress,
    ruleAction: p.str('RuleAction', true),
    protocol: p.str('Protocol', true),
    cidrBlock: p.str('CidrBlock'),
    ipv6CidrBlock: p.str('Ipv6CidrBlock'),
    portRange: port === undefined ? undefined : { from: port.int('From'), to: port.int('To') },
    icmpTypeCode: icmp === undefined ? undefined : { type: icmp.int('Type'), code: icmp.int('Code') },
  }
  port?.done()
  icmp?.done()
  return e
}

function entryAction(run: (cp: ControlPlane, acl: NetworkAcl, e: NetworkAclEntryInput) => void): Handler {
  return (ctx) => {
    const id = ctx.p.str('NetworkAclId', true)
    const e = readEntry(ctx.p)
    ctx.ready()
    run(ctx.cp, ctx.cp.ec2.networkAcls.acl(id), e)
    return toXml([['return', 'Return', true]])
  }
}

const deleteNetworkAclEntry: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('NetworkAclId', true)
  const ruleNumber = p.int('RuleNumber', true)
  const egress = p.bool('Egress')
  ctx.ready()
  if (egress === undefined)
    throw new ApiError('MissingParameter', 'The request must contain the parameter egress')
  ctx.cp.ec2.networkAcls.deleteEntry(ctx.cp.ec2.networkAcls.acl(id), ruleNumber, egress)
  return toXml([['return', 'Return', true]])
}

const replaceNetworkAclAssociation: Handler = (ctx) => {
  const p = ctx.p
  const associationId = p.str('AssociationId', true)
  const aclId = p.str('NetworkAclId', true)
  ctx.ready()
  const acl = ctx.cp.ec2.networkAcls.acl(aclId)
  const id = ctx.cp.ec2.networkAcls.replaceAssociation(
    associationId,
    acl,
    ctx.cp.state.table('subnet').values(),
  )
  return toXml([['newAssociationId', 'NewAssociationId', id]])
}

export function networkAclFields(cp: ControlPlane): Record<string, FilterField<NetworkAcl>> {
  const entries = (get: (e: NetworkAclEntry) => string | number | boolean | undefined) => (acl: NetworkAcl) =>
    listedEntries(acl)
      .map(get)
      .filter((v): v is string | number | boolean => v !== undefined)
      .map((v) => (typeof v === 'boolean' ? String(v) : v))
  return {
    'association.association-id': (a) => associations(cp, a).map((x) => x.networkAclAssociationId),
    'association.network-acl-id': (a) => associations(cp, a).map((x) => x.networkAclId),
    'association.subnet-id': (a) => associations(cp, a).map((x) => x.subnetId),
    default: (a) => a.isDefault,
    'entry.cidr': entries((e) => e.cidrBlock),
    'entry.icmp.code': entries((e) => e.icmpTypeCode?.code),
    'entry.icmp.type': entries((e) => e.icmpTypeCode?.type),
    'entry.ipv6-cidr': entries((e) => e.ipv6CidrBlock),
    'entry.port-range.from': entries((e) => e.portRange?.from),
    'entry.port-range.to': entries((e) => e.portRange?.to),
    'entry.protocol': entries((e) => e.protocol),
    'entry.rule-action': entries((e) => e.ruleAction),
    'entry.egress': entries((e) => e.egress),
    'entry.rule-number': entries((e) => e.ruleNumber),
    'network-acl-id': (a) => a.id,
    'owner-id': () => cp.accountId,
    'vpc-id': (a) => a.vpcId,
  }
}

const describeNetworkAcls: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'NetworkAclId',
    all: () => ctx.cp.state.table('network-acl').values(),
    lookup: (id) => ctx.cp.ec2.networkAcls.acl(id),
    fields: networkAclFields(ctx.cp),
    wrapper: ['networkAclSet', 'NetworkAcls'],
    shape: (a) => networkAclShape(ctx.cp, a),
  })

/** The network-ACL actions. */
export const NETWORK_ACL_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['CreateNetworkAcl', createNetworkAcl],
  ['DeleteNetworkAcl', deleteNetworkAcl],
  ['DescribeNetworkAcls', describeNetworkAcls],
  ['CreateNetworkAclEntry', entryAction((cp, acl, e) => cp.ec2.networkAcls.createEntry(acl, e))],
  ['ReplaceNetworkAclEntry', entryAction((cp, acl, e) => cp.ec2.networkAcls.replaceEntry(acl, e))],
  ['DeleteNetworkAclEntry', deleteNetworkAclEntry],
  ['ReplaceNetworkAclAssociation', replaceNetworkAclAssociation],
]
