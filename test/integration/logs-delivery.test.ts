// test-group: process
// SPDX-License-Identifier: Apache-2.0
/**
 * Flow-log delivery to a CloudWatch Logs log group, agent side (spool + LogsHttpSink, signed with
 * an agent key bound to a registered instance) against the real server:
 * - the flow log's IAM role (DeliverLogsPermissionArn) decides, as AWS documents it: a role that
 *   does not exist, that does not trust vpc-flow-logs.amazonaws.com, or whose policies do not allow
 *   logs:CreateLogStream/logs:PutLogEvents (or logs:CreateLogGroup while the group is missing) makes
 *   `aws ec2 describe-flow-logs` (the real CLI) say DeliverLogsStatus FAILED with
 *   DeliverLogsErrorMessage "Access error", and the agent's puts are refused
 *   (AccessDeniedException) — the records wait in the spool;
 * - a log group that does not exist is created by the delivery when the role allows it (again after
 *   it is deleted);
 * - events spooled while the server is down stay in the spool and are retried; once the server is
 *   back (same data directory, same port) they are stored exactly once, one stream per interface,
 *   with the record's start as timestamp.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { LogsHttpSink } from '../../src/agent/logs-sink.ts'
import { signRequest, startServer, type RunningServer } from '../../src/api/index.ts'
import { LogGroupDeliverer } from '../../src/flowlogs/index.ts'
import { AWS_CLI, cliEnv, run } from '../helpers/api-server.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-logs-delivery-'))
let srv: RunningServer | null = null
after(async () => {
  await srv?.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Keys {
  accessKeyId: string
  secretAccessKey: string
}

async function call(
  service: 'logs' | 'ec2' | 'iam',
  body: string,
  target?: string,
  keys: Keys = srv!.credentials,
): Promise<{ status: number; text: string }> {
  const url = new URL(srv!.url)
  const headers = signRequest({
    method: 'POST',
    url,
    headers:
      service === 'logs'
        ? { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${target}` }
        : { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
    region: 'us-east-1',
    service,
  })
  delete headers.host
  const res = await fetch(url, { method: 'POST', headers, body })
  return { status: res.status, text: await res.text() }
}

const ec2 = (p: Record<string, string>) =>
  call('ec2', new URLSearchParams({ Version: '2016-11-15', ...p }).toString())
const logs = (action: string, input: object, keys?: Keys) => call('logs', JSON.stringify(input), action, keys)
const iam = async (p: Record<string, string>) => {
  const r = await call('iam', new URLSearchParams({ Version: '2010-05-08', ...p }).toString())
  assert.equal(r.status, 200, r.text)
}
/** The real AWS CLI against the server, with the admin key. */
const aws = async (...args: string[]): Promise<Record<string, unknown>> => {
  const { AWS_PROFILE: _profile, ...base } = cliEnv(join(dir, 'server'))
  const env = {
    ...base,
    AWS_ACCESS_KEY_ID: srv!.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: srv!.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
  }
  const r = await run(AWS_CLI, [...args, '--endpoint-url', srv!.url, '--output', 'json'], env)
  assert.equal(r.code, 0, r.stderr)
  return r.json as Record<string, unknown>
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const TRUST = (service: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  })
const ALLOW = (actions: string[], resource = '*') =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }],
  })
const DELIVER = [
  'logs:CreateLogGroup',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'logs:DescribeLogStreams',
]

/** A role with a trust policy and one inline policy; its ARN. */
async function role(name: string, trust: string, policy: string): Promise<string> {
  await iam({ Action: 'CreateRole', RoleName: name, AssumeRolePolicyDocument: trust })
  await iam({ Action: 'PutRolePolicy', RoleName: name, PolicyName: 'deliver', PolicyDocument: policy })
  return `arn:aws:iam::${srv!.cp.accountId}:role/${name}`
}

