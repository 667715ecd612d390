// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 service of the control plane: its families wired over one ledger, lowest first — tags
 * (validation, Create/DeleteTags), network (VPCs, subnets, instances and interfaces), traffic
 * mirroring (targets, filters and rules, sessions), flow logs — and each instance's desired state
 * on top.
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
  }

  get accountId(): string {
    return this.ledger.accountId
  }

  get region(): string {
    return this.ledger.region
  }
}
