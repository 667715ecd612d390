// SPDX-License-Identifier: Apache-2.0
/**
 * Network interfaces as the API manages them, on top of what agents register: CreateNetworkInterface
 * (an address of the subnet, security groups of the VPC), DeleteNetworkInterface,
 * Attach/DetachNetworkInterface, ModifyNetworkInterfaceAttribute (groups, description,
 * source/destination check), and each interface's security groups (its own, or its VPC's default
 * group) with the reverse view, the members of a group.
 *
 * An interface created here has no Linux device until the agent of the instance it is attached to
 * registers an interface that binds to it (see `Instances.registerInstance`).
 * @module
 */
import { cidrContains, formatIPv4, parseAddress, tryParseCidr } from '../../../packet/index.ts'
import { ApiError, invalidValue, truncate } from '../../core/errors.ts'
import { ID_PREFIX, idBytes, newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Tag } from '../../core/model.ts'
import type { Index } from '../../core/state.ts'
import { checkDescription, type Quotas } from '../limits.ts'
import type { NetworkInterface, SecurityGroup, Subnet } from '../model.ts'
import type { Instances } from '../network/instances.ts'
import type { Vpcs } from '../network/vpcs.ts'
import type { Ec2Schema } from '../schema.ts'
import type { Tags } from '../tags.ts'
import { defaultGroupIdOf, type SecurityGroups } from './groups.ts'

/** The membership key of an interface that has no groups of its own: its VPC's default group. */
function implicitKey(vpcId: string): string {
  return `default|${vpcId}`
}

export interface CreateInterfaceInput {
  subnetId: string
  privateIpAddress?: string | undefined
  groupIds?: string[] | undefined
  description?: string | undefined
}

/** The interface attributes ModifyNetworkInterfaceAttribute sets (exactly one per call). */
export interface InterfaceAttributeChange {
  description?: string | undefined
  groupIds?: string[] | undefined
  sourceDestCheck?: boolean | undefined
  /** DeleteOnTermination of the attachment (accepted; interfaces here outlive nothing). */
  attachment?: { attachmentId: string; deleteOnTermination?: boolean | undefined } | undefined
}

export class Interfaces {
  private readonly l: Ledger
  private readonly x: Ec2Schema
  private readonly q: Quotas
  private readonly tags: Tags
  private readonly vpcs: Vpcs
  private readonly instances: Instances
  private readonly groups: SecurityGroups
  /** Interfaces by group id (`default|vpc-…` for those in their VPC's default group implicitly). */
  readonly enisByGroup: Index<NetworkInterface>

  constructor(
    l: Ledger,
    x: Ec2Schema,
    q: Quotas,
    tags: Tags,
    vpcs: Vpcs,
    instances: Instances,
    groups: SecurityGroups,
  ) {
    this.l = l
    this.x = x
    this.q = q
    this.tags = tags
    this.vpcs = vpcs
    this.instances = instances
    this.groups = groups
    this.enisByGroup = l.state.index('network-interface', (e) => e.groupIds ?? implicitKey(e.vpcId))
  }

  /** The ids of an interface's groups: its own, else its VPC's default group. */
  groupIdsOf(eni: NetworkInterface): string[] {
    return eni.groupIds ?? [defaultGroupIdOf(eni.vpcId)]
  }

  /** An interface's groups (those that exist), in order. */
  groupsOf(eni: NetworkInterface): SecurityGroup[] {
    return this.groupIdsOf(eni)
      .map((id) => this.l.state.get('security-group', id))
      .filter((g): g is SecurityGroup => g !== undefined)
  }

  /** The interfaces in a group, in creation order. */
  membersOf(g: SecurityGroup): NetworkInterface[] {
    const ids = new Set(this.enisByGroup.get(g.id))
    if (g.isDefault) for (const id of this.enisByGroup.get(implicitKey(g.vpcId))) ids.add(id)
    return [...ids].map((id) => this.l.state.get('network-interface', id)!).sort((a, b) => a.seq - b.seq)
  }

