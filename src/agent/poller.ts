// SPDX-License-Identifier: Apache-2.0
/**
 * The desired-state long poll: asks the server for the state after `version` (it answers as soon as
 * anything about this instance changes, or after `waitSeconds`), hands each new version over, and
 * backs off (0.5 s doubling to 10 s) while the server cannot be reached.
 * @module
 */
import type { ServerClient, VersionedDesiredState } from './client.ts'

/** What the poller calls. */
export interface PollerHooks {
  /** A new version: resolves once it is applied (or failed to be). */
  onState(s: VersionedDesiredState): Promise<void>
  /** A poll failed (server down, an EC2 error); resolves once handled. */
  onError(err: unknown): Promise<void>
  /** A poll succeeded (the server is reachable). */
  onOk(): void
}

export class DesiredStatePoller {
  /** The version last handed over (undefined: ask for whatever is current, answered at once). */
  version: number | undefined
  readonly #client: ServerClient
  readonly #instanceId: () => string
  readonly #waitSeconds: number
  readonly #hooks: PollerHooks
  readonly #abort = new AbortController()
  #loop: Promise<void> = Promise.resolve()
  #stopping = false
  #pauseNext = false

  constructor(client: ServerClient, instanceId: () => string, waitSeconds: number, hooks: PollerHooks) {
    this.#client = client
    this.#instanceId = instanceId
    this.#waitSeconds = waitSeconds
    this.#hooks = hooks
  }

  start(): void {
    this.#loop = this.#run()
  }

  /**
   * Asks again for the current state, after a 2 s pause (a reconciliation failed: retry, but not in a
   * tight loop).
   */
  retry(): void {
    this.version = undefined
    this.#pauseNext = true
  }

  async #run(): Promise<void> {
    let backoff = 0
    while (!this.#stopping) {
      if (this.#pauseNext) {
        this.#pauseNext = false
        await new Promise((r) => setTimeout(r, 2000))
        if (this.#stopping) break
      }
      try {
        const s = await this.#client.desiredState(
          this.#instanceId(),
          this.version,
          this.#waitSeconds,
          this.#abort.signal,
        )
        if (this.#stopping) break
        this.#hooks.onOk()
        backoff = 0
        if (s.version !== this.version) {
          this.version = s.version
          await this.#hooks.onState(s)
        }
      } catch (err) {
        if (this.#stopping) break
        await this.#hooks.onError(err)
        backoff = Math.min(backoff === 0 ? 500 : backoff * 2, 10_000)
        await new Promise((r) => setTimeout(r, backoff))
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true
    this.#abort.abort()
    await this.#loop.catch(() => undefined)
  }
}
