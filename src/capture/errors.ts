// SPDX-License-Identifier: Apache-2.0
/** Errors of the live frame sources. @module */
import { MirrorflowError } from '../errors.ts'

/**
 * A live capture could not start (no such interface, not root, a bad filter), could not be read, or
 * ended on its own (its tcpdump or helper died, the pipe broke). `iface` is the interface concerned.
 */
export class CaptureError extends MirrorflowError {
  readonly code = 'MF_CAPTURE'
  readonly iface: string
  constructor(message: string, iface: string, options?: ErrorOptions) {
    super(message, options)
    this.iface = iface
  }
}
