// SPDX-License-Identifier: Apache-2.0
/** Errors of the flow-logs engine. @module */
import { MirrorflowError } from '../errors.ts'

/**
 * A `LogFormat` string AWS would reject: empty, a token that is not `${field}`, an unknown field or a
 * field given twice. `field` names the offending field (or token) when there is one.
 */
export class LogFormatError extends MirrorflowError {
  readonly code = 'MF_FLOWLOGS_LOG_FORMAT'
  readonly field: string | null
  constructor(message: string, field: string | null = null) {
    super(message)
    this.field = field
  }
}

/** A flow-logs engine or destination setting is out of range (aggregation interval, table size, ids…). */
export class FlowLogsConfigError extends MirrorflowError {
  readonly code = 'MF_FLOWLOGS_CONFIG'
}

/** A flow-log destination this engine cannot write to: not an S3 bucket ARN. */
export class FlowLogsDestinationError extends MirrorflowError {
  readonly code = 'MF_FLOWLOGS_DESTINATION'
}
