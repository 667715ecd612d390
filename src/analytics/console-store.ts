// SPDX-License-Identifier: Apache-2.0
/**
 * The server's flow-log store: the API's {@link FlowAnalytics} (traffic series, top-N, flow search,
 * export — services/mirrorflow/traffic.ts) over local bucket directories where agents and targets
 * deliver (`mirrorflow server --flow-logs-store DIR`, the demo), answered from a roll-up kept as the
 * objects arrive (console-rollup.ts). The API is below the analytics engine in the folder order: it
 * declares the interface, this implements it, the command line wires the two.
 * @module
 */
import type { FlowAnalytics } from '../api/index.ts'
import { FlowRollup, type RollupOptions } from './console-rollup.ts'

/**
 * A store over these bucket roots; new objects are rolled up within `refreshMs`, and the roll-up
 * holds at most `maxRows` rows (console-rollup.ts: the oldest objects are evicted over it).
 */
export function flowLogStore(
  roots: readonly string[],
  opts: Pick<RollupOptions, 'refreshMs' | 'maxRows'> = {},
): FlowRollup & FlowAnalytics {
  return new FlowRollup(roots, opts)
}
