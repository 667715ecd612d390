// SPDX-License-Identifier: Apache-2.0
/** Errors of the agent. @module */
import { MirrorflowError } from '../errors.ts'

/** The server refused or could not be reached for registration / desired state. */
export class AgentServerError extends MirrorflowError {
  readonly code = 'MF_AGENT_SERVER'
  readonly status: number
  constructor(message: string, status = 0, options?: ErrorOptions) {
    super(message, options)
    this.status = status
  }
}

/** A flow-log destination the agent cannot deliver to (bad ARN, unsupported type). */
export class AgentDestinationError extends MirrorflowError {
  readonly code = 'MF_AGENT_DESTINATION'
}

/** A capture-journal file could not be written, flushed or closed (disk full, I/O error). */
export class AgentWriteError extends MirrorflowError {
  readonly code = 'MF_AGENT_WRITE'
}
