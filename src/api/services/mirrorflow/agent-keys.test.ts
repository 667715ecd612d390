// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 7: an agent's access key can change nothing but its own instance's registration
// (until IAM lands): it reads, registers its instance, deregisters that instance's interfaces,
// reads that instance's desired state — and is refused everything else (UnauthorizedOperation).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { signRequest } from '../../auth/sigv4.ts'
import { callAction, RemoteApiError, type ClientCredentials } from '../../client.ts'
import { startServer, type RunningServer } from '../../index.ts'

describe('agent keys change only their own instance', () => {
  let srv: RunningServer
  let dir: string
  let admin: ClientCredentials
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-agent-keys-'))
    srv = await startServer({ dataDir: dir, port: 0 })
    admin = { ...srv.credentials, region: 'us-east-1' }
  })
  after(async () => {
    await srv.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const call = (c: ClientCredentials, action: string, params: Record<string, string> = {}) =>
    callAction(srv.url, c, action, params)
  async function code(p: Promise<unknown>): Promise<string> {
    try {
      await p
      return 'OK'
    } catch (err) {
      if (err instanceof RemoteApiError) return `${err.status} ${err.awsCode}`
      throw err
    }
  }
  async function agentKey(
    params: Record<string, string> = {},
  ): Promise<ClientCredentials & { role: string }> {
    const r = (await call(admin, 'MirrorflowCreateAccessKey', { Agent: 'true', ...params })) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string; Role: string }
    }
    return {
      accessKeyId: r.AccessKey.AccessKeyId,
      secretAccessKey: r.AccessKey.SecretAccessKey,
      region: 'us-east-1',
      role: r.AccessKey.Role,
    }
  }
  const poll = async (c: ClientCredentials, instanceId: string): Promise<number> => {
    const url = new URL(`${srv.url}/mirrorflow/v1/desired-state?instanceId=${instanceId}&wait=0`)
    const headers = signRequest({ method: 'GET', url, headers: {}, body: '', ...c, service: 'ec2' })
    delete headers.host
    return (await fetch(url, { headers })).status
  }

  test('an unbound agent key registers a new instance, is bound to it, and is refused the rest', async () => {
    // The admin's world: a VPC, a subnet, a filter, another host with an interface.
    const vpc = /<vpcId>([^<]+)<\/vpcId>/.exec(
      (await call(admin, 'CreateVpc', { CidrBlock: '10.0.0.0/16' })) as string,
    )![1]!
    const subnet = /<subnetId>([^<]+)<\/subnetId>/.exec(
      (await call(admin, 'CreateSubnet', { VpcId: vpc, CidrBlock: '10.0.1.0/24' })) as string,
    )![1]!
    const filter = /<trafficMirrorFilterId>([^<]+)<\/trafficMirrorFilterId>/.exec(
      (await call(admin, 'CreateTrafficMirrorFilter')) as string,
    )![1]!
    const other = (await call(admin, 'MirrorflowRegisterInstance', {
      Hostname: 'other-host',
      'NetworkInterface.1.PrivateIpAddress': '10.0.1.50',
      'NetworkInterface.1.DeviceName': 'eth0',
    })) as { Instance: { InstanceId: string }; NetworkInterfaces: { NetworkInterfaceId: string }[] }
    const otherId = other.Instance.InstanceId
    const otherEni = other.NetworkInterfaces[0]!.NetworkInterfaceId

    const agent = await agentKey({ Description: 'agent of host-a' })
    assert.equal(agent.role, 'agent')
    // It may not take over an instance that exists, by id or by hostname.
    assert.equal(
      await code(call(agent, 'MirrorflowRegisterInstance', { Hostname: 'x', InstanceId: otherId })),
      '403 UnauthorizedOperation',
    )
    assert.equal(
      await code(call(agent, 'MirrorflowRegisterInstance', { Hostname: 'other-host' })),
      '403 UnauthorizedOperation',
    )
    const mine = (await call(agent, 'MirrorflowRegisterInstance', {
      Hostname: 'host-a',
      'NetworkInterface.1.PrivateIpAddress': '10.0.1.10',
      'NetworkInterface.1.DeviceName': 'eth0',
      'NetworkInterface.2.PrivateIpAddress': '10.0.1.11',
      'NetworkInterface.2.DeviceName': 'eth1',
    })) as { Instance: { InstanceId: string }; NetworkInterfaces: { NetworkInterfaceId: string }[] }
    const myId = mine.Instance.InstanceId
    const keys = (await call(admin, 'MirrorflowListAccessKeys')) as {
      AccessKeyMetadata: { AccessKeyId: string; Role: string; InstanceId?: string }[]
    }
    assert.deepEqual(
      keys.AccessKeyMetadata.filter((k) => k.AccessKeyId === agent.accessKeyId).map((k) => [
        k.Role,
        k.InstanceId,
      ]),
      [['agent', myId]],
    )
    // Registering again (a restart, even one that lost its state file) is its own instance.
    const again = (await call(agent, 'MirrorflowRegisterInstance', { Hostname: 'host-a' })) as {
      Instance: { InstanceId: string }
    }
    assert.equal(again.Instance.InstanceId, myId)
    assert.equal(
      await code(call(agent, 'MirrorflowRegisterInstance', { Hostname: 'host-a', InstanceId: otherId })),
      '403 UnauthorizedOperation',
    )
    // Reads are allowed.
    assert.equal(await code(call(agent, 'DescribeVpcs')), 'OK')
    assert.equal(await code(call(agent, 'DescribeTrafficMirrorFilters')), 'OK')
    // Every change to anything else is refused.
    for (const [action, params] of [
      ['CreateVpc', { CidrBlock: '10.1.0.0/16' }],
      ['DeleteSubnet', { SubnetId: subnet }],
      ['DeleteTrafficMirrorFilter', { TrafficMirrorFilterId: filter }],
      ['CreateTags', { 'ResourceId.1': vpc, 'Tag.1.Key': 'k', 'Tag.1.Value': 'v' }],
      [
        'CreateFlowLogs',
        {
          ResourceType: 'VPC',
          'ResourceId.1': vpc,
          TrafficType: 'ALL',
          LogDestinationType: 's3',
          LogDestination: 'arn:aws:s3:::b',
        },
      ],
      ['MirrorflowRegisterNetworkInterface', { SubnetId: subnet, PrivateIpAddress: '10.0.1.99' }],
      ['MirrorflowDeregisterInstance', { InstanceId: otherId }],
      ['MirrorflowDeregisterNetworkInterface', { NetworkInterfaceId: otherEni }],
      [
        'MirrorflowRegisterLoadBalancer',
        { VpcEndpointId: 'vpce-0123456789abcdef0', 'Address.1': '10.0.1.5' },
      ],
      ['MirrorflowCreateAccessKey', {}],
      ['MirrorflowListAccessKeys', {}],
      ['MirrorflowGetDesiredState', { InstanceId: otherId }],
    ] as const) {
      assert.equal(await code(call(agent, action, params)), '403 UnauthorizedOperation', action)
    }
    assert.equal(await poll(agent, otherId), 403)
    // Its own instance: desired state (both ways) and deregistering one of its interfaces.
    assert.equal(await poll(agent, myId), 200)
    assert.equal(await code(call(agent, 'MirrorflowGetDesiredState', { InstanceId: myId })), 'OK')
    assert.equal(
      await code(
        call(agent, 'MirrorflowDeregisterNetworkInterface', {
          NetworkInterfaceId: mine.NetworkInterfaces[1]!.NetworkInterfaceId,
        }),
      ),
      'OK',
    )
    // The admin's resources are intact.
    assert.match((await call(admin, 'DescribeTrafficMirrorFilters')) as string, new RegExp(filter))
    assert.match((await call(admin, 'DescribeNetworkInterfaces')) as string, new RegExp(otherEni))
  })

  test('a key bound at creation registers that instance only; admin and agent do not mix', async () => {
    const pre = (await call(admin, 'MirrorflowRegisterInstance', { Hostname: 'host-b' })) as {
      Instance: { InstanceId: string }
    }
    const id = pre.Instance.InstanceId
    const agent = await agentKey({ InstanceId: id })
    const r = (await call(agent, 'MirrorflowRegisterInstance', { Hostname: 'host-b-renamed' })) as {
      Instance: { InstanceId: string }
    }
    assert.equal(r.Instance.InstanceId, id)
    assert.equal(
      await code(call(admin, 'MirrorflowCreateAccessKey', { Agent: 'true', Admin: 'true' })),
      '400 InvalidParameterCombination',
    )
    assert.equal(
      await code(call(admin, 'MirrorflowCreateAccessKey', { InstanceId: id })),
      '400 InvalidParameterCombination',
    )
    assert.equal(
      await code(
        call(admin, 'MirrorflowCreateAccessKey', { Agent: 'true', InstanceId: 'i-0123456789abcdef0' }),
      ),
      '400 InvalidInstanceID.NotFound',
    )
    // A user key (neither admin nor agent) keeps its rights: it may change resources.
    const u = (await call(admin, 'MirrorflowCreateAccessKey')) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string; Role: string }
    }
    assert.equal(u.AccessKey.Role, 'user')
    const user = {
      accessKeyId: u.AccessKey.AccessKeyId,
      secretAccessKey: u.AccessKey.SecretAccessKey,
      region: 'us-east-1',
    }
    assert.equal(await code(call(user, 'CreateTrafficMirrorFilter')), 'OK')
  })
})
