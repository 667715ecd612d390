// SPDX-License-Identifier: Apache-2.0
/**
 * The IAM and STS error catalogue (the codes IAM and STS answer with, and their HTTP status), and
 * the denials of the authorization step that every service answers with in its own spelling:
 * `AccessDenied` (AWS Query services), `AccessDeniedException` (JSON services, a common code);
 * EC2 answers `UnauthorizedOperation` (its own catalogue).
 * @module
 */
import { defineErrors } from '../core/errors.ts'

export const IAM_ERRORS = defineErrors({
  AccessDenied: 403,
  DeleteConflict: 409,
  EntityAlreadyExists: 409,
  ExpiredToken: 400,
  InvalidAuthorizationMessageException: 400,
  InvalidClientTokenId: 403,
  InvalidInput: 400,
  LimitExceeded: 409,
  MalformedPolicyDocument: 400,
  NoSuchEntity: 404,
  ValidationError: 400,
})

type IamErrors = typeof IAM_ERRORS

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds IAM's codes to the catalogue
  interface ErrorCatalogue extends IamErrors {}
}
