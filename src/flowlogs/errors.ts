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

/**
 * A flow-log object could not be written: the file system failed (`reason` is the errno code, e.g.
 * `ENOSPC`, `EMFILE`, `ENAMETOOLONG`) or the path was refused because it would leave the writer's root
 * (`reason: 'refused-path'`: `..`, an absolute path, a symbolic link inside the root). Writers count
 * these and keep going; the records of the object are counted as dropped.
 */
export class FlowLogsWriteError extends MirrorflowError {
  readonly code = 'MF_FLOWLOGS_WRITE'
  readonly path: string
  readonly reason: string
  constructor(path: string, reason: string, message: string, options?: ErrorOptions) {
    super(
      reason === 'refused-path' ? `refused ${path}: ${message}` : `cannot write ${path}: ${message}`,
      options,
    )
    this.path = path
    this.reason = reason
  }
}
