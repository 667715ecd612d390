// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { describe, test } from 'node:test'
import { SignatureV4 } from '@smithy/signature-v4'
import { hasCode } from '../../errors.ts'
import { signRequest, verifySigV4, type SignedRequest } from './sigv4.ts'

/** crypto in the shape @smithy/signature-v4 wants. */
class Sha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>
  private readonly secret: Buffer | string | undefined
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret =
      secret === undefined || typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret)
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret!)
  }
  update(d: Uint8Array | string): void {
    this.h.update(typeof d === 'string' ? Buffer.from(d) : d)
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()))
  }
  reset(): void {
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret)
  }
}

const KEY = {
  accessKeyId: 'AKIAEXAMPLEKEY000001',
  secretAccessKey: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0MDAw',
}
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const opts = {
  service: 'ec2',
  regions: ['us-east-1'],
  secretOf: (id: string) => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined),
  now: NOW,
}
const BODY =
  'Action=DescribeTrafficMirrorSessions&Version=2016-11-15&Filter.1.Name=session-number&Filter.1.Value.1=1'

async function sdkSigned(
  o: { region?: string; service?: string; secret?: string; date?: number; body?: string } = {},
): Promise<SignedRequest> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: o.secret ?? KEY.secretAccessKey },
    region: o.region ?? 'us-east-1',
    service: o.service ?? 'ec2',
    sha256: Sha256,
  })
  const body = o.body ?? BODY
  const r = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: '/',
      query: {},
      headers: { host: '127.0.0.1:4566', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    },
    { signingDate: new Date(o.date ?? NOW) },
  )
  const headers = new Map<string, string[]>()
  for (const [k, v] of Object.entries(r.headers)) headers.set(k.toLowerCase(), [String(v)])
  return { method: 'POST', path: '/', query: '', headers, body: Buffer.from(body) }
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(hasCode(err, 'MF_API'), String(err))
    return (err as { awsCode: string }).awsCode
  }
  return 'OK'
}

describe('verifySigV4 against the AWS SDK signer', () => {
  test('a request signed by @smithy/signature-v4 verifies', async () => {
    assert.equal(verifySigV4(await sdkSigned(), opts), KEY.accessKeyId)
  })
  test('a changed body is SignatureDoesNotMatch', async () => {
    const r = await sdkSigned()
    r.body = Buffer.from(BODY.replace('Value.1=1', 'Value.1=2'))
    assert.equal(
      code(() => verifySigV4(r, opts)),
      'SignatureDoesNotMatch',
    )
  })
  test('a wrong secret is SignatureDoesNotMatch; an unknown key AuthFailure', async () => {
    const wrong = await sdkSigned({ secret: 'x'.repeat(40) })
    assert.equal(
      code(() => verifySigV4(wrong, opts)),
      'SignatureDoesNotMatch',
    )
    assert.equal(
      code(() => verifySigV4(wrong, { ...opts, secretOf: () => undefined })),
      'AuthFailure',
    )
  })
  test('another region or service is SignatureDoesNotMatch', async () => {
    const r1 = await sdkSigned({ region: 'eu-west-1' })
    assert.equal(
      code(() => verifySigV4(r1, opts)),
      'SignatureDoesNotMatch',
    )
    const s = await sdkSigned({ service: 's3' })
    assert.equal(
      code(() => verifySigV4(s, opts)),
      'SignatureDoesNotMatch',
    )
  })
  test('a clock more than 15 minutes off is RequestExpired', async () => {
    const old = await sdkSigned({ date: NOW - 16 * 60_000 })
    assert.equal(
      code(() => verifySigV4(old, opts)),
      'RequestExpired',
    )
    const ok = await sdkSigned({ date: NOW - 14 * 60_000 })
    assert.equal(
      code(() => verifySigV4(ok, opts)),
      'OK',
    )
  })
  test('no signature is MissingAuthenticationToken; a mangled header IncompleteSignature', async () => {
    const r = await sdkSigned()
    r.headers.delete('authorization')
    assert.equal(
      code(() => verifySigV4(r, opts)),
      'MissingAuthenticationToken',
    )
    r.headers.set('authorization', ['AWS4-HMAC-SHA256 Credential=x'])
    assert.equal(
      code(() => verifySigV4(r, opts)),
      'IncompleteSignature',
    )
  })
  test('presigned query form (GET) verifies, and expires', async () => {
    const signer = new SignatureV4({ credentials: KEY, region: 'us-east-1', service: 'ec2', sha256: Sha256 })
    const p = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 4566,
        path: '/',
        query: { Action: 'DescribeVpcs', Version: '2016-11-15' },
        headers: { host: '127.0.0.1:4566' },
      },
      { signingDate: new Date(NOW), expiresIn: 300 },
    )
    const query = Object.entries(p.query as Record<string, string>)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&')
    const req: SignedRequest = {
      method: 'GET',
      path: '/',
      query,
      headers: new Map([['host', ['127.0.0.1:4566']]]),
      body: Buffer.alloc(0),
    }
    assert.equal(verifySigV4(req, opts), KEY.accessKeyId)
    assert.equal(
      code(() => verifySigV4(req, { ...opts, now: NOW + 301_000 })),
      'RequestExpired',
    )
  })
  test('our own signer produces what the verifier accepts', () => {
    const headers = signRequest({
      method: 'POST',
      url: new URL('http://127.0.0.1:4566/'),
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: BODY,
      ...KEY,
      region: 'us-east-1',
      service: 'ec2',
      now: new Date(NOW),
    })
    const map = new Map(Object.entries(headers).map(([k, v]) => [k, [v]]))
    assert.equal(
      verifySigV4({ method: 'POST', path: '/', query: '', headers: map, body: Buffer.from(BODY) }, opts),
      KEY.accessKeyId,
    )
  })
})
