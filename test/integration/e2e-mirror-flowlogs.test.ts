// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// End to end on real namespaces, driven with the real AWS CLI (/usr/bin/aws): the lab VPC, the
// server on its management link, the mirror target in the monitoring appliance, agents in the
// web, client and monitor hosts.
// - A session created with the CLI makes the target's pcap hold exactly the mirrored packets
//   (byte for byte what tcpdump sees on the source), starting within a second; deleting it stops them.
// - A VPC flow log delivers S3-layout objects whose records equal a tshark count (flowsum.py) of
//   the same interface, per direction — across a graceful restart of the agent.
// - kill -9 of the agent: the restarted agent converges to one table and one vxlan device, and
//   removes them when the session is gone.
// The web host's agent runs with --no-enforce: its sessions mirror arriving packets, which on an
// enforced interface the user-space path serves (security-groups-agent.test.ts); here the kernel
// path is under test. The other agents enforce their VPC's default group.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { nsArgv, nsExec } from '../../src/lab/netns.ts'
import type { LabHost, VpcLab } from '../../src/lab/vpc-lab.ts'
import { readCapture } from '../../src/packet/index.ts'
import { REPO_ROOT, sharedData } from '../helpers/shared.ts'
import { AgentLab, sleep, stopChild, tcpdump, until, walk } from './agent-lab.ts'

const FLOWSUM = sharedData('tools', 'flowsum.py')
const BIN = join(REPO_ROOT, 'bin', 'mirrorflow.mjs')
let L: AgentLab
let lab: VpcLab
let dir: string
let target: ChildProcess
let vpcId = ''
const eni: Record<string, string> = {}

/**
 * Deletes to run after a test whatever its outcome, newest first (errors ignored: on success the
 * test already deleted them), so one failing test does not leave resources that fail the next.
 */
function undoList(t: { after: (fn: () => Promise<void>) => void }): string[][] {
  const undo: string[][] = []
  t.after(async () => {
    for (const args of undo.reverse()) await aws(...args).catch(() => undefined)
  })
  return undo
}

/** Runs the real AWS CLI against the server (asserts success). */
function aws(...args: string[]): Promise<Record<string, unknown>> {
  return L.aws(...args)
}

/**
 * Creates a mirror target on the monitor's interface and a filter accepting all ICMP in the given
 * directions (one rule each, numbered `ruleNumber`); queues their deletion in `undo`.
 */
async function icmpTargetAndFilter(
  undo: string[][],
  directions: string[],
  ruleNumber: string,
): Promise<{ tmt: string; tmf: string }> {
  const tmt = (
    (await aws('create-traffic-mirror-target', '--network-interface-id', eni.monitor!))
      .TrafficMirrorTarget as { TrafficMirrorTargetId: string }
  ).TrafficMirrorTargetId
  undo.push(['delete-traffic-mirror-target', '--traffic-mirror-target-id', tmt])
  const tmf = (
    (await aws('create-traffic-mirror-filter')).TrafficMirrorFilter as { TrafficMirrorFilterId: string }
  ).TrafficMirrorFilterId
  undo.push(['delete-traffic-mirror-filter', '--traffic-mirror-filter-id', tmf])
  for (const d of directions) {
    await aws(
      'create-traffic-mirror-filter-rule',
      '--traffic-mirror-filter-id',
      tmf,
      '--traffic-direction',
      d,
      '--rule-number',
      ruleNumber,
      '--rule-action',
      'accept',
      '--protocol',
      '1',
      '--source-cidr-block',
      '0.0.0.0/0',
      '--destination-cidr-block',
      '0.0.0.0/0',
    )
  }
  return { tmt, tmf }
}

