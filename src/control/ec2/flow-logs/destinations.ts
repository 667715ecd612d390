// SPDX-License-Identifier: Apache-2.0
/**
 * The destinations of a flow log as CreateFlowLogs checks them: an S3 bucket ARN with an optional
 * folder prefix (S3's bucket-name rules; a prefix of plain segments — no `.`, `..` or empty
 * segment, no `AWSLogs` — short enough that every object key it leads to stays within S3's 1024
 * bytes), a CloudWatch Logs log group (name or ARN), a Firehose delivery stream ARN, and the IAM
 * role ARNs of delivery.
 * @module
 */
import { invalidValue, truncate, type ApiError } from '../../core/errors.ts'

/** Longest folder prefix of an S3 destination, in UTF-8 bytes (the key it starts keeps ≤ 1024 bytes). */
export const S3_PREFIX_MAX_BYTES = 512
/** Longest segment of that prefix, in UTF-8 bytes (a directory name in a local bucket). */
export const S3_PREFIX_SEGMENT_MAX_BYTES = 255

const S3_ARN = /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:s3:::([^/]*)(?:\/(.*))?$/s
const FIREHOSE_ARN =
  /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:firehose:[a-z0-9-]{1,32}:\d{12}:deliverystream\/[A-Za-z0-9_.-]{1,64}$/
const CWL_ARN =
  /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:logs:[a-z0-9-]{1,32}:\d{12}:log-group:[A-Za-z0-9_/.#-]{1,512}(?::\*)?$/
const IAM_ROLE_ARN = /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/
/** CloudWatch Logs log group names: 1–512 of these characters. */
const LOG_GROUP_NAME = /^[A-Za-z0-9_/.#-]{1,512}$/
const IPV4_LIKE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** Why a bucket name breaks S3's naming rules, or undefined when it follows them. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'a bucket name has 3 to 63 characters'
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return 'a bucket name has lowercase letters, digits, dots and hyphens, and begins and ends with a letter or digit'
  }
  if (name.includes('..')) return 'a bucket name has no two adjacent dots'
  if (IPV4_LIKE.test(name)) return 'a bucket name is not an IP address'
  if (name.startsWith('xn--') || name.startsWith('sthree-') || name.startsWith('amzn-s3-demo-')) {
    return 'a bucket name does not begin with a reserved prefix'
  }
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3') || name.endsWith('--x-s3')) {
    return 'a bucket name does not end with a reserved suffix'
  }
  return undefined
}

/**
 * Why the folder prefix of an S3 destination is refused, or undefined. One trailing `/` is allowed
 * (AWS's own examples end the folder with one); no other empty segment, no `.` or `..`, no
 * `AWSLogs` (that folder is the service's own), no backslash.
 */
export function s3PrefixProblem(prefix: string): string | undefined {
  if (Buffer.byteLength(prefix, 'utf8') > S3_PREFIX_MAX_BYTES) {
    return `the folder prefix is longer than ${S3_PREFIX_MAX_BYTES} bytes`
  }
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  if (body === '') return prefix === '' ? undefined : 'the folder prefix is empty'
  for (const seg of body.split('/')) {
    if (seg === '') return 'the folder prefix has an empty segment'
    if (seg === '.' || seg === '..') return `the folder prefix has a '${seg}' segment`
    if (seg === 'AWSLogs') return 'AWSLogs cannot be used as a folder name of an S3 destination'
    if (seg.includes('\\')) return 'the folder prefix has a backslash'
    if (Buffer.byteLength(seg, 'utf8') > S3_PREFIX_SEGMENT_MAX_BYTES) {
      return `a folder name is longer than ${S3_PREFIX_SEGMENT_MAX_BYTES} bytes`
    }
  }
  return undefined
}

function badArn(dest: string, type: string, why?: string): ApiError {
  return invalidValue(
    `LogDestination: ${truncate(dest)} is not a valid ARN for the log destination type ${type}${why === undefined ? '' : `: ${why}`}.`,
  )
}

/** Checks a `LogDestination` for its destination type (`InvalidParameterValue` when refused). */
export function checkLogDestination(type: string, dest: string): void {
  if (type === 's3') {
    // The ARN of a bucket and its longest prefix: far below this; checked first so no regex sees more.
    if (dest.length > 1024) throw badArn(dest, type, 'it is longer than 1024 characters')
    const m = S3_ARN.exec(dest)
    if (m === null) throw badArn(dest, type)
    const bucketProblem = bucketNameProblem(m[1]!)
    if (bucketProblem !== undefined) throw badArn(dest, type, bucketProblem)
    const prefixProblem = m[2] === undefined ? undefined : s3PrefixProblem(m[2])
    if (prefixProblem !== undefined) throw badArn(dest, type, prefixProblem)
    return
  }
  if (dest.length > 2048 || !(type === 'kinesis-data-firehose' ? FIREHOSE_ARN : CWL_ARN).test(dest)) {
    throw badArn(dest, type)
  }
}

/** Checks a log group name. */
export function checkLogGroupName(name: string): void {
  if (!LOG_GROUP_NAME.test(name))
    throw invalidValue(`Value (${truncate(name)}) for parameter LogGroupName is invalid.`)
}

/** Checks the ARN of an IAM role (DeliverLogsPermissionArn, DeliverCrossAccountRole). */
export function checkRoleArn(parameter: string, arn: string): void {
  if (arn.length > 2048 || !IAM_ROLE_ARN.test(arn))
    throw invalidValue(`Value (${truncate(arn)}) for parameter ${parameter} is invalid.`)
}
