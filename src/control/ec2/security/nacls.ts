// SPDX-License-Identifier: Apache-2.0
/**
 * Network ACLs: CreateNetworkAcl/DeleteNetworkAcl, the numbered entries (Create, Replace, Delete)
 * and ReplaceNetworkAclAssociation, with AWS's rules — a default ACL per VPC (allow everything in
 * rule 100 each way) associated with every subnet not explicitly associated with another ACL, the
 * closing `*` entry (rule 32767, deny everything) implicit in every ACL, one entry per rule number
 * and direction, the entry quota per direction.
 *
 * A subnet's association with its VPC's default ACL needs no record: its id is derived from the
 * subnet's id, so that every subnet (those made before ACLs existed too) has one. Replacing it (or
 * any association) stores an explicit association with a fresh id.
 * @module
 */
import { createHash } from 'node:crypto'
import { ApiError, invalidValue } from '../../core/errors.ts'
import { newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Resource, Tag } from '../../core/model.ts'
import type { Index } from '../../core/state.ts'
import type { NetworkAcl, NetworkAclAssociation, NetworkAclEntry, Subnet, Vpc } from '../model.ts'
import type { Quotas } from '../limits.ts'
import type { Tags } from '../tags.ts'
import { hasPorts, isIcmp, protocolNumber, ruleCidr } from './protocol.ts'

/** The closing `*` entry's rule number. */
export const STAR_RULE_NUMBER = 32767
/** The highest rule number a user may give. */
export const RULE_NUMBER_MAX = 32766

/** An entry as CreateNetworkAclEntry / ReplaceNetworkAclEntry give it. */
export interface NetworkAclEntryInput {
  ruleNumber: number
  egress: boolean
  ruleAction: string
  protocol: string
  cidrBlock?: string | undefined
  ipv6CidrBlock?: string | undefined
  portRange?: { from?: number | undefined; to?: number | undefined } | undefined
  icmpTypeCode?: { type?: number | undefined; code?: number | undefined } | undefined
}

/** An association as DescribeNetworkAcls lists it. */
export interface AssociationView {
  networkAclAssociationId: string
  networkAclId: string
  subnetId: string
}

function hashId(prefix: string, seed: string): string {
  return `${prefix}-${createHash('sha256').update(seed).digest('hex').slice(0, 17)}`
}

/** The deterministic id of a VPC's default ACL. */
export function defaultAclIdOf(vpcId: string): string {
  return hashId('acl', `default-acl|${vpcId}`)
}

/** The id of a subnet's implicit association with its VPC's default ACL. */
export function implicitAssociationIdOf(subnetId: string): string {
  return hashId('aclassoc', `default-assoc|${subnetId}`)
}

/** The `*` entries closing every ACL (IPv4 and IPv6, each direction). */
export function starEntries(egress: boolean): NetworkAclEntry[] {
  return [
    { ruleNumber: STAR_RULE_NUMBER, egress, ruleAction: 'deny', protocol: '-1', cidrBlock: '0.0.0.0/0' },
    { ruleNumber: STAR_RULE_NUMBER, egress, ruleAction: 'deny', protocol: '-1', ipv6CidrBlock: '::/0' },
  ]
}

export class NetworkAcls {
  private readonly l: Ledger
  private readonly q: Quotas
  private readonly tags: Tags
  readonly aclsByVpc: Index<NetworkAcl>
  readonly associationsBySubnet: Index<NetworkAclAssociation>
  readonly associationsByAcl: Index<NetworkAclAssociation>

  constructor(l: Ledger, q: Quotas, tags: Tags) {
    this.l = l
    this.q = q
    this.tags = tags
    l.defineKind('network-acl', {
      prefix: 'acl',
      notFound: 'InvalidNetworkAclID.NotFound',
      notFoundMessage: (id) => `The networkAcl ID '${id}' does not exist`,
      resourceType: 'network-acl',
    })
    l.defineKind('network-acl-association', {
      prefix: 'aclassoc',
      notFound: 'InvalidAssociationID.NotFound',
      notFoundMessage: (id) => `The association ID '${id}' does not exist`,
    })
    this.aclsByVpc = l.state.index('network-acl', (a) => a.vpcId)
    this.associationsBySubnet = l.state.index('network-acl-association', (a) => a.subnetId)
    this.associationsByAcl = l.state.index('network-acl-association', (a) => a.networkAclId)
    // A VPC goes only without ACLs of its own; its default ACL goes with it.
    l.onDelete('vpc', (vpc) => {
      const out: Resource[] = []
      for (const id of this.aclsByVpc.get(vpc.id)) {
        const a = l.state.get('network-acl', id)!
        if (!a.isDefault)
          throw new ApiError(
            'DependencyViolation',
            `The vpc '${vpc.id}' has dependencies and cannot be deleted.`,
          )
        out.push(a)
      }
      return out
    })
    // A subnet's explicit association goes with it.
    l.onDelete('subnet', (s) =>
      [...this.associationsBySubnet.get(s.id)].map((id) => l.state.get('network-acl-association', id)!),
    )
  }

  acl(id: string): NetworkAcl {
    return this.l.lookup('network-acl', id)
  }

