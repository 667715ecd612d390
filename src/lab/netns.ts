// SPDX-License-Identifier: Apache-2.0
/**
 * Network-namespace helpers for tests, benchmarks and the lab: namespaces under a unique prefix,
 * veth pairs, addresses, running commands inside a namespace, and cleanup that is guaranteed to
 * remove everything a `Lab` made (and `cleanupPrefix()` for leftovers of a crashed run).
 *
 * ```ts
 * const lab = new Lab(uniquePrefix('mfmir'))      // e.g. "mfmir123"
 * try {
 *   const a = await lab.namespace('a'), b = await lab.namespace('b')
 *   await lab.veth(a, 'a0', '10.9.0.1/24', b, 'b0', '10.9.0.2/24')
 *   await lab.exec(a, ['ping', '-c1', '10.9.0.2'])
 * } finally { await lab.cleanup() }
 * ```
 *
 * Namespace names are `<prefix>-<name>`; interface names are chosen by the caller and must stay
 * within Linux's 15 characters. Everything runs through `ip`, so root (or CAP_NET_ADMIN) is needed.
 * @module
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

/** Result of a finished command. */
export interface ExecResult {
  stdout: string
  stderr: string
}

/** Runs a program (no shell) and returns its output; rejects with stderr in the message on failure. */
export async function run(
  argv: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const [file, ...args] = argv
  if (file === undefined) throw new Error('run: empty argv')
  if (opts.input !== undefined) {
    return await new Promise<ExecResult>((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
      child.on('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        if (code === 0) resolve({ stdout, stderr })
        else reject(new Error(`${argv.join(' ')}: exit ${code}: ${stderr.trim()}`))
      })
      child.stdin.end(opts.input)
    })
  }
  try {
    const r = await execFileP(file, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 })
    return { stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`${argv.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`, { cause: err })
  }
}

/** A unique prefix for one test run: `<base><pid % 1000>` plus a counter, short enough for interface names. */
let prefixCounter = 0
export function uniquePrefix(base: string): string {
  return `${base}${process.pid % 1000}${prefixCounter++ === 0 ? '' : String(prefixCounter - 1)}`
}

/** The argv that runs `argv` inside namespace `ns` (`ip netns exec`). */
export function nsArgv(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv]
}

/** Runs a command inside a namespace and waits for it. */
export async function nsExec(
  ns: string,
  argv: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return await run(nsArgv(ns, argv), opts)
}

/** Starts a long-running command inside a namespace (stdio piped); the caller stops it. */
export function nsSpawn(ns: string, argv: readonly string[]): ChildProcess {
  const full = nsArgv(ns, argv)
  return spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves when the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Lists network namespaces whose name starts with `prefix`. */
export async function listNamespaces(prefix: string): Promise<string[]> {
  const { stdout } = await run(['ip', '-o', 'netns', 'list'])
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '' && n.startsWith(prefix))
}

/**
 * Removes every namespace, and every interface of the host namespace, whose name starts with
 * `prefix`: the leftovers of a run that crashed before its own cleanup. Deleting a namespace
 * deletes the interfaces inside it; a veth pair goes away when either end does.
 */
export async function cleanupPrefix(prefix: string): Promise<void> {
  if (prefix.length < 3) throw new Error(`cleanupPrefix: prefix '${prefix}' is too broad`)
  for (const ns of await listNamespaces(prefix)) {
    await run(['ip', 'netns', 'del', ns]).catch(() => undefined)
  }
  const { stdout } = await run(['ip', '-o', 'link', 'show'])
  for (const line of stdout.split('\n')) {
    const name = /^\d+: ([^:@]+)[@:]/.exec(line)?.[1]
    if (name !== undefined && name.startsWith(prefix)) {
      await run(['ip', 'link', 'del', name]).catch(() => undefined)
    }
  }
}

/** Options of `Lab.veth`: an address per end (CIDR notation, IPv4 or IPv6), or none. */
export interface VethEnd {
  ns: string
  ifname: string
  addresses?: string[]
  mac?: string
}

/**
 * A set of namespaces and links made under one prefix. `cleanup()` deletes all of them (and any
 * other leftover carrying the prefix); call it in `after()`/`finally`.
 */
