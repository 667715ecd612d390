// SPDX-License-Identifier: Apache-2.0
// test-group: process
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { readCapture } from '../packet/index.ts'
import { hasCode } from '../errors.ts'
import { LocalBucketStore, SpoolDeliverer } from '../flowlogs/index.ts'
import { toMirrorState, type DesiredState } from './desired.ts'
import { FlowLogRunner } from './flowlog-runner.ts'
import { parseIpAddr } from './inventory.ts'
import type { DesiredInterfaceSecurity } from '../control/index.ts'
/** An interface in no restrictive group, in a subnet whose ACL allows everything. */
const OPEN_SECURITY: DesiredInterfaceSecurity = {
  securityGroups: [{ groupId: 'sg-1', groupName: 'default' }],
  ingressRules: [],
  egressRules: [],
  networkAcl: { networkAclId: 'acl-1', isDefault: true, ingress: [], egress: [] },
  sourceDestCheck: true,
}

const SAMPLE = new URL('../packet/testdata/sample.pcap', import.meta.url).pathname
const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mf-agent-unit-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
function walk(d: string): string[] {
  if (!existsSync(d)) return []
  return readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]))
}

describe('inventory', () => {
  test('parseIpAddr keeps addressed interfaces, skips loopback and our vxlan devices', () => {
    const json = JSON.stringify([
      {
        ifindex: 1,
        ifname: 'lo',
        link_type: 'loopback',
        address: '00:00:00:00:00:00',
        addr_info: [{ family: 'inet', local: '127.0.0.1' }],
      },
      {
        ifindex: 2,
        ifname: 'eth0',
        link_type: 'ether',
        address: '02:00:0A:00:01:0A',
        addr_info: [
          { family: 'inet', local: '10.0.1.10' },
          { family: 'inet', local: '10.0.1.11', secondary: true },
          { family: 'inet6', local: 'fe80::1', scope: 'link' },
          { family: 'inet6', local: '2001:db8::10', scope: 'global' },
        ],
      },
      {
        ifindex: 3,
        ifname: 'mfv1234abcd0',
        link_type: 'ether',
        address: '02:00:00:00:00:01',
        addr_info: [{ family: 'inet', local: '1.1.1.1' }],
      },
      { ifindex: 4, ifname: 'eth1', link_type: 'ether', address: '02:00:00:00:00:02', addr_info: [] },
    ])
    assert.deepEqual(parseIpAddr(json), [
      {
        name: 'eth0',
        mac: '02:00:0a:00:01:0a',
        ipv4: ['10.0.1.10', '10.0.1.11'],
        ipv6: ['2001:db8::10'],
        index: 2,
      },
    ])
  })
})

