// SPDX-License-Identifier: Apache-2.0
/**
 * The mirrorflow agent: one per host (or network namespace). It registers the host's interfaces
 * with the server, long-polls its desired state, and reconciles mirroring (mirror/'s datapaths)
 * and flow logs (header capture → flowlogs/ aggregation → spool → S3-layout delivery).
 *
 * ```ts
 * const agent = new Agent(defaultAgentConfig('http://127.0.0.1:4566', creds, '/var/lib/mirrorflow/agent'))
 * await agent.start()
 * // … sessions and flow logs created through the EC2 API take effect here
 * await agent.stop()
 * ```
 *
 * It does not evaluate security groups (every captured packet is ACCEPT) and delivers only S3
 * destinations (to local directories or an S3-compatible endpoint).
 * @module
 */
export {
  Agent,
  defaultAgentConfig,
  defaultHostname,
  type AgentConfig,
  type AgentDeps,
  type AgentStatus,
} from './agent.ts'
export {
  agentCaptureOptions,
  CAPTURE_SNAPLEN,
  CaptureSet,
  mirrorExclusion,
  mirrorPaths,
  VXLAN_FILTER,
  type CaptureStatusRow,
  type MirrorPath,
} from './capture-set.ts'
export {
  HttpServerClient,
  type AgentCredentials,
  type Registration,
  type ServerClient,
  type VersionedDesiredState,
} from './client.ts'
export {
  localInterfaceOf,
  LogGroups,
  POLICY_LOG_GROUP_BASE,
  toMirrorState,
  toPolicyState,
} from './desired.ts'
export { AgentDestinationError, AgentPrivilegeError, AgentServerError, AgentStateError } from './errors.ts'
export { planCaptures, planFlowLogs, type PlannedCapture, type PlannedFlowLog } from './flowlog-plan.ts'
export { Health, isPrivilegeError } from './health.ts'
export { DesiredStatePoller, type PollerHooks } from './poller.ts'
export { readAgentState, Registrar, writeAgentState } from './registration.ts'
export { FlowLogRunner, verdictActions } from './flowlog-runner.ts'
export { inventoryKey, parseIpAddr, readInventory, readLinkNames, type HostInterface } from './inventory.ts'
export { createAgentMetrics, type MirrorCounterRow } from './metrics.ts'
export { MirrorAccounting } from './mirror-accounting.ts'
export { LogsHttpSink } from './logs-sink.ts'
