// SPDX-License-Identifier: Apache-2.0
/**
 * Presto/Trino (Athena) functions as DuckDB macros, so that Athena's flow-log queries run as written.
 * Each entry says what Athena calls, what it becomes in DuckDB, and where the two differ; the table
 * is rendered into docs/query.md (a test keeps them in step). DuckDB functions that already behave as
 * Athena's (`split_part`, `date_trunc`, `strpos`, `cardinality`, `count_if`, `arbitrary`, `max_by`,
 * `min_by`, `regexp_extract`, `regexp_replace`, `year`, `month`, `day`, `hour`, …) need no macro.
 *
 * Also mirrorflow's own helpers for addresses (Athena's `IPADDRESS` type does not exist in DuckDB):
 * `cidr_contains(cidr, address)` for `contains(cidr, CAST(address AS IPADDRESS))`.
 * @module
 */

export interface MacroDef {
  /** The Athena call, as documented. */
  readonly athena: string
  /** The DuckDB equivalent (what the macro expands to), in words or SQL. */
  readonly duckdb: string
  /** Where results differ from Athena's, if anywhere. */
  readonly note: string
  /** `CREATE MACRO` body after the name: `(params) AS expr` (overloads separated by `, `). */
  readonly sql: string
  readonly name: string
}

/** Rewrites a MySQL-style `date_format` pattern (Athena's) into a strftime pattern (DuckDB's). */
const MYSQL_TO_STRFTIME = (() => {
  // %% first (kept aside as \x02), then the specifiers whose letters differ, marked with \x01 so a
  // later replacement cannot match inside an earlier one's output.
  const pairs: [string, string][] = [
    ['%M', '\x01B'],
    ['%W', '\x01A'],
    ['%i', '\x01M'],
    ['%s', '\x01S'],
    ['%T', '\x01H:\x01M:\x01S'],
    ['%h', '\x01I'],
    ['%e', '\x01-d'],
    ['%c', '\x01-m'],
    ['%k', '\x01-H'],
    ['%l', '\x01-I'],
    ['%r', '\x01I:\x01M:\x01S \x01p'],
    ['%v', '\x01V'],
    ['%x', '\x01G'],
  ]
  let e = `replace(f, '%%', chr(2))`
  for (const [from, to] of pairs) {
    const lit = to.replaceAll('\x01', `' || chr(1) || '`)
    e = `replace(${e}, '${from}', '${lit}')`
  }
  return `replace(replace(${e}, chr(1), '%'), chr(2), '%%')`
})()

/** The same rewriting in TypeScript (for formats known in advance). */
export function mysqlToStrftime(f: string): string {
  const map: Record<string, string> = {
    M: '%B',
    W: '%A',
    i: '%M',
    s: '%S',
    T: '%H:%M:%S',
    h: '%I',
    e: '%-d',
    c: '%-m',
    k: '%-H',
    l: '%-I',
    r: '%I:%M:%S %p',
    v: '%V',
    x: '%G',
    '%': '%%',
  }
  let out = ''
  for (let i = 0; i < f.length; i++) {
    const ch = f[i]!
    if (ch === '%' && i + 1 < f.length) {
      const spec = f[++i]!
      out += map[spec] ?? `%${spec}`
    } else out += ch
  }
  return out
}

/** The `date_parse` formats provided (DuckDB's strptime needs its format at bind time). */
export const DATE_PARSE_FORMATS = [
  '%Y-%m-%d %H:%i:%s',
  '%Y-%m-%d %H:%i:%s.%f',
  '%Y-%m-%d %H:%i',
  '%Y-%m-%d',
  '%Y/%m/%d',
  '%Y/%m/%d %H:%i:%s',
  '%Y-%m-%dT%H:%i:%s',
  '%Y-%m-%dT%H:%i:%sZ',
  '%Y-%m-%dT%H:%i:%s.%fZ',
  '%Y%m%d',
  '%Y%m%dT%H%iZ',
  '%d/%m/%Y',
  '%m/%d/%Y',
  '%d/%b/%Y:%H:%i:%s',
] as const

/** Lists an IPv6 text's groups before (`1`) or after (`2`) `::`, empty groups dropped. */
const V6_PART = (k: 1 | 2): string =>
  `list_filter(string_split(split_part(s, '::', ${k}), ':'), g -> g <> '')`