/** Creates a mirror session of the web host's interface to `tmt` through `tmf`; queues its deletion. */
async function createSession(
  undo: string[][],
  tmt: string,
  tmf: string,
  sessionNumber: string,
): Promise<{ TrafficMirrorSessionId: string; VirtualNetworkId: number }> {
  const s = (
    await aws(
      'create-traffic-mirror-session',
      '--network-interface-id',
      eni.web!,
      '--traffic-mirror-target-id',
      tmt,
      '--traffic-mirror-filter-id',
      tmf,
      '--session-number',
      sessionNumber,
    )
  ).TrafficMirrorSession as { TrafficMirrorSessionId: string; VirtualNetworkId: number }
  undo.push(['delete-traffic-mirror-session', '--traffic-mirror-session-id', s.TrafficMirrorSessionId])
  return s
}

function startAgent(h: LabHost): ChildProcess {
  return L.startAgent(h, [
    '--poll-wait',
    '10',
    '--metrics',
    '127.0.0.1:9480',
    '--inventory-interval',
    '1',
    ...(h.name === 'web' ? ['--no-enforce'] : []),
  ])
}

function agentStatus(name: string): ReturnType<AgentLab['agentStatus']> {
  return L.agentStatus(name)
}

async function frames(file: string): Promise<string[]> {
  const out: string[] = []
  for await (const b of readCapture(file)) {
    for (let i = 0; i < b.count; i++)
      out.push(Buffer.from(b.bytes.subarray(b.starts[i], b.ends[i])).toString('hex'))
  }
  return out
}

before(async () => {
  L = await AgentLab.create('mfe2e')
  lab = L.lab
  dir = L.dir
  vpcId = L.vpcId
  const monitor = lab.host('monitor')
  const targs = nsArgv(monitor.ns, [
    process.execPath,
    BIN,
    'target',
    '--data-dir',
    join(dir, 'target'),
    '--no-flow-logs',
  ])
  target = spawn(targs[0]!, targs.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  target.stdout!.resume()
  let terr = ''
  target.stderr!.setEncoding('utf8').on('data', (d: string) => (terr += d))
  for (const name of ['web', 'client', 'monitor'] as const) startAgent(lab.host(name))
  await until('target', () => terr.includes('receiving VXLAN'), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}: ${terr}`)
  })
  await until('agents registered', () =>
    ['web', 'client', 'monitor'].every((n) => agentStatus(n)?.version != null),
  )
  const ifs = (await aws('describe-network-interfaces')).NetworkInterfaces as Array<{
    NetworkInterfaceId: string
    PrivateIpAddress: string
  }>
  for (const h of lab.hosts) {
    const e = ifs.find((x) => x.PrivateIpAddress === h.address)
    if (e) eni[h.name] = e.NetworkInterfaceId
  }
  assert.ok(eni.web && eni.client && eni.monitor, JSON.stringify(ifs))
  await lab.startServers(120)
})

after(async () => {
  if (target) await stopChild(target)
  await L?.close()
})

test('a session created with the AWS CLI mirrors exactly the accepted packets within a second; deleting it stops them', async (t) => {
  const undo = undoList(t)
  const web = lab.host('web')
  const client = lab.host('client')
  const { tmt, tmf } = await icmpTargetAndFilter(undo, ['ingress', 'egress'], '100')
  const pcap = join(dir, 'web-icmp.pcap')
  const dump = await tcpdump(web.ns, pcap, 'icmp')
  const s = await createSession(undo, tmt, tmf, '1')
  const created = Date.now()
  await sleep(Math.max(0, created + 1000 - Date.now()))
  await nsExec(client.ns, ['ping', '-c', '20', '-i', '0.05', '-q', web.address])
  // The agent's metrics, under AWS's names: 20 echo requests in, 20 replies out, nothing skipped.
  // (Its header capture hands packets over in libpcap blocks retired every second.)
  await sleep(1300)
  const metrics = (await nsExec(web.ns, ['curl', '-s', 'http://127.0.0.1:9480/metrics'])).stdout
  const labels = `instance_id="[^"]+",interface_id="${eni.web}",session_id="${s.TrafficMirrorSessionId}"`
  assert.match(metrics, new RegExp(`mirrorflow_NetworkPacketsMirrorIn\\{${labels}\\} 20\n`))
  assert.match(metrics, new RegExp(`mirrorflow_NetworkPacketsMirrorOut\\{${labels}\\} 20\n`))
  assert.match(metrics, new RegExp(`mirrorflow_NetworkMirrorIn\\{${labels}\\} 1960\n`))
  assert.match(metrics, new RegExp(`mirrorflow_NetworkPacketsSkipMirrorIn\\{${labels}\\} 0\n`))
  // Delete, give it the same second, then traffic that must not be mirrored.
  await sleep(300)
  await aws('delete-traffic-mirror-session', '--traffic-mirror-session-id', s.TrafficMirrorSessionId)
  await sleep(1000)
  await nsExec(client.ns, ['ping', '-c', '10', '-i', '0.05', '-q', web.address])
  await sleep(500)
  await dump.stop()
  const seen = await frames(pcap)
  assert.equal(seen.length, 60)
  const sessionDir = join(dir, 'target', 'pcap', `vni-${s.VirtualNetworkId}_${web.address}`)
  const files = readdirSync(sessionDir).map((f) => join(sessionDir, f))
  const mirrored: string[] = []
  for (const f of files) mirrored.push(...(await frames(f)))
  // Exactly the 20 requests (ingress) and 20 replies (egress), byte for byte, in order; nothing after the delete.
  assert.deepEqual(mirrored, seen.slice(0, 40))
  await until('agent removed the session', () => agentStatus('web')?.mirror.sessions === 0)
  const tables = (await nsExec(web.ns, ['nft', 'list', 'tables'])).stdout
  assert.doesNotMatch(tables, /netdev mirrorflow/)
  await aws('delete-traffic-mirror-filter', '--traffic-mirror-filter-id', tmf)
  await aws('delete-traffic-mirror-target', '--traffic-mirror-target-id', tmt)
})

