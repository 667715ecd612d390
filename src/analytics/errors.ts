// SPDX-License-Identifier: Apache-2.0
/** Errors of the analytics engine (SQL over flow logs and other logs). @module */
import { MirrorflowError } from '../errors.ts'

/**
 * An input file or directory the analytics engine cannot use: missing, unreadable, not a flow-log
 * file (no header line of known fields, not Parquet, no flow-log column), too many files, a header
 * line over its bound. `path` names it.
 */
export class AnalyticsSourceError extends MirrorflowError {
  readonly code = 'MF_ANALYTICS_SOURCE'
  readonly path: string
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options)
    this.path = path
  }
}

/** A SQL statement DuckDB refused or that failed while running (the message is DuckDB's). */
export class AnalyticsQueryError extends MirrorflowError {
  readonly code = 'MF_ANALYTICS_QUERY'
}

/**
 * A parameter of an analytics call out of range: a time range, bucket, CIDR block, port, protocol,
 * page size or sort key the API does not accept, or an unknown saved query.
 */
export class AnalyticsArgumentError extends MirrorflowError {
  readonly code = 'MF_ANALYTICS_ARGUMENT'
}
