// SPDX-License-Identifier: Apache-2.0
// test-group: namespace
// The web console end to end, in Debian's Chromium (headless, playwright-core), against the demo:
// a real server, one agent per namespace and a mirror target, with the demo's traffic. One setup
// (the demo, with its console phase) for every case:
// - a wrong key cannot sign in; an agent key (read only) can list but not create;
// - a filter, two rules (one then edited in place) and a session made through the Resources forms
//   are applied by the agent,
//   and the mirrored packets reach the target under the session's VNI;
// - the flow of a ping found with the Flows search, and its pcap downloaded from the Packets page,
//   holds exactly the frames tshark captured on the database's interface;
// - the Flows export as CSV and as Parquet (the same records); `mirrorflow pcap` writes the same
//   frames as the Packets page, and says PacketsNoLongerHeld for a range the ring no longer holds;
// - the Overview's byte and packet totals equal the sums of the delivered flow-log records;
// - the demo's port scan is on the Findings page (type, attacker in the evidence);
// - a screenshot of each page in results/console-screenshots/ (git-ignored).
// The checks that do not need the ping's flow-log records run while the agents deliver them (the
// aggregation interval is 60 s), so that the wait costs nothing. Each step is logged with its time.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { after, test } from 'node:test'
import { chromium, type Page } from 'playwright-core'
import { QueryEngine, sqlString } from '../../src/analytics/index.ts'
import { callAction } from '../../src/api/index.ts'
import { DEMO_BUCKET, runDemo, type DemoConsole } from '../../src/lab/index.ts'
import { REPO_ROOT } from '../helpers/shared.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-console-e2e-'))
const shots = join(REPO_ROOT, 'results', 'console-screenshots')
after(() => rmSync(dir, { recursive: true, force: true }))

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Every frame of a classic pcap, as hex. */
function frames(file: string | Buffer): string[] {
  const b = typeof file === 'string' ? readFileSync(file) : file
  assert.equal(b.readUInt32LE(0), 0xa1b2c3d4, 'a little-endian microsecond pcap')
  const out: string[] = []
  for (let o = 24; o + 16 <= b.length;) {
    const n = b.readUInt32LE(o + 8)
    out.push(b.subarray(o + 16, o + 16 + n).toString('hex'))
    o += 16 + n
  }
  return out
}

function walk(d: string, out: string[] = []): string[] {
  let names: string[] = []
  try {
    names = readdirSync(d)
  } catch {
    return out
  }
  for (const n of names) {
    const p = join(d, n)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (p.endsWith('.log.gz')) out.push(p)
  }
  return out
}

/** The delivered records (v2 format) of the demo's bucket. */
function records(dataDir: string): string[][] {
  const out: string[][] = []
  for (const f of walk(join(dataDir, 's3', DEMO_BUCKET))) {
    const lines = gunzipSync(readFileSync(f)).toString('utf8').trim().split('\n').slice(1)
    for (const l of lines) out.push(l.split(' '))
  }
  return out
}

async function signIn(page: Page, url: string, id: string, secret: string): Promise<void> {
  await page.goto(url)
  await page.getByLabel('Access key ID').fill(id)
  await page.getByLabel('Secret access key').fill(secret)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('Signed out.').waitFor()
}

