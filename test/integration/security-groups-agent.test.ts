// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// The agent enforces what the server's desired state says, end to end: the lab VPC, the server on
// its management link, an agent on the web host only. The web server's interface is in its VPC's
// default security group (inbound only from the group's members), so the attacker — no member —
// is dropped, while the web server's own connections out (and their answers) pass. Two flow logs
// made with the real AWS CLI, one ALL and one REJECT, must hold exactly what the kernel did,
// counted against tcpdump on the attacker. The web interface is also mirrored (every ICMP and TCP
// packet, both directions) to the monitor: a packet the group drops on its way in never reaches
// the target, as on AWS; the accepted ones all do. A rule by managed prefix list (TCP 8080 from the
// list's blocks) then admits the attacker while the list holds its address, and drops it again once
// a ModifyManagedPrefixList removes the address: the agent re-applies as for any group change.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { defaultGroupIdOf } from '../../src/control/index.ts'
import { nsExec, run } from '../../src/lab/netns.ts'
import { AgentLab, sleep, tcpdump, until } from './agent-lab.ts'

let L: AgentLab

before(async () => {
  L = await AgentLab.create('mfsga')
})

after(async () => {
  await L?.close()
})

/** Frames of a capture file matching a display filter. */
async function count(pcap: string, filter: string): Promise<number> {
  const { stdout } = await run(['tshark', '-r', pcap, '-Y', filter, '-T', 'fields', '-e', 'frame.number'])
  return stdout.split('\n').filter((l) => l !== '').length
}

/** A mirror target on the monitor's address (an interface made by API) and a filter of ICMP and TCP, both ways. */
async function mirrorToMonitor(eni: string): Promise<void> {
  const subnets = (await L.aws('describe-subnets')).Subnets as Array<{ SubnetId: string; CidrBlock: string }>
  const subnetB = subnets.find((s) => s.CidrBlock === '10.0.2.0/24')!.SubnetId
  const monitorEni = (
    (
      await L.aws(
        'create-network-interface',
        '--subnet-id',
        subnetB,
        '--private-ip-address',
        L.lab.host('monitor').address,
      )
    ).NetworkInterface as { NetworkInterfaceId: string }
  ).NetworkInterfaceId
  const tmt = (
    (await L.aws('create-traffic-mirror-target', '--network-interface-id', monitorEni))
      .TrafficMirrorTarget as {
      TrafficMirrorTargetId: string
    }
  ).TrafficMirrorTargetId
  const tmf = (
    (await L.aws('create-traffic-mirror-filter')).TrafficMirrorFilter as { TrafficMirrorFilterId: string }
  ).TrafficMirrorFilterId
  for (const dir of ['ingress', 'egress'])
    for (const [n, proto] of [
      ['10', '1'],
      ['20', '6'],
    ] as const)
      await L.aws(
        'create-traffic-mirror-filter-rule',
        '--traffic-mirror-filter-id',
        tmf,
        '--traffic-direction',
        dir,
        '--rule-number',
        n,
        '--rule-action',
        'accept',
        '--protocol',
        proto,
        '--source-cidr-block',
        '0.0.0.0/0',
        '--destination-cidr-block',
        '0.0.0.0/0',
      )
  await L.aws(
    'create-traffic-mirror-session',
    '--network-interface-id',
    eni,
    '--traffic-mirror-target-id',
    tmt,
    '--traffic-mirror-filter-id',
    tmf,
    '--session-number',
    '1',
  )
}

