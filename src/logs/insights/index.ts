// SPDX-License-Identifier: Apache-2.0
/**
 * Logs Insights: `parse.ts` (the query language), `run.ts` (running a query over the store's time
 * range), `regex.ts` (the linear-time regular expressions of `like /…/`).
 * @module
 */
export { AGGREGATES, FUNCTIONS, MAX_LIMIT, MAX_QUERY, parseQuery, type Command, type Expr } from './parse.ts'
export { compileSafeRegex, type SafeRegex } from './regex.ts'
export {
  formatTime,
  prepareQuery,
  runQuery,
  type QueryInput,
  type QueryRun,
  type QueryOutput,
  type ResultField,
} from './run.ts'
