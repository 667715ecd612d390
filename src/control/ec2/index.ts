// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 service: model, error catalogue, families, desired state.
 * @module
 */
export * from './desired-state.ts'
export * from './errors.ts'
export { DEFAULT_LOG_FORMAT, validateLogFormat } from './flow-logs/log-format.ts'
export {
  deliveryOf,
  type CreateFlowLogsInput,
  type CreateFlowLogsResult,
  type DeliveryStatus,
  type UnsuccessfulItem,
} from './flow-logs/flow-logs.ts'
export { checkDescription, DEFAULT_QUOTAS, DESCRIPTION_MAX, type Quotas } from './limits.ts'
export type * from './model.ts'
export type { RuleFields } from './mirroring/filters.ts'
export type { CreateSessionInput, ModifySessionInput } from './mirroring/sessions.ts'
export type { CreateTargetInput } from './mirroring/targets.ts'
export type {
  RegisterInstanceInput,
  RegisterInstanceResult,
  RegisterInterfaceInput,
} from './network/instances.ts'
export type { CreateSubnetInput } from './network/vpcs.ts'
export { AgentPresence, DEFAULT_AGENT_TIMEOUT_MS, type InstanceState } from './network/presence.ts'
export { Ec2 } from './service.ts'
export { validateTags } from './tags.ts'
export type * from './security/desired.ts'
export type { IpPermissionInput, PeerInput, RuleRequestInput } from './security/groups.ts'
export { defaultGroupIdOf } from './security/groups.ts'
export type { CreatePrefixListInput, ModifyPrefixListInput } from './security/prefix-lists.ts'
export { PREFIX_LIST_ENTRIES_PER_REQUEST, PREFIX_LIST_MAX_ENTRIES } from './security/prefix-lists.ts'
export type { CreateInterfaceInput, InterfaceAttributeChange } from './security/interfaces.ts'
export {
  STAR_RULE_NUMBER,
  starEntries,
  type AssociationView,
  type NetworkAclEntryInput,
} from './security/nacls.ts'
export { BIND_TAG } from './network/instances.ts'
