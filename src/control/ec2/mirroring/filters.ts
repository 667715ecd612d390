// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic mirror filters, their network services and their rules: the rule checks (direction,
 * action, number unique per filter and direction, protocol, port ranges only for TCP/UDP, CIDR
 * blocks of one family) with AWS's error codes.
 * @module
 */
import { checkFilterRule } from '../../../mirror/index.ts'
import { ApiError, invalidValue } from '../../core/errors.ts'
import { ID_PREFIX, newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Tag } from '../../core/model.ts'
import { PREFIX_REQUIRED, checkDescription, type Quotas } from '../limits.ts'
import type { Ec2Schema } from '../schema.ts'
import type { Tags } from '../tags.ts'
import type { PortRange, TrafficMirrorFilter, TrafficMirrorFilterRule } from '../model.ts'

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

export class Filters {
  private readonly l: Ledger
  private readonly x: Ec2Schema
  private readonly q: Quotas
  private readonly tags: Tags

  constructor(l: Ledger, x: Ec2Schema, q: Quotas, tags: Tags) {
    this.l = l
    this.x = x
    this.q = q
    this.tags = tags
  }

  filter(id: string): TrafficMirrorFilter {
    return this.l.lookup('traffic-mirror-filter', id)
  }

  rule(id: string): TrafficMirrorFilterRule {
    return this.l.lookup('traffic-mirror-filter-rule', id)
  }

  /** The rules of a filter in evaluation order (rule number ascending), one direction. */
  rulesOf(filterId: string, direction: 'ingress' | 'egress'): TrafficMirrorFilterRule[] {
    const out: TrafficMirrorFilterRule[] = []
    for (const id of this.x.rulesByFilter.get(filterId)) {
      const r = this.l.state.get('traffic-mirror-filter-rule', id)!
      if (r.trafficDirection === direction) out.push(r)
    }
    return out.sort((a, b) => a.ruleNumber - b.ruleNumber)
  }

  createFilter(description: string | undefined, tags: Tag[], idem?: Idempotency): TrafficMirrorFilter {
    checkDescription(description)
    const validTags = this.tags.validate(tags)
    return this.l.idempotent(idem, () => {
      if (this.l.state.table('traffic-mirror-filter').size >= this.q.filtersPerAccount) {
        throw new ApiError(
          'TrafficMirrorFilterLimitExceeded',
          'The maximum number of traffic mirror filters has been reached.',
        )
      }
      const f: TrafficMirrorFilter = {
        kind: 'traffic-mirror-filter',
        id: newId(ID_PREFIX.trafficMirrorFilter),
        seq: this.l.nextSeq(),
        networkServices: [],
        tags: validTags,
      }
      if (description !== undefined) f.description = description
      this.l.remember(f)
      this.l.commit([f])
      return f
    })
  }

  deleteFilter(id: string): void {
    const f = this.filter(id)
    if (this.x.sessionsByFilter.count(id) > 0) {
      throw new ApiError(
        'TrafficMirrorFilterInUse',
        `The traffic mirror filter '${id}' is in use by a session.`,
      )
    }
    const rules = [...this.x.rulesByFilter.get(id)].map((r) =>
      this.l.state.get('traffic-mirror-filter-rule', r)!,
    )
    this.l.commit([], [f, ...rules])
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
    this.l.commit([next])
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
    checkDescription(r.description)
    for (const id of this.x.rulesByFilter.get(r.filterId)) {
      if (id === exceptId) continue
      const o = this.l.state.get('traffic-mirror-filter-rule', id)!
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
      tags: this.tags.validate(tags),
    }
    if (f.protocol !== undefined) rule.protocol = f.protocol
    const d = this.portRange('DestinationPortRange', f.destinationPortRange)
    if (d !== undefined) rule.destinationPortRange = d
    const s = this.portRange('SourcePortRange', f.sourcePortRange)
    if (s !== undefined) rule.sourcePortRange = s
    if (f.description !== undefined) rule.description = f.description
    return this.l.idempotent(idem, () => {
      this.checkRule(rule, undefined)
      if (this.x.rulesByFilter.count(filterId) >= this.q.rulesPerFilter) {
        throw new ApiError(
          'TrafficMirrorFilterRuleLimitExceeded',
          `The maximum number of rules per traffic mirror filter (${this.q.rulesPerFilter}) has been reached.`,
        )
      }
      rule.id = newId(ID_PREFIX.trafficMirrorFilterRule)
      rule.seq = this.l.nextSeq()
      this.l.remember(rule)
      this.l.commit([rule])
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
    this.l.commit([next])
    return next
  }

  deleteRule(id: string): void {
    this.l.commit([], [this.rule(id)])
  }
}
