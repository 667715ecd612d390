// SPDX-License-Identifier: Apache-2.0
/**
 * A link from a network namespace to the host, so that an agent inside the namespace reaches a
 * server on the host. Each namespace has its own loopback: `127.0.0.1` inside it is not the host's,
 * so a server listening on the host's 127.0.0.1 cannot be reached from there. The link is a veth
 * pair with a /30 from 10.254.0.0/16 (chosen from the namespace's name, skipping addresses in use):
 * the host's end `mfh<8 hex>` gets the first address, the namespace's end `mfhost` the second. The
 * server then listens on the host's end (`mirrorflow server --host ADDRESS`), and the agent in the
 * namespace uses `--server http://ADDRESS:PORT`. `mirrorflow lab link NS` and `mirrorflow lab unlink
 * NS` make and remove it; the demo's lab makes the same kind of link for its router.
 * @module
 */
import { createHash } from 'node:crypto'
import { LabError } from './errors.ts'
import { nsExec, run } from './netns.ts'

export interface HostLink {
  netns: string
  /** The host's end of the veth pair, and its address (the server listens here). */
  hostIfname: string
  hostAddress: string
  /** The namespace's end (`mfhost`) and its address. */
  nsIfname: string
  nsAddress: string
  prefixLength: 30
}

/** Name of the namespace's end of the link. */
export const NS_IFNAME = 'mfhost'

function checkName(netns: string): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(netns) || netns === '.' || netns === '..')
    throw new LabError(`'${netns.slice(0, 64)}' is not a network namespace name`)
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

/** The host-side interface name for a namespace (stable: unlink finds it again). */
export function hostIfnameFor(netns: string): string {
  return `mfh${digest(netns).subarray(0, 4).toString('hex')}`
}

async function namespaces(): Promise<Set<string>> {
  const out = (await run(['ip', 'netns', 'list'])).stdout
  return new Set(
    out
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n !== ''),
  )
}

/** Makes the link (refuses when the namespace does not exist or is already linked). */
export async function linkNamespaceToHost(netns: string): Promise<HostLink> {
  checkName(netns)
  if (!(await namespaces()).has(netns)) throw new LabError(`no network namespace named ${netns}`)
  const hostIfname = hostIfnameFor(netns)
  const existing = await run(['ip', '-o', 'link', 'show', 'dev', hostIfname]).catch(() => null)
  if (existing !== null) throw new LabError(`${netns} is already linked to the host (${hostIfname})`)
  const inUse = (await run(['ip', '-o', '-4', 'addr', 'show'])).stdout
  let d = digest(netns)
  let base: [number, number] | null = null
  for (let i = 0; i < 256 && base === null; i++, d = digest(d.toString('hex'))) {
    const c = d[0]!
    const x = (d[1]! % 64) * 4
    if (!inUse.includes(` 10.254.${c}.${x + 1}/`) && !inUse.includes(` 10.254.${c}.${x + 2}/`)) base = [c, x]
  }
  if (base === null) throw new LabError('no free /30 in 10.254.0.0/16 for the link')
  const [c, x] = base
  const link: HostLink = {
    netns,
    hostIfname,
    hostAddress: `10.254.${c}.${x + 1}`,
    nsIfname: NS_IFNAME,
    nsAddress: `10.254.${c}.${x + 2}`,
    prefixLength: 30,
  }
  await run(['ip', 'link', 'add', hostIfname, 'type', 'veth', 'peer', 'name', NS_IFNAME, 'netns', netns])
  try {
    await run(['ip', 'addr', 'add', `${link.hostAddress}/30`, 'dev', hostIfname])
    await run(['ip', 'link', 'set', hostIfname, 'up'])
    await nsExec(netns, ['ip', 'addr', 'add', `${link.nsAddress}/30`, 'dev', NS_IFNAME])
    await nsExec(netns, ['ip', 'link', 'set', NS_IFNAME, 'up'])
    await nsExec(netns, ['ip', 'link', 'set', 'lo', 'up'])
  } catch (err) {
    await run(['ip', 'link', 'del', hostIfname]).catch(() => undefined)
    throw err
  }
  return link
}

/** Removes the link (deleting one end of a veth pair deletes both); false when there was none. */
export async function unlinkNamespaceFromHost(netns: string): Promise<boolean> {
  checkName(netns)
  const hostIfname = hostIfnameFor(netns)
  if ((await run(['ip', '-o', 'link', 'show', 'dev', hostIfname]).catch(() => null)) === null) return false
  await run(['ip', 'link', 'del', hostIfname])
  return true
}
