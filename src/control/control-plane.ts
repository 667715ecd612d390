// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane: every create/modify/delete of the resource model with the business rules of
 * spec-traffic-mirroring.md and spec-flow-logs.md, each rule failing with AWS's error code. Reads
 * go to the in-memory {@link State}; each mutation builds one change set that the store commits in
 * one transaction before the state applies it, so memory never runs ahead of the disk.
 * @module
 */
import { randomBytes, randomInt } from 'node:crypto'
import {
  cidrContains,
  cidrOverlaps,
  cidrSize,
  cidrWithin,
  parseAddress,
  tryParseCidr,
} from '../packet/index.ts'
import { checkFilterRule } from '../mirror/index.ts'
import { ApiError, invalidValue } from './errors.ts'
import { DEFAULT_LOG_FORMAT, validateLogFormat } from './flow-log-format.ts'
import { ID_PREFIX, isIdOf, newId } from './ids.ts'
import type {
  AccessKey,
  DestinationOptions,
  FlowLog,
  IdempotencyRecord,
  Instance,
  LoadBalancer,
  NetworkInterface,
  PortRange,
  Resource,
  Subnet,
  Tag,
  TagFieldSpecification,
  TrafficMirrorFilter,
  TrafficMirrorFilterRule,
  TrafficMirrorSession,
  TrafficMirrorTarget,
  Vpc,
} from './model.ts'
import { State } from './state.ts'
import type { ControlStore } from './store.ts'

/** Every CIDR block of the EC2 API carries its prefix length. */
const PREFIX_REQUIRED = { requirePrefix: true } as const

/** Quotas (spec-traffic-mirroring §3). Non-adjustable in AWS; configurable here for tests. */
export interface Quotas {
  sessionsPerAccount: number
  sessionsPerInterface: number
  targetsPerAccount: number
  filtersPerAccount: number
  rulesPerFilter: number
  sourcesPerInterfaceTarget: number
  tagsPerResource: number
}

export const DEFAULT_QUOTAS: Quotas = {
  sessionsPerAccount: 10_000,
  sessionsPerInterface: 3,
  targetsPerAccount: 10_000,
  filtersPerAccount: 10_000,
  rulesPerFilter: 10,
  sourcesPerInterfaceTarget: 10,
  tagsPerResource: 50,
}

export interface ControlPlaneConfig {
  accountId: string
  region: string
  quotas?: Partial<Quotas>
}

/** Idempotency of a Create: the token as sent and a fingerprint of every other parameter. */
export interface Idempotency {
  action: string
  clientToken?: string | undefined
  fingerprint: string
}

export interface CreateTargetInput {
  networkInterfaceId?: string | undefined
  networkLoadBalancerArn?: string | undefined
  gatewayLoadBalancerEndpointId?: string | undefined
  description?: string | undefined
  tags: Tag[]
}

export interface RuleFields {
  trafficDirection?: string | undefined
  ruleNumber?: number | undefined
  ruleAction?: string | undefined
  protocol?: number | undefined
  destinationPortRange?: Partial<PortRange> | undefined
  sourcePortRange?: Partial<PortRange> | undefined
  destinationCidrBlock?: string | undefined
  sourceCidrBlock?: string | undefined
  description?: string | undefined
}

export interface CreateSessionInput {
  networkInterfaceId: string
  targetId: string
  filterId: string
  sessionNumber: number
  packetLength?: number | undefined
  virtualNetworkId?: number | undefined
  description?: string | undefined
  tags: Tag[]
}

export interface ModifySessionInput {
  sessionId: string
  targetId?: string | undefined
  filterId?: string | undefined
  sessionNumber?: number | undefined
  packetLength?: number | undefined
  virtualNetworkId?: number | undefined
  description?: string | undefined
  removeFields: string[]
}

export interface CreateFlowLogsInput {
  resourceIds: string[]
  resourceType: string
  trafficType?: string | undefined
  logDestinationType?: string | undefined
  logDestination?: string | undefined
  logGroupName?: string | undefined
  deliverLogsPermissionArn?: string | undefined
  deliverCrossAccountRole?: string | undefined
  logFormat?: string | undefined
  maxAggregationInterval?: number | undefined
  destinationOptions?: Partial<DestinationOptions> | undefined
  tagFieldSpecifications?: TagFieldSpecification[] | undefined
  tags: Tag[]
}

