// SPDX-License-Identifier: Apache-2.0
/** Rendering query results: an aligned text table, JSON (an array of objects) or CSV (RFC 4180). @module */
import type { CellValue, QueryResult } from './engine.ts'

export type OutputFormat = 'table' | 'json' | 'csv'

function cellText(v: CellValue): string {
  if (v === null) return 'NULL'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** A text table: a header, a rule, one line per row, numbers right-aligned; NULL shown as `NULL`. */
export function renderTable(r: QueryResult): string {
  const heads = r.columns.map((c) => c.name)
  const numeric = r.columns.map((c) => /INT|DOUBLE|FLOAT|DECIMAL|REAL/.test(c.type))
  const cells = r.rows.map((row) => row.map((v) => cellText(v).replace(/[\r\n\t]/g, ' ')))
  const widths = heads.map((h, i) => Math.min(80, Math.max(h.length, ...cells.map((row) => row[i]!.length))))
  const fit = (s: string, i: number): string => {
    const w = widths[i]!
    const t = s.length > w ? s.slice(0, w - 1) + '…' : s
    return numeric[i] ? t.padStart(w) : t.padEnd(w)
  }
  const lines = [
    heads
      .map((h, i) => fit(h, i))
      .join('  ')
      .trimEnd(),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((row) =>
      row
        .map((c, i) => fit(c, i))
        .join('  ')
        .trimEnd(),
    ),
  ]
  const n = r.rows.length
  lines.push(`(${n} row${n === 1 ? '' : 's'}${r.truncated ? ', more not shown' : ''})`)
  return lines.join('\n') + '\n'
}

/** A JSON array of objects keyed by column name. */
export function renderJson(r: QueryResult): string {
  const names = r.columns.map((c) => c.name)
  const objs = r.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? null])))
  return JSON.stringify(objs, null, 2) + '\n'
}

function csvField(v: CellValue): string {
  if (v === null) return ''
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** CSV with a header line; NULL is an empty field. */
export function renderCsv(r: QueryResult): string {
  const lines = [r.columns.map((c) => csvField(c.name)).join(',')]
  for (const row of r.rows) lines.push(row.map(csvField).join(','))
  return lines.join('\r\n') + '\r\n'
}

export function renderResult(r: QueryResult, format: OutputFormat): string {
  return format === 'json' ? renderJson(r) : format === 'csv' ? renderCsv(r) : renderTable(r)
}
