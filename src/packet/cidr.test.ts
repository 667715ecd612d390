// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatAddress, formatIPv6Words, parseAddress, parseAddressWords } from './addr.ts'
import {
  cidr4Contains,
  cidr6Contains,
  cidrContains,
  cidrOverlaps,
  cidrSize,
  cidrWithin,
  parseCidr,
  tryParseCidr,
} from './cidr.ts'

test('parseCidr: canonical text, host bits cleared, bare addresses unless a prefix is required', () => {
  const cases = [
    { in: '10.1.2.3/8', text: '10.0.0.0/8' },
    { in: '0.0.0.0/0', text: '0.0.0.0/0' },
    { in: '192.168.1.1', text: '192.168.1.1/32' },
    { in: '10.0.1.5/24', text: '10.0.1.0/24' },
    { in: '2001:db8::1/32', text: '2001:db8::/32' },
    { in: '2001:db8::1/64', text: '2001:db8::/64' },
    { in: '::/0', text: '::/0' },
    { in: 'fd00::7/127', text: 'fd00::6/127' },
    { in: 'fd00::7', text: 'fd00::7/128' },
  ]
  for (const c of cases) assert.equal(parseCidr(c.in).text, c.text, c.in)
  assert.equal(tryParseCidr('10.0.0.0', { requirePrefix: true }), undefined)
  assert.equal(tryParseCidr('10.0.0.0/8', { requirePrefix: true })?.text, '10.0.0.0/8')
})

test('parseCidr refuses what is not a block', () => {
  for (const bad of [
    '10.0.0.0/33',
    '10.0.0.256/8',
    '::/129',
    'x/1',
    'x',
    '10.0.0/8',
    '10.0.0.0/-1',
    '10.0.0.0/1a',
    '1.2.3.4/ 8',
    ' 1.2.3.4/8',
    'fe80::1%eth0/64',
    '1::2::3/64',
    `${'1:'.repeat(30)}/64`,
  ]) {
    assert.throws(() => parseCidr(bad), TypeError, bad)
    assert.equal(tryParseCidr(bad), undefined, bad)
  }
})

test('containment and overlap, IPv4 and IPv6, never across families', () => {
  const vpc = parseCidr('10.0.0.0/16')
  assert.ok(cidrWithin(parseCidr('10.0.1.0/24'), vpc))
  assert.ok(!cidrWithin(parseCidr('10.1.0.0/24'), vpc))
  assert.ok(!cidrWithin(vpc, parseCidr('10.0.1.0/24')))
  assert.ok(cidrOverlaps(parseCidr('10.0.1.128/25'), parseCidr('10.0.1.0/24')))
  assert.ok(cidrOverlaps(parseCidr('10.0.1.0/24'), parseCidr('10.0.1.128/25')))
  assert.ok(!cidrOverlaps(parseCidr('10.0.2.0/24'), parseCidr('10.0.1.0/24')))
  assert.ok(cidrContains(vpc, parseAddress('10.0.255.255')!))
  assert.ok(!cidrContains(vpc, parseAddress('10.1.0.0')!))
  assert.ok(!cidrContains(vpc, parseAddress('::ffff:10.0.0.1')!))
  assert.ok(cidr4Contains(parseCidr('0.0.0.0/0'), 0xffffffff))
  const v6 = parseCidr('2001:db8:80::/41')
  assert.ok(cidrContains(v6, parseAddress('2001:db8:ff::1')!))
  assert.ok(!cidrContains(v6, parseAddress('2001:db8:7f::1')!))
  assert.ok(!cidr6Contains(vpc, new Uint8Array(16), 0))
  assert.ok(cidrOverlaps(parseCidr('::/0'), v6))
  assert.equal(cidrSize(parseCidr('10.0.1.0/24')), 256)
  assert.equal(cidrSize(parseCidr('2001:db8::/64')), 2 ** 64)
})

test('addresses: one parser for every domain, canonical text round-trips', () => {
  for (const a of [
    '0.0.0.0',
    '192.168.1.254',
    '::',
    '::1',
    '1::',
    '2001:db8::ff00:42:8329',
    'fe80::1:0:0:1',
    '::ffff:10.0.0.1',
  ]) {
    assert.equal(formatAddress(parseAddress(a)!), a)
  }
  assert.equal(formatAddress(parseAddress('2001:DB8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1')
  assert.deepEqual(parseAddressWords('10.0.0.1'), [0x0a000001])
  assert.deepEqual(parseAddressWords('2001:db8::1'), [0x20010db8, 0, 0, 1])
  assert.equal(formatIPv6Words(parseAddressWords('2001:db8::1:0:0:1')!), '2001:db8::1:0:0:1')
  for (const bad of [
    '',
    '01.2.3.4',
    '1.2.3',
    'fe80::1%eth0',
    '10.0.0.1/32',
    ' ::1',
    '1:2:3:4:5:6:7:8:9',
    `${'0'.repeat(50)}::1`,
  ]) {
    assert.equal(parseAddress(bad), undefined, bad)
    assert.equal(parseAddressWords(bad), null, bad)
  }
})
