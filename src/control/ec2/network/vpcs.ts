// SPDX-License-Identifier: Apache-2.0
/**
 * VPCs and subnets: CreateVpc/DeleteVpc, CreateSubnet/DeleteSubnet with AWS's CIDR rules (a /16 to
 * /28 IPv4 block; subnets inside their VPC, never overlapping), the region's availability zones and
 * their ids, and the address arithmetic other families ask for (free addresses of a subnet, the
 * subnet holding an address).
 * @module
 */
import {
  cidrContains,
  cidrOverlaps,
  cidrSize,
  cidrWithin,
  parseAddress,
  tryParseCidr,
} from '../../../packet/index.ts'
import { ApiError, invalidValue } from '../../core/errors.ts'
import { ID_PREFIX, newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Resource, Tag } from '../../core/model.ts'
import type { Subnet, SubnetAttributes, Vpc } from '../model.ts'
import { PREFIX_REQUIRED, type Quotas } from '../limits.ts'
import type { Ec2Schema } from '../schema.ts'
import type { Tags } from '../tags.ts'

export interface CreateSubnetInput {
  vpcId: string
  cidrBlock: string
  availabilityZone?: string | undefined
  availabilityZoneId?: string | undefined
}

export class Vpcs {
  private readonly l: Ledger
  private readonly x: Ec2Schema
  private readonly tags: Tags
  private readonly q: Quotas
  /**
   * What higher families create with every VPC, in the same commit (its default security group
   * and network ACL): each returns the records to add.
   */
  readonly onCreateVpc: ((vpc: Vpc) => Resource[])[] = []

  constructor(l: Ledger, x: Ec2Schema, q: Quotas, tags: Tags) {
    this.l = l
    this.x = x
    this.q = q
    this.tags = tags
  }

  /** The VPC, or `InvalidVpcID.Malformed` / `InvalidVpcID.NotFound`. */
  vpc(id: string): Vpc {
    return this.l.lookup('vpc', id)
  }

  subnet(id: string): Subnet {
    return this.l.lookup('subnet', id)
  }

