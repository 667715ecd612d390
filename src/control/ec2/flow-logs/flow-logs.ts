// SPDX-License-Identifier: Apache-2.0
/**
 * VPC Flow Logs: CreateFlowLogs with AWS's checks (resource type and ids, traffic type,
 * destination type and ARN, delivery role, aggregation interval, log format, destination options,
 * tag fields), DeleteFlowLogs, and the flow logs covering an interface (its own, its subnet's, its
 * VPC's). A flow log goes with the VPC, subnet or interface it covers.
 * @module
 */
import { ApiError, charLength, invalidValue, truncate, type AwsErrorCode } from '../../core/errors.ts'
import { ID_PREFIX, isIdOf, newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Resource, ResourceKind, Tag } from '../../core/model.ts'
import type { DestinationOptions, FlowLog, NetworkInterface, TagFieldSpecification } from '../model.ts'
import type { Ec2Schema } from '../schema.ts'
import type { Quotas } from '../limits.ts'
import { TAG_KEY_MAX, type Tags } from '../tags.ts'
import { checkLogDestination, checkLogGroupName, checkRoleArn } from './destinations.ts'
import { DEFAULT_LOG_FORMAT, validateLogFormat } from './log-format.ts'

export interface CreateFlowLogsInput {
  resourceIds: string[]
  resourceType: string
  trafficType?: string | undefined
  logDestinationType?: string | undefined
  logDestination?: string | undefined
  logGroupName?: string | undefined
  deliverLogsPermissionArn?: string | undefined
  deliverCrossAccountRole?: string | undefined
  logFormat?: string | undefined
  maxAggregationInterval?: number | undefined
  destinationOptions?: Partial<DestinationOptions> | undefined
  tagFieldSpecifications?: TagFieldSpecification[] | undefined
  tags: Tag[]
}

/** An item of `Unsuccessful` (CreateFlowLogs, DeleteFlowLogs). */
export interface UnsuccessfulItem {
  resourceId: string
  code: AwsErrorCode
  message: string
}

export interface CreateFlowLogsResult {
  flowLogIds: string[]
  unsuccessful: UnsuccessfulItem[]
}

/** No AWS resource id is longer (prefix and 17 hex digits): a longer one is refused, never echoed. */
const ID_MAX = 64

function checkIds(parameter: string, ids: readonly string[]): void {
  for (const id of ids) {
    if (id.length > ID_MAX)
      throw invalidValue(`Value (${truncate(id)}) for parameter ${parameter} is invalid.`)
  }
}

export class FlowLogs {
  private readonly l: Ledger
  private readonly x: Ec2Schema
  private readonly tags: Tags
  private readonly q: Quotas

  constructor(l: Ledger, x: Ec2Schema, q: Quotas, tags: Tags) {
    this.l = l
    this.x = x
    this.q = q
    this.tags = tags
    // A flow log goes with the VPC, subnet or interface it covers.
    const covering = (r: Resource): FlowLog[] =>
      [...this.x.flowLogsByResource.get(r.id)].map((f) => this.l.state.get('flow-log', f)!)
    for (const kind of ['vpc', 'subnet', 'network-interface'] as const) l.onDelete(kind, covering)
  }

