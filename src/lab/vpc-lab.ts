// SPDX-License-Identifier: Apache-2.0
/**
 * The demo's small VPC, built out of network namespaces:
 *
 * ```
 *             host namespace: <prefix>m 10.253.X.Y/30  (the mirrorflow server listens here)
 *                                  │ veth
 *   ┌──────────────── <prefix>-rt (the VPC router) ───────────────┐
 *   │ mgmt (masquerade)    br-a 10.0.1.1/24      br-b 10.0.2.1/24 │
 *   └────────────────────────┬──────────────────────────┬─────────┘
 *      subnet A 10.0.1.0/24  │                          │  subnet B 10.0.2.0/24
 *   web 10.0.1.10  client 10.0.1.30  attacker 10.0.1.66   db 10.0.2.20  monitor 10.0.2.100
 * ```
 *
 * Each host is a namespace `<prefix>-<name>` with one interface `eth0` (MAC derived from its
 * address), a default route via its subnet's router address. The router masquerades the lab's
 * traffic towards the management link, so agents reach a server on the host without any route on
 * the host side. `cleanup()` removes all of it; `cleanupOnExit()` also does it synchronously when
 * the process exits for any reason.
 * @module
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { nodeArgv } from '../entry-points.ts'
import { Lab, nsExec, run, stopProcess } from './netns.ts'

/** One host of the lab. */
export interface LabHost {
  name: 'web' | 'client' | 'attacker' | 'db' | 'monitor'
  /** Namespace name. */
  ns: string
  ifname: 'eth0'
  address: string
  /** Prefix length of its subnet. */
  prefixLength: 24
  mac: string
  subnet: 'a' | 'b'
  subnetCidr: string
  gateway: string
}

export const LAB_VPC_CIDR = '10.0.0.0/16'
export const LAB_SUBNETS = { a: '10.0.1.0/24', b: '10.0.2.0/24' } as const
const GATEWAYS = { a: '10.0.1.1', b: '10.0.2.1' } as const
const HOSTS: Array<Pick<LabHost, 'name' | 'address' | 'subnet'>> = [
  { name: 'web', address: '10.0.1.10', subnet: 'a' },
  { name: 'client', address: '10.0.1.30', subnet: 'a' },
  { name: 'attacker', address: '10.0.1.66', subnet: 'a' },
  { name: 'db', address: '10.0.2.20', subnet: 'b' },
  { name: 'monitor', address: '10.0.2.100', subnet: 'b' },
]

/** A locally administered MAC made from an IPv4 address: 02:00:a:b:c:d. */
function macFor(address: string): string {
  return ['02', '00', ...address.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':')
}

function hash(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0
  return h
}

/** Reports of the client and attacker when their run ends. */
export interface LabTrafficReport {
  client: Record<string, unknown> | null
  attacker: Record<string, unknown> | null
}

export class VpcLab {
  readonly prefix: string
  readonly lab: Lab
  readonly hosts: LabHost[] = []
  /** Router namespace. */
  routerNs = ''
  /** The management address on the host side: agents reach the server here. */
  mgmtAddress = ''
  /** Host-side interface of the management link. */
  mgmtIfname = ''
  /** The router's end of the management link (the host reaches forwarded ports here). */
  routerMgmtAddress = ''
  private procs: ChildProcess[] = []
  private exitHook: (() => void) | null = null

  private constructor(prefix: string) {
    if (prefix.length > 12) throw new Error(`lab prefix '${prefix}' is too long (at most 12 characters)`)
    this.prefix = prefix
    this.lab = new Lab(prefix)
  }

  /** Builds the whole topology; on failure removes what was made and rethrows. */
  static async create(prefix: string): Promise<VpcLab> {
    const v = new VpcLab(prefix)
    try {
      await v.build()
    } catch (err) {
      await v.cleanup()
      throw err
    }
    return v
  }

  host(name: LabHost['name']): LabHost {
    const h = this.hosts.find((x) => x.name === name)
    if (h === undefined) throw new Error(`no lab host ${name}`)
    return h
  }

