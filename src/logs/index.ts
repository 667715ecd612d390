// SPDX-License-Identifier: Apache-2.0
/**
 * The CloudWatch Logs engine: what processes log events, knowing nothing of the API or the control
 * plane.
 *
 * - `filter-pattern.ts` — filter patterns (terms, space-delimited, JSON) compiled into matchers;
 *   `glob.ts` — their `*` wildcards, linear-time.
 * - `store.ts` — the event store (SQLite): groups, streams, events indexed by (stream, time) and
 *   (group, time), retention and eviction, tags, metric filters.
 * - `insights/` — Logs Insights: the query language parsed, then run over the store's time range.
 * - `flowlog-fields.ts` — the fields CloudWatch discovers in VPC flow-log events.
 * @module
 */
export * from './errors.ts'
export * from './filter-pattern.ts'
export * from './glob.ts'
export * from './store.ts'
