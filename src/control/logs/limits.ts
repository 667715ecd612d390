// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs' limits as AWS sets them (batch rules of PutLogEvents, page sizes) and
 * mirrorflow's caps on what callers may make it store (settings, for tests and operators).
 * @module
 */

export interface LogsQuotas {
  /** Log groups of the account (mirrorflow's bound; AWS allows far more). */
  logGroups: number
  /** Log streams per log group. */
  streamsPerGroup: number
  /** Events stored across all groups: past it, the oldest ingested are deleted first. */
  storedEvents: number
  /** Metric filters per log group (AWS: 100). */
  metricFiltersPerGroup: number
  /** Insights queries remembered (the oldest finished are forgotten first). */
  queriesRemembered: number
  /** Insights queries running at once (AWS: 30 per account). */
  concurrentQueries: number
}

export const DEFAULT_LOGS_QUOTAS: LogsQuotas = {
  logGroups: 1000,
  streamsPerGroup: 10_000,
  storedEvents: 5_000_000,
  metricFiltersPerGroup: 100,
  queriesRemembered: 1000,
  concurrentQueries: 30,
}

/** PutLogEvents: at most this many events… */
export const MAX_BATCH_EVENTS = 10_000
/** …and this many bytes, counting each message's UTF-8 bytes plus 26. */
export const MAX_BATCH_BYTES = 1_048_576
/** Largest single event (message bytes + 26). */
export const MAX_EVENT_BYTES = 262_144
/** A batch may span at most 24 hours. */
export const MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
/** Events older than 14 days (or than the group's retention) are rejected as too old. */
export const MAX_EVENT_AGE_MS = 14 * 24 * 3600 * 1000
/** Events more than 2 hours ahead are rejected as too new. */
export const MAX_EVENT_AHEAD_MS = 2 * 3600 * 1000
/** GetLogEvents / FilterLogEvents: at most 10,000 events and 1 MB per page. */
export const MAX_PAGE_EVENTS = 10_000
export const MAX_PAGE_BYTES = 1_048_576
/** Events FilterLogEvents looks at per call before answering with a nextToken. */
export const FILTER_SCAN_BUDGET = 5_000_000
/** The retention periods PutRetentionPolicy accepts, in days. */
export const RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
]
/** Tags per log group (AWS: 50). */
export const MAX_TAGS = 50
