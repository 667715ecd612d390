// SPDX-License-Identifier: Apache-2.0
/**
 * The in-memory image of the store: one map per kind (in creation order) and the secondary
 * indexes the business rules need (sessions per interface, rules per filter, …), so that every
 * check and every Describe runs without touching SQLite. Only {@link State.apply} changes it,
 * after the store has committed the same change.
 * @module
 */
import type {
  FlowLog,
  Instance,
  LoadBalancer,
  NetworkInterface,
  Resource,
  ResourceKind,
  Subnet,
  TrafficMirrorFilter,
  TrafficMirrorFilterRule,
  TrafficMirrorSession,
  TrafficMirrorTarget,
  Vpc,
} from './model.ts'

/** A secondary index: key → ids of the records of one kind having that key. */
export class Index<R extends Resource> {
  private readonly map = new Map<string, Set<string>>()
  private readonly keyOf: (r: R) => string | readonly string[] | undefined
  /** `keyOf` gives the record's key, several keys, or none. */
  constructor(keyOf: (r: R) => string | readonly string[] | undefined) {
    this.keyOf = keyOf
  }
  private keys(r: R): readonly string[] {
    const k = this.keyOf(r)
    return k === undefined ? [] : typeof k === 'string' ? [k] : k
  }
  add(r: R): void {
    for (const k of this.keys(r)) {
      let s = this.map.get(k)
      if (s === undefined) this.map.set(k, (s = new Set()))
      s.add(r.id)
    }
  }
  remove(r: R): void {
    for (const k of this.keys(r)) {
      const s = this.map.get(k)
      if (s === undefined) continue
      s.delete(r.id)
      if (s.size === 0) this.map.delete(k)
    }
  }
  /** Ids under `key` (a live view: copy before mutating the state). */
  get(key: string): ReadonlySet<string> {
    return this.map.get(key) ?? EMPTY
  }
  count(key: string): number {
    return this.map.get(key)?.size ?? 0
  }
}
const EMPTY: ReadonlySet<string> = new Set()

type KindMap = {
  vpc: Vpc
  subnet: Subnet
  instance: Instance
  'network-interface': NetworkInterface
  'traffic-mirror-target': TrafficMirrorTarget
  'traffic-mirror-filter': TrafficMirrorFilter
  'traffic-mirror-filter-rule': TrafficMirrorFilterRule
  'traffic-mirror-session': TrafficMirrorSession
  'flow-log': FlowLog
  'load-balancer': LoadBalancer
}

/** The whole control-plane state in memory. */
export class State {
  readonly tables: { [K in ResourceKind]: Map<string, KindMap[K]> } = {
    vpc: new Map(),
    subnet: new Map(),
    instance: new Map(),
    'network-interface': new Map(),
    'traffic-mirror-target': new Map(),
    'traffic-mirror-filter': new Map(),
    'traffic-mirror-filter-rule': new Map(),
    'traffic-mirror-session': new Map(),
    'flow-log': new Map(),
    'load-balancer': new Map(),
  }
  /** id → record, every kind. */
  readonly byId = new Map<string, Resource>()

  readonly subnetsByVpc = new Index<Subnet>((s) => s.vpcId)
  readonly enisBySubnet = new Index<NetworkInterface>((e) => e.subnetId)
  readonly enisByInstance = new Index<NetworkInterface>((e) => e.instanceId)
  readonly enisByMac = new Index<NetworkInterface>((e) => e.macAddress)
  /** `subnetId|address` of every private IPv4 address. */
  readonly enisByAddress = new Index<NetworkInterface>((e) =>
    [e.privateIpAddress, ...e.secondaryPrivateIpAddresses].map((a) => `${e.subnetId}|${a}`),
  )
  readonly rulesByFilter = new Index<TrafficMirrorFilterRule>((r) => r.filterId)
  readonly sessionsByEni = new Index<TrafficMirrorSession>((s) => s.networkInterfaceId)
  readonly sessionsByTarget = new Index<TrafficMirrorSession>((s) => s.targetId)
  readonly sessionsByFilter = new Index<TrafficMirrorSession>((s) => s.filterId)
  readonly sessionsByVni = new Index<TrafficMirrorSession>((s) => String(s.virtualNetworkId))
  readonly targetsByEni = new Index<TrafficMirrorTarget>((t) => t.networkInterfaceId)
  readonly targetsByNlb = new Index<TrafficMirrorTarget>((t) => t.networkLoadBalancerArn)
  readonly targetsByGwlbe = new Index<TrafficMirrorTarget>((t) => t.gatewayLoadBalancerEndpointId)
  readonly flowLogsByResource = new Index<FlowLog>((f) => f.resourceId)
  readonly instancesByHostname = new Index<Instance>((i) => i.hostname)

  /** Highest sequence number handed out. */
  seq = 0

  table<K extends ResourceKind>(kind: K): Map<string, KindMap[K]> {
    return this.tables[kind] as Map<string, KindMap[K]>
  }

  get<K extends ResourceKind>(kind: K, id: string): KindMap[K] | undefined {
    return this.tables[kind].get(id) as KindMap[K] | undefined
  }

  /** Applies a committed change: deletions first, then puts (insert or replace). */
  apply(put: readonly Resource[], del: readonly Resource[]): void {
    for (const r of del) this.remove(r.id)
    for (const r of put) {
      this.remove(r.id)
      this.insert(r)
    }
  }

  private insert(r: Resource): void {
    ;(this.tables[r.kind] as Map<string, Resource>).set(r.id, r)
    this.byId.set(r.id, r)
    if (r.seq > this.seq) this.seq = r.seq
    this.index(r, true)
  }

  private remove(id: string): void {
    const old = this.byId.get(id)
    if (old === undefined) return
    this.index(old, false)
    this.byId.delete(id)
    this.tables[old.kind].delete(id)
  }

  private index(r: Resource, add: boolean): void {
    const op = add ? 'add' : 'remove'
    switch (r.kind) {
      case 'subnet':
        this.subnetsByVpc[op](r)
        break
      case 'network-interface':
        this.enisBySubnet[op](r)
        this.enisByInstance[op](r)
        this.enisByMac[op](r)
        this.enisByAddress[op](r)
        break
      case 'traffic-mirror-filter-rule':
        this.rulesByFilter[op](r)
        break
      case 'traffic-mirror-session':
        this.sessionsByEni[op](r)
        this.sessionsByTarget[op](r)
        this.sessionsByFilter[op](r)
        this.sessionsByVni[op](r)
        break
      case 'traffic-mirror-target':
        this.targetsByEni[op](r)
        this.targetsByNlb[op](r)
        this.targetsByGwlbe[op](r)
        break
      case 'flow-log':
        this.flowLogsByResource[op](r)
        break
      case 'instance':
        this.instancesByHostname[op](r)
        break
      default:
        break
    }
  }
}
