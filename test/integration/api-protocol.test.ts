// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * The EC2 Query protocol on the wire, with hand-built requests: SigV4 verification (missing, bad,
 * unknown key, skewed clock, wrong scope), the success and error envelopes (spec-traffic-mirroring
 * §5.1, §5.6, §5.7), GET query strings, form decoding, unknown actions and missing parameters.
 * Requests are signed with @smithy/signature-v4, the SDK's own signer.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateSubnetCommand,
  CreateTrafficMirrorFilterCommand,
  CreateTrafficMirrorSessionCommand,
  CreateTrafficMirrorTargetCommand,
  CreateVpcCommand,
  DescribeTrafficMirrorFiltersCommand,
} from '@aws-sdk/client-ec2'
import { SignatureV4 } from '@smithy/signature-v4'
import {
  EC2_NS,
  NodeSha256,
  child,
  formEncode,
  parseEc2Error,
  parseXml,
  registerInterfaceApi,
  sdkError,
  signRequest,
  startApiTestServer,
  type ApiTestServer,
  type HttpResult,
} from '../helpers/api-server.ts'

let srv: ApiTestServer
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

before(async () => {
  // Small account quotas (spec §3: 10,000 each) so that the last test can reach them.
  srv = await startApiTestServer({
    prefix: 'mf-api-proto',
    quotas: { filtersPerAccount: 8, targetsPerAccount: 2, sessionsPerAccount: 2 },
  })
})

after(async () => {
  await srv?.close()
})

/** The HTTP status of each authentication error, as EC2 answers it. */
const AUTH_STATUS: Record<string, number> = {
  MissingAuthenticationToken: 401,
  AuthFailure: 401,
  SignatureDoesNotMatch: 403,
  IncompleteSignature: 400,
  RequestExpired: 400,
}

/** Asserts an EC2 error envelope with exactly `code` and `status` (AUTH: the code's own status); returns the code. */
function isError(r: HttpResult, code: string | string[], status: number | typeof AUTH): string {
  const codes = Array.isArray(code) ? code : [code]
  const want = status === AUTH ? AUTH_STATUS[codes[0]!] : status
  assert.equal(codes.length, 1, 'one code per case')
  assert.equal(r.status, want, `HTTP ${r.status}, want ${want}: ${r.body.slice(0, 300)}`)
  const e = parseEc2Error(r.body)
  assert.ok(codes.includes(e.code), `code ${e.code} (${e.message}), want one of ${codes.join(', ')}`)
  assert.match(e.requestId, UUID)
  assert.equal(r.headers['x-amzn-requestid'], e.requestId, 'x-amzn-requestid header = <RequestID>')
  assert.match(String(r.headers['content-type']), /xml/)
  return e.code
}

/** Asserts a success envelope for `action` and returns its root element. */
function isSuccess(r: HttpResult, action: string): ReturnType<typeof parseXml> {
  assert.equal(r.status, 200, r.body.slice(0, 300))
  const root = parseXml(r.body)
  assert.equal(root.name, `${action}Response`)
  assert.equal(root.attrs.xmlns, EC2_NS)
  assert.equal(root.children[0]?.name, 'requestId', 'requestId is the first child (§5.6 rule 1)')
  assert.match(root.children[0].text, UUID)
  // The SDK reads the request id from this header (STYLE.md).
  assert.equal(r.headers['x-amzn-requestid'], root.children[0].text)
  return root
}

const describeVpcs = { Action: 'DescribeVpcs', Version: '2016-11-15' }
const AUTH = 'auth-status' as const

