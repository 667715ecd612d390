// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 service's actions, by family: network (VPCs, subnets, interfaces, instances, their
 * attributes), traffic mirroring, flow logs, tags, security groups, managed prefix lists, network ACLs, region and
 * account (zones, regions, account attributes, main route tables). Each family exports its handlers and its Describe filter tables; this
 * file puts them in one table, in the EC2 Query protocol's handler shape.
 * @module
 */
import type { QueryHandler } from '../../protocols/ec2-query/context.ts'
import type { Handler } from './context.ts'
import { FLOW_LOG_ACTIONS } from './flow-logs.ts'
import { MIRRORING_ACTIONS } from './mirroring.ts'
import { NETWORK_ACL_ACTIONS } from './network-acls.ts'
import { NETWORK_ACTIONS } from './network.ts'
import { PREFIX_LIST_ACTIONS } from './prefix-lists.ts'
import { REGION_ACTIONS } from './region.ts'
import { SECURITY_GROUP_ACTIONS } from './security-groups.ts'
import { TAG_ACTIONS } from './tags.ts'

export { readTagSpecs, type ActionContext, type Handler } from './context.ts'

/** The API version EC2 speaks. */
export const EC2_API_VERSION = '2016-11-15'

/** Every EC2 action the server answers, as XML handlers. */
export const ACTIONS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ...NETWORK_ACTIONS,
  ...MIRRORING_ACTIONS,
  ...FLOW_LOG_ACTIONS,
  ...TAG_ACTIONS,
  ...SECURITY_GROUP_ACTIONS,
  ...PREFIX_LIST_ACTIONS,
  ...NETWORK_ACL_ACTIONS,
  ...REGION_ACTIONS,
])

/** The EC2 actions in the EC2 Query endpoint's handler shape. */
export function ec2QueryHandlers(): Map<string, QueryHandler> {
  const out = new Map<string, QueryHandler>()
  for (const [name, h] of ACTIONS) out.set(name, (ctx) => ({ xml: h(ctx) }))
  return out
}
