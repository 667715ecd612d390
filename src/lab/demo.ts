// SPDX-License-Identifier: Apache-2.0
/**
 * The demo, end to end on real namespaces: builds the lab VPC (vpc-lab.ts), starts the server on
 * the management link, a mirror target in the monitoring appliance, and one agent per host;
 * creates the VPC, subnets, mirror target, filter, rules, session and a VPC flow log through the
 * EC2 API with `@aws-sdk/client-ec2`; runs the traffic; stops everything in order (agents first, so
 * their flow-log records are written and delivered) and returns a summary.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { nodeArgv } from '../entry-points.ts'
import { gunzipSync } from 'node:zlib'
import {
  CreateFlowLogsCommand,
  CreateSubnetCommand,
  CreateTrafficMirrorFilterCommand,
  CreateTrafficMirrorFilterRuleCommand,
  CreateTrafficMirrorSessionCommand,
  CreateTrafficMirrorTargetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {
  callAction,
  signRequest,
  startServer,
  writeCredentialFiles,
  type RunningServer,
} from '../api/index.ts'
import { AuthorizeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2'
import { DEFAULT_ACCOUNT_ID } from '../flowlogs/index.ts'
import { afterDemo, awsCliCommands, DEFAULT_PORT, logsCliCommands } from './aws-cli.ts'
import { countRejects, createDemoGroups, type DemoSecurity } from './demo-security.ts'
import { DemoError } from './errors.ts'
import { detectConfig, flowLogStore, LiveDetection } from '../analytics/index.ts'
import { demoFindings, type DemoFinding } from './demo-findings.ts'
import { nsArgv, stopProcess } from './netns.ts'
import { LAB_SUBNETS, LAB_VPC_CIDR, VpcLab, type LabHost, type LabTrafficReport } from './vpc-lab.ts'

/** The port of the target's packets-on-demand service (on the monitor's address). */
export const PCAP_API_PORT = 4790

/** The bucket the demo's VPC flow log is delivered to (a local directory under DATA_DIR/s3). */
export const DEMO_BUCKET = 'mirrorflow-demo'
/** The log group the demo's second VPC flow log is delivered to (CloudWatch Logs on the server). */
export const DEMO_LOG_GROUP = '/mirrorflow/demo/vpc-flow-logs'

export interface DemoOptions {
  dataDir: string
  durationSeconds: number
  /** Namespace/interface name prefix (at most 12 characters). */
  prefix: string
  /** Called with progress lines (the CLI prints them on stderr). */
  log: (line: string) => void
  /** Called with lines meant to be copied as they are, such as commands (default: `log`). */
  print?: (line: string) => void
  /** Resolves when the user asks to stop early (Ctrl-C). */
  interrupted?: Promise<void>
  /** Ports the attacker scans (1..N). */
  scanPorts?: number
  /**
   * Called once the traffic has run, with everything still up (server, console, agents, target):
   * the demo waits for it before it stops (`mirrorflow demo --console` waits for Ctrl-C; tests drive
   * the console).
   */
  console?: (c: DemoConsole) => Promise<void>
}

/** What the console phase of the demo gets. */
export interface DemoConsole {
  endpoint: string
  consoleUrl: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  credentialsFile: string
  dataDir: string
  vpcId: string
  targetId: string
  flowLogId: string
  /** Each host: its namespace, address and network interface id. */
  hosts: Record<string, { ns: string; address: string; networkInterfaceId: string }>
  /** Where the target writes its status file. */
  targetStatusFile: string
}

export interface DemoSummary {
  dataDir: string
  durationSeconds: number
  endpoint: string
  vpcId: string
  subnetIds: string[]
  instances: Record<string, { instanceId: string; networkInterfaceId: string; address: string }>
  mirror: {
    targetId: string
    filterId: string
    sessions: Array<{
      sessionId: string
      source: string
      vni: number
      packetsMirrored: number
      bytesMirrored: number
      pcapFiles: string[]
    }>
  }
  flowLogs: Array<{ flowLogId: string; destination: string; files: string[]; records: number }>
  /** The security groups made (or why not) and the REJECT records the flow log holds. */
  security: DemoSecurity & { rejectRecords: number; rejectPackets: number; commands: string[] }
  traffic: LabTrafficReport
  target: {
    statusFile: string
    datagrams: number
    malformed: Record<string, number>
    drops: Record<string, number>
  }
  /** GuardDuty findings of the demo's detector (the attacker's scan and SSH guessing), highest severity first. */
  detectorId: string
  findings: DemoFinding[]
  /** AWS CLI commands against the running demo (each line self-contained). */
  awsCli: string[]
  /** After the demo: the command that starts the server on its data directory, then commands against it. */
  afterDemo: string[]
}

