// SPDX-License-Identifier: Apache-2.0
/**
 * Detections: flow-log records → GuardDuty findings (docs/detect.md).
 *
 * ```ts
 * const { engine } = await detectFlowLogs(['./AWSLogs'])
 * for (const f of engine.findings()) console.log(f.Type, f.Severity, f.Title)
 * ```
 * @module
 */
export { DEFAULT_DETECT_CONFIG, detectConfig, type DetectConfig } from './config.ts'
export {
  DetectionEngine,
  emptyRecord,
  PRIVATE_NETWORKS,
  type DetectionEngineOptions,
  type DetectionStats,
  type DetectRecord,
  type InterfaceInfo,
} from './engine.ts'
export { DetectConfigError, DetectInputError } from './errors.ts'
export {
  detectCaptures,
  detectFlowLogs,
  OFFLINE_DETECTOR_ID,
  type CaptureInterface,
  type OfflineOptions,
} from './offline.ts'
export { batchRecords, flowLogFiles, readFlowLogFile, type ReadStats } from './reader.ts'
export {
  FindingTypes,
  portName,
  protocolName,
  SEVERITY,
  Severity,
  severityLabel,
  type FindingTypeName,
} from './types.ts'
export { LiveDetection, type LiveDetectionOptions, type LiveDetectionStats } from './live.ts'
export {
  findingEvent,
  FindingsDelivery,
  type DeliveryOptions,
  type FindingEvent,
  type WebhookStats,
} from './delivery.ts'
