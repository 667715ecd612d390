// SPDX-License-Identifier: Apache-2.0
/**
 * The CloudWatch Logs error catalogue (the codes its actions answer with, and their HTTP status).
 * @module
 */
import { defineErrors } from '../core/errors.ts'

export const LOGS_ERRORS = defineErrors({
  InvalidParameterException: 400,
  ResourceNotFoundException: 400,
  ResourceAlreadyExistsException: 400,
  LimitExceededException: 400,
  MalformedQueryException: 400,
  TooManyTagsException: 400,
  ServiceUnavailableException: 500,
})

type LogsErrors = typeof LOGS_ERRORS

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds CloudWatch Logs' codes to the catalogue
  interface ErrorCatalogue extends LogsErrors {}
}
