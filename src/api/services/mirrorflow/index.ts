// SPDX-License-Identifier: Apache-2.0
/**
 * mirrorflow's own service: the admin actions (register instances, interfaces and load balancers,
 * access keys) and the agents' desired state, both on the EC2 Query endpoint (`Action=Mirrorflow…`,
 * signed for `ec2`), plus the agents' long-poll endpoint `GET /mirrorflow/v1/desired-state`.
 * @module
 */
import { ApiError } from '../../../control/index.ts'
import { checkOwnInstance } from '../../auth/roles.ts'
import type { QueryHandler } from '../../protocols/ec2-query/context.ts'
import { Params, parseForm } from '../../protocols/ec2-query/params.ts'
import { ADMIN_ACTIONS } from './admin.ts'
import type { DesiredStateWatch } from './desired-state.ts'
import { MAX_WAIT_SECONDS, type VersionedState } from './desired-state.ts'
import { PACKET_ACTIONS } from './packets.ts'
import { trafficActions, type FlowAnalytics } from './traffic.ts'

export { ADMIN_ACTIONS, adminActionNames } from './admin.ts'
export {
  exportFlows,
  trafficActions,
  type FlowAnalytics,
  type FlowFilter,
  type FlowSearch,
  type FlowPage,
  type TrafficAnswer,
} from './traffic.ts'
export { applianceStatus, flowPackets, PCAP_PATH, type FlowPackets } from './packets.ts'
export { ClientGone, DesiredStateWatch, MAX_WAIT_SECONDS, type VersionedState } from './desired-state.ts'

/** The path of the agents' long-poll endpoint. */
export const DESIRED_STATE_PATH = '/mirrorflow/v1/desired-state'

function checkWait(wait: number): void {
  if (wait < 0 || wait > MAX_WAIT_SECONDS) {
    throw new ApiError('InvalidParameterValue', `Wait must be 0 to ${MAX_WAIT_SECONDS} seconds.`)
  }
}

/** The mirrorflow actions in the EC2 Query endpoint's handler shape (answers are JSON). */
export function mirrorflowQueryHandlers(
  watch: DesiredStateWatch,
  analytics?: FlowAnalytics,
): Map<string, QueryHandler> {
  const out = new Map<string, QueryHandler>()
  for (const [name, h] of ADMIN_ACTIONS) out.set(name, (ctx) => ({ json: h(ctx) as object }))
  for (const [name, h] of PACKET_ACTIONS) out.set(name, (ctx) => ({ json: h(ctx) as object }))
  for (const [name, h] of trafficActions(analytics))
    out.set(name, async (ctx) => ({ json: (await h(ctx)) as object }))
  // An admin reading an instance's state is not its agent: no heartbeat.
  out.set('MirrorflowGetDesiredState', async (ctx) => {
    const instanceId = ctx.p.str('InstanceId', true)
    const since = ctx.p.int('StateVersion')
    const wait = ctx.p.int('Wait') ?? 0
    ctx.ready()
    checkWait(wait)
    checkOwnInstance(ctx.cp, ctx.accessKeyId, instanceId)
    return { json: await watch.poll(instanceId, since, wait, ctx.signal) }
  })
  return out
}

/**
 * The agents' endpoint (`?instanceId=…&version=…&wait=…`, already authenticated): the desired state
 * once it differs from `version`, or after `wait` seconds. The poll is the agent's heartbeat.
 */
export function agentDesiredState(
  watch: DesiredStateWatch,
  query: string,
  signal: AbortSignal,
  accessKeyId: string,
): Promise<VersionedState> {
  const map = new Map<string, string>()
  parseForm(query, map)
  const p = new Params(map)
  const instanceId = p.str('instanceId', true)
  const version = p.int('version')
  const wait = p.int('wait') ?? 0
  p.done()
  checkWait(wait)
  checkOwnInstance(watch.cp, accessKeyId, instanceId)
  return watch.poll(instanceId, version, wait, signal, true)
}
