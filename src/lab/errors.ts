// SPDX-License-Identifier: Apache-2.0
/** Errors of the lab and the demo. @module */
import { MirrorflowError } from '../errors.ts'

/** The demo could not complete a step (a process did not start, the API refused a call…). */
export class DemoError extends MirrorflowError {
  readonly code = 'MF_DEMO'
}

/** A lab helper refused or failed (`mirrorflow lab link`: no such namespace, already linked…). */
export class LabError extends MirrorflowError {
  readonly code = 'MF_LAB'
}
