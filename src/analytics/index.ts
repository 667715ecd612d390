// SPDX-License-Identifier: Apache-2.0
/**
 * Analytics over flow logs: detections (`detect/`: findings in GuardDuty's shape).
 * @module
 */
export * from './detect/index.ts'