export class Lab {
  readonly prefix: string
  readonly #namespaces: string[] = []

  constructor(prefix: string) {
    this.prefix = prefix
  }

  /** Creates namespace `<prefix>-<name>` with loopback up; returns its full name. */
  async namespace(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`
    await run(['ip', 'netns', 'add', ns])
    this.#namespaces.push(ns)
    await nsExec(ns, ['ip', 'link', 'set', 'lo', 'up'])
    // Deterministic tests: no IPv6 duplicate-address detection delay, no router solicitations.
    await nsExec(ns, [
      'sysctl',
      '-qw',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
    ])
    return ns
  }

  /** Namespaces this lab created, in creation order. */
  get namespaces(): readonly string[] {
    return this.#namespaces
  }

  /** Creates a veth pair between two namespaces, assigns addresses and brings both ends up. */
  async veth(a: VethEnd, b: VethEnd): Promise<void> {
    if (a.ifname.length > 15 || b.ifname.length > 15)
      throw new Error('interface names are limited to 15 characters')
    const argv = ['ip', 'link', 'add', a.ifname, 'netns', a.ns]
    if (a.mac !== undefined) argv.push('address', a.mac)
    argv.push('type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns)
    if (b.mac !== undefined) argv.push('address', b.mac)
    await run(argv)
    for (const end of [a, b]) {
      for (const addr of end.addresses ?? []) {
        await nsExec(end.ns, [
          'ip',
          addr.includes(':') ? '-6' : '-4',
          'addr',
          'add',
          addr,
          'dev',
          end.ifname,
          'nodad',
        ])
      }
      await nsExec(end.ns, ['ip', 'link', 'set', end.ifname, 'up'])
    }
  }

  /** Adds an address (CIDR notation) to an interface in a namespace. */
  async address(ns: string, ifname: string, cidr: string): Promise<void> {
    await nsExec(ns, ['ip', cidr.includes(':') ? '-6' : '-4', 'addr', 'add', cidr, 'dev', ifname, 'nodad'])
  }

  /** Adds a route in a namespace, e.g. `route(ns, '10.2.0.0/24', '10.1.0.1')`. */
  async route(ns: string, prefix: string, via: string): Promise<void> {
    await nsExec(ns, ['ip', prefix.includes(':') ? '-6' : '-4', 'route', 'add', prefix, 'via', via])
  }

  /** Enables IP forwarding (v4 and v6) in a namespace. */
  async forwarding(ns: string): Promise<void> {
    await nsExec(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'])
  }

  /** Runs a command in a namespace and waits for it. */
  async exec(
    ns: string,
    argv: readonly string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    return await nsExec(ns, argv, opts)
  }

  /** Starts a long-running command in a namespace. */
  spawn(ns: string, argv: readonly string[]): ChildProcess {
    return nsSpawn(ns, argv)
  }

  /** Deletes every namespace this lab made and any leftover carrying its prefix. Never throws. */
  async cleanup(): Promise<void> {
    for (const ns of this.#namespaces.splice(0).reverse()) {
      await run(['ip', 'netns', 'del', ns]).catch(() => undefined)
    }
    // With the dash: "mfx12" must not match another run's "mfx123-…".
    await cleanupPrefix(`${this.prefix}-`).catch(() => undefined)
  }
}

/** Reads an interface's MAC address inside a namespace. */
export async function interfaceMac(ns: string, ifname: string): Promise<string> {
  const { stdout } = await nsExec(ns, ['cat', `/sys/class/net/${ifname}/address`])
  return stdout.trim()
}

/** Reads an interface's packet/byte counters inside a namespace. */
export async function interfaceStats(
  ns: string,
  ifname: string,
): Promise<{ rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }> {
  const read = async (f: string): Promise<number> =>
    Number((await nsExec(ns, ['cat', `/sys/class/net/${ifname}/statistics/${f}`])).stdout.trim())
  return {
    rxPackets: await read('rx_packets'),
    txPackets: await read('tx_packets'),
    rxBytes: await read('rx_bytes'),
    txBytes: await read('tx_bytes'),
  }
}
