// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
/**
 * Issue 9 item 21: an agent inside a namespace cannot reach a server on 127.0.0.1 — and with the link
 * `mirrorflow lab link NS` makes, it reaches one listening on the host's end. Removed by `lab unlink`.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { after, before, test } from 'node:test'
import { nodeArgv } from '../../src/entry-points.ts'
import { hostIfnameFor, uniquePrefix } from '../../src/lab/index.ts'

const NS = uniquePrefix('mfhl')

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const [node, ...pre] = nodeArgv('cli')
  const r = spawnSync(node!, [...pre, ...args], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Whether a TCP connection from inside the namespace to host:port succeeds within 3 s. */
function connectsFromNs(host: string, port: number): boolean {
  const r = spawnSync('ip', [
    'netns',
    'exec',
    NS,
    'timeout',
    '3',
    'bash',
    '-c',
    `exec 3<>/dev/tcp/${host}/${port}`,
  ])
  return r.status === 0
}

before(() => {
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0)
})
after(() => {
  spawnSync('ip', ['link', 'del', hostIfnameFor(NS)])
  spawnSync('ip', ['netns', 'del', NS])
})

test('a server on the host: unreachable on 127.0.0.1 from a namespace, reachable over the link', async () => {
  const loop = createServer((s) => s.end())
  await new Promise<void>((r) => loop.listen(0, '127.0.0.1', r))
  const loopPort = (loop.address() as { port: number }).port
  try {
    assert.equal(connectsFromNs('127.0.0.1', loopPort), false)
  } finally {
    loop.close()
  }

  const made = cli('lab', 'link', NS, '--json')
  assert.equal(made.status, 0, made.stderr)
  const link = JSON.parse(made.stdout) as { hostAddress: string; nsAddress: string; hostIfname: string }
  assert.match(link.hostAddress, /^10\.254\.\d+\.\d+$/)
  assert.equal(link.hostIfname, hostIfnameFor(NS))
  const srv = createServer((s) => s.end())
  await new Promise<void>((r) => srv.listen(0, link.hostAddress, r))
  try {
    const port = (srv.address() as { port: number }).port
    assert.equal(connectsFromNs(link.hostAddress, port), true)
  } finally {
    srv.close()
  }
  // A second link for the same namespace is refused; unlink removes it; a second unlink says so.
  const again = cli('lab', 'link', NS)
  assert.equal(again.status, 1)
  assert.match(again.stderr, /already linked/)
  const gone = cli('lab', 'unlink', NS)
  assert.equal(gone.status, 0, gone.stderr)
  assert.equal(spawnSync('ip', ['link', 'show', 'dev', link.hostIfname]).status, 1)
  assert.match(cli('lab', 'unlink', NS).stdout, /had no link/)
  assert.equal(cli('lab', 'link', 'no-such-ns-x').status, 1)
})