describe('desired state → mirror state', () => {
  const rule = (n: number, action: 'accept' | 'reject', protocol: number | null) => ({
    ruleId: `tmfr-${n}`,
    ruleNumber: n,
    ruleAction: action,
    protocol,
    sourceCidrBlock: '0.0.0.0/0',
    destinationCidrBlock: '10.0.0.0/16',
    sourcePortRange: null,
    destinationPortRange: protocol === 6 ? { fromPort: 80, toPort: 80 } : null,
  })
  const desired: DesiredState = {
    instanceId: 'i-1',
    hostname: 'web',
    accountId: '123456789012',
    region: 'us-east-1',
    interfaces: [
      {
        networkInterfaceId: 'eni-web',
        deviceName: 'eth0',
        macAddress: '02:00:0A:00:01:0A',
        privateIpAddress: '10.0.1.10',
        secondaryPrivateIpAddresses: [],
        ipv6Addresses: [],
        subnetId: 'subnet-a',
        vpcId: 'vpc-1',
        targetIds: [],
        security: OPEN_SECURITY,
        flowLogs: [],
        sessions: [
          {
            sessionId: 'tms-1',
            sessionNumber: 1,
            virtualNetworkId: 77,
            packetLength: null,
            target: {
              targetId: 'tmt-1',
              type: 'network-interface',
              networkInterfaceId: 'eni-mon',
              networkLoadBalancerArn: null,
              gatewayLoadBalancerEndpointId: null,
              addresses: ['10.0.2.100'],
            },
            filter: {
              filterId: 'tmf-1',
              networkServices: ['amazon-dns'],
              ingressRules: [rule(10, 'reject', 1), rule(20, 'accept', 6)],
              egressRules: [],
            },
          },
        ],
      },
      {
        networkInterfaceId: 'eni-elsewhere',
        deviceName: 'eth9',
        macAddress: '02:00:00:00:00:99',
        privateIpAddress: '10.0.1.99',
        secondaryPrivateIpAddresses: [],
        ipv6Addresses: [],
        subnetId: 'subnet-a',
        vpcId: 'vpc-1',
        targetIds: [],
        security: OPEN_SECURITY,
        flowLogs: [],
        sessions: [],
      },
    ],
  }
  test('sessions of local interfaces, matched by MAC, with rules in order', () => {
    const inv = [{ name: 'eth0', mac: '02:00:0a:00:01:0a', ipv4: ['10.0.1.10'], ipv6: [], index: 2 }]
    const ms = toMirrorState(desired, inv)
    assert.deepEqual(ms.sources, [
      { networkInterfaceId: 'eni-web', ifname: 'eth0', mac: '02:00:0a:00:01:0a', addresses: ['10.0.1.10'] },
    ])
    assert.deepEqual(ms.targets, [
      { trafficMirrorTargetId: 'tmt-1', type: 'network-interface', addresses: ['10.0.2.100'] },
    ])
    assert.deepEqual(
      ms.filters[0]!.ingressFilterRules.map((r) => [
        r.ruleNumber,
        r.ruleAction,
        r.protocol,
        r.destinationPortRange,
      ]),
      [
        [10, 'reject', 1, undefined],
        [20, 'accept', 6, { fromPort: 80, toPort: 80 }],
      ],
    )
    assert.deepEqual(ms.filters[0]!.networkServices, ['amazon-dns'])
    assert.equal(ms.sessions.length, 1)
    assert.equal(ms.sessions[0]!.virtualNetworkId, 77)
    assert.equal(ms.sessions[0]!.packetLength, undefined)
  })
  test('no local interface: nothing to mirror', () => {
    assert.equal(toMirrorState(desired, []).sessions.length, 0)
  })
})

