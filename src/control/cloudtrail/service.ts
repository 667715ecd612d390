// SPDX-License-Identifier: Apache-2.0
/**
 * The CloudTrail service of the control plane: the audit log (every API call as an event, buffered
 * and stored in batches), its store, the trails on the ledger, their delivery to buckets with
 * digests, and LookupEvents' rules.
 * @module
 */
import { createHash } from 'node:crypto'
import type { ObjectStore } from '../../flowlogs/index.ts'
import { ApiError, truncate } from '../core/errors.ts'
import type { Ledger } from '../core/ledger.ts'
import { TrailDelivery } from './delivery.ts'
import { EventLog, type EventLogOptions } from './event-log.ts'
import { EventStore, MAX_AGE_DAYS, type LookupKey, type StoredEvent } from './event-store.ts'
import { Trails } from './trails.ts'

export interface CloudTrailConfig extends EventLogOptions {
  /** Where the event store, the spool and the digest key live; in memory (and no delivery) without it. */
  dataDir?: string
  /** Where trails deliver (a local bucket root or an S3 endpoint); no delivery without it. */
  objectStore?: ObjectStore
  maxEvents?: number
  maxAgeDays?: number
  deliveryIntervalMs?: number
  digestIntervalMs?: number
}

export const LOOKUP_KEYS: readonly LookupKey[] = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
]

export interface LookupInput {
  lookupAttributes?: { key: string; value: string }[] | undefined
  /** ms since the epoch. */
  startTime?: number | undefined
  endTime?: number | undefined
  maxResults?: number | undefined
  nextToken?: string | undefined
  eventCategory?: string | undefined
}

export class CloudTrail {
  readonly events: EventStore
  readonly log: EventLog
  readonly trails: Trails
  readonly delivery: TrailDelivery | undefined
  private readonly accountId: string

  constructor(l: Ledger, cfg: CloudTrailConfig = {}) {
    this.accountId = l.accountId
    this.trails = new Trails(l)
    this.events = new EventStore(cfg.dataDir, {
      ...(cfg.maxEvents === undefined ? {} : { maxEvents: cfg.maxEvents }),
      ...(cfg.maxAgeDays === undefined ? {} : { maxAgeDays: cfg.maxAgeDays }),
    })
    this.log = new EventLog(this.events, cfg)
    this.delivery =
      cfg.dataDir !== undefined && cfg.objectStore !== undefined
        ? new TrailDelivery({
            dataDir: cfg.dataDir,
            store: cfg.objectStore,
            accountId: l.accountId,
            log: this.log,
            events: this.events,
            trails: () => this.trails.list(),
            ...(cfg.deliveryIntervalMs === undefined ? {} : { intervalMs: cfg.deliveryIntervalMs }),
            ...(cfg.digestIntervalMs === undefined ? {} : { digestIntervalMs: cfg.digestIntervalMs }),
          })
        : undefined
  }

  /** LookupEvents: events of the last 90 days, newest first, by one attribute and a time range. */
  lookup(input: LookupInput): { events: StoredEvent[]; nextToken?: string } {
    if (input.eventCategory !== undefined && input.eventCategory !== 'insight') {
      throw new ApiError(
        'InvalidEventCategoryException',
        `Invalid EventCategory: ${truncate(input.eventCategory)}`,
      )
    }
    const attrs = input.lookupAttributes ?? []
    if (attrs.length > 1) {
      throw new ApiError(
        'InvalidLookupAttributesException',
        'You cannot specify more than one lookup attribute.',
      )
    }
    let attribute: { key: LookupKey; value: string } | undefined
    if (attrs.length === 1) {
      const a = attrs[0]!
      if (!(LOOKUP_KEYS as readonly string[]).includes(a.key)) {
        throw new ApiError(
          'InvalidLookupAttributesException',
          `The attribute key ${truncate(a.key)} is not valid: one of ${LOOKUP_KEYS.join(', ')}.`,
        )
      }
      if (a.value.length < 1 || a.value.length > 2000) {
        throw new ApiError(
          'InvalidLookupAttributesException',
          'An attribute value must be 1 to 2000 characters.',
        )
      }
      if (a.key === 'ReadOnly' && a.value !== 'true' && a.value !== 'false') {
        throw new ApiError('InvalidLookupAttributesException', "ReadOnly's value must be true or false.")
      }
      attribute = { key: a.key as LookupKey, value: a.value }
    }
    const now = Date.now()
    const endTime = input.endTime ?? now
    const startTime = input.startTime ?? now - MAX_AGE_DAYS * 86_400_000
    if (startTime > endTime) {
      throw new ApiError('InvalidTimeRangeException', 'Start time must be equal to or earlier than end time.')
    }
    const max = input.maxResults ?? 50
    if (!Number.isInteger(max) || max < 1 || max > 50) {
      throw new ApiError('InvalidMaxResultsException', 'MaxResults must be 1 to 50.')
    }
    if (input.eventCategory === 'insight') return { events: [] }
    // A token is bound to the query it continues.
    const fp = createHash('sha256')
      .update(JSON.stringify([attribute ?? null, input.startTime ?? null, input.endTime ?? null]))
      .digest('hex')
      .slice(0, 16)
    let beforeSeq: number | undefined
    if (input.nextToken !== undefined) {
      const m = /^(\d{1,15})\.([0-9a-f]{16})$/.exec(
        Buffer.from(input.nextToken, 'base64url').toString('latin1'),
      )
      if (m === null || m[2] !== fp || input.nextToken.length > 200) {
        throw new ApiError('InvalidNextTokenException', 'Invalid NextToken.')
      }
      beforeSeq = Number(m[1])
    }
    this.log.flush()
    const events = this.events.query({
      ...(attribute === undefined ? {} : { attribute }),
      // Records carry whole seconds: an end time inside a second includes that second.
      startTime: Math.floor(startTime / 1000) * 1000,
      endTime,
      ...(beforeSeq === undefined ? {} : { beforeSeq }),
      limit: max + 1,
    })
    if (events.length <= max) return { events }
    events.length = max
    const last = events[max - 1]!
    return { events, nextToken: Buffer.from(`${last.seq}.${fp}`, 'latin1').toString('base64url') }
  }

  /** The account this trail records. */
  get account(): string {
    return this.accountId
  }

  /** Delivers and digests what is pending, then closes the store. */
  async close(): Promise<void> {
    this.log.flush()
    await this.delivery?.close()
    this.closeSync()
  }

  /** Stores what waits and closes the store (no delivery: see {@link close}). */
  closeSync(): void {
    this.log.close()
    this.events.close()
  }
}
