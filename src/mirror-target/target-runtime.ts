// SPDX-License-Identifier: Apache-2.0
/**
 * The target's conditions: each change logged once (the runtime's `StateLog`), `state` and
 * `lastError` kept while a failure lasts and cleared when it is over.
 * @module
 */
import { StateLog, type Logger } from '../runtime/index.ts'

/** A structured logger (pino's signature: fields first, then the message; a pino `Logger` is one). */
export interface TargetLog {
  info(fields: Record<string, unknown>, msg: string): void
  warn(fields: Record<string, unknown>, msg: string): void
  error(fields: Record<string, unknown>, msg: string): void
}

/** What `observe` reads once a second. */
interface Observed {
  readonly table: {
    readonly counters: {
      refusedFull: number
      refusedSource: number
      refusedVni: number
      evictedProbation: number
      evictedIdle: number
    }
  }
  readonly disk: {
    readonly errors: Record<string, number>
    totalBytes: number
    maxTotalBytes: number
    reclaimedFiles: number
  }
  readonly drops: Record<string, number>
}

type Level = 'info' | 'warn' | 'error'

/**
 * Conditions of the target, each `ok` or a named failure; every change is logged once (a condition
 * that starts `ok` is not news). `state` is `degraded` while any condition that stops the target from
 * doing part of its job fails, and `lastError` is the latest such failure, null once all are over.
 */
export class TargetEvents {
  private readonly cond = new Map<string, { state: string; error: string | null }>()
  private prev = { refusedFull: 0, refusedAllow: 0, evicted: 0, fileErrors: 0, reclaimed: 0 }
  private fileMessage = ''
  lastError: string | null = null

  private readonly log: TargetLog | undefined
  private readonly changes: StateLog | null

  constructor(log: TargetLog | undefined) {
    this.log = log
    this.changes = log === undefined ? null : new StateLog(log as unknown as Logger)
  }

  get state(): 'running' | 'degraded' {
    for (const c of this.cond.values()) if (c.error !== null) return 'degraded'
    return 'running'
  }

  /** Records `state` of condition `key`; logs when it changed. `error` non-null marks a failure. */
  set(
    key: string,
    state: string,
    level: Level,
    msg: string,
    error: string | null,
    fields: Record<string, unknown> = {},
  ): void {
    const last = this.cond.get(key)
    if (last !== undefined && last.state === state) {
      if (error !== null) {
        last.error = error
        this.lastError = error
      }
      return
    }
    this.cond.set(key, { state, error })
    if (error !== null) this.lastError = error
    else if (this.state === 'running') this.lastError = null
    this.changes?.set(key, state, level, msg, { ...fields, condition: key })
  }

  capture(state: 'running' | 'failed', message: string): void {
    if (state === 'failed') this.set('capture', 'failed', 'error', message, message)
    else this.set('capture', 'ok', 'info', message, null)
  }

  /** First failure of a kind of file operation (the ledger reports each code once). */
  fileError(code: string, message: string): void {
    this.fileMessage = `${code}: ${message}`
  }

  statusFile(error: string | null): void {
    if (error === null) this.set('status-file', 'ok', 'info', 'status file written again', null)
    else this.set('status-file', 'failed', 'error', `cannot write the status file: ${error}`, error)
  }

  /** Once a second: conditions read from counters (a change of rate is a change of state). */
  observe(t: Observed): void {
    const c = t.table.counters
    const full = c.refusedFull
    this.set(
      'sessions',
      full > this.prev.refusedFull ? 'full' : 'ok',
      full > this.prev.refusedFull ? 'warn' : 'info',
      full > this.prev.refusedFull
        ? 'session table full of sessions with recent traffic: refusing new sessions'
        : 'session table accepts new sessions again',
      null,
      { refusedFull: full },
    )
    const evicted = c.evictedProbation + c.evictedIdle
    this.set(
      'evictions',
      evicted > this.prev.evicted ? 'evicting' : 'ok',
      'info',
      evicted > this.prev.evicted ? 'session table full: evicting sessions' : 'no more evictions',
      null,
      { evictedProbation: c.evictedProbation, evictedIdle: c.evictedIdle },
    )
    const allow = c.refusedSource + c.refusedVni
    this.set(
      'allow-list',
      allow > this.prev.refusedAllow ? 'refusing' : 'ok',
      allow > this.prev.refusedAllow ? 'warn' : 'info',
      allow > this.prev.refusedAllow
        ? 'datagrams from pairs outside the allow-lists are dropped'
        : 'no datagram outside the allow-lists',
      null,
      { refusedSource: c.refusedSource, refusedVni: c.refusedVni },
    )
    let fileErrors = 0
    for (const v of Object.values(t.disk.errors)) fileErrors += v
    if (fileErrors > this.prev.fileErrors) {
      const msg = `pcap files: ${this.fileMessage || 'file operations fail'} (frames are lost; counted in drops.pcap_write)`
      this.set('pcap-files', 'failed', 'error', msg, msg, {
        code: 'MF_TARGET_WRITE',
        fileErrors: { ...t.disk.errors },
        lost: t.drops.pcap_write,
      })
    } else this.set('pcap-files', 'ok', 'info', 'pcap files are written again', null)
    const reclaimed = t.disk.reclaimedFiles
    this.set(
      'disk-cap',
      reclaimed > this.prev.reclaimed ? 'reclaiming' : 'ok',
      'info',
      reclaimed > this.prev.reclaimed
        ? 'pcap disk cap reached: deleting the oldest files'
        : 'pcap disk below its cap',
      null,
      { totalBytes: t.disk.totalBytes, maxTotalBytes: t.disk.maxTotalBytes },
    )
    this.prev = { refusedFull: full, refusedAllow: allow, evicted, fileErrors, reclaimed }
  }

  stopped(): void {
    this.log?.info({ condition: 'target', state: 'stopped' }, 'stopped')
  }
}
