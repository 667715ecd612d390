// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 21: an instance whose agent has not been heard from for a while is shown as such by
// DescribeInstances (state `stopped`, code 80, with the reason), and running again once it polls.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { AgentPresence, ControlPlane, SqliteStore } from '../../../control/index.ts'
import { callAction } from '../../client.ts'
import { startServer, type RunningServer } from '../../index.ts'
import { signRequest } from '../../auth/sigv4.ts'

test('AgentPresence: running within the timeout, stopped after, a waiting poll keeps it running', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-presence-'))
  try {
    const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
    const inst = cp.ec2.instances.registerInstance({ hostname: 'h', interfaces: [] }).instance
    let now = 1_000_000
    const p = new AgentPresence(cp.ledger, 60_000, () => now)
    // The grace after a start: running although never heard from.
    assert.equal(p.state(inst.id).name, 'running')
    now += 60_001
    assert.deepEqual({ ...p.state(inst.id), reason: '' }, { name: 'stopped', code: 80, reason: '' })
    assert.match(p.state(inst.id).reason, /^Agent not seen since the server started .*, more than 60 s$/)
    p.seen(inst.id)
    assert.deepEqual(p.state(inst.id), { name: 'running', code: 16, lastSeen: now, reason: '' })
    const ended = p.polls(inst.id)
    now += 600_000
    assert.equal(p.state(inst.id).name, 'running')
    ended()
    now += 60_001
    assert.equal(p.state(inst.id).name, 'stopped')
    assert.match(p.state(inst.id).reason, /^Agent not seen since \d{4}-\d\d-\d\dT.*Z, more than 60 s$/)
    // Unknown instances are never recorded.
    p.seen('i-0123456789abcdef0')
    cp.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

describe('DescribeInstances shows an instance whose agent is silent as stopped', () => {
  let srv: RunningServer
  let dir: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-instance-state-'))
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
  const state = async (filter?: string): Promise<string> => {
    const params: Record<string, string> = {}
    if (filter !== undefined) {
      params['Filter.1.Name'] = 'instance-state-name'
      params['Filter.1.Value.1'] = filter
    }
    return (await callAction(srv.url, creds(), 'DescribeInstances', params)) as string
  }

  test('running after registration, stopped after the timeout, running again after a poll', async () => {
    const reg = (await callAction(srv.url, creds(), 'MirrorflowRegisterInstance', {
      Hostname: 'host-1',
    })) as {
      Instance: { InstanceId: string }
    }
    const id = reg.Instance.InstanceId
    let xml = await state()
    assert.match(xml, /<instanceState><code>16<\/code><name>running<\/name><\/instanceState>/)
    assert.match(xml, /<reason\/>|<reason><\/reason>/)
    await new Promise((r) => setTimeout(r, 450))
    xml = await state()
    assert.match(xml, /<instanceState><code>80<\/code><name>stopped<\/name><\/instanceState>/)
    assert.match(xml, /<reason>Agent not seen since [^<]*, more than 0.3 s<\/reason>/)
    assert.match(await state('stopped'), new RegExp(id))
    assert.doesNotMatch(await state('running'), new RegExp(id))
    // The agent's desired-state poll is its heartbeat.
    const url = new URL(`${srv.url}/mirrorflow/v1/desired-state?instanceId=${id}&wait=0`)
    const headers = signRequest({ method: 'GET', url, headers: {}, body: '', ...creds(), service: 'ec2' })
    delete headers.host
    const res = await fetch(url, { headers })
    assert.equal(res.status, 200)
    assert.match(await state('running'), new RegExp(id))
  })
})