describe('FlowLogRunner', () => {
  const flowLog = {
    flowLogId: 'fl-0123456789abcdef0',
    resourceId: 'vpc-1',
    resourceType: 'VPC' as const,
    trafficType: 'ALL' as const,
    logFormat:
      '${version} ${interface-id} ${srcaddr} ${dstaddr} ${packets} ${bytes} ${start} ${end} ${log-status}',
    maxAggregationInterval: 60,
    logDestinationType: 's3' as const,
    logDestination: 'arn:aws:s3:::bkt/pfx',
    logGroupName: null,
    destinationOptions: null,
  }
  const interfaces = [
    { interfaceId: 'eni-1', accountId: '123456789012', region: 'us-east-1', addresses: ['10.0.23.225'] },
  ]

  async function feed(r: FlowLogRunner): Promise<number> {
    let n = 0
    for await (const b of readCapture(SAMPLE)) {
      r.add(b, 0)
      n += b.count
    }
    return n
  }

  test('records go to the spool in the S3 layout under the ARN prefix', async () => {
    const d = tmp()
    const dv = new SpoolDeliverer(join(d, 'spool'), new LocalBucketStore(join(d, 's3')))
    const r = new FlowLogRunner({
      flowLog,
      interfaces,
      deliverer: dv,
      spoolMaxBytes: 1 << 30,
      spoolBytes: () => 0,
    })
    assert.equal(await feed(r), 1000)
    await r.stop()
    const files = walk(join(d, 'spool'))
    assert.ok(files.length >= 1)
    for (const f of files) {
      assert.match(
        f,
        /\/spool\/fl-0123456789abcdef0\/bkt\/pfx\/AWSLogs\/123456789012\/vpcflowlogs\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_\d{8}T\d{4}Z_[0-9a-f]{8}\.log\.gz$/,
      )
    }
    assert.ok(r.stats.records! > 0)
    assert.equal(r.stats.skipdataRecords, 0)
  })

  test('issue 9 item 1: an over-long prefix loses no record silently (writeErrors, droppedRecords)', async () => {
    const d = tmp()
    const dv = new SpoolDeliverer(join(d, 'spool'), new LocalBucketStore(join(d, 's3')))
    const r = new FlowLogRunner({
      flowLog: { ...flowLog, logDestination: `arn:aws:s3:::bkt/${'p'.repeat(300)}` },
      interfaces,
      deliverer: dv,
      spoolMaxBytes: 1 << 30,
      spoolBytes: () => 0,
    })
    await feed(r)
    await r.stop() // resolves: the objects that cannot be written are counted, not thrown
    assert.ok(r.stats.records! > 0)
    assert.equal(r.stats.droppedRecords, r.stats.records)
    assert.ok(r.stats.writeErrors! > 0)
    assert.match(r.lastWriteError ?? '', /ENAMETOOLONG|300 bytes/)
    assert.deepEqual(walk(join(d, 'spool')), [])
  })

  test('issue 9 item 1: a destination ARN that leaves the bucket is refused before anything is written', () => {
    const d = tmp()
    const dv = new SpoolDeliverer(join(d, 'spool'), new LocalBucketStore(join(d, 's3')))
    for (const arn of ['arn:aws:s3:::bkt/../../../../outside', 'arn:aws:s3:::bkt/../../x']) {
      assert.throws(
        () =>
          new FlowLogRunner({
            flowLog: { ...flowLog, logDestination: arn },
            interfaces,
            deliverer: dv,
            spoolMaxBytes: 1 << 30,
            spoolBytes: () => 0,
          }),
        (e: unknown) => hasCode(e, 'MF_FLOWLOGS_DESTINATION'),
      )
    }
    assert.deepEqual(walk(d), [])
  })

  test('a full spool turns records into SKIPDATA accounting, written once there is room', async () => {
    const d = tmp()
    const dv = new SpoolDeliverer(join(d, 'spool'), new LocalBucketStore(join(d, 's3')))
    let spoolBytes = 10_000
    const r = new FlowLogRunner({
      flowLog,
      interfaces,
      deliverer: dv,
      spoolMaxBytes: 5000,
      spoolBytes: () => spoolBytes,
    })
    await feed(r)
    // The capture's intervals close as its packets cross minute boundaries: all dropped, all counted.
    const skipped = r.stats.skippedRecordsSpoolFull!
    assert.ok(skipped > 0)
    spoolBytes = 0
    await r.stop()
    const lines = walk(join(d, 'spool')).flatMap((f) =>
      gunzipSync(readFileSync(f)).toString('utf8').trim().split('\n').slice(1),
    )
    const skipdata = lines.filter((l) => l.endsWith(' SKIPDATA'))
    assert.equal(skipdata.length, 1)
    assert.match(skipdata[0]!, /^2 eni-1 - - - - \d+ \d+ SKIPDATA$/)
    assert.equal(r.stats.skipdataRecords, 1)
    // What was not skipped (the last interval, written at stop with room again) is there as OK records.
    assert.equal(lines.length - 1, r.stats.records! - 1)
  })

  test('kill -9 safety: a new runner replays the journal of one that never stopped, to the same records', async () => {
    const records = async (root: string): Promise<string[]> =>
      walk(root)
        .flatMap((f) => gunzipSync(readFileSync(f)).toString('utf8').trim().split('\n').slice(1))
        .sort()
    // Reference: one runner that stops normally.
    const a = tmp()
    const ref = new FlowLogRunner({
      flowLog,
      interfaces,
      deliverer: new SpoolDeliverer(join(a, 'spool'), new LocalBucketStore(join(a, 's3'))),
      spoolMaxBytes: 1 << 30,
      spoolBytes: () => 0,
      journalDir: join(a, 'journal'),
    })
    await feed(ref)
    await ref.stop()
    assert.deepEqual(walk(join(a, 'journal')), [], 'a clean stop leaves no journal')
    // Crash: the first runner reads everything, publishes nothing, and is dropped without stop().
    const b = tmp()
    const dv = new SpoolDeliverer(join(b, 'spool'), new LocalBucketStore(join(b, 's3')))
    const opts = {
      flowLog,
      interfaces,
      deliverer: dv,
      spoolMaxBytes: 1 << 30,
      spoolBytes: () => 0,
      journalDir: join(b, 'journal'),
    }
    const crashed = new FlowLogRunner(opts)
    await feed(crashed)
    await new Promise((r) => setTimeout(r, 50))
    const survivor = new FlowLogRunner(opts)
    await survivor.replayJournal()
    assert.equal(survivor.stats.replayedFrames, 1000)
    assert.equal(survivor.stats.journalDamaged, 0)
    await survivor.stop()
    assert.deepEqual(await records(join(b, 'spool')), await records(join(a, 'spool')))
    assert.deepEqual(walk(join(b, 'journal')), [])
  })

  test(
    'a journal on a full disk is counted in writeErrors, reported once, and records are still made',
    { skip: process.getuid?.() !== 0 ? 'needs root to mount a small tmpfs' : false },
    async () => {
      const d = tmp()
      const journal = join(d, 'journal')
      mkdirSync(journal)
      // 8 KiB of space: the first flush of the 720 KB sample's frames fails with ENOSPC.
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'mfagentunit', journal])
      assert.equal(m.status, 0, String(m.stderr))
      const rejections: unknown[] = []
      const onRejection = (e: unknown): void => {
        rejections.push(e)
      }
      process.on('unhandledRejection', onRejection)
      const said: string[] = []
      const write = process.stderr.write.bind(process.stderr)
      process.stderr.write = ((chunk: string) => {
        said.push(String(chunk))
        return true
      }) as typeof process.stderr.write
      try {
        const r = new FlowLogRunner({
          flowLog,
          interfaces,
          deliverer: new SpoolDeliverer(join(d, 'spool'), new LocalBucketStore(join(d, 's3'))),
          spoolMaxBytes: 1 << 30,
          spoolBytes: () => 0,
          journalDir: journal,
        })
        assert.equal(await feed(r), 1000)
        await new Promise((res) => setImmediate(res))
        await r.stop()
        await new Promise((res) => setImmediate(res))
        assert.deepEqual(rejections, [])
        assert.ok(r.stats.writeErrors! > 0, `writeErrors ${r.stats.writeErrors}`)
        assert.ok(r.stats.records! > 0)
        assert.equal(said.filter((l) => l.includes('MF_AGENT_WRITE')).length, 1)
        assert.match(
          said.find((l) => l.includes('MF_AGENT_WRITE'))!,
          /ENOSPC/,
        )
      } finally {
        process.stderr.write = write
        process.off('unhandledRejection', onRejection)
        spawnSync('umount', [journal])
      }
    },
  )

  test('a damaged journal file is replayed up to the damage and counted', async () => {
    const d = tmp()
    const dir = join(d, 'journal', interfaces[0]!.interfaceId)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, '0-1-0.pcap'), Buffer.from('not a capture file at all'))
    const r = new FlowLogRunner({
      flowLog,
      interfaces,
      deliverer: new SpoolDeliverer(join(d, 'spool'), new LocalBucketStore(join(d, 's3'))),
      spoolMaxBytes: 1 << 30,
      spoolBytes: () => 0,
      journalDir: join(d, 'journal'),
    })
    await r.replayJournal()
    assert.equal(r.stats.journalDamaged, 1)
    assert.equal(r.stats.replayedFrames, 0)
    await r.stop()
  })
})
