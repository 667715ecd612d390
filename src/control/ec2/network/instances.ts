// SPDX-License-Identifier: Apache-2.0
/**
 * Instances and their network interfaces: what AWS learns from its own fabric and mirrorflow learns
 * from its agents (the admin actions MirrorflowRegisterInstance, MirrorflowRegisterNetworkInterface
 * and their Deregister counterparts). An interface is placed in the subnet holding its address.
 * @module
 */
import { cidrContains, parseAddress, tryParseCidr } from '../../../packet/index.ts'
import { ApiError, charLength, invalidValue, truncate } from '../../core/errors.ts'
import { ID_PREFIX, idBytes, isIdOf, newId } from '../../core/ids.ts'
import type { Ledger } from '../../core/ledger.ts'
import type { Resource } from '../../core/model.ts'
import type { Instance, NetworkInterface, Subnet } from '../model.ts'
import { checkDescription, PREFIX_REQUIRED, type Quotas } from '../limits.ts'
import type { Ec2Schema } from '../schema.ts'
import type { Vpcs } from './vpcs.ts'

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/

/** Bounds of what a registration stores (AWS's largest instances have 50 addresses per interface). */
export const HOSTNAME_MAX = 255
export const INTERFACES_PER_INSTANCE_MAX = 256
export const SECONDARY_ADDRESSES_MAX = 49
export const IPV6_ADDRESSES_MAX = 50
/** An instance type: `mirrorflow.host` by default; AWS's look like `c6in.32xlarge`. */
const INSTANCE_TYPE = /^[A-Za-z0-9._-]{1,64}$/
/** The longest text form of an address (an IPv6 address with an embedded IPv4 one). */
const ADDRESS_MAX = 45

/** Refuses the lists and strings of one interface's registration that are over their bounds. */
function checkInterfaceBounds(input: Omit<RegisterInterfaceInput, 'instanceId'>): void {
  const secondary = input.secondaryPrivateIpAddresses ?? []
  const ipv6 = input.ipv6Addresses ?? []
  if (secondary.length > SECONDARY_ADDRESSES_MAX)
    throw invalidValue(`An interface has at most ${SECONDARY_ADDRESSES_MAX} secondary private addresses.`)
  if (ipv6.length > IPV6_ADDRESSES_MAX)
    throw invalidValue(`An interface has at most ${IPV6_ADDRESSES_MAX} IPv6 addresses.`)
  for (const a of [input.privateIpAddress, ...secondary, ...ipv6]) {
    if (a.length > ADDRESS_MAX) throw invalidValue(`Value (${truncate(a)}) is not an IP address.`)
  }
  if (input.macAddress !== undefined && input.macAddress.length > 17)
    throw invalidValue(`Value (${truncate(input.macAddress)}) for parameter macAddress is invalid.`)
  if (input.deviceName !== undefined && input.deviceName.length > 64)
    throw invalidValue(`Value (${truncate(input.deviceName)}) for parameter DeviceName is invalid.`)
  checkDescription(input.description)
}

export interface RegisterInterfaceInput {
  subnetId?: string | undefined
  privateIpAddress: string
  secondaryPrivateIpAddresses?: string[] | undefined
  ipv6Addresses?: string[] | undefined
  macAddress?: string | undefined
  instanceId?: string | undefined
  deviceName?: string | undefined
  description?: string | undefined
}
export interface RegisterInstanceInput {
  instanceId?: string | undefined
  hostname: string
  instanceType?: string | undefined
  interfaces: Omit<RegisterInterfaceInput, 'instanceId'>[]
}
export interface RegisterInstanceResult {
  instance: Instance
  interfaces: NetworkInterface[]
  unmatched: { deviceName: string; privateIpAddress: string; reason: string }[]
}

export class Instances {
  private readonly l: Ledger
  private readonly x: Ec2Schema
  private readonly vpcs: Vpcs
  private readonly q: Quotas

  constructor(l: Ledger, x: Ec2Schema, q: Quotas, vpcs: Vpcs) {
    this.l = l
    this.x = x
    this.q = q
    this.vpcs = vpcs
  }

