// SPDX-License-Identifier: Apache-2.0
/**
 * The user-space datapath: one worker process per source interface (userspace-worker.ts), started
 * inside the interface's namespace, capturing with tcpdump and sending VXLAN over UDP. It serves what
 * the kernel path cannot (packet-length truncation) and hosts without nftables. Same evaluator as the
 * kernel compiler's reference and the offline simulator.
 *
 * `apply()` resolves once every worker it started is capturing; an unchanged source keeps its worker
 * (re-applying the same state changes nothing). `stats()` returns each worker's latest counters.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { nodeArgv } from '../../entry-points.ts'
import { DatapathError } from '../errors.ts'
import { sessionsOf, validateMirrorState, type MirrorState } from '../model.ts'
import type { ApplyResult, Datapath } from './datapath.ts'
import { inNetns } from './exec.ts'

/** Options of the user-space datapath. */
export interface UserspaceDatapathOptions {
  /** How long to wait for a worker's capture to start (ms, default 15000). */
  readyTimeoutMs?: number
  /**
   * `immediate` (default): tcpdump's immediate mode, each packet is mirrored at once; frames longer
   * than the interface MTU + L2 headers (GSO/GRO super-packets) are cut and counted (`cut`).
   * `batched`: libpcap hands packets over in ring blocks and keeps 64 KiB frames whole, but at low
   * rates a packet waits for its block to be retired, which on Linux 6.18 took more than 2 s at
   * times (the 1 s block timeout was not a bound there).
   */
  captureMode?: 'immediate' | 'batched'
}

/** Latest counters of one worker. */
export interface UserspaceStats {
  frames: number
  /** Frames longer than the capture's snap length (immediate mode: MTU + L2 headers). */
  cut: number
  /** Frames the decoder rejected (still mirrored on what decoded, see `PipelineStats.malformed`). */
  malformed: number
  mirrored: number
  sent: number
  dropped: number
  errors: number
  /** Arriving frames the interface's security groups or network ACL dropped: not mirrored. */
  rejected: number
  /** Why an enforced interface's dropped arriving packets are mirrored anyway ('' otherwise). */
  verdictFallback: string
  perSession: number[]
}

interface Worker {
  key: string
  child: ChildProcess
  stats: UserspaceStats
  exited: Promise<void>
}

/** The user-space datapath (capture → evaluate → encapsulate → UDP). */
export class UserspaceDatapath implements Datapath {
  readonly kind = 'userspace'
  readonly #opts: UserspaceDatapathOptions
  readonly #workers = new Map<string, Worker>()

  constructor(opts: UserspaceDatapathOptions = {}) {
    this.#opts = opts
  }

  async apply(state: MirrorState): Promise<ApplyResult> {
    validateMirrorState(state)
    const wanted = new Map<string, { key: string; config: string; netns: string | undefined }>()
    for (const src of state.sources) {
      const sessions = sessionsOf(state, src.networkInterfaceId)
      if (sessions.length === 0) continue
      if (src.ifname === undefined)
        throw new DatapathError(`source ${src.networkInterfaceId}: no interface name`)
      const filterIds = new Set(sessions.map((s) => s.trafficMirrorFilterId))
      const targetIds = new Set(sessions.map((s) => s.trafficMirrorTargetId))
      const sub: MirrorState = {
        sources: [src],
        sessions,
        filters: state.filters.filter((f) => filterIds.has(f.trafficMirrorFilterId)),
        targets: state.targets.filter((t) => targetIds.has(t.trafficMirrorTargetId)),
        amazonDnsResolvers: state.amazonDnsResolvers,
      }
      const config = JSON.stringify({
        state: sub,
        ifname: src.ifname,
        immediate: this.#opts.captureMode !== 'batched',
      })
      wanted.set(src.networkInterfaceId, {
        key: createHash('sha256').update(config).digest('hex'),
        config,
        netns: src.netns,
      })
    }
    let changed = false
    for (const [id, w] of this.#workers) {
      if (wanted.get(id)?.key === w.key) continue
      await this.#stop(w)
      this.#workers.delete(id)
      changed = true
    }
    const starting: Promise<void>[] = []
    for (const [id, want] of wanted) {
      if (this.#workers.has(id)) continue
      starting.push(this.#start(id, want.key, want.config, want.netns))
      changed = true
    }
    await Promise.all(starting)
    return { changed, kernelSources: [], userspaceSources: [...wanted.keys()] }
  }

  /** Latest counters per source interface id. */
  stats(): Map<string, UserspaceStats> {
    return new Map([...this.#workers].map(([id, w]) => [id, { ...w.stats }]))
  }

  async #start(id: string, key: string, config: string, netns: string | undefined): Promise<void> {
    // userspace-worker.ts: compiled in dist/, or the source through tsx in development.
    const argv = inNetns(netns, nodeArgv('mirror-worker'))
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MF_MIRROR_WORKER: config },
    })
    const stats: UserspaceStats = {
      frames: 0,
      cut: 0,
      malformed: 0,
      mirrored: 0,
      sent: 0,
      dropped: 0,
      errors: 0,
      rejected: 0,
      verdictFallback: '',
      perSession: [],
    }
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
    const w: Worker = { key, child, stats, exited }
    this.#workers.set(id, w)
    // A worker that dies (its tcpdump failed, the interface went away) is forgotten, so the next
    // apply() — the agent's reconcile loop — starts a new one.
    void exited.then(() => {
      if (this.#workers.get(id) === w) this.#workers.delete(id)
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new DatapathError(`mirror worker for ${id} did not start: ${stderr}`, id)),
        this.#opts.readyTimeoutMs ?? 15_000,
      )
      const lines = createInterface({ input: child.stdout! })
      lines.on('line', (line) => {
        let msg: { event?: string } & Partial<UserspaceStats>
        try {
          msg = JSON.parse(line) as typeof msg
        } catch {
          return
        }
        Object.assign(stats, { ...msg, event: undefined })
        if (msg.event === 'ready') {
          clearTimeout(timer)
          resolve()
        }
      })
      void exited.then(() => {
        clearTimeout(timer)
        reject(new DatapathError(`mirror worker for ${id} exited: ${stderr}`, id))
      })
    }).catch(async (err: unknown) => {
      await this.#stop(w)
      this.#workers.delete(id)
      throw err
    })
  }

  async #stop(w: Worker): Promise<void> {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      // `ip netns exec` execs the program, so the signal reaches node itself.
      w.child.kill('SIGTERM')
      const t = setTimeout(() => w.child.kill('SIGKILL'), 5000)
      await w.exited
      clearTimeout(t)
    }
  }

  /** Workers report to their parent's pipe every 500 ms and end once it is gone: nothing is left behind. */
  async removeLeftovers(): Promise<{ table: boolean; devices: string[] }> {
    return { table: false, devices: [] }
  }

  async remove(): Promise<void> {
    for (const [id, w] of this.#workers) {
      await this.#stop(w)
      this.#workers.delete(id)
    }
  }
}
