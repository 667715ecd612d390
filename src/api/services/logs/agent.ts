// SPDX-License-Identifier: Apache-2.0
/**
 * What an agent key may do in CloudWatch Logs: create streams in and put events to the log groups
 * of the flow logs that cover its own instance's interfaces, and read (`Describe…`). Admin and
 * user keys are not limited here.
 * @module
 */
import type { ControlPlane } from '../../../control/index.ts'
import { agentKey, unauthorized } from '../../auth/roles.ts'

/** The agent-callable actions of CloudWatch Logs (each checks the log group with {@link checkAgentLogGroup}). */
export const LOGS_AGENT_ACTIONS: ReadonlySet<string> = new Set(['CreateLogStream', 'PutLogEvents'])

/** Refuses an agent key writing to a log group that no flow log of its instance delivers to. */
export function checkAgentLogGroup(cp: ControlPlane, accessKeyId: string, group: string): void {
  const key = agentKey(cp, accessKeyId)
  if (key === undefined) return
  const instanceId = key.instanceId
  if (instanceId !== undefined) {
    for (const eni of cp.ec2.instances.interfacesOf(instanceId)) {
      for (const f of cp.ec2.flowLogs.flowLogsFor(eni)) {
        if (f.logDestinationType === 'cloud-watch-logs' && f.logGroupName === group) return
      }
    }
  }
  throw unauthorized(`no flow log of this agent key's instance delivers to log group ${group.slice(0, 64)}.`)
}
