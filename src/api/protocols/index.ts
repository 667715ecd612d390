// SPDX-License-Identifier: Apache-2.0
/**
 * AWS protocols: how a request carries its action and parameters and how the answer and errors
 * are encoded. The server knows a service only as a {@link ServiceEndpoint} — its SigV4 signing name
 * and its protocol — and hands it the authenticated request; the endpoint's codec does the rest.
 *
 * | protocol | services | request | answer |
 * |---|---|---|---|
 * | `ec2-query` (here: `ec2-query/`) | EC2 | form or query string, `Action`, `Version`, `X.N` lists | XML in the EC2 namespace; errors `<Response><Errors>` |
 * | `aws-query` | IAM, STS | the same form encoding | XML `<ActionResponse><ActionResult>`; errors `<ErrorResponse>` |
 * | `json-1.1` | CloudWatch Logs, CloudTrail | POST `/`, `X-Amz-Target: Service.Action`, JSON body | JSON; errors `{"__type", "message"}` |
 * | `rest-json` | GuardDuty | method and path name the action, JSON body | JSON; errors with `x-amzn-ErrorType` |
 *
 * `ec2-query/` and `json-1.1/` have codecs; a new one is a folder beside them that exports a
 * function building a {@link ServiceEndpoint} from a service's action table.
 * @module
 */
import type { ApiError } from '../../control/index.ts'
import type { DecodedCall } from './authz.ts'

export type { ActionAuthz, AuthzRequest, AuthzResource, DecodedCall } from './authz.ts'

export type ProtocolName = 'ec2-query' | 'aws-query' | 'json-1.1' | 'rest-json'

/** An authenticated request, as an endpoint receives it. */
export interface EndpointRequest {
  method: string
  /** Raw path and query string (after `?`, or ''). */
  path: string
  query: string
  /** Header name (lower case) → first value. */
  headers: Readonly<Record<string, string | string[] | undefined>>
  body: Buffer
  /** The access key that signed the request. */
  accessKeyId: string
  requestId: string
  /** Aborted when the client goes away before the answer (long polls). */
  signal: AbortSignal
}

/** An encoded answer. */
export interface EndpointResponse {
  status: number
  contentType: string
  body: string
  /** Extra response headers (REST-JSON's `x-amzn-ErrorType`). */
  headers?: Readonly<Record<string, string>>
}

/** An action's failure, with the action name when it was known (metrics, logs). */
export class ActionFailure extends Error {
  readonly action: string
  constructor(action: string, cause: unknown) {
    super(`action ${action} failed`, { cause })
    this.action = action
  }
}

/** One AWS service spoken in one protocol. */
export interface ServiceEndpoint {
  /** The SigV4 signing name the requests are scoped to (`ec2`, later `iam`, `logs`, `guardduty`…). */
  readonly signingName: string
  readonly protocol: ProtocolName
  /** The service's IAM prefix (`ec2`, `iam`, `logs`…): actions are authorized as `prefix:Action`. */
  readonly iamPrefix: string
  /**
   * Decodes an authenticated request into its action, what the authorization step needs
   * ({@link AuthzRequest}: by default the action on `*`) and the handler to run once the server has
   * authorized it. Nothing runs before `run()`. A failure is thrown as an {@link ActionFailure}
   * (its `cause` the ApiError, or an unexpected error the server logs).
   */
  decode(req: EndpointRequest): Promise<DecodedCall>
  /** Encodes an error the way this protocol does. */
  encodeError(
    e: ApiError,
    requestId: string,
    action: string,
    req: Pick<EndpointRequest, 'headers'>,
  ): EndpointResponse
}

/**
 * The protocol family a request's shape says it uses: `X-Amz-Target` → `json-1.1`; a path other
 * than `/` → `rest-json`; anything else → a Query protocol (`ec2-query` or `aws-query`,
 * which look alike: the signing service tells them apart).
 */
export function requestShape(req: {
  path: string
  headers: Readonly<Record<string, string | string[] | undefined>>
}): 'json-1.1' | 'rest-json' | 'query' {
  if (req.headers['x-amz-target'] !== undefined) return 'json-1.1'
  // REST protocols name the action by the path: any path but `/` (GET requests have no body).
  if (req.path !== '/' && req.path !== '') return 'rest-json'
  return 'query'
}

/** True when a request of this shape can be of this protocol. */
export function shapeFits(shape: ReturnType<typeof requestShape>, protocol: ProtocolName): boolean {
  return shape === 'query' ? protocol === 'ec2-query' || protocol === 'aws-query' : shape === protocol
}
