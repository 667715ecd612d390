// SPDX-License-Identifier: Apache-2.0
/**
 * The host's inventory as the agent registers it: every interface with an IPv4 or global IPv6
 * address (loopback, mirrorflow's own vxlan devices and interfaces without addresses are left out),
 * with its MAC and addresses, read from `ip -j addr show` in the agent's network namespace.
 * @module
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

/** One interface of the host. */
export interface HostInterface {
  name: string
  mac: string
  /** IPv4 addresses, primary first (as the kernel lists them). */
  ipv4: string[]
  /** Global-scope IPv6 addresses. */
  ipv6: string[]
  /** Kernel ifindex. */
  index: number
}

interface IpAddrJson {
  ifindex: number
  ifname: string
  address?: string
  link_type?: string
  linkinfo?: { info_kind?: string }
  addr_info?: Array<{ family: string; local: string; scope?: string; secondary?: boolean }>
}

/** Parses `ip -j -d addr show` output (exported for tests). */
export function parseIpAddr(json: string, skipPrefixes: readonly string[] = ['mfv']): HostInterface[] {
  const out: HostInterface[] = []
  for (const l of JSON.parse(json) as IpAddrJson[]) {
    if (l.link_type === 'loopback' || l.ifname === 'lo') continue
    if (skipPrefixes.some((p) => l.ifname.startsWith(p))) continue
    const ipv4 = (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local)
    const ipv6 = (l.addr_info ?? [])
      .filter((a) => a.family === 'inet6' && a.scope === 'global')
      .map((a) => a.local)
    if (ipv4.length === 0 && ipv6.length === 0) continue
    out.push({ name: l.ifname, mac: (l.address ?? '').toLowerCase(), ipv4, ipv6, index: l.ifindex })
  }
  return out
}

/** Reads the interfaces of the current namespace. */
export async function readInventory(skipPrefixes: readonly string[] = ['mfv']): Promise<HostInterface[]> {
  const { stdout } = await execFileP('ip', ['-j', '-d', 'addr', 'show'], { maxBuffer: 16 * 1024 * 1024 })
  return parseIpAddr(stdout, skipPrefixes)
}

/** A stable text of the inventory: equal text = nothing to re-register. */
export function inventoryKey(ifs: readonly HostInterface[]): string {
  return JSON.stringify(ifs.map((i) => [i.name, i.mac, i.ipv4, i.ipv6]).sort())
}

/** Names of every link in the current namespace (with or without addresses). */
export async function readLinkNames(): Promise<Set<string>> {
  const { stdout } = await execFileP('ip', ['-j', 'link', 'show'], { maxBuffer: 16 * 1024 * 1024 })
  return new Set((JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname))
}
