// SPDX-License-Identifier: Apache-2.0
/** Errors of the security-group and network-ACL engine. @module */
import { MirrorflowError } from '../errors.ts'

/** A policy state (interfaces, security-group rules, network-ACL entries) that is invalid. */
export class PolicyConfigError extends MirrorflowError {
  readonly code = 'MF_POLICY_CONFIG'
}

/** nftables could not apply or remove the enforcement table. */
export class PolicyApplyError extends MirrorflowError {
  readonly code = 'MF_POLICY_APPLY'
}
