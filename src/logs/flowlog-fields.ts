// SPDX-License-Identifier: Apache-2.0
/**
 * The fields Logs Insights discovers in VPC flow-log events: each record's space-separated values
 * named after the flow log's format, in camel case (`srcaddr` → `srcAddr`, `log-status` →
 * `logStatus`, `pkt-src-aws-service` → `pktSrcAwsService`). The default (version 2) format's 14
 * fields are always known; a custom format is known from the flow logs that deliver to the group.
 * A record is read with the first format whose field count equals its own.
 * @module
 */
import { DEFAULT_FIELDS } from '../flowlogs/index.ts'

const SPECIAL: Readonly<Record<string, string>> = {
  srcaddr: 'srcAddr',
  dstaddr: 'dstAddr',
  srcport: 'srcPort',
  dstport: 'dstPort',
  'pkt-srcaddr': 'pktSrcAddr',
  'pkt-dstaddr': 'pktDstAddr',
}

/** The Insights name of a flow-log field (`${log-status}` → `logStatus`). */
export function insightsFieldName(field: string): string {
  const f = field.replace(/^\$\{|\}$/g, '')
  return SPECIAL[f] ?? f.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
}

/** A flow-log format as Insights reads it: field names by position. */
export interface FlowFormat {
  readonly names: readonly string[]
  readonly index: ReadonlyMap<string, number>
}

export function flowFormat(fields: readonly string[]): FlowFormat {
  const names = fields.map(insightsFieldName)
  const index = new Map<string, number>()
  names.forEach((n, i) => index.set(n, i))
  // `start`/`end` are also known as `startTime`/`endTime`.
  if (index.has('start')) index.set('startTime', index.get('start')!)
  if (index.has('end')) index.set('endTime', index.get('end')!)
  return { names, index }
}

/** The default (version 2) format. */
export const DEFAULT_FLOW_FORMAT: FlowFormat = flowFormat(DEFAULT_FIELDS)

/** The field names of a LogFormat string (`${a} ${b}` → [a, b]); [] when it is not one. */
export function formatFields(logFormat: string): string[] {
  const out: string[] = []
  for (const tok of logFormat.split(/\s+/)) {
    const m = /^\$\{([a-z0-9-]{1,64})\}$/.exec(tok)
    if (m === null) return []
    out.push(m[1]!)
  }
  return out
}