  /** True while an interface is in the group. */
  inUse(groupId: string): boolean {
    return this.enisByGroup.count(groupId) > 0
  }

  /** Validates a group list for an interface of `vpcId`: known ids of that VPC, no more than the quota. */
  private checkGroups(ids: string[], vpcId: string): string[] {
    if (ids.length > this.q.securityGroupsPerInterface)
      throw new ApiError(
        'SecurityGroupsPerInterfaceLimitExceeded',
        'The maximum number of security groups per interface has been reached.',
      )
    const out: string[] = []
    for (const id of ids) {
      const g = this.groups.group(id)
      if (g.vpcId !== vpcId)
        throw new ApiError(
          'InvalidParameterCombination',
          `You have specified two resources that belong to different networks: ${g.id} and ${vpcId}.`,
        )
      if (!out.includes(g.id)) out.push(g.id)
    }
    return out
  }

  private addressInUse(subnetId: string, address: string): boolean {
    return this.x.enisByAddress.count(`${subnetId}|${address}`) > 0
  }

  /** The first free address of a subnet (AWS reserves the first four and the last). */
  private freeAddress(subnet: Subnet): string {
    const c = tryParseCidr(subnet.cidrBlock, { requirePrefix: true })!
    const size = 2 ** (32 - c.prefixLength)
    for (let i = 4; i < size - 1; i++) {
      const a = formatIPv4((c.v4 + i) >>> 0)
      if (!this.addressInUse(subnet.id, a)) return a
    }
    throw new ApiError(
      'InsufficientFreeAddressesInSubnet',
      `There are not enough free addresses in subnet '${subnet.id}' to satisfy the requested number of addresses.`,
    )
  }

  createInterface(input: CreateInterfaceInput, tags: Tag[], idem?: Idempotency): NetworkInterface {
    const subnet = this.vpcs.subnet(input.subnetId)
    checkDescription(input.description)
    const groupIds =
      input.groupIds === undefined || input.groupIds.length === 0
        ? undefined
        : this.checkGroups(input.groupIds, subnet.vpcId)
    const validTags = this.tags.validate(tags)
    let address = input.privateIpAddress
    if (address !== undefined) {
      const a = parseAddress(address)
      const c = tryParseCidr(subnet.cidrBlock, { requirePrefix: true })!
      if (a === undefined || a.family !== 4 || !cidrContains(c, a))
        throw invalidValue(`Address ${truncate(address)} does not fall within the subnet's address range`)
      const offset = (a.v4 - c.v4) >>> 0
      if (offset < 4 || offset === 2 ** (32 - c.prefixLength) - 1)
        throw invalidValue(`Address ${address} is reserved by AWS in subnet ${subnet.id}.`)
    }
    return this.l.idempotent(idem, () => {
      if (address !== undefined && this.addressInUse(subnet.id, address))
        throw new ApiError('InvalidIPAddress.InUse', `The specified address ${address} is already in use.`)
      address ??= this.freeAddress(subnet)
      if (this.l.state.table('network-interface').size >= this.q.networkInterfacesPerAccount)
        throw new ApiError(
          'NetworkInterfaceLimitExceeded',
          `The maximum number of network interfaces (${this.q.networkInterfacesPerAccount}) has been reached.`,
        )
      const eni: NetworkInterface = {
        kind: 'network-interface',
        id: newId(ID_PREFIX.networkInterface),
        seq: this.l.nextSeq(),
        subnetId: subnet.id,
        vpcId: subnet.vpcId,
        availabilityZone: subnet.availabilityZone,
        macAddress: randomMac(),
        privateIpAddress: address,
        secondaryPrivateIpAddresses: [],
        ipv6Addresses: [],
        description: input.description ?? '',
        createdAt: this.l.now(),
        tags: validTags,
      }
      if (groupIds !== undefined) eni.groupIds = groupIds
      this.l.remember(eni)
      this.l.commit([eni])
      return eni
    })
  }

