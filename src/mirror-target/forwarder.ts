// SPDX-License-Identifier: Apache-2.0
/**
 * Hands decapsulated frames to a local interface so that tcpdump, Suricata or Zeek read them with
 * their ordinary live capture, unchanged.
 *
 * Node has no AF_PACKET socket, so frames go through a pipe to a 40-line helper
 * (`forward-helper.py`, Debian's /usr/bin/python3) that sends each one with a raw packet socket
 * bound to the interface. Measured alternatives and why not (docs/target.md): a kernel vxlan device
 * cannot share UDP 4789 with the target's own socket and would need the datagrams re-sent to a
 * second port; a TAP device needs a TUNSETIFF ioctl that Node cannot issue either, so it would need
 * the same kind of helper and gives nothing more than a packet socket on a dummy device.
 *
 * If the interface does not exist, a veth pair `IF` ↔ `IFp` is created (and removed on close): frames
 * are sent on `IF` and arrive on `IFp`, so a tool can read either end — `IFp` sees them as received
 * traffic, which is what an IDS in af-packet mode expects. IPv6 is disabled on both ends so the
 * kernel adds no neighbour-discovery noise. (A `dummy` device would be simpler but is not built
 * into every kernel; veth is, since namespaces need it.) An existing interface is used as it is.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { TargetForwardError } from './errors.ts'

const HELPER = fileURLToPath(new URL('./forward-helper.py', import.meta.url))
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
/** Bytes queued towards the helper beyond which frames are dropped (and counted), never buffered without bound. */
const MAX_QUEUED = 16 * 1024 * 1024
const CHUNK = 1 << 20

function ip(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  return { ok: r.status === 0, err: (r.stderr ?? '').trim() }
}

export class FrameForwarder {
  readonly ifname: string
  /** Frames handed to the helper. */
  forwarded = 0
  /** Frames dropped because the helper could not keep up (or is gone). */
  dropped = 0
  private child: ChildProcess | null
  private createdDevice = false
  private buf = Buffer.allocUnsafe(CHUNK)
  private used = 0
  private dead = false
  private helperReport = ''

  constructor(ifname: string) {
    this.ifname = ifname
    if (!ip(['link', 'show', 'dev', ifname]).ok) {
      if (ifname.length > 14)
        throw new TargetForwardError(`${ifname}: at most 14 characters (its peer is ${ifname}p)`)
      const add = ip(['link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`])
      if (!add.ok) throw new TargetForwardError(`cannot create veth pair ${ifname}/${ifname}p: ${add.err}`)
      this.createdDevice = true
      for (const end of [ifname, `${ifname}p`]) {
        spawnSync('sysctl', ['-qw', `net.ipv6.conf.${end}.disable_ipv6=1`])
        const up = ip(['link', 'set', 'dev', end, 'up'])
        if (!up.ok) throw new TargetForwardError(`cannot bring ${end} up: ${up.err}`)
      }
    } else {
      const up = ip(['link', 'set', 'dev', ifname, 'up'])
      if (!up.ok) throw new TargetForwardError(`cannot bring ${ifname} up: ${up.err}`)
    }
    this.child = spawn(PYTHON, [HELPER, ifname], { stdio: ['pipe', 'ignore', 'pipe'] })
    this.child.stderr?.setEncoding('utf8')
    this.child.stderr?.on('data', (s: string) => (this.helperReport += s))
    this.child.on('exit', () => (this.dead = true))
    this.child.stdin?.on('error', () => (this.dead = true))
  }

  /** Queues one frame `bytes[start, end)`. */
  push(bytes: Uint8Array, start: number, end: number): void {
    const len = end - start
    if (this.dead || (this.child?.stdin?.writableLength ?? 0) > MAX_QUEUED) {
      this.dropped++
      return
    }
    if (this.buf.length - this.used < len + 4) {
      this.flush()
      if (this.buf.length < len + 4) this.buf = Buffer.allocUnsafe(len + 4)
    }
    this.buf.writeUInt32BE(len, this.used)
    this.buf.set(bytes.subarray(start, end), this.used + 4)
    this.used += len + 4
    this.forwarded++
  }

  /** Sends what is queued to the helper (called once per received batch). */
  flush(): void {
    if (this.used === 0 || this.child?.stdin == null) return
    this.child.stdin.write(Buffer.from(this.buf.subarray(0, this.used)))
    this.used = 0
  }

  /** Ends the helper (after it sent what it had) and removes the dummy device if we made it. */
  async close(): Promise<string> {
    this.flush()
    const child = this.child
    this.child = null
    if (child !== null && !this.dead) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.stdin?.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    if (this.createdDevice) ip(['link', 'del', 'dev', this.ifname])
    return this.helperReport.trim()
  }
}
