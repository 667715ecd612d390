// SPDX-License-Identifier: Apache-2.0
/**
 * CloudTrail's records: the trail (a resource on the ledger: where events are delivered) and the
 * event record, in AWS's record format (the JSON object each log file's `Records` array holds and
 * LookupEvents returns as `CloudTrailEvent`).
 * @module
 */
import type { ResourceBase } from '../core/model.ts'

/** The version of the record format (AWS's current one). */
export const EVENT_VERSION = '1.11'

/** A trail: events of this region delivered to an S3 bucket (a local bucket directory or an S3 endpoint). */
export interface Trail extends Omit<ResourceBase, 'kind'> {
  kind: 'cloudtrail-trail'
  /** `trail-` and 17 hex digits: the ledger's key. AWS names a trail by its name and ARN. */
  id: string
  name: string
  trailArn: string
  homeRegion: string
  s3BucketName: string
  /** Without trailing slash; '' when none. */
  s3KeyPrefix: string
  includeGlobalServiceEvents: boolean
  isMultiRegionTrail: boolean
  logFileValidationEnabled: boolean
  isLogging: boolean
  createdAt: string
  startLoggingTime?: string
  stopLoggingTime?: string
}

declare module '../core/model.ts' {
  interface ResourceKinds {
    'cloudtrail-trail': Trail
  }
}

/** `userIdentity` of a record (the members AWS uses for IAM users, assumed roles, root and unknown callers). */
export interface UserIdentity {
  type: 'Root' | 'IAMUser' | 'AssumedRole' | 'Role' | 'AWSService' | 'Unknown'
  principalId?: string
  arn?: string
  accountId?: string
  accessKeyId?: string
  userName?: string
  sessionContext?: {
    sessionIssuer?: { type: string; principalId: string; arn: string; accountId: string; userName: string }
    webIdFederationData?: Record<string, never>
    attributes: { creationDate: string; mfaAuthenticated: string }
  }
}

/** A resource an event names (LookupEvents' `Resources`, and the record's `resources`). */
export interface EventResource {
  /** `AWS::EC2::TrafficMirrorSession`… */
  type: string
  /** The id or name (`tms-…`, a user name, a trail name). */
  name: string
}

/** One management event, as delivered in a log file's `Records` and returned by LookupEvents. */
export interface CloudTrailRecord {
  eventVersion: string
  userIdentity: UserIdentity
  eventTime: string
  eventSource: string
  eventName: string
  awsRegion: string
  sourceIPAddress: string
  userAgent: string
  errorCode?: string
  errorMessage?: string
  requestParameters: unknown
  responseElements: unknown
  requestID: string
  eventID: string
  readOnly: boolean
  eventType: 'AwsApiCall'
  managementEvent: true
  recipientAccountId: string
  eventCategory: 'Management'
}
