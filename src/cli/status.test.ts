// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 21: `mirrorflow status` — the server's MirrorflowReportAgentStatus/MirrorflowDescribeStatus
// (an in-process server), the text form (an agent not heard from shows as STOPPED, with since when),
// and a target process's own status from a file and from its /status address.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { callAction, RemoteApiError, startServer, type RunningServer } from '../api/index.ts'
import { formatStatus, readTargetStatus, type ServerStatus, type StatusReport } from './status.ts'

describe('status from the server', () => {
  let srv: RunningServer
  let dir: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-status-'))
    srv = await startServer({ dataDir: dir, port: 0, agentTimeoutSeconds: 0.3 })
  })
  after(async () => {
    await srv.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const creds = (): { accessKeyId: string; secretAccessKey: string; region: string } => ({
    ...srv.credentials,
    region: 'us-east-1',
  })
  const call = (action: string, params: Record<string, string> = {}): Promise<unknown> =>
    callAction(srv.url, creds(), action, params)

  test('agents with their interfaces, sessions, report and state; targets with their sessions', async () => {
    const vpc = (await call('CreateVpc', { CidrBlock: '10.9.0.0/16' })) as string
    const vpcId = /<vpcId>([^<]+)</.exec(vpc)![1]!
    await call('CreateSubnet', { VpcId: vpcId, CidrBlock: '10.9.1.0/24' })
    const reg = (await call('MirrorflowRegisterInstance', {
      Hostname: 'web',
      'NetworkInterface.1.PrivateIpAddress': '10.9.1.10',
      'NetworkInterface.1.MacAddress': '02:00:0a:09:01:0a',
      'NetworkInterface.1.DeviceName': 'eth0',
    })) as { Instance: { InstanceId: string }; NetworkInterfaces: Array<{ NetworkInterfaceId: string }> }
    const web = reg.Instance.InstanceId
    const webEni = reg.NetworkInterfaces[0]!.NetworkInterfaceId
    const mon = (await call('MirrorflowRegisterInstance', {
      Hostname: 'monitor',
      'NetworkInterface.1.PrivateIpAddress': '10.9.1.100',
      'NetworkInterface.1.MacAddress': '02:00:0a:09:01:64',
      'NetworkInterface.1.DeviceName': 'eth0',
    })) as { NetworkInterfaces: Array<{ NetworkInterfaceId: string }> }
    const tmt = (await call('CreateTrafficMirrorTarget', {
      NetworkInterfaceId: mon.NetworkInterfaces[0]!.NetworkInterfaceId,
      Description: 'appliance',
    })) as string
    const targetId = /<trafficMirrorTargetId>([^<]+)</.exec(tmt)![1]!
    const tmf = (await call('CreateTrafficMirrorFilter')) as string
    const filterId = /<trafficMirrorFilterId>([^<]+)</.exec(tmf)![1]!
    const tms = (await call('CreateTrafficMirrorSession', {
      NetworkInterfaceId: webEni,
      TrafficMirrorTargetId: targetId,
      TrafficMirrorFilterId: filterId,
      SessionNumber: '1',
      VirtualNetworkId: '77',
    })) as string
    const sessionId = /<trafficMirrorSessionId>([^<]+)</.exec(tms)![1]!
    const longError = 'x'.repeat(5000)
    await call('MirrorflowReportAgentStatus', {
      InstanceId: web,
      AppliedVersion: '5',
      Datapath: 'nftables',
      MirrorSessions: '1',
      FlowLogs: '0',
      ReconcilesOk: '3',
      ReconcilesFailed: '1',
      LastError: longError,
    })
    const st = (await call('MirrorflowDescribeStatus')) as ServerStatus
    assert.equal(st.Server.Region, 'us-east-1')
    assert.equal(st.Server.AgentTimeoutSeconds, 0.3)
    const a = st.Agents.find((x) => x.InstanceId === web)!
    assert.equal(a.Hostname, 'web')
    assert.equal(a.State, 'running')
    assert.notEqual(a.LastSeen, null)
    assert.deepEqual(a.NetworkInterfaces, [
      { NetworkInterfaceId: webEni, DeviceName: 'eth0', PrivateIpAddress: '10.9.1.10' },
    ])
    assert.deepEqual(a.MirrorSessions, [sessionId])
    assert.equal(a.Report!.AppliedVersion, 5)
    assert.equal(a.Report!.Datapath, 'nftables')
    assert.equal(a.Report!.ReconcilesFailed, 1)
    // Bounded: 1,024 characters, the last an ellipsis.
    assert.equal([...a.Report!.LastError!].length, 1024)
    assert.ok(a.Report!.LastError!.endsWith('…'))
    assert.equal(st.Agents.find((x) => x.Hostname === 'monitor')!.Report, null)
    assert.deepEqual(st.Targets, [
      {
        TrafficMirrorTargetId: targetId,
        Type: 'network-interface',
        NetworkInterfaceId: mon.NetworkInterfaces[0]!.NetworkInterfaceId,
        NetworkLoadBalancerArn: null,
        GatewayLoadBalancerEndpointId: null,
        Description: 'appliance',
        Sessions: [
          {
            TrafficMirrorSessionId: sessionId,
            SourceNetworkInterfaceId: webEni,
            VirtualNetworkId: 77,
            SessionNumber: 1,
          },
        ],
      },
    ])

    // Not heard from within the timeout: stopped, in the answer and in the text.
    await new Promise((r) => setTimeout(r, 450))
    const later = (await call('MirrorflowDescribeStatus')) as ServerStatus
    const stale = later.Agents.find((x) => x.InstanceId === web)!
    assert.equal(stale.State, 'stopped')
    assert.match(stale.StateReason, /^Agent not seen since \d{4}-.*Z, more than 0.3 s$/)
    const report: StatusReport = {
      endpoint: srv.url,
      server: later.Server,
      agents: later.Agents,
      targets: later.Targets,
      targetProcesses: [],
    }
    const text = formatStatus(report)
    assert.match(
      text,
      new RegExp(`^  ${web} web: STOPPED — Agent not seen since .*; last seen \\d+ s ago`, 'm'),
    )
    assert.match(text, /^ {4}interfaces: eth0 eni-[0-9a-f]{17} 10\.9\.1\.10$/m)
    assert.match(text, new RegExp(`^ {4}mirror sessions from here: ${sessionId}$`, 'm'))
    assert.match(
      text,
      /^ {4}applied: state version 5 of \d+, 1 mirror session\(s\) \(nftables\), 0 flow log\(s\); reconciles 3 ok, 1 failed/m,
    )
    assert.match(text, /^ {4}errors: x{1023}…$/m)
    assert.match(text, /^ {4}report: none yet$/m)
    assert.match(text, new RegExp(`^ {4}${sessionId}: source ${webEni}, VNI 77, session number 1$`, 'm'))

    // A report brings it back.
    await call('MirrorflowReportAgentStatus', { InstanceId: web })
    const back = (await call('MirrorflowDescribeStatus')) as ServerStatus
    assert.equal(back.Agents.find((x) => x.InstanceId === web)!.State, 'running')
    assert.equal(back.Agents.find((x) => x.InstanceId === web)!.Report!.LastError, null)
  })

  test('a report for an unknown instance, or from a key that is not that agent’s, is refused', async () => {
    await assert.rejects(
      call('MirrorflowReportAgentStatus', { InstanceId: 'i-0123456789abcdef0' }),
      (e: unknown) => e instanceof RemoteApiError && e.awsCode === 'InvalidInstanceID.NotFound',
    )
    const reg = (await call('MirrorflowRegisterInstance', { Hostname: 'other' })) as {
      Instance: { InstanceId: string }
    }
    const key = (await call('MirrorflowCreateAccessKey', { Description: 'a user' })) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string }
    }
    const user = {
      accessKeyId: key.AccessKey.AccessKeyId,
      secretAccessKey: key.AccessKey.SecretAccessKey,
      region: 'us-east-1',
    }
    await assert.rejects(
      callAction(srv.url, user, 'MirrorflowReportAgentStatus', { InstanceId: reg.Instance.InstanceId }),
      (e: unknown) => e instanceof RemoteApiError && e.awsCode === 'UnauthorizedOperation',
    )
    await assert.rejects(
      call('MirrorflowReportAgentStatus', {
        InstanceId: reg.Instance.InstanceId,
        LastError: 'e',
        FlowLogs: '-1',
      }),
      (e: unknown) => e instanceof RemoteApiError && e.awsCode === 'InvalidParameterValue',
    )
  })
})

