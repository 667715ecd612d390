// SPDX-License-Identifier: Apache-2.0
/**
 * The field catalogue: every VPC flow-log field of versions 2–11 (spec §1.5), in AWS's table order,
 * with the version that introduced it, its Parquet and DuckDB types, how mirrorflow derives it (or why
 * it is always `-` on a host), and the function that reads it from a record. The log-format parser,
 * the text renderer, the Parquet schema and docs/flowlogs.md's field table are all driven from this
 * one table (STYLE.md §3.9).
 *
 * Choices where the spec is UNCONFIRMED (each noted on its field):
 * - `tcp-flags` of a non-TCP record is `0` (spec §9.2 open question; 0 = "no supported flag").
 * - `encryption-status` is INT_32 in Parquet and `-` here: Encryption Controls do not exist on a host.
 * - NODATA/SKIPDATA records keep the interface's metadata fields (vpc-id, subnet-id, region, …) and put
 *   `-` in every traffic field (spec §2.3 shows only the v2 shape).
 * @module
 */
import {
  ACTION_NAMES,
  DIRECTION_NAMES,
  Direction,
  LOG_STATUS_NAMES,
  LogStatus,
  TCP_FLAGS_NONE,
  type FlowLogInterface,
  type FlowRecordBatch,
} from './record.ts'
import { formatIPv4, formatIPv6Words } from '../packet/index.ts'

/** Parquet physical/logical type AWS documents for the field (spec §1.5 "PQ"). */
export type ParquetType = 'INT_32' | 'INT_64' | 'STRING'

/** Reads field values from row `i` of a batch. null renders as `-` (text) or NULL (Parquet). */
export type FieldGetter = (b: FlowRecordBatch, i: number, version: number) => string | number | null

/** One catalogue entry. */
export interface FieldDef {
  /** The AWS field name, as written in `${…}` and in the S3 header line. */
  readonly name: string
  /** Flow-log version that introduced the field. */
  readonly version: number
  readonly parquet: ParquetType
  /** Column type for DuckDB/Athena (`INTEGER`, `BIGINT`, `VARCHAR`). */
  readonly duckdb: 'INTEGER' | 'BIGINT' | 'VARCHAR'
  /** How mirrorflow computes it, or why it is `-` (rendered into docs/flowlogs.md). */
  readonly derivation: string
  readonly get: FieldGetter
}

const isOK = (b: FlowRecordBatch, i: number): boolean => b.logStatus[i] === LogStatus.OK
const meta = (b: FlowRecordBatch, i: number): FlowLogInterface => b.interfaces[b.iface[i]!]!.info
const opt = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v)

/** Text of the packet-level source (`which` 0) or destination (1) address of row `i`. */
function pktAddr(b: FlowRecordBatch, i: number, which: 0 | 1): string | null {
  if (!isOK(b, i)) return null
  const w = which === 0 ? b.src : b.dst
  return b.family[i] === 4 ? formatIPv4(w[i * 4]!) : formatIPv6Words(w, i * 4)
}

/** srcaddr/dstaddr: the interface's own side is its primary address of that family (spec §1.9). */
function ifaceAddr(b: FlowRecordBatch, i: number, which: 0 | 1): string | null {
  if (!isOK(b, i)) return null
  const dir = b.direction[i]
  if ((which === 0 && dir === Direction.Egress) || (which === 1 && dir === Direction.Ingress)) {
    const r = b.interfaces[b.iface[i]!]!
    const p = b.family[i] === 4 ? r.primary4Text : r.primary6Text
    if (p !== null) return p
  }
  return pktAddr(b, i, which)
}

/** ip-ranges.json service of the packet-level source (0) or destination (1) address, or null. */
function awsService(b: FlowRecordBatch, i: number, which: 0 | 1): string | null {
  if (b.awsServices === null || !isOK(b, i)) return null
  const w = which === 0 ? b.src : b.dst
  return b.family[i] === 4 ? b.awsServices.lookup4(w[i * 4]!) : b.awsServices.lookup6(w, i * 4)
}

