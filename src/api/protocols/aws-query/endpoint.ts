// SPDX-License-Identifier: Apache-2.0
/**
 * The AWS Query codec (IAM, STS) as a service endpoint: parameters from the query string and a form
 * body as in EC2's Query protocol (lists are `Name.member.N`, maps `Name.entry.N.key`), `Action` and
 * `Version` checked; the answer is
 * `<ActionResponse xmlns="NS"><ActionResult>…</ActionResult><ResponseMetadata><RequestId>…`, and
 * errors are `<ErrorResponse xmlns="NS"><Error><Type>Sender|Receiver</Type><Code>…</Code>
 * <Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`.
 * @module
 */
import { ApiError, type ControlPlane } from '../../../control/index.ts'
import { readQueryParams } from '../ec2-query/endpoint.ts'
import { Params, truncate } from '../ec2-query/params.ts'
import { esc } from '../ec2-query/xml.ts'
import { ActionFailure, type ActionAuthz, type EndpointResponse, type ServiceEndpoint } from '../index.ts'

/** What an action of an AWS Query service receives. */
export interface AwsQueryContext {
  cp: ControlPlane
  p: Params
  action: string
  /** The access key that signed the request. */
  accessKeyId: string
  requestId: string
  /** Rejects parameters the action did not read. */
  ready(): void
}

/** An action's answer: the inner XML of `<ActionResult>` ('' for an action without output). */
export type AwsQueryHandler = (ctx: AwsQueryContext) => string | Promise<string>

export interface AwsQueryServiceSpec {
  signingName: string
  /** The IAM prefix its actions are authorized under (`iam`, `sts`). */
  iamPrefix: string
  version: string
  /** The XML namespace of answers and errors (`https://iam.amazonaws.com/doc/2010-05-08/`). */
  namespace: string
  actions: ReadonlyMap<string, AwsQueryHandler>
  authz?: ActionAuthz
}

const XML = 'text/xml'

/** An element with escaped text; nothing for undefined. */
export function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${esc(String(value))}</${name}>`
}

/** A list of members: `<Name><member>…</member>…</Name>`. */
export function members(name: string, items: readonly string[]): string {
  return items.length === 0
    ? `<${name}/>`
    : `<${name}>${items.map((x) => `<member>${x}</member>`).join('')}</${name}>`
}

/** The `X.member.N` list of a Query request. */
export function memberList(p: Params, name: string): string[] {
  return p.list(`${name}.member`)
}

/** The `Tags.member.N.Key/Value` list. */
export function memberTags(p: Params, name = 'Tags'): { key: string; value: string }[] {
  return p.structs(`${name}.member`).map((s) => {
    const key = s.str('Key', true)
    const value = s.str('Value', true)
    s.done()
    return { key, value }
  })
}

export function awsQueryEndpoint(cp: ControlPlane, spec: AwsQueryServiceSpec): ServiceEndpoint {
  return {
    signingName: spec.signingName,
    protocol: 'aws-query',
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
          throw new ApiError(
            'InvalidAction',
            `Could not find operation ${truncate(a)} for version ${spec.version}`,
          )
        action = a
        const version = map.get('Version')
        if (version === undefined)
          throw new ApiError('MissingParameter', 'The request must contain the parameter Version')
        if (version !== spec.version)
          throw new ApiError(
            'InvalidAction',
            `Could not find operation ${a} for version ${truncate(version, 32)}`,
          )
        const declared = spec.authz?.(action, map, req.accessKeyId)
        const called = action
        const run = async (): Promise<EndpointResponse> => {
          try {
            const p = new Params(map)
            p.str('Action')
            p.str('Version')
            const result = await handler({
              cp,
              p,
              action: called,
              accessKeyId: req.accessKeyId,
              requestId: req.requestId,
              ready: () => p.done(),
            })
            const body =
              `<${called}Response xmlns="${spec.namespace}">` +
              (result === '' ? '' : `<${called}Result>${result}</${called}Result>`) +
              `<ResponseMetadata><RequestId>${esc(req.requestId)}</RequestId></ResponseMetadata></${called}Response>`
            return { status: 200, contentType: XML, body }
          } catch (err) {
            throw new ActionFailure(called, err)
          }
        }
        return { action, authz: { action, ...declared }, run }
      } catch (err) {
        throw new ActionFailure(action, err)
      }
    },

    encodeError(e, requestId) {
      const type = e.httpStatus >= 500 ? 'Receiver' : 'Sender'
      return {
        status: e.httpStatus,
        contentType: XML,
        body:
          `<ErrorResponse xmlns="${spec.namespace}"><Error><Type>${type}</Type>` +
          `<Code>${esc(e.awsCode)}</Code><Message>${esc(e.message)}</Message></Error>` +
          `<RequestId>${esc(requestId)}</RequestId></ErrorResponse>`,
      }
    },
  }
}
