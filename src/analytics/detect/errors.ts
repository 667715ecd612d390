// SPDX-License-Identifier: Apache-2.0
/** Errors of the detection engine. @module */
import { MirrorflowError } from '../../errors.ts'

/** A detection setting that is unknown or not a positive number (`--set`, the server's `--detect-set`). */
export class DetectConfigError extends MirrorflowError {
  readonly code = 'MF_DETECT_CONFIG'
}

/** A flow-log file `mirrorflow detect --flow-logs` cannot read: no header line, not gzip, unreadable. */
export class DetectInputError extends MirrorflowError {
  readonly code = 'MF_DETECT_INPUT'
  readonly file: string
  constructor(file: string, message: string) {
    super(`${file}: ${message}`)
    this.file = file
  }
}
