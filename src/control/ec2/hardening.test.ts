// SPDX-License-Identifier: Apache-2.0
// Regression tests of the hardening issue's control-plane items: S3 destinations checked as AWS
// checks them (1), bounded strings and lists (2), delivery status told truthfully (14), tag keys of
// 128 characters counted in code points (17).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, beforeEach, describe, test } from 'node:test'
import { hasCode } from '../../errors.ts'
import { ControlPlane } from '../control-plane.ts'
import { SqliteStore } from '../core/store.ts'
import { deliveryOf } from './flow-logs/flow-logs.ts'
import type { Subnet, Vpc } from './model.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function open(): ControlPlane {
  const d = mkdtempSync(join(tmpdir(), 'mf-hardening-'))
  dirs.push(d)
  return new ControlPlane(new SqliteStore(d), { accountId: '123456789012', region: 'us-east-1' })
}

/** The AWS code and message a call fails with ('OK' when it succeeds). */
function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn()
  } catch (err) {
    assert.ok(hasCode(err, 'MF_API'), String(err))
    const e = err as { awsCode: string; message: string }
    return { code: e.awsCode, message: e.message }
  }
  return { code: 'OK', message: '' }
}

describe('hardening: control plane', () => {
  let cp: ControlPlane
  let vpc: Vpc
  let subnet: Subnet
  beforeEach(() => {
    cp?.close()
    cp = open()
    vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
    subnet = cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
  })

  const s3 = (logDestination: string) => () =>
    cp.ec2.flowLogs.createFlowLogs({
      resourceIds: [subnet.id],
      resourceType: 'Subnet',
      trafficType: 'ALL',
      logDestinationType: 's3',
      logDestination,
      tags: [],
    })

  test('item 1: an S3 destination follows the bucket-name rules and has a plain folder prefix', () => {
    for (const bad of [
      'arn:aws:s3:::bucket/../../x',
      'arn:aws:s3:::bucket/../../../../outside',
      'arn:aws:s3:::bucket/a/../b',
      'arn:aws:s3:::bucket/./x',
      'arn:aws:s3:::bucket//x',
      'arn:aws:s3:::bucket/a//b/',
      'arn:aws:s3:::bucket/x//',
      'arn:aws:s3:::bucket/a\\b',
      'arn:aws:s3:::bucket/logs/AWSLogs/x',
      'arn:aws:s3:::Bucket/x',
      'arn:aws:s3:::bu',
      'arn:aws:s3:::my..bucket/x',
      'arn:aws:s3:::192.168.5.4/x',
      'arn:aws:s3:::xn--bucket/x',
      'arn:aws:s3:::bucket-s3alias/x',
      'arn:aws:s3:::-bucket/x',
      `arn:aws:s3:::${'b'.repeat(64)}/x`,
      `arn:aws:s3:::bucket/${'a'.repeat(256)}/x`,
      `arn:aws:s3:::bucket/${'abc/'.repeat(130)}`,
      'arn:aws:s3:bucket/x',
    ]) {
      assert.equal(failure(s3(bad)).code, 'InvalidParameterValue', bad)
    }
  })

  test('item 1: AWS-shaped S3 destinations are still accepted', () => {
    for (const [i, good] of [
      'arn:aws:s3:::bucket',
      'arn:aws:s3:::my-bucket/my-logs/',
      'arn:aws:s3:::my.bucket.name/a/b/c',
      'arn:aws:s3:::bucket/prefix.with.dots/..x/x..',
      `arn:aws:s3:::${'b'.repeat(63)}/${'a'.repeat(255)}`,
    ].entries()) {
      const sub = cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: `10.0.${10 + i}.0/24` }, [])
      const r = cp.ec2.flowLogs.createFlowLogs({
        resourceIds: [sub.id],
        resourceType: 'Subnet',
        trafficType: 'ALL',
        logDestinationType: 's3',
        logDestination: good,
        tags: [],
      })
      assert.equal(r.flowLogIds.length, 1, good)
    }
  })

  test('item 2: a 1 MB destination is refused without echoing it, and nothing is stored', () => {
    const huge = `arn:aws:s3:::bucket/${'a'.repeat(1024 * 1024)}`
    const f = failure(s3(huge))
    assert.equal(f.code, 'InvalidParameterValue')
    assert.ok(f.message.length < 300, `message of ${f.message.length} characters`)
    assert.equal(cp.state.table('flow-log').size, 0)
    for (const type of ['cloud-watch-logs', 'kinesis-data-firehose']) {
      const g = failure(() =>
        cp.ec2.flowLogs.createFlowLogs({
          resourceIds: [subnet.id],
          resourceType: 'Subnet',
          trafficType: 'ALL',
          logDestinationType: type,
          logDestination: `arn:aws:logs:us-east-1:123456789012:log-group:${'a'.repeat(1024 * 1024)}`,
          deliverLogsPermissionArn: 'arn:aws:iam::123456789012:role/r',
          tags: [],
        }),
      )
      assert.equal(g.code, 'InvalidParameterValue', type)
      assert.ok(g.message.length < 300)
    }
  })

  test('item 2: ids, address lists, registrations and tag lists are bounded', () => {
    const longId = `subnet-${'0'.repeat(100_000)}`
    const f = failure(() =>
      cp.ec2.flowLogs.createFlowLogs({
        resourceIds: [longId],
        resourceType: 'Subnet',
        trafficType: 'ALL',
        logDestinationType: 's3',
        logDestination: 'arn:aws:s3:::bucket',
        tags: [],
      }),
    )
    assert.equal(f.code, 'InvalidParameterValue')
    assert.ok(f.message.length < 300)
    assert.equal(
      failure(() => cp.ec2.flowLogs.deleteFlowLogs([`fl-${'0'.repeat(1000)}`])).code,
      'InvalidParameterValue',
    )
    const secondary = Array.from({ length: 50 }, (_, i) => `10.0.1.${100 + i}`)
    assert.equal(
      failure(() =>
        cp.ec2.instances.registerInterface({
          subnetId: subnet.id,
          privateIpAddress: '10.0.1.10',
          secondaryPrivateIpAddresses: secondary,
        }),
      ).code,
      'InvalidParameterValue',
    )
    assert.equal(
      cp.ec2.instances.registerInterface({
        subnetId: subnet.id,
        privateIpAddress: '10.0.1.10',
        secondaryPrivateIpAddresses: secondary.slice(0, 49),
      }).secondaryPrivateIpAddresses.length,
      49,
    )
    const interfaces = Array.from({ length: 257 }, (_, i) => ({ privateIpAddress: `10.0.1.${i % 250}` }))
    assert.equal(
      failure(() => cp.ec2.instances.registerInstance({ hostname: 'h', interfaces })).code,
      'InvalidParameterValue',
    )
    assert.equal(
      failure(() =>
        cp.ec2.instances.registerInstance({ hostname: 'h', instanceType: 'x'.repeat(65), interfaces: [] }),
      ).code,
      'InvalidParameterValue',
    )
    assert.equal(
      failure(() =>
        cp.ec2.instances.registerInstance({
          hostname: 'h',
          interfaces: [{ privateIpAddress: 'x'.repeat(100_000) }],
        }),
      ).code,
      'InvalidParameterValue',
    )
    assert.equal(
      failure(() =>
        cp.ec2.tags.createTags(
          Array.from({ length: 1001 }, () => vpc.id),
          [{ key: 'a', value: '' }],
        ),
      ).code,
      'InvalidParameterValue',
    )
    assert.equal(
      failure(() =>
        cp.ec2.targets.registerLoadBalancer({
          vpcEndpointId: 'vpce-0123456789abcdef0',
          addresses: Array.from({ length: 257 }, (_, i) => `10.9.${i >> 8}.${i & 255}`),
        }),
      ).code,
      'InvalidParameterValue',
    )
  })

  test('item 2: instances and interfaces are capped per account', () => {
    cp.close()
    const d = mkdtempSync(join(tmpdir(), 'mf-hardening-'))
    dirs.push(d)
    cp = new ControlPlane(new SqliteStore(d), {
      accountId: '123456789012',
      region: 'us-east-1',
      quotas: { instancesPerAccount: 2, networkInterfacesPerAccount: 3 },
    })
    vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
    subnet = cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
    cp.ec2.instances.registerInstance({ hostname: 'a', interfaces: [] })
    cp.ec2.instances.registerInstance({ hostname: 'b', interfaces: [] })
    assert.equal(
      failure(() => cp.ec2.instances.registerInstance({ hostname: 'c', interfaces: [] })).code,
      'InstanceLimitExceeded',
    )
    // Registering a known instance again is no new instance.
    cp.ec2.instances.registerInstance({ hostname: 'a', interfaces: [] })
    for (const h of [10, 11, 12])
      cp.ec2.instances.registerInterface({ subnetId: subnet.id, privateIpAddress: `10.0.1.${h}` })
    assert.equal(
      failure(() =>
        cp.ec2.instances.registerInterface({ subnetId: subnet.id, privateIpAddress: '10.0.1.13' }),
      ).code,
      'NetworkInterfaceLimitExceeded',
    )
  })

  test('item 2: VPCs, subnets per VPC, flow logs per resource and access keys are capped', () => {
    cp.close()
    const d = mkdtempSync(join(tmpdir(), 'mf-hardening-'))
    dirs.push(d)
    cp = new ControlPlane(new SqliteStore(d), {
      accountId: '123456789012',
      region: 'us-east-1',
      quotas: { vpcsPerRegion: 2, subnetsPerVpc: 2, flowLogsPerResource: 2 },
    })
    const v = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
    cp.ec2.vpcs.createVpc('10.1.0.0/16', undefined, [])
    assert.equal(failure(() => cp.ec2.vpcs.createVpc('10.2.0.0/16', undefined, [])).code, 'VpcLimitExceeded')
    const s = cp.ec2.vpcs.createSubnet({ vpcId: v.id, cidrBlock: '10.0.1.0/24' }, [])
    cp.ec2.vpcs.createSubnet({ vpcId: v.id, cidrBlock: '10.0.2.0/24' }, [])
    assert.equal(
      failure(() => cp.ec2.vpcs.createSubnet({ vpcId: v.id, cidrBlock: '10.0.3.0/24' }, [])).code,
      'SubnetLimitExceeded',
    )
    const fl = (traffic: string) => () =>
      cp.ec2.flowLogs.createFlowLogs({
        resourceIds: [s.id],
        resourceType: 'Subnet',
        trafficType: traffic,
        logDestinationType: 's3',
        logDestination: 'arn:aws:s3:::bucket',
        tags: [],
      })
    fl('ALL')()
    fl('ACCEPT')()
    assert.equal(failure(fl('REJECT')).code, 'FlowLogsLimitExceeded')
    for (let i = cp.iam.list().length; i < 1000; i++) cp.iam.create('user', '')
    assert.equal(failure(() => cp.iam.create('user', '')).code, 'LimitExceeded')
  })

  test('item 14: CloudWatch Logs and Firehose flow logs report FAILED with a reason, S3 SUCCESS', () => {
    const base = { resourceIds: [subnet.id], resourceType: 'Subnet', trafficType: 'ALL', tags: [] }
    const [cwl] = cp.ec2.flowLogs.createFlowLogs({
      ...base,
      logGroupName: 'g',
      deliverLogsPermissionArn: 'arn:aws:iam::123456789012:role/r',
    }).flowLogIds
    const [fh] = cp.ec2.flowLogs.createFlowLogs({
      ...base,
      logDestinationType: 'kinesis-data-firehose',
      logDestination: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/s',
    }).flowLogIds
    const [s] = cp.ec2.flowLogs.createFlowLogs({
      ...base,
      logDestinationType: 's3',
      logDestination: 'arn:aws:s3:::bucket',
    }).flowLogIds
    for (const id of [cwl!, fh!]) {
      const d = deliveryOf(cp.state.get('flow-log', id)!)
      assert.equal(d.status, 'FAILED')
      assert.match(d.errorMessage ?? '', /no records are delivered/)
    }
    assert.deepEqual(deliveryOf(cp.state.get('flow-log', s!)!), { status: 'SUCCESS' })
  })

  test('item 17: tag keys of 128 characters, lengths in code points, not UTF-16 units', () => {
    const ok = (key: string, value = ''): string =>
      failure(() => cp.ec2.tags.createTags([vpc.id], [{ key, value }])).code
    assert.equal(ok('k'.repeat(128)), 'OK')
    assert.equal(ok('k'.repeat(129)), 'InvalidParameterValue')
    // 128 astral characters are 256 UTF-16 units: still 128 characters.
    assert.equal(ok('😀'.repeat(128)), 'OK')
    assert.equal(ok('😀'.repeat(129)), 'InvalidParameterValue')
    assert.equal(ok('v', '😀'.repeat(256)), 'OK')
    assert.equal(ok('v', '😀'.repeat(257)), 'InvalidParameterValue')
    // Descriptions: 255 characters, counted the same way.
    assert.equal(failure(() => cp.ec2.filters.createFilter('😀'.repeat(255), [])).code, 'OK')
    assert.equal(
      failure(() => cp.ec2.filters.createFilter('😀'.repeat(256), [])).code,
      'InvalidParameterValue',
    )
    // Tag keys of flow-log tag fields: 128 characters too.
    const tfs = (key: string) =>
      failure(() =>
        cp.ec2.flowLogs.createFlowLogs({
          resourceIds: [subnet.id],
          resourceType: 'Subnet',
          trafficType: key.length % 2 === 0 ? 'ACCEPT' : 'REJECT',
          logDestinationType: 's3',
          logDestination: `arn:aws:s3:::bucket/${key.length}`,
          tagFieldSpecifications: [{ resourceType: 'instance', tagKeys: [key] }],
          tags: [],
        }),
      ).code
    assert.equal(tfs('😀'.repeat(128)), 'OK')
    assert.equal(tfs('😀'.repeat(129)), 'InvalidParameterValue')
  })
})
