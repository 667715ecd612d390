// SPDX-License-Identifier: Apache-2.0
/** Errors of the mirroring engine. @module */
import { MirrorflowError } from '../errors.ts'

/** A mirroring configuration (targets, filters, sessions, interfaces) that is invalid or inconsistent. */
export class MirrorConfigError extends MirrorflowError {
  readonly code = 'MF_MIRROR_CONFIG'
}

/** The kernel or user-space datapath could not apply or remove a state. */
export class DatapathError extends MirrorflowError {
  readonly code = 'MF_MIRROR_DATAPATH'
  /** The source interface concerned, when there is one. */
  readonly interface: string
  constructor(message: string, iface = '', options?: ErrorOptions) {
    super(message, options)
    this.interface = iface
  }
}
