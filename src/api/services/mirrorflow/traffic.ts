// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic questions over the stored flow logs, as mirrorflow actions (what the console's Overview
 * and Flows pages call, and anyone with a key may call):
 *
 * - `MirrorflowQueryTraffic` (`StartTime`, `EndTime`, optional `ResourceId` — a VPC, subnet or
 *   interface —, `BucketSeconds`, `TopN`): bytes, packets and flows per time bucket, accepted and
 *   rejected, plus the top talkers, top destination ports and top rejected sources. Aggregated by
 *   the server: the answer is a few hundred numbers however many records there are.
 * - `MirrorflowSearchFlows` (`StartTime`, `EndTime`, `SourceAddress`, `DestinationAddress`,
 *   `Address` — addresses or CIDR blocks —, `SourcePort`, `DestinationPort`, `Protocol`, `Action`,
 *   `InterfaceId`, `SortBy`, `SortOrder`, `MaxResults` ≤ 1000, `NextToken`): one page of records.
 * - `GET /mirrorflow/v1/flows/export?…&Format=csv|parquet` (signed): every matching record (at most
 *   1,000,000) as a file.
 *
 * The SQL engine lives above the API in the folder order, so the server receives it as a
 * {@link FlowAnalytics} (wired by `mirrorflow server`); without one these actions answer
 * `FlowLogStoreNotConfigured`. A VPC or subnet is turned into its interfaces (records of the default
 * format carry no VPC or subnet id).
 * @module
 */
import { ApiError, type ControlPlane } from '../../../control/index.ts'
import type { QueryContext as ActionContext } from '../../protocols/ec2-query/context.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'

/** What a traffic question may filter on (times in Unix seconds, `[from, to)`). */
export interface FlowFilter {
  from: number
  to: number
  action?: 'ACCEPT' | 'REJECT' | undefined
  protocol?: number | undefined
  cidrs?: string[] | undefined
  srcCidrs?: string[] | undefined
  dstCidrs?: string[] | undefined
  srcPorts?: number[] | undefined
  dstPorts?: number[] | undefined
  interfaceIds?: string[] | undefined
}

export interface TrafficAnswer {
  bucketSeconds: number
  buckets: number[]
  /** Per action (`ACCEPT`, `REJECT`): bytes, packets, flows per bucket. */
  series: Array<{ key: string; bytes: number[]; packets: number[]; flows: number[] }>
  talkers: Array<{ address: string; bytes: number; packets: number; flows: number }>
  ports: Array<{ port: number; protocol: number; bytes: number; packets: number; flows: number }>
  rejectedSources: Array<{ address: string; bytes: number; packets: number; flows: number }>
}

export interface FlowPage {
  columns: string[]
  rows: unknown[][]
  total: number
  nextToken: string | null
}

export type SortColumn =
  | 'start'
  | 'end'
  | 'interface_id'
  | 'srcaddr'
  | 'dstaddr'
  | 'srcport'
  | 'dstport'
  | 'protocol'
  | 'packets'
  | 'bytes'
  | 'action'

export const SORT_COLUMNS: readonly SortColumn[] = [
  'start',
  'end',
  'interface_id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'action',
]

export interface FlowSearch extends FlowFilter {
  sort: SortColumn
  order: 'asc' | 'desc'
  pageSize: number
  pageToken?: string | undefined
}

/** The flow-log store the server asks (implemented over DuckDB by `mirrorflow server`). */
export interface FlowAnalytics {
  traffic(f: FlowFilter, bucketSeconds: number | undefined, topN: number): Promise<TrafficAnswer>
  search(q: FlowSearch): Promise<FlowPage>
  export(q: FlowSearch & { format: 'csv' | 'parquet' }): Promise<Uint8Array>
  /** Releases the store (the server calls it when it closes). */
  close?(): void
}

/** A bad argument found by the store: answered as `InvalidParameterValue`. */
export function isArgumentError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'MF_ANALYTICS_ARGUMENT'
}

function time(p: Params, name: string): number {
  const v = p.str(name, true)
  const ms = /^\d{1,12}(\.\d{1,6})?$/.test(v) ? Number(v) * 1000 : Date.parse(v)
  if (!Number.isFinite(ms) || v.length > 40)
    throw new ApiError(
      'InvalidParameterValue',
      `${name} must be an ISO 8601 time or seconds since the epoch.`,
    )
  return Math.floor(ms / 1000)
}

