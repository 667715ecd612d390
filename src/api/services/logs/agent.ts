// SPDX-License-Identifier: Apache-2.0
/**
 * What an agent key may do in CloudWatch Logs: create the log groups and streams of, and put events
 * to, the log groups of the flow logs that cover its own instance's interfaces — as the flow-logs
 * service would with those flow logs' IAM role (`role.ts`): a flow log whose role does not allow it
 * does not let the agent do it either. And read (`Describe…`). Admin and user keys are not limited
 * here.
 * @module
 */
import { ApiError, type ControlPlane, type FlowLog } from '../../../control/index.ts'
import { agentKey, unauthorized } from '../../auth/roles.ts'
import { roleAllows, type DeliveryAction } from './role.ts'

/** The agent-callable actions of CloudWatch Logs (each checks the log group with {@link checkAgentLogGroup}). */
export const LOGS_AGENT_ACTIONS: ReadonlySet<string> = new Set([
  'CreateLogGroup',
  'CreateLogStream',
  'PutLogEvents',
])

const ACTION_NAMES: Record<DeliveryAction, string> = {
  'logs:createloggroup': 'logs:CreateLogGroup',
  'logs:createlogstream': 'logs:CreateLogStream',
  'logs:putlogevents': 'logs:PutLogEvents',
}

/**
 * Refuses an agent key writing to a log group that no flow log of its instance delivers to
 * (UnauthorizedOperation), or that no such flow log's role lets the flow-logs service write
 * (AccessDeniedException, which the agent reports as the flow log's "Access error").
 */
export function checkAgentLogGroup(
  cp: ControlPlane,
  accessKeyId: string,
  group: string,
  action: DeliveryAction,
  stream?: string,
): void {
  const key = agentKey(cp, accessKeyId)
  if (key === undefined) return
  const instanceId = key.instanceId
  const mine: FlowLog[] = []
  if (instanceId !== undefined) {
    for (const eni of cp.ec2.instances.interfacesOf(instanceId)) {
      for (const f of cp.ec2.flowLogs.flowLogsFor(eni)) {
        if (f.logDestinationType === 'cloud-watch-logs' && f.logGroupName === group) mine.push(f)
      }
    }
  }
  if (mine.length === 0)
    throw unauthorized(
      `no flow log of this agent key's instance delivers to log group ${group.slice(0, 64)}.`,
    )
  if (mine.some((f) => roleAllows(cp, f, group, [action], stream))) return
  const f = mine[0]!
  throw new ApiError(
    'AccessDeniedException',
    `Access error: the role ${String(f.deliverLogsPermissionArn).slice(0, 256)} of flow log ${f.id} does not let ` +
      `vpc-flow-logs.amazonaws.com perform ${ACTION_NAMES[action]} on log group ${group.slice(0, 64)}.`,
  )
}