interface Summed {
  [key: string]: string
}

/** Flow-log records of one interface, summed per (src dst proto sport dport) → "packets bytes". */
function flowLogSums(
  root: string,
  flowLogId: string,
  interfaceId: string,
  keep: (src: string, dst: string) => boolean,
): Summed {
  const sums = new Map<string, [number, number]>()
  const files = walk(root).filter((f) => f.includes(`_${flowLogId}_`))
  assert.ok(files.length > 0, `no objects for ${flowLogId} under ${root}`)
  for (const f of files) {
    assert.match(
      f,
      /\/AWSLogs\/123456789012\/vpcflowlogs\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/123456789012_vpcflowlogs_us-east-1_fl-[0-9a-f]{17}_\d{8}T\d{4}Z_[0-9a-f]{8}\.log\.gz$/,
    )
    const lines = gunzipSync(readFileSync(f)).toString('utf8').trim().split('\n')
    for (const line of lines.slice(1)) {
      const c = line.split(' ')
      if (c[2] !== interfaceId || c[13] !== 'OK' || !keep(c[3]!, c[4]!)) continue
      const key = [c[3], c[4], c[7], c[5], c[6]].join(' ')
      const p = sums.get(key) ?? [0, 0]
      sums.set(key, [p[0] + Number(c[8]), p[1] + Number(c[9])])
    }
  }
  return Object.fromEntries([...sums].map(([k, [p, b]]) => [k, `${p} ${b}`]))
}

