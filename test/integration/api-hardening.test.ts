// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * The API's defences against a caller with no key or only a presigned URL (issue 9): no body on a
 * presigned request (item 4), the signature checked before any body is read or parsed (item 5),
 * `/metrics` for loopback peers only by default (item 8), CR surviving the XML round trip into the
 * AWS CLI (item 17), a server that cannot bind its port leaving no data directory (item 19), and
 * a request timeout that cuts off a trickled body but not a long poll.
 */
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CreateTrafficMirrorFilterCommand, DescribeTrafficMirrorFiltersCommand } from '@aws-sdk/client-ec2'
import { SignatureV4 } from '@smithy/signature-v4'
import { signRequest as signSigV4, startServer } from '../../src/api/index.ts'
import {
  NodeSha256,
  formEncode,
  parseEc2Error,
  run,
  signRequest,
  startApiTestServer,
  type ApiTestServer,
  type HttpResult,
} from '../helpers/api-server.ts'
import { REPO_ROOT } from '../helpers/shared.ts'

let srv: ApiTestServer
before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-api-hard' })
})
after(async () => {
  await srv.close()
})

async function accessKeyCount(): Promise<number> {
  const r = await srv.signed({ Action: 'MirrorflowListAccessKeys', Version: '2016-11-15' })
  assert.equal(r.status, 200, r.body)
  return (JSON.parse(r.body) as { AccessKeyMetadata: unknown[] }).AccessKeyMetadata.length
}

async function vpcCount(): Promise<number> {
  const r = await srv.signed({ Action: 'DescribeVpcs', Version: '2016-11-15' })
  return (r.body.match(/<vpcId>/g) ?? []).length
}

/**
 * A presigned URL (query-string SigV4) for `params`. `unsignedPayload` signs the payload as
 * `UNSIGNED-PAYLOAD`, as botocore's presigner (`generate_presigned_url`) does — written out here
 * from the SigV4 rules, independent of the server's code; otherwise the JS SDK's presigner signs
 * the hash of an empty body.
 */
