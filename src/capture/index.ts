// SPDX-License-Identifier: Apache-2.0
/**
 * Live packet sources. One implementation, `LiveCapture`, serves every process that captures: the
 * agent (flow logs and mirror accounting), the user-space mirror worker and the mirror target. It
 * runs `tcpdump -U -w -` (or, with `gsoExact`, the `mf-capture` helper that counts GSO/GRO/TSO
 * super-frames as their wire segments) and hands out `FrameBatch`es from the packet layer.
 *
 * Stable API for its users (the target switches to it from its own tcpdump wrapper):
 *
 * ```ts
 * const opts = { ...defaultCaptureOptions('eth0', 'udp dst port 4789'), direction: 'in', snaplen: SNAPLEN_WHOLE }
 * const cap = await LiveCapture.start(opts, (batch) => {   // resolves once capturing ("ready")
 *   // batch: FrameBatch, valid only during this call
 * }, (err) => {
 *   // called once if the capture dies on its own (tcpdump killed, pipe broken, handler threw):
 *   // err.code === 'MF_CAPTURE'; restart or report
 * })
 * cap.stats            // frames, captured, kernelDrops (tcpdump's report), gsoFrames, gsoSegments, gsoUnknown
 * cap.linkType         // e.g. 'EN10MB', 'LINUX_SLL2'
 * await cap.stop()     // every frame seen before the call is delivered first
 * ```
 *
 * `LiveCapture.start` throws `CaptureError` (`MF_CAPTURE`) when the capture cannot start (not root,
 * no such interface, a bad filter). It knows nothing of what is done with the packets.
 * @module
 */
export { CaptureError } from './errors.ts'
export {
  captureStdout,
  defaultCaptureOptions,
  LiveCapture,
  REJECTED_IF_INDEX,
  SNAPLEN_WHOLE,
  tcpdumpArgv,
  type CaptureOptions,
  type CaptureStats,
} from './live-capture.ts'
export {
  buildGsoHelper,
  compileFilter,
  gsoHelperPath,
  GSO_HELPER_SOURCE,
  supportsGsoExact,
} from './gso-helper.ts'
