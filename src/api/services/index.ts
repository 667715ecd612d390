// SPDX-License-Identifier: Apache-2.0
/**
 * The services the server answers, each as a {@link ServiceEndpoint}: today EC2 (with mirrorflow's
 * own actions on the same endpoint), signed for `ec2`, in the EC2 Query protocol. A new service
 * (IAM, CloudWatch Logs, GuardDuty, CloudTrail) is a folder here with its actions, and one line
 * below building its endpoint with its protocol's codec.
 * @module
 */
import type { ControlPlane } from '../../control/index.ts'
import { ec2QueryEndpoint } from '../protocols/ec2-query/endpoint.ts'
import { ApiError } from '../../control/index.ts'
import { json11Endpoint } from '../protocols/json-1.1/index.ts'
import type { ServiceEndpoint } from '../protocols/index.ts'
import { ec2Authz } from './ec2/authz.ts'
import { CLOUDTRAIL_TARGET_PREFIX, cloudTrailHandlers, cloudTrailInvalid } from './cloudtrail/index.ts'
import { EC2_API_VERSION, ec2QueryHandlers } from './ec2/index.ts'
import { LOGS_TARGET_PREFIX, logsHandlers } from './logs/index.ts'
import { mirrorflowQueryHandlers, type DesiredStateWatch, type FlowAnalytics } from './mirrorflow/index.ts'
import { guarddutyEndpoint } from './guardduty/index.ts'
import { iamEndpoint } from './iam/index.ts'
import { stsEndpoint } from './sts/index.ts'

/** What the services need from the server. */
export interface ServiceDeps {
  cp: ControlPlane
  watch: DesiredStateWatch
  /** The flow-log store traffic questions go to (mirrorflow/traffic.ts), if the server has one. */
  analytics?: FlowAnalytics | undefined
}

/** Every service endpoint, keyed by signing name. */
export function serviceEndpoints(deps: ServiceDeps): ServiceEndpoint[] {
  return [
    ec2QueryEndpoint(deps.cp, {
      signingName: 'ec2',
      version: EC2_API_VERSION,
      serviceName: 'AmazonEC2',
      iamPrefix: 'ec2',
      actions: new Map([...ec2QueryHandlers(), ...mirrorflowQueryHandlers(deps.watch, deps.analytics)]),
      authz: ec2Authz(deps.cp),
    }),
    json11Endpoint(deps.cp, {
      signingName: 'cloudtrail',
      targetPrefix: CLOUDTRAIL_TARGET_PREFIX,
      invalid: cloudTrailInvalid,
      actions: cloudTrailHandlers(),
    }),
    json11Endpoint(deps.cp, {
      signingName: 'logs',
      targetPrefix: LOGS_TARGET_PREFIX,
      actions: logsHandlers(),
      invalid: (m) => new ApiError('InvalidParameterException', m),
    }),
    guarddutyEndpoint(deps.cp),
    iamEndpoint(deps.cp),
    stsEndpoint(deps.cp),
  ]
}
