// SPDX-License-Identifier: Apache-2.0
/**
 * Text rendering of records (the plain-text format of S3, CloudWatch Logs and Firehose): one line per
 * record, the format's fields separated by single spaces, `-` for a field without a value (spec §1.1).
 * @module
 */
import type { LogFormat } from './log-format.ts'
import {
  ACTION_NAMES,
  DIRECTION_NAMES,
  LOG_STATUS_NAMES,
  LogStatus,
  TCP_FLAGS_NONE,
  type FlowRecordBatch,
  type FlowRecordObject,
} from './record.ts'
import { FIELDS_BY_NAME } from './fields.ts'

/** Renders row `i` of `b` as one record line (no newline). */
export function renderRecordLine(format: LogFormat, b: FlowRecordBatch, i: number): string {
  const fields = format.fields
  const v = format.version
  let line = ''
  for (let k = 0; k < fields.length; k++) {
    const x = fields[k]!.get(b, i, v)
    if (k > 0) line += ' '
    line += x === null ? '-' : typeof x === 'number' ? String(x) : x
  }
  return line
}

/** Renders every row of `b`, each followed by `\n`, as one string. */
export function renderRecordLines(format: LogFormat, b: FlowRecordBatch): string {
  let out = ''
  for (let i = 0; i < b.count; i++) out += renderRecordLine(format, b, i) + '\n'
  return out
}

const get = (name: string) => FIELDS_BY_NAME.get(name)!.get

/** Row `i` as a plain object (tests, diagnostics): AWS semantics, addresses as text, `-` as null. */
export function recordObject(b: FlowRecordBatch, i: number): FlowRecordObject {
  const ok = b.logStatus[i] === LogStatus.OK
  return {
    interfaceId: b.interfaces[b.iface[i]!]!.info.interfaceId,
    logStatus: LOG_STATUS_NAMES[b.logStatus[i]!]!,
    action: ACTION_NAMES[b.action[i]!]!,
    direction: DIRECTION_NAMES[b.direction[i]!]!,
    vni: b.vni[i]!,
    srcaddr: get('srcaddr')(b, i, 2) as string | null,
    dstaddr: get('dstaddr')(b, i, 2) as string | null,
    pktSrcaddr: get('pkt-srcaddr')(b, i, 2) as string | null,
    pktDstaddr: get('pkt-dstaddr')(b, i, 2) as string | null,
    srcport: ok ? b.srcPort[i]! : null,
    dstport: ok ? b.dstPort[i]! : null,
    protocol: ok ? b.protocol[i]! : null,
    packets: ok ? b.packets[i]! : null,
    bytes: ok ? b.bytes[i]! : null,
    start: b.start[i]!,
    end: b.end[i]!,
    tcpFlags: ok && b.tcpFlags[i] !== TCP_FLAGS_NONE ? b.tcpFlags[i]! : null,
  }
}
