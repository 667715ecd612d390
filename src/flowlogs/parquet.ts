// SPDX-License-Identifier: Apache-2.0
/**
 * Parquet output through DuckDB (`@duckdb/node-api`, embedded; no extension is ever installed). The
 * schema comes from the field catalogue: column names are the field names with `-` → `_`, INT_32 →
 * INTEGER (Parquet INT32), INT_64 → BIGINT (INT64), STRING → VARCHAR (BYTE_ARRAY, UTF8), every column
 * nullable (OPTIONAL) and Snappy-compressed, as in the real AWS object in
 * shared/data/real-vpcflow-samples (written by parquet-cpp-arrow).
 * @module
 */
import { readFile } from 'node:fs/promises'
import { columnName } from './fields.ts'
import type { LogFormat } from './log-format.ts'

/** The DuckDB `CREATE TABLE` column list of a format. */
export function duckdbColumns(format: LogFormat): string {
  return format.fields.map((f) => `"${columnName(f.name)}" ${f.duckdb}`).join(', ')
}

/** Writes `rows` (values per format field; null = `-`) as a Parquet file at `path`; returns its bytes. */
export async function writeParquetFile(
  path: string,
  format: LogFormat,
  rows: readonly (readonly (string | number | null)[])[],
): Promise<Uint8Array> {
  // Loaded on first use: the native module costs ~40 MiB of RSS that text output never needs.
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(':memory:')
  try {
    const conn = await instance.connect()
    try {
      await conn.run(`CREATE TABLE flow_logs (${duckdbColumns(format)})`)
      const app = await conn.createAppender('flow_logs')
      const types = format.fields.map((f) => f.duckdb)
      for (const row of rows) {
        for (let k = 0; k < types.length; k++) {
          const v = row[k]
          if (v === null || v === undefined) app.appendNull()
          else if (types[k] === 'INTEGER') app.appendInteger(Number(v))
          else if (types[k] === 'BIGINT') app.appendBigInt(BigInt(v))
          else app.appendVarchar(String(v))
        }
        app.endRow()
      }
      app.closeSync()
      const quoted = path.replaceAll("'", "''")
      await conn.run(`COPY flow_logs TO '${quoted}' (FORMAT PARQUET, COMPRESSION SNAPPY)`)
    } finally {
      conn.closeSync()
    }
  } finally {
    instance.closeSync()
  }
  return new Uint8Array(await readFile(path))
}
