// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs (signing name `logs`, JSON 1.1 with target prefix `Logs_20140328`): the actions
 * (`actions.ts`, `insights.ts`) over `cp.logs`, and what agent keys may call (`agent.ts`).
 * @module
 */
export { logsHandlers } from './actions.ts'
export { checkAgentLogGroup, LOGS_AGENT_ACTIONS } from './agent.ts'
export { ACCESS_ERROR, FLOW_LOGS_PRINCIPAL, logGroupDelivery, roleAllows } from './role.ts'

/** The `X-Amz-Target` prefix of CloudWatch Logs. */
export const LOGS_TARGET_PREFIX = 'Logs_20140328'
