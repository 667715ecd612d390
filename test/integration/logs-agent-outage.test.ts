// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
/**
 * A live agent delivering a VPC flow log to a CloudWatch Logs log group through a server outage, on
 * the lab VPC (shared setup: agent-lab.ts). The flow log (real AWS CLI, role checked against IAM)
 * covers the web host's interface; the client pings it the whole time. The server stops while the
 * aggregation window is open; the pings go on, the window closes, the agent spools its records and
 * its delivery fails (its status says so); the server starts again on the same port and data: the
 * spool drains, and the log group holds each record exactly once (no event twice), in the
 * interface's stream, including the pings sent while the server was down; `describe-flow-logs`
 * says SUCCESS.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { signRequest, startServer, type RunningServer } from '../../src/api/index.ts'
import { nsSpawn, stopProcess } from '../../src/lab/netns.ts'
import { AgentLab, sleep, until } from './agent-lab.ts'

let L: AgentLab | undefined
let restarted: RunningServer | undefined
after(async () => {
  await restarted?.close().catch(() => undefined)
  await L?.close()
})

/** A signed JSON 1.1 (logs) or Query (iam) call to `srv` with its admin key. */
async function call(
  srv: RunningServer,
  service: 'logs' | 'iam',
  body: string,
  target?: string,
): Promise<string> {
  const url = new URL(srv.url)
  const headers = signRequest({
    method: 'POST',
    url,
    headers:
      service === 'logs'
        ? { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${target}` }
        : { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
    accessKeyId: srv.credentials.accessKeyId,
    secretAccessKey: srv.credentials.secretAccessKey,
    region: 'us-east-1',
    service,
  })
  delete headers.host
  const res = await fetch(url, { method: 'POST', headers, body })
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return text
}

interface LogsDelivery {
  failures: number
  deliveredEvents: number
  spooledObjects: number
}

test(
  'a live agent delivers to a log group through a server outage, each record once',
  { timeout: 300_000 },
  async () => {
    L = await AgentLab.create('mflogns')
    const lab = L.lab
    const web = lab.host('web')
    L.startAgent(web, ['--no-enforce', '--poll-wait', '5', '--inventory-interval', '1'])
    await until('the agent registered', () => L!.agentStatus('web')?.version != null, 60_000)
    const ifs = (await L.aws('describe-network-interfaces')).NetworkInterfaces as Array<{
      NetworkInterfaceId: string
      PrivateIpAddress: string
    }>
    const eni = ifs.find((i) => i.PrivateIpAddress === web.address)!.NetworkInterfaceId
    // The delivery role, as AWS's documentation writes it.
    const iam = (p: Record<string, string>) =>
      call(L!.server, 'iam', new URLSearchParams({ Version: '2010-05-08', ...p }).toString())
    await iam({
      Action: 'CreateRole',
      RoleName: 'flow-logs',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
    })
    await iam({
      Action: 'PutRolePolicy',
      RoleName: 'flow-logs',
      PolicyName: 'deliver',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: [
              'logs:CreateLogGroup',
              'logs:CreateLogStream',
              'logs:PutLogEvents',
              'logs:DescribeLogStreams',
            ],
            Resource: '*',
          },
        ],
      }),
    })
    // No log group yet: the first delivery creates it.
    const fl = (
      (await L.aws(
        'create-flow-logs',
        '--resource-type',
        'NetworkInterface',
        '--resource-ids',
        eni,
        '--traffic-type',
        'ALL',
        '--log-destination-type',
        'cloud-watch-logs',
        '--log-group-name',
        '/lab/flow',
        '--deliver-logs-permission-arn',
        `arn:aws:iam::${L.server.cp.accountId}:role/flow-logs`,
        '--max-aggregation-interval',
        '60',
      )) as { FlowLogIds: string[] }
    ).FlowLogIds[0]!
    await until('the agent runs the flow log', () =>
      (L!.agentStatus('web')?.flowLogs ?? []).some((f) => f.flowLogId === fl),
    )
    const ping = nsSpawn(lab.host('client').ns, ['ping', '-n', '-i', '0.2', web.address])
    try {
      await sleep(2000)
      // Windows are aligned to the minute. The outage must begin well inside one window: were a
      // boundary to fall just before it, the failed delivery awaited below would be the earlier
      // window's, and the window of the outage would still be open when the test looks for it.
      const inMinute = (Date.now() / 1000) % 60
      if (inMinute > 55) await sleep((65 - inMinute) * 1000)
      else if (inMinute < 5) await sleep((5 - inMinute) * 1000)
      // The server goes away; the traffic goes on.
      const port = L.server.port
      await L.server.close()
      const downAt = Math.floor(Date.now() / 1000)
      const before = (L.agentStatus('web') as unknown as { logsDelivery: LogsDelivery }).logsDelivery
        .deliveredEvents
      const delivery = () =>
        (L!.agentStatus('web') as unknown as { logsDelivery: LogsDelivery } | null)?.logsDelivery
      await until(
        'the window closed and its delivery failed',
        () => {
          const d = delivery()
          return d !== undefined && d.failures > 0 && d.spooledObjects > 0
        },
        120_000,
      )
      const upAt = Math.floor(Date.now() / 1000)
      // Back on the same port and data: the spool drains.
      restarted = await startServer({ dataDir: join(L.dir, 'server'), host: lab.mgmtAddress, port })
      await until(
        'the spool drained',
        () => {
          const d = delivery()
          return d !== undefined && d.deliveredEvents > before && d.spooledObjects === 0
        },
        90_000,
      )
      const got = JSON.parse(
        await call(restarted, 'logs', JSON.stringify({ logGroupName: '/lab/flow' }), 'FilterLogEvents'),
      ) as {
        events: { logStreamName: string; timestamp: number; message: string }[]
      }
      const keys = got.events.map((e) => `${e.logStreamName} ${e.timestamp} ${e.message}`)
      assert.equal(new Set(keys).size, keys.length, 'an event delivered twice')
      assert.equal(got.events.length, delivery()!.deliveredEvents)
      assert.deepEqual([...new Set(got.events.map((e) => e.logStreamName))], [eni])
      // The pings of the outage are in: an ICMP record from the client whose window spans it.
      const icmp = got.events
        .map((e) => e.message.split(' '))
        .filter((w) => w[3] === lab.host('client').address && w[7] === '1')
      assert.ok(
        icmp.some((w) => Number(w[10]) <= downAt && Number(w[11]) >= downAt && Number(w[8]) > 0),
        JSON.stringify({ downAt, upAt, icmp }),
      )
      for (const e of got.events)
        assert.equal(Math.floor(e.timestamp / 1000), Number(e.message.split(' ')[10]))
      // The flow log's status is true to it (checked with the real CLI, on the restarted server).
      const { spawn } = await import('node:child_process')
      const out = await new Promise<string>((resolve) => {
        const c = spawn(
          '/usr/bin/aws',
          [
            '--endpoint-url',
            restarted!.url,
            '--output',
            'json',
            'ec2',
            'describe-flow-logs',
            '--flow-log-ids',
            fl,
          ],
          {
            env: {
              PATH: process.env.PATH ?? '/usr/bin:/bin',
              AWS_SHARED_CREDENTIALS_FILE: restarted!.credentialsFile,
              AWS_CONFIG_FILE: join(L!.dir, 'no-config'),
              AWS_PROFILE: 'mirrorflow',
              AWS_REGION: 'us-east-1',
              AWS_EC2_METADATA_DISABLED: 'true',
              AWS_PAGER: '',
            },
          },
        )
        let s = ''
        c.stdout.setEncoding('utf8').on('data', (d: string) => (s += d))
        c.on('close', () => resolve(s))
      })
      const f = (
        JSON.parse(out) as { FlowLogs: { DeliverLogsStatus: string; DeliverLogsErrorMessage?: string }[] }
      ).FlowLogs[0]!
      assert.deepEqual([f.DeliverLogsStatus, f.DeliverLogsErrorMessage], ['SUCCESS', undefined])
    } finally {
      await stopProcess(ping)
    }
  },
)