function port(p: Params, name: string): number[] | undefined {
  const v = p.int(name)
  if (v === undefined) return undefined
  if (v < 0 || v > 65535) throw new ApiError('InvalidParameterValue', `${name} must be 0 to 65535.`)
  return [v]
}

function cidr(p: Params, name: string): string[] | undefined {
  const v = p.str(name)
  if (v === undefined) return undefined
  if (!/^[0-9A-Fa-f.:]{2,45}(\/\d{1,3})?$/.test(v))
    throw new ApiError('InvalidParameterValue', `${name} must be an IP address or a CIDR block.`)
  return [v]
}

/** The interfaces a VPC, subnet or interface id stands for. */
function interfacesOf(cp: ControlPlane, id: string): string[] {
  const st = cp.ledger.state
  if (id.startsWith('eni-')) {
    if (st.get('network-interface', id) === undefined)
      throw new ApiError(
        'InvalidNetworkInterfaceID.NotFound',
        `The networkInterface ID '${id.slice(0, 64)}' does not exist`,
      )
    return [id]
  }
  const enis = [...st.table('network-interface').values()]
  if (id.startsWith('subnet-')) {
    if (st.get('subnet', id) === undefined)
      throw new ApiError('InvalidSubnetID.NotFound', `The subnet ID '${id.slice(0, 64)}' does not exist`)
    return enis.filter((e) => e.subnetId === id).map((e) => e.id)
  }
  if (id.startsWith('vpc-')) {
    if (st.get('vpc', id) === undefined)
      throw new ApiError('InvalidVpcID.NotFound', `The vpc ID '${id.slice(0, 64)}' does not exist`)
    return enis.filter((e) => e.vpcId === id).map((e) => e.id)
  }
  throw new ApiError('InvalidParameterValue', 'ResourceId must be a VPC, subnet or network interface id.')
}

/** The filter of a request's parameters (shared by search and export). */
function filterOf(ctx: { cp: ControlPlane; p: Params }): FlowFilter {
  const p = ctx.p
  const from = time(p, 'StartTime')
  const to = time(p, 'EndTime')
  if (to <= from) throw new ApiError('InvalidParameterValue', 'EndTime must be after StartTime.')
  const f: FlowFilter = { from, to }
  const action = p.str('Action')
  if (action !== undefined) {
    if (action !== 'ACCEPT' && action !== 'REJECT')
      throw new ApiError('InvalidParameterValue', 'Action must be ACCEPT or REJECT.')
    f.action = action
  }
  const proto = p.int('Protocol')
  if (proto !== undefined) {
    if (proto < 0 || proto > 255) throw new ApiError('InvalidParameterValue', 'Protocol must be 0 to 255.')
    f.protocol = proto
  }
  f.cidrs = cidr(p, 'Address')
  f.srcCidrs = cidr(p, 'SourceAddress')
  f.dstCidrs = cidr(p, 'DestinationAddress')
  f.srcPorts = port(p, 'SourcePort')
  f.dstPorts = port(p, 'DestinationPort')
  const iface = p.str('InterfaceId')
  const resource = p.str('ResourceId')
  if (iface !== undefined) f.interfaceIds = interfacesOf(ctx.cp, iface)
  else if (resource !== undefined) {
    f.interfaceIds = interfacesOf(ctx.cp, resource)
    // A VPC or subnet without interfaces has no traffic: match nothing.
    if (f.interfaceIds.length === 0) f.interfaceIds = ['eni-none']
  }
  return f
}

function searchOf(ctx: { cp: ControlPlane; p: Params }): FlowSearch {
  const f = filterOf(ctx)
  const sort = (ctx.p.str('SortBy') ?? 'start') as SortColumn
  if (!SORT_COLUMNS.includes(sort))
    throw new ApiError('InvalidParameterValue', `SortBy must be one of ${SORT_COLUMNS.join(', ')}.`)
  const order = ctx.p.str('SortOrder') ?? 'desc'
  if (order !== 'asc' && order !== 'desc')
    throw new ApiError('InvalidParameterValue', 'SortOrder must be asc or desc.')
  const pageSize = ctx.p.int('MaxResults') ?? 100
  if (pageSize < 1 || pageSize > 1000)
    throw new ApiError('InvalidParameterValue', 'MaxResults must be 1 to 1000.')
  const token = ctx.p.str('NextToken')
  if (token !== undefined && !/^\d{1,12}$/.test(token))
    throw new ApiError('InvalidNextToken', 'The NextToken is not valid.')
  return { ...f, sort, order, pageSize, pageToken: token }
}

