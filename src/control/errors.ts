// SPDX-License-Identifier: Apache-2.0
/**
 * Errors of the control plane. Business rules fail with an {@link ApiError}: it carries the EC2
 * error code AWS uses for the same condition (spelled exactly as AWS does) and its HTTP status, so
 * the api/ layer renders it without knowing the rule. Store failures are {@link StoreError}.
 * @module
 */
import { MirrorflowError } from '../errors.ts'

/** HTTP status of the EC2 error codes whose status is not 400. Every other code answers 400. */
const STATUS: Record<string, number> = {
  DryRunOperation: 412,
  UnauthorizedOperation: 403,
  AuthFailure: 401,
  MissingAuthenticationToken: 401,
  SignatureDoesNotMatch: 403,
  InternalError: 500,
  ServiceUnavailable: 503,
  RequestEntityTooLarge: 413,
}

/** An EC2 API error: `awsCode` is the wire code (e.g. `InvalidVpcID.NotFound`). */
export class ApiError extends MirrorflowError {
  readonly code = 'MF_API'
  readonly awsCode: string
  readonly httpStatus: number
  constructor(awsCode: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.awsCode = awsCode
    this.httpStatus = STATUS[awsCode] ?? 400
  }
}

/** The control-plane store could not be opened or written. */
export class StoreError extends MirrorflowError {
  readonly code = 'MF_CONTROL_STORE'
}

/** Shorthand for the most common validation failure. */
export function invalidValue(message: string): ApiError {
  return new ApiError('InvalidParameterValue', message)
}
