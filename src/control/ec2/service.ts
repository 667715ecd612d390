// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 service of the control plane: its families wired over one ledger, lowest first — tags
 * (validation, Create/DeleteTags), network (VPCs, subnets, instances and interfaces), traffic
 * mirroring (targets, filters and rules, sessions), flow logs, security (prefix lists, security
 * groups, network ACLs, interfaces as the API manages them) — and each instance's desired state on top.
 * @module
 */
import type { Ledger } from '../core/ledger.ts'
import { FlowLogs } from './flow-logs/flow-logs.ts'
import { DEFAULT_QUOTAS, type Quotas } from './limits.ts'
import { Filters } from './mirroring/filters.ts'
import { Sessions } from './mirroring/sessions.ts'
import { Targets } from './mirroring/targets.ts'
import { Instances } from './network/instances.ts'
import { AgentPresence } from './network/presence.ts'
import { Vpcs } from './network/vpcs.ts'
import { Ec2Schema } from './schema.ts'
import { SecurityGroups } from './security/groups.ts'
import { Interfaces } from './security/interfaces.ts'
import { NetworkAcls } from './security/nacls.ts'
import { PrefixLists } from './security/prefix-lists.ts'
import { Tags } from './tags.ts'

export class Ec2 {
  readonly ledger: Ledger
  readonly quotas: Quotas
  /** The indexes every family reads. */
  readonly index: Ec2Schema
  readonly tags: Tags
  readonly vpcs: Vpcs
  readonly instances: Instances
  /** Whether each instance's agent is alive (DescribeInstances' state). */
  readonly presence: AgentPresence
  readonly targets: Targets
  readonly filters: Filters
  readonly sessions: Sessions
  readonly flowLogs: FlowLogs
  readonly securityGroups: SecurityGroups
  /** Customer-managed prefix lists (security-group rules reference them). */
  readonly prefixLists: PrefixLists
  readonly networkAcls: NetworkAcls
  /** Interfaces as the API manages them (create, attach, groups, attributes). */
  readonly interfaces: Interfaces

  /** Registers EC2's kinds, indexes and deletion hooks: call before the ledger loads. */
  constructor(ledger: Ledger, quotas?: Partial<Quotas>, agentTimeoutMs?: number) {
    this.ledger = ledger
    this.quotas = { ...DEFAULT_QUOTAS, ...quotas }
    this.index = new Ec2Schema(ledger)
    this.tags = new Tags(ledger, this.quotas.tagsPerResource)
    this.vpcs = new Vpcs(ledger, this.index, this.quotas, this.tags)
    this.instances = new Instances(ledger, this.index, this.quotas, this.vpcs)
    this.presence = new AgentPresence(ledger, agentTimeoutMs)
    this.targets = new Targets(ledger, this.index, this.quotas, this.tags)
    this.filters = new Filters(ledger, this.index, this.quotas, this.tags)
    this.sessions = new Sessions(ledger, this.index, this.quotas, this.tags, this.targets, this.filters)
    this.flowLogs = new FlowLogs(ledger, this.index, this.quotas, this.tags)
    this.prefixLists = new PrefixLists(ledger, this.quotas, this.tags)
    this.securityGroups = new SecurityGroups(ledger, this.quotas, this.tags, this.prefixLists)
    this.networkAcls = new NetworkAcls(ledger, this.quotas, this.tags)
    this.interfaces = new Interfaces(
      ledger,
      this.index,
      this.quotas,
      this.tags,
      this.vpcs,
      this.instances,
      this.securityGroups,
    )
    // Every VPC comes with its default security group and network ACL.
    this.vpcs.onCreateVpc.push(
      (vpc) => this.securityGroups.defaultsFor(vpc),
      (vpc) => this.networkAcls.defaultsFor(vpc),
    )
  }

  /**
   * After the store is loaded: gives every VPC made before security groups and network ACLs
   * existed its default group and ACL (one commit; nothing when none is missing).
   */
  completeDefaults(): void {
    const put = []
    for (const vpc of this.ledger.state.table('vpc').values()) {
      if (this.securityGroups.defaultGroupOf(vpc.id) === undefined)
        put.push(...this.securityGroups.defaultsFor(vpc))
      if (this.networkAcls.defaultAclOf(vpc.id) === undefined) put.push(...this.networkAcls.defaultsFor(vpc))
    }
    if (put.length > 0) this.ledger.commit(put)
  }

  get accountId(): string {
    return this.ledger.accountId
  }

  get region(): string {
    return this.ledger.region
  }
}
