// SPDX-License-Identifier: Apache-2.0
/**
 * Shared setup of the namespace tests that run the whole product on the lab VPC: the server on the
 * lab's management link, agents inside the hosts, the real AWS CLI against the server, tcpdump in a
 * host, and the flow-log objects an agent delivered to its S3 directory. The CLI's commands run
 * through `AwsBatch` (the unmodified /usr/bin/aws script once per command, in one Python process: a
 * separate `aws` process costs about a CPU-second for its start and imports); the lab's first
 * command, create-vpc, is a separate /usr/bin/aws process, so each lab checks a CLI of its own too.
 * @module
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { startServer, type RunningServer } from '../../src/api/index.ts'
import { nsArgv } from '../../src/lab/netns.ts'
import { VpcLab, type LabHost } from '../../src/lab/vpc-lab.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'
import { REPO_ROOT } from '../helpers/shared.ts'

const BIN = join(REPO_ROOT, 'bin', 'mirrorflow.mjs')

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `cond` every 100 ms; throws after `timeoutMs`. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Ends a child with `signal` (SIGKILL after 15 s) and waits for it. */
export async function stopChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return
  const done = new Promise<void>((r) => c.once('exit', () => r()))
  c.kill(signal)
  const t = setTimeout(() => c.kill('SIGKILL'), 15_000)
  await done
  clearTimeout(t)
}

/** A tcpdump running in a namespace (`tcpdump()`). */
export interface Tcpdump {
  child: ChildProcess
  /**
   * Stops it (SIGINT), waits until it has written everything, asserts that the kernel dropped none
   * of the packets it saw, and returns its report.
   */
  stop(): Promise<string>
}

/**
 * Starts tcpdump in a namespace writing `file`; resolves once it listens. Immediate mode: every
 * packet reaches the file as it is captured. (Without it libpcap hands packets over in ring blocks
 * retired up to a second later, and the packets of the block still open at the stop are lost.)
 */
export async function tcpdump(ns: string, file: string, filter: string, iface = 'eth0'): Promise<Tcpdump> {
  const argv = nsArgv(ns, [
    'tcpdump',
    '-i',
    iface,
    '-n',
    '--immediate-mode',
    '-B',
    '8192',
    '-U',
    '-w',
    file,
    filter,
  ])
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const closed = new Promise<void>((r) => child.once('close', () => r()))
  await until('tcpdump', () => err.includes('listening on'))
  return {
    child,
    async stop() {
      child.kill('SIGINT')
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await closed
      clearTimeout(t)
      assert.match(err, /\b0 packets dropped by kernel/, err)
      return err
    },
  }
}

/** Every file under `d` (none when it does not exist). */
export function walk(d: string): string[] {
  try {
    return readdirSync(d).flatMap((n) =>
      statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)],
    )
  } catch {
    return []
  }
}

/** Records (default format, as field maps) of the flow-log objects under `root`. */
export function flowLogRecords(root: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = []
  for (const f of walk(root).filter((x) => x.endsWith('.log.gz'))) {
    const lines = gunzipSync(readFileSync(f)).toString('utf8').trim().split('\n')
    const head = lines[0]!.split(' ')
    for (const l of lines.slice(1)) {
      const w = l.split(' ')
      out.push(Object.fromEntries(head.map((h, i) => [h, w[i]!])))
    }
  }
  return out
}

/** An agent's status file (rewritten every second), or null before the first. */
export interface AgentStatusFile {
  version: number | null
  captures: Array<{ ifname: string; listening: boolean; nflogGroup: number; verdictFallback: string }>
  mirror: { sessions: number; kernelSources: string[]; userspaceSources: string[] }
  security: { interfaces: string[]; elements: number }
  flowLogs: Array<{ flowLogId: string }>
}

/** The lab VPC with the server on its management link, a work directory, and the agents started. */
export class AgentLab {
  readonly lab: VpcLab
  readonly server: RunningServer
  readonly dir: string
  readonly agents = new Map<string, ChildProcess>()
  /** Each agent's stderr (its tail), by host name. */
  readonly agentLogs = new Map<string, string>()
  vpcId = ''
  #cli: AwsBatch | undefined

