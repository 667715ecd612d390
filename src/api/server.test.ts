// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startServer, type RunningServer } from './index.ts'
import { signRequest } from './auth/sigv4.ts'

/** One exchange; returns status, the EC2 error code (if any) and the request-id header. */
function send(
  srv: RunningServer,
  o: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; code: string | undefined; requestId: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(
      `${srv.url}${o.path ?? '/'}`,
      { method: o.method ?? 'POST', headers: o.headers ?? {} },
      (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1],
            requestId: res.headers['x-amzn-requestid'] as string | undefined,
            body,
          }),
        )
      },
    )
    r.on('error', reject)
    r.end(o.body)
  })
}

function signed(
  srv: RunningServer,
  body: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const h = signRequest({
    method: 'POST',
    url: new URL(srv.url + '/'),
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...extra },
    body,
    ...srv.credentials,
    region: 'us-east-1',
    service: 'ec2',
  })
  return h
}

describe('server: every failure is an EC2 XML error', () => {
  let srv: RunningServer
  let dir: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-api-srv-'))
    srv = await startServer({ dataDir: dir, port: 0 })
  })
  after(async () => {
    await srv.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('credentials and store are owner-only files', () => {
    for (const f of ['credentials', 'config', 'control.sqlite'])
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f)
  })

  test('a signed request succeeds with requestId in body and header', async () => {
    const body = 'Action=DescribeVpcs&Version=2016-11-15'
    const r = await send(srv, { headers: signed(srv, body), body })
    assert.equal(r.status, 200)
    assert.match(r.body, new RegExp(`<requestId>${r.requestId!}</requestId>`))
  })

  const cases: [string, Parameters<typeof send>[1] | (() => Parameters<typeof send>[1]), number, string][] = [
    ['no signature', { body: 'Action=DescribeVpcs&Version=2016-11-15' }, 401, 'MissingAuthenticationToken'],
    [
      'body too large (signed)',
      () => {
        const body = 'a'.repeat(2 * 1024 * 1024)
        return { body, headers: signed(srv, body) }
      },
      413,
      'RequestEntityTooLarge',
    ],
    // Authentication comes first: a stranger's body is neither read to its end nor parsed.
    [
      'body too large (unsigned)',
      { body: Buffer.alloc(2 * 1024 * 1024, 0x61) },
      401,
      'MissingAuthenticationToken',
    ],
    ['bad URL encoding in the path', { method: 'GET', path: '/%zz' }, 400, 'InvalidRequest'],
    [
      'bad percent-encoding in the body (signed)',
      () => ({ body: 'Action=%ZZ', headers: signed(srv, 'Action=%ZZ') }),
      400,
      'MalformedQueryString',
    ],
    [
      'bad percent-encoding in the body (unsigned)',
      { body: 'Action=%ZZ' },
      401,
      'MissingAuthenticationToken',
    ],
    ['a method other than GET/POST', { method: 'DELETE' }, 400, 'UnsupportedOperation'],
  ]
  for (const [name, req, status, code] of cases) {
    test(name, async () => {
      const r = await send(srv, typeof req === 'function' ? req() : req)
      assert.equal(r.status, status)
      assert.equal(r.code, code)
      assert.ok(r.requestId !== undefined && r.body.includes(`<RequestID>${r.requestId}</RequestID>`))
    })
  }

  test('protocol errors after authentication: action, version, content type, unknown parameter, DryRun', async () => {
    const expect: [string, number, string, Record<string, string>?][] = [
      ['Version=2016-11-15', 400, 'MissingAction'],
      ['Action=RunInstances&Version=2016-11-15', 400, 'InvalidAction'],
      ['Action=DescribeVpcs', 400, 'MissingParameter'],
      ['Action=DescribeVpcs&Version=2015-10-01', 400, 'NoSuchVersion'],
      ['Action=DescribeVpcs&Version=2016-11-15&Bogus=1', 400, 'UnknownParameter'],
      ['Action=DescribeVpcs&Version=2016-11-15&DryRun=true', 412, 'DryRunOperation'],
      [
        'Action=DescribeVpcs&Version=2016-11-15',
        400,
        'InvalidParameterValue',
        { 'content-type': 'application/json' },
      ],
    ]
    for (const [body, status, code, headers] of expect) {
      const h = signed(srv, body, headers ?? {})
      const r = await send(srv, { headers: h, body })
      assert.equal(r.status, status, body)
      assert.equal(r.code, code, body)
    }
  })

  test('malformed HTTP is answered in XML too', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(srv.port, '127.0.0.1', () =>
        s.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
      )
      let out = ''
      s.on('data', (d: Buffer) => (out += d.toString()))
      s.on('end', () => resolve(out))
      s.on('error', reject)
    })
    assert.match(text, /^HTTP\/1\.1 400/)
    assert.match(text, /<Code>InvalidRequest<\/Code>/)
  })

  test('health and metrics', async () => {
    const h = await send(srv, { method: 'GET', path: '/health' })
    assert.equal(JSON.parse(h.body).status, 'ok')
    const m = await send(srv, { method: 'GET', path: '/metrics' })
    assert.match(m.body, /mirrorflow_api_requests_total\{action="DescribeVpcs",code="OK"\} 1/)
    assert.match(m.body, /mirrorflow_control_resources\{kind="vpc"\} 0/)
  })
})
