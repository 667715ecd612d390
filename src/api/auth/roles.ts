// SPDX-License-Identifier: Apache-2.0
/**
 * What each kind of access key may do, until IAM policies arrive: admin and user keys call every
 * action (making and listing keys needs an admin key); an agent key reads (every `Describe…`
 * action) and changes nothing but its own instance's registration — it may register its instance,
 * deregister that instance's interfaces, read that instance's desired state and report its status.
 * The actions check "its own instance" themselves; this gate refuses everything else at once.
 * @module
 */
import { ApiError, type AccessKey, type ControlPlane } from '../../control/index.ts'

/** The actions an agent key may call (each checks that the instance is the key's own). */
export const AGENT_ACTIONS: ReadonlySet<string> = new Set([
  'MirrorflowRegisterInstance',
  'MirrorflowDeregisterNetworkInterface',
  'MirrorflowGetDesiredState',
  'MirrorflowReportAgentStatus',
  'MirrorflowDescribeStatus',
])

export function unauthorized(why: string): ApiError {
  return new ApiError('UnauthorizedOperation', `You are not authorized to perform this operation: ${why}`)
}

/** The agent key that signed a request, or undefined for an admin or user key. */
export function agentKey(cp: ControlPlane, accessKeyId: string): AccessKey | undefined {
  const key = cp.iam.get(accessKeyId)
  return key !== undefined && cp.iam.roleOf(key) === 'agent' ? key : undefined
}

/** Refuses an action an agent key may not call at all. */
export function checkAgentMayCall(cp: ControlPlane, accessKeyId: string, action: string): void {
  if (agentKey(cp, accessKeyId) === undefined) return
  if (action.startsWith('Describe') || AGENT_ACTIONS.has(action)) return
  throw unauthorized('an agent key can change only its own instance’s registration.')
}

/** Refuses an agent key acting on an instance that is not its own. */
export function checkOwnInstance(cp: ControlPlane, accessKeyId: string, instanceId: string): void {
  const key = agentKey(cp, accessKeyId)
  if (key !== undefined && key.instanceId !== instanceId) {
    throw unauthorized(`instance ${instanceId.slice(0, 64)} is not this agent key’s instance.`)
  }
}
