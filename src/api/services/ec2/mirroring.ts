// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 traffic-mirroring actions: targets, filters, filter rules and sessions (Create, Modify,
 * Delete, Describe), with their Describe filter tables.
 * @module
 */
import {
  ApiError,
  type ControlPlane,
  type RuleFields,
  type TrafficMirrorFilter,
  type TrafficMirrorFilterRule,
  type TrafficMirrorSession,
  type TrafficMirrorTarget,
} from '../../../control/index.ts'
import type { FilterField } from '../../protocols/ec2-query/describe.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { toXml } from '../../protocols/ec2-query/xml.ts'
import { describe, portRange, readTagSpecs, type Handler } from './context.ts'
import { filterShape, ruleShape, sessionShape, targetShape } from './shapes.ts'
const createTarget: Handler = (ctx) => {
  const p = ctx.p
  const input = {
    networkInterfaceId: p.str('NetworkInterfaceId'),
    networkLoadBalancerArn: p.str('NetworkLoadBalancerArn'),
    gatewayLoadBalancerEndpointId: p.str('GatewayLoadBalancerEndpointId'),
    description: p.str('Description'),
    tags: readTagSpecs(p, 'traffic-mirror-target'),
  }
  const token = p.str('ClientToken')
  ctx.ready()
  const t = ctx.cp.ec2.targets.createTarget(input, ctx.idem())
  return toXml([
    ['trafficMirrorTarget', 'TrafficMirrorTarget', targetShape(ctx.cp, t)],
    ['clientToken', 'ClientToken', token],
  ])
}

const createFilter: Handler = (ctx) => {
  const p = ctx.p
  const description = p.str('Description')
  const tags = readTagSpecs(p, 'traffic-mirror-filter')
  const token = p.str('ClientToken')
  ctx.ready()
  const f = ctx.cp.ec2.filters.createFilter(description, tags, ctx.idem())
  return toXml([
    ['trafficMirrorFilter', 'TrafficMirrorFilter', filterShape(ctx.cp, f)],
    ['clientToken', 'ClientToken', token],
  ])
}

export function ruleFields(p: Params): RuleFields {
  return {
    trafficDirection: p.str('TrafficDirection'),
    ruleNumber: p.int('RuleNumber'),
    ruleAction: p.str('RuleAction'),
    protocol: p.int('Protocol'),
    destinationPortRange: portRange(p, 'DestinationPortRange'),
    sourcePortRange: portRange(p, 'SourcePortRange'),
    destinationCidrBlock: p.str('DestinationCidrBlock'),
    sourceCidrBlock: p.str('SourceCidrBlock'),
    description: p.str('Description'),
  }
}

const createRule: Handler = (ctx) => {
  const p = ctx.p
  const filterId = p.str('TrafficMirrorFilterId', true)
  for (const k of [
    'TrafficDirection',
    'RuleNumber',
    'RuleAction',
    'DestinationCidrBlock',
    'SourceCidrBlock',
  ]) {
    if (!p.map.has(k)) throw new ApiError('MissingParameter', `The request must contain the parameter ${k}`)
  }
  const fields = ruleFields(p)
  const tags = readTagSpecs(p, 'traffic-mirror-filter-rule')
  const token = p.str('ClientToken')
  ctx.ready()
  const r = ctx.cp.ec2.filters.createRule(filterId, fields, tags, ctx.idem())
  return toXml([
    ['trafficMirrorFilterRule', 'TrafficMirrorFilterRule', ruleShape(r)],
    ['clientToken', 'ClientToken', token],
  ])
}

const createSession: Handler = (ctx) => {
  const p = ctx.p
  const input = {
    networkInterfaceId: p.str('NetworkInterfaceId', true),
    targetId: p.str('TrafficMirrorTargetId', true),
    filterId: p.str('TrafficMirrorFilterId', true),
    packetLength: p.int('PacketLength'),
    sessionNumber: p.int('SessionNumber', true),
    virtualNetworkId: p.int('VirtualNetworkId'),
    description: p.str('Description'),
    tags: readTagSpecs(p, 'traffic-mirror-session'),
  }
  const token = p.str('ClientToken')
  ctx.ready()
  const s = ctx.cp.ec2.sessions.createSession(input, ctx.idem())
  return toXml([
    ['trafficMirrorSession', 'TrafficMirrorSession', sessionShape(ctx.cp, s)],
    ['clientToken', 'ClientToken', token],
  ])
}

