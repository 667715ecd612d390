// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
/**
 * Detections on captures the lab records from real tools, each run in two namespaces joined by a
 * veth pair (attacker 10.77.0.1, victim 10.77.0.2) while tcpdump records the victim's side:
 * - Debian nmap (SYN scan of ports 1–1000) and masscan (ports 1–1000): `Recon:EC2/Portscan` with the
 *   attacker as actor and `Recon:EC2/InboundPortscan.Mirrorflow` against the victim;
 * - 25 SSH logins with a wrong password (sshpass) against sshd in the victim's namespace:
 *   `UnauthorizedAccess:EC2/SSHBruteForce` as actor (High) and as target (Low);
 * - benign: a busy HTTP client (300 requests) and nmap service detection (-sV) repeated on the web
 *   server's single port: no finding.
 * Each capture goes through `mirrorflow detect --pcap --json`, as a user runs it.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { interfaceMac, Lab, nsSpawn, stopProcess, uniquePrefix } from '../../src/lab/netns.ts'
import { REPO_ROOT } from '../helpers/shared.ts'
import { run, type CliResult } from '../helpers/api-server.ts'

const ATTACKER = '10.77.0.1'
const VICTIM = '10.77.0.2'
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

let lab: Lab
let dir: string
let att = ''
let vic = ''
const procs: ChildProcess[] = []

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mf-detect-lab-'))
  lab = new Lab(uniquePrefix('mfd'))
  att = await lab.namespace('att')
  vic = await lab.namespace('vic')
  await lab.veth(
    { ns: att, ifname: 'att0', addresses: [`${ATTACKER}/24`] },
    { ns: vic, ifname: 'vic0', addresses: [`${VICTIM}/24`] },
  )
  // A web server on the victim (port 8080) for the benign cases.
  const web = nsSpawn(vic, [
    process.execPath,
    '-e',
    "require('http').createServer((q,s)=>s.end('hello '+q.url)).listen(8080,'0.0.0.0')",
  ])
  procs.push(web)
  // sshd on the victim: password logins allowed, every password wrong.
  await lab.exec(vic, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')])
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `HostKey ${join(dir, 'hostkey')}`,
      'ListenAddress 0.0.0.0:22',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      `PidFile ${join(dir, 'sshd.pid')}`,
      'MaxStartups 100',
      '',
    ].join('\n'),
  )
  mkdirSync('/run/sshd', { recursive: true })
  const sshd = nsSpawn(vic, ['/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')])
  procs.push(sshd)
  await sleep(800)
})

after(async () => {
  for (const p of procs) await stopProcess(p, 1000)
  await lab?.cleanup()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

/** Records the victim's interface while `activity` runs; returns the pcap's path. */
async function record(name: string, activity: () => Promise<void>): Promise<string> {
  const file = join(dir, `${name}.pcap`)
  const tcpdump = nsSpawn(vic, ['tcpdump', '-i', 'vic0', '-n', '-U', '-w', file])
  let err = ''
  tcpdump.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  for (let i = 0; i < 50 && !err.includes('listening on'); i++) await sleep(100)
  await activity()
  await sleep(500)
  await stopProcess(tcpdump, 2000)
  return file
}

async function detect(file: string): Promise<string[]> {
  const r: CliResult = await run(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'mirrorflow.mjs'), 'detect', '--pcap', file, '--json', '--quiet'],
    { PATH: process.env.PATH },
  )
  assert.equal(r.code, 0, r.stderr)
  const findings = r.json as {
    Type: string
    Severity: number
    Service: {
      ResourceRole: string
      Action: {
        NetworkConnectionAction?: {
          LocalIpDetails: { IpAddressV4: string }
          RemoteIpDetails: { IpAddressV4: string }
        }
        PortProbeAction?: {
          PortProbeDetails: {
            LocalIpDetails: { IpAddressV4: string }
            RemoteIpDetails: { IpAddressV4: string }
          }[]
        }
      }
    }
  }[]
  return findings
    .map((f) => {
      const a =
        f.Service.Action.NetworkConnectionAction ?? f.Service.Action.PortProbeAction!.PortProbeDetails[0]!
      return `${f.Type} ${f.Severity} ${f.Service.ResourceRole} local=${a.LocalIpDetails.IpAddressV4} remote=${a.RemoteIpDetails.IpAddressV4}`
    })
    .sort()
}

const SCAN = [
  `Recon:EC2/InboundPortscan.Mirrorflow 2 TARGET local=${VICTIM} remote=${ATTACKER}`,
  `Recon:EC2/Portscan 5 ACTOR local=${ATTACKER} remote=${VICTIM}`,
]

test('nmap SYN scan of 1000 ports: the scan, by the attacker, against the victim', async () => {
  const file = await record('nmap', async () => {
    await lab.exec(att, ['nmap', '-n', '-Pn', '-sS', '-p', '1-1000', '-T4', VICTIM], { timeoutMs: 60_000 })
  })
  assert.deepEqual(await detect(file), SCAN)
})

test('masscan of 1000 ports: the same findings', async () => {
  const mac = await interfaceMac(vic, 'vic0')
  const file = await record('masscan', async () => {
    await lab.exec(
      att,
      [
        'masscan',
        VICTIM,
        '-p1-1000',
        '--rate',
        '2000',
        '--wait',
        '1',
        '--adapter',
        'att0',
        '--adapter-ip',
        ATTACKER,
        '--router-mac',
        mac,
      ],
      { timeoutMs: 60_000 },
    )
  })
  assert.deepEqual(await detect(file), SCAN)
})

test('25 SSH logins with a wrong password: SSH brute force as actor and as target', async () => {
  const file = await record('ssh', async () => {
    for (let i = 0; i < 25; i++) {
      await lab
        .exec(
          att,
          [
            'sshpass',
            '-p',
            `wrong${i}`,
            'ssh',
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
            '-o',
            'NumberOfPasswordPrompts=1',
            '-o',
            'PreferredAuthentications=password',
            '-o',
            'ConnectTimeout=5',
            `nobody@${VICTIM}`,
            'true',
          ],
          { timeoutMs: 15_000 },
        )
        .catch(() => undefined)
    }
  })
  assert.deepEqual(await detect(file), [
    `UnauthorizedAccess:EC2/SSHBruteForce 2 TARGET local=${VICTIM} remote=${ATTACKER}`,
    `UnauthorizedAccess:EC2/SSHBruteForce 8 ACTOR local=${ATTACKER} remote=${VICTIM}`,
  ])
})

test('benign: a busy HTTP client and repeated service detection of the one web port give nothing', async () => {
  const file = await record('benign', async () => {
    await lab.exec(
      att,
      [
        process.execPath,
        '-e',
        `(async()=>{for(let i=0;i<300;i++){const r=await fetch('http://${VICTIM}:8080/'+i,{headers:{connection:'close'}});await r.text()}})()`,
      ],
      { timeoutMs: 60_000 },
    )
    for (let i = 0; i < 3; i++)
      await lab.exec(att, ['nmap', '-n', '-Pn', '-sV', '-p', '8080', VICTIM], { timeoutMs: 60_000 })
  })
  assert.deepEqual(await detect(file), [])
})
