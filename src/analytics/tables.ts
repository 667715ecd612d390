// SPDX-License-Identifier: Apache-2.0
/**
 * Registers the built-in tables, in the order `mirrorflow query --list-tables` shows them. A new
 * table's module is imported here (one line), after the tables it may depend on.
 * @module
 */
import { FLOW_LOGS_TABLE } from './flow-logs-table.ts'
import { registerTable } from './registry.ts'

registerTable(FLOW_LOGS_TABLE)