const modifyNetworkServices: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('TrafficMirrorFilterId', true)
  const add = p.list('AddNetworkService')
  const remove = p.list('RemoveNetworkService')
  ctx.ready()
  const f = ctx.cp.ec2.filters.modifyNetworkServices(id, add, remove)
  return toXml([['trafficMirrorFilter', 'TrafficMirrorFilter', filterShape(ctx.cp, f)]])
}

const modifyRule: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('TrafficMirrorFilterRuleId', true)
  const fields = ruleFields(p)
  const remove = p.list('RemoveField')
  ctx.ready()
  const r = ctx.cp.ec2.filters.modifyRule(id, fields, remove)
  // Model: "Tags are not returned for ModifyTrafficMirrorFilterRule".
  return toXml([['trafficMirrorFilterRule', 'TrafficMirrorFilterRule', ruleShape(r, false)]])
}

const modifySession: Handler = (ctx) => {
  const p = ctx.p
  const input = {
    sessionId: p.str('TrafficMirrorSessionId', true),
    targetId: p.str('TrafficMirrorTargetId'),
    filterId: p.str('TrafficMirrorFilterId'),
    packetLength: p.int('PacketLength'),
    sessionNumber: p.int('SessionNumber'),
    virtualNetworkId: p.int('VirtualNetworkId'),
    description: p.str('Description'),
    removeFields: p.list('RemoveField'),
  }
  ctx.ready()
  const s = ctx.cp.ec2.sessions.modifySession(input)
  return toXml([['trafficMirrorSession', 'TrafficMirrorSession', sessionShape(ctx.cp, s)]])
}

function deleter(param: string, xml: string, run: (cp: ControlPlane, id: string) => void): Handler {
  return (ctx) => {
    const id = ctx.p.str(param, true)
    ctx.ready()
    run(ctx.cp, id)
    return toXml([[xml, param, id]])
  }
}

export function targetFields(cp: ControlPlane): Record<string, FilterField<TrafficMirrorTarget>> {
  return {
    description: (t) => t.description,
    'network-interface-id': (t) => t.networkInterfaceId,
    'network-load-balancer-arn': (t) => t.networkLoadBalancerArn,
    'gateway-load-balancer-endpoint-id': (t) => t.gatewayLoadBalancerEndpointId,
    'owner-id': () => cp.accountId,
    'traffic-mirror-target-id': (t) => t.id,
    type: (t) => t.type,
  }
}

export const filterFields: Record<string, FilterField<TrafficMirrorFilter>> = {
  description: (f) => f.description,
  'traffic-mirror-filter-id': (f) => f.id,
}

export function sessionFields(cp: ControlPlane): Record<string, FilterField<TrafficMirrorSession>> {
  return {
    description: (s) => s.description,
    'network-interface-id': (s) => s.networkInterfaceId,
    'owner-id': () => cp.accountId,
    'packet-length': (s) => s.packetLength,
    'session-number': (s) => s.sessionNumber,
    'traffic-mirror-filter-id': (s) => s.filterId,
    'traffic-mirror-session-id': (s) => s.id,
    'traffic-mirror-target-id': (s) => s.targetId,
    'virtual-network-id': (s) => s.virtualNetworkId,
  }
}

export const ruleFilterFields: Record<string, FilterField<TrafficMirrorFilterRule>> = {
  'traffic-mirror-filter-rule-id': (r) => r.id,
  'traffic-mirror-filter-id': (r) => r.filterId,
  'rule-number': (r) => r.ruleNumber,
  'rule-action': (r) => r.ruleAction,
  'traffic-direction': (r) => r.trafficDirection,
  protocol: (r) => r.protocol,
  'source-cidr-block': (r) => r.sourceCidrBlock,
  'destination-cidr-block': (r) => r.destinationCidrBlock,
  description: (r) => r.description,
}