export interface CreateFlowLogsResult {
  flowLogIds: string[]
  unsuccessful: { resourceId: string; code: string; message: string }[]
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

/** Resource types that tags may be put on, by id prefix. */
const TAGGABLE: Record<string, Resource['kind']> = {
  vpc: 'vpc',
  subnet: 'subnet',
  i: 'instance',
  eni: 'network-interface',
  tmt: 'traffic-mirror-target',
  tmf: 'traffic-mirror-filter',
  tmfr: 'traffic-mirror-filter-rule',
  tms: 'traffic-mirror-session',
  fl: 'flow-log',
}

/** The EC2 `resourceType` name of each kind (DescribeTags, TagSpecification). */
export const RESOURCE_TYPE_NAME: Record<Resource['kind'], string> = {
  vpc: 'vpc',
  subnet: 'subnet',
  instance: 'instance',
  'network-interface': 'network-interface',
  'traffic-mirror-target': 'traffic-mirror-target',
  'traffic-mirror-filter': 'traffic-mirror-filter',
  'traffic-mirror-filter-rule': 'traffic-mirror-filter-rule',
  'traffic-mirror-session': 'traffic-mirror-session',
  'flow-log': 'vpc-flow-log',
  'load-balancer': 'load-balancer',
}

const NLB_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/net\/[A-Za-z0-9-]{1,32}\/[A-Za-z0-9]{1,32}$/
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/
const S3_ARN = /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:\/.*)?$/
const FIREHOSE_ARN = /^arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream\/[A-Za-z0-9_.-]{1,64}$/
const CWL_ARN = /^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[A-Za-z0-9_/.#-]{1,512}(?::\*)?$/
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/

/** The control plane of one account in one region (the server's configuration). */
export class ControlPlane {
  readonly accountId: string
  readonly region: string
  readonly quotas: Quotas
  readonly state = new State()
  private readonly store: ControlStore
  private readonly tokens = new Map<string, IdempotencyRecord>()
  private readonly keys = new Map<string, AccessKey>()
  private readonly listeners = new Set<(version: number) => void>()
  private pendingToken: IdempotencyRecord | undefined
  private _version = 0

  constructor(store: ControlStore, config: ControlPlaneConfig) {
    this.store = store
    this.accountId = config.accountId
    this.region = config.region
    this.quotas = { ...DEFAULT_QUOTAS, ...config.quotas }
    const snap = store.load()
    this.state.apply(snap.resources, [])
    for (const t of snap.idempotency) this.tokens.set(t.key, t)
    for (const k of snap.accessKeys) this.keys.set(k.accessKeyId, k)
    this._version = snap.version
  }

  /** The state version: increases by one with every committed mutation. */
  get version(): number {
    return this._version
  }

  /** Calls `fn` after every committed mutation, with the new version. Returns an unsubscribe. */
  onChange(fn: (version: number) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  close(): void {
    this.store.close()
  }

  // ---------------------------------------------------------------- plumbing

  private nextSeq(): number {
    return ++this.state.seq
  }

  private commit(put: Resource[], del: Resource[] = [], accessKey?: AccessKey): void {
    const version = this._version + 1
    const idem = this.pendingToken
    this.pendingToken = undefined
    this.store.commit({
      put,
      delete: del,
      version,
      ...(idem === undefined ? {} : { idempotency: idem }),
      ...(accessKey === undefined ? {} : { accessKey }),
    })
    this._version = version
    this.state.apply(put, del)
    if (idem !== undefined) this.tokens.set(idem.key, idem)
    if (accessKey !== undefined) this.keys.set(accessKey.accessKeyId, accessKey)
    for (const fn of this.listeners) fn(version)
  }

  /**
   * Runs a Create once per client token: a repeat with the same token and parameters returns
   * the first result; the same token with other parameters is `IdempotentParameterMismatch`.
   * `create` must commit exactly once (the token is written in the same transaction).
   */
  private idempotent<T>(idem: Idempotency | undefined, create: () => T): T {
    if (idem?.clientToken === undefined) return create()
    const token = idem.clientToken
    if (token.length > 64 || !/^[\x20-\x7e]*$/.test(token)) {
      throw invalidValue('The client token must be 64 or fewer printable ASCII characters.')
    }
    const key = `${idem.action}:${token}`
    const seen = this.tokens.get(key)
    if (seen !== undefined) {
      if (seen.fingerprint !== idem.fingerprint) {
        throw new ApiError(
          'IdempotentParameterMismatch',
          `The client token '${token}' was already used with different parameters.`,
        )
      }
      return seen.result as T
    }
    // `create` fills the result in with `remember`; `commit` writes it with the resource.
    this.pendingToken = { key, fingerprint: idem.fingerprint, result: undefined, createdAt: Date.now() }
    try {
      return create()
    } finally {
      this.pendingToken = undefined
    }
  }

  /** Sets the result that an idempotent create's commit stores with its token. */
  private remember(result: unknown): void {
    if (this.pendingToken !== undefined) this.pendingToken.result = structuredClone(result)
  }

  private now(): string {
    return new Date().toISOString()
  }

  // ---------------------------------------------------------------- lookups with AWS errors

  /** The VPC, or `InvalidVpcID.Malformed` / `InvalidVpcID.NotFound`. */
  vpc(id: string): Vpc {
    if (!isIdOf('vpc', id)) throw new ApiError('InvalidVpcID.Malformed', `Invalid id: "${id}"`)
    const v = this.state.get('vpc', id)
    if (v === undefined) throw new ApiError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`)
    return v
  }

  subnet(id: string): Subnet {
    if (!isIdOf('subnet', id)) throw new ApiError('InvalidSubnetID.Malformed', `Invalid id: "${id}"`)
    const s = this.state.get('subnet', id)
    if (s === undefined)
      throw new ApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`)
    return s
  }

  networkInterface(id: string): NetworkInterface {
    if (!isIdOf('eni', id)) throw new ApiError('InvalidNetworkInterfaceId.Malformed', `Invalid id: "${id}"`)
    const e = this.state.get('network-interface', id)
    if (e === undefined) {
      throw new ApiError(
        'InvalidNetworkInterfaceID.NotFound',
        `The networkInterface ID '${id}' does not exist`,
      )
    }
    return e
  }

  instance(id: string): Instance {
    if (!isIdOf('i', id)) throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`)
    const i = this.state.get('instance', id)
    if (i === undefined)
      throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`)
    return i
  }

  target(id: string): TrafficMirrorTarget {
    if (!isIdOf('tmt', id))
      throw new ApiError('InvalidTrafficMirrorTargetId.Malformed', `Invalid id: "${id}"`)
    const t = this.state.get('traffic-mirror-target', id)
    if (t === undefined) {
      throw new ApiError(
        'InvalidTrafficMirrorTargetId.NotFound',
        `The traffic mirror target '${id}' does not exist.`,
      )
    }
    return t
  }

  filter(id: string): TrafficMirrorFilter {
    if (!isIdOf('tmf', id))
      throw new ApiError('InvalidTrafficMirrorFilterId.Malformed', `Invalid id: "${id}"`)
    const f = this.state.get('traffic-mirror-filter', id)
    if (f === undefined) {
      throw new ApiError(
        'InvalidTrafficMirrorFilterId.NotFound',
        `The traffic mirror filter '${id}' does not exist.`,
      )
    }
    return f
  }

  rule(id: string): TrafficMirrorFilterRule {
    if (!isIdOf('tmfr', id)) {
      throw new ApiError('InvalidTrafficMirrorFilterRuleId.Malformed', `Invalid id: "${id}"`)
    }
    const r = this.state.get('traffic-mirror-filter-rule', id)
    if (r === undefined) {
      throw new ApiError(
        'InvalidTrafficMirrorFilterRuleId.NotFound',
        `The traffic mirror filter rule '${id}' does not exist.`,
      )
    }
    return r
  }

  session(id: string): TrafficMirrorSession {
    if (!isIdOf('tms', id))
      throw new ApiError('InvalidTrafficMirrorSessionId.Malformed', `Invalid id: "${id}"`)
    const s = this.state.get('traffic-mirror-session', id)
    if (s === undefined) {
      throw new ApiError(
        'InvalidTrafficMirrorSessionId.NotFound',
        `The traffic mirror session '${id}' does not exist.`,
      )
    }
    return s
  }

  /** The rules of a filter in evaluation order (rule number ascending), one direction. */
  rulesOf(filterId: string, direction: 'ingress' | 'egress'): TrafficMirrorFilterRule[] {
    const out: TrafficMirrorFilterRule[] = []
    for (const id of this.state.rulesByFilter.get(filterId)) {
      const r = this.state.get('traffic-mirror-filter-rule', id)!
      if (r.trafficDirection === direction) out.push(r)
    }
    return out.sort((a, b) => a.ruleNumber - b.ruleNumber)
  }

  // ---------------------------------------------------------------- tags

  /** Validates tags (key 1–127 chars, not `aws:`; value ≤ 256; no duplicate key; ≤ 50). */
  validateTags(tags: Tag[]): Tag[] {
    const seen = new Set<string>()
    for (const t of tags) {
      if (t.key.length === 0 || [...t.key].length > 127) {
        throw new ApiError('InvalidParameterValue', `Tag key '${t.key}' must be 1 to 127 characters long.`)
      }
      if (t.key.toLowerCase().startsWith('aws:')) {
        throw new ApiError(
          'InvalidParameterValue',
          `Tag keys starting with 'aws:' are reserved for internal use`,
        )
      }
      if ([...t.value].length > 256) {
        throw new ApiError('InvalidParameterValue', `Tag value for key '${t.key}' exceeds 256 characters.`)
      }
      if (seen.has(t.key))
        throw new ApiError('InvalidParameterValue', `Duplicate tag key '${t.key}' specified.`)
      seen.add(t.key)
    }
    if (tags.length > this.quotas.tagsPerResource) {
      throw new ApiError(
        'TagLimitExceeded',
        `The maximum number of tags per resource (${this.quotas.tagsPerResource}) was exceeded.`,
      )
    }
    return tags.map((t) => ({ key: t.key, value: t.value }))
  }

  private taggable(id: string): Resource {
    const dash = id.lastIndexOf('-')
    const kind = dash > 0 ? TAGGABLE[id.slice(0, dash)] : undefined
    if (kind === undefined || !isIdOf(id.slice(0, dash), id)) {
      throw new ApiError('InvalidID', `The ID '${id}' is not valid`)
    }
    const r = this.state.get(kind, id)
    if (r === undefined) {
      switch (kind) {
        case 'vpc':
          return this.vpc(id)
        case 'subnet':
          return this.subnet(id)
        case 'instance':
          return this.instance(id)
        case 'network-interface':
          return this.networkInterface(id)
        case 'traffic-mirror-target':
          return this.target(id)
        case 'traffic-mirror-filter':
          return this.filter(id)
        case 'traffic-mirror-filter-rule':
          return this.rule(id)
        case 'traffic-mirror-session':
          return this.session(id)
        default:
          throw new ApiError('InvalidFlowLogId.NotFound', `The flow log ID '${id}' does not exist`)
      }
    }
    return r
  }

  /** CreateTags: adds or overwrites tags on every resource, all or nothing. */
  createTags(resourceIds: string[], tags: Tag[]): void {
    const valid = this.validateTags(tags)
    const put: Resource[] = []
    for (const id of new Set(resourceIds)) {
      const r = this.taggable(id)
      const merged = new Map(r.tags.map((t) => [t.key, t.value]))
      for (const t of valid) merged.set(t.key, t.value)
      if (merged.size > this.quotas.tagsPerResource) {
        throw new ApiError(
          'TagLimitExceeded',
          `The maximum number of tags per resource (${this.quotas.tagsPerResource}) was exceeded for '${id}'.`,
        )
      }
      put.push({ ...r, tags: [...merged].map(([key, value]) => ({ key, value })) } as Resource)
    }
    this.commit(put)
  }

  /**
   * DeleteTags: no tags given → every tag; a tag with a value is removed only when the value
   * matches; a tag given with no value is removed whatever its value.
   */
  deleteTags(resourceIds: string[], tags: { key: string; value?: string | undefined }[]): void {
    const put: Resource[] = []
    for (const id of new Set(resourceIds)) {
      const r = this.taggable(id)
      const kept =
        tags.length === 0
          ? []
          : r.tags.filter(
              (t) => !tags.some((d) => d.key === t.key && (d.value === undefined || d.value === t.value)),
            )
      put.push({ ...r, tags: kept } as Resource)
    }
    this.commit(put)
  }

  // ---------------------------------------------------------------- VPCs and subnets

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
    const validTags = this.validateTags(tags)
    return this.idempotent(idem, () => {
      const vpc: Vpc = {
        kind: 'vpc',
        id: newId(ID_PREFIX.vpc),
        seq: this.nextSeq(),
        cidrBlock: c.text,
        cidrAssociationId: newId(ID_PREFIX.vpcCidrAssoc),
        instanceTenancy: tenancy,
        createdAt: this.now(),
        tags: validTags,
      }
      this.remember(vpc)
      this.commit([vpc])
      return vpc
    })
  }

  deleteVpc(id: string): void {
    const vpc = this.vpc(id)
    if (this.state.subnetsByVpc.count(id) > 0) {
      throw new ApiError('DependencyViolation', `The vpc '${id}' has dependencies and cannot be deleted.`)
    }
    const flowLogs = [...this.state.flowLogsByResource.get(id)].map((f) => this.state.get('flow-log', f)!)
    this.commit([], [vpc, ...flowLogs])
  }

  /** The availability zones of the region: `<region>a` … `<region>f`. */
  availabilityZones(): string[] {
    return ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => this.region + l)
  }

  /** The AZ id of an AZ name, e.g. us-east-1a → use1-az1. */
  azId(az: string): string {
    const words = this.region.split('-')
    const short = words
      .map((w, i) => {
        if (i === 0 || /^\d+$/.test(w)) return w
        const m = /^(north|south)(east|west)$/.exec(w)
        return m === null ? w[0] : m[1]![0]! + m[2]![0]!
      })
      .join('')
    return `${short}-az${az.charCodeAt(az.length - 1) - 96}`
  }

  createSubnet(
    input: {
      vpcId: string
      cidrBlock: string
      availabilityZone?: string | undefined
      availabilityZoneId?: string | undefined
    },
    tags: Tag[],
    idem?: Idempotency,
  ): Subnet {
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
    for (const sid of this.state.subnetsByVpc.get(vpc.id)) {
      const other = this.state.get('subnet', sid)!
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
    const validTags = this.validateTags(tags)
    return this.idempotent(idem, () => {
      const zone = az ?? zones[0]!
      const subnet: Subnet = {
        kind: 'subnet',
        id: newId(ID_PREFIX.subnet),
        seq: this.nextSeq(),
        vpcId: vpc.id,
        cidrBlock: c.text,
        availabilityZone: zone,
        availabilityZoneId: this.azId(zone),
        createdAt: this.now(),
        tags: validTags,
      }
      this.remember(subnet)
      this.commit([subnet])
      return subnet
    })
  }

  deleteSubnet(id: string): void {
    const subnet = this.subnet(id)
    if (this.state.enisBySubnet.count(id) > 0) {
      throw new ApiError('DependencyViolation', `The subnet '${id}' has dependencies and cannot be deleted.`)
    }
    const flowLogs = [...this.state.flowLogsByResource.get(id)].map((f) => this.state.get('flow-log', f)!)
    this.commit([], [subnet, ...flowLogs])
  }

  /** Addresses of a subnet still free (size minus the 5 AWS reserves, minus ENI addresses). */
  availableIpAddressCount(subnet: Subnet): number {
    const size = cidrSize(tryParseCidr(subnet.cidrBlock, PREFIX_REQUIRED)!)
    let used = 0
    for (const id of this.state.enisBySubnet.get(subnet.id)) {
      const e = this.state.get('network-interface', id)!
      used += 1 + e.secondaryPrivateIpAddresses.length
    }
    return Math.max(0, size - 5 - used)
  }

  // ---------------------------------------------------------------- instances and interfaces (admin)

  /** The subnet whose CIDR holds the address (the most specific), if any. */
  subnetForAddress(address: string): Subnet | undefined {
    const a = parseAddress(address)
    if (a === undefined) return undefined
    let best: Subnet | undefined
    let bestPrefix = -1
    for (const s of this.state.table('subnet').values()) {
      const c = tryParseCidr(s.cidrBlock, PREFIX_REQUIRED)!
      if (cidrContains(c, a) && c.prefixLength > bestPrefix) {
        best = s
        bestPrefix = c.prefixLength
      }
    }
    return best
  }

  private addressInUse(subnetId: string, address: string, except?: string): boolean {
    for (const id of this.state.enisByAddress.get(`${subnetId}|${address}`)) if (id !== except) return true
    return false
  }

  private buildInterface(
    input: RegisterInterfaceInput,
    instance: Instance | undefined,
    existing: NetworkInterface | undefined,
    deviceIndex: number,
  ): NetworkInterface {
    const addr = parseAddress(input.privateIpAddress)
    if (addr === undefined || addr.family !== 4) {
      throw invalidValue(`Value (${input.privateIpAddress}) for parameter privateIpAddress is invalid.`)
    }
    let subnet: Subnet
    if (input.subnetId !== undefined) {
      subnet = this.subnet(input.subnetId)
      if (!cidrContains(tryParseCidr(subnet.cidrBlock, PREFIX_REQUIRED)!, addr)) {
        throw invalidValue(
          `Address ${input.privateIpAddress} does not fall within the subnet's address range`,
        )
      }
    } else {
      const s = this.subnetForAddress(input.privateIpAddress)
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
    if (description.length > 255) throw invalidValue('The description must be 255 characters or fewer.')
    const now = this.now()
    const eni: NetworkInterface = {
      kind: 'network-interface',
      id: existing?.id ?? newId(ID_PREFIX.networkInterface),
      seq: existing?.seq ?? this.nextSeq(),
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
      seq: this.nextSeq(),
      hostname,
      instanceType: instanceType ?? 'mirrorflow.host',
      launchTime: this.now(),
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
      instance = this.state.get('instance', input.instanceId)
      if (instance === undefined) {
        instance = this.newInstance(input.instanceId, input.instanceId, undefined)
        put.push(instance)
      }
    }
    const deviceIndex = instance === undefined ? 0 : this.state.enisByInstance.count(instance.id)
    const eni = this.buildInterface(input, instance, undefined, deviceIndex)
    put.push(eni)
    this.commit(put)
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
    if (input.hostname.length === 0 || input.hostname.length > 255)
      throw invalidValue('Hostname must be 1 to 255 characters.')
    let instance: Instance | undefined
    if (input.instanceId !== undefined) {
      if (!isIdOf('i', input.instanceId))
        throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${input.instanceId}"`)
      instance = this.state.get('instance', input.instanceId)
    } else {
      const ids = [...this.state.instancesByHostname.get(input.hostname)]
      if (ids.length > 0) instance = this.state.get('instance', ids[0]!)
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
    const mine = [...this.state.enisByInstance.get(instance.id)].map((id) =>
      this.state.get('network-interface', id)!,
    )
    const interfaces: NetworkInterface[] = []
    const unmatched: RegisterInstanceResult['unmatched'] = []
    let nextIndex = mine.reduce((m, e) => Math.max(m, (e.deviceIndex ?? 0) + 1), 0)
    for (const ifc of input.interfaces) {
      const mac = ifc.macAddress?.toLowerCase()
      let existing: NetworkInterface | undefined
      if (mac !== undefined) {
        for (const id of this.state.enisByMac.get(mac)) {
          const e = this.state.get('network-interface', id)!
          if (e.instanceId === undefined || e.instanceId === instance.id) existing = e
        }
      }
      if (existing === undefined && ifc.deviceName !== undefined) {
        existing = mine.find((e) => e.deviceName === ifc.deviceName)
      }
      const miss = (reason: string): void => {
        unmatched.push({ deviceName: ifc.deviceName ?? '', privateIpAddress: ifc.privateIpAddress, reason })
      }
      if (parseAddress(ifc.privateIpAddress)?.family !== 4) {
        miss('the primary address is not an IPv4 address')
        continue
      }
      if (ifc.subnetId === undefined && this.subnetForAddress(ifc.privateIpAddress) === undefined) {
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
    this.commit(put)
    return { instance, interfaces, unmatched }
  }

  /** Admin: removes an interface; its sessions go with it (as when AWS deletes a source ENI). */
  deregisterInterface(id: string): void {
    const eni = this.networkInterface(id)
    if (this.state.targetsByEni.count(id) > 0) {
      throw new ApiError(
        'InterfaceInUseByTrafficMirrorTarget',
        `The interface '${id}' is a traffic mirror target.`,
      )
    }
    const del: Resource[] = [eni]
    for (const s of this.state.sessionsByEni.get(id)) del.push(this.state.get('traffic-mirror-session', s)!)
    for (const f of this.state.flowLogsByResource.get(id)) del.push(this.state.get('flow-log', f)!)
    this.commit([], del)
  }

  /** Admin: removes an instance and detaches (keeps) its interfaces. */
  deregisterInstance(id: string): void {
    const inst = this.instance(id)
    const put: Resource[] = []
    for (const e of this.state.enisByInstance.get(id)) {
      const eni = { ...this.state.get('network-interface', e)! }
      delete eni.instanceId
      delete eni.attachmentId
      delete eni.deviceIndex
      delete eni.attachTime
      put.push(eni)
    }
    this.commit(put, [inst])
  }

  /** Admin: registers (or replaces the addresses of) an NLB ARN or a GWLB endpoint id. */
  registerLoadBalancer(input: {
    arn?: string | undefined
    vpcEndpointId?: string | undefined
    addresses: string[]
  }): LoadBalancer {
    if ((input.arn === undefined) === (input.vpcEndpointId === undefined)) {
      throw new ApiError(
        'InvalidParameterCombination',
        'Specify exactly one of LoadBalancerArn and VpcEndpointId.',
      )
    }
    if (input.arn !== undefined && !NLB_ARN.test(input.arn)) {
      throw new ApiError(
        'InvalidNetworkLoadBalancerArn.Malformed',
        `The ARN '${input.arn}' is not a valid network load balancer ARN.`,
      )
    }
    if (input.vpcEndpointId !== undefined && !isIdOf('vpce', input.vpcEndpointId)) {
      throw new ApiError('InvalidVpcEndpointId.Malformed', `Invalid id: "${input.vpcEndpointId}"`)
    }
    if (input.addresses.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter Address.')
    for (const a of input.addresses) {
      if (parseAddress(a) === undefined) throw invalidValue(`Value (${a}) for parameter Address is invalid.`)
    }
    const id = (input.arn ?? input.vpcEndpointId)!
    const existing = this.state.get('load-balancer', id)
    const lb: LoadBalancer = {
      kind: 'load-balancer',
      id,
      seq: existing?.seq ?? this.nextSeq(),
      type: input.arn !== undefined ? 'network-load-balancer' : 'gateway-load-balancer-endpoint',
      addresses: [...new Set(input.addresses)],
      tags: [],
    }
    this.commit([lb])
    return lb
  }

  // ---------------------------------------------------------------- traffic mirror targets

  /**
   * CreateTrafficMirrorTarget. Exactly one of the three target kinds: the codes for none
   * (`MissingParameter`) and several (`InvalidParameterCombination`) are UNCONFIRMED in AWS; the
   * spec recommends them. GWLB-endpoint codes (`InvalidVpcEndpointId.*`) are UNCONFIRMED too.
   */
  createTarget(input: CreateTargetInput, idem?: Idempotency): TrafficMirrorTarget {
    const given = [
      input.networkInterfaceId,
      input.networkLoadBalancerArn,
      input.gatewayLoadBalancerEndpointId,
    ].filter((x) => x !== undefined).length
    if (given === 0) {
      throw new ApiError(
        'MissingParameter',
        'The request must contain one of the parameters NetworkInterfaceId, NetworkLoadBalancerArn or GatewayLoadBalancerEndpointId.',
      )
    }
    if (given > 1) {
      throw new ApiError(
        'InvalidParameterCombination',
        'Only one of NetworkInterfaceId, NetworkLoadBalancerArn and GatewayLoadBalancerEndpointId can be specified.',
      )
    }
    this.checkDescription(input.description)
    const tags = this.validateTags(input.tags)
    let type: TrafficMirrorTarget['type']
    if (input.networkInterfaceId !== undefined) {
      type = 'network-interface'
      this.networkInterface(input.networkInterfaceId)
    } else if (input.networkLoadBalancerArn !== undefined) {
      type = 'network-load-balancer'
      const arn = input.networkLoadBalancerArn
      if (!NLB_ARN.test(arn)) {
        throw new ApiError(
          'InvalidNetworkLoadBalancerArn.Malformed',
          `The ARN '${arn}' is not a valid network load balancer ARN.`,
        )
      }
      if (this.state.get('load-balancer', arn) === undefined) {
        throw new ApiError(
          'InvalidNetworkLoadBalancerArn.NotFound',
          `The network load balancer '${arn}' does not exist.`,
        )
      }
    } else {
      type = 'gateway-load-balancer-endpoint'
      const id = input.gatewayLoadBalancerEndpointId!
      if (!isIdOf('vpce', id)) throw new ApiError('InvalidVpcEndpointId.Malformed', `Invalid id: "${id}"`)
      if (this.state.get('load-balancer', id) === undefined) {
        throw new ApiError('InvalidVpcEndpointId.NotFound', `The Vpc Endpoint Id '${id}' does not exist`)
      }
    }
    return this.idempotent(idem, () => {
      // Checked inside: an idempotent retry must not fail on the target it created itself.
      if (input.networkInterfaceId !== undefined) {
        const eni = input.networkInterfaceId
        if (this.state.targetsByEni.count(eni) > 0) {
          throw new ApiError(
            'InterfaceInUseByTrafficMirrorTarget',
            `The interface '${eni}' is already a traffic mirror target.`,
          )
        }
        if (this.state.sessionsByEni.count(eni) > 0) {
          throw new ApiError(
            'InterfaceInUseByTrafficMirrorSession',
            `The interface '${eni}' is the source of a traffic mirror session and cannot be a target.`,
          )
        }
      }
      if (
        input.networkLoadBalancerArn !== undefined &&
        this.state.targetsByNlb.count(input.networkLoadBalancerArn) > 0
      ) {
        throw new ApiError(
          'NlbInUseByTrafficMirrorTargetException',
          'The Network Load Balancer is already configured as a Traffic Mirror target.',
        )
      }
      if (this.state.table('traffic-mirror-target').size >= this.quotas.targetsPerAccount) {
        throw new ApiError(
          'TrafficMirrorTargetLimitExceeded',
          'The maximum number of traffic mirror targets has been reached.',
        )
      }
      const t: TrafficMirrorTarget = {
        kind: 'traffic-mirror-target',
        id: newId(ID_PREFIX.trafficMirrorTarget),
        seq: this.nextSeq(),
        type,
        tags,
      }
      if (input.networkInterfaceId !== undefined) t.networkInterfaceId = input.networkInterfaceId
      if (input.networkLoadBalancerArn !== undefined) t.networkLoadBalancerArn = input.networkLoadBalancerArn
      if (input.gatewayLoadBalancerEndpointId !== undefined)
        t.gatewayLoadBalancerEndpointId = input.gatewayLoadBalancerEndpointId
      if (input.description !== undefined) t.description = input.description
      this.remember(t)
      this.commit([t])
      return t
    })
  }

  deleteTarget(id: string): void {
    const t = this.target(id)
    if (this.state.sessionsByTarget.count(id) > 0) {
      throw new ApiError(
        'TrafficMirrorTargetInUseException',
        `The traffic mirror target '${id}' is in use by a session.`,
      )
    }
    this.commit([], [t])
  }

  /** The appliance addresses a target resolves to (ENI: its private IP; NLB/GWLBe: registered). */
  targetAddresses(t: TrafficMirrorTarget): string[] {
    if (t.networkInterfaceId !== undefined) {
      const eni = this.state.get('network-interface', t.networkInterfaceId)
      return eni === undefined ? [] : [eni.privateIpAddress]
    }
    const lb = this.state.get('load-balancer', (t.networkLoadBalancerArn ?? t.gatewayLoadBalancerEndpointId)!)
    return lb === undefined ? [] : [...lb.addresses]
  }

  // ---------------------------------------------------------------- filters and rules

  private checkDescription(d: string | undefined): void {
    if (d !== undefined && d.length > 255)
      throw invalidValue('The description must be 255 characters or fewer.')
  }

  createFilter(description: string | undefined, tags: Tag[], idem?: Idempotency): TrafficMirrorFilter {
    this.checkDescription(description)
    const validTags = this.validateTags(tags)
    return this.idempotent(idem, () => {
      if (this.state.table('traffic-mirror-filter').size >= this.quotas.filtersPerAccount) {
        throw new ApiError(
          'TrafficMirrorFilterLimitExceeded',
          'The maximum number of traffic mirror filters has been reached.',
        )
      }
      const f: TrafficMirrorFilter = {
        kind: 'traffic-mirror-filter',
        id: newId(ID_PREFIX.trafficMirrorFilter),
        seq: this.nextSeq(),
        networkServices: [],
        tags: validTags,
      }
      if (description !== undefined) f.description = description
      this.remember(f)
      this.commit([f])
      return f
    })
  }

  deleteFilter(id: string): void {
    const f = this.filter(id)
    if (this.state.sessionsByFilter.count(id) > 0) {
      throw new ApiError(
        'TrafficMirrorFilterInUse',
        `The traffic mirror filter '${id}' is in use by a session.`,
      )
    }
    const rules = [...this.state.rulesByFilter.get(id)].map((r) =>
      this.state.get('traffic-mirror-filter-rule', r)!,
    )
    this.commit([], [f, ...rules])
  }

  /** Adding a present service or removing an absent one is a no-op (UNCONFIRMED; spec §5.3). */
  modifyNetworkServices(id: string, add: string[], remove: string[]): TrafficMirrorFilter {
    const f = this.filter(id)
    for (const s of [...add, ...remove]) {
      if (s !== 'amazon-dns')
        throw invalidValue(`Value (${s}) for parameter NetworkService is invalid. Valid values: amazon-dns.`)
    }
    const set = new Set(f.networkServices)
    for (const s of add) set.add(s)
    for (const s of remove) set.delete(s)
    const next: TrafficMirrorFilter = { ...f, networkServices: [...set] }
    this.commit([next])
    return next
  }

  /** Checks and completes a rule's fields (create: all required given; modify: merged). */
  private checkRule(r: TrafficMirrorFilterRule, exceptId: string | undefined): void {
    if (r.trafficDirection !== 'ingress' && r.trafficDirection !== 'egress') {
      throw invalidValue(
        `Value (${String(r.trafficDirection)}) for parameter TrafficDirection is invalid. Valid values: ingress, egress.`,
      )
    }
    const bad = checkFilterRule(r, PREFIX_REQUIRED)
    if (bad !== null) throw invalidValue(bad.message)
    this.checkDescription(r.description)
    for (const id of this.state.rulesByFilter.get(r.filterId)) {
      if (id === exceptId) continue
      const o = this.state.get('traffic-mirror-filter-rule', id)!
      if (o.trafficDirection === r.trafficDirection && o.ruleNumber === r.ruleNumber) {
        throw new ApiError(
          'TrafficMirrorFilterRuleAlreadyExists',
          `A rule with number ${r.ruleNumber} already exists in the ${r.trafficDirection} rules of filter '${r.filterId}'.`,
        )
      }
    }
  }

  private portRange(name: string, p: Partial<PortRange> | undefined): PortRange | undefined {
    if (p === undefined) return undefined
    if (p.fromPort === undefined || p.toPort === undefined) {
      throw invalidValue(`${name} requires both FromPort and ToPort.`)
    }
    return { fromPort: p.fromPort, toPort: p.toPort }
  }

  createRule(filterId: string, f: RuleFields, tags: Tag[], idem?: Idempotency): TrafficMirrorFilterRule {
    this.filter(filterId)
    for (const [k, v] of [
      ['TrafficDirection', f.trafficDirection],
      ['RuleNumber', f.ruleNumber],
      ['RuleAction', f.ruleAction],
      ['SourceCidrBlock', f.sourceCidrBlock],
      ['DestinationCidrBlock', f.destinationCidrBlock],
    ] as const) {
      if (v === undefined)
        throw new ApiError('MissingParameter', `The request must contain the parameter ${k}`)
    }
    const rule: TrafficMirrorFilterRule = {
      kind: 'traffic-mirror-filter-rule',
      id: '',
      seq: 0,
      filterId,
      trafficDirection: f.trafficDirection as 'ingress',
      ruleNumber: f.ruleNumber!,
      ruleAction: f.ruleAction as 'accept',
      destinationCidrBlock: f.destinationCidrBlock!,
      sourceCidrBlock: f.sourceCidrBlock!,
      tags: this.validateTags(tags),
    }
    if (f.protocol !== undefined) rule.protocol = f.protocol
    const d = this.portRange('DestinationPortRange', f.destinationPortRange)
    if (d !== undefined) rule.destinationPortRange = d
    const s = this.portRange('SourcePortRange', f.sourcePortRange)
    if (s !== undefined) rule.sourcePortRange = s
    if (f.description !== undefined) rule.description = f.description
    return this.idempotent(idem, () => {
      this.checkRule(rule, undefined)
      if (this.state.rulesByFilter.count(filterId) >= this.quotas.rulesPerFilter) {
        throw new ApiError(
          'TrafficMirrorFilterRuleLimitExceeded',
          `The maximum number of rules per traffic mirror filter (${this.quotas.rulesPerFilter}) has been reached.`,
        )
      }
      rule.id = newId(ID_PREFIX.trafficMirrorFilterRule)
      rule.seq = this.nextSeq()
      this.remember(rule)
      this.commit([rule])
      return rule
    })
  }

  modifyRule(id: string, f: RuleFields, removeFields: string[]): TrafficMirrorFilterRule {
    const old = this.rule(id)
    const allowed = ['destination-port-range', 'source-port-range', 'protocol', 'description']
    for (const r of removeFields) {
      if (!allowed.includes(r)) {
        throw invalidValue(
          `Value (${r}) for parameter RemoveField is invalid. Valid values: ${allowed.join(', ')}.`,
        )
      }
    }
    const both: [string, unknown][] = [
      ['destination-port-range', f.destinationPortRange],
      ['source-port-range', f.sourcePortRange],
      ['protocol', f.protocol],
      ['description', f.description],
    ]
    for (const [name, v] of both) {
      if (v !== undefined && removeFields.includes(name)) {
        throw new ApiError(
          'InvalidParameterCombination',
          `The field '${name}' cannot be both set and removed.`,
        )
      }
    }
    const next: TrafficMirrorFilterRule = { ...old }
    if (f.trafficDirection !== undefined) next.trafficDirection = f.trafficDirection as 'ingress'
    if (f.ruleNumber !== undefined) next.ruleNumber = f.ruleNumber
    if (f.ruleAction !== undefined) next.ruleAction = f.ruleAction as 'accept'
    if (f.protocol !== undefined) next.protocol = f.protocol
    const d = this.portRange('DestinationPortRange', f.destinationPortRange)
    if (d !== undefined) next.destinationPortRange = d
    const s = this.portRange('SourcePortRange', f.sourcePortRange)
    if (s !== undefined) next.sourcePortRange = s
    if (f.sourceCidrBlock !== undefined) next.sourceCidrBlock = f.sourceCidrBlock
    if (f.destinationCidrBlock !== undefined) next.destinationCidrBlock = f.destinationCidrBlock
    if (f.description !== undefined) next.description = f.description
    if (removeFields.includes('destination-port-range')) delete next.destinationPortRange
    if (removeFields.includes('source-port-range')) delete next.sourcePortRange
    if (removeFields.includes('protocol')) delete next.protocol
    if (removeFields.includes('description')) delete next.description
    this.checkRule(next, id)
    this.commit([next])
    return next
  }

  deleteRule(id: string): void {
    this.commit([], [this.rule(id)])
  }

  // ---------------------------------------------------------------- sessions

  private checkSessionNumber(n: number, eni: string, exceptId: string | undefined): void {
    if (!Number.isInteger(n) || n < 1 || n > 32766) {
      throw invalidValue(`Value (${n}) for parameter SessionNumber is invalid. Valid values: 1-32766.`)
    }
    // Uniqueness per source: UNCONFIRMED in AWS; the spec recommends rejecting duplicates.
    for (const id of this.state.sessionsByEni.get(eni)) {
      if (id === exceptId) continue
      if (this.state.get('traffic-mirror-session', id)!.sessionNumber === n) {
        throw invalidValue(
          `The session number ${n} is already used by another session of the interface '${eni}'.`,
        )
      }
    }
  }

  private checkPacketLength(n: number | undefined): void {
    // Model: 1–8500 (the 35/55-byte floor of the guide is applied by the data plane; spec §7.4).
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 8500)) {
      throw invalidValue(`Value (${n}) for parameter PacketLength is invalid. Valid values: 1-8500.`)
    }
  }

  private checkVni(n: number | undefined): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 16_777_215)) {
      throw invalidValue(`Value (${n}) for parameter VirtualNetworkId is invalid. Valid values: 0-16777215.`)
    }
  }

  /** A random VNI that no session of the account uses (spec §1.5: "account-wide unique"). */
  private randomVni(): number {
    for (let i = 0; i < 1000; i++) {
      const v = randomInt(1, 16_777_216)
      if (this.state.sessionsByVni.count(String(v)) === 0) return v
    }
    throw new ApiError('InternalError', 'No free virtual network id could be found.')
  }

  /** Sources per ENI target: distinct source interfaces of the target's sessions. */
  private checkTargetSources(target: TrafficMirrorTarget, source: string, exceptSession?: string): void {
    if (target.type !== 'network-interface') return
    const sources = new Set<string>()
    for (const id of this.state.sessionsByTarget.get(target.id)) {
      if (id === exceptSession) continue
      sources.add(this.state.get('traffic-mirror-session', id)!.networkInterfaceId)
    }
    sources.add(source)
    if (sources.size > this.quotas.sourcesPerInterfaceTarget) {
      throw new ApiError(
        'TrafficMirrorSourcesPerTargetLimitExceeded',
        `The maximum number of sources (${this.quotas.sourcesPerInterfaceTarget}) for the traffic mirror target '${target.id}' has been reached.`,
      )
    }
  }

  createSession(input: CreateSessionInput, idem?: Idempotency): TrafficMirrorSession {
    const eni = this.networkInterface(input.networkInterfaceId)
    const target = this.target(input.targetId)
    this.filter(input.filterId)
    this.checkPacketLength(input.packetLength)
    this.checkVni(input.virtualNetworkId)
    this.checkDescription(input.description)
    const tags = this.validateTags(input.tags)
    return this.idempotent(idem, () => {
      this.checkSessionNumber(input.sessionNumber, eni.id, undefined)
      if (this.state.targetsByEni.count(eni.id) > 0) {
        throw new ApiError(
          'InterfaceInUseByTrafficMirrorTarget',
          `The interface '${eni.id}' is a traffic mirror target and cannot be a session source.`,
        )
      }
      if (this.state.sessionsByEni.count(eni.id) >= this.quotas.sessionsPerInterface) {
        throw new ApiError(
          'TrafficMirrorSessionsPerInterfaceLimitExceeded',
          `The maximum number of sessions (${this.quotas.sessionsPerInterface}) for the interface '${eni.id}' has been reached.`,
        )
      }
      this.checkTargetSources(target, eni.id)
      if (this.state.table('traffic-mirror-session').size >= this.quotas.sessionsPerAccount) {
        throw new ApiError(
          'TrafficMirrorSessionLimitExceeded',
          'The maximum number of traffic mirror sessions has been reached.',
        )
      }
      const s: TrafficMirrorSession = {
        kind: 'traffic-mirror-session',
        id: newId(ID_PREFIX.trafficMirrorSession),
        seq: this.nextSeq(),
        networkInterfaceId: eni.id,
        targetId: target.id,
        filterId: input.filterId,
        sessionNumber: input.sessionNumber,
        virtualNetworkId: input.virtualNetworkId ?? this.randomVni(),
        tags,
      }
      // Model: "for sessions with NLB targets the default PacketLength will be set to 8500".
      const pl = input.packetLength ?? (target.type === 'network-load-balancer' ? 8500 : undefined)
      if (pl !== undefined) s.packetLength = pl
      if (input.description !== undefined) s.description = input.description
      this.remember(s)
      this.commit([s])
      return s
    })
  }

  modifySession(input: ModifySessionInput): TrafficMirrorSession {
    const old = this.session(input.sessionId)
    const allowed = ['packet-length', 'description', 'virtual-network-id']
    for (const r of input.removeFields) {
      if (!allowed.includes(r)) {
        throw invalidValue(
          `Value (${r}) for parameter RemoveField is invalid. Valid values: ${allowed.join(', ')}.`,
        )
      }
    }
    for (const [name, v] of [
      ['packet-length', input.packetLength],
      ['description', input.description],
      ['virtual-network-id', input.virtualNetworkId],
    ] as const) {
      if (v !== undefined && input.removeFields.includes(name)) {
        throw new ApiError(
          'InvalidParameterCombination',
          `The field '${name}' cannot be both set and removed.`,
        )
      }
    }
    const next: TrafficMirrorSession = { ...old }
    let target = this.target(old.targetId)
    if (input.targetId !== undefined) {
      target = this.target(input.targetId)
      next.targetId = target.id
      this.checkTargetSources(target, old.networkInterfaceId, old.id)
    }
    if (input.filterId !== undefined) next.filterId = this.filter(input.filterId).id
    if (input.sessionNumber !== undefined) {
      this.checkSessionNumber(input.sessionNumber, old.networkInterfaceId, old.id)
      next.sessionNumber = input.sessionNumber
    }
    this.checkPacketLength(input.packetLength)
    this.checkVni(input.virtualNetworkId)
    this.checkDescription(input.description)
    if (input.packetLength !== undefined) next.packetLength = input.packetLength
    if (input.virtualNetworkId !== undefined) next.virtualNetworkId = input.virtualNetworkId
    if (input.description !== undefined) next.description = input.description
    if (input.removeFields.includes('packet-length')) {
      delete next.packetLength
      if (target.type === 'network-load-balancer') next.packetLength = 8500
    }
    if (input.removeFields.includes('description')) delete next.description
    // UNCONFIRMED: the "default" VNI after RemoveField is taken to be a new random unused one.
    if (input.removeFields.includes('virtual-network-id')) next.virtualNetworkId = this.randomVni()
    this.commit([next])
    return next
  }

  deleteSession(id: string): void {
    this.commit([], [this.session(id)])
  }

  // ---------------------------------------------------------------- flow logs

  createFlowLogs(input: CreateFlowLogsInput, idem?: Idempotency): CreateFlowLogsResult {
    const types = [
      'VPC',
      'Subnet',
      'NetworkInterface',
      'TransitGateway',
      'TransitGatewayAttachment',
      'RegionalNatGateway',
    ]
    if (!types.includes(input.resourceType)) {
      throw invalidValue(
        `Value (${input.resourceType}) for parameter ResourceType is invalid. Valid values: ${types.join(', ')}.`,
      )
    }
    const tgw = input.resourceType.startsWith('TransitGateway')
    if (input.resourceIds.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
    if (input.resourceIds.length > (tgw ? 25 : 1000)) {
      throw invalidValue(`The number of ResourceIds cannot exceed ${tgw ? 25 : 1000}.`)
    }
    if (tgw && input.trafficType !== undefined) {
      throw new ApiError('InvalidParameter', 'TrafficType is not supported for transit gateway resources.')
    }
    if (!tgw && input.trafficType === undefined) {
      throw new ApiError('MissingParameter', 'The request must contain the parameter TrafficType')
    }
    if (input.trafficType !== undefined && !['ACCEPT', 'REJECT', 'ALL'].includes(input.trafficType)) {
      throw invalidValue(
        `Value (${input.trafficType}) for parameter TrafficType is invalid. Valid values: ACCEPT, REJECT, ALL.`,
      )
    }
    const destType = input.logDestinationType ?? 'cloud-watch-logs'
    if (!['cloud-watch-logs', 's3', 'kinesis-data-firehose'].includes(destType)) {
      throw invalidValue(
        `Value (${destType}) for parameter LogDestinationType is invalid. Valid values: cloud-watch-logs, s3, kinesis-data-firehose.`,
      )
    }
    if (input.logGroupName !== undefined && destType !== 'cloud-watch-logs') {
      throw new ApiError(
        'InvalidParameter',
        'LogDestination type must be cloud-watch-logs if LogGroupName is provided.',
      )
    }
    if (input.logGroupName !== undefined && input.logDestination !== undefined) {
      throw new ApiError(
        'InvalidParameter',
        'Please only provide LogGroupName or only provide LogDestination.',
      )
    }
    if (input.logGroupName === undefined && input.logDestination === undefined) {
      throw new ApiError('InvalidParameter', "LogDestination can't be empty if LogGroupName is not provided.")
    }
    if (input.logGroupName !== undefined && !/^[A-Za-z0-9_/.#-]{1,512}$/.test(input.logGroupName)) {
      throw invalidValue(`Value (${input.logGroupName}) for parameter LogGroupName is invalid.`)
    }
    const dest = input.logDestination
    if (dest !== undefined) {
      const re = destType === 's3' ? S3_ARN : destType === 'kinesis-data-firehose' ? FIREHOSE_ARN : CWL_ARN
      if (!re.test(dest)) {
        throw invalidValue(
          `LogDestination: ${dest} is not a valid ARN for the log destination type ${destType}.`,
        )
      }
      if (destType === 's3' && /^arn:[^:]+:s3:::[^/]+\/AWSLogs(\/|$)/.test(dest)) {
        throw invalidValue('LogDestination: AWSLogs cannot be used as the folder name of an S3 destination.')
      }
    }
    if (destType === 'cloud-watch-logs' && input.deliverLogsPermissionArn === undefined) {
      throw new ApiError(
        'InvalidParameter',
        "DeliverLogsPermissionArn can't be empty if LogDestinationType is cloud-watch-logs.",
      )
    }
    for (const [name, arn] of [
      ['DeliverLogsPermissionArn', input.deliverLogsPermissionArn],
      ['DeliverCrossAccountRole', input.deliverCrossAccountRole],
    ] as const) {
      if (arn !== undefined && !IAM_ROLE_ARN.test(arn))
        throw invalidValue(`Value (${arn}) for parameter ${name} is invalid.`)
    }
    const interval = input.maxAggregationInterval ?? (tgw ? 60 : 600)
    if (interval !== 60 && interval !== 600)
      throw new ApiError('InvalidParameter', 'Invalid Flow Log Max Aggregation Interval')
    if (tgw && interval !== 60)
      throw new ApiError('InvalidParameter', 'Invalid Flow Log Max Aggregation Interval')
    const logFormat = input.logFormat === undefined ? DEFAULT_LOG_FORMAT : validateLogFormat(input.logFormat)
    let destinationOptions: DestinationOptions | undefined
    if (input.destinationOptions !== undefined && destType !== 's3') {
      throw new ApiError(
        'InvalidParameter',
        'DestinationOptions are only supported for the s3 log destination type.',
      )
    }
    if (destType === 's3') {
      const o = input.destinationOptions ?? {}
      const ff = o.fileFormat ?? 'plain-text'
      if (ff !== 'plain-text' && ff !== 'parquet') {
        throw invalidValue(
          `Value (${String(ff)}) for parameter FileFormat is invalid. Valid values: plain-text, parquet.`,
        )
      }
      destinationOptions = {
        fileFormat: ff,
        hiveCompatiblePartitions: o.hiveCompatiblePartitions ?? false,
        perHourPartition: o.perHourPartition ?? false,
      }
    }
    const tfs = input.tagFieldSpecifications
    if (tfs !== undefined) {
      if (tfs.length < 1 || tfs.length > 3)
        throw invalidValue('TagFieldSpecifications must hold 1 to 3 specifications.')
      for (const s of tfs) {
        if (!['network-interface', 'instance', 'auto-scaling-group'].includes(s.resourceType)) {
          throw invalidValue(
            `Value (${s.resourceType}) for parameter TagFieldSpecification.ResourceType is invalid.`,
          )
        }
        if (
          s.tagKeys.length < 1 ||
          s.tagKeys.length > 2 ||
          s.tagKeys.some((k) => k.length < 1 || k.length > 128)
        ) {
          throw invalidValue('Each TagFieldSpecification must hold 1 or 2 tag keys of 1 to 128 characters.')
        }
      }
    }
    const tags = this.validateTags(input.tags)
    const trafficType = (input.trafficType ?? 'ALL') as FlowLog['trafficType']
    const destKey = `${destType}|${dest ?? ''}|${input.logGroupName ?? ''}|${trafficType}`
    return this.idempotent(idem, () => {
      const result: CreateFlowLogsResult = { flowLogIds: [], unsuccessful: [] }
      const put: FlowLog[] = []
      const now = this.now()
      for (const rid of new Set(input.resourceIds)) {
        const failure = this.flowLogResourceError(input.resourceType, rid)
        if (failure !== undefined) {
          result.unsuccessful.push({ resourceId: rid, ...failure })
          continue
        }
        for (const fid of this.state.flowLogsByResource.get(rid)) {
          const o = this.state.get('flow-log', fid)!
          if (
            `${o.logDestinationType}|${o.logDestination ?? ''}|${o.logGroupName ?? ''}|${o.trafficType}` ===
            destKey
          ) {
            throw new ApiError(
              'FlowLogAlreadyExists',
              'Error. There is an existing Flow Log with the same configuration and log destination.',
            )
          }
        }
        const fl: FlowLog = {
          kind: 'flow-log',
          id: newId(ID_PREFIX.flowLog),
          seq: this.nextSeq(),
          resourceId: rid,
          resourceType: input.resourceType as FlowLog['resourceType'],
          trafficType,
          logDestinationType: destType as FlowLog['logDestinationType'],
          logFormat,
          maxAggregationInterval: interval,
          creationTime: now,
          tags,
        }
        if (dest !== undefined) fl.logDestination = dest
        if (input.logGroupName !== undefined) fl.logGroupName = input.logGroupName
        if (destType === 'cloud-watch-logs' && dest === undefined) {
          fl.logDestination = `arn:aws:logs:${this.region}:${this.accountId}:log-group:${input.logGroupName!}`
        }
        if (destType === 'cloud-watch-logs' && input.logGroupName === undefined && dest !== undefined) {
          fl.logGroupName = dest.split(':log-group:')[1]!.replace(/:\*$/, '')
        }
        if (input.deliverLogsPermissionArn !== undefined)
          fl.deliverLogsPermissionArn = input.deliverLogsPermissionArn
        if (input.deliverCrossAccountRole !== undefined)
          fl.deliverCrossAccountRole = input.deliverCrossAccountRole
        if (destinationOptions !== undefined) fl.destinationOptions = destinationOptions
        if (tfs !== undefined) fl.tagFieldSpecifications = tfs
        put.push(fl)
        result.flowLogIds.push(fl.id)
      }
      this.remember(result)
      this.commit(put)
      return result
    })
  }

  /**
   * Why a flow log cannot be created for this resource (an `unsuccessful` item), if it cannot.
   * The message follows the fixture quoted in spec-flow-logs §5.1 ("Unknown resource …"); the codes
   * are spelled as everywhere else in the API (`InvalidVpcID.NotFound`, …), not as that fixture.
   */
  private flowLogResourceError(type: string, id: string): { code: string; message: string } | undefined {
    const check: Record<string, [string, Resource['kind'] | undefined, string]> = {
      VPC: ['vpc', 'vpc', 'InvalidVpcID.NotFound'],
      Subnet: ['subnet', 'subnet', 'InvalidSubnetID.NotFound'],
      NetworkInterface: ['eni', 'network-interface', 'InvalidNetworkInterfaceID.NotFound'],
      TransitGateway: ['tgw', undefined, 'InvalidTransitGatewayId.NotFound'],
      TransitGatewayAttachment: ['tgw-attach', undefined, 'InvalidTransitGatewayAttachmentId.NotFound'],
      RegionalNatGateway: ['nat', undefined, 'InvalidNatGatewayId.NotFound'],
    }
    const [prefix, kind, code] = check[type]!
    if (kind === undefined || !isIdOf(prefix, id) || this.state.get(kind, id) === undefined) {
      return { code, message: `Unknown resource ${id}` }
    }
    return undefined
  }

  /** DeleteFlowLogs: unknown ids come back as unsuccessful items; the others are deleted. */
  deleteFlowLogs(ids: string[]): CreateFlowLogsResult['unsuccessful'] {
    if (ids.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter FlowLogId')
    if (ids.length > 1000) throw invalidValue('The number of FlowLogIds cannot exceed 1000.')
    const del: FlowLog[] = []
    const unsuccessful: CreateFlowLogsResult['unsuccessful'] = []
    for (const id of new Set(ids)) {
      const f = isIdOf('fl', id) ? this.state.get('flow-log', id) : undefined
      if (f === undefined) {
        unsuccessful.push({
          resourceId: id,
          code: 'InvalidFlowLogId.NotFound',
          message: `These flow log ids in the input list are not found: [TotalCount: 1] ${id}`,
        })
      } else del.push(f)
    }
    if (del.length > 0) this.commit([], del)
    return unsuccessful
  }

  /** The flow logs covering an interface: its own, its subnet's and its VPC's. */
  flowLogsFor(eni: NetworkInterface): FlowLog[] {
    const out: FlowLog[] = []
    for (const rid of [eni.id, eni.subnetId, eni.vpcId]) {
      for (const id of this.state.flowLogsByResource.get(rid)) out.push(this.state.get('flow-log', id)!)
    }
    return out.sort((a, b) => a.seq - b.seq)
  }

  // ---------------------------------------------------------------- access keys

  /** The secret of an access key id, if the key exists. */
  secretOf(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId)?.secretAccessKey
  }

  accessKeys(): AccessKey[] {
    return [...this.keys.values()]
  }

  /** Creates an access key (AKIA + 16 characters; a 40-character secret). */
  createAccessKey(admin: boolean, description: string): AccessKey {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
    const b = randomBytes(16)
    let id = 'AKIA'
    for (let i = 0; i < 16; i++) id += alphabet[b[i]! & 31]
    const key: AccessKey = {
      accessKeyId: id,
      secretAccessKey: randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B'),
      createdAt: this.now(),
      admin,
      description,
    }
    this.commit([], [], key)
    return key
  }
}

function randomMac(): string {
  const b = randomBytes(6)
  b[0] = 0x02 // locally administered, unicast, as AWS ENI MACs
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}
