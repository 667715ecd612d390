// SPDX-License-Identifier: Apache-2.0
/** Errors of the mirror target. @module */
import { MirrorflowError } from '../errors.ts'

/** The target's configuration is invalid (bad listen address, limits out of range). */
export class TargetConfigError extends MirrorflowError {
  readonly code = 'MF_TARGET_CONFIG'
}

/** The target could not bind its VXLAN socket or its metrics listener. */
export class TargetBindError extends MirrorflowError {
  readonly code = 'MF_TARGET_BIND'
}

/** The frame forwarder (the helper that hands decapsulated frames to a local interface) failed. */
export class TargetForwardError extends MirrorflowError {
  readonly code = 'MF_TARGET_FORWARD'
}

/** The capture receive mode could not start or run tcpdump. */
export class TargetCaptureError extends MirrorflowError {
  readonly code = 'MF_TARGET_CAPTURE'
}

/** A pcap ring file could not be written, flushed or closed (disk full, I/O error); the frames are lost. */
export class TargetWriteError extends MirrorflowError {
  readonly code = 'MF_TARGET_WRITE'
}