test('the default group drops the attacker (REJECT in both flow logs, never mirrored), the web server’s own pings pass (ACCEPT, mirrored)', async () => {
  const web = L.lab.host('web')
  const attacker = L.lab.host('attacker')
  const monitor = L.lab.host('monitor')
  L.startAgent(web, ['--poll-wait', '5'])
  // The prefix list of the last part, made while the agent starts (an unreferenced list changes nothing).
  const plCreated = L.aws(
    'create-managed-prefix-list',
    '--prefix-list-name',
    'admins',
    '--address-family',
    'IPv4',
    '--max-entries',
    '2',
    '--entries',
    `Cidr=${attacker.address}/32`,
    'Cidr=192.0.2.0/24',
  )
  plCreated.catch(() => undefined) // awaited (and its failure reported) below
  await until('enforcement', () => (L.agentStatus('web')?.security.interfaces.length ?? 0) === 1, 30_000)
  const eni = L.agentStatus('web')!.security.interfaces[0]!
  for (const [tt, bucket] of [
    ['ALL', 'sg-all'],
    ['REJECT', 'sg-rej'],
  ] as const)
    await L.aws(
      'create-flow-logs',
      '--resource-type',
      'NetworkInterface',
      '--resource-ids',
      eni,
      '--traffic-type',
      tt,
      '--log-destination-type',
      's3',
      '--log-destination',
      `arn:aws:s3:::${bucket}/fl`,
      '--max-aggregation-interval',
      '60',
    )
  await mirrorToMonitor(eni)
  await until(
    'verdict capture and mirror worker',
    () => {
      const s = L.agentStatus('web')
      const c = s?.captures.find((x) => x.ifname === 'eth0')
      return (
        s?.flowLogs.length === 2 &&
        c?.listening === true &&
        c.nflogGroup > 0 &&
        s.mirror.sessions === 1 &&
        s.mirror.userspaceSources.includes(eni)
      )
    },
    30_000,
  )
  const st = L.agentStatus('web')!
  assert.equal(st.captures.find((x) => x.ifname === 'eth0')!.verdictFallback, '')
  // An enforced interface with ingress mirroring is served by the user-space path (the kernel's
  // netdev ingress hook would copy the frame before the security group decides).
  assert.deepEqual([st.mirror.kernelSources, st.mirror.userspaceSources], [[], [eni]])

  // The monitor consumes the mirror copies as a target appliance does: with nothing listening on
  // UDP 4789 its kernel would answer each with an ICMP port unreachable, which quotes the copy (and
  // the packet inside it) and, arriving at the mirrored interface, is mirrored in turn.
  await nsExec(monitor.ns, ['nft', 'add table inet mfsga_sink'])
  await nsExec(monitor.ns, ['nft', 'add chain inet mfsga_sink in { type filter hook input priority 0; }'])
  await nsExec(monitor.ns, ['nft', 'add rule inet mfsga_sink in udp dport 4789 drop'])
  const pcap = join(L.dir, 'attacker.pcap')
  const mirrored = join(L.dir, 'monitor.pcap')
  const td = await tcpdump(attacker.ns, pcap, 'ip')
  const tm = await tcpdump(monitor.ns, mirrored, 'udp port 4789')
  await sleep(300)
  await nsExec(attacker.ns, ['ping', '-c', '3', '-i', '0.2', '-W', '1', web.address]).catch(() => undefined)
  const ssh = await nsExec(attacker.ns, [
    'timeout',
    '5',
    'bash',
    '-c',
    `echo > /dev/tcp/${web.address}/22`,
  ]).then(
    () => 'open',
    (e: Error) => (/refused/.test(e.message) ? 'refused' : 'dropped'),
  )
  assert.equal(ssh, 'dropped')
  await nsExec(web.ns, ['ping', '-c', '2', '-i', '0.2', '-W', '1', attacker.address])
  await sleep(500)
  await td.stop()
  await tm.stop()
  const echoRequests = await count(pcap, `icmp.type == 8 && ip.src == ${attacker.address}`)
  const echoReplies = await count(pcap, `icmp.type == 0 && ip.src == ${attacker.address}`)
  const syns = await count(pcap, 'tcp.dstport == 22 && tcp.flags.syn == 1')
  const webRequests = await count(pcap, `icmp.type == 8 && ip.src == ${web.address}`)
  assert.equal(echoRequests, 3)
  assert.ok(syns >= 1)
  assert.equal(webRequests, 2, 'the web server’s two pings reached the attacker')
  assert.equal(echoReplies, 2, 'and the attacker answered both')
  assert.equal(
    await count(pcap, `icmp.type == 0 && ip.src == ${web.address}`),
    0,
    'the web server never answered',
  )

  // The mirror: what the group let in or out, nothing it dropped on the way in. (The outer source is
  // the web server and the outer destination the monitor, so inner addresses are told apart by the
  // attacker's address.)
  assert.equal(await count(mirrored, 'icmp.type == 3'), 0, 'no ICMP error quoting a copy')
  assert.equal(await count(mirrored, `vxlan && icmp.type == 8 && ip.src == ${attacker.address}`), 0)
  assert.equal(await count(mirrored, `vxlan && tcp.dstport == 22`), 0)
  assert.equal(await count(mirrored, `vxlan && icmp.type == 8 && ip.dst == ${attacker.address}`), webRequests)
  assert.equal(await count(mirrored, `vxlan && icmp.type == 0 && ip.src == ${attacker.address}`), echoReplies)

  // The rule by prefix list: TCP 8080 (nothing listens there, so an admitted SYN is answered by a
  // reset, "refused", at once; a dropped one times out after a second).
  const probe8080 = () =>
    nsExec(attacker.ns, ['timeout', '1', 'bash', '-c', `echo > /dev/tcp/${web.address}/8080`]).then(
      () => 'open',
      (e: Error) => (/refused/.test(e.message) ? 'refused' : 'dropped'),
    )
  const elements = () => L.agentStatus('web')?.security.elements ?? -1
  const pl = ((await plCreated).PrefixList as { PrefixListId: string }).PrefixListId
  const e0 = elements()
  await L.aws(
    'authorize-security-group-ingress',
    '--group-id',
    defaultGroupIdOf(L.vpcId),
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=8080,ToPort=8080,PrefixListIds=[{PrefixListId=${pl}}]`,
  )
  await until('the rule by prefix list applied', () => elements() !== e0, 15_000)
  assert.equal(await probe8080(), 'refused', 'the list holds the attacker: admitted')
  const e1 = elements()
  await L.aws(
    'modify-managed-prefix-list',
    '--prefix-list-id',
    pl,
    '--current-version',
    '1',
    '--remove-entries',
    `Cidr=${attacker.address}/32`,
  )
  await until('the list modification applied', () => elements() !== e1, 15_000)
  assert.equal(await probe8080(), 'dropped', 'the attacker left the list: dropped')

  const agent = L.agents.get('web')!
  agent.kill('SIGTERM')
  await new Promise((r) => agent.once('exit', r))
  const agentErr = L.agentLogs.get('web') ?? ''
  const all = L.records('sg-all').filter(
    (r) => r['srcaddr'] === attacker.address || r['dstaddr'] === attacker.address,
  )
  const pick = (src: string, proto: string, action: string, dport?: string) =>
    all
      .filter((r) => r['srcaddr'] === src && r['protocol'] === proto && r['action'] === action)
      .filter((r) => dport === undefined || r['dstport'] === dport)
      .reduce((n, r) => n + Number(r['packets']), 0)
  // ICMP attacker → web: its 3 requests rejected, its 2 answers to the web server's pings accepted.
  assert.equal(pick(attacker.address, '1', 'REJECT'), echoRequests, agentErr)
  assert.equal(pick(attacker.address, '1', 'ACCEPT'), echoReplies)
  assert.equal(pick(web.address, '1', 'ACCEPT'), webRequests, 'the web server’s own requests')
  assert.equal(pick(web.address, '1', 'REJECT'), 0)
  assert.equal(pick(attacker.address, '6', 'REJECT', '22'), syns)
  assert.equal(pick(attacker.address, '6', 'ACCEPT', '22'), 0)
  const rej = L.records('sg-rej').filter((r) => r['log-status'] === 'OK')
  assert.ok(rej.length >= 2)
  assert.deepEqual(
    [...new Set(rej.map((r) => r['action']))],
    ['REJECT'],
    'a REJECT flow log holds only REJECT records',
  )
  assert.equal(
    rej
      .filter((r) => r['srcaddr'] === attacker.address && r['dstport'] === '22')
      .reduce((n, r) => n + Number(r['packets']), 0),
    syns,
  )
  // The agent's graceful stop removed its table.
  assert.equal((await nsExec(web.ns, ['nft', 'list', 'tables'])).stdout.includes('mirrorflow_sg'), false)
})
