// SPDX-License-Identifier: Apache-2.0
/**
 * What is wrong with the agent right now. Each condition has a key (`server`, `reconcile`,
 * `capture:eth0`, `flowlog:fl-…`, `inventory`); a failing one is logged once when it starts failing,
 * once when it recovers, and listed until then. `lastError` is the most recent problem still open,
 * and null once everything recovered.
 * @module
 */
import { StateLog, type Logger } from '../runtime/index.ts'

/** Whether an error says the agent lacks privileges (it cannot do its job: exit non-zero). */
export function isPrivilegeError(err: unknown): boolean {
  return err instanceof Error && /Operation not permitted|must be root|\bEPERM\b/.test(err.message)
}

export class Health {
  /** Failures counted (every one, also repeats of an open problem). */
  failures = 0
  readonly #problems = new Map<string, string>()
  readonly #log: StateLog

  constructor(log: Logger) {
    this.#log = new StateLog(log)
  }

  /** Records a failure of `key`; logs `msg` (error level) if `key` was not failing already. */
  fail(key: string, err: unknown, msg: string): void {
    this.failures++
    const message = err instanceof Error ? err.message : String(err)
    this.#problems.delete(key)
    this.#problems.set(key, message)
    const code = (err as { code?: unknown } | null)?.code
    this.#log.set(key, 'failed', 'error', msg, {
      error: message,
      ...(typeof code === 'string' ? { code } : {}),
    })
  }

  /** Records that `key` works; logs `msg` (info) if it was failing. */
  ok(key: string, msg: string): void {
    this.#problems.delete(key)
    this.#log.set(key, 'ok', 'info', msg)
  }

  /** Forgets `key` entirely (its thing is gone, e.g. a capture no longer wanted). */
  forget(key: string): void {
    if (this.#problems.delete(key)) this.#log.set(key, 'gone', 'info', 'no longer needed')
    this.#log.delete(key)
  }

  /** The most recent open problem, or null when none is open. */
  get lastError(): string | null {
    let last: string | null = null
    for (const m of this.#problems.values()) last = m
    return last
  }

  /** Open problems by key. */
  problems(): Record<string, string> {
    return Object.fromEntries(this.#problems)
  }
}
