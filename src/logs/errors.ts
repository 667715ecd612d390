// SPDX-License-Identifier: Apache-2.0
/** Errors of the logs engine (filter patterns, Insights queries, the event store). @module */
import { MirrorflowError } from '../errors.ts'

/** A filter pattern CloudWatch Logs would not accept, or one this engine does not implement. */
export class FilterPatternError extends MirrorflowError {
  readonly code = 'MF_LOGS_FILTER_PATTERN'
}

/** A Logs Insights query that cannot be parsed, or uses a command or function not implemented. */
export class InsightsQueryError extends MirrorflowError {
  readonly code = 'MF_LOGS_QUERY'
}

/** The event store could not be opened or written (`reason`: the errno or SQLite code). */
export class LogStoreError extends MirrorflowError {
  readonly code = 'MF_LOGS_STORE'
}
