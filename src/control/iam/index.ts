// SPDX-License-Identifier: Apache-2.0
/**
 * The IAM service's place in the control plane. Today: access keys (mirrorflow's own admin
 * actions). Users, roles and policies, and the policy evaluation every call goes through, come
 * here with the IAM issue.
 * @module
 */
export { ACCESS_KEYS_MAX, AccessKeys } from './access-keys.ts'
export { IAM_ERRORS } from './errors.ts'
