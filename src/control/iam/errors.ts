// SPDX-License-Identifier: Apache-2.0
/**
 * The IAM error catalogue (the codes IAM answers with, and their HTTP status). Today only the
 * access keys' limit; users, roles and policies add theirs here.
 * @module
 */
import { defineErrors } from '../core/errors.ts'

export const IAM_ERRORS = defineErrors({
  LimitExceeded: 409,
})

type IamErrors = typeof IAM_ERRORS

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds IAM's codes to the catalogue
  interface ErrorCatalogue extends IamErrors {}
}
