// SPDX-License-Identifier: Apache-2.0
/**
 * The flow-log plan: from the desired state and the host's inventory, which flow logs run here, over
 * which interfaces (with the engine's per-interface facts), and which Linux interfaces each one
 * captures. Pure: no I/O, so the reconciliation's decisions are testable on their own.
 * @module
 */
import type { FlowLogInterface } from '../flowlogs/index.ts'
import type { MirrorState } from '../mirror/index.ts'
import { localInterfaceOf, type DesiredFlowLog, type DesiredState } from './desired.ts'
import type { HostInterface } from './inventory.ts'

/** One flow log as it runs on this host. */
export interface PlannedFlowLog {
  flowLog: DesiredFlowLog
  /** The covered interfaces, in the order the flow log's aggregator indexes them. */
  interfaces: FlowLogInterface[]
  /** The Linux name of each covered interface (same order). */
  ifnames: string[]
  /** Equal keys: the same flow log over the same interfaces (its runner can be kept). */
  key: string
}

/** Flow-log id → its plan, for every flow log that covers an interface of this host. */
export function planFlowLogs(
  s: DesiredState,
  inventory: readonly HostInterface[],
): Map<string, PlannedFlowLog> {
  const plan = new Map<string, PlannedFlowLog>()
  for (const eni of s.interfaces) {
    const local = localInterfaceOf(eni, inventory)
    if (local === undefined) continue
    for (const fl of eni.flowLogs) {
      let p = plan.get(fl.flowLogId)
      if (p === undefined) {
        p = { flowLog: fl, interfaces: [], ifnames: [], key: '' }
        plan.set(fl.flowLogId, p)
      }
      p.interfaces.push({
        interfaceId: eni.networkInterfaceId,
        accountId: s.accountId,
        region: s.region,
        vpcId: eni.vpcId,
        subnetId: eni.subnetId,
        instanceId: s.instanceId,
        addresses: [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses, ...eni.ipv6Addresses],
      })
      p.ifnames.push(local.name)
    }
  }
  for (const p of plan.values()) p.key = JSON.stringify([p.flowLog, p.interfaces])
  return plan
}

/** What one captured Linux interface feeds: its interface id and the (flow log, interface) pairs. */
export interface PlannedCapture {
  interfaceId: string
  flowLogs: Array<{ flowLogId: string; interfaceId: string }>
}

/**
 * The interfaces to capture: every interface a planned flow log covers, and every mirror source (its
 * frames feed the mirror accounting). Linux name → what it feeds.
 */
export function planCaptures(
  plan: ReadonlyMap<string, PlannedFlowLog>,
  mirror: MirrorState,
): Map<string, PlannedCapture> {
  const out = new Map<string, PlannedCapture>()
  for (const [flowLogId, p] of plan) {
    p.ifnames.forEach((ifname, k) => {
      const interfaceId = p.interfaces[k]!.interfaceId
      let c = out.get(ifname)
      if (c === undefined) {
        c = { interfaceId, flowLogs: [] }
        out.set(ifname, c)
      }
      c.flowLogs.push({ flowLogId, interfaceId })
    })
  }
  for (const src of mirror.sources) {
    if (src.ifname !== undefined && !out.has(src.ifname))
      out.set(src.ifname, { interfaceId: src.networkInterfaceId, flowLogs: [] })
  }
  return out
}
