// SPDX-License-Identifier: Apache-2.0
/**
 * The JSON 1.1 codec as a service endpoint (CloudWatch Logs, CloudTrail): `POST /` with
 * `X-Amz-Target: <TargetPrefix>.<Action>` and `Content-Type: application/x-amz-json-1.1`, a JSON
 * object body (bounded in size by the server, in depth here), the answer a JSON object with the same
 * content type, and errors as `{"__type": "<Code>", "message": "…"}` with the code's HTTP status.
 * The request id travels in the `x-amzn-RequestId` header (the server sets it).
 *
 * The signature has been checked over the raw body before {@link json11Endpoint}'s `decode` sees it,
 * so an unsigned body is never parsed.
 *
 * Signing and authorization failures raised before the service is reached carry the EC2 Query
 * codes; JSON services answer the same conditions with their own spelling ({@link JSON_WIRE_CODES}).
 * @module
 */
import { ApiError, truncate, type AwsErrorCode, type ControlPlane } from '../../../control/index.ts'
import {
  ActionFailure,
  type ActionAuthz,
  type EndpointRequest,
  type EndpointResponse,
  type ServiceEndpoint,
} from '../index.ts'
import { parseJsonBody } from './body.ts'
import { JsonInput, type InvalidFactory } from './input.ts'

export const JSON_11_CONTENT_TYPE = 'application/x-amz-json-1.1'

/** What an action of a JSON 1.1 service receives. */
export interface JsonContext {
  cp: ControlPlane
  action: string
  /** The request body's members. */
  input: JsonInput
  /** The access key that signed the request. */
  accessKeyId: string
  requestId: string
  /** Aborted when the client goes away. */
  signal: AbortSignal
}

/** An action: its answer is the response body's members (`{}` when the output has none). */
export type JsonHandler = (ctx: JsonContext) => object | Promise<object>

/** A service spoken in JSON 1.1. */
export interface JsonServiceSpec {
  /** The SigV4 signing name (`logs`, `cloudtrail`). */
  signingName: string
  /** The `X-Amz-Target` prefix before the dot (`Logs_20140328`, `CloudTrail_20131101`). */
  targetPrefix: string
  actions: ReadonlyMap<string, JsonHandler>
  /** The service's validation error (`InvalidParameterException` for CloudWatch Logs). */
  invalid: InvalidFactory
  /** Runs before every action (the agent-key gate), after the server's authorization step. */
  before?: (ctx: JsonContext) => void
  /** The IAM prefix its actions are authorized under; default the signing name. */
  iamPrefix?: string
  /**
   * Per-action resources and condition keys for the authorization step, from the parsed body
   * (default: `<iamPrefix>:<Action>` on `*`).
   */
  authz?: ActionAuthz<Readonly<Record<string, unknown>>>
}

/**
 * How JSON services spell the codes the server raises before a service is known (SigV4, the
 * key-role gate, unexpected failures). Codes not listed go on the wire as they are.
 */
export const JSON_WIRE_CODES: Readonly<Record<string, AwsErrorCode>> = {
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  IncompleteSignature: 'IncompleteSignatureException',
  AuthFailure: 'UnrecognizedClientException',
  SignatureDoesNotMatch: 'InvalidSignatureException',
  RequestExpired: 'InvalidSignatureException',
  UnauthorizedOperation: 'AccessDeniedException',
  AccessDenied: 'AccessDeniedException',
  InternalError: 'InternalFailure',
  MalformedQueryString: 'SerializationException',
  InvalidRequest: 'SerializationException',
}

function header(req: Pick<EndpointRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** True for the content types a JSON 1.1 request may carry. */
function jsonContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false
  const base = ct.split(';')[0]!.trim().toLowerCase()
  return base === JSON_11_CONTENT_TYPE || base === 'application/x-amz-json-1.0'
}

/** Encodes an error body of the JSON protocols. */
export function jsonErrorBody(code: string, message: string): string {
  return JSON.stringify({ __type: code, message })
}

export function json11Endpoint(cp: ControlPlane, spec: JsonServiceSpec): ServiceEndpoint {
  const prefix = `${spec.targetPrefix}.`
  return {
    signingName: spec.signingName,
    protocol: 'json-1.1',
    iamPrefix: spec.iamPrefix ?? spec.signingName,

    async decode(req) {
      let action = 'unknown'
      try {
        if (req.method !== 'POST')
          throw new ApiError(
            'UnknownOperationException',
            `The HTTP method ${truncate(req.method, 16)} is not supported: use POST.`,
          )
        if (req.path !== '/' && req.path !== '')
          throw new ApiError(
            'UnknownOperationException',
            `Unknown path '${truncate(req.path, 64)}': requests go to /.`,
          )
        const target = header(req, 'x-amz-target') ?? ''
        const name = target.startsWith(prefix) ? target.slice(prefix.length) : undefined
        const handler = name === undefined ? undefined : spec.actions.get(name)
        if (handler === undefined || name === undefined)
          throw new ApiError('UnknownOperationException', `Unknown operation '${truncate(target, 80)}'.`)
        action = name
        if (!jsonContentType(header(req, 'content-type')))
          throw new ApiError(
            'SerializationException',
            `Unsupported content type '${truncate(header(req, 'content-type') ?? '', 64)}': use ${JSON_11_CONTENT_TYPE}.`,
          )
        const enc = header(req, 'content-encoding')
        if (enc !== undefined && enc !== 'identity' && enc !== '')
          throw new ApiError('SerializationException', 'Content-Encoding is not supported.')
        const body = parseJsonBody(req.body)
        const declared = spec.authz?.(action, body, req.accessKeyId)
        const called = action
        const run = async (): Promise<EndpointResponse> => {
          try {
            const ctx: JsonContext = {
              cp,
              action: called,
              input: new JsonInput(body, spec.invalid),
              accessKeyId: req.accessKeyId,
              requestId: req.requestId,
              signal: req.signal,
            }
            spec.before?.(ctx)
            const out = await handler(ctx)
            return { status: 200, contentType: JSON_11_CONTENT_TYPE, body: JSON.stringify(out) }
          } catch (err) {
            throw new ActionFailure(called, err)
          }
        }
        return { action, authz: { action, ...declared }, run }
      } catch (err) {
        throw new ActionFailure(action, err)
      }
    },

    encodeError(e, _requestId, _action, _req) {
      const code = JSON_WIRE_CODES[e.awsCode] ?? e.awsCode
      const status = code === e.awsCode ? e.httpStatus : new ApiError(code, '').httpStatus
      return {
        status: e.awsCode === 'RequestEntityTooLarge' ? 413 : status,
        contentType: JSON_11_CONTENT_TYPE,
        body: jsonErrorBody(code, e.message),
      }
    },
  }
}
