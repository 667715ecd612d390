// SPDX-License-Identifier: Apache-2.0
/**
 * GuardDuty: detectors, findings (in GuardDuty's shape), ThreatIntelSets and IPSets.
 * @module
 */
export { GUARDDUTY_ERRORS } from './errors.ts'
export { findingWire } from './finding.ts'
export type * from './finding.ts'
export { IpList, LIST_FILE_MAX_BYTES, LIST_MAX_ENTRIES, readListLocation, type ListRoots } from './lists.ts'
export {
  FINDINGS_MAX,
  findingId,
  GuardDuty,
  IP_SETS_MAX,
  LIST_FORMATS,
  PUBLISHING_FREQUENCIES,
  THREAT_INTEL_SETS_MAX,
  type Condition,
  type Detector,
  type FindingsListener,
  type GuardDutyConfig,
  type ListSet,
} from './service.ts'
