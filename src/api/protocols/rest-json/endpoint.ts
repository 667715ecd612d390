// SPDX-License-Identifier: Apache-2.0
/**
 * The REST-JSON codec as a service endpoint (GuardDuty): the HTTP method and the path name the
 * action (`GET /detector/{detectorId}`), path segments in braces are the action's URI members,
 * `maxResults`/`nextToken`-style members come from the query string, the rest from a JSON object
 * body (depth-bounded before parsing, by the JSON 1.1 codec's reader; the server bounds its size and
 * checks the signature over the raw bytes first). Answers are JSON objects; errors carry the code in
 * the `x-amzn-ErrorType` header (what botocore reads first) and `{"message", "__type"}` in the body.
 *
 * Routing is a walk over the route table comparing literal segments: linear in the path's length,
 * never a regular expression built from input.
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
import { parseJsonBody } from '../json-1.1/body.ts'
import { JSON_WIRE_CODES } from '../json-1.1/endpoint.ts'
import { JsonInput, type InvalidFactory } from '../json-1.1/input.ts'

/** What an action of a REST-JSON service receives. */
export interface RestContext {
  cp: ControlPlane
  action: string
  /** The path's `{name}` segments, decoded. */
  uri: ReadonlyMap<string, string>
  /** The query string's parameters (first value of each). */
  query: ReadonlyMap<string, string>
  /** The body's members. */
  input: JsonInput
  /** The parsed body (for map members read by the action itself). */
  body: Readonly<Record<string, unknown>>
  accessKeyId: string
  requestId: string
}

export type RestHandler = (ctx: RestContext) => object | Promise<object>

export interface RestRoute {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT'
  /** `/detector/{detectorId}/findings`. */
  path: string
  action: string
  handler: RestHandler
}

export interface RestServiceSpec {
  signingName: string
  routes: readonly RestRoute[]
  /** The service's error for invalid input (GuardDuty: `BadRequestException`). */
  invalid: InvalidFactory
  /** The `__type` put in error bodies of client errors (GuardDuty: `InvalidInputException`). */
  bodyType?: (code: AwsErrorCode) => string
  /** Runs before every action, after the server's authorization step. */
  before?: (ctx: RestContext) => void
  /** The IAM prefix its actions are authorized under; default the signing name. */
  iamPrefix?: string
  /**
   * Per-action resources and condition keys for the authorization step, from the parsed body and
   * the path's parameters (default: `<iamPrefix>:<Action>` on `*`).
   */
  authz?: ActionAuthz<{ body: Readonly<Record<string, unknown>>; uri: ReadonlyMap<string, string> }>
}

/** Longest path accepted (characters) and most segments. */
const MAX_PATH = 1024
const MAX_SEGMENTS = 16
/** Most query parameters read. */
const MAX_QUERY_PARAMS = 32

const CONTENT_TYPE = 'application/json'

interface CompiledRoute extends RestRoute {
  segments: ({ literal: string } | { name: string })[]
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new ApiError('BadRequestException', 'The request path has a bad percent-encoding.')
  }
}

function parseQuery(q: string): Map<string, string> {
  const out = new Map<string, string>()
  if (q === '') return out
  const parts = q.split('&', MAX_QUERY_PARAMS + 1)
  if (parts.length > MAX_QUERY_PARAMS)
    throw new ApiError(
      'BadRequestException',
      `The query string has more than ${MAX_QUERY_PARAMS} parameters.`,
    )
  for (const p of parts) {
    const eq = p.indexOf('=')
    const k = decodeSegment((eq < 0 ? p : p.slice(0, eq)).replace(/\+/g, ' '))
    const v = decodeSegment((eq < 0 ? '' : p.slice(eq + 1)).replace(/\+/g, ' '))
    if (!out.has(k)) out.set(k, v)
  }
  return out
}

function header(req: Pick<EndpointRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

export function restJsonEndpoint(cp: ControlPlane, spec: RestServiceSpec): ServiceEndpoint {
  const routes: CompiledRoute[] = spec.routes.map((r) => ({
    ...r,
    segments: r.path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => (s.startsWith('{') && s.endsWith('}') ? { name: s.slice(1, -1) } : { literal: s })),
  }))

  function route(method: string, path: string): { r: CompiledRoute; uri: Map<string, string> } {
    if (path.length > MAX_PATH)
      throw new ApiError('BadRequestException', `The request path is longer than ${MAX_PATH} characters.`)
    const segs = path.split('/', MAX_SEGMENTS + 2).filter((s) => s !== '')
    let pathKnown = false
    for (const r of routes) {
      if (r.segments.length !== segs.length) continue
      const uri = new Map<string, string>()
      let ok = true
      for (let i = 0; i < segs.length && ok; i++) {
        const s = r.segments[i]!
        if ('literal' in s) ok = s.literal === segs[i]
        else uri.set(s.name, decodeSegment(segs[i]!))
      }
      if (!ok) continue
      pathKnown = true
      if (r.method === method) return { r, uri }
    }
    throw new ApiError(
      'BadRequestException',
      pathKnown
        ? `The method ${truncate(method, 16)} is not allowed on ${truncate(path, 128)}.`
        : `No GuardDuty action is at ${truncate(method, 16)} ${truncate(path, 128)}.`,
    )
  }

  return {
    signingName: spec.signingName,
    protocol: 'rest-json',
    iamPrefix: spec.iamPrefix ?? spec.signingName,

    async decode(req) {
      let action = 'unknown'
      try {
        const { r, uri } = route(req.method, req.path)
        action = r.action
        if (req.body.length > 0) {
          const ct = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase()
          if (ct !== CONTENT_TYPE && ct !== 'application/x-amz-json-1.1' && ct !== '')
            throw new ApiError(
              'BadRequestException',
              `Unsupported content type '${truncate(ct, 64)}': use ${CONTENT_TYPE}.`,
            )
          const enc = header(req, 'content-encoding')
          if (enc !== undefined && enc !== 'identity' && enc !== '')
            throw new ApiError('BadRequestException', 'Content-Encoding is not supported.')
        }
        let body: Record<string, unknown>
        try {
          body = parseJsonBody(req.body)
        } catch (err) {
          if (err instanceof ApiError) throw new ApiError('BadRequestException', err.message)
          throw err
        }
        const called = action
        const declared = spec.authz?.(called, { body, uri }, req.accessKeyId)
        const run = async (): Promise<EndpointResponse> => {
          try {
            const ctx: RestContext = {
              cp,
              action: called,
              uri,
              query: parseQuery(req.query),
              input: new JsonInput(body, spec.invalid),
              body,
              accessKeyId: req.accessKeyId,
              requestId: req.requestId,
            }
            spec.before?.(ctx)
            let out: object
            try {
              out = await r.handler(ctx)
            } catch (err) {
              // A member of the wrong JSON type: GuardDuty answers it as a bad request.
              if (err instanceof ApiError && err.awsCode === 'SerializationException')
                throw new ApiError('BadRequestException', err.message)
              throw err
            }
            return { status: 200, contentType: CONTENT_TYPE, body: JSON.stringify(out) }
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
      const type = spec.bodyType?.(code) ?? code
      return {
        status: e.awsCode === 'RequestEntityTooLarge' ? 413 : status,
        contentType: CONTENT_TYPE,
        headers: { 'x-amzn-errortype': code },
        body: JSON.stringify({ message: e.message, __type: type }),
      }
    },
  }
}