  /** DeleteNetworkInterface: not while attached; what hangs on it goes with it (or refuses, a target). */
  deleteInterface(id: string): void {
    const eni = this.instances.networkInterface(id)
    if (eni.instanceId !== undefined)
      throw new ApiError(
        'InvalidNetworkInterface.InUse',
        `The network interface '${id}' is currently in use.`,
      )
    this.l.commit([], [eni, ...this.l.dependents(eni)])
  }

  /** AttachNetworkInterface: answers the attachment id. */
  attach(eniId: string, instanceId: string, deviceIndex: number): string {
    const eni = this.instances.networkInterface(eniId)
    const inst = this.instances.instance(instanceId)
    if (deviceIndex < 0 || deviceIndex > 255)
      throw invalidValue(`Invalid value '${deviceIndex}' for deviceIndex.`)
    if (eni.instanceId !== undefined)
      throw new ApiError('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`)
    const mine = this.instances.interfacesOf(inst.id)
    if (mine.some((e) => e.deviceIndex === deviceIndex))
      throw invalidValue(
        `Instance '${inst.id}' already has an interface attached at device index '${deviceIndex}'.`,
      )
    const az = mine[0]?.availabilityZone
    if (az !== undefined && az !== eni.availabilityZone)
      throw invalidValue(
        `The network interface ${eni.id} is in ${eni.availabilityZone}, the instance ${inst.id} in ${az}.`,
      )
    const next: NetworkInterface = {
      ...eni,
      instanceId: inst.id,
      attachmentId: newId(ID_PREFIX.attachment),
      deviceIndex,
      attachTime: this.l.now(),
    }
    this.l.commit([next])
    return next.attachmentId!
  }

  /** DetachNetworkInterface: never the primary interface (device index 0). */
  detach(attachmentId: string): void {
    let eni: NetworkInterface | undefined
    for (const e of this.l.state.table('network-interface').values())
      if (e.attachmentId === attachmentId) eni = e
    if (eni === undefined)
      throw new ApiError(
        'InvalidAttachmentID.NotFound',
        `The attachment ID '${truncate(attachmentId)}' does not exist`,
      )
    if ((eni.deviceIndex ?? 0) === 0)
      throw new ApiError(
        'OperationNotPermitted',
        `The network interface at device index 0 cannot be detached.`,
      )
    const next = { ...eni }
    delete next.instanceId
    delete next.attachmentId
    delete next.deviceIndex
    delete next.attachTime
    // The Linux device was the instance's: unbound, the interface waits for its next attachment.
    delete next.deviceName
    this.l.commit([next])
  }

  /** ModifyNetworkInterfaceAttribute: exactly one attribute. */
  modifyAttribute(id: string, change: InterfaceAttributeChange): void {
    const eni = this.instances.networkInterface(id)
    const given = [change.description, change.groupIds, change.sourceDestCheck, change.attachment].filter(
      (v) => v !== undefined,
    )
    if (given.length !== 1)
      throw new ApiError(
        given.length === 0 ? 'MissingParameter' : 'InvalidParameterCombination',
        'Exactly one attribute (Description, SecurityGroupId, SourceDestCheck or Attachment) must be specified.',
      )
    const next = { ...eni }
    if (change.description !== undefined) {
      checkDescription(change.description)
      next.description = change.description
    } else if (change.groupIds !== undefined) {
      if (change.groupIds.length === 0)
        throw new ApiError('MissingParameter', 'The request must contain the parameter SecurityGroupId')
      next.groupIds = this.checkGroups(change.groupIds, eni.vpcId)
    } else if (change.sourceDestCheck !== undefined) {
      next.sourceDestCheck = change.sourceDestCheck
    } else if (change.attachment !== undefined) {
      if (eni.attachmentId !== change.attachment.attachmentId)
        throw new ApiError(
          'InvalidAttachmentID.NotFound',
          `The attachment ID '${truncate(change.attachment.attachmentId)}' does not exist`,
        )
      return
    }
    this.l.commit([next])
  }
}

function randomMac(): string {
  const b = Buffer.from(idBytes(6))
  b[0] = 0x02 // locally administered, unicast, as AWS ENI MACs
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}