export const MACROS: readonly MacroDef[] = [
  {
    name: 'from_unixtime',
    athena: 'from_unixtime(unixtime)',
    duckdb: 'to_timestamp(unixtime)',
    note: 'a TIMESTAMP WITH TIME ZONE in UTC (the session time zone is UTC)',
    sql: '(x) AS to_timestamp(x)',
  },
  {
    name: 'to_unixtime',
    athena: 'to_unixtime(timestamp)',
    duckdb: 'epoch(timestamp)',
    note: 'seconds as DOUBLE, as Athena',
    sql: '(t) AS epoch(t)',
  },
  {
    name: 'to_iso8601',
    athena: 'to_iso8601(timestamp | date)',
    duckdb: "strftime(x, '%Y-%m-%dT%H:%M:%S.%gZ'), or '%Y-%m-%d' for a DATE",
    note: 'timestamps are written in UTC with milliseconds and `Z`, as Athena writes them for UTC',
    sql: "(x) AS CASE WHEN typeof(x) = 'DATE' THEN strftime(x, '%Y-%m-%d') ELSE strftime(x, '%Y-%m-%dT%H:%M:%S.%gZ') END",
  },
  {
    name: 'from_iso8601_timestamp',
    athena: 'from_iso8601_timestamp(string)',
    duckdb: 'CAST(string AS TIMESTAMPTZ)',
    note: 'accepts what DuckDB parses as a timestamp (ISO 8601 with `T` or space, optional zone)',
    sql: '(s) AS CAST(s AS TIMESTAMPTZ)',
  },
  {
    name: 'from_iso8601_date',
    athena: 'from_iso8601_date(string)',
    duckdb: 'CAST(string AS DATE)',
    note: 'calendar dates only (no week or ordinal dates)',
    sql: '(s) AS CAST(s AS DATE)',
  },
  {
    name: 'day_of_week',
    athena: 'day_of_week(x)',
    duckdb: 'isodow(x)',
    note: 'ISO: Monday 1 … Sunday 7 (DuckDB’s own `dayofweek` counts Sunday 0)',
    sql: '(x) AS isodow(x)',
  },
  {
    name: 'dow',
    athena: 'dow(x)',
    duckdb: 'isodow(x)',
    note: 'as day_of_week',
    sql: '(x) AS isodow(x)',
  },
  {
    name: 'day_of_year',
    athena: 'day_of_year(x)',
    duckdb: 'dayofyear(x)',
    note: '',
    sql: '(x) AS dayofyear(x)',
  },
  { name: 'doy', athena: 'doy(x)', duckdb: 'dayofyear(x)', note: '', sql: '(x) AS dayofyear(x)' },
  {
    name: 'week_of_year',
    athena: 'week_of_year(x)',
    duckdb: 'weekofyear(x)',
    note: 'ISO week',
    sql: '(x) AS weekofyear(x)',
  },
  {
    name: 'year_of_week',
    athena: 'year_of_week(x)',
    duckdb: 'isoyear(x)',
    note: 'ISO week-numbering year',
    sql: '(x) AS isoyear(x)',
  },
  {
    name: 'date_format',
    athena: 'date_format(timestamp, format)',
    duckdb: 'strftime(timestamp, format rewritten)',
    note: 'MySQL specifiers %Y %m %d %H %i %s %f %T %j %a %b %M %W %p %h %e %c %k %l %r %y %v %x are rewritten to strftime’s; %u and %U are not',
    sql: `(t, f) AS strftime(t, ${MYSQL_TO_STRFTIME})`,
  },
  {
    name: 'date_parse',
    athena: 'date_parse(string, format)',
    duckdb: 'strptime(string, format rewritten)',
    note: `the formats ${DATE_PARSE_FORMATS.map((f) => '`' + f + '`').join(', ')}; another format is an error (DuckDB needs a constant strptime format: write strptime with the rewritten format)`,
    sql: `(s, f) AS CASE f ${DATE_PARSE_FORMATS.map((f) => `WHEN '${f}' THEN strptime(s, '${mysqlToStrftime(f)}')`).join(' ')} ELSE error('date_parse: format not supported here, use strptime: ' || f) END`,
  },
  {
    name: 'date_add',
    athena: 'date_add(unit, value, timestamp)',
    duckdb: "timestamp + CAST(value || ' ' || unit AS INTERVAL)",
    note: 'DuckDB’s own two-argument date_add(date, interval) still works',
    sql: "(a, b) AS a + b, (u, n, t) AS t + CAST(CAST(n AS VARCHAR) || ' ' || u AS INTERVAL)",
  },
  {
    name: 'date_diff',
    athena: 'date_diff(unit, timestamp1, timestamp2)',
    duckdb: 'date_sub(unit, timestamp1, timestamp2)',
    note: 'whole units elapsed, as Athena (DuckDB’s own date_diff counts boundaries crossed)',
    sql: '(u, a, b) AS date_sub(u, a, b)',
  },
  {
    name: 'approx_distinct',
    athena: 'approx_distinct(x)',
    duckdb: 'approx_count_distinct(x)',
    note: 'HyperLogLog in both; the estimates differ slightly',
    sql: '(x) AS approx_count_distinct(x)',
  },
  {
    name: 'approx_percentile',
    athena: 'approx_percentile(x, p)',
    duckdb: 'approx_quantile(x, p)',
    note: 'different sketches: estimates differ slightly',
    sql: '(x, p) AS approx_quantile(x, p)',
  },
  {
    name: 'regexp_like',
    athena: 'regexp_like(string, pattern)',
    duckdb: 'regexp_matches(string, pattern)',
    note: 'RE2 syntax in both',
    sql: '(s, p) AS regexp_matches(s, p)',
  },
  {
    name: 'json_extract_scalar',
    athena: 'json_extract_scalar(json, path)',
    duckdb: 'json_extract_string(json, path)',
    note: '',
    sql: '(j, p) AS json_extract_string(j, p)',
  },
  {
    name: 'mf_ipv4_num',
    athena: '(none: mirrorflow helper)',
    duckdb: 'an IPv4 address text as a number (NULL if not IPv4)',
    note: '',
    sql: "(s) AS CASE WHEN regexp_full_match(s, '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}') THEN TRY_CAST(split_part(s, '.', 1) AS UBIGINT) * 16777216 + TRY_CAST(split_part(s, '.', 2) AS UBIGINT) * 65536 + TRY_CAST(split_part(s, '.', 3) AS UBIGINT) * 256 + TRY_CAST(split_part(s, '.', 4) AS UBIGINT) END",
  },
  {
    name: 'mf_ipv6_hex',
    athena: '(none: mirrorflow helper)',
    duckdb: 'an IPv6 address text as 32 lowercase hex digits (NULL if not IPv6)',
    note: 'IPv4-mapped text (`::ffff:1.2.3.4`) gives NULL',
    sql:
      "(s) AS CASE WHEN regexp_full_match(s, '[0-9a-fA-F:]{2,39}') THEN nullif(lower(array_to_string(list_transform(" +
      `CASE WHEN contains(s, '::') THEN list_concat(${V6_PART(1)}, list_transform(range(greatest(0, 8 - len(${V6_PART(1)}) - len(${V6_PART(2)}))), x -> '0'), ${V6_PART(2)}) ELSE string_split(s, ':') END` +
      ", g -> lpad(g, 4, '0')), '')), '') END",
  },
  {
    name: 'cidr_contains',
    athena: 'contains(cidr, CAST(address AS IPADDRESS))',
    duckdb: 'cidr_contains(cidr, address)',
    note: 'mirrorflow helper: IPv4 and IPv6 text; false across families, NULL for text that is no address',
    sql:
      "(c, a) AS CASE WHEN contains(c, ':') THEN " +
      "(length(mf_ipv6_hex(a)) = 32 AND left(mf_ipv6_hex(a), CAST(TRY_CAST(split_part(c, '/', 2) AS INTEGER) // 4 AS INTEGER)) = left(mf_ipv6_hex(split_part(c, '/', 1)), CAST(TRY_CAST(split_part(c, '/', 2) AS INTEGER) // 4 AS INTEGER)) AND (TRY_CAST(split_part(c, '/', 2) AS INTEGER) % 4 = 0 OR ((strpos('0123456789abcdef', substr(mf_ipv6_hex(a), TRY_CAST(split_part(c, '/', 2) AS INTEGER) // 4 + 1, 1)) - 1) >> (4 - TRY_CAST(split_part(c, '/', 2) AS INTEGER) % 4)) = ((strpos('0123456789abcdef', substr(mf_ipv6_hex(split_part(c, '/', 1)), TRY_CAST(split_part(c, '/', 2) AS INTEGER) // 4 + 1, 1)) - 1) >> (4 - TRY_CAST(split_part(c, '/', 2) AS INTEGER) % 4)))) " +
      "ELSE (mf_ipv4_num(a) >> (32 - coalesce(TRY_CAST(nullif(split_part(c, '/', 2), '') AS INTEGER), 32))) = (mf_ipv4_num(split_part(c, '/', 1)) >> (32 - coalesce(TRY_CAST(nullif(split_part(c, '/', 2), '') AS INTEGER), 32))) END",
  },
]

/** The statements that create every macro (temporary: they live as long as the session). */
export function macroStatements(): string[] {
  return MACROS.map((m) => `CREATE OR REPLACE TEMP MACRO ${m.name}${m.sql}`)
}