test(
  'the console against the demo: sign-in, resources, mirroring, flows, packets, overview',
  { timeout: 600_000 },
  async () => {
    mkdirSync(shots, { recursive: true })
    const checks: string[] = []
    const t0 = Date.now()
    const step = (what: string): void => {
      process.stderr.write(`# e2e-console ${((Date.now() - t0) / 1000).toFixed(1)}s ${what}\n`)
    }
    await runDemo({
      dataDir: join(dir, 'demo'),
      durationSeconds: 8,
      prefix: `mfc${process.pid % 1000}`,
      log: (l: string) => step(`demo: ${l}`),
      print: () => undefined,
      scanPorts: 100,
      console: async (c: DemoConsole) => {
        const admin = { ...c.credentials, region: 'us-east-1' }
        const browser = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
          executablePath: '/usr/bin/chromium',
          headless: true,
          viewport: { width: 1280, height: 800 },
          acceptDownloads: true,
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        })
        try {
          step('console phase: Chromium started')
          const page = browser.pages()[0] ?? (await browser.newPage())
          // The admin key: a filter, its rules and a session on the database's interface, by the forms.
          await signIn(page, c.consoleUrl, c.credentials.accessKeyId, c.credentials.secretAccessKey)
          await page.getByRole('heading', { name: 'Overview' }).waitFor()
          await page.goto(`${c.consoleUrl}#/resources/filters`)
          await page.getByRole('button', { name: 'Create mirror filter' }).click()
          await page.getByLabel('Description').fill('console e2e: ICMP')
          await expectCli(page, 'aws ec2 create-traffic-mirror-filter --description')
          await page.getByRole('button', { name: 'CreateTrafficMirrorFilter' }).click()
          await page.getByText('CreateTrafficMirrorFilter succeeded.').first().waitFor()
          const filterId = /tmf-[0-9a-f]{17}/.exec(await page.locator('.flash').first().innerText())![0]
          await page.goto(`${c.consoleUrl}#/resources/filters/${filterId}`)
          for (const dirn of ['ingress', 'egress']) {
            await page.getByRole('button', { name: 'Create rule' }).click()
            await page.getByLabel('TrafficDirection').selectOption(dirn)
            await page.getByLabel('RuleNumber').fill('10')
            await page.getByLabel('Protocol').selectOption('1')
            await page.getByLabel('SourceCidrBlock').fill('0.0.0.0/0')
            await page.getByLabel('DestinationCidrBlock').fill('0.0.0.0/0')
            await page.getByRole('button', { name: 'CreateTrafficMirrorFilterRule' }).click()
            await page.getByText('CreateTrafficMirrorFilterRule succeeded.').first().waitFor()
          }
          // A rule edited in place (ModifyTrafficMirrorFilterRule, the form prefilled with the rule).
          await page.getByRole('button', { name: 'Edit' }).first().click()
          await page.getByLabel('RuleNumber').fill('20')
          await expectCli(page, 'aws ec2 modify-traffic-mirror-filter-rule ')
          await page.getByRole('button', { name: 'ModifyTrafficMirrorFilterRule' }).click()
          await page.getByText('ModifyTrafficMirrorFilterRule succeeded.').first().waitFor()
          const described = String(
            await callAction(c.endpoint, admin, 'DescribeTrafficMirrorFilters', {
              'TrafficMirrorFilterId.1': filterId,
            }),
          )
          assert.deepEqual(
            [...described.matchAll(/<ruleNumber>(\d+)<\/ruleNumber>/g)].map((m) => m[1]).sort(),
            ['10', '20'],
            'one rule renumbered, the other unchanged',
          )
          assert.equal([...described.matchAll(/<protocol>1<\/protocol>/g)].length, 2, 'both still ICMP')
          await page.screenshot({ path: join(shots, 'resources-filter.png'), fullPage: true })
          const db = c.hosts.db!
          const client = c.hosts.client!
          await page.goto(`${c.consoleUrl}#/resources/sessions`)
          await page.getByRole('button', { name: 'Create mirror session' }).click()
          await page.getByLabel('NetworkInterfaceId').fill(db.networkInterfaceId)
          await page.getByLabel('TrafficMirrorTargetId').fill(c.targetId)
          await page.getByLabel('TrafficMirrorFilterId').fill(filterId)
          await page.getByLabel('VirtualNetworkId').fill('4242')
          await page.getByRole('button', { name: 'CreateTrafficMirrorSession' }).click()
          await page.getByText('CreateTrafficMirrorSession succeeded.').first().waitFor()
          checks.push('filter, rules and session created through the forms')
          step('filter, rules and session created through the forms')

          // The database's agent applies it.
          const dbInstance = (
            (await callAction(c.endpoint, admin, 'MirrorflowDescribeStatus', {})) as {
              Agents: Array<{ InstanceId: string; NetworkInterfaces: Array<{ NetworkInterfaceId: string }> }>
            }
          ).Agents.find((a) =>
            a.NetworkInterfaces.some((e) => e.NetworkInterfaceId === db.networkInterfaceId),
          )!
          for (let i = 0; ; i++) {
            const st = (await callAction(c.endpoint, admin, 'MirrorflowDescribeStatus', {})) as {
              Agents: Array<{ InstanceId: string; Report: { MirrorSessions: number } | null }>
            }
            if (
              (st.Agents.find((a) => a.InstanceId === dbInstance.InstanceId)?.Report?.MirrorSessions ?? 0) >=
              1
            )
              break
            assert.ok(i < 60, 'the database agent applies the session within 30 s')
            await sleep(500)
          }

          step('the database agent applied the session')
          // The database's security group admits ICMP from the VPC (the demo's allows only 5432 from web).
          const eni = String(
            await callAction(c.endpoint, admin, 'DescribeNetworkInterfaces', {
              'NetworkInterfaceId.1': db.networkInterfaceId,
            }),
          )
          const dbGroup = /sg-[0-9a-f]{17}/.exec(eni)?.[0]
          if (dbGroup !== undefined) {
            await callAction(c.endpoint, admin, 'AuthorizeSecurityGroupIngress', {
              GroupId: dbGroup,
              'IpPermissions.1.IpProtocol': 'icmp',
              'IpPermissions.1.FromPort': '-1',
              'IpPermissions.1.ToPort': '-1',
              'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/16',
            })
          }
          // Until the database's agent enforces the new rule, echo requests are dropped: wait for it with
          // pings from the web server (another flow than the client's, which is the one examined).
          for (let i = 0; ; i++) {
            const warm = spawn(
              'ip',
              ['netns', 'exec', c.hosts.web!.ns, 'ping', '-c', '1', '-W', '1', db.address],
              {
                stdio: 'ignore',
              },
            )
            if ((await new Promise((r) => warm.on('exit', r))) === 0) break
            assert.ok(i < 60, 'the database answers pings within about 60 s of the rule')
          }
          // A ping from the client to the database, captured by tshark on the database's interface.
          const cap = join(dir, 'db-icmp.pcap')
          const tshark = spawn(
            'ip',
            ['netns', 'exec', db.ns, 'tshark', '-q', '-i', 'eth0', '-f', 'icmp', '-F', 'pcap', '-w', cap],
            {
              stdio: ['ignore', 'ignore', 'pipe'],
            },
          )
          let tsErr = ''
          tshark.stderr.setEncoding('utf8').on('data', (d: string) => (tsErr += d))
          for (let i = 0; !tsErr.includes('Capturing on'); i++) {
            assert.ok(i < 600, `tshark starts: ${tsErr}`)
            await sleep(100)
          }
          const pingStart = Math.floor(Date.now() / 1000)
          const ping = spawn('ip', ['netns', 'exec', client.ns, 'ping', '-c', '5', '-i', '0.2', db.address], {
            stdio: 'ignore',
          })
          assert.equal(await new Promise((r) => ping.on('exit', r)), 0, 'ping succeeds')
          await sleep(1000)
          tshark.kill('SIGINT')
          await new Promise((r) => tshark.on('exit', r))
          const seen = frames(cap)
          step('pinged')
          assert.equal(seen.length, 10, 'tshark saw 5 requests and 5 replies')

          // Mirrored: the target holds the session's packets (VNI 4242).
          for (let i = 0; ; i++) {
            const st = JSON.parse(readFileSync(c.targetStatusFile, 'utf8')) as {
              sessions: Array<{ vni: number; packets: number }>
            }
            if ((st.sessions.find((s) => s.vni === 4242)?.packets ?? 0) >= 10) break
            assert.ok(i < 40, 'the target receives the mirrored ping under VNI 4242')
            await sleep(500)
          }
          checks.push('agent applied the session; mirrored packets arrived')
          step('ping mirrored; the checks that need no new flow-log record run while they are delivered')

          await signOut(page)
          // A wrong secret: refused, no session.
          await signIn(page, c.consoleUrl, c.credentials.accessKeyId, 'x'.repeat(40))
          await page.getByText('InvalidCredentials').waitFor()
          assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0)
          checks.push('wrong key refused')

          // A read-only (agent) key: lists, but cannot create.
          const ro = (await callAction(c.endpoint, admin, 'MirrorflowCreateAccessKey', {
            Agent: 'true',
            Description: 'console e2e read-only',
          })) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }
          await signIn(page, c.consoleUrl, ro.AccessKey.AccessKeyId, ro.AccessKey.SecretAccessKey)
          await page.getByRole('heading', { name: 'Overview' }).waitFor()
          await page.goto(`${c.consoleUrl}#/resources/filters`)
          await page.getByRole('button', { name: 'Create mirror filter' }).click()
          await page.getByLabel('Description').fill('must not exist')
          await page.getByRole('button', { name: 'CreateTrafficMirrorFilter' }).click()
          await page.getByText('UnauthorizedOperation').waitFor()
          await signOut(page)
          checks.push('read-only key cannot create')

          // The demo's scan, found by the live detection over the delivered flow logs, on the Findings page.
          await signIn(page, c.consoleUrl, c.credentials.accessKeyId, c.credentials.secretAccessKey)
          await page.getByRole('heading', { name: 'Overview' }).waitFor()
          const attacker = c.hosts.attacker!.address
          for (let i = 0; ; i++) {
            await page.goto(`${c.consoleUrl}#/findings?type=Recon%3AEC2%2FPortscan`)
            const findings = page.getByRole('table', { name: 'Findings' })
            await findings.waitFor()
            if ((await findings.getByRole('cell', { name: 'Recon:EC2/Portscan', exact: true }).count()) > 0)
              break
            assert.ok(i < 60, 'the scan becomes a finding within 120 s')
            await sleep(2000)
            await page.goto('about:blank')
          }
          await page.screenshot({ path: join(shots, 'findings.png'), fullPage: true })
          await page
            .getByRole('table', { name: 'Findings' })
            .getByRole('row')
            .filter({ hasText: 'Recon:EC2/Portscan' })
            .first()
            .getByRole('button')
            .first()
            .click()
          const evidence = page.getByRole('region', { name: 'Evidence' })
          await evidence.waitFor()
          assert.match(await evidence.innerText(), new RegExp(`\\b${attacker.replace(/\./g, '\\.')}\\b`))
          checks.push("the demo's scan is a finding")
          step('scan finding shown')

          // The ping's flow-log records are delivered (aggregation interval: 60 s).
          for (let i = 0; ; i++) {
            const r = records(c.dataDir).filter(
              (x) => x[3] === client.address && x[4] === db.address && x[7] === '1',
            )
            if (r.length > 0) break
            assert.ok(i < 100, 'the ping is in the flow logs within 100 s')
            await sleep(1000)
          }
          step('ping in the flow logs')

          // Flows: search the ping (the store sees new objects within seconds), open its packets.
          const flowsUrl = `${c.consoleUrl}#/flows?range=3600&srcaddr=${client.address}&dstaddr=${db.address}&protocol=1&interface=${db.networkInterfaceId}`
          for (let i = 0; ; i++) {
            await page.goto(flowsUrl)
            await page.getByRole('table', { name: 'Flow log records' }).waitFor()
            if ((await page.getByRole('link', { name: 'Packets' }).count()) > 0) break
            assert.ok(i < 30, 'the ping is found by the Flows search within 60 s of its delivery')
            await sleep(2000)
            await page.goto('about:blank')
          }
          await page.screenshot({ path: join(shots, 'flows.png'), fullPage: true })

          // Export: the matching records as CSV, and as Parquet holding the same records.
          const [csvDownload] = await Promise.all([
            page.waitForEvent('download'),
            page.getByRole('link', { name: 'Export CSV' }).click(),
          ])
          const csvText = readFileSync((await csvDownload.path())!, 'utf8')
          const csvLines = csvText.trim().split('\n')
          assert.ok(
            csvLines[0]!.startsWith('start,end,interface_id,srcaddr,dstaddr,srcport,dstport,protocol,'),
          )
          assert.ok(csvLines.length >= 2, 'the CSV holds the ping')
          for (const l of csvLines.slice(1))
            assert.ok(
              l.includes(`,${db.networkInterfaceId},${client.address},${db.address},`) && l.includes(',1,'),
              `a record of the ping: ${l}`,
            )
          const [parquetDownload] = await Promise.all([
            page.waitForEvent('download'),
            page.getByRole('link', { name: 'Export Parquet' }).click(),
          ])
          const parquetFile = join(dir, 'flows.parquet')
          copyFileSync((await parquetDownload.path())!, parquetFile)
          const pq = readFileSync(parquetFile)
          assert.equal(pq.subarray(0, 4).toString('latin1'), 'PAR1')
          assert.equal(pq.subarray(pq.length - 4).toString('latin1'), 'PAR1')
          const duck = await QueryEngine.open({ threads: 1 })
          try {
            const again = join(duck.exportDir, 'again.csv')
            await duck.exec(
              `COPY (SELECT * FROM read_parquet(${sqlString(parquetFile)})) TO ${sqlString(again)} (FORMAT CSV, HEADER true)`,
            )
            assert.equal(
              readFileSync(again, 'utf8'),
              csvText,
              'the Parquet export holds the CSV export records',
            )
          } finally {
            duck.close()
          }
          checks.push('flows exported as CSV and Parquet')
          await page.getByRole('link', { name: 'Packets' }).first().click()
          await page.getByRole('heading', { name: 'Packets' }).waitFor()
          // The packets, or the error the server answered (shown as an alert): either ends the wait.
          await page.locator('pre.packets, p.notice.error').first().waitFor()
          const failed = page.locator('p.notice.error')
          if ((await failed.count()) > 0) assert.fail(`the Packets page: ${await failed.first().innerText()}`)
          const summary = await page.locator('pre.packets').innerText()
          assert.match(
            summary,
            new RegExp(
              `${client.address.replace(/\./g, '\\.')} → ${db.address.replace(/\./g, '\\.')} ICMP \\d+ Echo \\(ping\\) request`,
            ),
          )
          await page.screenshot({ path: join(shots, 'packets.png'), fullPage: true })
          const [download] = await Promise.all([
            page.waitForEvent('download'),
            page.getByRole('link', { name: /Download flow-/ }).click(),
          ])
          const got = frames(readFileSync((await download.path())!))
          const pingFrames = seen.filter((_, i) => i < 10)
          assert.deepEqual(got, pingFrames, 'the pcap holds exactly the frames tshark saw on the interface')
          checks.push('flow found; pcap equals tshark')
          // The same packets with `mirrorflow pcap` (a signed GET with the admin key); and its error
          // when the rings no longer hold the range.
          const linkQ = new URLSearchParams(page.url().slice(page.url().indexOf('?') + 1))
          const cliOut = join(dir, 'cli.pcap')
          const pcapCli = async (
            start: string,
            end: string,
          ): Promise<{ code: number | null; err: string }> => {
            const child = spawn(
              process.execPath,
              [
                join(REPO_ROOT, 'bin', 'mirrorflow.mjs'),
                'pcap',
                '--flow',
                linkQ.get('flow')!,
                '--start',
                start,
                '--end',
                end,
                '--endpoint-url',
                c.endpoint,
                '-o',
                cliOut,
              ],
              {
                stdio: ['ignore', 'ignore', 'pipe'],
                env: {
                  ...process.env,
                  AWS_ACCESS_KEY_ID: c.credentials.accessKeyId,
                  AWS_SECRET_ACCESS_KEY: c.credentials.secretAccessKey,
                  AWS_REGION: 'us-east-1',
                },
              },
            )
            let err = ''
            child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
            const code = await new Promise<number | null>((r) => child.on('exit', (x) => r(x)))
            return { code, err }
          }
          const cli = await pcapCli(linkQ.get('start')!, linkQ.get('end')!)
          assert.equal(cli.code, 0, cli.err)
          assert.deepEqual(frames(cliOut), pingFrames, 'mirrorflow pcap writes the same frames')
          const gone = await pcapCli('2020-01-01T00:00:00Z', '2020-01-01T00:01:00Z')
          assert.equal(gone.code, 254)
          assert.match(
            gone.err,
            /An error occurred \(PacketsNoLongerHeld\) when calling the MirrorflowGetFlowPackets operation/,
          )
          checks.push('mirrorflow pcap: the same frames; PacketsNoLongerHeld out of the ring')

          // Overview: the totals drawn equal the sums of the delivered records in the range.
          const all = records(c.dataDir).filter((x) => x[12] !== '-' && x[9] !== '-')
          const from = Math.min(...all.map((x) => Number(x[10])))
          const to = Math.floor(Date.now() / 1000) + 1
          const want = { bytes: 0, packets: 0 }
          for (const x of all)
            if (Number(x[10]) >= from && Number(x[10]) < to) {
              want.bytes += Number(x[9])
              want.packets += Number(x[8])
            }
          await page.goto(
            `${c.consoleUrl}#/overview?start=${new Date(from * 1000).toISOString()}&end=${new Date(to * 1000).toISOString()}`,
          )
          await page.locator('.sr-summary').nth(2).waitFor()
          const totals = async (i: number): Promise<number> => {
            const t = JSON.parse(
              (await page.locator('.sr-summary').nth(i).getAttribute('data-totals'))!,
            ) as Record<string, number>
            return (t.accepted ?? 0) + (t.rejected ?? 0)
          }
          assert.equal(await totals(0), want.bytes, 'bytes drawn = bytes in the flow logs')
          assert.equal(await totals(1), want.packets, 'packets drawn = packets in the flow logs')
          assert.ok(pingStart >= from)
          await page.waitForTimeout(500)
          await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true })
          checks.push('overview totals equal the flow logs')

          await page.goto(`${c.consoleUrl}#/findings`)
          await page.getByRole('heading', { name: 'Findings' }).waitFor()
          await page.waitForTimeout(500)
          await page.screenshot({ path: join(shots, 'findings.png'), fullPage: true })
          await page.goto(`${c.consoleUrl}#/resources/sessions`)
          await page.getByRole('table', { name: 'Mirror sessions' }).waitFor()
          await page.screenshot({ path: join(shots, 'resources-sessions.png'), fullPage: true })
        } finally {
          await browser.close()
        }
      },
    })
    assert.deepEqual(checks, [
      'filter, rules and session created through the forms',
      'agent applied the session; mirrored packets arrived',
      'wrong key refused',
      'read-only key cannot create',
      "the demo's scan is a finding",
      'flows exported as CSV and Parquet',
      'flow found; pcap equals tshark',
      'mirrorflow pcap: the same frames; PacketsNoLongerHeld out of the ring',
      'overview totals equal the flow logs',
    ])
  },
)

async function expectCli(page: Page, prefix: string): Promise<void> {
  const text = await page.locator('form.action-form .cli code').first().innerText()
  assert.ok(text.startsWith(prefix), `the form shows its AWS CLI command: ${text}`)
}
