// SPDX-License-Identifier: Apache-2.0
/**
 * The processes' logger: pino, one JSON line per event on stderr (stdout stays free for a command's
 * result), level from `MF_LOG_LEVEL` (default `info`). Messages are lowercase; fields carry the data.
 * @module
 */
import pino, { type Logger } from 'pino'

export type { Logger } from 'pino'

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Minimum level (default `$MF_LOG_LEVEL`, else `info`). */
  level?: string
  /** Where lines go (default stderr, written synchronously so that nothing is lost at exit). */
  destination?: NodeJS.WritableStream | { write(s: string): unknown }
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

/** A logger for the process `name` (`agent`, `target`, …). */
export function createLogger(name: string, opts: LoggerOptions = {}): Logger {
  const wanted = opts.level ?? process.env.MF_LOG_LEVEL ?? 'info'
  const level = LEVELS.has(wanted) ? wanted : 'info'
  const dest = opts.destination ?? pino.destination({ fd: 2, sync: true })
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest)
}

/**
 * Logs each change of a named condition once: `set(key, state)` logs only when `state` differs from
 * the last one logged for `key` (a reconcile failing every two seconds with the same error is one
 * line, its recovery another). States are short words (`ok`, `failed`, `lost`); `fields` go with the
 * line. Keys are bounded by the caller (interfaces, flow logs: things it already holds).
 */
export class StateLog {
  readonly #log: Logger
  readonly #last = new Map<string, string>()

  constructor(log: Logger) {
    this.#log = log
  }

  /** Records `state` for `key`; logs at `level` when it changed. Returns whether it changed. */
  set(
    key: string,
    state: string,
    level: 'error' | 'warn' | 'info',
    msg: string,
    fields: Record<string, unknown> = {},
  ): boolean {
    if (this.#last.get(key) === state) return false
    const first = !this.#last.has(key)
    this.#last.set(key, state)
    // A condition that starts out fine is not news.
    if (first && state === 'ok') return true
    this.#log[level]({ ...fields, key, state }, msg)
    return true
  }

  /** The last state recorded for `key`. */
  get(key: string): string | undefined {
    return this.#last.get(key)
  }

  /** Forgets `key` (its thing is gone). */
  delete(key: string): void {
    this.#last.delete(key)
  }
}
