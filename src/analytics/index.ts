// SPDX-License-Identifier: Apache-2.0
/**
 * Analytics: SQL over flow logs (and, as other engines register them, other logs) in an embedded
 * DuckDB, with Athena's table and column names and Presto functions as macros.
 *
 * - `openAnalytics({ inputs: { vpc_flow_logs: [paths…] }, storeRoots })` opens a sealed session with
 *   every registered table (registry.ts); `session.query(sql)` runs SQL.
 * - `registerTable(def)` adds a table (see registry.ts for the contract).
 * - `SAVED_QUERIES` / `savedQuery(name)`: the VPC console's predefined queries and Athena's examples.
 * - `MACROS`: the Presto functions provided and their DuckDB translations.
 * - traffic.ts: the console's aggregations (series, top-N, flow search, export).
 * - `detect/`: detections, findings in GuardDuty's shape.
 * @module
 */
export { QueryEngine, sqlString, sqlIdent } from './engine.ts'
export type { CellValue, QueryResult, ResultColumn, QueryEngineOptions } from './engine.ts'
export { AnalyticsSourceError, AnalyticsQueryError, AnalyticsArgumentError } from './errors.ts'
export { discoverFiles, readPrefix } from './files.ts'
export type { DiscoverOptions, DiscoveredFile } from './files.ts'
export { registerTable, registeredTables, tableByName } from './registry.ts'
export type { TableDefinition, TableInputs, TablePlan, PlanContext, ColumnDef } from './registry.ts'
export {
  FLOW_LOG_COLUMNS,
  FLOW_LOGS_TABLE,
  partitionDate,
  findFlowLogSources,
  flowLogsViewSql,
} from './flow-logs-table.ts'
export { MACROS, macroStatements } from './presto.ts'
export type { MacroDef } from './presto.ts'
export { SAVED_QUERIES, ADMIN_PORTS, savedQuery, savedQueryParams } from './saved.ts'
export type { SavedQuery } from './saved.ts'
export { openAnalytics } from './session.ts'
export type { AnalyticsOptions, AnalyticsSession } from './session.ts'
export { renderResult, renderTable, renderJson, renderCsv } from './output.ts'
export type { OutputFormat } from './output.ts'
export * from './detect/index.ts'
export {
  trafficSeries,
  topN,
  searchFlows,
  exportFlows,
  filterSql,
  AUTO_BUCKETS,
  SEARCH_COLUMNS,
  MAX_BUCKETS,
  MAX_SERIES,
  MAX_PAGE,
  MAX_TOP,
  MAX_EXPORT_ROWS,
  MAX_FILTER_VALUES,
} from './traffic.ts'
export type {
  TrafficFilter,
  SeriesQuery,
  SeriesResult,
  Series,
  SeriesGroup,
  TopQuery,
  TopRow,
  TopBy,
  TopMetric,
  SearchQuery,
  SearchResult,
  SearchColumn,
  ExportQuery,
} from './traffic.ts'
export { AnalyticsStore } from './store.ts'
export { flowLogStore } from './console-store.ts'
export { FlowRollup, ROLLUP_MAX_ROWS, ROLLUP_REFRESH_MS } from './console-rollup.ts'
export type { RollupOptions, RollupStats } from './console-rollup.ts'
export type { AnalyticsStoreOptions } from './store.ts'
export { rerenderFlowLogs } from './rerender.ts'
export type { RerenderOptions, RerenderStats } from './rerender.ts'
