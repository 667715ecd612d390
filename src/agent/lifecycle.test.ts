// SPDX-License-Identifier: Apache-2.0
// test-group: process
// The agent's lifecycle against a scripted server and datapath: a damaged state file, missing or lost
// privileges, a lost and recovered server (each change logged once, lastError cleared on recovery),
// and the pure flow-log plan. No namespace, no capture: the desired states cover no local interface.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { hasCode } from '../errors.ts'
import type { Datapath, MirrorState } from '../mirror/index.ts'
import { createLogger } from '../runtime/index.ts'
import { Agent, defaultAgentConfig } from './agent.ts'
import type { ServerClient, VersionedDesiredState } from './client.ts'
import type { DesiredState } from './desired.ts'
import { planCaptures, planFlowLogs } from './flowlog-plan.ts'
import { readAgentState } from './registration.ts'
import type { DesiredInterfaceSecurity } from '../control/index.ts'
/** An interface in no restrictive group, in a subnet whose ACL allows everything. */
const OPEN_SECURITY: DesiredInterfaceSecurity = {
  securityGroups: [{ groupId: 'sg-1', groupName: 'default' }],
  ingressRules: [],
  egressRules: [],
  networkAcl: { networkAclId: 'acl-1', isDefault: true, ingress: [], egress: [] },
  sourceDestCheck: true,
}

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mf-agent-life-'))
  dirs.push(d)
  return d
}

const INSTANCE = 'i-0123456789abcdef0'
const empty = (version: number): VersionedDesiredState => ({
  instanceId: INSTANCE,
  hostname: 'h',
  accountId: '123456789012',
  region: 'us-east-1',
  interfaces: [],
  version,
})

/** A server whose desired-state answers follow a script (an Error is thrown, a number is a version). */
class ScriptedServer implements ServerClient {
  registrations = 0
  last = 0
  readonly script: Array<number | Error>
  constructor(script: Array<number | Error>) {
    this.script = script
  }
  async register() {
    this.registrations++
    return { instanceId: INSTANCE, interfaces: [], unmatched: [] }
  }
  async deregisterInterface(): Promise<void> {}
  async desiredState(_id: string, version: number | undefined, wait: number, signal?: AbortSignal) {
    const next = this.script.shift()
    if (next instanceof Error) throw next
    if (next !== undefined) return empty((this.last = next))
    // Script done: an unknown version is answered at once (as the server does), else a long poll
    // that ends only when aborted.
    if (version === undefined) return empty(this.last)
    await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()))
    void wait
    return empty(version ?? 0)
  }
}

/** A datapath that applies nothing, or throws what it is told to on the n-th apply. */
class ScriptedDatapath implements Datapath {
  readonly kind = 'scripted'
  applies = 0
  failOn = new Map<number, Error>()
  async apply(_s: MirrorState) {
    this.applies++
    const err = this.failOn.get(this.applies)
    if (err !== undefined) throw err
    return { changed: false, kernelSources: [], userspaceSources: [] }
  }
  async remove(): Promise<void> {}
  async removeLeftovers() {
    return { table: false, devices: [] }
  }
}

function logSink(): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = []
  const log = createLogger('agent', {
    destination: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  })
  return { lines, log }
}

