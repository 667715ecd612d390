// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// Filter patterns against the examples of CloudWatch Logs' filter-pattern syntax (terms, space-delimited
// flow-log and Apache patterns, JSON), each pinned to its one right answer; and the errors.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FilterPatternError } from './errors.ts'
import { compileFilterPattern } from './filter-pattern.ts'
import { compileGlob, globMatch } from './glob.ts'

const m = (pattern: string, message: string) => compileFilterPattern(pattern).match(message)

const FLOW_REJECT_SSH =
  '2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 20641 22 6 20 4249 1418530010 1418530070 REJECT OK'
const FLOW_ACCEPT_HTTPS =
  '2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 443 49152 6 20 4249 1418530010 1418530070 ACCEPT OK'
const APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 2326'

test('terms: all terms, ?alternatives, -exclusions, quoted phrases, case-sensitive substrings', () => {
  assert.equal(m('', 'anything'), true)
  assert.equal(m('ERROR', '[ERROR] disk full'), true)
  assert.equal(m('ERROR', 'error: disk full'), false)
  assert.equal(m('ERROR ARGUMENTS', 'ERROR: bad ARGUMENTS'), true)
  assert.equal(m('ERROR ARGUMENTS', 'ERROR: bad input'), false)
  assert.equal(m('?ERROR ?WARN', 'WARN low disk'), true)
  assert.equal(m('?ERROR ?WARN', 'INFO ok'), false)
  assert.equal(m('ERROR -Exiting', 'ERROR retrying'), true)
  assert.equal(m('ERROR -Exiting', 'ERROR Exiting now'), false)
  assert.equal(m('"Connection refused"', 'dial: Connection refused by peer'), true)
  assert.equal(m('"Connection refused"', 'Connection was refused'), false)
})

test('space-delimited: the flow-log pattern with destport="22" and action="REJECT"', () => {
  const p =
    '[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
  assert.equal(m(p, FLOW_REJECT_SSH), true)
  assert.equal(m(p, FLOW_ACCEPT_HTTPS), false)
  assert.equal(m(p, FLOW_REJECT_SSH.replace('REJECT', 'ACCEPT')), false)
  // One field more or less than the pattern: no match.
  assert.equal(m(p, `${FLOW_REJECT_SSH} extra`), false)
  assert.equal(compileFilterPattern(p).extract!(FLOW_REJECT_SSH)!.$source, '203.0.113.12')
})

test('space-delimited: ..., * wildcards, numeric comparisons, !=, && and ||', () => {
  assert.equal(m('[..., action="REJECT", status]', FLOW_REJECT_SSH), true)
  assert.equal(m('[v, a, e, source=203.0.113.*, ...]', FLOW_REJECT_SSH), true)
  assert.equal(m('[v, a, e, source=10.*, ...]', FLOW_REJECT_SSH), false)
  assert.equal(m('[v, a, e, s, d, sp, dp<1024, ...]', FLOW_REJECT_SSH), true)
  assert.equal(m('[v, a, e, s, d, sp, dp<1024, ...]', FLOW_ACCEPT_HTTPS), false)
  assert.equal(m('[v, a, e, s, d, sp, dp, pr, packets, bytes>=4249, ...]', FLOW_REJECT_SSH), true)
  assert.equal(m('[v, a, e, s, d, sp, dp, pr, packets, bytes>4249, ...]', FLOW_REJECT_SSH), false)
  assert.equal(m('[v, a, e, s, d, sp, dp, pr!=17, ...]', FLOW_REJECT_SSH), true)
  assert.equal(m('[v, a, e, s, d, sp, dp=22 || dp=3389, ...]', FLOW_REJECT_SSH), true)
  assert.equal(m('[v, a, e, s, d, sp>1024 && sp<65536, dp, ...]', FLOW_ACCEPT_HTTPS), false)
  // Apache: a [bracketed] or "quoted" run is one field.
  assert.equal(m('[ip, user, username, timestamp, request = "*gif*", status_code = 4*, bytes]', APACHE), true)
  assert.equal(m('[ip, user, username, timestamp, request, status_code = 5*, bytes]', APACHE), false)
  assert.equal(m('[ip, user, username, timestamp, request, status_code >= 400, bytes > 1000]', APACHE), true)
})

test('JSON: =, !=, wildcards, numbers, && and ||, arrays, IS NULL, EXISTS, IS TRUE', () => {
  const ev = JSON.stringify({
    eventType: 'UpdateTrail',
    sourceIPAddress: '123.123.1.2',
    latency: 50,
    errorCode: 'AccessDenied',
    user: { id: 1, email: null },
    arrayKey: ['value', 'another'],
    objectList: [{ id: 1 }, { id: 2 }],
    ok: true,
  })
  assert.equal(m('{ $.eventType = "UpdateTrail" }', ev), true)
  assert.equal(m('{ $.eventType = "Update*" }', ev), true)
  assert.equal(m('{ $.sourceIPAddress != 123.123.* }', ev), false)
  assert.equal(m('{ $.latency > 40 && $.latency < 60 }', ev), true)
  assert.equal(m('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }', ev), true)
  assert.equal(m('{ $.arrayKey[1] = "another" }', ev), true)
  assert.equal(m('{ $.objectList[1].id = 2 }', ev), true)
  assert.equal(m('{ $.user.email IS NULL }', ev), true)
  assert.equal(m('{ $.user.name NOT EXISTS }', ev), true)
  assert.equal(m('{ $.user.id EXISTS }', ev), true)
  assert.equal(m('{ $.ok IS TRUE }', ev), true)
  assert.equal(m('{ $.ok IS FALSE }', ev), false)
  assert.equal(m('{ $.eventType = "UpdateTrail" }', 'not json'), false)
})

test('patterns that do not parse are FilterPatternErrors', () => {
  for (const bad of [
    '[a, b',
    '{ $.a = }',
    '[a, a]',
    '%ERR%',
    '{ $.a < "x" }',
    '[..., ..., a]',
    '"open',
    '{ a = 1 }',
    'x'.repeat(1025),
  ]) {
    assert.throws(() => compileFilterPattern(bad), FilterPatternError, bad.slice(0, 40))
  }
})

test('globs: * only, leftmost parts; a hostile pattern over a long text', () => {
  assert.equal(globMatch(compileGlob('a*b*c'), 'aXbYc'), true)
  assert.equal(globMatch(compileGlob('a*b*c'), 'aXcYb'), false)
  assert.equal(globMatch(compileGlob('*'), ''), true)
  assert.equal(globMatch(compileGlob('ab*ba'), 'aba'), false)
  const hostile = compileGlob('*a*a*a*a*a*a*a*a*b')
  assert.equal(globMatch(hostile, 'a'.repeat(200_000)), false)
})