const describeTargets: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'TrafficMirrorTargetId',
    all: () => ctx.cp.state.table('traffic-mirror-target').values(),
    lookup: (id) => ctx.cp.ec2.targets.target(id),
    fields: targetFields(ctx.cp),
    wrapper: ['trafficMirrorTargetSet', 'TrafficMirrorTargets'],
    shape: (t) => targetShape(ctx.cp, t),
  })

const describeFilters: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'TrafficMirrorFilterId',
    all: () => ctx.cp.state.table('traffic-mirror-filter').values(),
    lookup: (id) => ctx.cp.ec2.filters.filter(id),
    fields: filterFields,
    wrapper: ['trafficMirrorFilterSet', 'TrafficMirrorFilters'],
    shape: (f) => filterShape(ctx.cp, f),
  })

const describeSessions: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'TrafficMirrorSessionId',
    all: () => ctx.cp.state.table('traffic-mirror-session').values(),
    lookup: (id) => ctx.cp.ec2.sessions.session(id),
    fields: sessionFields(ctx.cp),
    wrapper: ['trafficMirrorSessionSet', 'TrafficMirrorSessions'],
    shape: (s) => sessionShape(ctx.cp, s),
  })

const describeRules: Handler = (ctx) => {
  let filterId: string | undefined
  return describe(ctx, {
    idParam: 'TrafficMirrorFilterRuleId',
    all: () => {
      if (filterId === undefined) return ctx.cp.state.table('traffic-mirror-filter-rule').values()
      const f = ctx.cp.ec2.filters.filter(filterId)
      return [...ctx.cp.ec2.index.rulesByFilter.get(f.id)]
        .map((id) => ctx.cp.state.get('traffic-mirror-filter-rule', id)!)
        .sort((a, b) => a.seq - b.seq)
    },
    lookup: (id) => ctx.cp.ec2.filters.rule(id),
    fields: ruleFilterFields,
    wrapper: ['trafficMirrorFilterRuleSet', 'TrafficMirrorFilterRules'],
    shape: (r) => ruleShape(r),
    extra: (p) => {
      filterId = p.str('TrafficMirrorFilterId')
      const id = filterId
      return (r) => id === undefined || r.filterId === id
    },
  })
}

/** The traffic-mirroring actions. */
export const MIRRORING_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['CreateTrafficMirrorTarget', createTarget],
  ['CreateTrafficMirrorFilter', createFilter],
  ['CreateTrafficMirrorFilterRule', createRule],
  ['CreateTrafficMirrorSession', createSession],
  ['ModifyTrafficMirrorFilterNetworkServices', modifyNetworkServices],
  ['ModifyTrafficMirrorFilterRule', modifyRule],
  ['ModifyTrafficMirrorSession', modifySession],
  [
    'DeleteTrafficMirrorTarget',
    deleter('TrafficMirrorTargetId', 'trafficMirrorTargetId', (cp, id) => cp.ec2.targets.deleteTarget(id)),
  ],
  [
    'DeleteTrafficMirrorFilter',
    deleter('TrafficMirrorFilterId', 'trafficMirrorFilterId', (cp, id) => cp.ec2.filters.deleteFilter(id)),
  ],
  [
    'DeleteTrafficMirrorFilterRule',
    deleter('TrafficMirrorFilterRuleId', 'trafficMirrorFilterRuleId', (cp, id) =>
      cp.ec2.filters.deleteRule(id),
    ),
  ],
  [
    'DeleteTrafficMirrorSession',
    deleter('TrafficMirrorSessionId', 'trafficMirrorSessionId', (cp, id) =>
      cp.ec2.sessions.deleteSession(id),
    ),
  ],
  ['DescribeTrafficMirrorTargets', describeTargets],
  ['DescribeTrafficMirrorFilters', describeFilters],
  ['DescribeTrafficMirrorSessions', describeSessions],
  ['DescribeTrafficMirrorFilterRules', describeRules],
]