function agentFor(
  dir: string,
  server: ServerClient,
  datapath: Datapath,
  extra: { privileged?: () => boolean } = {},
) {
  const cfg = defaultAgentConfig(
    'http://127.0.0.1:1',
    { accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1' },
    dir,
  )
  cfg.hostname = 'h'
  cfg.pollWaitSeconds = 1
  cfg.inventoryIntervalMs = 60_000
  const { lines, log } = logSink()
  const agent = new Agent(cfg, {
    client: server,
    datapath,
    log,
    privileged: extra.privileged ?? (() => true),
  })
  return { agent, lines }
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('agent state file', () => {
  test('absent: a first start; present and valid: its instance id', () => {
    const d = tmp()
    assert.equal(readAgentState(join(d, 'agent-state.json')), null)
    writeFileSync(join(d, 'agent-state.json'), JSON.stringify({ instanceId: INSTANCE, hostname: 'h' }))
    assert.equal(readAgentState(join(d, 'agent-state.json')), INSTANCE)
  })

  for (const [name, text] of [
    ['cut short', '{"instanceId": "i-0123'],
    ['not an instance id', '{"instanceId": "../../etc"}'],
    ['no instance id', '{}'],
    ['null', 'null'],
  ] as const) {
    test(`${name}: start fails with MF_AGENT_STATE and registers nothing`, async () => {
      const d = tmp()
      writeFileSync(join(d, 'agent-state.json'), text)
      const server = new ScriptedServer([1])
      const { agent } = agentFor(d, server, new ScriptedDatapath())
      await assert.rejects(
        agent.start(),
        (e: Error) => hasCode(e, 'MF_AGENT_STATE') && /--instance-id/.test(e.message),
      )
      assert.equal(server.registrations, 0)
      await agent.stop()
    })
  }
})

describe('agent privileges', () => {
  test('not root: start fails with MF_AGENT_PRIVILEGE before touching anything', async () => {
    const d = tmp()
    const server = new ScriptedServer([1])
    const { agent } = agentFor(d, server, new ScriptedDatapath(), { privileged: () => false })
    await assert.rejects(agent.start(), (e: Error) => hasCode(e, 'MF_AGENT_PRIVILEGE'))
    assert.equal(server.registrations, 0)
    await agent.stop()
  })

  test('privileges lost later (Operation not permitted): fatal resolves, logged as fatal', async () => {
    const d = tmp()
    const dp = new ScriptedDatapath()
    dp.failOn.set(2, new Error('nft -f -: Operation not permitted (you must be root)'))
    const { agent, lines } = agentFor(d, new ScriptedServer([1, 2]), dp)
    await agent.start()
    const err = await agent.fatal
    assert.ok(hasCode(err, 'MF_AGENT_PRIVILEGE'))
    await agent.stop()
    assert.equal(lines.filter((l) => l.level === 60).length, 1)
  })
})

describe('agent health', () => {
  test('a lost server is logged once, its recovery once, and lastError clears', async () => {
    const d = tmp()
    const down = new Error('fetch failed: ECONNREFUSED')
    const dp = new ScriptedDatapath()
    const { agent, lines } = agentFor(d, new ScriptedServer([1, down, down, down, 2]), dp)
    await agent.start()
    await until('second state applied', () => dp.applies === 2)
    const st = agent.status()
    await agent.stop()
    const server = lines.filter((l) => l.key === 'server')
    assert.deepEqual(
      server.map((l) => [l.state, l.level, l.msg]),
      [
        ['failed', 50, 'cannot get the desired state from the server'],
        ['ok', 30, 'server reachable again'],
      ],
    )
    assert.equal(server[0]!.error, 'fetch failed: ECONNREFUSED')
    assert.equal(st.reconciles.failed, 3) // every failure counted
    assert.equal(st.reconciles.lastError, null) // but none is open any more
    assert.deepEqual(st.reconciles.problems, {})
  })

  test('a failing reconciliation stays the lastError until one succeeds', async () => {
    const d = tmp()
    const dp = new ScriptedDatapath()
    dp.failOn.set(2, new Error('vxlan device: RTNETLINK answers: File exists'))
    const { agent, lines } = agentFor(d, new ScriptedServer([1, 2]), dp)
    await agent.start()
    await until('failed reconcile', () => agent.status().reconciles.lastError !== null)
    assert.match(agent.status().reconciles.lastError!, /File exists/)
    // The poller retries after 2 s: the third apply succeeds.
    await until('retry', () => dp.applies >= 3 && agent.status().reconciles.lastError === null, 15_000)
    await agent.stop()
    assert.deepEqual(
      lines.filter((l) => l.key === 'reconcile').map((l) => l.state),
      ['failed', 'ok'],
    )
  })
})

describe('flow-log plan', () => {
  const desired: DesiredState = {
    instanceId: INSTANCE,
    hostname: 'h',
    accountId: '123456789012',
    region: 'us-east-1',
    interfaces: [
      {
        networkInterfaceId: 'eni-a',
        deviceName: 'eth0',
        macAddress: '02:00:00:00:00:0A',
        privateIpAddress: '10.0.0.10',
        secondaryPrivateIpAddresses: [],
        ipv6Addresses: [],
        subnetId: 'subnet-1',
        vpcId: 'vpc-1',
        targetIds: [],
        security: OPEN_SECURITY,
        sessions: [],
        flowLogs: [
          {
            flowLogId: 'fl-1',
            resourceId: 'vpc-1',
            resourceType: 'VPC',
            trafficType: 'ALL',
            logFormat: '${version}',
            maxAggregationInterval: 600,
            logDestinationType: 's3',
            logDestination: 'arn:aws:s3:::b',
            logGroupName: null,
            destinationOptions: null,
          },
        ],
      },
      {
        networkInterfaceId: 'eni-elsewhere',
        deviceName: 'eth9',
        macAddress: '02:00:00:00:00:0F',
        privateIpAddress: '10.0.0.99',
        secondaryPrivateIpAddresses: [],
        ipv6Addresses: [],
        subnetId: 'subnet-1',
        vpcId: 'vpc-1',
        targetIds: [],
        security: OPEN_SECURITY,
        sessions: [],
        flowLogs: [],
      },
    ],
  }
  const inv = [{ name: 'eth0', mac: '02:00:00:00:00:0a', ipv4: ['10.0.0.10'], ipv6: [], index: 2 }]

  test('covers local interfaces only; captures = covered interfaces plus mirror sources', () => {
    const plan = planFlowLogs(desired, inv)
    assert.deepEqual([...plan.keys()], ['fl-1'])
    const p = plan.get('fl-1')!
    assert.deepEqual(p.ifnames, ['eth0'])
    assert.equal(p.interfaces[0]!.interfaceId, 'eni-a')
    assert.deepEqual(p.interfaces[0]!.addresses, ['10.0.0.10'])
    assert.equal(planFlowLogs(desired, inv).get('fl-1')!.key, p.key) // stable: runners are kept
    const mirror = {
      sources: [{ networkInterfaceId: 'eni-m', ifname: 'eth1', mac: '', addresses: [] }],
      targets: [],
      filters: [],
      sessions: [],
      amazonDnsResolvers: [],
    }
    assert.deepEqual(Object.fromEntries(planCaptures(plan, mirror)), {
      eth0: { interfaceId: 'eni-a', flowLogs: [{ flowLogId: 'fl-1', interfaceId: 'eni-a' }] },
      eth1: { interfaceId: 'eni-m', flowLogs: [] },
    })
    assert.equal(planFlowLogs(desired, []).size, 0)
  })
})

describe('mirrorflow agent as a non-root user', () => {
  test('exits 1 with the reason, before contacting any server', () => {
    const d = tmp()
    chmodSync(d, 0o777)
    const bin = new URL('../../bin/mirrorflow.mjs', import.meta.url).pathname
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        bin,
        'agent',
        '--server',
        'http://127.0.0.1:9',
        '--data-dir',
        join(d, 'a'),
      ],
      {
        cwd: d,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'a',
          AWS_SECRET_ACCESS_KEY: 'b',
          AWS_REGION: 'us-east-1',
        },
      },
    )
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /needs root \(CAP_NET_ADMIN and CAP_NET_RAW\)/)
  })
})
