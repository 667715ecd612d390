// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasCode } from '../errors.ts'
import {
  deliveryWindowStart,
  s3ObjectName,
  s3ObjectPrefix,
  validateS3Layout,
  type S3LayoutOptions,
} from './s3-layout.ts'

const O: S3LayoutOptions = { accountId: '123456789012', region: 'us-east-1', flowLogId: 'fl-1234abcd' }
// 2018-06-20T16:22:31Z, inside the 16:20 delivery window (spec §4.2 example).
const T = Date.UTC(2018, 5, 20, 16, 22, 31) / 1000

describe('S3 layout (spec §4.2)', () => {
  test('delivery window: the 5 minutes holding end', () => {
    assert.equal(deliveryWindowStart(T), Date.UTC(2018, 5, 20, 16, 20) / 1000)
    assert.equal(
      deliveryWindowStart(Date.UTC(2018, 5, 20, 16, 24, 59) / 1000),
      Date.UTC(2018, 5, 20, 16, 20) / 1000,
    )
  })
  const w = deliveryWindowStart(T)
  const cases = [
    { name: 'default', o: O, want: 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/' },
    {
      name: 'per hour',
      o: { ...O, perHourPartition: true },
      want: 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/',
    },
    {
      name: 'hive',
      o: { ...O, hiveCompatiblePartitions: true },
      want: 'AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/',
    },
    {
      name: 'hive + hour + prefix',
      o: { ...O, hiveCompatiblePartitions: true, perHourPartition: true, prefix: 'my/folder/' },
      want: 'my/folder/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/hour=16/',
    },
  ]
  for (const c of cases) test(`prefix: ${c.name}`, () => assert.equal(s3ObjectPrefix(c.o, w), c.want))

  test('object name as in the AWS example', () => {
    assert.equal(
      s3ObjectName(O, w, 'fe123456'),
      '123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz',
    )
    assert.equal(
      s3ObjectName({ ...O, fileFormat: 'parquet' }, w, 'fe123456'),
      '123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.parquet',
    )
  })

  test('validation', () => {
    for (const bad of [
      { flowLogId: 'fl-XYZ' },
      { region: 'us east' },
      { prefix: 'AWSLogs/' },
      { accountId: '' },
    ]) {
      assert.throws(
        () => validateS3Layout({ ...O, ...bad }),
        (e: unknown) => hasCode(e, 'MF_FLOWLOGS_CONFIG'),
      )
    }
    validateS3Layout({ ...O, flowLogId: 'fl-0123456789abcdef0' })
  })
})
