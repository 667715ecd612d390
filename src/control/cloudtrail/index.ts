// SPDX-License-Identifier: Apache-2.0
/**
 * CloudTrail in the control plane:
 * - `model.ts` — the trail resource and the event record (AWS's record format, `EVENT_VERSION`);
 * - `event-store.ts` — the append-only, bounded event store (`DATA_DIR/cloudtrail.sqlite`);
 * - `event-log.ts` — the recorder's buffer: calls in, rendered and stored in batches;
 * - `trails.ts` — trails on the ledger; `delivery.ts` — log files and digests to buckets;
 * - `digest.ts` — digest signing and the validation of a bucket's files;
 * - `service.ts` — the service (`cp.cloudtrail`) and LookupEvents' rules.
 * @module
 */
export { CLOUDTRAIL_ERRORS } from './errors.ts'
export { EVENT_VERSION } from './model.ts'
export type { CloudTrailRecord, EventResource, Trail, UserIdentity } from './model.ts'
export { EventStore, MAX_AGE_DAYS, MAX_EVENTS, type LookupKey, type StoredEvent } from './event-store.ts'
export {
  EventLog,
  chunkItems,
  packDelivered,
  storeBatch,
  storeRecords,
  type BatchResult,
  type CallWriter,
  type DeliveredEvent,
  type EventLogStats,
  type EventRenderer,
  type FromWriter,
  type RenderedEvent,
  type StoredRecord,
  type ToWriter,
  type WriterData,
} from './event-log.ts'
export { TRAILS_MAX, Trails, checkTrailName, type CreateTrailInput } from './trails.ts'
export {
  DELIVERY_INTERVAL_MS,
  DIGEST_INTERVAL_MS,
  TrailDelivery,
  digestKey,
  isoSeconds,
  logFileKey,
  type TrailDeliveryStatus,
} from './delivery.ts'
export {
  DIGEST_KEY_FILE,
  DIGEST_PUBLIC_KEY_FILE,
  loadDigestKey,
  validateTrailFiles,
  type Digest,
  type ValidationResult,
} from './digest.ts'
export { CloudTrail, LOOKUP_KEYS, type CloudTrailConfig, type LookupInput } from './service.ts'