  defaultAclOf(vpcId: string): NetworkAcl | undefined {
    return this.l.state.get('network-acl', defaultAclIdOf(vpcId))
  }

  /**
   * The default ACL of a VPC: allow everything each way, IPv4 in rule 100 and IPv6 in rule 101 (the
   * entries AWS gives a VPC with an IPv6 block: mirrorflow treats every VPC as dual-stack).
   */
  defaultsFor(vpc: Vpc): Resource[] {
    const acl: NetworkAcl = {
      kind: 'network-acl',
      id: defaultAclIdOf(vpc.id),
      seq: this.l.nextSeq(),
      vpcId: vpc.id,
      isDefault: true,
      entries: [
        { ruleNumber: 100, egress: false, ruleAction: 'allow', protocol: '-1', cidrBlock: '0.0.0.0/0' },
        { ruleNumber: 101, egress: false, ruleAction: 'allow', protocol: '-1', ipv6CidrBlock: '::/0' },
        { ruleNumber: 100, egress: true, ruleAction: 'allow', protocol: '-1', cidrBlock: '0.0.0.0/0' },
        { ruleNumber: 101, egress: true, ruleAction: 'allow', protocol: '-1', ipv6CidrBlock: '::/0' },
      ],
      createdAt: this.l.now(),
      tags: [],
    }
    return [acl]
  }

  /** The association of a subnet: its explicit one, else the implicit one with its VPC's default ACL. */
  associationOf(subnet: Subnet): AssociationView {
    for (const id of this.associationsBySubnet.get(subnet.id)) {
      const a = this.l.state.get('network-acl-association', id)!
      return { networkAclAssociationId: a.id, networkAclId: a.networkAclId, subnetId: subnet.id }
    }
    return {
      networkAclAssociationId: implicitAssociationIdOf(subnet.id),
      networkAclId: defaultAclIdOf(subnet.vpcId),
      subnetId: subnet.id,
    }
  }

  /** The ACL a subnet's traffic passes. */
  aclOfSubnet(subnet: Subnet): NetworkAcl | undefined {
    return this.l.state.get('network-acl', this.associationOf(subnet).networkAclId)
  }

  /** The associations of an ACL (explicit ones, plus the implicit ones of a default ACL), by subnet order. */
  associationsOf(acl: NetworkAcl, subnetsOfVpc: () => Iterable<Subnet>): AssociationView[] {
    const out: AssociationView[] = []
    if (acl.isDefault) {
      for (const s of subnetsOfVpc()) {
        const a = this.associationOf(s)
        if (a.networkAclId === acl.id) out.push(a)
      }
      return out
    }
    for (const id of this.associationsByAcl.get(acl.id)) {
      const a = this.l.state.get('network-acl-association', id)!
      out.push({ networkAclAssociationId: a.id, networkAclId: a.networkAclId, subnetId: a.subnetId })
    }
    return out
  }

  createAcl(vpc: Vpc, tags: Tag[], idem?: Idempotency): NetworkAcl {
    const validTags = this.tags.validate(tags)
    return this.l.idempotent(idem, () => {
      if (this.aclsByVpc.count(vpc.id) >= this.q.networkAclsPerVpc)
        throw new ApiError(
          'NetworkAclLimitExceeded',
          `The maximum number of network ACLs per VPC (${this.q.networkAclsPerVpc}) has been reached.`,
        )
      const acl: NetworkAcl = {
        kind: 'network-acl',
        id: newId('acl'),
        seq: this.l.nextSeq(),
        vpcId: vpc.id,
        isDefault: false,
        entries: [],
        createdAt: this.l.now(),
        tags: validTags,
      }
      this.l.remember(acl)
      this.l.commit([acl])
      return acl
    })
  }

  /** DeleteNetworkAcl: never the default ACL, not while a subnet is associated with it. */
  deleteAcl(acl: NetworkAcl): void {
    if (acl.isDefault) throw invalidValue(`cannot delete default network ACL ${acl.id}`)
    if (this.associationsByAcl.count(acl.id) > 0)
      throw new ApiError(
        'DependencyViolation',
        `The networkAcl '${acl.id}' has dependencies and cannot be deleted.`,
      )
    this.l.commit([], [acl, ...this.l.dependents(acl)])
  }