describe('SigV4 verification', () => {
  test('a correctly signed POST and GET succeed; a 4-minute-old signature is within the window', async () => {
    isSuccess(await srv.signed(describeVpcs), 'DescribeVpcs')
    isSuccess(await srv.signed(describeVpcs, { method: 'GET' }), 'DescribeVpcs')
    isSuccess(await srv.signed(describeVpcs, { date: new Date(Date.now() - 4 * 60_000) }), 'DescribeVpcs')
  })

  test('no Authorization header', async () => {
    const r = await srv.raw({
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-amz-date': '20260101T000000Z',
      },
      body: formEncode(describeVpcs),
    })
    isError(r, 'MissingAuthenticationToken', AUTH)
  })

  test('a bad signature', async () => {
    const req = await signRequest(srv.url, describeVpcs, { credentials: srv.credentials, region: srv.region })
    req.headers.authorization = req.headers.authorization.replace(
      /Signature=([0-9a-f])/,
      (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
    )
    isError(await srv.raw(req), 'SignatureDoesNotMatch', AUTH)
  })

  test('a body changed after signing', async () => {
    const req = await signRequest(srv.url, describeVpcs, { credentials: srv.credentials, region: srv.region })
    req.body = formEncode({ ...describeVpcs, DryRun: 'true' })
    isError(await srv.raw(req), 'SignatureDoesNotMatch', AUTH)
  })

  test('a wrong secret for the right key', async () => {
    const r = await srv.signed(describeVpcs, {
      credentials: { accessKeyId: srv.credentials.accessKeyId, secretAccessKey: 'x'.repeat(40) },
    })
    isError(r, 'SignatureDoesNotMatch', AUTH)
  })

  test('an unknown access key', async () => {
    const r = await srv.signed(describeVpcs, {
      credentials: {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
    })
    isError(r, 'AuthFailure', AUTH)
  })

  test('a skewed clock, past and future (beyond 15 minutes)', async () => {
    for (const skew of [-20, +20]) {
      const r = await srv.signed(describeVpcs, { date: new Date(Date.now() + skew * 60_000) })
      isError(r, 'RequestExpired', AUTH)
    }
  })

  test('a wrong region or service in the credential scope', async () => {
    isError(await srv.signed(describeVpcs, { region: 'eu-west-3' }), 'SignatureDoesNotMatch', AUTH)
    isError(await srv.signed(describeVpcs, { service: 's3' }), 'SignatureDoesNotMatch', AUTH)
  })

  test('a presigned GET (query-string SigV4) works until it expires', async () => {
    const presign = async (date: Date, expiresIn: number): Promise<HttpResult> => {
      const u = new URL(srv.url)
      const signer = new SignatureV4({
        credentials: srv.credentials,
        region: srv.region,
        service: 'ec2',
        sha256: NodeSha256,
      })
      const p = await signer.presign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: u.hostname,
          port: Number(u.port),
          path: '/',
          query: { ...describeVpcs },
          headers: { host: u.host },
        },
        { signingDate: date, expiresIn },
      )
      const qs = Object.entries(p.query ?? {})
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&')
      return srv.raw({ method: 'GET', path: `/?${qs}` })
    }
    isSuccess(await presign(new Date(), 300), 'DescribeVpcs')
    isError(await presign(new Date(Date.now() - 600_000), 60), 'RequestExpired', AUTH)
  })

  test('a malformed Authorization header', async () => {
    for (const authorization of [
      'AWS4-HMAC-SHA256 garbage',
      'Basic dXNlcjpwYXNz',
      'AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/ec2/aws4_request',
      '',
    ]) {
      const r = await srv.raw({
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          'x-amz-date': '20260101T000000Z',
        },
        body: formEncode(describeVpcs),
      })
      isError(r, 'IncompleteSignature', AUTH)
    }
  })

  test('auth failures precede DryRun and validation: nothing leaks through', async () => {
    const r = await srv.raw({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formEncode({ Action: 'CreateTrafficMirrorFilter', Version: '2016-11-15', DryRun: 'true' }),
    })
    isError(r, 'MissingAuthenticationToken', AUTH)
  })
})