test(
  'the role decides delivery; a missing group is created; delivery survives a server outage',
  { timeout: 120_000 },
  async () => {
    const data = join(dir, 'server')
    srv = await startServer({ dataDir: data, port: 0 })
    const port = srv.port
    const account = srv.cp.accountId
    const vpc = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(
      (await ec2({ Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' })).text,
    )![1]!
    await ec2({ Action: 'CreateSubnet', VpcId: vpc, CidrBlock: '10.0.1.0/24' })
    // An agent key bound to an instance with an interface in the VPC: what an agent signs with.
    const made = await call(
      'ec2',
      new URLSearchParams({
        Action: 'MirrorflowCreateAccessKey',
        Version: '2016-11-15',
        Agent: 'true',
      }).toString(),
    )
    const agentKeys: Keys = {
      accessKeyId:
        /<AccessKeyId>([^<]+)</i.exec(made.text)?.[1] ?? JSON.parse(made.text).AccessKey.AccessKeyId,
      secretAccessKey:
        /<SecretAccessKey>([^<]+)</i.exec(made.text)?.[1] ?? JSON.parse(made.text).AccessKey.SecretAccessKey,
    }
    const reg = await call(
      'ec2',
      new URLSearchParams({
        Action: 'MirrorflowRegisterInstance',
        Version: '2016-11-15',
        Hostname: 'host-a',
        'NetworkInterface.1.PrivateIpAddress': '10.0.1.10',
        'NetworkInterface.1.DeviceName': 'eth0',
      }).toString(),
      undefined,
      agentKeys,
    )
    assert.equal(reg.status, 200, reg.text)

    const good = await role('flow-logs', TRUST('vpc-flow-logs.amazonaws.com'), ALLOW(DELIVER))
    const ec2Trust = await role('flow-logs-ec2', TRUST('ec2.amazonaws.com'), ALLOW(DELIVER))
    const streamsOnly = await role(
      'flow-logs-streams',
      TRUST('vpc-flow-logs.amazonaws.com'),
      ALLOW(['logs:CreateLogStream']),
    )
    const noCreate = await role(
      'flow-logs-nocreate',
      TRUST('vpc-flow-logs.amazonaws.com'),
      ALLOW(
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        `arn:aws:logs:*:${account}:log-group:/vpc/nocreate:*`,
      ),
    )
    const flowLog = async (group: string, arn: string) =>
      /<item>(fl-[0-9a-f]+)<\/item>/.exec(
        (
          await ec2({
            Action: 'CreateFlowLogs',
            ResourceType: 'VPC',
            'ResourceId.1': vpc,
            TrafficType: 'ALL',
            LogDestinationType: 'cloud-watch-logs',
            LogGroupName: group,
            DeliverLogsPermissionArn: arn,
          })
        ).text,
      )![1]!
    // The group does not exist yet: the good role may create it.
    const flowLogId = await flowLog('/vpc/flow', good)
    const ids = {
      [await flowLog('/vpc/no-role', `arn:aws:iam::${account}:role/no-such-role`)]: 'no-role',
      [await flowLog('/vpc/ec2-trust', ec2Trust)]: 'ec2-trust',
      [await flowLog('/vpc/streams-only', streamsOnly)]: 'streams-only',
      [await flowLog('/vpc/nocreate', noCreate)]: 'nocreate',
      [flowLogId]: 'good',
    }
    for (const g of ['/vpc/ec2-trust', '/vpc/streams-only'])
      assert.equal((await logs('CreateLogGroup', { logGroupName: g })).status, 200)
    const statuses = async () => {
      const out = (await aws('ec2', 'describe-flow-logs', '--filter', `Name=resource-id,Values=${vpc}`))
        .FlowLogs as { FlowLogId: string; DeliverLogsStatus: string; DeliverLogsErrorMessage?: string }[]
      return Object.fromEntries(
        out.map((f) => [ids[f.FlowLogId], [f.DeliverLogsStatus, f.DeliverLogsErrorMessage ?? null]]),
      )
    }
    assert.deepEqual(await statuses(), {
      good: ['SUCCESS', null],
      'no-role': ['FAILED', 'Access error'],
      'ec2-trust': ['FAILED', 'Access error'],
      'streams-only': ['FAILED', 'Access error'],
      nocreate: ['FAILED', 'Access error'],
    })
    // The agent's own puts are refused as the role would be.
    const refused = await logs(
      'PutLogEvents',
      {
        logGroupName: '/vpc/streams-only',
        logStreamName: 'eni-x',
        logEvents: [{ timestamp: Date.now(), message: 'm' }],
      },
      agentKeys,
    )
    assert.deepEqual([refused.status, JSON.parse(refused.text).__type], [400, 'AccessDeniedException'])
    // Once the group exists, the nocreate role suffices.
    assert.equal((await logs('CreateLogGroup', { logGroupName: '/vpc/nocreate' })).status, 200)
    assert.deepEqual((await statuses()).nocreate, ['SUCCESS', null])

    // The server goes away; records are spooled as the agent's runner writes them.
    await srv.close()
    srv = null
    const spool = join(dir, 'spool-logs')
    const dv = new LogGroupDeliverer(
      spool,
      new LogsHttpSink(`http://127.0.0.1:${port}`, { ...agentKeys, region: 'us-east-1' }),
      (id) => (id === flowLogId ? '/vpc/flow' : ids[id] === 'streams-only' ? '/vpc/streams-only' : undefined),
    )
    const t0 = Math.floor(Date.now() / 1000) - 120
    const line = (eni: string, src: string, s: number) =>
      `2 ${account} ${eni} ${src} 10.0.1.10 40000 22 6 3 180 ${s} ${s + 60} REJECT OK`
    const write = (fl: string, eni: string, name: string, lines: [number, string][]) => {
      const d = join(dv.spoolFor(fl), eni)
      mkdirSync(d, { recursive: true })
      writeFileSync(join(d, name), lines.map(([ts, m]) => `${ts}\t${m}\n`).join(''))
    }
    write(flowLogId, 'eni-0123456789abcdef0', `${t0}-1-0.events`, [
      [t0 * 1000, line('eni-0123456789abcdef0', '203.0.113.5', t0)],
      [(t0 + 1) * 1000, line('eni-0123456789abcdef0', '203.0.113.6', t0 + 1)],
    ])
    write(flowLogId, 'eni-0fedcba9876543210', `${t0}-1-1.events`, [
      [t0 * 1000, line('eni-0fedcba9876543210', '203.0.113.7', t0)],
    ])
    const refusedFl = Object.keys(ids).find((k) => ids[k] === 'streams-only')!
    write(refusedFl, 'eni-0123456789abcdef0', `${t0}-1-9.events`, [
      [t0 * 1000, line('eni-0123456789abcdef0', '192.0.2.1', t0)],
    ])
    dv.kick()
    await until('a failed attempt', () => dv.stats.failures > 0)
    assert.equal(dv.stats.delivered, 0)
    assert.equal((await dv.measure()) > 0, true)

    // The server is back on the same port and data: the group is created, the spool drains into
    // one stream per interface; the refused flow log's file stays, its error is the role's.
    srv = await startServer({ dataDir: data, port })
    await until('delivery after the outage', () => {
      dv.kick()
      return dv.stats.delivered === 2 && dv.stats.groupErrors[refusedFl] !== undefined
    })
    assert.match(
      dv.stats.groupErrors[refusedFl]!,
      /^Access error: the role .*flow-logs-streams .* logs:PutLogEvents/,
    )
    await dv.measure()
    assert.equal(dv.stats.spooledObjects, 1)
    const events = async () =>
      (
        JSON.parse((await logs('FilterLogEvents', { logGroupName: '/vpc/flow' })).text) as {
          events: { logStreamName: string; timestamp: number; message: string }[]
        }
      ).events.map((e) => [e.logStreamName, e.timestamp, e.message.split(' ')[3]])
    const expected = [
      ['eni-0123456789abcdef0', t0 * 1000, '203.0.113.5'],
      ['eni-0fedcba9876543210', t0 * 1000, '203.0.113.7'],
      ['eni-0123456789abcdef0', (t0 + 1) * 1000, '203.0.113.6'],
    ]
    assert.deepEqual(await events(), expected)
    assert.deepEqual((await statuses()).good, ['SUCCESS', null])

    // The log group is deleted: the next delivery creates it again (the role allows it).
    assert.equal((await logs('DeleteLogGroup', { logGroupName: '/vpc/flow' })).status, 200)
    assert.deepEqual((await statuses()).good, ['SUCCESS', null])
    write(flowLogId, 'eni-0123456789abcdef0', `${t0 + 60}-1-2.events`, [
      [(t0 + 60) * 1000, line('eni-0123456789abcdef0', '198.51.100.1', t0 + 60)],
    ])
    await until('delivery to the recreated group', () => {
      dv.kick()
      return dv.stats.delivered === 3
    })
    assert.deepEqual(await events(), [['eni-0123456789abcdef0', (t0 + 60) * 1000, '198.51.100.1']])
    assert.equal(dv.stats.groupErrors[flowLogId], undefined)
    await dv.close()
  },
)

/** A VXLAN datagram carrying one Ethernet/IPv4/TCP frame (`sport` → 22). */
function vxlanTcp(vni: number, src: string, dst: string, sport: number): Buffer {
  const b = Buffer.alloc(8 + 14 + 20 + 20)
  b[0] = 0x08
  b.writeUIntBE(vni, 4, 3)
  b.fill(0x02, 8, 20)
  b.writeUInt16BE(0x0800, 20)
  const ip = 22
  b[ip] = 0x45
  b.writeUInt16BE(40, ip + 2)
  b[ip + 8] = 64
  b[ip + 9] = 6
  src.split('.').forEach((o, i) => (b[ip + 12 + i] = Number(o)))
  dst.split('.').forEach((o, i) => (b[ip + 16 + i] = Number(o)))
  const tcp = ip + 20
  b.writeUInt16BE(sport, tcp)
  b.writeUInt16BE(22, tcp + 2)
  b[tcp + 12] = 0x50
  b[tcp + 13] = 0x02 // SYN
  return b
}

test(
  'mirrorflow target delivers its flow logs to a log group (one stream per VNI)',
  { timeout: 60_000 },
  async () => {
    if (srv === null) srv = await startServer({ dataDir: join(dir, 'server'), port: 0 })
    const { spawn } = await import('node:child_process')
    const { createSocket } = await import('node:dgram')
    const { REPO_ROOT } = await import('../helpers/shared.ts')
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
        'target',
        '--receive',
        'socket',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        join(dir, 'target'),
        '--server',
        srv.url,
        '--credentials-file',
        srv.credentialsFile,
        '--log-group',
        '/target/flow',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
    try {
      await until('the target listening', () => /receiving VXLAN on 127\.0\.0\.1:(\d+)/.test(err))
      const port = Number(/receiving VXLAN on 127\.0\.0\.1:(\d+)/.exec(err)![1])
      const s = createSocket('udp4')
      for (const sport of [40001, 40002, 40003])
        await new Promise<void>((r) =>
          s.send(vxlanTcp(7, '203.0.113.9', '10.0.1.10', sport), port, '127.0.0.1', () => r()),
        )
      s.close()
      const { readFileSync } = await import('node:fs')
      await until('the datagrams received', () => {
        try {
          return (
            (JSON.parse(readFileSync(join(dir, 'target', 'status.json'), 'utf8')) as { packets: number })
              .packets >= 3
          )
        } catch {
          return false
        }
      })
    } finally {
      child.kill('SIGTERM')
    }
    assert.equal(await exited, 0, err)
    const status = JSON.parse(out) as
      { flowLogs: { records: number; logGroup: Record<string, unknown> } }[] | Record<string, unknown>
    const got = JSON.parse((await logs('FilterLogEvents', { logGroupName: '/target/flow' })).text) as {
      events: { logStreamName: string; message: string }[]
    }
    assert.deepEqual(
      got.events.map((e) => [e.logStreamName, e.message.split(' ').slice(3, 7).join(' ')]).sort(),
      [
        ['vni-7', '203.0.113.9 10.0.1.10 40001 22'],
        ['vni-7', '203.0.113.9 10.0.1.10 40002 22'],
        ['vni-7', '203.0.113.9 10.0.1.10 40003 22'],
      ],
    )
    assert.match(JSON.stringify(status), /"deliveredEvents":3/)
  },
)
