// SPDX-License-Identifier: Apache-2.0
/**
 * The services the server answers, each as a {@link ServiceEndpoint}: today EC2 (with mirrorflow's
 * own actions on the same endpoint), signed for `ec2`, in the EC2 Query protocol. A new service
 * (IAM, CloudWatch Logs, GuardDuty, CloudTrail) is a folder here with its actions, and one line
 * below building its endpoint with its protocol's codec.
 * @module
 */
import type { ControlPlane } from '../../control/index.ts'
import { ec2QueryEndpoint } from '../protocols/ec2-query/endpoint.ts'
import { ApiError } from '../../control/index.ts'
import { checkAgentMayCall } from '../auth/roles.ts'
import { json11Endpoint } from '../protocols/json-1.1/index.ts'
import type { QueryHandler } from '../protocols/ec2-query/context.ts'
import type { ServiceEndpoint } from '../protocols/index.ts'
import { CLOUDTRAIL_TARGET_PREFIX, cloudTrailHandlers, cloudTrailInvalid } from './cloudtrail/index.ts'
import { EC2_API_VERSION, ec2QueryHandlers } from './ec2/index.ts'
import { LOGS_AGENT_ACTIONS, LOGS_TARGET_PREFIX, logsHandlers } from './logs/index.ts'
import { mirrorflowQueryHandlers, type DesiredStateWatch, type FlowAnalytics } from './mirrorflow/index.ts'
import { guarddutyEndpoint } from './guardduty/index.ts'

/** What the services need from the server. */
export interface ServiceDeps {
  cp: ControlPlane
  watch: DesiredStateWatch
  /** The flow-log store traffic questions go to (mirrorflow/traffic.ts), if the server has one. */
  analytics?: FlowAnalytics | undefined
}

/** Every action behind the key-role gate (auth/roles.ts): agent keys call only what they may. */
function gated(actions: Map<string, QueryHandler>): Map<string, QueryHandler> {
  const out = new Map<string, QueryHandler>()
  for (const [name, h] of actions) {
    out.set(name, (ctx) => {
      checkAgentMayCall(ctx.cp, ctx.accessKeyId, name)
      return h(ctx)
    })
  }
  return out
}

/** Every service endpoint, keyed by signing name. */
export function serviceEndpoints(deps: ServiceDeps): ServiceEndpoint[] {
  return [
    ec2QueryEndpoint(deps.cp, {
      signingName: 'ec2',
      version: EC2_API_VERSION,
      serviceName: 'AmazonEC2',
      actions: gated(
        new Map([...ec2QueryHandlers(), ...mirrorflowQueryHandlers(deps.watch, deps.analytics)]),
      ),
    }),
    json11Endpoint(deps.cp, {
      signingName: 'cloudtrail',
      targetPrefix: CLOUDTRAIL_TARGET_PREFIX,
      invalid: cloudTrailInvalid,
      actions: cloudTrailHandlers(),
      before: (ctx) => checkAgentMayCall(ctx.cp, ctx.accessKeyId, ctx.action),
    }),
    json11Endpoint(deps.cp, {
      signingName: 'logs',
      targetPrefix: LOGS_TARGET_PREFIX,
      actions: logsHandlers(),
      invalid: (m) => new ApiError('InvalidParameterException', m),
      before: (ctx) => {
        if (!LOGS_AGENT_ACTIONS.has(ctx.action)) checkAgentMayCall(ctx.cp, ctx.accessKeyId, ctx.action)
      },
    }),
    guarddutyEndpoint(deps.cp),
  ]
}
