// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * kill -9 during a burst of creates leaves a consistent store (issue 5, "Done when").
 *
 * The server runs as a child process (`node bin/mirrorflow.mjs server --data-dir D --port 0`). Eight
 * lanes send SigV4-signed creates (VPCs, subnets, filters with tags, rules, sessions, flow logs) over
 * keep-alive connections; after a few hundred acknowledgements the server gets SIGKILL with requests
 * in flight. Restarted on the same directory, it must start cleanly with the same credentials, show
 * every acknowledged object (with the tags it was created with), and hold no half-created object:
 * no rule without its filter, no session without its interface, target or filter, no subnet without
 * its VPC, no tag on a missing resource, no flow log on a missing resource.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { DescribeTrafficMirrorFiltersCommand, EC2Client } from '@aws-sdk/client-ec2'
import {
  child,
  cliEnv,
  describeAll,
  httpClient,
  parseXml,
  readCredentials,
  run,
  signRequest,
  spawnServer,
  type ChildServer,
  type Credentials,
  type EniJson,
} from '../helpers/api-server.ts'
import { REPO_ROOT } from '../helpers/shared.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'mf-api-crash-'))
const REGION = 'us-east-1'
let server: ChildServer | undefined

after(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    server.proc.kill('SIGKILL')
    await server.exited
  }
  rmSync(dataDir, { recursive: true, force: true })
})

/** Sends one signed EC2 call; resolves with the parsed root of a 200, rejects otherwise. */
async function call(
  client: ReturnType<typeof httpClient>,
  url: string,
  creds: Credentials,
  params: Record<string, string>,
): Promise<ReturnType<typeof parseXml>> {
  const req = await signRequest(
    url,
    { Version: '2016-11-15', ...params },
    { credentials: creds, region: REGION },
  )
  const res = await client.request(req)
  if (res.status !== 200) throw new Error(`${params.Action} → ${res.status}: ${res.body.slice(0, 300)}`)
  return parseXml(res.body)
}

function text(root: ReturnType<typeof parseXml>, ...path: string[]): string {
  let el: ReturnType<typeof parseXml> | undefined = root
  for (const p of path) el = el && child(el, p)
  if (!el) throw new Error(`no ${path.join('/')} in response`)
  return el.text
}

