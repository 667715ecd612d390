// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// `mirrorflow demo --duration 15 --json --console` runs the whole system in namespaces; after the
// traffic it prints the web console's address and a sign-in key and stays up (the console answers,
// the key signs in) until Ctrl-C (SIGINT); then it exits 0 with a summary that shows mirrored packets,
// flow-log records and the findings of the attacker's scan and SSH guessing, and leaves nothing behind.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { listNamespaces } from '../../src/lab/netns.ts'
import { countRecords, type DemoSummary } from '../../src/lab/index.ts'
import { REPO_ROOT } from '../helpers/shared.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-demo-test-'))
const prefix = `mfdt${process.pid % 1000}`
after(() => rmSync(dir, { recursive: true, force: true }))
let report: (() => string) | null = null
after(() => {
  if (report !== null) process.stderr.write(`the demo's standard error:\n${report()}\n`)
})

test('mirrorflow demo --duration 15 --json --console', { timeout: 300_000 }, async () => {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
      'demo',
      '--duration',
      '15',
      '--json',
      '--data-dir',
      join(dir, 'data'),
      '--prefix',
      prefix,
      '--console',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  // What the demo said, when the test does not pass (a timeout shows nothing else).
  report = () => {
    if (child.exitCode === null) child.kill('SIGKILL')
    return err
  }
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
  // --console: the address and a key, then the demo waits for Ctrl-C.
  const up =
    /the web console is up at (http:\/\/\S+)\n\s+Access key ID:\s+(\S+)\n\s+Secret access key:\s+(\S+)\n/
  for (let i = 0; up.exec(err) === null; i++) {
    assert.equal(child.exitCode, null, `the demo exited before its console phase: ${err}`)
    assert.ok(i < 2400, 'the console phase starts within 240 s')
    await new Promise((r) => setTimeout(r, 100))
  }
  const [, consoleUrl, keyId, secret] = up.exec(err)!
  const page = await fetch(consoleUrl!)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<title>mirrorflow console<\/title>/)
  const signIn = await fetch(new URL('/console/api/session', consoleUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessKeyId: keyId, secretAccessKey: secret }),
  })
  assert.equal(signIn.status, 200, await signIn.clone().text())
  assert.match(signIn.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/)
  await new Promise((r) => setTimeout(r, 1000))
  assert.equal(child.exitCode, null, 'the demo stays up until Ctrl-C')
  child.kill('SIGINT')
  const code = await exited
  assert.equal(code, 0, err)
  const s = JSON.parse(out) as DemoSummary
  assert.equal(s.mirror.sessions.length, 1)
  const m = s.mirror.sessions[0]!
  assert.ok(m.packetsMirrored > 100, `mirrored ${m.packetsMirrored}`)
  assert.ok(m.pcapFiles.length >= 1 && m.pcapFiles.every((f) => existsSync(f)))
  assert.equal(s.flowLogs.length, 2)
  // The second flow log goes to a CloudWatch Logs log group: its events are there, one per record.
  const cwl = s.flowLogs[1]!
  assert.equal(
    cwl.destination,
    'arn:aws:logs:us-east-1:123456789012:log-group:/mirrorflow/demo/vpc-flow-logs',
  )
  assert.ok(cwl.records > 50, `log events ${cwl.records}`)
  const fl = s.flowLogs[0]!
  assert.ok(fl.records > 50, `records ${fl.records}`)
  assert.equal(
    fl.files.reduce((n, f) => n + countRecords(f), 0),
    fl.records,
  )
  assert.ok(
    fl.files.every((f) =>
      f.includes('/mirrorflow-demo/flowlogs/AWSLogs/123456789012/vpcflowlogs/us-east-1/'),
    ),
  )
  assert.equal(s.traffic.client?.failed, 0)
  // The web group allows 80 from anywhere and 22 only from the admin subnet, which the attacker is
  // not in: its scan finds 80 open, and every other probe it sent is a REJECT record.
  assert.equal(s.traffic.attacker?.open, '80')
  assert.notEqual(s.security.groups, null)
  assert.ok(s.security.rejectRecords > 100, `REJECT records ${s.security.rejectRecords}`)
  assert.ok(s.security.rejectPackets >= s.security.rejectRecords)
  // Live detection on the delivered flow logs: the attacker's scan of the web server and its SSH
  // guessing (dropped by the web group: every attempt a REJECT record), each with its actor and target.
  const web = s.instances['web']!.address
  const attacker = s.instances['attacker']!.address
  const host = (ep: string): string => ep.split(':')[0]!
  const found = s.findings
    .map((f) => `${f.type} ${f.severity} ${f.role} local=${host(f.local)} remote=${host(f.remote)}`)
    .sort()
  assert.deepEqual(found, [
    `Recon:EC2/InboundPortscan.Mirrorflow 2 TARGET local=${web} remote=${attacker}`,
    `Recon:EC2/Portscan 5 ACTOR local=${attacker} remote=${web}`,
    `UnauthorizedAccess:EC2/SSHBruteForce 2 TARGET local=${web} remote=${attacker}`,
    `UnauthorizedAccess:EC2/SSHBruteForce 8 ACTOR local=${attacker} remote=${web}`,
  ])
  const ssh = s.findings.filter((f) => f.type === 'UnauthorizedAccess:EC2/SSHBruteForce')
  assert.deepEqual(
    ssh.map((f) => (f.role === 'TARGET' ? f.local : f.remote)),
    [`${web}:22`, `${web}:22`],
  )
  assert.deepEqual(await listNamespaces(prefix), [])
  report = null
})
