// SPDX-License-Identifier: Apache-2.0
/**
 * What `mirrorflow status` shows, on the server's side: two mirrorflow actions.
 *
 * - `MirrorflowReportAgentStatus` — an agent's short report after it applies a desired state (and at
 *   most every few seconds while nothing changes): the desired-state version it applied, how many
 *   mirror sessions and flow logs are in place, its datapath, reconcile counts and its last error.
 *   Accepted only for an instance that exists, from an admin key or the agent key bound to that
 *   instance; it counts as hearing from the agent. Kept in memory, one per instance (a new report
 *   replaces the old; deregistering the instance drops it), every string bounded.
 * - `MirrorflowDescribeStatus` — the server (version, region, account, agent timeout), every
 *   instance as an agent (state and last seen as DescribeInstances has them, interfaces, the mirror
 *   sessions whose source is on it, its latest report) and every traffic mirror target with its
 *   sessions. One answer, bounded by the resource quotas.
 * @module
 */
import { ApiError, type ControlPlane } from '../../../control/index.ts'
import { VERSION } from '../../../version.ts'
import type { QueryContext as ActionContext } from '../../protocols/ec2-query/context.ts'
import { applianceStatus } from './packets.ts'

/** The longest LastError kept (characters); longer ones are cut with an ellipsis. */
export const MAX_REPORTED_ERROR = 1024
/** Largest count a report may carry for any counter. */
const MAX_COUNT = 2 ** 48

/** An agent's latest report. */
export interface AgentReport {
  reportedAt: string
  appliedVersion: number
  datapath: string
  mirrorSessions: number
  flowLogs: number
  reconcilesOk: number
  reconcilesFailed: number
  lastError: string | null
}

/** Reports per control plane (the server has one; tests may have several). */
const REPORTS = new WeakMap<ControlPlane, Map<string, AgentReport>>()

function reportsOf(cp: ControlPlane): Map<string, AgentReport> {
  let m = REPORTS.get(cp)
  if (m === undefined) {
    const map = new Map<string, AgentReport>()
    REPORTS.set(cp, (m = map))
    cp.ledger.onDelete('instance', (r) => {
      map.delete(r.id)
      return []
    })
  }
  return m
}

function count(ctx: ActionContext, name: string): number {
  const v = ctx.p.int(name) ?? 0
  if (v < 0 || v > MAX_COUNT)
    throw new ApiError('InvalidParameterValue', `${name} must be between 0 and ${MAX_COUNT}.`)
  return v
}

const reportAgentStatus = (ctx: ActionContext): unknown => {
  const instanceId = ctx.p.str('InstanceId', true)
  const appliedVersion = count(ctx, 'AppliedVersion')
  const datapath = ctx.p.str('Datapath') ?? ''
  const mirrorSessions = count(ctx, 'MirrorSessions')
  const flowLogs = count(ctx, 'FlowLogs')
  const reconcilesOk = count(ctx, 'ReconcilesOk')
  const reconcilesFailed = count(ctx, 'ReconcilesFailed')
  const lastError = ctx.p.str('LastError')
  ctx.ready()
  if (!/^[a-z]{1,16}$/.test(datapath) && datapath !== '')
    throw new ApiError('InvalidParameterValue', 'Datapath must be 1 to 16 lowercase letters.')
  if (ctx.cp.ledger.state.get('instance', instanceId) === undefined)
    throw new ApiError(
      'InvalidInstanceID.NotFound',
      `The instance ID '${instanceId.slice(0, 64)}' does not exist`,
    )
  const key = ctx.cp.iam.get(ctx.accessKeyId)
  if (key?.admin !== true && key?.instanceId !== instanceId) {
    throw new ApiError(
      'UnauthorizedOperation',
      'You are not authorized to perform this operation: an agent key reports only for its own instance.',
    )
  }
  ctx.cp.ec2.presence.seen(instanceId)
  const cut =
    lastError === undefined || lastError === ''
      ? null
      : [...lastError].length > MAX_REPORTED_ERROR
        ? [...lastError].slice(0, MAX_REPORTED_ERROR - 1).join('') + '…'
        : lastError
  reportsOf(ctx.cp).set(instanceId, {
    reportedAt: new Date().toISOString(),
    appliedVersion,
    datapath,
    mirrorSessions,
    flowLogs,
    reconcilesOk,
    reconcilesFailed,
    lastError: cut,
  })
  return { Return: true }
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())

const describeStatus = (ctx: ActionContext): unknown => {
  ctx.ready()
  const cp = ctx.cp
  const st = cp.ledger.state
  const reports = reportsOf(cp)
  const sessions = [...st.table('traffic-mirror-session').values()]
  const instances = [...st.table('instance').values()].sort((a, b) => a.id.localeCompare(b.id))
  return {
    Server: {
      Version: VERSION,
      Region: cp.ec2.region,
      AccountId: cp.ec2.accountId,
      StateVersion: cp.ledger.version,
      AgentTimeoutSeconds: cp.ec2.presence.timeoutMs / 1000,
      Time: new Date().toISOString(),
    },
    Agents: instances.map((i) => {
      const state = cp.ec2.presence.state(i.id)
      const enis = cp.ec2.instances.interfacesOf(i.id)
      const eniIds = new Set(enis.map((e) => e.id))
      const r = reports.get(i.id)
      return {
        InstanceId: i.id,
        Hostname: i.hostname,
        State: state.name,
        StateReason: state.reason,
        LastSeen: iso(state.lastSeen),
        NetworkInterfaces: enis.map((e) => ({
          NetworkInterfaceId: e.id,
          DeviceName: e.deviceName ?? '',
          PrivateIpAddress: e.privateIpAddress,
        })),
        MirrorSessions: sessions
          .filter((s) => eniIds.has(s.networkInterfaceId))
          .map((s) => s.id)
          .sort(),
        Report:
          r === undefined
            ? null
            : {
                ReportedAt: r.reportedAt,
                AppliedVersion: r.appliedVersion,
                Datapath: r.datapath,
                MirrorSessions: r.mirrorSessions,
                FlowLogs: r.flowLogs,
                ReconcilesOk: r.reconcilesOk,
                ReconcilesFailed: r.reconcilesFailed,
                LastError: r.lastError,
              },
      }
    }),
    Targets: [...st.table('traffic-mirror-target').values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((t) => ({
        TrafficMirrorTargetId: t.id,
        Type: t.type,
        NetworkInterfaceId: t.networkInterfaceId ?? null,
        NetworkLoadBalancerArn: t.networkLoadBalancerArn ?? null,
        GatewayLoadBalancerEndpointId: t.gatewayLoadBalancerEndpointId ?? null,
        Description: t.description ?? '',
        Sessions: sessions
          .filter((s) => s.targetId === t.id)
          .sort((a, b) => a.id.localeCompare(b.id))
          .map((s) => ({
            TrafficMirrorSessionId: s.id,
            SourceNetworkInterfaceId: s.networkInterfaceId,
            VirtualNetworkId: s.virtualNetworkId,
            SessionNumber: s.sessionNumber,
          })),
      })),
    // Mirror targets registered for packets on demand, with their counters (packets.ts).
    TargetAppliances: applianceStatus(cp),
  }
}

/** The two actions, for the server's table of mirrorflow actions. */
export const STATUS_ACTIONS: ReadonlyMap<string, (ctx: ActionContext) => unknown> = new Map([
  ['MirrorflowReportAgentStatus', reportAgentStatus],
  ['MirrorflowDescribeStatus', describeStatus],
])
