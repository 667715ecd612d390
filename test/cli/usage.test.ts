// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * Issue 9 item 19: exit statuses of the command line as docs/errors.md states them — usage errors
 * (unknown option or command, missing argument or required option) exit 2 with the usage on stderr;
 * an input file that cannot be read prints the error and nothing else, exit 1; help and version exit 0.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { nodeArgv } from '../../src/entry-points.ts'

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const [node, ...pre] = nodeArgv('cli')
  const r = spawnSync(node!, [...pre, ...args], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const USAGE: Array<[string[], RegExp]> = [
  [['--no-such-option'], /unknown option '--no-such-option'/],
  [['no-such-command'], /unknown command 'no-such-command'/],
  [[], /Usage: mirrorflow/],
  [['flowlogs'], /give exactly one of --pcap FILE and --flow-logs PATH…/],
  [
    ['flowlogs', '--pcap', 'x.pcap', '--flow-logs', 'y'],
    /give exactly one of --pcap FILE and --flow-logs PATH…/,
  ],
  [['query', '--sql', 'SELECT 1'], /name the inputs: --flow-logs/],
  [
    ['query', '--flow-logs', 'x', '--sql', 'SELECT 1', '--saved', 'VpcFlowLogsTopTalkers'],
    /give exactly one of --sql/,
  ],
  [['flowlogs', '--pcap'], /option '--pcap <file>' argument missing/],
  [['flowlogs', '--pcap', 'x.pcap', '--bogus'], /unknown option '--bogus'/],
  [['inspect', '--top'], /option '--top <n>' argument missing/],
  [['inspect', '--top', 'many'], /--top must be a whole number, got many/],
  [['status', '--timeout', '0'], /--timeout must be more than 0 and at most 300 seconds/],
  [['server', '--flow-logs-max-rows', '10'], /--flow-logs-max-rows must be 1000 to 1000000000, got 10/],
]

for (const [args, message] of USAGE) {
  test(`usage error: mirrorflow ${args.join(' ') || '(no command)'} → exit 2`, () => {
    const r = run(...args)
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, message)
    assert.equal(r.stdout, '')
  })
}

test('inspect of a missing file: the error, no empty summary, exit 1 (text and --json)', () => {
  for (const json of [[], ['--json']]) {
    const r = run('inspect', ...json, '/nonexistent/capture.pcap')
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr, 'mirrorflow: cannot read /nonexistent/capture.pcap: no such file\n')
  }
  const d = run('inspect', '/tmp')
  assert.equal(d.status, 1)
  assert.equal(d.stdout, '')
  assert.equal(d.stderr, 'mirrorflow: cannot read /tmp: is a directory\n')
  const f = run('flowlogs', '--pcap', '/nonexistent/capture.pcap')
  assert.equal(f.status, 1)
  assert.equal(f.stdout, '')
  assert.equal(f.stderr, 'mirrorflow: cannot read /nonexistent/capture.pcap: no such file\n')
})

test('help and version exit 0', () => {
  for (const args of [['--help'], ['--version'], ['flowlogs', '--help'], ['help', 'inspect']]) {
    const r = run(...args)
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
    assert.notEqual(r.stdout, '')
  }
})
