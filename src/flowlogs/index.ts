// SPDX-License-Identifier: Apache-2.0
/**
 * Flow logs: AWS VPC Flow Logs records from packets (shared/docs/spec-flow-logs.md is the contract).
 *
 * The pieces, all driven by one field catalogue (`FIELDS`):
 * - `parseLogFormat(text?)` checks a `${field} …` LogFormat and computes the record version;
 * - `FlowAggregator` turns `FrameBatch`es into records: fixed-capacity flow table, aggregation
 *   intervals of 60/600 s, direction relative to the interface, tcp-flags per AWS, SKIPDATA/NODATA,
 *   optional VXLAN decapsulation keyed by VNI;
 * - records come out as reused columnar `FlowRecordBatch`es, rendered by `renderRecordLine` or handed
 *   to a `FlowLogDestination` (`TextStreamDestination`, `S3DirectoryDestination` for the S3 key layout,
 *   plain text or Parquet).
 *
 * Usage (live or offline; the agent calls `flush(now)` on a timer, a file reader calls `finish()`):
 *
 * ```ts
 * const format = parseLogFormat('${version} ${interface-id} ${srcaddr} ${dstaddr} ${packets} ${bytes}')
 * const dest = new S3DirectoryDestination({ dir, accountId, region, flowLogId, format })
 * const agg = new FlowAggregator({ interfaces: [{ interfaceId, accountId, addresses: ['10.0.0.5'] }],
 *   maxAggregationInterval: 60, onRecords: (b) => dest.write(b) })
 * for await (const batch of readCapture(file)) agg.addBatch(batch, 0)
 * agg.finish(); await dest.close()
 * ```
 *
 * Not done here: capture (capture/), the API resources (control/), deciding ACCEPT/REJECT (the
 * security-group emulation passes per-frame actions to `addBatch`), downloading AWS's ip-ranges.json
 * (`pkt-*-aws-service` needs the file passed in as `AwsServiceRanges`), and `traffic-path`
 * (AWS routing, always `-`).
 * @module
 */
export { DEFAULT_ACCOUNT_ID } from './account.ts'
export { FIELDS, FIELDS_BY_NAME, DEFAULT_FIELDS, columnName } from './fields.ts'
export type { FieldDef, FieldGetter, ParquetType } from './fields.ts'
export { parseLogFormat, DEFAULT_LOG_FORMAT } from './log-format.ts'
export type { LogFormat } from './log-format.ts'
export {
  FlowRecordBatch,
  LogStatus,
  LOG_STATUS_NAMES,
  Action,
  ACTION_NAMES,
  Direction,
  DIRECTION_NAMES,
  TCP_FLAGS_NONE,
  resolveInterface,
} from './record.ts'
export type { FlowLogInterface, ResolvedInterface, FlowRecordObject } from './record.ts'
export { FlowAggregator } from './aggregator.ts'
export type { FlowAggregatorConfig, FlowAggregatorStats, TrafficType } from './aggregator.ts'
export { renderRecordLine, renderRecordLines, recordObject } from './render.ts'
export { LineWriter } from './line-writer.ts'
export { TextStreamDestination, S3DirectoryDestination } from './destination.ts'
export type { FlowLogDestination, TextStreamOptions, S3DirectoryOptions } from './destination.ts'
export {
  DELIVERY_WINDOW_SECONDS,
  deliveryWindowStart,
  s3ObjectPrefix,
  s3ObjectName,
  objectHash,
  validateS3Layout,
} from './s3-layout.ts'
export type { S3LayoutOptions } from './s3-layout.ts'
export { writeParquetFile, duckdbColumns } from './parquet.ts'
export {
  LogFormatError,
  FlowLogsConfigError,
  FlowLogsDestinationError,
  FlowLogsWriteError,
} from './errors.ts'
export {
  LocalBucketStore,
  parseS3Arn,
  S3EndpointStore,
  SpoolDeliverer,
  type DeliveryStats,
  type ObjectStore,
} from './delivery.ts'
export { AwsServiceRanges } from './aws-services.ts'
export { writeFileWithin, writeError } from './confined-path.ts'
export {
  batchEvents,
  LogGroupDeliverer,
  LogGroupAccessError,
  LogGroupMissingError,
  LogGroupSpoolDestination,
  parseEventFile,
  type LogEvent,
  type LogEventsSink,
  type LogGroupDeliveryStats,
} from './log-group.ts'
