// SPDX-License-Identifier: Apache-2.0
/**
 * A long-lived analytics session for a server: queries run one at a time (one DuckDB connection),
 * and the session is rebuilt, at most every `maxAgeMs`, so that objects agents deliver after it was
 * opened show up. `close()` ends it.
 * @module
 */
import { openAnalytics, type AnalyticsOptions, type AnalyticsSession } from './session.ts'

export interface AnalyticsStoreOptions extends AnalyticsOptions {
  /** Rebuild the tables from the files when the session is older than this (default 10 s). */
  maxAgeMs?: number | undefined
}

export class AnalyticsStore {
  private readonly opts: AnalyticsStoreOptions
  private session: AnalyticsSession | null = null
  private openedAt = 0
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(opts: AnalyticsStoreOptions) {
    this.opts = opts
  }

  /** Runs `fn` with a fresh-enough session, after every call before it has finished. */
  use<T>(fn: (s: AnalyticsSession) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new Error('the analytics store is closed')
      const now = Date.now()
      if (this.session === null || now - this.openedAt > (this.opts.maxAgeMs ?? 10_000)) {
        this.session?.close()
        this.session = null
        this.session = await openAnalytics(this.opts)
        this.openedAt = now
      }
      return fn(this.session)
    }
    const p = this.queue.then(run, run)
    this.queue = p.catch(() => undefined)
    return p
  }

  close(): void {
    this.closed = true
    this.session?.close()
    this.session = null
  }
}