  private async build(): Promise<void> {
    const lab = this.lab
    const rt = await lab.namespace('rt')
    this.routerNs = rt
    await lab.forwarding(rt)
    for (const s of ['a', 'b'] as const) {
      await nsExec(rt, ['ip', 'link', 'add', `br-${s}`, 'type', 'bridge'])
      await nsExec(rt, ['ip', 'addr', 'add', `${GATEWAYS[s]}/24`, 'dev', `br-${s}`])
      await nsExec(rt, ['ip', 'link', 'set', `br-${s}`, 'up'])
    }
    for (const h of HOSTS) {
      const ns = await lab.namespace(h.name)
      const host: LabHost = {
        ...h,
        ns,
        ifname: 'eth0',
        prefixLength: 24,
        mac: macFor(h.address),
        subnetCidr: LAB_SUBNETS[h.subnet],
        gateway: GATEWAYS[h.subnet],
      }
      await lab.veth(
        { ns, ifname: 'eth0', addresses: [`${h.address}/24`], mac: host.mac },
        { ns: rt, ifname: `v-${h.name}` },
      )
      await nsExec(rt, ['ip', 'link', 'set', `v-${h.name}`, 'master', `br-${h.subnet}`])
      await nsExec(ns, ['ip', 'route', 'add', 'default', 'via', host.gateway])
      // No IPv6 on the lab links: router solicitations would only add noise to captures.
      await nsExec(ns, ['sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=1'])
      this.hosts.push(host)
    }
    // Management link to the host namespace, on a /30 chosen from the prefix and not in use yet.
    const inUse = (await run(['ip', '-o', '-4', 'addr', 'show'])).stdout
    let h = hash(this.prefix)
    let base = ''
    for (let i = 0; i < 64; i++, h = hash(String(h))) {
      base = `10.253.${h & 0xff}.${((h >>> 8) % 64) * 4}`
      const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number]
      if (!inUse.includes(` ${a}.${b}.${c}.${d + 1}/`) && !inUse.includes(` ${a}.${b}.${c}.${d + 2}/`)) break
    }
    const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number]
    this.mgmtAddress = `${a}.${b}.${c}.${d + 1}`
    this.mgmtIfname = `${this.prefix}m`
    await run(['ip', 'link', 'add', this.mgmtIfname, 'type', 'veth', 'peer', 'name', 'mgmt', 'netns', rt])
    await run(['ip', 'addr', 'add', `${this.mgmtAddress}/30`, 'dev', this.mgmtIfname])
    await run(['ip', 'link', 'set', this.mgmtIfname, 'up'])
    this.routerMgmtAddress = `${a}.${b}.${c}.${d + 2}`
    await nsExec(rt, ['ip', 'addr', 'add', `${this.routerMgmtAddress}/30`, 'dev', 'mgmt'])
    await nsExec(rt, ['ip', 'link', 'set', 'mgmt', 'up'])
    await nsExec(rt, ['nft', '-f', '-'], {
      input:
        'table ip mflab {\n chain post {\n  type nat hook postrouting priority 100;\n  oifname "mgmt" masquerade\n }\n}\n',
    })
  }

  /**
   * Lets the host reach TCP `port` of a lab host at `routerMgmtAddress:port`: the router forwards
   * (DNAT) what comes in on the management link to that port to the host's VPC address, keeping the
   * caller's source address. A route to a VPC address in the host's own namespace would not do: every
   * lab uses the same VPC addresses, and labs run side by side.
   */
  async forwardTcp(name: LabHost['name'], port: number): Promise<string> {
    const h = this.host(name)
    await nsExec(this.routerNs, ['nft', '-f', '-'], {
      input: `table ip mflabfwd {\n chain pre {\n  type nat hook prerouting priority -100;\n  iifname "mgmt" ip daddr ${this.routerMgmtAddress} tcp dport ${port} dnat to ${h.address}:${port}\n }\n}\n`,
    })
    return this.routerMgmtAddress
  }

  /** Removes the lab, synchronously, when the process exits (even on an uncaught error). */
  cleanupOnExit(): void {
    if (this.exitHook !== null) return
    this.exitHook = () => {
      for (const p of this.procs) p.kill('SIGKILL')
      for (const ns of [...this.lab.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns])
      if (this.mgmtIfname !== '') spawnSync('ip', ['link', 'del', this.mgmtIfname])
    }
    process.once('exit', this.exitHook)
  }

  /** Starts a traffic generator role in a host's namespace (see traffic-main.ts). */
  private spawnRole(host: LabHost, role: string, args: Record<string, string | number>): ChildProcess {
    const argv = [...nodeArgv('lab-traffic'), role, ...Object.entries(args).map(([k, v]) => `${k}=${v}`)]
    const p = this.lab.spawn(host.ns, argv)
    this.procs.push(p)
    return p
  }

  /** Starts the web server (with its SSH-like listener) and the database; resolves once both listen. */
  async startServers(durationS: number): Promise<void> {
    const ready = (p: ChildProcess): Promise<void> =>
      new Promise((resolve, reject) => {
        let out = ''
        let err = ''
        p.stdout?.setEncoding('utf8').on('data', (d: string) => {
          out += d
          if (out.includes('"ready":true')) resolve()
        })
        p.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d))
        p.once('exit', (code) => reject(new Error(`lab server exited (${code}): ${err.trim()}`)))
      })
    const db = this.spawnRole(this.host('db'), 'db', { duration: durationS })
    const web = this.spawnRole(this.host('web'), 'web', { duration: durationS, db: this.host('db').address })
    await Promise.all([ready(db), ready(web)])
  }

  /** Runs the client and the attacker for `durationS` seconds; resolves with their reports. */
  async runClients(
    durationS: number,
    opts: { scanPorts?: number; clientIntervalMs?: number } = {},
  ): Promise<LabTrafficReport> {
    const report = (p: ChildProcess): Promise<Record<string, unknown> | null> =>
      new Promise((resolve) => {
        let out = ''
        p.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d))
        p.once('exit', () => {
          try {
            resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>)
          } catch {
            resolve(null)
          }
        })
      })
    const web = this.host('web').address
    const client = this.spawnRole(this.host('client'), 'client', {
      duration: durationS,
      web,
      interval: opts.clientIntervalMs ?? 200,
    })
    const attacker = this.spawnRole(this.host('attacker'), 'attacker', {
      duration: durationS,
      victim: web,
      ports: opts.scanPorts ?? 1024,
    })
    const [c, a] = await Promise.all([report(client), report(attacker)])
    return { client: c, attacker: a }
  }

  /** Stops every generator still running. */
  async stopTraffic(): Promise<void> {
    await Promise.all(this.procs.splice(0).map((p) => stopProcess(p, 1000)))
  }

  /** Stops traffic and removes every namespace and link of the lab. Never throws. */
  async cleanup(): Promise<void> {
    await this.stopTraffic().catch(() => undefined)
    await this.lab.cleanup()
    if (this.mgmtIfname !== '') await run(['ip', 'link', 'del', this.mgmtIfname]).catch(() => undefined)
    if (this.exitHook !== null) {
      process.off('exit', this.exitHook)
      this.exitHook = null
    }
  }
}
