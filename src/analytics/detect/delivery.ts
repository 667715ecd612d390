// SPDX-License-Identifier: Apache-2.0
/**
 * Delivery of new and updated findings, as EventBridge events of GuardDuty
 * (`"source": "aws.guardduty"`, `"detail-type": "GuardDuty Finding"`, `detail` = the finding in its
 * wire form): appended as JSON lines to a file (for a SIEM's file collector; rotated to `FILE.1` at
 * a size limit), and POSTed to webhooks, each with its own bounded queue (the oldest event dropped
 * and counted when full), one request at a time, retried with exponential back-off (1 s doubling to
 * 60 s, at most `maxAttempts` tries; 4xx answers other than 408/429 are not retried).
 * @module
 */
import { randomUUID } from 'node:crypto'
import { appendFileSync, renameSync, statSync } from 'node:fs'
import { findingWire, type Finding } from '../../control/index.ts'

export interface FindingEvent {
  version: '0'
  id: string
  'detail-type': 'GuardDuty Finding'
  source: 'aws.guardduty'
  account: string
  time: string
  region: string
  resources: string[]
  detail: unknown
}

/** The EventBridge event of a finding. */
export function findingEvent(f: Finding): FindingEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: f.AccountId,
    time: f.UpdatedAt.replace(/\.\d{3}Z$/, 'Z'),
    region: f.Region,
    resources: [],
    detail: findingWire(f),
  }
}

export interface WebhookStats {
  url: string
  delivered: number
  failedAttempts: number
  /** Events given up on (attempts exhausted, refused, or pushed out of a full queue). */
  dropped: number
  queued: number
  lastError: string | null
}

export interface DeliveryOptions {
  webhooks?: readonly string[]
  jsonlFile?: string
  /** Size at which the JSON-lines file is rotated (bytes; default 64 MiB). */
  jsonlMaxBytes?: number
  queueMax?: number
  maxAttempts?: number
  /** First retry delay (ms; doubles up to 60 s). */
  backoffMs?: number
  timeoutMs?: number
}

class Webhook {
  readonly stats: WebhookStats
  private readonly queue: string[] = []
  private busy = false
  private closed = false
  private readonly opts: DeliveryOptions
  private wake: NodeJS.Timeout | null = null

  constructor(url: string, opts: DeliveryOptions) {
    this.stats = { url, delivered: 0, failedAttempts: 0, dropped: 0, queued: 0, lastError: null }
    this.opts = opts
  }

  push(body: string): void {
    if (this.queue.length >= (this.opts.queueMax ?? 1000)) {
      this.queue.shift()
      this.stats.dropped++
    }
    this.queue.push(body)
    this.stats.queued = this.queue.length
    void this.run()
  }

  close(): void {
    this.closed = true
    if (this.wake !== null) clearTimeout(this.wake)
  }

  get idle(): boolean {
    return !this.busy && this.queue.length === 0
  }

  private async run(): Promise<void> {
    if (this.busy || this.closed) return
    this.busy = true
    try {
      while (this.queue.length > 0 && !this.closed) {
        const body = this.queue[0]!
        const max = this.opts.maxAttempts ?? 8
        let delay = this.opts.backoffMs ?? 1000
        let done = false
        for (let attempt = 1; attempt <= max && !done && !this.closed; attempt++) {
          const retry = await this.post(body)
          if (retry === 'ok') {
            this.stats.delivered++
            done = true
          } else if (retry === 'refused') {
            this.stats.dropped++
            done = true
          } else if (attempt < max) {
            await new Promise<void>((r) => {
              this.wake = setTimeout(r, delay)
              this.wake.unref()
            })
            delay = Math.min(delay * 2, 60_000)
          } else {
            this.stats.dropped++
          }
        }
        this.queue.shift()
        this.stats.queued = this.queue.length
      }
    } finally {
      this.busy = false
    }
  }

  private async post(body: string): Promise<'ok' | 'retry' | 'refused'> {
    try {
      const res = await fetch(this.stats.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      })
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) return 'ok'
      this.stats.failedAttempts++
      this.stats.lastError = `HTTP ${res.status}`
      return res.status >= 500 || res.status === 408 || res.status === 429 ? 'retry' : 'refused'
    } catch (err) {
      this.stats.failedAttempts++
      this.stats.lastError = (err as Error).message.slice(0, 200)
      return 'retry'
    }
  }
}

/** Delivers findings to a JSON-lines file and webhooks. */
export class FindingsDelivery {
  private readonly webhooks: Webhook[]
  private readonly opts: DeliveryOptions
  jsonlLines = 0
  jsonlErrors = 0
  jsonlLastError: string | null = null

  constructor(opts: DeliveryOptions) {
    this.opts = opts
    for (const u of opts.webhooks ?? []) {
      const url = new URL(u)
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new TypeError(`webhook ${u}: not http(s)`)
    }
    this.webhooks = (opts.webhooks ?? []).map((u) => new Webhook(u, opts))
  }

  /** Hands the changed findings to every destination (never throws). */
  deliver(findings: readonly Finding[]): void {
    if (findings.length === 0) return
    const events = findings.map((f) => JSON.stringify(findingEvent(f)))
    if (this.opts.jsonlFile !== undefined) this.appendLines(this.opts.jsonlFile, events)
    for (const w of this.webhooks) for (const e of events) w.push(e)
  }

  get webhookStats(): WebhookStats[] {
    return this.webhooks.map((w) => ({ ...w.stats }))
  }

  /** Resolves once every webhook queue is empty (or after `ms`). */
  async settle(ms: number): Promise<void> {
    const until = Date.now() + ms
    while (Date.now() < until && !this.webhooks.every((w) => w.idle))
      await new Promise((r) => setTimeout(r, 20))
  }

  close(): void {
    for (const w of this.webhooks) w.close()
  }

  private appendLines(file: string, lines: string[]): void {
    try {
      let size = 0
      try {
        size = statSync(file).size
      } catch {
        size = 0
      }
      if (size > (this.opts.jsonlMaxBytes ?? 64 * 1024 * 1024)) renameSync(file, `${file}.1`)
      appendFileSync(file, lines.join('\n') + '\n', { mode: 0o600 })
      this.jsonlLines += lines.length
    } catch (err) {
      // ENOSPC, EMFILE, ENAMETOOLONG…: counted and reported in the status, never a crash.
      this.jsonlErrors++
      this.jsonlLastError = `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`
    }
  }
}