  createFlowLogs(input: CreateFlowLogsInput, idem?: Idempotency): CreateFlowLogsResult {
    const types = [
      'VPC',
      'Subnet',
      'NetworkInterface',
      'TransitGateway',
      'TransitGatewayAttachment',
      'RegionalNatGateway',
    ]
    if (!types.includes(input.resourceType)) {
      throw invalidValue(
        `Value (${truncate(input.resourceType)}) for parameter ResourceType is invalid. Valid values: ${types.join(', ')}.`,
      )
    }
    const tgw = input.resourceType.startsWith('TransitGateway')
    if (input.resourceIds.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter ResourceId')
    if (input.resourceIds.length > (tgw ? 25 : 1000)) {
      throw invalidValue(`The number of ResourceIds cannot exceed ${tgw ? 25 : 1000}.`)
    }
    checkIds('ResourceId', input.resourceIds)
    if (tgw && input.trafficType !== undefined) {
      throw new ApiError('InvalidParameter', 'TrafficType is not supported for transit gateway resources.')
    }
    if (!tgw && input.trafficType === undefined) {
      throw new ApiError('MissingParameter', 'The request must contain the parameter TrafficType')
    }
    if (input.trafficType !== undefined && !['ACCEPT', 'REJECT', 'ALL'].includes(input.trafficType)) {
      throw invalidValue(
        `Value (${truncate(input.trafficType)}) for parameter TrafficType is invalid. Valid values: ACCEPT, REJECT, ALL.`,
      )
    }
    const destType = input.logDestinationType ?? 'cloud-watch-logs'
    if (!['cloud-watch-logs', 's3', 'kinesis-data-firehose'].includes(destType)) {
      throw invalidValue(
        `Value (${truncate(destType)}) for parameter LogDestinationType is invalid. Valid values: cloud-watch-logs, s3, kinesis-data-firehose.`,
      )
    }
    if (input.logGroupName !== undefined && destType !== 'cloud-watch-logs') {
      throw new ApiError(
        'InvalidParameter',
        'LogDestination type must be cloud-watch-logs if LogGroupName is provided.',
      )
    }
    if (input.logGroupName !== undefined && input.logDestination !== undefined) {
      throw new ApiError(
        'InvalidParameter',
        'Please only provide LogGroupName or only provide LogDestination.',
      )
    }
    if (input.logGroupName === undefined && input.logDestination === undefined) {
      throw new ApiError('InvalidParameter', "LogDestination can't be empty if LogGroupName is not provided.")
    }
    if (input.logGroupName !== undefined) checkLogGroupName(input.logGroupName)
    const dest = input.logDestination
    if (dest !== undefined) checkLogDestination(destType, dest)
    if (destType === 'cloud-watch-logs' && input.deliverLogsPermissionArn === undefined) {
      throw new ApiError(
        'InvalidParameter',
        "DeliverLogsPermissionArn can't be empty if LogDestinationType is cloud-watch-logs.",
      )
    }
    if (input.deliverLogsPermissionArn !== undefined)
      checkRoleArn('DeliverLogsPermissionArn', input.deliverLogsPermissionArn)
    if (input.deliverCrossAccountRole !== undefined)
      checkRoleArn('DeliverCrossAccountRole', input.deliverCrossAccountRole)
    const interval = input.maxAggregationInterval ?? (tgw ? 60 : 600)
    if (interval !== 60 && interval !== 600)
      throw new ApiError('InvalidParameter', 'Invalid Flow Log Max Aggregation Interval')
    if (tgw && interval !== 60)
      throw new ApiError('InvalidParameter', 'Invalid Flow Log Max Aggregation Interval')
    const logFormat = input.logFormat === undefined ? DEFAULT_LOG_FORMAT : validateLogFormat(input.logFormat)
    let destinationOptions: DestinationOptions | undefined
    if (input.destinationOptions !== undefined && destType !== 's3') {
      throw new ApiError(
        'InvalidParameter',
        'DestinationOptions are only supported for the s3 log destination type.',
      )
    }
    if (destType === 's3') {
      const o = input.destinationOptions ?? {}
      const ff = o.fileFormat ?? 'plain-text'
      if (ff !== 'plain-text' && ff !== 'parquet') {
        throw invalidValue(
          `Value (${truncate(String(ff))}) for parameter FileFormat is invalid. Valid values: plain-text, parquet.`,
        )
      }
      destinationOptions = {
        fileFormat: ff,
        hiveCompatiblePartitions: o.hiveCompatiblePartitions ?? false,
        perHourPartition: o.perHourPartition ?? false,
      }
    }
    const tfs = input.tagFieldSpecifications
    if (tfs !== undefined) {
      if (tfs.length < 1 || tfs.length > 3)
        throw invalidValue('TagFieldSpecifications must hold 1 to 3 specifications.')
      for (const s of tfs) {
        if (!['network-interface', 'instance', 'auto-scaling-group'].includes(s.resourceType)) {
          throw invalidValue(
            `Value (${truncate(s.resourceType)}) for parameter TagFieldSpecification.ResourceType is invalid.`,
          )
        }
        if (
          s.tagKeys.length < 1 ||
          s.tagKeys.length > 2 ||
          s.tagKeys.some((k) => k.length < 1 || charLength(k) > TAG_KEY_MAX)
        ) {
          throw invalidValue('Each TagFieldSpecification must hold 1 or 2 tag keys of 1 to 128 characters.')
        }
      }
    }
    const tags = this.tags.validate(input.tags)
    const trafficType = (input.trafficType ?? 'ALL') as FlowLog['trafficType']
    const destKey = `${destType}|${dest ?? ''}|${input.logGroupName ?? ''}|${trafficType}`
    return this.l.idempotent(idem, () => {
      const result: CreateFlowLogsResult = { flowLogIds: [], unsuccessful: [] }
      const put: FlowLog[] = []
      const now = this.l.now()
      for (const rid of new Set(input.resourceIds)) {
        const failure = this.resourceError(input.resourceType, rid)
        if (failure !== undefined) {
          result.unsuccessful.push({ resourceId: rid, ...failure })
          continue
        }
        if (this.x.flowLogsByResource.count(rid) >= this.q.flowLogsPerResource) {
          throw new ApiError(
            'FlowLogsLimitExceeded',
            `The maximum number of flow logs per resource (${this.q.flowLogsPerResource}) has been reached for '${rid}'.`,
          )
        }
        for (const fid of this.x.flowLogsByResource.get(rid)) {
          const o = this.l.state.get('flow-log', fid)!
          if (
            `${o.logDestinationType}|${o.logDestination ?? ''}|${o.logGroupName ?? ''}|${o.trafficType}` ===
            destKey
          ) {
            throw new ApiError(
              'FlowLogAlreadyExists',
              'Error. There is an existing Flow Log with the same configuration and log destination.',
            )
          }
        }
        const fl: FlowLog = {
          kind: 'flow-log',
          id: newId(ID_PREFIX.flowLog),
          seq: this.l.nextSeq(),
          resourceId: rid,
          resourceType: input.resourceType as FlowLog['resourceType'],
          trafficType,
          logDestinationType: destType as FlowLog['logDestinationType'],
          logFormat,
          maxAggregationInterval: interval,
          creationTime: now,
          tags,
        }
        if (dest !== undefined) fl.logDestination = dest
        if (input.logGroupName !== undefined) fl.logGroupName = input.logGroupName
        if (destType === 'cloud-watch-logs' && dest === undefined) {
          fl.logDestination = `arn:aws:logs:${this.l.region}:${this.l.accountId}:log-group:${input.logGroupName!}`
        }
        if (destType === 'cloud-watch-logs' && input.logGroupName === undefined && dest !== undefined) {
          fl.logGroupName = dest.split(':log-group:')[1]!.replace(/:\*$/, '')
        }
        if (input.deliverLogsPermissionArn !== undefined)
          fl.deliverLogsPermissionArn = input.deliverLogsPermissionArn
        if (input.deliverCrossAccountRole !== undefined)
          fl.deliverCrossAccountRole = input.deliverCrossAccountRole
        if (destinationOptions !== undefined) fl.destinationOptions = destinationOptions
        if (tfs !== undefined) fl.tagFieldSpecifications = tfs
        put.push(fl)
        result.flowLogIds.push(fl.id)
      }
      this.l.remember(result)
      this.l.commit(put)
      return result
    })
  }

  /**
   * Why a flow log cannot be created for this resource (an `unsuccessful` item), if it cannot.
   * The message follows the fixture quoted in spec-flow-logs §5.1 ("Unknown resource …"); the codes
   * are spelled as everywhere else in the API (`InvalidVpcID.NotFound`, …), not as that fixture.
   */
  private resourceError(type: string, id: string): { code: AwsErrorCode; message: string } | undefined {
    const check: Record<string, [string, ResourceKind | undefined, AwsErrorCode]> = {
      VPC: ['vpc', 'vpc', 'InvalidVpcID.NotFound'],
      Subnet: ['subnet', 'subnet', 'InvalidSubnetID.NotFound'],
      NetworkInterface: ['eni', 'network-interface', 'InvalidNetworkInterfaceID.NotFound'],
      TransitGateway: ['tgw', undefined, 'InvalidTransitGatewayId.NotFound'],
      TransitGatewayAttachment: ['tgw-attach', undefined, 'InvalidTransitGatewayAttachmentId.NotFound'],
      RegionalNatGateway: ['nat', undefined, 'InvalidNatGatewayId.NotFound'],
    }
    const [prefix, kind, code] = check[type]!
    if (kind === undefined || !isIdOf(prefix, id) || this.l.state.get(kind, id) === undefined) {
      return { code, message: `Unknown resource ${id}` }
    }
    return undefined
  }

  /** DeleteFlowLogs: unknown ids come back as unsuccessful items; the others are deleted. */
  deleteFlowLogs(ids: string[]): UnsuccessfulItem[] {
    if (ids.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter FlowLogId')
    if (ids.length > 1000) throw invalidValue('The number of FlowLogIds cannot exceed 1000.')
    checkIds('FlowLogId', ids)
    const del: FlowLog[] = []
    const unsuccessful: UnsuccessfulItem[] = []
    for (const id of new Set(ids)) {
      const f = isIdOf('fl', id) ? this.l.state.get('flow-log', id) : undefined
      if (f === undefined) {
        unsuccessful.push({
          resourceId: id,
          code: 'InvalidFlowLogId.NotFound',
          message: `These flow log ids in the input list are not found: [TotalCount: 1] ${id}`,
        })
      } else del.push(f)
    }
    if (del.length > 0) this.l.commit([], del)
    return unsuccessful
  }

  /** The flow logs covering an interface: its own, its subnet's and its VPC's. */
  flowLogsFor(eni: NetworkInterface): FlowLog[] {
    const out: FlowLog[] = []
    for (const rid of [eni.id, eni.subnetId, eni.vpcId]) {
      for (const id of this.x.flowLogsByResource.get(rid)) out.push(this.l.state.get('flow-log', id)!)
    }
    return out.sort((a, b) => a.seq - b.seq)
  }
}

/** What DescribeFlowLogs reports of a flow log's delivery. */
export interface DeliveryStatus {
  status: 'SUCCESS' | 'FAILED'
  errorMessage?: string
}

/**
 * The delivery status of a flow log. Agents deliver S3 destinations; nothing delivers to CloudWatch
 * Logs or Firehose yet, so those report FAILED with the reason rather than a success that did not
 * happen.
 */
export function deliveryOf(f: FlowLog, logGroup?: (name: string) => DeliveryStatus): DeliveryStatus {
  switch (f.logDestinationType) {
    case 's3':
      return { status: 'SUCCESS' }
    case 'cloud-watch-logs':
      // The CloudWatch Logs service knows its log groups (the API layer passes its view).
      if (logGroup !== undefined && f.logGroupName !== undefined) return logGroup(f.logGroupName)
      return {
        status: 'FAILED',
        errorMessage: 'Unknown error: this server has no CloudWatch Logs delivery; no records are delivered.',
      }
    case 'kinesis-data-firehose':
      return {
        status: 'FAILED',
        errorMessage: 'Unknown error: this server has no Firehose delivery; no records are delivered.',
      }
  }
}
