// SPDX-License-Identifier: Apache-2.0
/**
 * The S3 object layout of flow logs (spec §4.2): the key prefix (plain, per-hour, Hive-compatible) and
 * the object name `{account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz`, where
 * the timestamp is the start (UTC) of the 5-minute delivery window holding the records' `end`.
 *
 * Parquet objects end in `.log.parquet`: the spec marks the suffix UNCONFIRMED and recommends it
 * (the real sample in shared/data/real-vpcflow-samples is named `….parquet`, possibly renamed).
 * @module
 */
import { createHash } from 'node:crypto'
import { checkKeySegments } from './confined-path.ts'
import { FlowLogsConfigError } from './errors.ts'

/** Seconds per S3 delivery window (spec §4.2 "every 5 minutes"). */
export const DELIVERY_WINDOW_SECONDS = 300

/** Where and how a flow log's objects are named. */
export interface S3LayoutOptions {
  accountId: string
  region: string
  /** `fl-` + 8 or 17 hex digits. */
  flowLogId: string
  /** Optional folder inside the bucket (no leading `/`; a trailing `/` is added). Cannot be `AWSLogs`. */
  prefix?: string | undefined
  hiveCompatiblePartitions?: boolean | undefined
  perHourPartition?: boolean | undefined
  fileFormat?: 'plain-text' | 'parquet' | undefined
}

const FLOW_LOG_ID = /^fl-(?:[0-9a-f]{8}|[0-9a-f]{17})$/

/**
 * Checks the options: ids without spaces or slashes, the flow-log id's shape, a prefix that is not
 * `AWSLogs` and has no empty, `.` or `..` segment (`FlowLogsDestinationError`) and at most 1024 bytes.
 */
export function validateS3Layout(o: S3LayoutOptions): void {
  if (!FLOW_LOG_ID.test(o.flowLogId)) {
    throw new FlowLogsConfigError(
      `flow log id must be fl- followed by 8 or 17 lowercase hex digits, got '${o.flowLogId}'`,
    )
  }
  for (const [what, v] of [
    ['account id', o.accountId],
    ['region', o.region],
  ] as const) {
    if (v.length === 0 || v.length > 64 || /[\s/]/.test(v) || v === '.' || v === '..')
      throw new FlowLogsConfigError(
        `${what} must be 1–64 characters without spaces or '/', not '.' or '..', got '${v}'`,
      )
  }
  const p = (o.prefix ?? '').replace(/\/+$/, '')
  if (p === 'AWSLogs') throw new FlowLogsConfigError('AWSLogs cannot be used as the folder name (prefix)')
  // The prefix comes from the API (the destination ARN): it must name a folder inside the bucket.
  if (p !== '') checkKeySegments(p, 'the prefix')
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n

/** Start (Unix seconds) of the 5-minute delivery window that holds `endSec`. */
export function deliveryWindowStart(endSec: number): number {
  return Math.floor(endSec / DELIVERY_WINDOW_SECONDS) * DELIVERY_WINDOW_SECONDS
}

/** The folder (ending in `/`) of objects delivered for the window starting at `windowSec`. */
export function s3ObjectPrefix(o: S3LayoutOptions, windowSec: number): string {
  const d = new Date(windowSec * 1000)
  const yyyy = String(d.getUTCFullYear())
  const MM = pad2(d.getUTCMonth() + 1)
  const dd = pad2(d.getUTCDate())
  const HH = pad2(d.getUTCHours())
  let p = o.prefix === undefined || o.prefix === '' ? '' : o.prefix.replace(/\/+$/, '') + '/'
  if (o.hiveCompatiblePartitions === true) {
    p += `AWSLogs/aws-account-id=${o.accountId}/aws-service=vpcflowlogs/aws-region=${o.region}/year=${yyyy}/month=${MM}/day=${dd}/`
    if (o.perHourPartition === true) p += `hour=${HH}/`
  } else {
    p += `AWSLogs/${o.accountId}/vpcflowlogs/${o.region}/${yyyy}/${MM}/${dd}/`
    if (o.perHourPartition === true) p += `${HH}/`
  }
  return p
}

/** The object name (no folder) for the window starting at `windowSec`, with an 8-hex-digit `hash`. */
export function s3ObjectName(o: S3LayoutOptions, windowSec: number, hash: string): string {
  const d = new Date(windowSec * 1000)
  const stamp = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}Z`
  const ext = o.fileFormat === 'parquet' ? '.log.parquet' : '.log.gz'
  return `${o.accountId}_vpcflowlogs_${o.region}_${o.flowLogId}_${stamp}_${hash}${ext}`
}

/** The 8-hex-digit hash of an object: the first 32 bits of SHA-256 over its content (deterministic). */
export function objectHash(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 8)
}
