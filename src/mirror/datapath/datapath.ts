// SPDX-License-Identifier: Apache-2.0
/**
 * The `Datapath` interface the agent drives: `apply(desiredState)` makes the host mirror exactly what
 * the state says (idempotent: applying the same state again changes nothing), `remove()` undoes
 * everything. Implementations: `nftables` (kernel), `userspace` (capture → evaluate → VXLAN over UDP),
 * and `auto`, which gives each source interface to the kernel when it can and to user space when a
 * session of it truncates (`PacketLength`) or targets several appliances, or when nft cannot attach
 * a netdev egress hook on the host — per source, so mirror-once holds across its sessions.
 * @module
 */
import { validateMirrorState, type MirrorState } from '../model.ts'
import { kernelCapable, type NftNaming } from './nftables-compile.ts'
import { NftablesDatapath, probeNetdevEgress } from './nftables.ts'
import { UserspaceDatapath, type UserspaceDatapathOptions } from './userspace.ts'

/** What an `apply` did. */
export interface ApplyResult {
  /** False when the host already matched the state. */
  changed: boolean
  /** Source interface ids served by the kernel path / the user-space path. */
  kernelSources: string[]
  userspaceSources: string[]
}

/** A mirroring datapath. */
export interface Datapath {
  readonly kind: string
  apply(state: MirrorState): Promise<ApplyResult>
  remove(): Promise<void>
  /**
   * Removes what a crashed predecessor left on the host that this instance does not manage (kernel
   * path: our table and vxlan devices by their reserved names). For a start whose state has no
   * session for this datapath. Throws `DatapathError` when the host cannot be asked or changed.
   */
  removeLeftovers(): Promise<{ table: boolean; devices: string[] }>
}

/** Kernel path where possible, user space for sources with a truncating session. */
export class AutoDatapath implements Datapath {
  readonly kind = 'auto'
  readonly kernel: NftablesDatapath
  readonly userspace: UserspaceDatapath
  /** Per namespace ('' = current): can nft attach a netdev egress hook here? Probed once. */
  readonly #egressOk = new Map<string, boolean>()

  constructor(opts: { naming?: NftNaming; userspace?: UserspaceDatapathOptions } = {}) {
    this.kernel = new NftablesDatapath(opts.naming ? { naming: opts.naming } : {})
    this.userspace = new UserspaceDatapath(opts.userspace ?? {})
  }

  async apply(state: MirrorState): Promise<ApplyResult> {
    validateMirrorState(state)
    const toKernel = new Set<string>()
    for (const s of state.sources) {
      if (!kernelCapable(state, s) || s.ifname === undefined) continue
      // Without a netdev egress hook (Linux < 5.16, nft < 1.0.1) the kernel path cannot see egress:
      // such hosts use the user-space path (STYLE.md §3.5.12).
      const ns = s.netns ?? ''
      if (!this.#egressOk.has(ns)) this.#egressOk.set(ns, await probeNetdevEgress(s.netns, s.ifname))
      if (this.#egressOk.get(ns) === true) toKernel.add(s.networkInterfaceId)
    }
    const k = await this.kernel.apply({
      ...state,
      sessions: state.sessions.filter((s) => toKernel.has(s.networkInterfaceId)),
    })
    const u = await this.userspace.apply({
      ...state,
      sessions: state.sessions.filter((s) => !toKernel.has(s.networkInterfaceId)),
    })
    return {
      changed: k.changed || u.changed,
      kernelSources: k.kernelSources,
      userspaceSources: u.userspaceSources,
    }
  }

  async remove(): Promise<void> {
    await this.userspace.remove()
    await this.kernel.remove()
  }

  async removeLeftovers(): Promise<{ table: boolean; devices: string[] }> {
    return await this.kernel.removeLeftovers()
  }
}

/** The datapaths by name (the `type:` of the agent's configuration). */
export type DatapathType = 'nftables' | 'userspace' | 'auto'

/** Builds a datapath by name. */
export function createDatapath(
  type: DatapathType,
  opts: { naming?: NftNaming; userspace?: UserspaceDatapathOptions } = {},
): Datapath {
  if (type === 'nftables') return new NftablesDatapath(opts.naming ? { naming: opts.naming } : {})
  if (type === 'userspace') return new UserspaceDatapath(opts.userspace ?? {})
  return new AutoDatapath(opts)
}