  private constructor(lab: VpcLab, server: RunningServer, dir: string) {
    this.lab = lab
    this.server = server
    this.dir = dir
  }

  /**
   * Builds the lab (namespace prefix `prefix`), starts the server and creates the lab's VPC and its
   * two subnets with the AWS CLI.
   */
  static async create(prefix: string): Promise<AgentLab> {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
    const lab = await VpcLab.create(`${prefix}${process.pid % 1000}`)
    lab.cleanupOnExit()
    const server = await startServer({ dataDir: join(dir, 'server'), host: lab.mgmtAddress, port: 0 })
    const l = new AgentLab(lab, server, dir)
    l.vpcId = (
      (await l.awsProcess('create-vpc', '--cidr-block', '10.0.0.0/16')).Vpc as { VpcId: string }
    ).VpcId
    await l.aws('create-subnet', '--vpc-id', l.vpcId, '--cidr-block', '10.0.1.0/24')
    await l.aws('create-subnet', '--vpc-id', l.vpcId, '--cidr-block', '10.0.2.0/24')
    return l
  }

  /** The CLI's environment: the server's credentials file and profile. */
  #cliEnv(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AWS_SHARED_CREDENTIALS_FILE: this.server.credentialsFile,
      AWS_CONFIG_FILE: join(this.dir, 'no-config'),
      AWS_PROFILE: 'mirrorflow',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
      AWS_MAX_ATTEMPTS: '1',
    }
  }

  /** Runs the real AWS CLI (`aws ec2 …`, in the lab's `AwsBatch`); asserts success. */
  async aws(...args: string[]): Promise<Record<string, unknown>> {
    this.#cli ??= new AwsBatch(this.#cliEnv(), this.server.url)
    const r = await this.#cli.run('ec2', ...args)
    assert.equal(r.code, 0, `aws ec2 ${args.join(' ')}: ${r.stderr}`)
    return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>)
  }

  /**
   * `aws ec2 …` as a separate /usr/bin/aws process (asynchronously: the server runs in this
   * process); asserts success.
   */
  async awsProcess(...args: string[]): Promise<Record<string, unknown>> {
    const child = spawn(
      '/usr/bin/aws',
      ['--endpoint-url', this.server.url, '--output', 'json', 'ec2', ...args],
      { env: this.#cliEnv() },
    )
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)))
    assert.equal(code, 0, `aws ec2 ${args.join(' ')}: ${err}`)
    return out.trim() === '' ? {} : (JSON.parse(out) as Record<string, unknown>)
  }

  /** Data directory of the agent of host `name`. */
  agentDir(name: string): string {
    return join(this.dir, 'agents', name)
  }

  /** Starts the agent of host `h` (S3 directory `<dir>/s3`), with `extra` arguments. */
  startAgent(h: LabHost, extra: string[] = []): ChildProcess {
    const argv = nsArgv(h.ns, [
      process.execPath,
      BIN,
      'agent',
      '--server',
      this.server.url,
      '--credentials-file',
      this.server.credentialsFile,
      '--data-dir',
      this.agentDir(h.name),
      '--s3-dir',
      join(this.dir, 's3'),
      '--hostname',
      h.name,
      ...extra,
    ])
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
    this.agentLogs.set(h.name, '')
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.agentLogs.set(h.name, (this.agentLogs.get(h.name)! + d).slice(-20_000))
    })
    this.agents.set(h.name, child)
    return child
  }

  /** The agent's status file, or null before its first. */
  agentStatus(name: string): AgentStatusFile | null {
    try {
      return JSON.parse(
        readFileSync(join(this.agentDir(name), 'agent-status.json'), 'utf8'),
      ) as AgentStatusFile
    } catch {
      return null
    }
  }

  /** Records of the flow-log objects delivered to `bucket`. */
  records(bucket: string): Array<Record<string, string>> {
    return flowLogRecords(join(this.dir, 's3', bucket))
  }

  /** Stops the agents, the server and the lab; removes the work directory. */
  async close(): Promise<void> {
    for (const a of this.agents.values()) await stopChild(a).catch(() => undefined)
    await this.#cli?.close().catch(() => undefined)
    await this.server.close().catch(() => undefined)
    await this.lab.cleanup()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
