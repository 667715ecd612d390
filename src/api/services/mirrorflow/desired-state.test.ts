// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { callAction } from '../../client.ts'
import { startServer, type RunningServer } from '../../index.ts'
import { signRequest } from '../../auth/sigv4.ts'

describe('desired state over HTTP (long polling)', () => {
  let srv: RunningServer
  let dir: string
  let creds: { accessKeyId: string; secretAccessKey: string; region: string }
  const call = (action: string, params: Record<string, string>): Promise<unknown> =>
    callAction(srv.url, creds, action, params)

  async function getState(
    query: string,
  ): Promise<{ status: number; json: { version: number; interfaces: { sessions: unknown[] }[] } }> {
    const url = new URL(`${srv.url}/mirrorflow/v1/desired-state?${query}`)
    const headers = signRequest({ method: 'GET', url, headers: {}, body: '', ...creds, service: 'ec2' })
    delete headers.host
    const res = await fetch(url, { headers })
    const text = await res.text()
    return { status: res.status, json: (res.ok ? JSON.parse(text) : { error: text }) as never }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-api-ds-'))
    srv = await startServer({ dataDir: dir, port: 0 })
    creds = { ...srv.credentials, region: 'us-east-1' }
  })
  after(async () => {
    await srv.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('answers a change within a second, ignores other instances, times out with the same state', async () => {
    const vpc = (await call('CreateVpc', { CidrBlock: '10.9.0.0/16' })) as string
    const vpcId = /<vpcId>([^<]+)</.exec(vpc)![1]!
    await call('CreateSubnet', { VpcId: vpcId, CidrBlock: '10.9.1.0/24' })
    const reg = (await call('MirrorflowRegisterInstance', {
      Hostname: 'host-a',
      'NetworkInterface.1.DeviceName': 'eth0',
      'NetworkInterface.1.MacAddress': '02:00:00:00:00:01',
      'NetworkInterface.1.PrivateIpAddress': '10.9.1.10',
      'NetworkInterface.2.DeviceName': 'docker0',
      'NetworkInterface.2.PrivateIpAddress': '172.17.0.1',
    })) as {
      Instance: { InstanceId: string }
      NetworkInterfaces: { NetworkInterfaceId: string }[]
      UnmatchedInterfaces: unknown[]
    }
    assert.equal(reg.NetworkInterfaces.length, 1)
    assert.equal(reg.UnmatchedInterfaces.length, 1)
    const again = (await call('MirrorflowRegisterInstance', {
      Hostname: 'host-a',
      'NetworkInterface.1.DeviceName': 'eth0',
      'NetworkInterface.1.MacAddress': '02:00:00:00:00:01',
      'NetworkInterface.1.PrivateIpAddress': '10.9.1.10',
    })) as typeof reg
    assert.equal(again.Instance.InstanceId, reg.Instance.InstanceId, 're-registering finds the instance')
    assert.equal(again.NetworkInterfaces[0]!.NetworkInterfaceId, reg.NetworkInterfaces[0]!.NetworkInterfaceId)
    const id = reg.Instance.InstanceId
    const first = await getState(`instanceId=${id}`)
    assert.equal(first.status, 200)
    assert.equal(first.json.interfaces.length, 1)

    // A change elsewhere does not wake the poll: it times out with the same version.
    const t0 = Date.now()
    const quiet = getState(`instanceId=${id}&version=${first.json.version}&wait=1`)
    await call('CreateTrafficMirrorFilter', {})
    const q = await quiet
    assert.equal(q.json.version, first.json.version)
    assert.ok(Date.now() - t0 >= 900, 'held until the wait ran out')

    // A change to this instance answers at once.
    const target = (await call('MirrorflowRegisterNetworkInterface', { PrivateIpAddress: '10.9.1.20' })) as {
      NetworkInterface: { NetworkInterfaceId: string }
    }
    const tmt = /<trafficMirrorTargetId>([^<]+)</.exec(
      (await call('CreateTrafficMirrorTarget', {
        NetworkInterfaceId: target.NetworkInterface.NetworkInterfaceId,
      })) as string,
    )![1]!
    const tmf = /<trafficMirrorFilterId>([^<]+)</.exec(
      (await call('CreateTrafficMirrorFilter', {})) as string,
    )![1]!
    // The target's interface joined the VPC's default group, whose rule references the group: this
    // instance's state changed with it, so the poll starts from the current version.
    const before = await getState(`instanceId=${id}`)
    assert.ok(before.json.version > first.json.version)
    const t1 = Date.now()
    const woken = getState(`instanceId=${id}&version=${before.json.version}&wait=30`)
    await new Promise((r) => setTimeout(r, 50))
    await call('CreateTrafficMirrorSession', {
      NetworkInterfaceId: reg.NetworkInterfaces[0]!.NetworkInterfaceId,
      TrafficMirrorTargetId: tmt,
      TrafficMirrorFilterId: tmf,
      SessionNumber: '1',
    })
    const w = await woken
    assert.ok(Date.now() - t1 < 5000, 'answered long before the 30 s wait')
    assert.ok(w.json.version > before.json.version)
    assert.equal(w.json.interfaces[0]!.sessions.length, 1)

    // A non-admin key may register and poll, but not make keys.
    const k = (await call('MirrorflowCreateAccessKey', { Description: 'agent' })) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string }
    }
    const agent = {
      accessKeyId: k.AccessKey.AccessKeyId,
      secretAccessKey: k.AccessKey.SecretAccessKey,
      region: 'us-east-1',
    }
    await callAction(srv.url, agent, 'MirrorflowRegisterInstance', { Hostname: 'host-b' })
    await assert.rejects(
      callAction(srv.url, agent, 'MirrorflowCreateAccessKey', {}),
      (e: { awsCode: string; status: number }) => {
        return e.awsCode === 'UnauthorizedOperation' && e.status === 403
      },
    )

    // A client that hangs up during a long poll is normal: no InternalError.
    const now = await getState(`instanceId=${id}`)
    const url = new URL(
      `${srv.url}/mirrorflow/v1/desired-state?instanceId=${id}&version=${now.json.version}&wait=30`,
    )
    const hdrs = signRequest({ method: 'GET', url, headers: {}, body: '', ...creds, service: 'ec2' })
    delete hdrs.host
    const ac = new AbortController()
    const hung = fetch(url, { headers: hdrs, signal: ac.signal }).catch(() => 'aborted')
    await new Promise((r) => setTimeout(r, 100))
    ac.abort()
    assert.equal(await hung, 'aborted')
    await new Promise((r) => setTimeout(r, 100))
    const metrics = await (await fetch(`${srv.url}/metrics`)).text()
    assert.match(metrics, /action="MirrorflowGetDesiredState",code="ClientClosed"\} 1/)
    assert.doesNotMatch(metrics, /code="InternalError"/)

    const missing = await getState('instanceId=i-0123456789abcdef0')
    assert.equal(missing.status, 400)
    assert.match(JSON.stringify(missing.json), /InvalidInstanceID\.NotFound/)
  })
})
