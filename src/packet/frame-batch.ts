// SPDX-License-Identifier: Apache-2.0

/**
 * A batch of captured frames, handed out by every frame source (file readers, live capture,
 * the VXLAN socket). Frame `i` occupies `bytes[starts[i] .. ends[i])`; `view` is a DataView over
 * the same memory built with the right byteOffset. The batch and its arrays are reused: they are
 * valid only until the source is asked for its next batch. Copy what must outlive that.
 */
export interface FrameBatch {
  bytes: Uint8Array
  view: DataView
  /** Number of frames in this batch; the typed arrays may be longer. */
  count: number
  starts: Uint32Array
  /** One past the last captured byte (start + captured length). */
  ends: Uint32Array
  /** The frame's length on the wire (>= captured length). */
  origLens: Uint32Array
  /** Timestamp: whole seconds since the epoch, and nanoseconds within the second. */
  tsSec: Float64Array
  tsNsec: Uint32Array
  /** Link type of each frame (LinkType values; pcapng interfaces may differ). */
  linkTypes: Uint16Array
  /** Interface index (pcapng interface id; 0 for classic pcap). */
  ifIndex: Uint16Array
}

/**
 * A batch of `size` frame slots over `bytes` (count 0, link types 0). Every producer builds its batch
 * here, so that all batches share one object shape (STYLE.md §3.5.8) and `view` always carries the
 * byte offset (§3.5.2).
 */
export function newFrameBatch(size: number, bytes: Uint8Array): FrameBatch {
  return {
    bytes,
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    count: 0,
    starts: new Uint32Array(size),
    ends: new Uint32Array(size),
    origLens: new Uint32Array(size),
    tsSec: new Float64Array(size),
    tsNsec: new Uint32Array(size),
    linkTypes: new Uint16Array(size),
    ifIndex: new Uint16Array(size),
  }
}
