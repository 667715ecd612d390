// SPDX-License-Identifier: Apache-2.0
/**
 * The checks of an agent key that policies cannot express: an agent key (an IAM user with the
 * built-in MirrorflowAgentAccess policy, which decides what actions it may call) changes only its
 * own instance's registration. The actions call these with the instance they act on.
 * @module
 */
import { ApiError, type AccessKey, type ControlPlane } from '../../control/index.ts'

export function unauthorized(why: string): ApiError {
  return new ApiError('UnauthorizedOperation', `You are not authorized to perform this operation: ${why}`)
}

/** The agent key that signed a request, or undefined for an admin or user key. */
export function agentKey(cp: ControlPlane, accessKeyId: string): AccessKey | undefined {
  const key = cp.iam.get(accessKeyId)
  return key !== undefined && cp.iam.roleOf(key) === 'agent' ? key : undefined
}

/** Refuses an agent key acting on an instance that is not its own. */
export function checkOwnInstance(cp: ControlPlane, accessKeyId: string, instanceId: string): void {
  const key = agentKey(cp, accessKeyId)
  if (key !== undefined && key.instanceId !== instanceId) {
    throw unauthorized(`instance ${instanceId.slice(0, 64)} is not this agent key’s instance.`)
  }
}