  createVpc(cidrBlock: string, instanceTenancy: string | undefined, tags: Tag[], idem?: Idempotency): Vpc {
    const c = tryParseCidr(cidrBlock, PREFIX_REQUIRED)
    if (c === undefined || c.family !== 4) {
      throw invalidValue(
        `Value (${cidrBlock}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
      )
    }
    if (c.prefixLength < 16 || c.prefixLength > 28) {
      throw new ApiError('InvalidVpc.Range', `The CIDR '${cidrBlock}' is invalid.`)
    }
    const tenancy = instanceTenancy ?? 'default'
    if (tenancy !== 'default' && tenancy !== 'dedicated' && tenancy !== 'host') {
      throw invalidValue(`Value (${tenancy}) for parameter instanceTenancy is invalid.`)
    }
    const validTags = this.tags.validate(tags)
    return this.l.idempotent(idem, () => {
      if (this.l.state.table('vpc').size >= this.q.vpcsPerRegion) {
        throw new ApiError(
          'VpcLimitExceeded',
          `The maximum number of VPCs (${this.q.vpcsPerRegion}) has been reached.`,
        )
      }
      const vpc: Vpc = {
        kind: 'vpc',
        id: newId(ID_PREFIX.vpc),
        seq: this.l.nextSeq(),
        cidrBlock: c.text,
        cidrAssociationId: newId(ID_PREFIX.vpcCidrAssoc),
        instanceTenancy: tenancy,
        createdAt: this.l.now(),
        tags: validTags,
      }
      this.l.remember(vpc)
      this.l.commit([vpc, ...this.onCreateVpc.flatMap((f) => f(vpc))])
      return vpc
    })
  }

  /** DeleteVpc: refused while subnets remain; what higher families hang on it (flow logs) goes with it. */
  deleteVpc(id: string): void {
    const vpc = this.vpc(id)
    if (this.x.subnetsByVpc.count(id) > 0) {
      throw new ApiError('DependencyViolation', `The vpc '${id}' has dependencies and cannot be deleted.`)
    }
    this.l.commit([], [vpc, ...this.l.dependents(vpc)])
  }

  /** ModifyVpcAttribute: one attribute per call, as AWS requires. */
  modifyVpcAttribute(
    id: string,
    attr: {
      enableDnsSupport?: boolean | undefined
      enableDnsHostnames?: boolean | undefined
      enableNetworkAddressUsageMetrics?: boolean | undefined
    },
  ): void {
    const vpc = this.vpc(id)
    const set = Object.entries(attr).filter(([, v]) => v !== undefined)
    if (set.length !== 1)
      throw new ApiError(
        set.length === 0 ? 'MissingParameter' : 'InvalidParameterCombination',
        'Exactly one attribute (EnableDnsSupport, EnableDnsHostnames or EnableNetworkAddressUsageMetrics) must be specified.',
      )
    const next = { ...vpc, ...Object.fromEntries(set) } as Vpc
    const dnsSupport = next.enableDnsSupport ?? true
    if ((next.enableDnsHostnames ?? false) && !dnsSupport)
      throw invalidValue('enableDnsHostnames cannot be true while enableDnsSupport is false.')
    this.l.commit([next])
  }

  /** ModifySubnetAttribute: one attribute per call. */
  modifySubnetAttribute(
    id: string,
    attr: { [K in keyof SubnetAttributes]?: SubnetAttributes[K] | undefined },
  ): void {
    const subnet = this.subnet(id)
    const set = Object.entries(attr).filter(([, v]) => v !== undefined)
    if (set.length !== 1)
      throw new ApiError(
        set.length === 0 ? 'MissingParameter' : 'InvalidParameterCombination',
        'Exactly one subnet attribute must be specified.',
      )
    if (attr.assignIpv6AddressOnCreation === true)
      throw invalidValue(
        `The subnet ${id} has no IPv6 CIDR block: AssignIpv6AddressOnCreation cannot be set.`,
      )
    if (attr.enableDns64 === true)
      throw invalidValue(`The subnet ${id} has no IPv6 CIDR block: EnableDns64 cannot be set.`)
    if (attr.enableResourceNameDnsAAAARecordOnLaunch === true)
      throw invalidValue(
        `The subnet ${id} has no IPv6 CIDR block: EnableResourceNameDnsAAAARecordOnLaunch cannot be set.`,
      )
    this.l.commit([{ ...subnet, attributes: { ...subnet.attributes, ...Object.fromEntries(set) } }])
  }

  /** The availability zones of the region: `<region>a` … `<region>f`. */
  availabilityZones(): string[] {
    return ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => this.l.region + l)
  }

  /** The AZ id of an AZ name, e.g. us-east-1a → use1-az1. */
  azId(az: string): string {
    const words = this.l.region.split('-')
    const short = words
      .map((w, i) => {
        if (i === 0 || /^\d+$/.test(w)) return w
        const m = /^(north|south)(east|west)$/.exec(w)
        return m === null ? w[0] : m[1]![0]! + m[2]![0]!
      })
      .join('')
    return `${short}-az${az.charCodeAt(az.length - 1) - 96}`
  }

  createSubnet(input: CreateSubnetInput, tags: Tag[], idem?: Idempotency): Subnet {
    const vpc = this.vpc(input.vpcId)
    const c = tryParseCidr(input.cidrBlock, PREFIX_REQUIRED)
    if (c === undefined || c.family !== 4) {
      throw invalidValue(
        `Value (${input.cidrBlock}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
      )
    }
    const vpcCidr = tryParseCidr(vpc.cidrBlock, PREFIX_REQUIRED)!
    if (c.prefixLength < 16 || c.prefixLength > 28 || !cidrWithin(c, vpcCidr)) {
      throw new ApiError('InvalidSubnet.Range', `The CIDR '${input.cidrBlock}' is invalid.`)
    }
    for (const sid of this.x.subnetsByVpc.get(vpc.id)) {
      const other = this.l.state.get('subnet', sid)!
      if (cidrOverlaps(c, tryParseCidr(other.cidrBlock, PREFIX_REQUIRED)!)) {
        throw new ApiError(
          'InvalidSubnet.Conflict',
          `The CIDR '${input.cidrBlock}' conflicts with another subnet`,
        )
      }
    }
    const zones = this.availabilityZones()
    let az = input.availabilityZone
    if (az === undefined && input.availabilityZoneId !== undefined) {
      az = zones.find((z) => this.azId(z) === input.availabilityZoneId)
      if (az === undefined) {
        throw invalidValue(`Value (${input.availabilityZoneId}) for parameter availabilityZoneId is invalid.`)
      }
    }
    if (az !== undefined && !zones.includes(az)) {
      throw invalidValue(
        `Value (${az}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${zones.join(', ')}.`,
      )
    }
    const validTags = this.tags.validate(tags)
    return this.l.idempotent(idem, () => {
      if (this.x.subnetsByVpc.count(vpc.id) >= this.q.subnetsPerVpc) {
        throw new ApiError(
          'SubnetLimitExceeded',
          `The maximum number of subnets per VPC (${this.q.subnetsPerVpc}) has been reached.`,
        )
      }
      const zone = az ?? zones[0]!
      const subnet: Subnet = {
        kind: 'subnet',
        id: newId(ID_PREFIX.subnet),
        seq: this.l.nextSeq(),
        vpcId: vpc.id,
        cidrBlock: c.text,
        availabilityZone: zone,
        availabilityZoneId: this.azId(zone),
        createdAt: this.l.now(),
        tags: validTags,
      }
      this.l.remember(subnet)
      this.l.commit([subnet])
      return subnet
    })
  }

  deleteSubnet(id: string): void {
    const subnet = this.subnet(id)
    if (this.x.enisBySubnet.count(id) > 0) {
      throw new ApiError('DependencyViolation', `The subnet '${id}' has dependencies and cannot be deleted.`)
    }
    this.l.commit([], [subnet, ...this.l.dependents(subnet)])
  }

  /** Addresses of a subnet still free (size minus the 5 AWS reserves, minus ENI addresses). */
  availableIpAddressCount(subnet: Subnet): number {
    const size = cidrSize(tryParseCidr(subnet.cidrBlock, PREFIX_REQUIRED)!)
    let used = 0
    for (const id of this.x.enisBySubnet.get(subnet.id)) {
      const e = this.l.state.get('network-interface', id)!
      used += 1 + e.secondaryPrivateIpAddresses.length
    }
    return Math.max(0, size - 5 - used)
  }

  /** The subnet whose CIDR holds the address (the most specific), if any. */
  subnetForAddress(address: string): Subnet | undefined {
    const a = parseAddress(address)
    if (a === undefined) return undefined
    let best: Subnet | undefined
    let bestPrefix = -1
    for (const s of this.l.state.table('subnet').values()) {
      const c = tryParseCidr(s.cidrBlock, PREFIX_REQUIRED)!
      if (cidrContains(c, a) && c.prefixLength > bestPrefix) {
        best = s
        bestPrefix = c.prefixLength
      }
    }
    return best
  }
}