/** flowsum.py (tshark) of a capture: (src dst proto sport dport) → "packets ip_bytes". */
function tsharkSums(file: string, keep: (src: string, dst: string) => boolean): Summed {
  const r = spawnSync('/usr/bin/python3', [FLOWSUM, file, '--level', 'outer'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const out: Summed = {}
  for (const line of r.stdout.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('vni\t')) continue
    const c = line.split('\t')
    if (!keep(c[1]!, c[2]!)) continue
    out[c.slice(1, 6).join(' ')] = `${c[6]} ${c[7]}`
  }
  return out
}

test('a VPC flow log: S3-layout objects whose records equal tshark per direction, across kill -9 and graceful restarts', async (t) => {
  const client = lab.host('client')
  const web = lab.host('web')
  const fl = await aws(
    'create-flow-logs',
    '--resource-type',
    'VPC',
    '--resource-ids',
    vpcId,
    '--traffic-type',
    'ALL',
    '--log-destination-type',
    's3',
    '--log-destination',
    'arn:aws:s3:::e2e-bucket/lab',
    '--max-aggregation-interval',
    '60',
  )
  const flowLogId = (fl.FlowLogIds as string[])[0]!
  undoList(t).push(['delete-flow-logs', '--flow-log-ids', flowLogId])
  // Only the lab's own flows are compared: the agent's own long-poll to the server (10.253.x) runs
  // before its capture starts and after it ends, so tcpdump would see more of it.
  const lab10 = (s: string, d: string): boolean => s.startsWith('10.0.') && d.startsWith('10.0.')
  const restartClientAgent = async (signal: NodeJS.Signals): Promise<void> => {
    await stopChild(L.agents.get('client')!, signal)
    rmSync(join(dir, 'agents', 'client', 'agent-status.json'), { force: true })
    startAgent(client)
    await until(
      'restarted agent captures',
      () => agentStatus('client')?.captures.some((c) => c.listening) === true,
    )
  }
  const pcap = join(dir, 'client-all.pcap')
  const dump = await tcpdump(client.ns, pcap, 'not (udp port 4789)')
  await until(
    'flow-log capture on the client',
    () => agentStatus('client')?.captures.some((c) => c.listening) === true,
  )
  await lab.runClients(3, { scanPorts: 50, clientIntervalMs: 100 })
  await nsExec(client.ns, ['ping', '-c', '5', '-i', '0.1', '-q', web.address])
  await sleep(1500)
  // kill -9: what the agent had read is in its journal and is replayed by the next start.
  await restartClientAgent('SIGKILL')
  await nsExec(client.ns, ['ping', '-c', '7', '-i', '0.1', '-q', web.address])
  await lab.runClients(2, { scanPorts: 20, clientIntervalMs: 100 })
  await sleep(1500)
  // Graceful restart: the open interval is written at stop, the new agent carries on.
  await restartClientAgent('SIGTERM')
  await nsExec(client.ns, ['ping', '-c', '3', '-i', '0.1', '-q', web.address])
  await lab.runClients(1, { scanPorts: 10, clientIntervalMs: 100 })
  await sleep(1500)
  await stopChild(L.agents.get('client')!)
  await sleep(300)
  await dump.stop()
  const got = flowLogSums(join(dir, 's3', 'e2e-bucket', 'lab'), flowLogId, eni.client!, lab10)
  const want = tsharkSums(pcap, lab10)
  assert.ok(Object.keys(want).length > 10)
  assert.deepEqual(got, want)
  await aws('delete-flow-logs', '--flow-log-ids', flowLogId)
})

test('kill -9 of the agent: the restarted agent converges without duplicates and removes leftovers', async (t) => {
  const undo = undoList(t)
  const web = lab.host('web')
  const { tmt, tmf } = await icmpTargetAndFilter(undo, ['ingress'], '10')
  const s = await createSession(undo, tmt, tmf, '2')
  const kernelState = async (): Promise<{ tables: number; devices: number }> => {
    const t = (await nsExec(web.ns, ['nft', 'list', 'tables'])).stdout
    const d = JSON.parse(
      (await nsExec(web.ns, ['ip', '-j', 'link', 'show', 'type', 'vxlan'])).stdout || '[]',
    ) as unknown[]
    return { tables: (t.match(/table netdev mirrorflow/g) ?? []).length, devices: d.length }
  }
  // The device is made before the table that refers to it: wait for both.
  await until('session applied', async () => {
    const k = await kernelState()
    return k.devices === 1 && k.tables === 1
  })
  await stopChild(L.agents.get('web')!, 'SIGKILL')
  assert.deepEqual(await kernelState(), { tables: 1, devices: 1 }, 'kill -9 leaves the datapath in place')
  startAgent(web)
  await until(
    'restarted agent',
    () => (agentStatus('web')?.mirror.sessions ?? 0) === 1 && agentStatus('web')!.version !== null,
  )
  await sleep(1000)
  assert.deepEqual(
    await kernelState(),
    { tables: 1, devices: 1 },
    'no duplicate table or device after restart',
  )
  // Mirrored once, not twice: 5 echo requests in, 5 datagrams at the target for this VNI.
  const before = readTargetPackets(s.VirtualNetworkId, web.address)
  await nsExec(lab.host('client').ns, ['ping', '-c', '5', '-i', '0.05', '-q', web.address])
  await until('mirrored', () => readTargetPackets(s.VirtualNetworkId, web.address) - before >= 5, 5000)
  await sleep(500)
  assert.equal(readTargetPackets(s.VirtualNetworkId, web.address) - before, 5)
  // Killed again, and the session deleted while it is down: the next start removes the leftovers.
  await stopChild(L.agents.get('web')!, 'SIGKILL')
  await aws('delete-traffic-mirror-session', '--traffic-mirror-session-id', s.TrafficMirrorSessionId)
  startAgent(web)
  await until('leftovers removed', async () => {
    const k = await kernelState()
    return k.tables === 0 && k.devices === 0
  })
  await aws('delete-traffic-mirror-filter', '--traffic-mirror-filter-id', tmf)
  await aws('delete-traffic-mirror-target', '--traffic-mirror-target-id', tmt)
})

/** Packets the target counted for one session, from its status file. */
function readTargetPackets(vni: number, source: string): number {
  try {
    const st = JSON.parse(readFileSync(join(dir, 'target', 'status.json'), 'utf8')) as {
      sessions: Array<{ vni: number; source: string; packets: number }>
    }
    return st.sessions.find((x) => x.vni === vni && x.source === source)?.packets ?? 0
  } catch {
    return 0
  }
}

test('interfaces come and go: the agent registers a new one and deregisters it once it is gone', async () => {
  const client = lab.host('client')
  // The flow-log test ends with the client's agent stopped: start it again.
  const running = L.agents.get('client')
  if (running === undefined || running.exitCode !== null || running.signalCode !== null) startAgent(client)
  const find = async (): Promise<
    { NetworkInterfaceId: string; Attachment?: { InstanceId?: string } } | undefined
  > =>
    (
      (await aws('describe-network-interfaces')).NetworkInterfaces as Array<{
        NetworkInterfaceId: string
        PrivateIpAddress: string
        Attachment?: { InstanceId?: string }
      }>
    ).find((e) => e.PrivateIpAddress === '10.0.1.31')
  // A /32 on a veth inside the client: a new interface in subnet A that changes no route.
  await nsExec(client.ns, ['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p'])
  await nsExec(client.ns, ['ip', 'addr', 'add', '10.0.1.31/32', 'dev', 'eth1'])
  await nsExec(client.ns, ['ip', 'link', 'set', 'eth1', 'up'])
  let eni1: Awaited<ReturnType<typeof find>>
  await until('eth1 registered', async () => (eni1 = await find()) !== undefined, 15_000)
  const clientInstance = (
    (await aws('describe-network-interfaces', '--network-interface-ids', eni.client!))
      .NetworkInterfaces as Array<{ Attachment?: { InstanceId?: string } }>
  )[0]!.Attachment?.InstanceId
  assert.equal(eni1!.Attachment?.InstanceId, clientInstance)
  await nsExec(client.ns, ['ip', 'link', 'del', 'eth1'])
  await until('eth1 deregistered', async () => (await find()) === undefined, 15_000)
  // eth0 is still there.
  assert.equal(
    (
      (await aws('describe-network-interfaces', '--network-interface-ids', eni.client!))
        .NetworkInterfaces as unknown[]
    ).length,
    1,
  )
})
