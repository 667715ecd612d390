// SPDX-License-Identifier: Apache-2.0
/**
 * Errors of the control plane. Business rules fail with an {@link ApiError}: it carries the error
 * code AWS uses for the same condition (spelled exactly as AWS does) and its HTTP status, so the
 * api/ layer renders it without knowing the rule. Store failures are {@link StoreError}.
 *
 * Codes form a typed catalogue: {@link ErrorCatalogue} maps every code to its HTTP status. The core
 * holds the codes common to every AWS Query service; each service adds its own with
 * {@link defineErrors} and a `declare module` augmentation (see `ec2/errors.ts`), so `new
 * ApiError('InvalidVpcId.NotFound', …)` — a misspelt code — does not compile.
 * @module
 */
import { MirrorflowError } from '../../errors.ts'

/** The codes common to AWS's services that mirrorflow answers (signing, parameters, protocol), with their HTTP status. */
export const COMMON_ERRORS = {
  IdempotentParameterMismatch: 400,
  IncompleteSignature: 400,
  InternalError: 500,
  InvalidAction: 400,
  InvalidParameter: 400,
  InvalidParameterCombination: 400,
  InvalidParameterValue: 400,
  MalformedQueryString: 400,
  MissingAction: 400,
  MissingAuthenticationToken: 401,
  MissingParameter: 400,
  RequestEntityTooLarge: 413,
  RequestExpired: 400,
  SignatureDoesNotMatch: 403,
  UnknownParameter: 400,
  UnsupportedOperation: 400,
  // The JSON 1.1 protocol (CloudWatch Logs, CloudTrail): the body and the target, and the wire codes
  // its services use for the signing and authorization failures above.
  SerializationException: 400,
  UnknownOperationException: 400,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 400,
  MissingAuthenticationTokenException: 400,
  UnrecognizedClientException: 400,
  AccessDeniedException: 400,
  InternalFailure: 500,
} as const

type CommonErrors = typeof COMMON_ERRORS

/**
 * Every error code mirrorflow may answer, mapped to its HTTP status (as a type). Services extend it
 * through `declare module '…/core/errors.ts' { interface ErrorCatalogue extends TheirTable {} }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- an open catalogue, extended per service
export interface ErrorCatalogue extends CommonErrors {}

/** A code of the catalogue. */
export type AwsErrorCode = keyof ErrorCatalogue & string

const STATUS = new Map<string, number>(Object.entries(COMMON_ERRORS))

/** Registers a service's codes with their HTTP status; returns the table (typed, for augmentation). */
export function defineErrors<T extends Record<string, number>>(table: T): T {
  for (const [code, status] of Object.entries(table)) STATUS.set(code, status)
  return table
}

/** An AWS API error: `awsCode` is the wire code (e.g. `InvalidVpcID.NotFound`). */
export class ApiError extends MirrorflowError {
  readonly code = 'MF_API'
  readonly awsCode: AwsErrorCode
  readonly httpStatus: number
  constructor(awsCode: AwsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.awsCode = awsCode
    this.httpStatus = STATUS.get(awsCode) ?? 400
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

/** For messages: never echo kilobytes of caller input. */
export function truncate(s: string, n = 64): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`
}

/** Length of a string in characters (Unicode code points), as AWS counts lengths, not UTF-16 units. */
export function charLength(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) i++
    }
    n++
  }
  return n
}
