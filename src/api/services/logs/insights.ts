// SPDX-License-Identifier: Apache-2.0
/** CloudWatch Logs Insights' actions (StartQuery, GetQueryResults, StopQuery, DescribeQueries). @module */
import type { JsonHandler } from '../../protocols/json-1.1/index.ts'

export function insightsHandlers(): Map<string, JsonHandler> {
  return new Map()
}
