// SPDX-License-Identifier: Apache-2.0
/**
 * The `LogFormat` string of a flow log: `${field} ${field} …` (spec §1.3). Parsing checks AWS's rules
 * and computes the record `version` (spec §1.4: the highest version among the chosen fields, whether
 * or not `version` itself is chosen).
 *
 * Duplicates: the spec leaves it UNCONFIRMED whether AWS rejects a repeated field; we reject it (a
 * repeated column cannot be a Parquet schema), naming the field.
 * @module
 */
import { LogFormatError } from './errors.ts'
import { DEFAULT_FIELDS, FIELDS_BY_NAME, type FieldDef } from './fields.ts'

/** A parsed log format. */
export interface LogFormat {
  /** The fields in output order. */
  readonly fields: readonly FieldDef[]
  /** Value of the `version` field for every record of this format. */
  readonly version: number
  /** Canonical `${…}` text (single spaces), as DescribeFlowLogs returns it. */
  readonly text: string
  /** The S3 header line: field names separated by single spaces. */
  readonly header: string
}

/** The default format's text (spec §1.2). */
export const DEFAULT_LOG_FORMAT = DEFAULT_FIELDS.map((f) => `\${${f}}`).join(' ')

const TOKEN = /^\$\{([^{}]*)\}$/

/**
 * Parses a LogFormat string. `undefined`/omitted gives the default format. Throws `LogFormatError`
 * naming the offending field or token for: an empty format, a token that is not `${name}`, an unknown
 * field, a repeated field.
 */
export function parseLogFormat(text: string | undefined = undefined): LogFormat {
  const src = text ?? DEFAULT_LOG_FORMAT
  const tokens = src.split(/\s+/).filter((t) => t.length > 0)
  if (tokens.length === 0) throw new LogFormatError('log format is empty: give at least one ${field}')
  const fields: FieldDef[] = []
  const seen = new Set<string>()
  let version = 2
  for (const tok of tokens) {
    const m = TOKEN.exec(tok)
    if (m === null) {
      throw new LogFormatError(
        `log format: '${tok}' is not a field reference: write fields as \${field-name}`,
        tok,
      )
    }
    const name = m[1]!
    const def = FIELDS_BY_NAME.get(name)
    if (def === undefined) throw new LogFormatError(`log format: unknown field '${name}'`, name)
    if (seen.has(name)) throw new LogFormatError(`log format: field '${name}' is given more than once`, name)
    seen.add(name)
    fields.push(def)
    if (def.version > version) version = def.version
  }
  return {
    fields,
    version,
    text: fields.map((f) => `\${${f.name}}`).join(' '),
    header: fields.map((f) => f.name).join(' '),
  }
}
