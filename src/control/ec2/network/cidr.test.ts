// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  cidrContains,
  cidrNetworkText,
  cidrOverlaps,
  cidrWithin,
  formatAddress,
  parseAddress,
  parseCidr,
} from './cidr.ts'

test('parseCidr: IPv4 and IPv6, host bits cleared in the base, bad input refused', () => {
  assert.equal(cidrNetworkText(parseCidr('10.0.1.5/24')!), '10.0.1.0/24')
  assert.equal(cidrNetworkText(parseCidr('2001:db8::1/64')!), '2001:db8::/64')
  assert.equal(cidrNetworkText(parseCidr('::/0')!), '::/0')
  for (const bad of [
    '10.0.0.0',
    '10.0.0.0/33',
    '10.0.0.256/8',
    '::/129',
    'x/1',
    '10.0.0.0/-1',
    '10.0.0.0/1a',
  ]) {
    assert.equal(parseCidr(bad), undefined, bad)
  }
})

test('containment and overlap', () => {
  const vpc = parseCidr('10.0.0.0/16')!
  assert.ok(cidrWithin(parseCidr('10.0.1.0/24')!, vpc))
  assert.ok(!cidrWithin(parseCidr('10.1.0.0/24')!, vpc))
  assert.ok(cidrOverlaps(parseCidr('10.0.1.128/25')!, parseCidr('10.0.1.0/24')!))
  assert.ok(!cidrOverlaps(parseCidr('10.0.2.0/24')!, parseCidr('10.0.1.0/24')!))
  assert.ok(cidrContains(vpc, parseAddress('10.0.255.255')!))
  assert.ok(!cidrContains(vpc, parseAddress('::ffff:10.0.0.1')!))
})

test('formatAddress round-trips, IPv6 compressed', () => {
  for (const a of ['0.0.0.0', '192.168.1.254', '::', '::1', '2001:db8::ff00:42:8329', 'fe80::1:0:0:1']) {
    const p = parseAddress(a)!
    assert.equal(formatAddress(p.family, p.value), a)
  }
})
