// SPDX-License-Identifier: Apache-2.0
/**
 * The kernel datapath: the sessions of each namespace's source interfaces become one nftables
 * `netdev` table (ingress + egress hooks) that `dup`s accepted frames to vxlan devices carrying the
 * session's VNI and target (see nftables-compile.ts for the table's shape). Applied atomically with
 * `nft -f`; the table's comment holds a hash of what it contains, so re-applying an unchanged state
 * runs no write at all. Needs Linux ≥ 5.16 and nft ≥ 1.0.1 for the egress hook (checked here:
 * kernel 6.18, nft 1.0.6 work).
 *
 * Kernel path vs AWS, known differences: the vxlan device picks the outer UDP source port from the
 * packet's skb hash within 0xFF80–0xFFFE (AWS: 0xFF80 | 7-bit symmetric hash, spec §2.2) — stable
 * per flow and direction, but not shared by both directions: locally sent packets carry their
 * socket's random hash, and IPv6 hashes include the flow label; the outer
 * IP ID is the kernel's (AWS: 0); an outer packet larger than the path MTU is fragmented (DF is
 * unset, as AWS) where AWS truncates (spec §2.3).
 * @module
 */
import { DatapathError } from '../errors.ts'
import { validateMirrorState, type MirrorSource, type MirrorState } from '../model.ts'
import type { ApplyResult, Datapath } from './datapath.ts'
import { inNetns, sh } from './exec.ts'
import {
  compileNftables,
  DEFAULT_NFT_NAMING,
  kernelCapable,
  VXLAN_SRCPORT_MAX,
  VXLAN_SRCPORT_MIN,
  type CompiledNftables,
  type NftNaming,
  type VxlanDeviceSpec,
} from './nftables-compile.ts'

/** Options of the kernel datapath. */
export interface NftablesDatapathOptions {
  naming?: NftNaming
}

/** vxlan devices carrying our prefix in a namespace. */
async function listDevices(netns: string | undefined, prefix: string): Promise<Set<string>> {
  const out = await sh(inNetns(netns, ['ip', '-j', 'link', 'show', 'type', 'vxlan']))
  const links = JSON.parse(out === '' ? '[]' : out) as { ifname: string; operstate?: string }[]
  return new Set(links.map((l) => l.ifname).filter((n) => n.startsWith(prefix)))
}

/**
 * Whether a failed `nft list table` says the table does not exist (nft: "Error: No such file or
 * directory"). Anything else — nft missing, not root, a broken kernel — is a fault, not an answer.
 */
export function isMissingTableError(err: unknown): boolean {
  return err instanceof Error && /Error: No such file or directory/.test(err.message)
}

/**
 * The hash in our table's comment, or null when the table does not exist. Throws `DatapathError`
 * when nft fails for any other reason: "cannot ask" must never read as "no table".
 */
async function currentHash(netns: string | undefined, table: string): Promise<string | null> {
  let out: string
  try {
    // Text, not `-j`: nft 1.0.6's JSON output leaves table comments out.
    out = await sh(inNetns(netns, ['nft', 'list', 'table', 'netdev', table]))
  } catch (err) {
    if (isMissingTableError(err)) return null
    throw err
  }
  return /comment "mirrorflow:([0-9a-f]+)"/.exec(out)?.[1] ?? ''
}

async function createDevice(netns: string | undefined, d: VxlanDeviceSpec): Promise<void> {
  const six = d.remote.includes(':')
  const argv = [
    'ip',
    'link',
    'add',
    d.name,
    'type',
    'vxlan',
    'id',
    String(d.vni),
    'remote',
    d.remote,
    'local',
    d.local,
    'dstport',
    '4789',
  ]
  argv.push('srcport', String(VXLAN_SRCPORT_MIN), String(VXLAN_SRCPORT_MAX), 'nolearning', 'ttl', '255')
  // AWS: DF 0, UDP checksum 0 on IPv4 (OBSERVED, spec §2.1); IPv6 needs its checksum.
  if (!six) argv.push('df', 'unset', 'noudpcsum')
  await sh(inNetns(netns, argv), undefined, d.name)
  // No IPv6 link-local address: the device must send nothing of its own (no RS/MLD) to the target.
  await sh(inNetns(netns, ['ip', 'link', 'set', d.name, 'addrgenmode', 'none']), undefined, d.name)
  await sh(inNetns(netns, ['ip', 'link', 'set', d.name, 'up']), undefined, d.name)
}

/** Kernel datapath (nftables `netdev` + vxlan devices). One instance manages all namespaces it is given. */
export class NftablesDatapath implements Datapath {
  readonly kind = 'nftables'
  readonly naming: NftNaming
  /** Namespaces holding our table (key '' = the current namespace). */
  readonly #managed = new Set<string>()

  constructor(opts: NftablesDatapathOptions = {}) {
    this.naming = opts.naming ?? DEFAULT_NFT_NAMING
  }