  /** Refuses a change that would take the account over its instance or interface quota. */
  private checkQuotas(put: readonly Resource[]): void {
    let instances = 0
    let enis = 0
    for (const r of put) {
      if (this.l.state.byId.has(r.id)) continue
      if (r.kind === 'instance') instances++
      else if (r.kind === 'network-interface') enis++
    }
    if (instances > 0 && this.l.state.table('instance').size + instances > this.q.instancesPerAccount) {
      throw new ApiError(
        'InstanceLimitExceeded',
        `The maximum number of instances (${this.q.instancesPerAccount}) has been reached.`,
      )
    }
    if (
      enis > 0 &&
      this.l.state.table('network-interface').size + enis > this.q.networkInterfacesPerAccount
    ) {
      throw new ApiError(
        'NetworkInterfaceLimitExceeded',
        `The maximum number of network interfaces (${this.q.networkInterfacesPerAccount}) has been reached.`,
      )
    }
  }

  networkInterface(id: string): NetworkInterface {
    return this.l.lookup('network-interface', id)
  }

  instance(id: string): Instance {
    return this.l.lookup('instance', id)
  }

  /** The interfaces of an instance in device-index order. */
  interfacesOf(instanceId: string): NetworkInterface[] {
    return [...this.x.enisByInstance.get(instanceId)]
      .map((id) => this.l.state.get('network-interface', id)!)
      .sort((a, b) => (a.deviceIndex ?? 0) - (b.deviceIndex ?? 0) || a.seq - b.seq)
  }

  private addressInUse(subnetId: string, address: string, except?: string): boolean {
    for (const id of this.x.enisByAddress.get(`${subnetId}|${address}`)) if (id !== except) return true
    return false
  }

  private buildInterface(
    input: RegisterInterfaceInput,
    instance: Instance | undefined,
    existing: NetworkInterface | undefined,
    deviceIndex: number,
  ): NetworkInterface {
    checkInterfaceBounds(input)
    const addr = parseAddress(input.privateIpAddress)
    if (addr === undefined || addr.family !== 4) {
      throw invalidValue(`Value (${input.privateIpAddress}) for parameter privateIpAddress is invalid.`)
    }
    let subnet: Subnet
    if (input.subnetId !== undefined) {
      subnet = this.vpcs.subnet(input.subnetId)
      if (!cidrContains(tryParseCidr(subnet.cidrBlock, PREFIX_REQUIRED)!, addr)) {
        throw invalidValue(
          `Address ${input.privateIpAddress} does not fall within the subnet's address range`,
        )
      }
    } else {
      const s = this.vpcs.subnetForAddress(input.privateIpAddress)
      if (s === undefined) {
        throw invalidValue(
          `Address ${input.privateIpAddress} does not fall within any subnet's address range`,
        )
      }
      subnet = s
    }
    const secondary = input.secondaryPrivateIpAddresses ?? []
    for (const a of [input.privateIpAddress, ...secondary]) {
      const p = parseAddress(a)
      if (
        p === undefined ||
        p.family !== 4 ||
        !cidrContains(tryParseCidr(subnet.cidrBlock, PREFIX_REQUIRED)!, p)
      ) {
        throw invalidValue(`Address ${a} does not fall within the subnet's address range`)
      }
      if (this.addressInUse(subnet.id, a, existing?.id)) {
        throw new ApiError('InvalidIPAddress.InUse', `Address ${a} is in use.`)
      }
    }
    const ipv6 = input.ipv6Addresses ?? []
    for (const a of ipv6) {
      if (parseAddress(a)?.family !== 6)
        throw invalidValue(`Value (${a}) for parameter ipv6Addresses is invalid.`)
    }
    let mac = input.macAddress?.toLowerCase()
    if (mac !== undefined && !MAC.test(mac))
      throw invalidValue(`Value (${input.macAddress}) for parameter macAddress is invalid.`)
    if (mac === undefined) mac = existing?.macAddress ?? randomMac()
    const description = input.description ?? existing?.description ?? ''
    checkDescription(description)
    const now = this.l.now()
    const eni: NetworkInterface = {
      kind: 'network-interface',
      id: existing?.id ?? newId(ID_PREFIX.networkInterface),
      seq: existing?.seq ?? this.l.nextSeq(),
      subnetId: subnet.id,
      vpcId: subnet.vpcId,
      availabilityZone: subnet.availabilityZone,
      macAddress: mac,
      privateIpAddress: input.privateIpAddress,
      secondaryPrivateIpAddresses: secondary,
      ipv6Addresses: ipv6,
      description,
      createdAt: existing?.createdAt ?? now,
      tags: existing?.tags ?? [],
    }
    const deviceName = input.deviceName ?? existing?.deviceName
    if (deviceName !== undefined) eni.deviceName = deviceName
    // What the API set on the interface survives re-registration.
    if (existing?.groupIds !== undefined) eni.groupIds = existing.groupIds
    if (existing?.sourceDestCheck !== undefined) eni.sourceDestCheck = existing.sourceDestCheck
    if (instance !== undefined) {
      eni.instanceId = instance.id
      eni.attachmentId = existing?.attachmentId ?? newId(ID_PREFIX.attachment)
      eni.deviceIndex = existing?.deviceIndex ?? deviceIndex
      eni.attachTime = existing?.attachTime ?? now
    }
    return eni
  }

