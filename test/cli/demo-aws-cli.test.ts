// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * Issue 9 item 20: the AWS CLI commands the demo prints work when pasted, one by one, into a new shell
 * (no AWS_* variables, an empty home, whichever `aws` is first on the PATH), and keep working after
 * the demo: the printed restart command starts the server on the demo's data directory again, and the
 * same commands then show what the demo made. The data directory's path has a space and a quote in it.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { callAction, startServer } from '../../src/api/index.ts'
import { afterDemo, awsCliCommands } from '../../src/lab/aws-cli.ts'

const root = mkdtempSync(join(tmpdir(), "mf demo's "))
const home = join(root, 'home')
mkdirSync(home)
after(() => rmSync(root, { recursive: true, force: true }))

/** A new shell: only PATH and an empty HOME, nothing else of ours (asynchronous: the server may be ours). */
function paste(line: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', line], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })))
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

test('each printed command works alone in a new shell, during and after the demo', async () => {
  const dataDir = join(root, 'server')
  // "The demo": a server on its data directory, with a filter made through the API.
  const srv = await startServer({ dataDir, port: 0 })
  let filterId: string
  try {
    const xml = (await callAction(
      srv.url,
      { ...srv.credentials, region: 'us-east-1' },
      'CreateTrafficMirrorFilter',
      {
        Description: 'made by the demo',
      },
    )) as string
    filterId = /<trafficMirrorFilterId>([^<]+)</.exec(xml)![1]!
    const during = awsCliCommands({
      serverDataDir: dataDir,
      endpoint: srv.url,
      subnetId: 'subnet-0123456789abcdef0',
    })
    assert.ok(during.length >= 5)
    for (const line of during) {
      assert.doesNotMatch(line, /\n/)
      assert.match(
        line,
        /^AWS_CONFIG_FILE=.* AWS_SHARED_CREDENTIALS_FILE=.* aws --profile mirrorflow --endpoint-url /,
      )
      const r = await paste(line)
      assert.equal(r.status, 0, `${line}\n${r.stderr}`)
      JSON.parse(r.stdout)
    }
    assert.match((await paste(during[3]!)).stdout, new RegExp(filterId))
  } finally {
    await srv.close()
  }

  // After the demo: its printed restart line, then the same commands against it.
  const port = await freePort()
  const [restart, ...rest] = afterDemo(dataDir, port)
  assert.match(restart!, / server --data-dir .* --port \d+ &$/)
  const child = spawn('bash', ['-c', `exec ${restart!.replace(/ &$/, '')}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    let out = ''
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000)
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (out.includes('listening on')) {
          clearTimeout(t)
          resolve()
        }
      })
      child.once('exit', (c) => reject(new Error(`server exited ${c}: ${out}`)))
    })
    for (const line of rest) {
      const r = await paste(line)
      assert.equal(r.status, 0, `${line}\n${r.stderr}`)
    }
    const filters = await paste(rest.find((l) => l.endsWith('describe-traffic-mirror-filters'))!)
    assert.match(filters.stdout, new RegExp(`"TrafficMirrorFilterId": "${filterId!}"`))
    const status = await paste(rest.at(-1)!)
    assert.match(status.stdout, /^server http:\/\/127\.0\.0\.1:\d+: mirrorflow /)
  } finally {
    child.kill('SIGTERM')
  }
})
