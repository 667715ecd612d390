// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs' resources and rules: log groups, log streams, events, retention, tags, metric
 * filters and Logs Insights queries, over the logs engine (`src/logs/`). Its codes are in
 * `errors.ts`, its limits and caps in `limits.ts`.
 * @module
 */
export * from './errors.ts'
export * from './limits.ts'
export * from './logs.ts'