  private newInstance(id: string | undefined, hostname: string, instanceType: string | undefined): Instance {
    if (id !== undefined && !isIdOf('i', id))
      throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`)
    return {
      kind: 'instance',
      id: id ?? newId(ID_PREFIX.instance),
      seq: this.l.nextSeq(),
      hostname,
      instanceType: instanceType ?? 'mirrorflow.host',
      launchTime: this.l.now(),
      reservationId: newId(ID_PREFIX.reservation),
      tags: [],
    }
  }

  /** Admin: registers one interface (an ENI) in a subnet, optionally attached to an instance. */
  registerInterface(input: RegisterInterfaceInput): NetworkInterface {
    let instance: Instance | undefined
    const put: Resource[] = []
    if (input.instanceId !== undefined) {
      if (!isIdOf('i', input.instanceId)) {
        throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${input.instanceId}"`)
      }
      instance = this.l.state.get('instance', input.instanceId)
      if (instance === undefined) {
        instance = this.newInstance(input.instanceId, input.instanceId, undefined)
        put.push(instance)
      }
    }
    const deviceIndex = instance === undefined ? 0 : this.x.enisByInstance.count(instance.id)
    const eni = this.buildInterface(input, instance, undefined, deviceIndex)
    put.push(eni)
    this.checkQuotas(put)
    this.l.commit(put)
    return eni
  }

  /**
   * Admin (agents): registers a host and its interfaces. Idempotent: the instance is found by id,
   * else by hostname; each interface by MAC, else by device name on that instance, and updated in
   * place. Interfaces whose address is in no subnet are reported as unmatched, not stored.
   * Interfaces missing from a later registration are kept (an interface that is down for a moment
   * must not lose its sessions); MirrorflowDeregisterNetworkInterface removes one.
   */
  registerInstance(input: RegisterInstanceInput): RegisterInstanceResult {
    if (input.hostname.length === 0 || charLength(input.hostname) > HOSTNAME_MAX)
      throw invalidValue(`Hostname must be 1 to ${HOSTNAME_MAX} characters.`)
    if (input.instanceType !== undefined && !INSTANCE_TYPE.test(input.instanceType))
      throw invalidValue(`Value (${truncate(input.instanceType)}) for parameter InstanceType is invalid.`)
    if (input.interfaces.length > INTERFACES_PER_INSTANCE_MAX) {
      throw invalidValue(`An instance registers at most ${INTERFACES_PER_INSTANCE_MAX} network interfaces.`)
    }
    for (const ifc of input.interfaces) checkInterfaceBounds(ifc)
    let instance: Instance | undefined
    if (input.instanceId !== undefined) {
      if (!isIdOf('i', input.instanceId))
        throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${input.instanceId}"`)
      instance = this.l.state.get('instance', input.instanceId)
    } else {
      const ids = [...this.x.instancesByHostname.get(input.hostname)]
      if (ids.length > 0) instance = this.l.state.get('instance', ids[0]!)
    }
    const put: Resource[] = []
    if (instance === undefined) {
      instance = this.newInstance(input.instanceId, input.hostname, input.instanceType)
    } else {
      instance = {
        ...instance,
        hostname: input.hostname,
        instanceType: input.instanceType ?? instance.instanceType,
      }
    }
    put.push(instance)
    const mine = [...this.x.enisByInstance.get(instance.id)].map((id) =>
      this.l.state.get('network-interface', id)!,
    )
    const interfaces: NetworkInterface[] = []
    const unmatched: RegisterInstanceResult['unmatched'] = []
    let nextIndex = mine.reduce((m, e) => Math.max(m, (e.deviceIndex ?? 0) + 1), 0)
    for (const ifc of input.interfaces) {
      const mac = ifc.macAddress?.toLowerCase()
      let existing: NetworkInterface | undefined
      if (mac !== undefined) {
        for (const id of this.x.enisByMac.get(mac)) {
          const e = this.l.state.get('network-interface', id)!
          if (e.instanceId === undefined || e.instanceId === instance.id) existing = e
        }
      }
      if (existing === undefined && ifc.deviceName !== undefined) {
        existing = mine.find((e) => e.deviceName === ifc.deviceName)
      }
      // An interface the API created and attached to this instance, not yet bound to a Linux device:
      // bound by the device its `mirrorflow:device-name` tag names, else by its primary address.
      if (existing === undefined) existing = unbound(mine, ifc, BIND_TAG)
      const miss = (reason: string): void => {
        unmatched.push({ deviceName: ifc.deviceName ?? '', privateIpAddress: ifc.privateIpAddress, reason })
      }
      if (parseAddress(ifc.privateIpAddress)?.family !== 4) {
        miss('the primary address is not an IPv4 address')
        continue
      }
      if (ifc.subnetId === undefined && this.vpcs.subnetForAddress(ifc.privateIpAddress) === undefined) {
        miss('the address is in no subnet')
        continue
      }
      // One bad interface (an odd MAC, an address another host has) must not stop the others from
      // registering: it is reported instead.
      let eni: NetworkInterface
      try {
        eni = this.buildInterface(
          { ...ifc, instanceId: instance.id },
          instance,
          existing,
          existing?.deviceIndex ?? nextIndex,
        )
      } catch (err) {
        if (!(err instanceof ApiError)) throw err
        miss(`${err.awsCode}: ${err.message}`)
        continue
      }
      if (
        put.some(
          (r) =>
            r.id === eni.id ||
            (r.kind === 'network-interface' &&
              r.subnetId === eni.subnetId &&
              r.privateIpAddress === eni.privateIpAddress),
        )
      ) {
        miss('the same interface or address was given twice')
        continue
      }
      if (existing === undefined) nextIndex++
      put.push(eni)
      interfaces.push(eni)
    }
    this.checkQuotas(put)
    this.l.commit(put)
    return { instance, interfaces, unmatched }
  }

  /**
   * Admin: removes an interface; what higher families hang on it goes with it (its sessions and
   * flow logs, as when AWS deletes a source ENI) unless one of them refuses (a target).
   */
  deregisterInterface(id: string): void {
    const eni = this.networkInterface(id)
    this.l.commit([], [eni, ...this.l.dependents(eni)])
  }

  /** Admin: removes an instance and detaches (keeps) its interfaces. */
  deregisterInstance(id: string): void {
    const inst = this.instance(id)
    const put: Resource[] = []
    for (const e of this.x.enisByInstance.get(id)) {
      const eni = { ...this.l.state.get('network-interface', e)! }
      delete eni.instanceId
      delete eni.attachmentId
      delete eni.deviceIndex
      delete eni.attachTime
      put.push(eni)
    }
    this.l.commit(put, [inst])
  }
}

/** The tag naming the Linux device an API-created interface binds to. */
export const BIND_TAG = 'mirrorflow:device-name'

/** The unbound interface of `mine` a registered Linux interface binds to, if any. */
function unbound(
  mine: readonly NetworkInterface[],
  ifc: Omit<RegisterInterfaceInput, 'instanceId'>,
  tag: string,
): NetworkInterface | undefined {
  const free = mine.filter((e) => e.deviceName === undefined)
  if (ifc.deviceName !== undefined) {
    const byTag = free.find((e) => e.tags.some((t) => t.key === tag && t.value === ifc.deviceName))
    if (byTag !== undefined) return byTag
  }
  return free.find((e) => e.privateIpAddress === ifc.privateIpAddress && !e.tags.some((t) => t.key === tag))
}

function randomMac(): string {
  const b = Buffer.from(idBytes(6))
  b[0] = 0x02 // locally administered, unicast, as AWS ENI MACs
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}
