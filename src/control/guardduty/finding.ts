// SPDX-License-Identifier: Apache-2.0
/**
 * A GuardDuty finding, with the member names of GuardDuty's API model (`Type`, `Severity`,
 * `Service.Action.NetworkConnectionAction`, …): the form `aws guardduty get-findings` prints. On the
 * wire (REST-JSON bodies, EventBridge events) every member name starts with a lower-case letter:
 * {@link findingWire} converts.
 * @module
 */

export interface IpDetails {
  IpAddressV4?: string
  IpAddressV6?: string
}
export interface RemoteIpDetails extends IpDetails {
  Organization?: { Asn?: string; AsnOrg?: string; Isp?: string; Org?: string }
}
export interface PortDetails {
  Port: number
  PortName: string
}

export interface NetworkConnectionAction {
  Blocked: boolean
  ConnectionDirection: 'INBOUND' | 'OUTBOUND' | 'UNKNOWN'
  Protocol: string
  LocalIpDetails: IpDetails
  LocalPortDetails?: PortDetails
  RemoteIpDetails: RemoteIpDetails
  RemotePortDetails?: PortDetails
}

export interface PortProbeDetail {
  LocalPortDetails: PortDetails
  LocalIpDetails: IpDetails
  RemoteIpDetails: RemoteIpDetails
}

export interface FindingAction {
  ActionType: 'NETWORK_CONNECTION' | 'PORT_PROBE'
  NetworkConnectionAction?: NetworkConnectionAction
  PortProbeAction?: { Blocked: boolean; PortProbeDetails: PortProbeDetail[] }
}

export interface FindingNetworkInterface {
  NetworkInterfaceId?: string
  PrivateIpAddress: string
  PrivateIpAddresses: { PrivateIpAddress: string }[]
  SubnetId?: string
  VpcId?: string
}

export interface Finding {
  AccountId: string
  Arn: string
  CreatedAt: string
  Description: string
  Id: string
  Partition: string
  Region: string
  Resource: {
    ResourceType: 'Instance'
    InstanceDetails: {
      InstanceId?: string
      NetworkInterfaces: FindingNetworkInterface[]
    }
  }
  SchemaVersion: '2.0'
  Service: {
    Action: FindingAction
    Archived: boolean
    Count: number
    DetectorId: string
    EventFirstSeen: string
    EventLastSeen: string
    ResourceRole: 'ACTOR' | 'TARGET'
    ServiceName: 'guardduty'
    AdditionalInfo?: { Type: 'default'; Value: string }
  }
  Severity: number
  Title: string
  Type: string
  UpdatedAt: string
}

/** The value with every object key's first letter lower-cased: a finding as it travels on the wire. */
export function findingWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(findingWire)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k.charAt(0).toLowerCase() + k.slice(1)] = findingWire(v)
    return out
  }
  return value
}