test(
  'kill -9 during a burst of creates: every acknowledged create survives, nothing is half-made',
  { timeout: 120_000 },
  async () => {
    server = await spawnServer(dataDir, ['--region', REGION])
    const creds = readCredentials(dataDir)
    let client = httpClient(server.url, 16)

    // Setup: a VPC, a subnet, interfaces (one becomes a target, the others are sources).
    const vpc = text(
      await call(client, server.url, creds, { Action: 'CreateVpc', CidrBlock: '10.50.0.0/16' }),
      'vpc',
      'vpcId',
    )
    const subnet = text(
      await call(client, server.url, creds, {
        Action: 'CreateSubnet',
        VpcId: vpc,
        CidrBlock: '10.50.1.0/24',
      }),
      'subnet',
      'subnetId',
    )
    const env = cliEnv(dataDir)
    const enis: string[] = []
    const regs = await Promise.all(
      [5, 6, 7, 8].map((h) =>
        run(
          process.execPath,
          [
            join(REPO_ROOT, 'bin/mirrorflow.mjs'),
            'admin',
            'register-interface',
            '--subnet-id',
            subnet,
            '--private-ip-address',
            `10.50.1.${h}`,
            '--endpoint-url',
            server!.url,
          ],
          env,
        ),
      ),
    )
    for (const r of regs) {
      assert.equal(r.code, 0, r.stderr)
      const j = r.json as { NetworkInterface?: EniJson } & EniJson
      enis.push((j.NetworkInterface ?? j).NetworkInterfaceId)
    }
    const target = text(
      await call(client, server.url, creds, {
        Action: 'CreateTrafficMirrorTarget',
        NetworkInterfaceId: enis[0],
      }),
      'trafficMirrorTarget',
      'trafficMirrorTargetId',
    )

    // The burst.
    const acked = {
      vpcs: [] as string[],
      subnets: [] as string[],
      filters: [] as string[],
      rules: [] as string[],
      sessions: [] as string[],
      flowLogs: [] as string[],
    }
    const ackedFilters: string[] = []
    let flowLogsTried = 0
    /** Filter id → k of its ClientToken, to retry one after the restart. */
    const filterTokens = new Map<string, number>()
    /** Rules sent per filter: stays under the 10-rules quota (spec §3) so the workload is valid. */
    const ruleCount = new Map<string, number>()
    let n = 0
    let stop = false
    let failure: unknown = undefined
    let total = 0
    const url = server.url
    const lane = async (laneNo: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const k = n++
        try {
          const op = k % 6
          const ruleFilter = ackedFilters.findLast((f) => (ruleCount.get(f) ?? 0) < 8)
          if (op === 0 || ruleFilter === undefined) {
            const root = await call(client, url, creds, {
              Action: 'CreateTrafficMirrorFilter',
              Description: `burst-${k}`,
              'TagSpecification.1.ResourceType': 'traffic-mirror-filter',
              'TagSpecification.1.Tag.1.Key': 'burst',
              'TagSpecification.1.Tag.1.Value': String(k),
              ClientToken: `burst-token-${k}`,
            })
            const id = text(root, 'trafficMirrorFilter', 'trafficMirrorFilterId')
            filterTokens.set(id, k)
            acked.filters.push(id)
            ackedFilters.push(id)
          } else if (op === 1 || op === 2) {
            const f = ruleFilter
            ruleCount.set(f, (ruleCount.get(f) ?? 0) + 1)
            const root = await call(client, url, creds, {
              Action: 'CreateTrafficMirrorFilterRule',
              TrafficMirrorFilterId: f,
              TrafficDirection: k % 2 === 0 ? 'ingress' : 'egress',
              RuleNumber: String(1 + (k % 32000)),
              RuleAction: 'accept',
              SourceCidrBlock: '0.0.0.0/0',
              DestinationCidrBlock: '0.0.0.0/0',
            })
            acked.rules.push(text(root, 'trafficMirrorFilterRule', 'trafficMirrorFilterRuleId'))
          } else if (op === 3 && acked.sessions.length < 9 && laneNo === 0) {
            const src = enis[1 + (acked.sessions.length % 3)]
            const root = await call(client, url, creds, {
              Action: 'CreateTrafficMirrorSession',
              NetworkInterfaceId: src,
              TrafficMirrorTargetId: target,
              TrafficMirrorFilterId: ackedFilters[0],
              SessionNumber: String(1 + Math.floor(acked.sessions.length / 3)),
            })
            acked.sessions.push(text(root, 'trafficMirrorSession', 'trafficMirrorSessionId'))
          } else if (op === 4 && flowLogsTried < 50) {
            // At most 50 flow logs per resource (the AWS quota the server enforces).
            flowLogsTried++
            const root = await call(client, url, creds, {
              Action: 'CreateFlowLogs',
              ResourceType: 'VPC',
              'ResourceId.1': vpc,
              TrafficType: 'ALL',
              LogDestinationType: 's3',
              LogDestination: `arn:aws:s3:::burst-${k}`,
              'TagSpecification.1.ResourceType': 'vpc-flow-log',
              'TagSpecification.1.Tag.1.Key': 'burst',
              'TagSpecification.1.Tag.1.Value': String(k),
            })
            acked.flowLogs.push(text(root, 'flowLogIdSet', 'item'))
          } else {
            const root = await call(client, url, creds, {
              Action: 'CreateVpc',
              CidrBlock: `10.${100 + (k % 150)}.${k % 250}.0/24`,
              'TagSpecification.1.ResourceType': 'vpc',
              'TagSpecification.1.Tag.1.Key': 'burst',
              'TagSpecification.1.Tag.1.Value': String(k),
            })
            const v = text(root, 'vpc', 'vpcId')
            acked.vpcs.push(v)
            const s = await call(client, url, creds, {
              Action: 'CreateSubnet',
              VpcId: v,
              CidrBlock: `10.${100 + (k % 150)}.${k % 250}.0/26`,
            })
            acked.subnets.push(text(s, 'subnet', 'subnetId'))
          }
          total++
        } catch (err) {
          // Before the kill, every create must succeed (the workload is valid).
          if (!stop) failure = err
          stop = true
          return
        }
      }
    }
    const killer = (async () => {
      while (total < 400 && !stop) await new Promise((r) => setTimeout(r, 5))
      stop = true
      server!.proc.kill('SIGKILL')
    })()
    await Promise.all([...Array.from({ length: 8 }, (_, i) => lane(i)), killer])
    if (failure !== undefined) throw failure
    assert.equal(await server.exited, 'SIGKILL')
    process.stdout.write(
      `# crash: killed after ${total} acknowledged creates: ${JSON.stringify(Object.fromEntries(Object.entries(acked).map(([k, v]) => [k, v.length])))}\n`,
    )
    client.close()

    // Restart on the same data directory: clean start, same credentials.
    server = await spawnServer(dataDir, ['--region', REGION])
    assert.deepEqual(readCredentials(dataDir), creds)
    const ec2 = new EC2Client({ endpoint: server.url, region: REGION, credentials: creds, maxAttempts: 1 })
    try {
      const {
        vpcs,
        subnets,
        enis: enisNow,
        targets,
        filters,
        rules,
        sessions,
        flowLogs,
        tags,
      } = await describeAll(ec2)
      const have = {
        vpcs: new Set(vpcs.Vpcs!.map((x) => x.VpcId!)),
        subnets: new Set(subnets.Subnets!.map((x) => x.SubnetId!)),
        enis: new Set(enisNow.NetworkInterfaces!.map((x) => x.NetworkInterfaceId!)),
        targets: new Set(targets.TrafficMirrorTargets!.map((x) => x.TrafficMirrorTargetId!)),
        filters: new Set(filters.TrafficMirrorFilters!.map((x) => x.TrafficMirrorFilterId!)),
        rules: new Set(rules.TrafficMirrorFilterRules!.map((x) => x.TrafficMirrorFilterRuleId!)),
        sessions: new Set(sessions.TrafficMirrorSessions!.map((x) => x.TrafficMirrorSessionId!)),
        flowLogs: new Set(flowLogs.FlowLogs!.map((x) => x.FlowLogId!)),
      }
      // Every acknowledged create is there.
      for (const kind of ['vpcs', 'subnets', 'filters', 'rules', 'sessions', 'flowLogs'] as const) {
        const missing = acked[kind].filter((id) => !have[kind].has(id))
        assert.deepEqual(missing, [], `acknowledged ${kind} lost after kill -9`)
      }
      assert.ok(total >= 400)
      // No half-created objects.
      for (const r of rules.TrafficMirrorFilterRules!)
        assert.ok(
          have.filters.has(r.TrafficMirrorFilterId!),
          `rule ${r.TrafficMirrorFilterRuleId} without filter`,
        )
      const rulesInFilters = new Set(
        filters.TrafficMirrorFilters!.flatMap((f) =>
          [...f.IngressFilterRules!, ...f.EgressFilterRules!].map((r) => r.TrafficMirrorFilterRuleId!),
        ),
      )
      assert.deepEqual(
        [...have.rules].filter((id) => !rulesInFilters.has(id)),
        [],
        'rules not listed in their filter',
      )
      for (const s of sessions.TrafficMirrorSessions!) {
        assert.ok(
          have.enis.has(s.NetworkInterfaceId!),
          `session ${s.TrafficMirrorSessionId} without interface`,
        )
        assert.ok(
          have.targets.has(s.TrafficMirrorTargetId!),
          `session ${s.TrafficMirrorSessionId} without target`,
        )
        assert.ok(
          have.filters.has(s.TrafficMirrorFilterId!),
          `session ${s.TrafficMirrorSessionId} without filter`,
        )
      }
      for (const s of subnets.Subnets!) assert.ok(have.vpcs.has(s.VpcId!), `subnet ${s.SubnetId} without VPC`)
      for (const f of flowLogs.FlowLogs!)
        assert.ok(have.vpcs.has(f.ResourceId!), `flow log ${f.FlowLogId} on a missing VPC`)
      const all = new Set([
        ...have.vpcs,
        ...have.subnets,
        ...have.enis,
        ...have.targets,
        ...have.filters,
        ...have.rules,
        ...have.sessions,
        ...have.flowLogs,
      ])
      for (const t of tags.Tags!) assert.ok(all.has(t.ResourceId!), `tag ${t.Key} on missing ${t.ResourceId}`)
      // A create and its TagSpecification are one transaction: every burst object carries its tag.
      for (const f of filters.TrafficMirrorFilters!) {
        if (!f.Description?.startsWith('burst-')) continue
        assert.deepEqual(
          f.Tags,
          [{ Key: 'burst', Value: f.Description.slice('burst-'.length) }],
          `filter ${f.TrafficMirrorFilterId} tags`,
        )
      }
      for (const f of flowLogs.FlowLogs!) {
        if (!f.LogDestination?.startsWith('arn:aws:s3:::burst-')) continue
        assert.deepEqual(
          f.Tags,
          [{ Key: 'burst', Value: f.LogDestination.slice('arn:aws:s3:::burst-'.length) }],
          `flow log ${f.FlowLogId} tags`,
        )
      }
      for (const v of vpcs.Vpcs!) {
        if (v.VpcId === vpc) continue
        assert.equal(
          v.Tags?.find((t) => t.Key === 'burst')?.Value !== undefined,
          true,
          `vpc ${v.VpcId} lost its tag`,
        )
      }
      // The restarted server keeps working and never reuses an id.
      client = httpClient(server.url, 4)
      const fresh = text(
        await call(client, server.url, creds, {
          Action: 'CreateTrafficMirrorFilter',
          Description: 'after-restart',
        }),
        'trafficMirrorFilter',
        'trafficMirrorFilterId',
      )
      assert.ok(!have.filters.has(fresh))
      // An SDK retry of an acknowledged create after the crash gets the same object, not a second one (§5.5).
      const [retryId, k] = [...filterTokens.entries()].at(-1)!
      const again = await call(client, server.url, creds, {
        Action: 'CreateTrafficMirrorFilter',
        Description: `burst-${k}`,
        'TagSpecification.1.ResourceType': 'traffic-mirror-filter',
        'TagSpecification.1.Tag.1.Key': 'burst',
        'TagSpecification.1.Tag.1.Value': String(k),
        ClientToken: `burst-token-${k}`,
      })
      assert.equal(text(again, 'trafficMirrorFilter', 'trafficMirrorFilterId'), retryId)
      const count = (await ec2.send(new DescribeTrafficMirrorFiltersCommand({}))).TrafficMirrorFilters!.length
      assert.equal(count, have.filters.size + 1, 'the retry created nothing')
      client.close()
    } finally {
      ec2.destroy()
      server.proc.kill('SIGTERM')
      await server.exited
    }
  },
)
