// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's side of the server protocol (docs/api.md): SigV4-signed requests to the EC2 Query
 * endpoint for registration (`Action=MirrorflowRegisterInstance`) and the long-poll desired-state
 * endpoint (`GET /mirrorflow/v1/desired-state?instanceId=…&version=…&wait=…`), with the same
 * credentials the AWS CLI would use.
 * @module
 */
import { API_VERSION, signRequest } from '../api/index.ts'
import type { DesiredState } from './desired.ts'
import { AgentServerError } from './errors.ts'
import type { HostInterface } from './inventory.ts'

export interface AgentCredentials {
  accessKeyId: string
  secretAccessKey: string
  region: string
}

/** What registration returns. */
export interface Registration {
  instanceId: string
  /** Registered interfaces: id, Linux name, MAC. */
  interfaces: Array<{
    networkInterfaceId: string
    deviceName: string
    macAddress: string
    privateIpAddress: string
  }>
  unmatched: Array<{ deviceName: string; privateIpAddress: string; reason: string }>
}

export type VersionedDesiredState = DesiredState & { version: number }

/** The operations the agent needs from the server (an interface, so tests can drive the agent). */
export interface ServerClient {
  register(
    hostname: string,
    instanceId: string | undefined,
    ifs: readonly HostInterface[],
  ): Promise<Registration>
  /** Removes an interface that no longer exists on the host (its sessions and flow logs go with it). */
  deregisterInterface(networkInterfaceId: string): Promise<void>
  desiredState(
    instanceId: string,
    version: number | undefined,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<VersionedDesiredState>
  /** Reports the agent's condition for `mirrorflow status` (optional: test doubles may leave it out). */
  reportStatus?(report: AgentStatusReport): Promise<void>
}

export class HttpServerClient implements ServerClient {
  readonly endpoint: URL
  private readonly creds: AgentCredentials

  constructor(endpoint: string, creds: AgentCredentials) {
    this.endpoint = new URL(endpoint)
    this.creds = creds
  }

  private async send(method: 'GET' | 'POST', url: URL, body: string, signal?: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> =
      method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } : {}
    const signed = signRequest({
      method,
      url,
      headers,
      body,
      accessKeyId: this.creds.accessKeyId,
      secretAccessKey: this.creds.secretAccessKey,
      region: this.creds.region,
      service: 'ec2',
    })
    delete signed.host
    let res: Response
    try {
      res = await fetch(url, {
        method,
        headers: signed,
        ...(method === 'POST' ? { body } : {}),
        ...(signal ? { signal } : {}),
      })
    } catch (err) {
      throw new AgentServerError(`cannot reach ${url.origin}: ${(err as Error).message}`, 0, { cause: err })
    }
    const text = await res.text()
    if (!res.ok) {
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(res.status)
      const msg = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200)
      throw new AgentServerError(`${code}: ${msg}`, res.status)
    }
    return JSON.parse(text) as unknown
  }

  async register(
    hostname: string,
    instanceId: string | undefined,
    ifs: readonly HostInterface[],
  ): Promise<Registration> {
    const p = new URLSearchParams({
      Action: 'MirrorflowRegisterInstance',
      Version: API_VERSION,
      Hostname: hostname,
    })
    if (instanceId !== undefined) p.set('InstanceId', instanceId)
    let n = 0
    for (const i of ifs) {
      const primary = i.ipv4[0] ?? i.ipv6[0]
      if (primary === undefined) continue
      n++
      p.set(`NetworkInterface.${n}.PrivateIpAddress`, primary)
      p.set(`NetworkInterface.${n}.MacAddress`, i.mac)
      p.set(`NetworkInterface.${n}.DeviceName`, i.name)
      i.ipv4.slice(1).forEach((a, k) => p.set(`NetworkInterface.${n}.SecondaryPrivateIpAddress.${k + 1}`, a))
      i.ipv6.forEach((a, k) => p.set(`NetworkInterface.${n}.Ipv6Address.${k + 1}`, a))
    }
    const r = (await this.send('POST', this.endpoint, p.toString().replace(/\+/g, '%20'))) as {
      Instance: { InstanceId: string }
      NetworkInterfaces: Array<{
        NetworkInterfaceId: string
        DeviceName?: string
        MacAddress: string
        PrivateIpAddress: string
      }>
      UnmatchedInterfaces?: Array<{ DeviceName: string; PrivateIpAddress: string; Reason: string }>
    }
    return {
      instanceId: r.Instance.InstanceId,
      interfaces: r.NetworkInterfaces.map((e) => ({
        networkInterfaceId: e.NetworkInterfaceId,
        deviceName: e.DeviceName ?? '',
        macAddress: e.MacAddress,
        privateIpAddress: e.PrivateIpAddress,
      })),
      unmatched: (r.UnmatchedInterfaces ?? []).map((u) => ({
        deviceName: u.DeviceName,
        privateIpAddress: u.PrivateIpAddress,
        reason: u.Reason,
      })),
    }
  }

  async deregisterInterface(networkInterfaceId: string): Promise<void> {
    const p = new URLSearchParams({
      Action: 'MirrorflowDeregisterNetworkInterface',
      Version: API_VERSION,
      NetworkInterfaceId: networkInterfaceId,
    })
    await this.send('POST', this.endpoint, p.toString())
  }

  /** Tells the server how this instance is doing (`mirrorflow status` shows it). */
  async reportStatus(report: AgentStatusReport): Promise<void> {
    const p = new URLSearchParams({
      Action: 'MirrorflowReportAgentStatus',
      Version: API_VERSION,
      InstanceId: report.instanceId,
      AppliedVersion: String(report.appliedVersion),
      Datapath: report.datapath,
      MirrorSessions: String(report.mirrorSessions),
      FlowLogs: String(report.flowLogs),
      ReconcilesOk: String(report.reconcilesOk),
      ReconcilesFailed: String(report.reconcilesFailed),
    })
    if (report.lastError !== null) p.set('LastError', report.lastError.slice(0, 1024))
    await this.send('POST', this.endpoint, p.toString().replace(/\+/g, '%20'))
  }

  async desiredState(
    instanceId: string,
    version: number | undefined,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<VersionedDesiredState> {
    const url = new URL('/mirrorflow/v1/desired-state', this.endpoint)
    url.searchParams.set('instanceId', instanceId)
    if (version !== undefined) url.searchParams.set('version', String(version))
    url.searchParams.set('wait', String(waitSeconds))
    return (await this.send('GET', url, '', signal)) as VersionedDesiredState
  }
}

/** What an agent reports to the server (`MirrorflowReportAgentStatus`). */
export interface AgentStatusReport {
  instanceId: string
  appliedVersion: number
  datapath: string
  mirrorSessions: number
  flowLogs: number
  reconcilesOk: number
  reconcilesFailed: number
  lastError: string | null
}
