// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 flow-log actions: CreateFlowLogs, DescribeFlowLogs, DeleteFlowLogs, with the Describe filter
 * table.
 * @module
 */
import { ApiError, deliveryOf, type FlowLog } from '../../../control/index.ts'
import {
  compileFilters,
  page,
  readFilters,
  readPaging,
  type FilterField,
} from '../../protocols/ec2-query/describe.ts'
import { L, toXml, type Node } from '../../protocols/ec2-query/xml.ts'
import { readTagSpecs, type Handler } from './context.ts'
import { flowLogShape } from './shapes.ts'
import { logGroupDelivery } from '../logs/index.ts'
const createFlowLogs: Handler = (ctx) => {
  const p = ctx.p
  const resourceIds = p.list('ResourceId')
  const resourceType = p.str('ResourceType', true)
  if (resourceIds.length === 0)
    throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
  const opts = p.struct('DestinationOptions')
  let destinationOptions:
    | {
        fileFormat?: 'plain-text' | 'parquet'
        hiveCompatiblePartitions?: boolean
        perHourPartition?: boolean
      }
    | undefined
  if (opts !== undefined) {
    destinationOptions = {}
    const ff = opts.str('FileFormat')
    const hive = opts.bool('HiveCompatiblePartitions')
    const hour = opts.bool('PerHourPartition')
    opts.done()
    if (ff !== undefined) destinationOptions.fileFormat = ff as 'parquet'
    if (hive !== undefined) destinationOptions.hiveCompatiblePartitions = hive
    if (hour !== undefined) destinationOptions.perHourPartition = hour
  }
  const tfs = p.structs('TagFieldSpecification').map((s) => {
    const resourceType = s.str('ResourceType', true)
    const tagKeys = s.list('TagKey')
    s.done()
    return { resourceType, tagKeys }
  })
  const input = {
    resourceIds,
    resourceType,
    trafficType: p.str('TrafficType'),
    logDestinationType: p.str('LogDestinationType'),
    logDestination: p.str('LogDestination'),
    logGroupName: p.str('LogGroupName'),
    deliverLogsPermissionArn: p.str('DeliverLogsPermissionArn'),
    deliverCrossAccountRole: p.str('DeliverCrossAccountRole'),
    logFormat: p.str('LogFormat'),
    maxAggregationInterval: p.int('MaxAggregationInterval'),
    destinationOptions,
    tagFieldSpecifications: tfs.length === 0 ? undefined : tfs,
    tags: readTagSpecs(p, 'vpc-flow-log'),
  }
  const token = p.str('ClientToken')
  ctx.ready()
  const r = ctx.cp.ec2.flowLogs.createFlowLogs(input, ctx.idem())
  return toXml([
    ['clientToken', 'ClientToken', token],
    ['flowLogIdSet', 'FlowLogIds', L(r.flowLogIds)],
    ['unsuccessful', 'Unsuccessful', L(r.unsuccessful.map(unsuccessfulItem))],
  ])
}

function unsuccessfulItem(u: { resourceId: string; code: string; message: string }): Node[] {
  return [
    [
      'error',
      'Error',
      [
        ['code', 'Code', u.code],
        ['message', 'Message', u.message],
      ],
    ],
    ['resourceId', 'ResourceId', u.resourceId],
  ]
}

export const flowLogFields: Record<string, FilterField<FlowLog>> = {
  'deliver-log-status': (f) => deliveryOf(f).status,
  'log-destination-type': (f) => f.logDestinationType,
  'flow-log-id': (f) => f.id,
  'log-group-name': (f) => f.logGroupName,
  'resource-id': (f) => f.resourceId,
  'traffic-type': (f) => f.trafficType,
}

const describeFlowLogs: Handler = (ctx) => {
  const p = ctx.p
  const ids = new Set(p.list('FlowLogId'))
  if (ids.size > 1000)
    throw new ApiError('InvalidParameterValue', 'The number of FlowLogIds cannot exceed 1000.')
  const filters = readFilters(p, new Set(Object.keys(flowLogFields)))
  const paging = readPaging(p, ctx.action)
  ctx.ready()
  // A log-group destination's status: the flow log's role lets the service write, agents' puts work.
  const delivery = (f: FlowLog) => deliveryOf(f, (g) => logGroupDelivery(ctx.cp, f, g))
  const fields: Record<string, FilterField<FlowLog>> = {
    ...flowLogFields,
    'deliver-log-status': (f) => delivery(f).status,
  }
  const match = compileFilters(filters, fields)
  // DescribeFlowLogs does not fail on unknown ids: they are simply not listed.
  const res = page(
    ctx.cp.state.table('flow-log').values(),
    (f) => (ids.size === 0 || ids.has(f.id)) && match(f),
    paging,
  )
  return toXml([
    ['flowLogSet', 'FlowLogs', L(res.items.map((f) => flowLogShape(f, delivery(f))))],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

const deleteFlowLogs: Handler = (ctx) => {
  const ids = ctx.p.list('FlowLogId')
  ctx.ready()
  const unsuccessful = ctx.cp.ec2.flowLogs.deleteFlowLogs(ids)
  return toXml([['unsuccessful', 'Unsuccessful', L(unsuccessful.map(unsuccessfulItem))]])
}

/** The flow-log actions. */
export const FLOW_LOG_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['CreateFlowLogs', createFlowLogs],
  ['DescribeFlowLogs', describeFlowLogs],
  ['DeleteFlowLogs', deleteFlowLogs],
]