function store(a: FlowAnalytics | undefined): FlowAnalytics {
  if (a === undefined)
    throw new ApiError(
      'FlowLogStoreNotConfigured',
      'This server has no flow-log store to query (start it with --flow-logs-store DIR).',
    )
  return a
}

async function ask<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (isArgumentError(err))
      throw new ApiError('InvalidParameterValue', (err as Error).message.slice(0, 500))
    throw err
  }
}

/** The two actions, given the store (or none). */
export function trafficActions(
  analytics: FlowAnalytics | undefined,
): Map<string, (ctx: ActionContext) => Promise<unknown>> {
  return new Map<string, (ctx: ActionContext) => Promise<unknown>>([
    [
      'MirrorflowQueryTraffic',
      async (ctx) => {
        const f = filterOf(ctx)
        const bucket = ctx.p.int('BucketSeconds')
        const top = ctx.p.int('TopN') ?? 10
        ctx.ready()
        if (top < 1 || top > 100) throw new ApiError('InvalidParameterValue', 'TopN must be 1 to 100.')
        const a = await ask(() => store(analytics).traffic(f, bucket, top))
        const of = (key: string): { bytes: number[]; packets: number[]; flows: number[] } =>
          a.series.find((s) => s.key === key) ?? {
            bytes: a.buckets.map(() => 0),
            packets: a.buckets.map(() => 0),
            flows: a.buckets.map(() => 0),
          }
        const acc = of('ACCEPT')
        const rej = of('REJECT')
        return {
          StartTime: new Date(f.from * 1000).toISOString(),
          EndTime: new Date(f.to * 1000).toISOString(),
          BucketSeconds: a.bucketSeconds,
          Series: {
            Time: a.buckets,
            AcceptedBytes: acc.bytes,
            RejectedBytes: rej.bytes,
            AcceptedPackets: acc.packets,
            RejectedPackets: rej.packets,
            AcceptedFlows: acc.flows,
            RejectedFlows: rej.flows,
          },
          Top: {
            Talkers: a.talkers.map((t) => ({
              Address: t.address,
              Bytes: t.bytes,
              Packets: t.packets,
              Flows: t.flows,
            })),
            Ports: a.ports.map((t) => ({
              Port: t.port,
              Protocol: t.protocol,
              Bytes: t.bytes,
              Packets: t.packets,
              Flows: t.flows,
            })),
            RejectedSources: a.rejectedSources.map((t) => ({
              Address: t.address,
              Bytes: t.bytes,
              Packets: t.packets,
              Flows: t.flows,
            })),
          },
        }
      },
    ],
    [
      'MirrorflowSearchFlows',
      async (ctx) => {
        const q = searchOf(ctx)
        ctx.ready()
        const page = await ask(() => store(analytics).search(q))
        return {
          Flows: page.rows.map((r) => Object.fromEntries(page.columns.map((c, i) => [c, r[i]]))),
          Total: page.total,
          ...(page.nextToken === null ? {} : { NextToken: page.nextToken }),
        }
      },
    ],
  ])
}

/** `GET /mirrorflow/v1/flows/export`: the matching records as CSV or Parquet. */
export async function exportFlows(
  cp: ControlPlane,
  p: Params,
  analytics: FlowAnalytics | undefined,
): Promise<{ body: Uint8Array; type: string; fileName: string }> {
  const q = searchOf({ cp, p })
  const format = p.str('Format') ?? 'csv'
  p.done()
  if (format !== 'csv' && format !== 'parquet')
    throw new ApiError('InvalidParameterValue', 'Format must be csv or parquet.')
  const body = await ask(() => store(analytics).export({ ...q, format }))
  return {
    body,
    type: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.apache.parquet',
    fileName: `flows-${new Date(q.from * 1000).toISOString().replace(/[:.]/g, '')}.${format}`,
  }
}