  /** Compiles without applying (for `--dry-run` and tests): namespace key ('' = current) → compiled table. */
  compile(state: MirrorState): Map<string, CompiledNftables> {
    validateMirrorState(state)
    const groups = new Map<string, MirrorSource[]>()
    for (const s of state.sources) {
      if (!state.sessions.some((x) => x.networkInterfaceId === s.networkInterfaceId)) continue
      if (!kernelCapable(state, s)) {
        throw new DatapathError(
          `source ${s.networkInterfaceId}: a session with a packet length or a load-balancer target, or ingress mirroring of an enforced interface, needs the user-space path`,
          s.ifname ?? '',
        )
      }
      if (s.ifname === undefined) throw new DatapathError(`source ${s.networkInterfaceId}: no interface name`)
      const key = s.netns ?? ''
      groups.set(key, [...(groups.get(key) ?? []), s])
    }
    const out = new Map<string, CompiledNftables>()
    for (const [k, srcs] of groups) out.set(k, compileNftables(state, srcs, this.naming))
    return out
  }

  async apply(state: MirrorState): Promise<ApplyResult> {
    const compiled = this.compile(state)
    let changed = false
    for (const key of new Set([...compiled.keys(), ...this.#managed])) {
      const c = compiled.get(key) ?? compileNftables({ ...state, sessions: [] }, [], this.naming)
      if (await this.#applyNs(key === '' ? undefined : key, c)) changed = true
      if (compiled.has(key)) this.#managed.add(key)
      else this.#managed.delete(key)
    }
    const kernelSources = state.sources.filter(
      (s) =>
        compiled.has(s.netns ?? '') &&
        state.sessions.some((x) => x.networkInterfaceId === s.networkInterfaceId),
    )
    return { changed, kernelSources: kernelSources.map((s) => s.networkInterfaceId), userspaceSources: [] }
  }

  async #applyNs(netns: string | undefined, c: CompiledNftables): Promise<boolean> {
    let changed = false
    const existing = await listDevices(netns, this.naming.devicePrefix)
    const wanted = new Set(c.devices.map((d) => d.name))
    // 1. New devices first: the table refers to them by name.
    for (const d of c.devices) {
      if (existing.has(d.name)) continue
      await createDevice(netns, d)
      changed = true
    }
    // 2. The table, atomically (one nft transaction), only when its content differs.
    const cur = await currentHash(netns, c.table)
    const empty = c.devices.length === 0
    if ((empty && cur !== null) || (!empty && cur !== c.hash)) {
      await sh(inNetns(netns, ['nft', '-f', '-']), c.script)
      changed = true
    }
    // 3. Devices no rule uses any more.
    for (const name of existing) {
      if (wanted.has(name)) continue
      await sh(inNetns(netns, ['ip', 'link', 'del', name]), undefined, name)
      changed = true
    }
    return changed
  }

  async removeLeftovers(): Promise<{ table: boolean; devices: string[] }> {
    return await removeKernelLeftovers(this.naming)
  }

  async remove(): Promise<void> {
    for (const key of [...this.#managed]) {
      const netns = key === '' ? undefined : key
      await this.#applyNs(
        netns,
        compileNftables(
          { sources: [], targets: [], filters: [], sessions: [], amazonDnsResolvers: [] },
          [],
          this.naming,
        ),
      )
      this.#managed.delete(key)
    }
  }
}

/**
 * Whether a failed `nft -c` of a netdev egress chain says this nft or kernel has no such hook: nft
 * older than 1.0.1 does not know the word (`unknown chain hook`, a syntax error at `egress`), a kernel
 * older than 5.16 refuses the chain (`Operation not supported`, `No such file or directory`).
 */
export function isEgressUnsupportedError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const m = err.message
  if (/Operation not permitted|must be root|cache initialization failed|exec of .* failed|ENOENT/.test(m))
    return false
  return /unknown chain hook|syntax error|Operation not supported|No such file or directory/.test(m)
}

/**
 * Whether this host's nft and kernel accept a netdev egress hook (run once at start-up, in `netns`).
 * False only when nft says the hook is unsupported; any other failure (nft missing, not root) throws
 * `DatapathError`, so that a fault never quietly sends every source to the user-space path.
 */
export async function probeNetdevEgress(netns: string | undefined, ifname: string): Promise<boolean> {
  const t = `mfprobe${process.pid % 100000}`
  const script = `table netdev ${t} {\n\tchain e {\n\t\ttype filter hook egress device "${ifname}" priority 0;\n\t}\n}\n`
  try {
    await sh(inNetns(netns, ['nft', '-c', '-f', '-']), script)
    return true
  } catch (err) {
    if (isEgressUnsupportedError(err)) return false
    throw err
  }
}

/**
 * Removes what a crashed agent may have left in `netns` (undefined: this namespace): our table and
 * every vxlan device with our prefix, by their reserved names. For a start whose desired state has
 * no kernel session here, so that no datapath would otherwise look at them. Throws `DatapathError`
 * when nft or ip fails (a missing table is not a failure).
 */
export async function removeKernelLeftovers(
  naming: NftNaming = DEFAULT_NFT_NAMING,
  netns?: string,
): Promise<{ table: boolean; devices: string[] }> {
  const table = (await currentHash(netns, naming.table)) !== null
  if (table) await sh(inNetns(netns, ['nft', 'delete', 'table', 'netdev', naming.table]))
  const devices = [...(await listDevices(netns, naming.devicePrefix))]
  for (const d of devices) await sh(inNetns(netns, ['ip', 'link', 'del', d]), undefined, d)
  return { table, devices }
}