/** v11 tag values are UTF-8 percent-encoded (spec §1.6; exact character set UNCONFIRMED). */
const tag = (v: string | undefined): string | null =>
  v === undefined || v === '' ? null : encodeURIComponent(v)

const DASH_ALWAYS = (): null => null

/** The catalogue, in AWS's field-table order. */
export const FIELDS: readonly FieldDef[] = [
  {
    name: 'version',
    version: 2,
    parquet: 'INT_32',
    duckdb: 'INTEGER',
    derivation: 'highest version among the fields of the log format (2 for the default format)',
    get: (_b, _i, v) => v,
  },
  {
    name: 'account-id',
    version: 2,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'the interface owner account (`--account-id`, or the server’s account)',
    get: (b, i) => meta(b, i).accountId,
  },
  {
    name: 'interface-id',
    version: 2,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'the ENI id registered for the captured interface (`--interface-id`)',
    get: (b, i) => meta(b, i).interfaceId,
  },
  {
    name: 'srcaddr',
    version: 2,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation:
      'egress: the interface’s primary address of the family; otherwise the packet source. `-` in NODATA/SKIPDATA',
    get: (b, i) => ifaceAddr(b, i, 0),
  },
  {
    name: 'dstaddr',
    version: 2,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'ingress: the interface’s primary address of the family; otherwise the packet destination',
    get: (b, i) => ifaceAddr(b, i, 1),
  },
  {
    name: 'srcport',
    version: 2,
    parquet: 'INT_32',
    duckdb: 'INTEGER',
    derivation: 'TCP/UDP/SCTP/DCCP/UDP-Lite source port; 0 for ICMP, other protocols and non-first fragments',
    get: (b, i) => (isOK(b, i) ? b.srcPort[i]! : null),
  },
  {
    name: 'dstport',
    version: 2,
    parquet: 'INT_32',
    duckdb: 'INTEGER',
    derivation: 'destination port, as srcport',
    get: (b, i) => (isOK(b, i) ? b.dstPort[i]! : null),
  },
  {
    name: 'protocol',
    version: 2,
    parquet: 'INT_32',
    duckdb: 'INTEGER',
    derivation: 'IANA protocol number of the innermost L4 header (after IPv6 extension headers)',
    get: (b, i) => (isOK(b, i) ? b.protocol[i]! : null),
  },
  {
    name: 'packets',
    version: 2,
    parquet: 'INT_64',
    duckdb: 'BIGINT',
    derivation: 'packets of the flow, in this direction, in the aggregation interval',
    get: (b, i) => (isOK(b, i) ? b.packets[i]! : null),
  },
  {
    name: 'bytes',
    version: 2,
    parquet: 'INT_64',
    duckdb: 'BIGINT',
    derivation: 'sum of IP lengths (IPv4 total length; IPv6 40 + payload length), L2 excluded, as AWS counts',
    get: (b, i) => (isOK(b, i) ? b.bytes[i]! : null),
  },
  {
    name: 'start',
    version: 2,
    parquet: 'INT_64',
    duckdb: 'BIGINT',
    derivation:
      'Unix seconds of the first packet in the interval (NODATA: interval start; SKIPDATA: first skipped packet)',
    get: (b, i) => b.start[i]!,
  },
  {
    name: 'end',
    version: 2,
    parquet: 'INT_64',
    duckdb: 'BIGINT',
    derivation:
      'Unix seconds of the last packet in the interval (NODATA: interval end; SKIPDATA: last skipped packet)',
    get: (b, i) => b.end[i]!,
  },
  {
    name: 'action',
    version: 2,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'ACCEPT or REJECT; every packet of a capture file was accepted by the network (ACCEPT)',
    get: (b, i) => (isOK(b, i) ? ACTION_NAMES[b.action[i]!]! : null),
  },
  {
    name: 'log-status',
    version: 2,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'OK; NODATA for an idle interface; SKIPDATA when the flow table was full',
    get: (b, i) => LOG_STATUS_NAMES[b.logStatus[i]!]!,
  },
  {
    name: 'vpc-id',
    version: 3,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'VPC of the interface’s subnet, from the registered interface; `-` if unknown',
    get: (b, i) => opt(meta(b, i).vpcId),
  },
  {
    name: 'subnet-id',
    version: 3,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'subnet of the interface (matched by address in the control plane); `-` if unknown',
    get: (b, i) => opt(meta(b, i).subnetId),
  },
  {
    name: 'instance-id',
    version: 3,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'the host (instance) the interface belongs to; `-` if unknown',
    get: (b, i) => opt(meta(b, i).instanceId),
  },
  {
    name: 'tcp-flags',
    version: 3,
    parquet: 'INT_32',
    duckdb: 'INTEGER',
    derivation:
      'OR over the packets of FIN 1, SYN 2, RST 4, SYN-ACK 18 (ACK/PSH/URG/ECE/CWR alone count 0, as AWS documents); 0 for non-TCP (chosen: AWS does not say 0 or `-`)',
    get: (b, i) => (isOK(b, i) && b.tcpFlags[i] !== TCP_FLAGS_NONE ? b.tcpFlags[i]! : null),
  },
  {
    name: 'type',
    version: 3,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'IPv4 or IPv6 from the IP header (EFA is never seen on a host)',
    get: (b, i) => (isOK(b, i) ? (b.family[i] === 6 ? 'IPv6' : 'IPv4') : null),
  },
  {
    name: 'pkt-srcaddr',
    version: 3,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'source address of the IP header, as captured',
    get: (b, i) => pktAddr(b, i, 0),
  },
  {
    name: 'pkt-dstaddr',
    version: 3,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'destination address of the IP header, as captured',
    get: (b, i) => pktAddr(b, i, 1),
  },
  {
    name: 'region',
    version: 4,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'the configured region (`--region`)',
    get: (b, i) => opt(meta(b, i).region),
  },
  {
    name: 'az-id',
    version: 4,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'the configured AZ id of the interface; `-` if none or a sublocation',
    get: (b, i) => (opt(meta(b, i).sublocationType) !== null ? null : opt(meta(b, i).azId)),
  },
  {
    name: 'sublocation-type',
    version: 4,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'configured sublocation type (wavelength/outpost/localzone); `-` otherwise',
    get: (b, i) => opt(meta(b, i).sublocationType),
  },
  {
    name: 'sublocation-id',
    version: 4,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'configured sublocation id; `-` otherwise',
    get: (b, i) => opt(meta(b, i).sublocationId),
  },
  {
    name: 'pkt-src-aws-service',
    version: 5,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation:
      'service of pkt-srcaddr in a user-supplied ip-ranges.json (`--aws-ip-ranges`; a specific service wins over AMAZON, then the longest prefix); `-` without the file or outside AWS ranges',
    get: (b, i) => awsService(b, i, 0),
  },
  {
    name: 'pkt-dst-aws-service',
    version: 5,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'as pkt-src-aws-service, for pkt-dstaddr',
    get: (b, i) => awsService(b, i, 1),
  },
  {
    name: 'flow-direction',
    version: 5,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation:
      'egress when the packet source is one of the interface’s addresses, ingress when the destination is (or the capture says so); `-` when neither is known',
    get: (b, i) =>
      isOK(b, i) && b.direction[i] !== Direction.Unknown ? DIRECTION_NAMES[b.direction[i]!]! : null,
  },
  {
    name: 'traffic-path',
    version: 5,
    parquet: 'INT_32',
    duckdb: 'INTEGER',
    derivation:
      '`-`: the route an egress packet takes past the host is not known to the host (always `-` for ingress)',
    get: DASH_ALWAYS,
  },
  ...(
    [
      'ecs-cluster-arn',
      'ecs-cluster-name',
      'ecs-container-instance-arn',
      'ecs-container-instance-id',
      'ecs-container-id',
      'ecs-second-container-id',
      'ecs-service-name',
      'ecs-task-definition-arn',
      'ecs-task-arn',
      'ecs-task-id',
    ] as const
  ).map((name): FieldDef => ({
    name,
    version: 7,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: '`-`: traffic is not from an Amazon ECS task',
    get: DASH_ALWAYS,
  })),
  {
    name: 'reject-reason',
    version: 8,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation:
      '`-`: BPA and Encryption Controls rejects do not exist on a host; ordinary rejects are `-` too',
    get: DASH_ALWAYS,
  },
  {
    name: 'resource-id',
    version: 9,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: '`-`: only regional NAT gateways fill it (AWS documents no details)',
    get: DASH_ALWAYS,
  },
  {
    name: 'encryption-status',
    version: 10,
    parquet: 'INT_32',
    duckdb: 'INTEGER',
    derivation: '`-` (Encryption Controls off); Parquet type INT_32 chosen (AWS does not document it)',
    get: DASH_ALWAYS,
  },
  {
    name: 'instance-tag',
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'value of the 1st instance tag key, percent-encoded; `-` without a tag',
    get: (b, i) => tag(meta(b, i).instanceTag),
  },
  {
    name: 'instance-tag-2',
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'value of the 2nd instance tag key',
    get: (b, i) => tag(meta(b, i).instanceTag2),
  },
  {
    name: 'interface-tag',
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'value of the 1st network-interface tag key',
    get: (b, i) => tag(meta(b, i).interfaceTag),
  },
  {
    name: 'interface-tag-2',
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'value of the 2nd network-interface tag key',
    get: (b, i) => tag(meta(b, i).interfaceTag2),
  },
  {
    name: 'asg-tag',
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation:
      'value of the 1st Auto Scaling group tag key; `-` (no Auto Scaling groups on a host) unless configured',
    get: (b, i) => tag(meta(b, i).asgTag),
  },
  {
    name: 'asg-tag-2',
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: 'value of the 2nd Auto Scaling group tag key',
    get: (b, i) => tag(meta(b, i).asgTag2),
  },
  {
    name: 'interface-type',
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation:
      'configured interface type (nat_gateway, …); `-` for an ordinary instance interface (chosen: AWS does not document it)',
    get: (b, i) => opt(meta(b, i).interfaceType),
  },
  ...(
    [
      'next-hop-interface-id',
      'next-hop-subnet-id',
      'next-hop-az-id',
      'next-hop-vpc-id',
      'next-hop-interface-type',
    ] as const
  ).map((name): FieldDef => ({
    name,
    version: 11,
    parquet: 'STRING',
    duckdb: 'VARCHAR',
    derivation: '`-`: the peer interface of a flow is not known to the capturing host',
    get: DASH_ALWAYS,
  })),
]

/** Catalogue entries by field name. */
export const FIELDS_BY_NAME: ReadonlyMap<string, FieldDef> = new Map(FIELDS.map((f) => [f.name, f]))

/** The 14 version-2 fields of the default format, in order (spec §1.2). */
export const DEFAULT_FIELDS: readonly string[] = FIELDS.filter((f) => f.version === 2).map((f) => f.name)

/** Parquet/Athena column name of a field: `-` becomes `_` (spec §4.2). */
export function columnName(field: string): string {
  return field.replaceAll('-', '_')
}

/** The catalogue as a Markdown table (docs/flowlogs.md embeds it; a test keeps the two in step). */
export function renderFieldTableMarkdown(): string {
  const rows = FIELDS.map(
    (f) =>
      `| \`${f.name}\` | ${f.version} | ${f.parquet} | \`${columnName(f.name)}\` ${f.duckdb} | ${f.derivation.replaceAll('|', '\\|')} |`,
  )
  return [
    '| field | version | Parquet | column, DuckDB type | how mirrorflow derives it |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n')
}
