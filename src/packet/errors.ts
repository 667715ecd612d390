// SPDX-License-Identifier: Apache-2.0
/** Errors of the packet layer. @module */
import { MirrorflowError } from '../errors.ts'

/**
 * A capture file (or stream) is damaged or not a capture at all. Thrown by `readCapture` only after
 * every frame before the damage was delivered. `offset` is the byte offset of the damaged record or
 * block from the start of the file/stream.
 */
export class CaptureFormatError extends MirrorflowError {
  readonly code = 'MF_CAPTURE_FORMAT'
  readonly file: string
  readonly offset: number
  constructor(file: string, offset: number, reason: string) {
    super(`${file}: damaged capture at byte ${offset}: ${reason}`)
    this.file = file
    this.offset = offset
  }
}
