// SPDX-License-Identifier: Apache-2.0
/** Errors of the process services. @module */
import { MirrorflowError } from '../errors.ts'

/** An `ADDR:PORT` (or `PORT`) option that is not one: bad syntax, not an IP address, port out of range. */
export class ListenAddressError extends MirrorflowError {
  readonly code = 'MF_LISTEN_ADDRESS'
}

/** The `/metrics` + `/status` server could not bind its address (in use, not local, no permission). */
export class ListenError extends MirrorflowError {
  readonly code = 'MF_LISTEN'
  readonly address: string
  constructor(message: string, address: string, options?: ErrorOptions) {
    super(message, options)
    this.address = address
  }
}
