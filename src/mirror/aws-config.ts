// SPDX-License-Identifier: Apache-2.0
/**
 * Reads a mirroring configuration written in the AWS CLI's own JSON shapes — the outputs of
 * `aws ec2 describe-network-interfaces`, `describe-traffic-mirror-sessions`, `…-filters` and
 * `…-targets` merged into one object:
 *
 * ```json
 * { "NetworkInterfaces": [...], "TrafficMirrorSessions": [...],
 *   "TrafficMirrorFilters": [...], "TrafficMirrorTargets": [...] }
 * ```
 *
 * Non-AWS keys: a target's `Address` (string, or a list of appliance addresses for a
 * `network-load-balancer` target; AWS gives only the NLB's ARN), a network interface's `Ifname`
 * (Linux name) and `Netns`, and top-level `AmazonDnsResolvers` (the VPC's resolver addresses).
 * @module
 */
import { MirrorConfigError } from './errors.ts'
import {
  DEFAULT_AMAZON_DNS_RESOLVERS,
  type MirrorSource,
  type MirrorState,
  type PortRange,
  type TrafficMirrorFilter,
  type TrafficMirrorFilterRule,
  type TrafficMirrorSession,
  type TrafficMirrorTarget,
} from './model.ts'

/** A parsed configuration: the state, and the MAC of every known interface address (outer Ethernet). */
export interface AwsMirrorConfig {
  state: MirrorState
  /** address → MAC of the interface holding it (for the outer destination MAC offline). */
  macByAddress: Map<string, string>
}

type Json = Record<string, unknown>

function obj(v: unknown, where: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new MirrorConfigError(`${where}: expected an object`)
  return v as Json
}
function list(v: unknown, where: string): unknown[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) throw new MirrorConfigError(`${where}: expected a list`)
  return v
}
function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new MirrorConfigError(`${where}: expected a string`)
  return v
}
function optInt(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new MirrorConfigError(`${where}: expected an integer`)
  return n
}
function portRange(v: unknown, where: string): PortRange | undefined {
  if (v === undefined || v === null) return undefined
  const o = obj(v, where)
  const fromPort = optInt(o.FromPort, `${where}.FromPort`)
  const toPort = optInt(o.ToPort, `${where}.ToPort`)
  if (fromPort === undefined || toPort === undefined)
    throw new MirrorConfigError(`${where}: FromPort and ToPort are required`)
  return { fromPort, toPort }
}

function rule(v: unknown, where: string): TrafficMirrorFilterRule {
  const o = obj(v, where)
  const action = str(o.RuleAction, `${where}.RuleAction`)
  if (action !== 'accept' && action !== 'reject')
    throw new MirrorConfigError(`${where}.RuleAction: accept or reject`)
  const ruleNumber = optInt(o.RuleNumber, `${where}.RuleNumber`)
  if (ruleNumber === undefined) throw new MirrorConfigError(`${where}.RuleNumber is required`)
  // Protocol 0 is treated as "all" (as Terraform does; UNCONFIRMED, spec §1.4.1).
  const protocol = optInt(o.Protocol, `${where}.Protocol`)
  return {
    ruleNumber,
    ruleAction: action,
    protocol: protocol === 0 ? undefined : protocol,
    sourceCidrBlock: str(o.SourceCidrBlock, `${where}.SourceCidrBlock`),
    destinationCidrBlock: str(o.DestinationCidrBlock, `${where}.DestinationCidrBlock`),
    sourcePortRange: portRange(o.SourcePortRange, `${where}.SourcePortRange`),
    destinationPortRange: portRange(o.DestinationPortRange, `${where}.DestinationPortRange`),
  }
}

