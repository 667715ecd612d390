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

/**
 * The agent's state file (`DATA_DIR/agent-state.json`) exists but cannot be read or is not what the
 * agent wrote. The agent stops rather than register a new instance in its place (which would leave the
 * old one's sessions and flow logs orphaned): fix or remove the file, or pass `--instance-id`.
 */
export class AgentStateError extends MirrorflowError {
  readonly code = 'MF_AGENT_STATE'
  readonly file: string
  constructor(message: string, file: string, options?: ErrorOptions) {
    super(message, options)
    this.file = file
  }
}

/**
 * The agent lacks the privileges its job needs (root, or CAP_NET_ADMIN + CAP_NET_RAW: capture and
 * datapath), at start or later (a capture or the datapath refused with "Operation not permitted").
 * The agent exits non-zero.
 */
export class AgentPrivilegeError extends MirrorflowError {
  readonly code = 'MF_AGENT_PRIVILEGE'
}