describe('EC2 Query protocol envelopes', () => {
  test('success: root element, namespace, requestId; empty lists as empty wrappers (§5.6)', async () => {
    const create = isSuccess(
      await srv.signed({
        Action: 'CreateTrafficMirrorFilter',
        Version: '2016-11-15',
        Description: 'TCP+Filter',
      }),
      'CreateTrafficMirrorFilter',
    )
    const f = child(create, 'trafficMirrorFilter')!
    assert.ok(f, 'trafficMirrorFilter element')
    assert.equal(child(f, 'description')?.text, 'TCP+Filter')
    for (const wrapper of ['ingressFilterRuleSet', 'egressFilterRuleSet', 'networkServiceSet', 'tagSet']) {
      const w = child(f, wrapper)
      assert.ok(w, `<${wrapper}/> present`)
      assert.equal(w.children.length, 0)
    }
    const echoed = isSuccess(
      await srv.signed({
        Action: 'CreateTrafficMirrorFilter',
        Version: '2016-11-15',
        ClientToken: 'raw-token-1',
      }),
      'CreateTrafficMirrorFilter',
    )
    assert.equal(child(echoed, 'clientToken')?.text, 'raw-token-1', 'clientToken echoed')
    // '+' in a form body is a space.
    const spaced = isSuccess(
      await srv.signed('Action=CreateTrafficMirrorFilter&Version=2016-11-15&Description=TCP+Filter%2Fx'),
      'CreateTrafficMirrorFilter',
    )
    assert.equal(child(child(spaced, 'trafficMirrorFilter')!, 'description')?.text, 'TCP Filter/x')
  })

  test('parameters in any order; XML special characters are escaped', async () => {
    const r = isSuccess(
      await srv.signed('Description=%3Ca%26b%3E%22%27&Version=2016-11-15&Action=CreateTrafficMirrorFilter'),
      'CreateTrafficMirrorFilter',
    )
    assert.equal(child(child(r, 'trafficMirrorFilter')!, 'description')?.text, `<a&b>"'`)
  })

  test('unknown and missing action, missing and malformed parameters', async () => {
    isError(await srv.signed({ Action: 'Frobnicate', Version: '2016-11-15' }), ['InvalidAction'], 400)
    isError(await srv.signed({ Version: '2016-11-15' }), 'MissingAction', 400)
    isError(
      await srv.signed({
        Action: 'CreateTrafficMirrorFilterRule',
        Version: '2016-11-15',
        TrafficMirrorFilterId: 'tmf-0123456789abcdef0',
      }),
      ['MissingParameter'],
      400,
    )
    isError(
      await srv.signed({
        Action: 'CreateTrafficMirrorSession',
        Version: '2016-11-15',
        NetworkInterfaceId: 'eni-0123456789abcdef0',
        TrafficMirrorTargetId: 'tmt-0123456789abcdef0',
        TrafficMirrorFilterId: 'tmf-0123456789abcdef0',
        SessionNumber: 'one',
      }),
      ['InvalidParameterValue'],
      400,
    )
    isError(
      await srv.signed({ Action: 'DescribeTrafficMirrorFilters', Version: '2016-11-15', MaxResults: '5.5' }),
      ['InvalidParameterValue'],
      400,
    )
    isError(
      await srv.signed({ Action: 'DescribeTrafficMirrorFilters', Version: '2016-11-15', DryRun: 'maybe' }),
      ['InvalidParameterValue'],
      400,
    )
  })

  test('DryRun on the wire: 412 with the exact envelope of §5.5', async () => {
    const r = await srv.signed({
      Action: 'DescribeTrafficMirrorSessions',
      Version: '2016-11-15',
      DryRun: 'true',
    })
    isError(r, ['DryRunOperation'], 412)
    assert.equal(parseEc2Error(r.body).message, 'Request would have succeeded, but DryRun flag is set.')
    isSuccess(
      await srv.signed({ Action: 'DescribeTrafficMirrorSessions', Version: '2016-11-15', DryRun: 'false' }),
      'DescribeTrafficMirrorSessions',
    )
  })

  test('health endpoint', async () => {
    const r = await srv.raw({ method: 'GET', path: '/health' })
    assert.equal(r.status, 200)
  })
})

describe('account quotas (§3), on a server configured with small ones', () => {
  test('filters, targets and sessions per account: AWS codes at the limit', async () => {
    const ec2 = srv.ec2
    const have = (await ec2.send(new DescribeTrafficMirrorFiltersCommand({}))).TrafficMirrorFilters!.length
    for (let i = have; i < 8; i++)
      await ec2.send(new CreateTrafficMirrorFilterCommand({ Description: `q${i}` }))
    const f = await sdkError(ec2.send(new CreateTrafficMirrorFilterCommand({ Description: 'one too many' })))
    assert.equal(f.code, 'TrafficMirrorFilterLimitExceeded', f.message)
    const fid = (await ec2.send(new DescribeTrafficMirrorFiltersCommand({}))).TrafficMirrorFilters![0]
      .TrafficMirrorFilterId!

    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.60.0.0/16' }))).Vpc!.VpcId!
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.60.0.0/24' })))
      .Subnet!.SubnetId!
    const enis = await Promise.all(
      [4, 5, 6, 7].map((h) => registerInterfaceApi(srv, { subnetId: subnet, privateIp: `10.60.0.${h}` })),
    )
    const t1 = (
      await ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: enis[0].NetworkInterfaceId }))
    ).TrafficMirrorTarget!.TrafficMirrorTargetId!
    await ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: enis[1].NetworkInterfaceId }))
    const t = await sdkError(
      ec2.send(new CreateTrafficMirrorTargetCommand({ NetworkInterfaceId: enis[2].NetworkInterfaceId })),
    )
    assert.equal(t.code, 'TrafficMirrorTargetLimitExceeded', t.message)

    const session = (n: number) =>
      ec2.send(
        new CreateTrafficMirrorSessionCommand({
          NetworkInterfaceId: enis[3].NetworkInterfaceId,
          TrafficMirrorTargetId: t1,
          TrafficMirrorFilterId: fid,
          SessionNumber: n,
        }),
      )
    await session(1)
    await session(2)
    const s = await sdkError(session(3))
    assert.equal(s.code, 'TrafficMirrorSessionLimitExceeded', s.message)
  })
})
