// SPDX-License-Identifier: Apache-2.0
/**
 * The IAM service's place in the control plane: users, groups, roles, managed and inline policies,
 * access keys (mirrorflow's own keys are IAM users' keys), STS's temporary credentials, and the
 * policy documents' grammar. The evaluation every call goes through is in `api/auth/`.
 * @module
 */
export * from './iam.ts'
export * from './managed.ts'
export type * from './model.ts'
export * from './policy-document.ts'
export { IAM_ERRORS } from './errors.ts'