/** Parses the merged AWS CLI JSON (already `JSON.parse`d). Throws `MirrorConfigError` on bad shapes. */
export function parseAwsMirrorConfig(input: unknown): AwsMirrorConfig {
  const root = obj(input, 'config')
  const macByAddress = new Map<string, string>()
  const enis = new Map<string, { mac: string; addresses: string[]; ifname?: string; netns?: string }>()
  list(root.NetworkInterfaces, 'NetworkInterfaces').forEach((v, i) => {
    const w = `NetworkInterfaces[${i}]`
    const o = obj(v, w)
    const id = str(o.NetworkInterfaceId, `${w}.NetworkInterfaceId`)
    const mac = typeof o.MacAddress === 'string' ? o.MacAddress : ''
    const addresses: string[] = []
    if (typeof o.PrivateIpAddress === 'string') addresses.push(o.PrivateIpAddress)
    for (const p of list(o.PrivateIpAddresses, `${w}.PrivateIpAddresses`)) {
      const a = obj(p, `${w}.PrivateIpAddresses`).PrivateIpAddress
      if (typeof a === 'string' && !addresses.includes(a)) addresses.push(a)
    }
    for (const p of list(o.Ipv6Addresses, `${w}.Ipv6Addresses`)) {
      const a = obj(p, `${w}.Ipv6Addresses`).Ipv6Address
      if (typeof a === 'string' && !addresses.includes(a)) addresses.push(a)
    }
    const e: { mac: string; addresses: string[]; ifname?: string; netns?: string } = { mac, addresses }
    if (typeof o.Ifname === 'string') e.ifname = o.Ifname
    if (typeof o.Netns === 'string') e.netns = o.Netns
    enis.set(id, e)
    if (mac !== '') for (const a of addresses) macByAddress.set(a, mac)
  })
  const targets: TrafficMirrorTarget[] = list(root.TrafficMirrorTargets, 'TrafficMirrorTargets').map(
    (v, i) => {
      const w = `TrafficMirrorTargets[${i}]`
      const o = obj(v, w)
      const id = str(o.TrafficMirrorTargetId, `${w}.TrafficMirrorTargetId`)
      const type =
        o.Type === 'network-load-balancer' || (o.Type === undefined && o.NetworkLoadBalancerArn !== undefined)
          ? 'network-load-balancer'
          : 'network-interface'
      if (o.Type === 'gateway-load-balancer-endpoint')
        throw new MirrorConfigError(`${w}: gateway-load-balancer-endpoint targets are not supported`)
      let addresses: string[]
      if (typeof o.Address === 'string') addresses = [o.Address]
      else if (Array.isArray(o.Address)) addresses = o.Address.map((a, j) => str(a, `${w}.Address[${j}]`))
      else if (typeof o.NetworkInterfaceId === 'string') {
        const eni = enis.get(o.NetworkInterfaceId)
        if (eni === undefined || eni.addresses.length === 0) {
          throw new MirrorConfigError(
            `${w}: interface ${o.NetworkInterfaceId} is not in NetworkInterfaces (or give an Address)`,
          )
        }
        addresses = [eni.addresses[0]!]
      } else
        throw new MirrorConfigError(
          `${w}: needs an Address (a network-load-balancer's appliances) or a known NetworkInterfaceId`,
        )
      if (type === 'network-interface' && addresses.length > 1) addresses = addresses.slice(0, 1)
      return { trafficMirrorTargetId: id, type, addresses }
    },
  )
  const filters: TrafficMirrorFilter[] = list(root.TrafficMirrorFilters, 'TrafficMirrorFilters').map(
    (v, i) => {
      const w = `TrafficMirrorFilters[${i}]`
      const o = obj(v, w)
      const services = list(o.NetworkServices, `${w}.NetworkServices`)
      for (const s of services)
        if (s !== 'amazon-dns')
          throw new MirrorConfigError(`${w}.NetworkServices: unknown service ${String(s)}`)
      return {
        trafficMirrorFilterId: str(o.TrafficMirrorFilterId, `${w}.TrafficMirrorFilterId`),
        ingressFilterRules: list(o.IngressFilterRules, `${w}.IngressFilterRules`).map((r, j) =>
          rule(r, `${w}.IngressFilterRules[${j}]`),
        ),
        egressFilterRules: list(o.EgressFilterRules, `${w}.EgressFilterRules`).map((r, j) =>
          rule(r, `${w}.EgressFilterRules[${j}]`),
        ),
        networkServices: services.length > 0 ? ['amazon-dns'] : [],
      }
    },
  )
  const sessions: TrafficMirrorSession[] = list(root.TrafficMirrorSessions, 'TrafficMirrorSessions').map(
    (v, i) => {
      const w = `TrafficMirrorSessions[${i}]`
      const o = obj(v, w)
      const sessionNumber = optInt(o.SessionNumber, `${w}.SessionNumber`)
      const vni = optInt(o.VirtualNetworkId, `${w}.VirtualNetworkId`)
      if (sessionNumber === undefined) throw new MirrorConfigError(`${w}.SessionNumber is required`)
      if (vni === undefined)
        throw new MirrorConfigError(`${w}.VirtualNetworkId is required (Describe output always has one)`)
      return {
        trafficMirrorSessionId: str(o.TrafficMirrorSessionId, `${w}.TrafficMirrorSessionId`),
        networkInterfaceId: str(o.NetworkInterfaceId, `${w}.NetworkInterfaceId`),
        trafficMirrorTargetId: str(o.TrafficMirrorTargetId, `${w}.TrafficMirrorTargetId`),
        trafficMirrorFilterId: str(o.TrafficMirrorFilterId, `${w}.TrafficMirrorFilterId`),
        sessionNumber,
        packetLength: optInt(o.PacketLength, `${w}.PacketLength`),
        virtualNetworkId: vni,
      }
    },
  )
  const sourceIds = [...new Set(sessions.map((s) => s.networkInterfaceId))]
  const sources: MirrorSource[] = sourceIds.map((id) => {
    const eni = enis.get(id)
    if (eni === undefined) throw new MirrorConfigError(`source interface ${id} is not in NetworkInterfaces`)
    const s: MirrorSource = { networkInterfaceId: id, mac: eni.mac, addresses: eni.addresses }
    if (eni.ifname !== undefined) s.ifname = eni.ifname
    if (eni.netns !== undefined) s.netns = eni.netns
    return s
  })
  const dns =
    root.AmazonDnsResolvers === undefined
      ? [...DEFAULT_AMAZON_DNS_RESOLVERS]
      : list(root.AmazonDnsResolvers, 'AmazonDnsResolvers').map((a, j) => str(a, `AmazonDnsResolvers[${j}]`))
  return { state: { sources, targets, filters, sessions, amazonDnsResolvers: dns }, macByAddress }
}
