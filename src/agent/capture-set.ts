// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's captures: one header-only live capture (capture/'s `LiveCapture`) per interface that a
 * flow log covers or that is a mirror source, shared by every flow log on it and by the mirror
 * accounting. 128 bytes per frame cover Ethernet, two VLAN tags, IPv6 with extension headers and TCP
 * (flow logs count the IP length from the header, not the bytes captured). Captures are GSO-exact
 * (`gsoExact`): a GSO/GRO/TSO super-frame counts as the segments that cross the wire.
 *
 * The kernel filter leaves out the mirror copies this host sends (flow logs never record them):
 * VXLAN to or from UDP 4789, and — since a mirrored frame near the MTU makes a VXLAN datagram that
 * the kernel fragments (DF unset, as AWS) — the later fragments of those datagrams, which carry no
 * UDP port: IPv4 UDP fragments and IPv6 fragments from a mirror source address to a mirror target
 * address (`mirrorExclusion`).
 * @module
 */
import { CaptureError, defaultCaptureOptions, LiveCapture, type CaptureOptions } from '../capture/index.ts'
import type { MirrorState } from '../mirror/index.ts'
import { VXLAN_PORT, type FrameBatch } from '../packet/index.ts'

/** Bytes captured per frame. */
export const CAPTURE_SNAPLEN = 128
/** The part of the filter that needs no state: VXLAN datagrams (and their first fragments). */
export const VXLAN_FILTER = `udp port ${VXLAN_PORT}`

/** One (local, remote) pair of the outer addresses this host's mirror traffic uses. */
export interface MirrorPath {
  local: string
  remote: string
}

/**
 * The outer address pairs of a mirror state, as both datapaths choose them: the source's first address
 * of the target address's family, to each target address. Sorted, without duplicates.
 */
export function mirrorPaths(state: MirrorState): MirrorPath[] {
  const seen = new Map<string, MirrorPath>()
  for (const s of state.sessions) {
    const src = state.sources.find((x) => x.networkInterfaceId === s.networkInterfaceId)
    const tgt = state.targets.find((t) => t.trafficMirrorTargetId === s.trafficMirrorTargetId)
    if (src === undefined || tgt === undefined) continue
    for (const remote of tgt.addresses) {
      const local = src.addresses.find((a) => a.includes(':') === remote.includes(':'))
      if (local !== undefined) seen.set(`${local} ${remote}`, { local, remote })
    }
  }
  return [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, p]) => p)
}

/**
 * The BPF expression of the mirror traffic to leave out: VXLAN on UDP 4789, plus the fragments of the
 * datagrams between each mirror path's addresses — IPv4 UDP fragments after the first (the first one
 * carries the port), and IPv6 packets whose first extension header is a fragment header (libpcap's
 * `udp port` does not look past it, so there the first fragment too).
 *
 * Exactness: what this leaves out beyond the mirror copies is UDP fragments (IPv6: any fragments)
 * from this host's mirror source address to a mirror target's address that are not mirror traffic.
 * A mirror target is an appliance receiving VXLAN; such traffic to it is not expected, and the docs
 * say so.
 */
export function mirrorExclusion(paths: readonly MirrorPath[]): string {
  const parts = [VXLAN_FILTER]
  for (const p of paths) {
    if (p.remote.includes(':'))
      parts.push(`(ip6 and src host ${p.local} and dst host ${p.remote} and ip6[6] = 44)`)
    else
      parts.push(
        `(ip and src host ${p.local} and dst host ${p.remote} and ip[9] = 17 and ip[6:2] & 0x1fff != 0)`,
      )
  }
  return parts.length === 1 ? `not (${parts[0]})` : `not (${parts.join(' or ')})`
}

/**
 * Options of one agent capture on `ifname` with `filter`; `nflogGroup` (0: none) is the NFLOG group
 * the interface's enforcement logs its drops to, recorded as REJECT.
 */
export function agentCaptureOptions(
  ifname: string,
  filter: string,
  gsoExact: boolean,
  nflogGroup = 0,
): CaptureOptions {
  return {
    ...defaultCaptureOptions(ifname, filter),
    snaplen: CAPTURE_SNAPLEN,
    // The GSO-exact helper reads a socket queue that the kernel charges with whole super-frames
    // (~64 KiB each) while they wait: 64 MiB holds ~1000 of them, about 0.5 s at 1 Gbit/s. Memory
    // is used only while the reader lags; drops would be counted (kernelDropped), never silent.
    bufferKiB: 65536,
    batchSize: 4096,
    gsoExact,
    nflogGroup,
  }
}