interface Proc {
  name: string
  child: ChildProcess
  out: string
  err: string
  exited: Promise<number | null>
}

function start(ns: string, name: string, args: string[]): Proc {
  const argv = nsArgv(ns, [...nodeArgv('cli'), ...args])
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  const p: Proc = {
    name,
    child,
    out: '',
    err: '',
    exited: new Promise((r) => child.once('exit', (c) => r(c))),
  }
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (p.out += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (p.err += d))
  return p
}

/** Resolves after `ms` without keeping the process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref())
}

async function waitFor(p: Proc, text: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!p.err.includes(text) && !p.out.includes(text)) {
    if (p.child.exitCode !== null)
      throw new DemoError(`${p.name} exited (${p.child.exitCode}): ${p.err.trim()}`)
    if (Date.now() > end)
      throw new DemoError(`${p.name} did not start within ${timeoutMs} ms: ${p.err.trim()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function walk(dir: string, out: string[] = []): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const n of names.sort()) {
    const p = join(dir, n)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (!n.startsWith('.')) out.push(p)
  }
  return out
}

/** Records (lines after the header) in a delivered flow-log object. */
export function countRecords(file: string): number {
  const text = gunzipSync(readFileSync(file)).toString('utf8').trim()
  return Math.max(0, text.split('\n').length - 1)
}

