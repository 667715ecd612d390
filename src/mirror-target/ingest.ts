// SPDX-License-Identifier: Apache-2.0
/**
 * The one batch-oriented entry both receive modes feed: a batch whose frame `i` holds a VXLAN
 * datagram payload at `bytes[vxStart[i], ends[i])` (the socket mode copies datagrams so that
 * `vxStart[i] === starts[i]`; the capture mode points into the captured outer frame), and the
 * datagram's outer source address in `sources[i]`. `demuxVxlanBatch` validates each VXLAN header,
 * counts malformed datagrams by reason, finds the session (VNI, source) and rewrites the batch
 * IN PLACE so that it holds only the inner Ethernet frames, with `sessionOf[j]` their session.
 * Pure apart from the counters and `sessionFor`: unit-tested without sockets or processes.
 * @module
 */
import { formatIPv6, LinkType, type FrameBatch } from '../packet/index.ts'

export const VXLAN_HEADER = 8
export const ETHERNET_HEADER = 14

/** The malformed reasons, in the order they are checked (and shown). */
export const MALFORMED_REASONS = ['vxlan_truncated', 'vxlan_flags', 'inner_truncated'] as const

/** What the demultiplexer needs from its owner. */
export interface DemuxContext {
  /** Counters by reason (the keys of MALFORMED_REASONS), incremented in place. */
  readonly malformed: Record<string, number>
  /**
   * The session of (VNI, outer source), created on first sight; its `index` goes into `sessionOf`.
   * Null when the pair is refused (allow-lists, full table): the datagram is counted in `refused`.
   */
  sessionFor(vni: number, source: string, tsSec: number): DemuxSession | null
  /** `frames`: valid VXLAN datagrams dropped because their session was refused. */
  readonly refused: { frames: number }
}

/** The per-session counters the demultiplexer maintains. */
export interface DemuxSession {
  readonly index: number
  packets: number
  bytes: number
  lastSeen: number
}

/**
 * Validates and decapsulates every datagram of `batch` (see the module comment), compacting the
 * batch to its inner frames: `starts`/`ends` move to the inner frame, `origLens` loses the outer
 * headers, `linkTypes` becomes Ethernet. Frames with `vxStart[i] < 0` were already accounted for by
 * the caller and are skipped. Returns the number of VXLAN datagrams examined (valid or not).
 */
export function demuxVxlanBatch(
  batch: FrameBatch,
  vxStart: Int32Array,
  sources: string[],
  sessionOf: Int32Array,
  ctx: DemuxContext,
): number {
  const n = batch.count
  const bytes = batch.bytes
  const malformed = ctx.malformed
  let datagrams = 0
  let j = 0
  let lastSrc = ''
  let lastVni = -1
  let last: DemuxSession | null = null
  let haveLast = false
  for (let i = 0; i < n; i++) {
    const vx = vxStart[i] as number
    if (vx < 0) continue
    datagrams++
    const end = batch.ends[i] as number
    const len = end - vx
    if (len < VXLAN_HEADER) {
      malformed.vxlan_truncated = (malformed.vxlan_truncated ?? 0) + 1
      continue
    }
    // RFC 7348 §5: the I flag (0x08) must be set for the VNI to be valid.
    if (((bytes[vx] as number) & 0x08) === 0) {
      malformed.vxlan_flags = (malformed.vxlan_flags ?? 0) + 1
      continue
    }
    if (len < VXLAN_HEADER + ETHERNET_HEADER) {
      malformed.inner_truncated = (malformed.inner_truncated ?? 0) + 1
      continue
    }
    const vni =
      ((bytes[vx + 4] as number) << 16) | ((bytes[vx + 5] as number) << 8) | (bytes[vx + 6] as number)
    const src = sources[i] as string
    const tsSec = batch.tsSec[i] as number
    let s: DemuxSession | null
    if (haveLast && vni === lastVni && src === lastSrc) s = last
    else {
      s = ctx.sessionFor(vni, src, tsSec)
      last = s
      haveLast = true
      lastVni = vni
      lastSrc = src
    }
    if (s === null) {
      ctx.refused.frames++
      continue
    }
    const inner = vx + VXLAN_HEADER
    // The outer headers' share of the original length; a capture may have cut the frame short.
    const innerOrig = (batch.origLens[i] as number) - (inner - (batch.starts[i] as number))
    batch.starts[j] = inner
    batch.ends[j] = end
    batch.origLens[j] = innerOrig
    batch.tsSec[j] = tsSec
    batch.tsNsec[j] = batch.tsNsec[i] as number
    batch.linkTypes[j] = LinkType.Ethernet
    sessionOf[j] = s.index
    s.packets++
    s.bytes += innerOrig
    s.lastSeen = tsSec
    j++
  }
  batch.count = j
  return datagrams
}

/**
 * The text of an outer IPv6 source address, remembered for the last address seen: a stream of
 * datagrams from one source costs a 16-byte comparison each instead of a string (STYLE.md §3.5).
 */
export class Ipv6SourceName {
  readonly #last = new Uint8Array(16)
  #text = ''

  /** The text of the IPv6 address at `bytes[off, off + 16)`. */
  of(bytes: Uint8Array, off: number): string {
    const last = this.#last
    if (this.#text !== '') {
      let k = 0
      while (k < 16 && bytes[off + k] === last[k]) k++
      if (k === 16) return this.#text
    }
    last.set(bytes.subarray(off, off + 16))
    this.#text = formatIPv6(bytes, off)
    return this.#text
  }
}
