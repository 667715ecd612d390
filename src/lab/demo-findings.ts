// SPDX-License-Identifier: Apache-2.0
/** The demo's findings, as its summary lists them. @module */
import type { GuardDuty } from '../control/index.ts'

export interface DemoFinding {
  type: string
  severity: number
  role: string
  /** The instance's address (and port, for connection findings). */
  local: string
  /** The other host's address (and port). */
  remote: string
  count: number
}

/** The detector's findings, highest severity first. */
export function demoFindings(gd: GuardDuty, detectorId: string): DemoFinding[] {
  return gd.queryFindings(detectorId, undefined, { attributeName: 'severity', orderBy: 'DESC' }).map((f) => {
    const n = f.Service.Action.NetworkConnectionAction
    const p = f.Service.Action.PortProbeAction?.PortProbeDetails[0]
    const ip = (d: { IpAddressV4?: string; IpAddressV6?: string } | undefined): string =>
      d?.IpAddressV4 ?? d?.IpAddressV6 ?? '-'
    return {
      type: f.Type,
      severity: f.Severity,
      role: f.Service.ResourceRole,
      local:
        n !== undefined
          ? `${ip(n.LocalIpDetails)}:${n.LocalPortDetails?.Port ?? '-'}`
          : ip(p?.LocalIpDetails),
      remote:
        n !== undefined
          ? `${ip(n.RemoteIpDetails)}:${n.RemotePortDetails?.Port ?? '-'}`
          : ip(p?.RemoteIpDetails),
      count: f.Service.Count,
    }
  })
}