/** Runs the whole demo; always tears everything down before it resolves or rejects. */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const dataDir = resolve(o.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const t0 = Date.now()
  const log = (l: string): void => o.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${l}`)
  log(`building the lab VPC (namespaces ${o.prefix}-*)`)
  const lab = await VpcLab.create(o.prefix)
  lab.cleanupOnExit()
  const procs: Proc[] = []
  let server: RunningServer | null = null
  let ec2: EC2Client | null = null
  let live: LiveDetection | null = null
  try {
    server = await startServer({
      dataDir: join(dataDir, 'server'),
      host: lab.mgmtAddress,
      port: 0,
      // The console's charts and flow search read the flow logs the agents deliver.
      analytics: flowLogStore([join(dataDir, 's3')]),
    })
    // A GuardDuty detector, and live detection over the bucket directory the agents deliver to.
    const detectorId = server.cp.guardduty.createDetector({ enable: true }).id
    live = new LiveDetection({ cp: server.cp, dirs: [join(dataDir, 's3')], config: detectConfig() })
    live.start()
    const endpoint = server.url
    log(`server listening on ${endpoint} (credentials: ${server.credentialsFile}, profile mirrorflow)`)
    log(
      `web console: ${endpoint}/console/ — sign in with access key ID ${server.credentials.accessKeyId} and secret access key ${server.credentials.secretAccessKey}`,
    )
    // The SDK warns once that *future* SDK releases will need Node 22; ours is pinned and runs on
    // Node 20 (package.json engines), so the notice would only be noise in the demo's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    ec2 = new EC2Client({
      endpoint,
      region: 'us-east-1',
      credentials: server.credentials,
      maxAttempts: 1,
    })
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: LAB_VPC_CIDR }))
    const vpcId = vpc.Vpc!.VpcId!
    const subnetIds: string[] = []
    for (const cidr of [LAB_SUBNETS.a, LAB_SUBNETS.b]) {
      const s = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr }))
      subnetIds.push(s.Subnet!.SubnetId!)
    }
    log(`created ${vpcId} with subnets ${subnetIds.join(', ')}`)

    const monitor = lab.host('monitor')
    // The server (on the host) reaches the appliance's packet service through the lab's router, which
    // forwards its management address's port to the monitor (no route to a lab address on the host:
    // labs run side by side with the same VPC addresses).
    const pcapApiHost = await lab.forwardTcp('monitor', PCAP_API_PORT)
    const target = start(monitor.ns, 'target', [
      'target',
      '--listen',
      '0.0.0.0:4789',
      '--data-dir',
      join(dataDir, 'target'),
      '--account-id',
      '123456789012',
      // Packets on demand: the server fetches a flow's frames from the rings.
      '--pcap-api',
      `${monitor.address}:${PCAP_API_PORT}`,
      '--pcap-api-advertise',
      pcapApiHost,
      '--server',
      endpoint,
      '--credentials-file',
      server.credentialsFile,
      '--name',
      'demo-monitor',
    ])
    procs.push(target)
    await waitFor(target, 'receiving VXLAN', 60_000)
    log(`mirror target receiving VXLAN on ${monitor.address}:4789 (in ${monitor.ns})`)

    const agents = new Map<LabHost['name'], Proc>()
    for (const h of lab.hosts) {
      // Each agent gets its own agent key: it can change nothing but its own instance's registration.
      const made = (await callAction(
        endpoint,
        { ...server.credentials, region: 'us-east-1' },
        'MirrorflowCreateAccessKey',
        { Agent: 'true', Description: `demo agent of ${h.name}` },
      )) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }
      const keyDir = join(dataDir, 'agents', `${h.name}-key`)
      mkdirSync(keyDir, { recursive: true, mode: 0o700 })
      const keyFile = writeCredentialFiles(
        keyDir,
        { accessKeyId: made.AccessKey.AccessKeyId, secretAccessKey: made.AccessKey.SecretAccessKey },
        'us-east-1',
      )
      const a = start(h.ns, `agent ${h.name}`, [
        'agent',
        '--server',
        endpoint,
        '--credentials-file',
        keyFile,
        '--data-dir',
        join(dataDir, 'agents', h.name),
        '--s3-dir',
        join(dataDir, 's3'),
        '--hostname',
        h.name,
        '--poll-wait',
        '10',
      ])
      agents.set(h.name, a)
      procs.push(a)
    }
    for (const a of agents.values()) await waitFor(a, 'registered', 60_000)
    const enis = await ec2.send(new DescribeNetworkInterfacesCommand({}))
    const instances: DemoSummary['instances'] = {}
    for (const h of lab.hosts) {
      const e = enis.NetworkInterfaces?.find((x) => x.PrivateIpAddress === h.address)
      if (e === undefined) throw new DemoError(`the agent of ${h.name} did not register ${h.address}`)
      instances[h.name] = {
        instanceId: e.Attachment?.InstanceId ?? '',
        networkInterfaceId: e.NetworkInterfaceId!,
        address: h.address,
      }
    }
    log(
      `agents registered ${lab.hosts.length} instances: ${lab.hosts.map((h) => `${h.name}=${instances[h.name]!.instanceId}`).join(' ')}`,
    )

    const security = await createDemoGroups(ec2, vpcId, {
      web: instances.web!.networkInterfaceId,
      db: instances.db!.networkInterfaceId,
      monitor: instances.monitor!.networkInterfaceId,
    })
    if (security.groups !== null)
      log(
        `security groups: web ${security.groups.web} (80/443 from anywhere, 22 from the admin subnet), db ${security.groups.db} (5432 from the web group), monitor ${security.groups.monitor} (UDP 4789 from the VPC)`,
      )
    else log(`security groups not created (the server does not offer them): ${security.unavailable}`)
    if (security.groups !== null) {
      // The monitor's group lets the server's packet requests in (packets on demand).
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: security.groups.monitor,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: PCAP_API_PORT,
              ToPort: PCAP_API_PORT,
              IpRanges: [
                { CidrIp: `${lab.mgmtAddress}/32`, Description: 'mirrorflow server: packets on demand' },
              ],
            },
          ],
        }),
      )
    }

    const tmt = await ec2.send(
      new CreateTrafficMirrorTargetCommand({
        NetworkInterfaceId: instances.monitor!.networkInterfaceId,
        Description: 'monitoring appliance',
      }),
    )
    const targetId = tmt.TrafficMirrorTarget!.TrafficMirrorTargetId!
    const tmf = await ec2.send(new CreateTrafficMirrorFilterCommand({ Description: 'all TCP, UDP and ICMP' }))
    const filterId = tmf.TrafficMirrorFilter!.TrafficMirrorFilterId!
    for (const dir of ['ingress', 'egress'] as const) {
      await ec2.send(
        new CreateTrafficMirrorFilterRuleCommand({
          TrafficMirrorFilterId: filterId,
          TrafficDirection: dir,
          RuleNumber: 100,
          RuleAction: 'accept',
          SourceCidrBlock: '0.0.0.0/0',
          DestinationCidrBlock: '0.0.0.0/0',
        }),
      )
    }
    const sessions: DemoSummary['mirror']['sessions'] = []
    const tms = await ec2.send(
      new CreateTrafficMirrorSessionCommand({
        NetworkInterfaceId: instances.web!.networkInterfaceId,
        TrafficMirrorTargetId: targetId,
        TrafficMirrorFilterId: filterId,
        SessionNumber: 1,
        Description: 'web server → monitor',
      }),
    )
    sessions.push({
      sessionId: tms.TrafficMirrorSession!.TrafficMirrorSessionId!,
      source: 'web',
      vni: tms.TrafficMirrorSession!.VirtualNetworkId!,
      packetsMirrored: 0,
      bytesMirrored: 0,
      pcapFiles: [],
    })
    log(
      `mirroring web (${instances.web!.networkInterfaceId}) to ${targetId} with ${filterId}: session ${sessions[0]!.sessionId}, VNI ${sessions[0]!.vni}`,
    )
    const fl = await ec2.send(
      new CreateFlowLogsCommand({
        ResourceType: 'VPC',
        ResourceIds: [vpcId],
        TrafficType: 'ALL',
        LogDestinationType: 's3',
        LogDestination: `arn:aws:s3:::${DEMO_BUCKET}/flowlogs`,
        MaxAggregationInterval: 60,
      }),
    )
    const flowLogId = fl.FlowLogIds![0]!
    log(
      `VPC flow log ${flowLogId} → arn:aws:s3:::${DEMO_BUCKET}/flowlogs (delivered to ${join(dataDir, 's3', DEMO_BUCKET)})`,
    )
    // The second flow log: the same VPC into a CloudWatch Logs log group (a stream per interface).
    await logsCall(endpoint, server.credentials, 'CreateLogGroup', { logGroupName: DEMO_LOG_GROUP })
    // Its IAM role, as AWS wants it: trusted by vpc-flow-logs.amazonaws.com, allowed to write logs.
    const demoRole =
      server.cp.iam.findRole('mirrorflow-demo-flow-logs') ??
      server.cp.iam.createRole(
        'mirrorflow-demo-flow-logs',
        '/',
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
        'mirrorflow demo: VPC flow logs to CloudWatch Logs',
        3600,
        [],
      )
    server.cp.iam.putInline(
      'role',
      demoRole.name,
      'deliver-flow-logs',
      JSON.stringify({
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
    )
    const cwl = await ec2.send(
      new CreateFlowLogsCommand({
        ResourceType: 'VPC',
        ResourceIds: [vpcId],
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
        LogGroupName: DEMO_LOG_GROUP,
        DeliverLogsPermissionArn: demoRole.arn,
        MaxAggregationInterval: 60,
      }),
    )
    const cwlFlowLogId = cwl.FlowLogIds![0]!
    log(
      `VPC flow log ${cwlFlowLogId} → CloudWatch Logs log group ${DEMO_LOG_GROUP} (a log stream per interface)`,
    )
    const target0 = { serverDataDir: join(dataDir, 'server'), endpoint, subnetId: subnetIds[0]! }
    const awsCli = [...awsCliCommands(target0), ...logsCliCommands(target0, DEMO_LOG_GROUP)]
    // Raw lines, no log prefix: each can be pasted into any shell as it is.
    const print = o.print ?? o.log
    print('')
    print('AWS CLI commands, while the demo runs (each line works on its own, in any shell):')
    for (const c of awsCli) print(c)
    print('')

    // Give the agents a moment to apply the session and start the flow-log captures.
    await new Promise((r) => setTimeout(r, 1500))
    log(`traffic for ${o.durationSeconds} s: client → web → db, attacker scanning web and trying SSH logins`)
    await lab.startServers(o.durationSeconds)
    const stopEarly = o.interrupted ?? new Promise<void>(() => undefined)
    const traffic = await Promise.race([
      lab.runClients(o.durationSeconds, { scanPorts: o.scanPorts ?? 1024 }),
      stopEarly.then(() => ({ client: null, attacker: null }) as LabTrafficReport),
    ])
    await lab.stopTraffic()
    await new Promise((r) => setTimeout(r, 500))
    if (o.console !== undefined) {
      const hosts: DemoConsole['hosts'] = {}
      for (const h of lab.hosts)
        hosts[h.name] = {
          ns: h.ns,
          address: h.address,
          networkInterfaceId: instances[h.name]!.networkInterfaceId,
        }
      await o.console({
        endpoint,
        consoleUrl: `${endpoint}/console/`,
        credentials: server.credentials,
        credentialsFile: server.credentialsFile,
        dataDir,
        vpcId,
        targetId,
        flowLogId,
        hosts,
        targetStatusFile: join(dataDir, 'target', 'status.json'),
      })
    }

    log('stopping agents (their open flow-log intervals are written and delivered), then the target')
    for (const a of agents.values()) a.child.kill('SIGTERM')
    for (const a of agents.values()) await Promise.race([a.exited, delay(15_000)])
    log('agents stopped')
    target.child.kill('SIGTERM')
    await Promise.race([target.exited, delay(10_000)])
    log('target stopped')
    const tstatus = JSON.parse(target.out) as {
      datagrams: number
      malformed: Record<string, number>
      drops: Record<string, number>
      sessions: Array<{ vni: number; packets: number; bytes: number; files: Array<{ path: string }> }>
    }
    for (const s of sessions) {
      for (const ts of tstatus.sessions.filter((x) => x.vni === s.vni)) {
        s.packetsMirrored += ts.packets
        s.bytesMirrored += ts.bytes
        s.pcapFiles.push(...ts.files.map((f) => f.path))
      }
    }
    // The last objects were delivered as the agents stopped: let live detection read them.
    for (let i = 0; i < 3; i++) {
      await live.poll()
      await delay(300)
    }
    const findings = demoFindings(server.cp.guardduty, detectorId)
    log(`GuardDuty detector ${detectorId}: ${findings.length} finding(s)`)
    for (const f of findings)
      log(`  ${f.type} (severity ${f.severity}, ${f.role}) local ${f.local} remote ${f.remote}`)
    const files = walk(join(dataDir, 's3', DEMO_BUCKET)).filter((f) => f.includes(`_${flowLogId}_`))
    const logEvents = await countLogEvents(endpoint, server.credentials, DEMO_LOG_GROUP)
    const rejects = countRejects(files)
    const summary: DemoSummary = {
      dataDir,
      durationSeconds: o.durationSeconds,
      endpoint,
      vpcId,
      subnetIds,
      instances,
      mirror: { targetId, filterId, sessions },
      flowLogs: [
        {
          flowLogId,
          destination: `arn:aws:s3:::${DEMO_BUCKET}/flowlogs`,
          files,
          records: files.reduce((n, f) => n + countRecords(f), 0),
        },
        {
          flowLogId: cwlFlowLogId,
          destination: `arn:aws:logs:us-east-1:${DEFAULT_ACCOUNT_ID}:log-group:${DEMO_LOG_GROUP}`,
          files: [],
          records: logEvents,
        },
      ],
      security: {
        ...security,
        rejectRecords: rejects.records,
        rejectPackets: rejects.packets,
        commands: [
          `aws ec2 describe-security-groups --endpoint-url ${endpoint} --profile mirrorflow --region us-east-1`,
          `zcat ${join(dataDir, 's3', DEMO_BUCKET)}/flowlogs/AWSLogs/*/vpcflowlogs/*/*/*/*/*.log.gz | awk '$13 == "REJECT"'`,
        ],
      },
      traffic,
      target: {
        statusFile: join(dataDir, 'target', 'status.json'),
        datagrams: tstatus.datagrams,
        malformed: tstatus.malformed,
        drops: tstatus.drops,
      },
      detectorId,
      findings,
      awsCli,
      afterDemo: afterDemo(join(dataDir, 'server'), DEFAULT_PORT, subnetIds[0]),
    }
    return summary
  } catch (err) {
    const e = err as Error & { Code?: string }
    throw new DemoError(`demo failed: ${e.Code !== undefined ? `${e.Code}: ` : ''}${e.message}`, {
      cause: err,
    })
  } finally {
    live?.stop()
    await Promise.all(procs.map((p) => stopProcess(p.child, 3000)))
    ec2?.destroy()
    if (server !== null) await server.close().catch(() => undefined)
    log('server closed')
    await lab.cleanup()
    log('lab removed')
  }
}

/** One CloudWatch Logs call (JSON 1.1, SigV4 for `logs`) to the demo's server. */
async function logsCall(
  endpoint: string,
  creds: { accessKeyId: string; secretAccessKey: string },
  action: string,
  input: object,
): Promise<Record<string, unknown>> {
  const url = new URL(endpoint)
  const body = JSON.stringify(input)
  const headers = signRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${action}` },
    body,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    region: 'us-east-1',
    service: 'logs',
  })
  delete headers.host
  const res = await fetch(url, { method: 'POST', headers, body })
  const text = await res.text()
  if (!res.ok) throw new DemoError(`CloudWatch Logs ${action}: ${text.slice(0, 300)}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** Events the demo's log group holds (every stream, all pages). */
async function countLogEvents(
  endpoint: string,
  creds: { accessKeyId: string; secretAccessKey: string },
  group: string,
): Promise<number> {
  let n = 0
  let nextToken: string | undefined
  for (let page = 0; page < 1000; page++) {
    const r = await logsCall(endpoint, creds, 'FilterLogEvents', {
      logGroupName: group,
      ...(nextToken ? { nextToken } : {}),
    })
    n += (r.events as unknown[]).length
    nextToken = r.nextToken as string | undefined
    if (nextToken === undefined) break
  }
  return n
}