describe('a target process, from its status.json or its /status address', () => {
  const doc = {
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:10.000Z',
    listen: '0.0.0.0:4789',
    state: 'running',
    packets: 1000,
    bytes: 150000,
    drops: { socket: 0, capture: 7 },
    sessions: [{ vni: 77, source: '10.9.1.10', packets: 1000, bytes: 150000 }],
  }
  let http: Server
  let dir: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-status-target-'))
    writeFileSync(join(dir, 'status.json'), JSON.stringify(doc))
    http = createServer((req, res) => {
      if (req.url === '/status') res.end(JSON.stringify(doc))
      else res.writeHead(404).end()
    })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  })
  after(() => {
    http.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('sessions, average rates and drops, the same both ways; an unreachable one is said so', async () => {
    const port = (http.address() as { port: number }).port
    const fromFile = await readTargetStatus(join(dir, 'status.json'), 2000)
    const fromHttp = await readTargetStatus(`127.0.0.1:${port}`, 2000)
    for (const t of [fromFile, fromHttp]) {
      assert.equal(t.error, null)
      assert.equal(t.packetsPerSecond, 100)
      assert.equal(t.bytesPerSecond, 15000)
      assert.deepEqual(t.drops, { socket: 0, capture: 7 })
      assert.deepEqual(t.sessions, [{ vni: 77, source: '10.9.1.10', packets: 1000, bytes: 150000 }])
    }
    const gone = await readTargetStatus(join(dir, 'missing.json'), 2000)
    assert.match(gone.error!, /ENOENT/)
    const text = formatStatus({
      endpoint: 'http://x',
      server: {
        Version: '0',
        Region: 'r',
        AccountId: 'a',
        StateVersion: 1,
        AgentTimeoutSeconds: 60,
        Time: doc.updatedAt,
      },
      agents: [],
      targets: [],
      targetProcesses: [fromHttp, gone],
    })
    assert.match(
      text,
      /^ {2}127\.0\.0\.1:\d+: running on 0\.0\.0\.0:4789; 1000 packets, 150000 bytes \(100 pkt\/s, 15000 B\/s on average\); drops capture 7$/m,
    )
    assert.match(text, /^ {4}VNI 77 from 10\.9\.1\.10: 1000 packets, 150000 bytes$/m)
    assert.match(text, /missing\.json: UNREACHABLE — ENOENT/)
  })
})
