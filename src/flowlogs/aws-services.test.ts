// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hasCode } from '../errors.ts'
import { parseAddressWords as parseAddress } from '../packet/index.ts'
import { AwsServiceRanges } from './aws-services.ts'

// A synthetic ip-ranges.json fragment in AWS's shape (documentation-style values).
const R = AwsServiceRanges.fromJson({
  syncToken: '1',
  prefixes: [
    { ip_prefix: '198.18.0.0/15', service: 'AMAZON' },
    { ip_prefix: '198.18.0.0/16', service: 'EC2' },
    { ip_prefix: '198.18.4.0/22', service: 'S3' },
    { ip_prefix: '198.18.4.0/24', service: 'AMAZON' },
  ],
  ipv6_prefixes: [
    { ipv6_prefix: '2001:db8::/32', service: 'AMAZON' },
    { ipv6_prefix: '2001:db8:100::/40', service: 'CLOUDFRONT' },
  ],
})

const v4 = (s: string): number => parseAddress(s)![0]!
const cases: [string, string | null][] = [
  ['198.18.4.7', 'S3'], // specific service beats a longer AMAZON prefix, longest specific wins
  ['198.18.9.1', 'EC2'],
  ['198.19.0.1', 'AMAZON'], // only the umbrella range holds it
  ['198.20.0.1', null],
  ['10.0.0.1', null],
]
for (const [addr, want] of cases)
  test(`lookup4 ${addr} → ${want}`, () => assert.equal(R.lookup4(v4(addr)), want))

test('lookup6', () => {
  assert.equal(R.lookup6(parseAddress('2001:db8:100::1')!, 0), 'CLOUDFRONT')
  assert.equal(R.lookup6(parseAddress('2001:db8:200::1')!, 0), 'AMAZON')
  assert.equal(R.lookup6(parseAddress('2001:db9::1')!, 0), null)
  assert.equal(R.size, 6)
})

test('bad ip-ranges.json is a config error', () => {
  for (const bad of [
    null,
    {},
    { prefixes: [{ ip_prefix: '1.2.3.0/33', service: 'S3' }] },
    { prefixes: [{ ip_prefix: '1.2.3.0/24' }] },
  ]) {
    assert.throws(
      () => AwsServiceRanges.fromJson(bad),
      (e: unknown) => hasCode(e, 'MF_FLOWLOGS_CONFIG'),
    )
  }
})
