// SPDX-License-Identifier: Apache-2.0
/**
 * What a service tells the authorization step about a decoded request: the IAM action, the
 * resources it touches (ARNs, with the tags of those that exist), and the request's own condition
 * keys (tags being set, tag keys, service-specific keys). A service that declares nothing is
 * authorized as `<its IAM prefix>:<Action>` on resource `*`.
 *
 * Every protocol codec decodes a request into a {@link DecodedCall}; the server authorizes its
 * {@link AuthzRequest} (api/auth/authorize.ts) before it runs the handler.
 * @module
 */
import type { Tag } from '../../control/index.ts'
import type { EndpointResponse } from './index.ts'

/** One resource a call touches. */
export interface AuthzResource {
  /** Its ARN (`arn:aws:ec2:REGION:ACCOUNT:traffic-mirror-session/tms-…`), or `*`. */
  arn: string
  /**
   * Tags of an existing resource: `aws:ResourceTag/KEY` (and `PREFIX:ResourceTag/KEY`) in the
   * conditions evaluated for this resource. Leave undefined for a resource the call creates.
   */
  tags?: readonly Tag[]
}

/** What a call is, for the authorization step. */
export interface AuthzRequest {
  /** The action as IAM names it, without prefix (`CreateTrafficMirrorSession`). */
  action: string
  /** The IAM service prefix when not the endpoint's own (mirrorflow's actions on the EC2 endpoint). */
  prefix?: string
  /** Every resource the call touches; absent or empty means `*`. All must be allowed. */
  resources?: readonly AuthzResource[]
  /** Tags the request sets: `aws:RequestTag/KEY` and `aws:TagKeys`. */
  requestTags?: readonly Tag[]
  /** Tag keys the request names without values (DeleteTags): `aws:TagKeys` when no requestTags. */
  tagKeys?: readonly string[]
  /** Service-specific condition keys (`ec2:Region`…), lower-case names → values. */
  context?: Readonly<Record<string, string | readonly string[]>>
  /**
   * Further actions the caller must be allowed for the call to go on, with their resources: AWS's
   * `iam:PassRole` on the role a CreateFlowLogs hands to the flow-logs service.
   */
  also?: readonly { prefix: string; action: string; resources: readonly AuthzResource[] }[]
}

/**
 * Per-action declarations of a service: from the action name and its decoded parameters (the
 * flat map of a Query request, or the JSON body of a JSON service), the resources and keys.
 * Return undefined for `<prefix>:<Action>` on `*`.
 */
export type ActionAuthz<P = ReadonlyMap<string, string>> = (
  action: string,
  params: P,
  /** The access key that signed the request (an action without a user name acts on its own user). */
  accessKeyId: string,
) => Omit<AuthzRequest, 'action'> | undefined

/** A decoded request: its action, what the authorization step needs, and the handler to run. */
export interface DecodedCall {
  action: string
  authz: AuthzRequest
  /** Runs the action; failures are thrown as ActionFailure (with the action name). */
  run(): Promise<EndpointResponse>
}
