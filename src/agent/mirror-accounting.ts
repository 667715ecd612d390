// SPDX-License-Identifier: Apache-2.0
/**
 * Per-session, per-direction mirror counters with AWS's metric semantics, for both datapaths.
 *
 * The kernel path duplicates frames in nftables and counts nothing per direction, so the agent
 * measures what the datapath is asked to mirror by running the mirror engine's own evaluator
 * (`MirrorEvaluator`, the same semantics the datapath compiles) over a header capture of each
 * source interface: a frame the evaluator gives to session k in direction d counts towards
 * `NetworkMirrorIn` (ingress) or `NetworkMirrorOut` (egress) of k, in wire bytes. Frames the datapath
 * failed to send — the vxlan device's `tx_dropped` + `tx_errors` — are the `NetworkPacketsSkipMirror*`
 * counts (split by direction in proportion to the mirrored packets; bytes likewise: the device does
 * not say which direction a dropped frame had).
 *
 * Which sessions have vxlan devices is decided per source interface, as `AutoDatapath` splits them:
 * a source with an interface name whose sessions all fit the kernel path (`kernelCapable`: no packet
 * length, no load-balancer target) has its sessions' devices; a source that goes to user space (a
 * truncating or NLB-style session) has none, and neither does a source the kernel compiler refuses
 * (e.g. no address of its target's family) — without affecting any other source's sessions.
 * @module
 */
import { readFileSync } from 'node:fs'
import {
  Direction,
  MirrorEvaluator,
  compileNftables,
  kernelCapable,
  DEFAULT_NFT_NAMING,
  type MirrorState,
} from '../mirror/index.ts'
import { decodeFrame, PacketMeta, type FrameBatch } from '../packet/index.ts'
import type { MirrorCounterRow } from './metrics.ts'

interface SessionCounters {
  interfaceId: string
  sessionId: string
  inBytes: number
  outBytes: number
  inPackets: number
  outPackets: number
  devices: string[]
}

/** Reads one counter of a network device's statistics (`tx_dropped`, `tx_errors`); throws when it is gone. */
export type DeviceCounterReader = (device: string, counter: string) => number

function readSysfsCounter(device: string, counter: string): number {
  return Number(readFileSync(`/sys/class/net/${device}/statistics/${counter}`, 'utf8'))
}

export class MirrorAccounting {
  private evaluator: MirrorEvaluator | null = null
  private readonly bySession = new Map<string, SessionCounters>()
  private readonly m = new PacketMeta()
  private readonly readCounter: DeviceCounterReader

  constructor(opts: { readDeviceCounter?: DeviceCounterReader } = {}) {
    this.readCounter = opts.readDeviceCounter ?? readSysfsCounter
  }

  /** Rebuilds the evaluator for a new state; counters of sessions that remain are kept. */
  update(state: MirrorState): void {
    // Per source, as AutoDatapath decides: only a kernel-served source's sessions have vxlan devices.
    const devices = new Map<string, string[]>()
    for (const src of state.sources) {
      if (src.ifname === undefined || !kernelCapable(state, src)) continue
      let c
      try {
        c = compileNftables(state, [src], DEFAULT_NFT_NAMING)
      } catch {
        continue // the kernel path cannot serve this source: no devices to read for its sessions
      }
      for (const d of c.devices) devices.set(d.sessionId, [...(devices.get(d.sessionId) ?? []), d.name])
    }
    this.evaluator = state.sessions.length === 0 ? null : new MirrorEvaluator(state)
    const keep = new Set<string>()
    for (const s of state.sessions) {
      keep.add(s.trafficMirrorSessionId)
      const cur = this.bySession.get(s.trafficMirrorSessionId)
      if (cur === undefined) {
        this.bySession.set(s.trafficMirrorSessionId, {
          interfaceId: s.networkInterfaceId,
          sessionId: s.trafficMirrorSessionId,
          inBytes: 0,
          outBytes: 0,
          inPackets: 0,
          outPackets: 0,
          devices: devices.get(s.trafficMirrorSessionId) ?? [],
        })
      } else {
        cur.devices = devices.get(s.trafficMirrorSessionId) ?? []
      }
    }
    for (const id of [...this.bySession.keys()]) if (!keep.has(id)) this.bySession.delete(id)
  }

  /** Whether an interface id is a mirror source now. */
  isSource(interfaceId: string): boolean {
    return this.evaluator !== null && this.evaluator.sourceIndex(interfaceId) >= 0
  }

  /** Counts a batch captured on source `interfaceId`. */
  add(interfaceId: string, batch: FrameBatch): void {
    const ev = this.evaluator
    if (ev === null) return
    const i = ev.sourceIndex(interfaceId)
    if (i < 0) return
    const m = this.m
    const bytes = batch.bytes
    for (let f = 0; f < batch.count; f++) {
      if (
        decodeFrame(
          batch.view,
          batch.starts[f] as number,
          batch.ends[f] as number,
          batch.linkTypes[f] as number,
          m,
        ) < 0
      )
        continue
      const d = ev.directionOf(i, m, bytes)
      if (d < 0) continue
      const k = ev.evaluate(i, d, m, bytes)
      if (k < 0) continue
      const c = this.bySession.get(
        (ev.sessions[k] as { trafficMirrorSessionId: string }).trafficMirrorSessionId,
      )
      if (c === undefined) continue
      const len = batch.origLens[f] as number
      if (d === Direction.Ingress) {
        c.inPackets++
        c.inBytes += len
      } else {
        c.outPackets++
        c.outBytes += len
      }
    }
  }

  rows(): MirrorCounterRow[] {
    const out: MirrorCounterRow[] = []
    for (const c of this.bySession.values()) {
      let dropped = 0
      for (const dev of c.devices) {
        for (const f of ['tx_dropped', 'tx_errors']) {
          try {
            dropped += this.readCounter(dev, f)
          } catch {
            // device gone
          }
        }
      }
      const total = c.inPackets + c.outPackets
      const inShare = total === 0 ? 0.5 : c.inPackets / total
      const avg = total === 0 ? 0 : (c.inBytes + c.outBytes) / total
      const skipIn = Math.round(dropped * inShare)
      out.push({
        interfaceId: c.interfaceId,
        sessionId: c.sessionId,
        inBytes: c.inBytes,
        outBytes: c.outBytes,
        inPackets: c.inPackets,
        outPackets: c.outPackets,
        skipInPackets: skipIn,
        skipOutPackets: dropped - skipIn,
        skipInBytes: Math.round(skipIn * avg),
        skipOutBytes: Math.round((dropped - skipIn) * avg),
      })
    }
    return out
  }
}
