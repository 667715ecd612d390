// SPDX-License-Identifier: Apache-2.0
/**
 * The user-space mirroring stage shared by the live user-space datapath and the offline simulator:
 * decode each frame of a batch, find its direction at each source, evaluate the sessions, and hand
 * the VXLAN packet (header + inner frame, cut to the packet length) to a sink. One scratch buffer
 * with headroom and one `PacketMeta` are reused for every frame.
 * @module
 */
import { decodeFrame, PacketMeta } from '../packet/index.ts'
import type { FrameBatch } from '../packet/index.ts'
import { REJECTED_IF_INDEX } from '../capture/index.ts'
import { HEADROOM, mirroredLength, prependVXLAN } from './encapsulate.ts'
import type { MirrorEvaluator } from './evaluator.ts'
import { applianceIndex, outerSourcePort, symmetricFlowHash } from './flow-hash.ts'

/** Largest inner frame handled (bigger frames are cut here; 64 KiB covers GSO super-packets). */
export const MAX_INNER_FRAME = 65535

/** Receives each mirrored packet. The bytes are valid only during the call (the buffer is reused). */
export interface MirrorSink {
  /**
   * `buf[vxlanStart, end)` is the VXLAN header + inner frame; `buf` has `HEADROOM - 8` free bytes
   * before `vxlanStart` for outer headers. `session` is the evaluator's session index, `appliance`
   * the index into the session target's addresses.
   */
  send(
    session: number,
    appliance: number,
    srcPort: number,
    buf: Uint8Array,
    view: DataView,
    vxlanStart: number,
    end: number,
    batch: FrameBatch,
    frame: number,
  ): void
}

/** Counters of one pipeline (never reset; read them for stats). */
export interface PipelineStats {
  frames: number
  mirrored: number
  /** Frames the capture had cut (captured length < wire length): their mirrors are cut too. */
  cut: number
  /**
   * Frames the decoder rejected (STYLE.md §3.4: counted, not thrown). They are still evaluated on
   * what decoded before the damage: AWS mirrors the frames an interface sees, damaged or not.
   */
  malformed: number
  /** `malformed` by reason, indexed by `Malformed`. */
  malformedByReason: Float64Array
  /** Mirrored packets per evaluator session index. */
  perSession: Float64Array
  /**
   * `skipRejected`: frames the interface's security groups or network ACL dropped (a verdict
   * capture's interface `REJECTED_IF_INDEX`), not mirrored.
   */
  rejected: number
}

/** Options of a pipeline. */
export interface MirrorPipelineOptions {
  /**
   * The batches come from a verdict capture (`mf-capture -g`): frames of pcapng interface
   * `REJECTED_IF_INDEX` were dropped by the interface's rules and are never mirrored, as on AWS.
   */
  skipRejected?: boolean
}

/** Decode → evaluate → encapsulate, batch by batch. */
export class MirrorPipeline {
  readonly evaluator: MirrorEvaluator
  readonly stats: PipelineStats
  readonly #sink: MirrorSink
  readonly #m = new PacketMeta()
  readonly #buf = new Uint8Array(HEADROOM + MAX_INNER_FRAME)
  readonly #view = new DataView(this.#buf.buffer)
  /** Sources that have at least one session (the others are skipped). */
  readonly #activeSources: Uint32Array
  readonly #skipRejected: boolean

  constructor(evaluator: MirrorEvaluator, sink: MirrorSink, opts: MirrorPipelineOptions = {}) {
    this.evaluator = evaluator
    this.#sink = sink
    this.#skipRejected = opts.skipRejected === true
    this.stats = {
      frames: 0,
      mirrored: 0,
      cut: 0,
      malformed: 0,
      malformedByReason: new Float64Array(64),
      perSession: new Float64Array(evaluator.sessions.length),
      rejected: 0,
    }
    const active: number[] = []
    for (let i = 0; i < evaluator.sourceCount; i++) {
      if (evaluator.sessionSource.includes(i)) active.push(i)
    }
    this.#activeSources = Uint32Array.from(active)
  }

  /** Processes every frame of a batch (synchronously: the batch is valid only until the next one). */
  processBatch(batch: FrameBatch): void {
    const m = this.#m
    const ev = this.evaluator
    const bytes = batch.bytes
    const srcs = this.#activeSources
    const skip = this.#skipRejected
    for (let f = 0; f < batch.count; f++) {
      this.stats.frames++
      if (skip && batch.ifIndex[f] === REJECTED_IF_INDEX) {
        this.stats.rejected++
        continue
      }
      if (batch.origLens[f]! > batch.ends[f]! - batch.starts[f]!) this.stats.cut++
      if (decodeFrame(batch.view, batch.starts[f]!, batch.ends[f]!, batch.linkTypes[f]!, m) < 0) {
        this.stats.malformed++
        this.stats.malformedByReason[m.malformed]!++
      }
      for (let j = 0; j < srcs.length; j++) {
        const s = srcs[j]!
        const d = ev.directionOf(s, m, bytes)
        if (d < 0) continue
        const k = ev.evaluate(s, d, m, bytes)
        if (k < 0) continue
        let len = mirroredLength(m, ev.sessionPacketLength[k]!)
        if (len > MAX_INNER_FRAME) len = MAX_INNER_FRAME
        this.#buf.set(bytes.subarray(m.frameStart, m.frameStart + len), HEADROOM)
        const vx = prependVXLAN(this.#view, HEADROOM, ev.sessionVni[k]!)
        const h = symmetricFlowHash(m, bytes)
        const n = ev.sessionTargets[k]!.addresses.length
        this.stats.mirrored++
        this.stats.perSession[k]!++
        this.#sink.send(
          k,
          applianceIndex(h, n),
          outerSourcePort(h),
          this.#buf,
          this.#view,
          vx,
          HEADROOM + len,
          batch,
          f,
        )
      }
    }
  }
}
