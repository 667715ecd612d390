// test-group: process
// SPDX-License-Identifier: Apache-2.0
/**
 * Flow-log delivery to a CloudWatch Logs log group, agent side (spool + LogsHttpSink) against the
 * real server: events spooled while the server is down stay in the spool and are retried; once the
 * server is back (same data directory, same port) they are stored, one stream per interface, with
 * the record's start as timestamp. A deleted log group makes DescribeFlowLogs say FAILED with the
 * reason, and the spooled events wait; once the group exists again they are delivered and the
 * status is SUCCESS.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { LogsHttpSink } from '../../src/agent/logs-sink.ts'
import { signRequest, startServer, type RunningServer } from '../../src/api/index.ts'
import { LogGroupDeliverer } from '../../src/flowlogs/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-logs-delivery-'))
let srv: RunningServer | null = null
after(async () => {
  await srv?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function call(
  service: 'logs' | 'ec2',
  body: string,
  target?: string,
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
    accessKeyId: srv!.credentials.accessKeyId,
    secretAccessKey: srv!.credentials.secretAccessKey,
    region: 'us-east-1',
    service,
  })
  delete headers.host
  const res = await fetch(url, { method: 'POST', headers, body })
  return { status: res.status, text: await res.text() }
}

const ec2 = (p: Record<string, string>) =>
  call('ec2', new URLSearchParams({ Version: '2016-11-15', ...p }).toString())
const logs = (action: string, input: object) => call('logs', JSON.stringify(input), action)

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test(
  'delivery to a log group survives a server outage and reports a deleted group',
  { timeout: 120_000 },
  async () => {
    const data = join(dir, 'server')
    srv = await startServer({ dataDir: data, port: 0 })
    const port = srv.port
    const creds = { ...srv.credentials, region: 'us-east-1' }
    assert.equal((await logs('CreateLogGroup', { logGroupName: '/vpc/flow' })).status, 200)
    const vpc = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(
      (await ec2({ Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' })).text,
    )![1]!
    const fl = await ec2({
      Action: 'CreateFlowLogs',
      ResourceType: 'VPC',
      'ResourceId.1': vpc,
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: '/vpc/flow',
      DeliverLogsPermissionArn: 'arn:aws:iam::123456789012:role/flow-logs',
    })
    const flowLogId = /<item>(fl-[0-9a-f]+)<\/item>/.exec(fl.text)![1]!
    const status = async () => {
      const t = (await ec2({ Action: 'DescribeFlowLogs', 'FlowLogId.1': flowLogId })).text
      return [/<deliverLogsStatus>(\w+)</.exec(t)?.[1], /<deliverLogsErrorMessage>([^<]*)</.exec(t)?.[1]]
    }
    assert.deepEqual(await status(), ['SUCCESS', undefined])

    // The server goes away; records are spooled as the agent's runner writes them.
    await srv.close()
    srv = null
    const spool = join(dir, 'spool-logs')
    const dv = new LogGroupDeliverer(spool, new LogsHttpSink(`http://127.0.0.1:${port}`, creds), (id) =>
      id === flowLogId ? '/vpc/flow' : undefined,
    )
    const t0 = Math.floor(Date.now() / 1000) - 120
    const line = (eni: string, src: string, s: number) =>
      `2 123456789012 ${eni} ${src} 10.0.1.10 40000 22 6 3 180 ${s} ${s + 60} REJECT OK`
    const write = (eni: string, name: string, lines: [number, string][]) => {
      const d = join(dv.spoolFor(flowLogId), eni)
      mkdirSync(d, { recursive: true })
      writeFileSync(join(d, name), lines.map(([ts, m]) => `${ts}\t${m}\n`).join(''))
    }
    write('eni-0123456789abcdef0', `${t0}-1-0.events`, [
      [t0 * 1000, line('eni-0123456789abcdef0', '203.0.113.5', t0)],
      [(t0 + 1) * 1000, line('eni-0123456789abcdef0', '203.0.113.6', t0 + 1)],
    ])
    write('eni-0fedcba9876543210', `${t0}-1-1.events`, [
      [t0 * 1000, line('eni-0fedcba9876543210', '203.0.113.7', t0)],
    ])
    dv.kick()
    await until('a failed attempt', () => dv.stats.failures > 0)
    assert.equal(dv.stats.delivered, 0)
    assert.equal((await dv.measure()) > 0, true)

    // The server is back on the same port and data: the spool drains into one stream per interface.
    srv = await startServer({ dataDir: data, port })
    await until('delivery after the outage', () => {
      dv.kick()
      return dv.stats.delivered === 2
    })
    assert.equal(await dv.measure(), 0)
    const got = JSON.parse((await logs('FilterLogEvents', { logGroupName: '/vpc/flow' })).text) as {
      events: { logStreamName: string; timestamp: number; message: string }[]
    }
    assert.deepEqual(
      got.events.map((e) => [e.logStreamName, e.timestamp, e.message.split(' ')[3]]),
      [
        ['eni-0123456789abcdef0', t0 * 1000, '203.0.113.5'],
        ['eni-0fedcba9876543210', t0 * 1000, '203.0.113.7'],
        ['eni-0123456789abcdef0', (t0 + 1) * 1000, '203.0.113.6'],
      ],
    )

    // The log group is deleted: the status says so, the events wait in the spool.
    assert.equal((await logs('DeleteLogGroup', { logGroupName: '/vpc/flow' })).status, 200)
    const [st, msg] = await status()
    assert.equal(st, 'FAILED')
    assert.match(String(msg), /^Access error: the log group \/vpc\/flow does not exist/)
    write('eni-0123456789abcdef0', `${t0 + 60}-1-2.events`, [
      [(t0 + 60) * 1000, line('eni-0123456789abcdef0', '198.51.100.1', t0 + 60)],
    ])
    dv.kick()
    await until('the missing group noticed', () => dv.stats.groupErrors[flowLogId] !== undefined)
    assert.match(dv.stats.groupErrors[flowLogId]!, /does not exist/)
    assert.equal(dv.stats.delivered, 2)

    // Recreated: the waiting events go in, the status is SUCCESS again.
    assert.equal((await logs('CreateLogGroup', { logGroupName: '/vpc/flow' })).status, 200)
    await until(
      'delivery to the recreated group',
      () => {
        dv.kick()
        return dv.stats.delivered === 3
      },
      90_000,
    )
    assert.deepEqual(await status(), ['SUCCESS', undefined])
    assert.equal(dv.stats.groupErrors[flowLogId], undefined)
    await dv.close()
  },
)