  /** Validates an entry (rule number, action, protocol, one block, ports or ICMP as the protocol needs). */
  private entry(input: NetworkAclEntryInput): NetworkAclEntry {
    const n = input.ruleNumber
    if (!Number.isInteger(n) || n < 1 || n > RULE_NUMBER_MAX)
      throw invalidValue(`Invalid value '${n}' for ruleNumber. It must be between 1 and ${RULE_NUMBER_MAX}.`)
    if (input.ruleAction !== 'allow' && input.ruleAction !== 'deny')
      throw invalidValue(
        `Invalid value '${input.ruleAction.slice(0, 64)}' for ruleAction. Valid values are allow and deny.`,
      )
    const p = protocolNumber(input.protocol, 'protocol')
    const e: NetworkAclEntry = {
      ruleNumber: n,
      egress: input.egress,
      ruleAction: input.ruleAction,
      protocol: String(p),
    }
    if ((input.cidrBlock === undefined) === (input.ipv6CidrBlock === undefined))
      throw new ApiError(
        input.cidrBlock === undefined ? 'MissingParameter' : 'InvalidParameterCombination',
        'Exactly one of CidrBlock and Ipv6CidrBlock must be specified.',
      )
    if (input.cidrBlock !== undefined) e.cidrBlock = ruleCidr(input.cidrBlock, 4, 'cidrBlock').text
    else e.ipv6CidrBlock = ruleCidr(input.ipv6CidrBlock!, 6, 'ipv6CidrBlock').text
    if (hasPorts(p)) {
      const from = input.portRange?.from
      const to = input.portRange?.to
      if (from === undefined || to === undefined)
        throw new ApiError('MissingParameter', 'TCP and UDP entries need PortRange.From and PortRange.To.')
      if (from < 0 || from > 65535 || to < 0 || to > 65535 || from > to)
        throw invalidValue(`Invalid value for portRange: from ${from} to ${to}.`)
      e.portRange = { from, to }
    } else if (isIcmp(p)) {
      const type = input.icmpTypeCode?.type
      const code = input.icmpTypeCode?.code
      if (type === undefined || code === undefined)
        throw new ApiError('MissingParameter', 'ICMP entries need Icmp.Type and Icmp.Code (-1 for any).')
      if (type < -1 || type > 255 || code < -1 || code > 255)
        throw invalidValue(`Invalid value for icmpTypeCode: type ${type}, code ${code}.`)
      e.icmpTypeCode = { type, code }
    }
    return e
  }

  createEntry(acl: NetworkAcl, input: NetworkAclEntryInput): void {
    const e = this.entry(input)
    if (acl.entries.some((x) => x.ruleNumber === e.ruleNumber && x.egress === e.egress))
      throw new ApiError(
        'NetworkAclEntryAlreadyExists',
        `The network acl entry identified by ${e.ruleNumber} already exists.`,
      )
    if (acl.entries.filter((x) => x.egress === e.egress).length >= this.q.entriesPerNetworkAcl)
      throw new ApiError(
        'NetworkAclEntryLimitExceeded',
        `The maximum number of entries per network ACL (${this.q.entriesPerNetworkAcl}) has been reached.`,
      )
    this.l.commit([{ ...acl, entries: sortEntries([...acl.entries, e]) }])
  }

  replaceEntry(acl: NetworkAcl, input: NetworkAclEntryInput): void {
    const e = this.entry(input)
    const i = acl.entries.findIndex((x) => x.ruleNumber === e.ruleNumber && x.egress === e.egress)
    if (i < 0) throw notFoundEntry(e.ruleNumber)
    const entries = [...acl.entries]
    entries[i] = e
    this.l.commit([{ ...acl, entries }])
  }

  deleteEntry(acl: NetworkAcl, ruleNumber: number, egress: boolean): void {
    const i = acl.entries.findIndex((x) => x.ruleNumber === ruleNumber && x.egress === egress)
    if (i < 0) throw notFoundEntry(ruleNumber)
    this.l.commit([{ ...acl, entries: acl.entries.filter((_, j) => j !== i) }])
  }

  /**
   * ReplaceNetworkAclAssociation: the subnet of the association moves to `acl` (in the same VPC);
   * answers the new association id.
   */
  replaceAssociation(associationId: string, acl: NetworkAcl, subnets: Iterable<Subnet>): string {
    let subnet: Subnet | undefined
    let explicit: NetworkAclAssociation | undefined
    const rec = this.l.state.get('network-acl-association', associationId)
    if (rec !== undefined) {
      explicit = rec
      subnet = this.l.state.get('subnet', rec.subnetId)
    } else {
      for (const s of subnets) {
        if (this.associationsBySubnet.count(s.id) === 0 && implicitAssociationIdOf(s.id) === associationId)
          subnet = s
      }
    }
    if (subnet === undefined)
      throw new ApiError(
        'InvalidAssociationID.NotFound',
        `The association ID '${associationId.slice(0, 64)}' does not exist`,
      )
    if (subnet.vpcId !== acl.vpcId)
      throw invalidValue(`Network ACL ${acl.id} and subnet ${subnet.id} belong to different networks.`)
    const next: NetworkAclAssociation = {
      kind: 'network-acl-association',
      id: newId('aclassoc'),
      seq: this.l.nextSeq(),
      networkAclId: acl.id,
      subnetId: subnet.id,
      tags: [],
    }
    this.l.commit([next], explicit === undefined ? [] : [explicit])
    return next.id
  }
}

function notFoundEntry(n: number): ApiError {
  return new ApiError(
    'InvalidNetworkAclEntry.NotFound',
    `The specified rule does not exist in this network acl: rule number ${n}.`,
  )
}

/** Entries in evaluation order: ingress then egress, each by rule number. */
export function sortEntries(entries: NetworkAclEntry[]): NetworkAclEntry[] {
  return entries.sort((a, b) => Number(a.egress) - Number(b.egress) || a.ruleNumber - b.ruleNumber)
}
