// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 Query codec as a service endpoint: parameters from the query string and a form body
 * (`application/x-www-form-urlencoded`, no content encoding), `Action` looked up in the service's
 * table, `Version` checked, the handler run with a {@link QueryContext}, and the answer wrapped in
 * `<ActionResponse>` with the request id (or JSON for mirrorflow's own actions). Errors are
 * `<Response><Errors><Error>` XML, or JSON when a mirrorflow action's caller accepts JSON.
 * @module
 */
import { ApiError, type ControlPlane } from '../../../control/index.ts'
import {
  ActionFailure,
  type ActionAuthz,
  type EndpointRequest,
  type EndpointResponse,
  type ServiceEndpoint,
} from '../index.ts'
import type { QueryContext, QueryHandler } from './context.ts'
import { Params, parseForm, truncate } from './params.ts'
import { errorXml, responseXml } from './xml.ts'

/** A service spoken in the EC2 Query protocol. */
export interface QueryServiceSpec {
  /** The SigV4 signing name (`ec2`). */
  signingName: string
  /** The API version the service speaks (`2016-11-15`). */
  version: string
  /** The service's name in NoSuchVersion messages (`AmazonEC2`). */
  serviceName: string
  /** The IAM prefix its actions are authorized under (`ec2`). */
  iamPrefix: string
  actions: ReadonlyMap<string, QueryHandler>
  /** Per-action resources and condition keys for the authorization step (default: the action on `*`). */
  authz?: ActionAuthz
}

const XML = 'text/xml;charset=UTF-8'

function header(req: Pick<EndpointRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** The parameters of the query string and the form body, in one map (a key given twice is refused). */
export function readQueryParams(
  req: Pick<EndpointRequest, 'query' | 'body' | 'headers'>,
): Map<string, string> {
  const map = new Map<string, string>()
  parseForm(req.query, map)
  if (req.body.length > 0) {
    const ct = (header(req, 'content-type') ?? 'application/x-www-form-urlencoded').toLowerCase()
    if (!ct.startsWith('application/x-www-form-urlencoded')) {
      throw new ApiError(
        'InvalidParameterValue',
        `Unsupported content type '${truncate(ct, 80)}': use application/x-www-form-urlencoded.`,
      )
    }
    const enc = header(req, 'content-encoding')
    if (enc !== undefined && enc !== 'identity') {
      throw new ApiError('InvalidParameterValue', 'Content-Encoding is not supported.')
    }
    parseForm(req.body.toString('utf8'), map)
  }
  return map
}

export function ec2QueryEndpoint(cp: ControlPlane, spec: QueryServiceSpec): ServiceEndpoint {
  return {
    signingName: spec.signingName,
    protocol: 'ec2-query',

    iamPrefix: spec.iamPrefix,

    async decode(req) {
      let action = 'unknown'
      try {
        const map = readQueryParams(req)
        const a = map.get('Action')
        if (a === undefined || a === '')
          throw new ApiError('MissingAction', 'The request must contain the parameter Action.')
        const handler = spec.actions.get(a)
        if (handler === undefined)
          throw new ApiError('InvalidAction', `The action ${truncate(a)} is not valid for this web service.`)
        action = a
        const version = map.get('Version')
        if (version === undefined)
          throw new ApiError('MissingParameter', 'The request must contain the parameter Version')
        if (version !== spec.version) {
          throw new ApiError(
            'NoSuchVersion',
            `The requested version (${truncate(version, 32)}) of service ${spec.serviceName} does not exist`,
          )
        }
        const declared = spec.authz?.(action, map, req.accessKeyId)
        const run = async (): Promise<EndpointResponse> => {
          try {
            const p = new Params(map)
            const ctx: QueryContext = {
              cp,
              p,
              action,
              accessKeyId: req.accessKeyId,
              signal: req.signal,
              ready: () => {
                const dry = p.bool('DryRun')
                p.done()
                if (dry === true)
                  throw new ApiError(
                    'DryRunOperation',
                    'Request would have succeeded, but DryRun flag is set.',
                  )
              },
              idem: () => ({ action, clientToken: map.get('ClientToken'), fingerprint: p.fingerprint() }),
            }
            const answer = await handler(ctx)
            return 'xml' in answer
              ? { status: 200, contentType: XML, body: responseXml(action, req.requestId, answer.xml) }
              : {
                  status: 200,
                  contentType: 'application/json',
                  body: JSON.stringify({ ...answer.json, RequestId: req.requestId }),
                }
          } catch (err) {
            throw new ActionFailure(action, err)
          }
        }
        return { action, authz: { action, ...declared }, run }
      } catch (err) {
        throw new ActionFailure(action, err)
      }
    },

    encodeError(e, requestId, action, req) {
      const accept = header(req, 'accept')
      if (action.startsWith('Mirrorflow') && accept !== undefined && accept.includes('application/json')) {
        return {
          status: e.httpStatus,
          contentType: 'application/json',
          body: JSON.stringify({ Error: { Code: e.awsCode, Message: e.message }, RequestId: requestId }),
        }
      }
      return { status: e.httpStatus, contentType: XML, body: errorXml(e.awsCode, e.message, requestId) }
    },
  }
}
