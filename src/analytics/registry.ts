// SPDX-License-Identifier: Apache-2.0
/**
 * The table registry: every SQL table mirrorflow offers (`vpc_flow_logs`, and the tables other
 * engines add, such as CloudTrail's `cloudtrail_logs`) is one `TableDefinition`, registered once at
 * module load with `registerTable`. A query session (`openAnalytics`, session.ts) asks each table to
 * `plan` itself from the inputs the user named for it and from the server store, creates what the
 * plan says (views over the files), then confines DuckDB to the plan's files.
 *
 * Adding a table: write a module that builds a `TableDefinition` and calls `registerTable(def)`, and
 * import it from `tables.ts`. The command line gets its input option (`--<option.flag> PATH…`) from
 * the definition; no other file needs a change.
 * @module
 */
import type { QueryResult } from './engine.ts'
import { AnalyticsArgumentError } from './errors.ts'

/** What a table is built from. */
export interface TableInputs {
  /** Files and directories the user named for this table (its command-line option). */
  readonly paths: readonly string[]
  /**
   * Roots of local bucket directories (`<root>/<bucket>/<key>`, where agents and trails deliver):
   * the table picks its own objects there (flow logs: `…/vpcflowlogs/…`; CloudTrail: `…/CloudTrail/…`).
   */
  readonly storeRoots: readonly string[]
}

/** What a table may use while planning: the session's engine, before it is sealed (metadata reads). */
export interface PlanContext {
  /** Runs a SQL statement (e.g. `SELECT … FROM parquet_schema([...])`) and returns its result. */
  query(sql: string): Promise<QueryResult>
}

/** One column of a table, as the SQL sees it. */
export interface ColumnDef {
  readonly name: string
  /** DuckDB type (`VARCHAR`, `INTEGER`, `BIGINT`, `DATE`, …). */
  readonly type: string
  /** The Athena type of the same column (`string`, `int`, `bigint`, `date`, …), for the docs. */
  readonly athenaType: string
}

/** What `plan` decided: the statements that create the table and the files they read. */
export interface TablePlan {
  /** SQL statements run in order before the engine is sealed (e.g. `CREATE VIEW <name> AS …`). */
  readonly statements: readonly string[]
  /** Every file the statements read: the only files DuckDB may open once sealed. */
  readonly files: readonly string[]
  /** Inputs that were skipped, with the reason (shown on stderr by the CLI). */
  readonly warnings: readonly string[]
}

export interface TableDefinition {
  /** SQL name (lowercase letters, digits, `_`). */
  readonly name: string
  /** One line for `mirrorflow query --list-tables` and the docs. */
  readonly description: string
  readonly columns: readonly ColumnDef[]
  /** The command-line option naming this table's inputs: `flag` without the leading dashes. */
  readonly option: { readonly flag: string; readonly description: string }
  /**
   * Builds the table from its inputs. With no input at all the plan must still create the table
   * (empty, with its columns), so that saved queries and the console compile on an empty store.
   */
  plan(inputs: TableInputs, ctx: PlanContext): Promise<TablePlan>
}

const TABLES = new Map<string, TableDefinition>()
const NAME = /^[a-z][a-z0-9_]{0,62}$/
const FLAG = /^[a-z][a-z0-9-]{0,62}$/

/** Registers a table. Throws `AnalyticsArgumentError` for a bad or repeated name or option flag. */
export function registerTable(def: TableDefinition): void {
  if (!NAME.test(def.name)) throw new AnalyticsArgumentError(`table name '${def.name}' is not a SQL name`)
  if (TABLES.has(def.name)) throw new AnalyticsArgumentError(`table '${def.name}' is registered twice`)
  if (!FLAG.test(def.option.flag))
    throw new AnalyticsArgumentError(`option '${def.option.flag}' is not a flag`)
  for (const t of TABLES.values()) {
    if (t.option.flag === def.option.flag) {
      throw new AnalyticsArgumentError(`option --${def.option.flag} is used by table '${t.name}'`)
    }
  }
  TABLES.set(def.name, def)
}

/** The registered tables, in registration order. */
export function registeredTables(): readonly TableDefinition[] {
  return [...TABLES.values()]
}

/** The table called `name`, or undefined. */
export function tableByName(name: string): TableDefinition | undefined {
  return TABLES.get(name)
}
