// SPDX-License-Identifier: Apache-2.0
/**
 * Versioned desired state with long polling. Each instance's state carries the version of the
 * last mutation that changed *its* state (so an agent is not woken by unrelated changes); the
 * version only grows, across restarts too (it is the store's state version). A poll with
 * `version=N&wait=S` is answered as soon as the instance's version differs from N — checked
 * once per event-loop turn after any mutation — or after S seconds with the same state.
 * @module
 */
import { desiredState, type ControlPlane, type DesiredState } from '../../../control/index.ts'

export type VersionedState = DesiredState & { version: number }

/** A poll whose client disconnected before the answer: normal (agents stop), never an error to log. */
export class ClientGone extends Error {
  constructor() {
    super('the client went away')
    this.name = 'ClientGone'
  }
}

interface Waiter {
  instanceId: string
  version: number
  resolve: (s: VersionedState | Error) => void
  timer: NodeJS.Timeout
}

/** Longest wait a poll may ask for, in seconds. */
export const MAX_WAIT_SECONDS = 120

export class DesiredStateWatch {
  readonly cp: ControlPlane
  private readonly cache = new Map<string, { key: string; version: number }>()
  private readonly waiters = new Set<Waiter>()
  private scheduled = false
  private readonly unsubscribe: () => void

  constructor(cp: ControlPlane) {
    this.cp = cp
    this.unsubscribe = cp.onChange(() => this.schedule())
  }

  get waiting(): number {
    return this.waiters.size
  }

  /** The current state of an instance with its version (throws InvalidInstanceID.* errors). */
  current(instanceId: string): VersionedState {
    const s = desiredState(this.cp.ec2, instanceId)
    const key = JSON.stringify(s)
    let e = this.cache.get(instanceId)
    if (e === undefined || e.key !== key) {
      e = { key, version: this.cp.version }
      this.cache.set(instanceId, e)
    }
    return { ...s, version: e.version }
  }

  /**
   * Answers when the version differs from `version`, or after `waitSeconds` with the current state.
   * With `heartbeat` (an agent's own poll), the instance counts as heard from while the poll waits.
   */
  poll(
    instanceId: string,
    version: number | undefined,
    waitSeconds: number,
    signal?: AbortSignal,
    heartbeat = false,
  ): Promise<VersionedState> {
    const now = this.current(instanceId)
    const presence = this.cp.ec2.presence
    if (version === undefined || now.version !== version || waitSeconds <= 0) {
      if (heartbeat) presence.seen(instanceId)
      return Promise.resolve(now)
    }
    const ended = heartbeat ? presence.polls(instanceId) : undefined
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        instanceId,
        version,
        resolve: (s) => {
          ended?.()
          clearTimeout(w.timer)
          this.waiters.delete(w)
          if (s instanceof Error) reject(s)
          else resolve(s)
        },
        timer: setTimeout(
          () => {
            try {
              w.resolve(this.current(instanceId))
            } catch (err) {
              w.resolve(err as Error)
            }
          },
          Math.min(waitSeconds, MAX_WAIT_SECONDS) * 1000,
        ),
      }
      this.waiters.add(w)
      signal?.addEventListener('abort', () => w.resolve(new ClientGone()))
    })
  }

  private schedule(): void {
    if (this.scheduled || this.waiters.size === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }

  private flush(): void {
    const computed = new Map<string, VersionedState | Error>()
    for (const w of [...this.waiters]) {
      let s = computed.get(w.instanceId)
      if (s === undefined) {
        try {
          s = this.current(w.instanceId)
        } catch (err) {
          s = err as Error
        }
        computed.set(w.instanceId, s)
      }
      if (s instanceof Error || s.version !== w.version) w.resolve(s)
    }
  }

  /** Answers every pending poll now (server shutdown). */
  close(): void {
    this.unsubscribe()
    for (const w of [...this.waiters]) {
      try {
        w.resolve(this.current(w.instanceId))
      } catch (err) {
        w.resolve(err as Error)
      }
    }
  }
}