/** One capture's row in the agent's status. */
export interface CaptureStatusRow {
  ifname: string
  engine: string
  listening: boolean
  packets: number
  kernelDropped: number
  gsoFrames: number
  gsoSegments: number
  /** The NFLOG group of the interface's enforcement (0: none), and the drops read from it. */
  nflogGroup: number
  rejectedIn: number
  rejectedOut: number
  /** Why drops are not recorded although the interface is enforced ('' otherwise). */
  verdictFallback: string
  error: string
}

interface Entry {
  capture: LiveCapture | null
  filter: string
  group: number
  error: string
}

/**
 * The set of running captures. `sync` makes it match a set of interfaces and a filter: captures of
 * interfaces no longer wanted stop, new ones start, and a capture whose filter changed is replaced.
 * Failures are kept per interface (`error`) and reported through `onFailure`; a failed or dead
 * capture is started again at the next `sync`.
 */
export class CaptureSet {
  readonly #entries = new Map<string, Entry>()
  readonly #onBatch: (ifname: string, batch: FrameBatch) => void
  readonly #onFailure: (ifname: string, err: CaptureError) => void
  readonly #gsoExact: boolean

  constructor(
    onBatch: (ifname: string, batch: FrameBatch) => void,
    onFailure: (ifname: string, err: CaptureError) => void,
    gsoExact = true,
  ) {
    this.#onBatch = onBatch
    this.#onFailure = onFailure
    this.#gsoExact = gsoExact
  }

  /**
   * Captures exactly `ifnames` with `filter`. Resolves once every capture started (or failed to);
   * returns the failures to start, by interface.
   */
  async sync(
    ifnames: ReadonlySet<string>,
    filter: string,
    groups: ReadonlyMap<string, number> = new Map(),
  ): Promise<Map<string, CaptureError>> {
    const stopping: Promise<void>[] = []
    for (const [ifname, e] of [...this.#entries]) {
      const keep =
        ifnames.has(ifname) &&
        e.filter === filter &&
        e.group === (groups.get(ifname) ?? 0) &&
        e.capture !== null &&
        !e.capture.ended
      if (keep) continue
      this.#entries.delete(ifname)
      if (e.capture !== null) stopping.push(e.capture.stop())
    }
    await Promise.all(stopping)
    const failures = new Map<string, CaptureError>()
    await Promise.all(
      [...ifnames]
        .filter((n) => !this.#entries.has(n))
        .map(async (ifname) => {
          const group = groups.get(ifname) ?? 0
          const entry: Entry = { capture: null, filter, group, error: '' }
          this.#entries.set(ifname, entry)
          try {
            entry.capture = await LiveCapture.start(
              agentCaptureOptions(ifname, filter, this.#gsoExact, group),
              (b) => this.#onBatch(ifname, b),
              (err) => {
                entry.error = err.message
                this.#onFailure(ifname, err)
              },
            )
          } catch (err) {
            const e =
              err instanceof CaptureError
                ? err
                : new CaptureError(`capture on ${ifname}: ${(err as Error).message}`, ifname, { cause: err })
            entry.error = e.message
            failures.set(ifname, e)
          }
        }),
    )
    return failures
  }

  /** Status rows, one per interface. */
  rows(): CaptureStatusRow[] {
    return [...this.#entries].map(([ifname, e]) => ({
      ifname,
      engine: e.capture?.engine ?? '',
      listening: e.capture !== null && !e.capture.ended,
      packets: e.capture?.stats.frames ?? 0,
      kernelDropped: e.capture?.stats.kernelDrops ?? 0,
      gsoFrames: e.capture?.stats.gsoFrames ?? 0,
      gsoSegments: e.capture?.stats.gsoSegments ?? 0,
      nflogGroup: e.group,
      rejectedIn: e.capture?.stats.rejectedIn ?? 0,
      rejectedOut: e.capture?.stats.rejectedOut ?? 0,
      verdictFallback: e.capture?.verdictFallback ?? '',
      error: e.error,
    }))
  }

  /** The running capture of `ifname`, if any. */
  get(ifname: string): LiveCapture | undefined {
    return this.#entries.get(ifname)?.capture ?? undefined
  }

  /** Stops every capture (each delivers what it saw before the call). */
  async stop(): Promise<void> {
    const all = [...this.#entries.values()]
    this.#entries.clear()
    await Promise.all(all.map((e) => e.capture?.stop()))
  }
}