async function presigned(
  method: 'GET' | 'POST',
  params: Record<string, string>,
  unsignedPayload = false,
): Promise<string> {
  const u = new URL(srv.url)
  if (unsignedPayload) {
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    const scope = `${amzDate.slice(0, 8)}/${srv.region}/ec2/aws4_request`
    const q: Record<string, string> = {
      Version: '2016-11-15',
      ...params,
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${srv.credentials.accessKeyId}/${scope}`,
      'X-Amz-Date': amzDate,
      'X-Amz-Expires': '300',
      'X-Amz-SignedHeaders': 'host',
    }
    const query = formEncode(Object.fromEntries(Object.entries(q).sort(([a], [b]) => (a < b ? -1 : 1))))
    const canonical = [method, '/', query, `host:${u.host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n')
    const hmac = (k: Buffer | string, d: string): Buffer => createHmac('sha256', k).update(d).digest()
    let key = hmac(`AWS4${srv.credentials.secretAccessKey}`, amzDate.slice(0, 8))
    for (const part of [srv.region, 'ec2', 'aws4_request']) key = hmac(key, part)
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`
    return `/?${query}&X-Amz-Signature=${hmac(key, toSign).toString('hex')}`
  }
  const signer = new SignatureV4({
    credentials: srv.credentials,
    region: srv.region,
    service: 'ec2',
    sha256: NodeSha256,
  })
  const p = await signer.presign(
    {
      method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: '/',
      query: { Version: '2016-11-15', ...params },
      headers: { host: u.host },
    },
    { expiresIn: 300 },
  )
  return (
    '/?' +
    Object.entries(p.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&')
  )
}

function isError(r: HttpResult, status: number, code: string): void {
  assert.equal(r.status, status, r.body)
  assert.equal(parseEc2Error(r.body).code, code, r.body)
}

describe('item 4: a presigned request carries no body', () => {
  test('the presigned URL itself works (GET, and POST without a body; both payload forms)', async () => {
    for (const unsigned of [false, true]) {
      const get = await srv.raw({
        method: 'GET',
        path: await presigned('GET', { Action: 'DescribeVpcs' }, unsigned),
      })
      assert.equal(get.status, 200, get.body)
      const post = await srv.raw({
        method: 'POST',
        path: await presigned('POST', { Action: 'DescribeVpcs' }, unsigned),
      })
      assert.equal(post.status, 200, post.body)
    }
  })

  test('Admin=true added in the body of a presigned MirrorflowCreateAccessKey is refused, no key made', async () => {
    const keys = await accessKeyCount()
    for (const unsigned of [true, false]) {
      const path = await presigned('POST', { Action: 'MirrorflowCreateAccessKey' }, unsigned)
      const r = await srv.raw({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Admin=true',
      })
      isError(r, 403, 'SignatureDoesNotMatch')
      assert.match(parseEc2Error(r.body).message, /presigned request cannot carry a body/)
    }
    assert.equal(await accessKeyCount(), keys)
  })

  test('an Action added in the body of a presigned URL is refused, nothing created', async () => {
    const vpcs = await vpcCount()
    const path = await presigned('POST', {}, true)
    for (const body of [
      formEncode({ Action: 'CreateVpc', CidrBlock: '10.9.0.0/16' }),
      // Chunked: no Content-Length to look at before the body.
      Buffer.from(formEncode({ Action: 'CreateVpc', CidrBlock: '10.9.0.0/16' })),
    ]) {
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
      if (Buffer.isBuffer(body)) headers['transfer-encoding'] = 'chunked'
      isError(await srv.raw({ method: 'POST', path, headers, body }), 403, 'SignatureDoesNotMatch')
    }
    assert.equal(await vpcCount(), vpcs)
  })
})

/**
 * Sends a request head announcing `length` body bytes but only `sent` of them; resolves with the
 * status line and body the server answered (or '' if it waited `waitMs` for the rest).
 */
function partial(headers: string, length: number, sent: number, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new URL(srv.url)
    const s = connect(Number(u.port), u.hostname)
    let got = ''
    const timer = setTimeout(() => {
      s.destroy()
      resolve(got)
    }, waitMs)
    s.on('data', (d: Buffer) => (got += d.toString('latin1')))
    s.on('close', () => {
      clearTimeout(timer)
      resolve(got)
    })
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return
      clearTimeout(timer)
      reject(e)
    })
    s.write(
      `POST / HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${length}\r\n${headers}\r\n`,
    )
    s.write(Buffer.alloc(sent, 0x61))
  })
}

describe('item 5: the signature is checked before the body is read or parsed', () => {
  test('an unsigned 1 MiB body is refused from its head alone, before its bytes arrive', async () => {
    // Only 10 bytes of the announced 1 MiB are sent: the old server waited for the rest.
    const got = await partial('', 1024 * 1024, 10, 3000)
    assert.match(got, /^HTTP\/1\.1 401 /)
    assert.match(got, /<Code>MissingAuthenticationToken<\/Code>/)
    assert.match(got, /\r\nconnection: close\r\n/i)
  })

  test('an unknown access key or a skewed date is refused before the body, too', async () => {
    const now = new Date()
    for (const [creds, date, code, status] of [
      [{ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' }, now, 'AuthFailure', 401],
      [srv.credentials, new Date(now.getTime() - 3_600_000), 'RequestExpired', 400],
    ] as const) {
      const signedReq = await signRequest(srv.url, 'Action=DescribeVpcs', {
        credentials: creds,
        region: srv.region,
        date,
      })
      const h = Object.entries(signedReq.headers)
        .filter(([k]) => !['host', 'content-type', 'content-length'].includes(k.toLowerCase()))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')
      const got = await partial(h, 1024 * 1024, 10, 3000)
      assert.match(got, new RegExp(`^HTTP/1\\.1 ${status} `))
      assert.match(got, new RegExp(`<Code>${code}</Code>`))
    }
  })

  test('a wrongly signed body of 100,000 parameters is refused unparsed', async () => {
    // The body is malformed too (a bad percent-encoding after 100,000 duplicates of one key): a
    // parser that ran first would answer InvalidParameter or MalformedQueryString.
    const body = 'A=1&'.repeat(100_000) + 'B=%ZZ'
    const wrong = { accessKeyId: srv.credentials.accessKeyId, secretAccessKey: 'not-the-secret' }
    const req = await signRequest(srv.url, body, { credentials: wrong, region: srv.region })
    isError(await srv.raw(req), 403, 'SignatureDoesNotMatch')
    const unsigned = await srv.raw({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    isError(unsigned, 401, 'MissingAuthenticationToken')
    // Correctly signed, the same body is parsed — and refused for what it is.
    isError(await srv.signed(body), 400, 'InvalidParameter')
  })
})

describe('item 8: /metrics', () => {
  test('answers a loopback peer by default', async () => {
    const r = await srv.raw({ method: 'GET', path: '/metrics' })
    assert.equal(r.status, 200)
    assert.match(r.body, /mirrorflow_api_requests_total/)
  })

  test('refuses a peer that is not on loopback; --metrics-access any/off', async () => {
    // A second server on a non-loopback local address: this host's first non-internal IPv4, or
    // the loopback address's IPv6-mapped twin is not enough — skip only if the host has none.
    const { networkInterfaces } = await import('node:os')
    const addr = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address
    const dirs: string[] = []
    const get = (base: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const u = new URL(base)
        const s = connect({ port: Number(u.port), host: u.hostname, localAddress: u.hostname })
        let got = ''
        s.on('data', (d: Buffer) => (got += d.toString()))
        s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0)))
        s.on('error', reject)
        s.end(`GET /metrics HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`)
      })
    try {
      for (const [access, host, want] of [
        ['loopback', addr, 403],
        ['any', addr, 200],
        ['off', '127.0.0.1', 403],
        ['loopback', '127.0.0.1', 200],
      ] as const) {
        if (host === undefined) continue
        const dir = mkdtempSync(join(tmpdir(), 'mf-api-metrics-'))
        dirs.push(dir)
        const s = await startServer({ dataDir: dir, port: 0, host, metricsAccess: access })
        try {
          assert.equal(await get(s.url), want, `${access} from ${host}`)
        } finally {
          await s.close()
        }
      }
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    }
    assert.ok(addr !== undefined, 'this host has no non-loopback IPv4 address to test from')
  })
})

describe('item 17: CR in a value comes back as CR', () => {
  test('through the AWS CLI (an XML parser that normalises raw CR) and the SDK', async () => {
    const description = 'a\r\nb\rc\td\ne'
    const made = await srv.ec2.send(new CreateTrafficMirrorFilterCommand({ Description: description }))
    const id = made.TrafficMirrorFilter!.TrafficMirrorFilterId!
    const cli = await srv.aws('ec2', 'describe-traffic-mirror-filters', '--traffic-mirror-filter-ids', id)
    assert.equal(cli.code, 0, cli.stderr)
    const got = (cli.json as { TrafficMirrorFilters: { Description: string }[] }).TrafficMirrorFilters[0]!
    assert.equal(got.Description, description)
    const sdk = await srv.ec2.send(new DescribeTrafficMirrorFiltersCommand({ TrafficMirrorFilterIds: [id] }))
    assert.equal(sdk.TrafficMirrorFilters![0]!.Description, description)
  })
})

describe('item 19: a server that cannot bind its port leaves no data directory', () => {
  let blocker: Server
  let port: number
  before(async () => {
    blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    port = (blocker.address() as { port: number }).port
  })
  after(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()))
  })

  test('mirrorflow server on a port in use: exit 1, a clear message, no directory made', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'mf-api-bind-'))
    try {
      const dataDir = join(parent, 'new', 'data')
      const r = await run(
        process.execPath,
        [join(REPO_ROOT, 'bin/mirrorflow.mjs'), 'server', '--data-dir', dataDir, '--port', String(port)],
        process.env,
      )
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, /EADDRINUSE|address already in use/i)
      assert.equal(existsSync(join(parent, 'new')), false)
    } finally {
      rmSync(parent, { recursive: true, force: true })
    }
  })

  test('an existing data directory keeps what it had and gains nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mf-api-bind-'))
    try {
      mkdirSync(join(dir, 'keep'))
      writeFileSync(join(dir, 'notes'), 'mine')
      await assert.rejects(startServer({ dataDir: dir, port, host: '127.0.0.1' }), /EADDRINUSE/)
      assert.deepEqual(readdirSync(dir).sort(), ['keep', 'notes'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a request must arrive whole within the request timeout', () => {
  test('a trickled body is cut off (RequestTimeout); a long poll outlasting the timeout is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mf-api-slow-'))
    // 1 s: the server has Node check every 250 ms, so the cut comes within ~1.25 s.
    const s = await startServer({ dataDir: dir, port: 0, requestTimeoutMs: 1000 })
    try {
      const u = new URL(s.url)
      const sign = (method: 'GET' | 'POST', url: URL, body: string): Record<string, string> =>
        signSigV4({
          method,
          url,
          headers: method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
          body,
          ...s.credentials,
          region: 'us-east-1',
          service: 'ec2',
        })
      // An instance to long-poll for.
      const post = async (params: Record<string, string>): Promise<string> => {
        const body = formEncode({ Version: '2016-11-15', ...params })
        const r = await fetch(s.url + '/', {
          method: 'POST',
          headers: sign('POST', new URL(s.url + '/'), body),
          body,
        })
        const text = await r.text()
        assert.equal(r.status, 200, text)
        return text
      }
      const vpc = /<vpcId>([^<]+)/.exec(await post({ Action: 'CreateVpc', CidrBlock: '10.5.0.0/16' }))![1]!
      const subnet = /<subnetId>([^<]+)/.exec(
        await post({ Action: 'CreateSubnet', VpcId: vpc, CidrBlock: '10.5.1.0/24' }),
      )![1]!
      await post({
        Action: 'MirrorflowRegisterNetworkInterface',
        SubnetId: subnet,
        PrivateIpAddress: '10.5.1.9',
        InstanceId: 'i-0aaaabbbbccccdddd',
      })
      const stateUrl = (q: string): URL => new URL(`${s.url}/mirrorflow/v1/desired-state?${q}`)
      const first = await fetch(stateUrl('instanceId=i-0aaaabbbbccccdddd'), {
        headers: sign('GET', stateUrl('instanceId=i-0aaaabbbbccccdddd'), ''),
      })
      const version = ((await first.json()) as { version: number }).version
      const q = `instanceId=i-0aaaabbbbccccdddd&version=${version}&wait=4`
      const t0 = Date.now()
      const [poll, [cut, cutMs]] = await Promise.all([
        fetch(stateUrl(q), { headers: sign('GET', stateUrl(q), '') }).then(async (r) => ({
          status: r.status,
          ms: Date.now() - t0,
        })),
        new Promise<string>((resolve, reject) => {
          const body = 'Action=DescribeVpcs&Version=2016-11-15'
          const h = sign('POST', new URL(s.url + '/'), body)
          const sock = connect(Number(u.port), u.hostname)
          let got = ''
          const give = setTimeout(() => {
            sock.destroy()
            resolve(got)
          }, 10_000)
          sock.on('data', (d: Buffer) => (got += d.toString()))
          sock.on('close', () => {
            clearTimeout(give)
            resolve(got)
          })
          sock.on('error', reject)
          sock.write(
            `POST / HTTP/1.1\r\n${Object.entries(h)
              .map(([k, v]) => `${k}: ${v}\r\n`)
              .join('')}content-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
          )
        }).then((got) => [got, Date.now() - t0] as const),
      ])
      assert.match(cut, /^HTTP\/1\.1 400 /)
      assert.match(cut, /<Code>RequestTimeout<\/Code>/)
      assert.equal(poll.status, 200)
      assert.ok(cutMs < 2_500, `cut after ${cutMs} ms`)
      assert.ok(poll.ms >= 3_900, `the long poll answered after ${poll.ms} ms`)
    } finally {
      await s.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
