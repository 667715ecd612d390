// test-group: fast
// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ControlPlane, SqliteStore } from '../../control/index.ts'
import { buildServer } from '../server.ts'
import { MAX_FAILED_SIGN_INS, SIGN_IN_WINDOW_MS, SignInLimiter } from './routes.ts'
import { ConsoleSessions, IDLE_MS, MAX_AGE_MS } from './sessions.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-console-'))
const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
const admin = cp.iam.create('admin', 'test admin')
const agent = cp.iam.create('agent', 'test agent')
const { app } = buildServer({ cp, regions: ['us-east-1'], logger: false })

after(async () => {
  await app.close()
  cp.close()
  rmSync(dir, { recursive: true, force: true })
})

async function signIn(
  id: string,
  secret: string,
  remoteAddress = '127.0.0.1',
): Promise<{ status: number; cookie: string; csrf: string; body: Record<string, unknown> }> {
  const r = await app.inject({
    method: 'POST',
    url: '/console/api/session',
    remoteAddress,
    headers: { 'content-type': 'application/json', host: 'h:1' },
    payload: JSON.stringify({ accessKeyId: id, secretAccessKey: secret }),
  })
  const body = r.json() as Record<string, unknown>
  const set = String(r.headers['set-cookie'] ?? '')
  return { status: r.statusCode, cookie: set.split(';')[0]!, csrf: String(body.csrfToken ?? ''), body }
}

function call(cookie: string, csrf: string | undefined, body: object) {
  return app.inject({
    method: 'POST',
    url: '/console/api/aws',
    headers: {
      'content-type': 'application/json',
      host: 'h:1',
      cookie,
      ...(csrf === undefined ? {} : { 'x-mirrorflow-csrf': csrf }),
    },
    payload: JSON.stringify(body),
  })
}

const createVpc = { service: 'ec2', body: 'Action=CreateVpc&Version=2016-11-15&CidrBlock=10.9.0.0%2F16' }

describe('console sign-in and the signed pass-through', () => {
  before(async () => {
    await app.ready()
  })

  it('serves the page, which has no inline script', async () => {
    const r = await app.inject({ method: 'GET', url: '/console/' })
    assert.equal(r.statusCode, 200)
    assert.match(r.body, /<script defer src="\/console\/assets\/console.js"><\/script>/)
    assert.match(String(r.headers['content-security-policy']), /script-src 'self'/)
  })

  it('refuses a wrong secret with 401 InvalidCredentials and sets no cookie', async () => {
    const r = await signIn(admin.accessKeyId, 'x'.repeat(40))
    assert.equal(r.status, 401)
    assert.equal((r.body.error as { code: string }).code, 'InvalidCredentials')
    assert.equal(r.cookie, '')
    const u = await signIn('AKIAUNKNOWN000000000', admin.secretAccessKey)
    assert.equal(u.status, 401)
  })

  it('refuses an address after too many failed sign-ins with 429 TooManySignInAttempts, even with the right key', async () => {
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++)
      assert.equal((await signIn(admin.accessKeyId, `wrong-${i}`, '192.0.2.7')).status, 401)
    const r = await signIn(admin.accessKeyId, admin.secretAccessKey, '192.0.2.7')
    assert.equal(r.status, 429)
    assert.equal((r.body.error as { code: string }).code, 'TooManySignInAttempts')
    assert.equal(r.cookie, '')
    // Another address is not affected.
    assert.equal((await signIn(admin.accessKeyId, admin.secretAccessKey, '192.0.2.8')).status, 200)
  })

  it('forgets failures once the window has passed, and at most a bounded number of addresses', () => {
    const l = new SignInLimiter(2, 1000, 3)
    l.failed('a', 0)
    l.failed('a', 10)
    assert.equal(l.waitMs('a', 500), 500)
    assert.equal(l.waitMs('a', 1000), 0)
    l.failed('b', 2000)
    l.failed('b', 2001)
    for (const x of ['c', 'd', 'e']) l.failed(x, 2002)
    assert.equal(l.waitMs('b', 2003), 0, 'the oldest address was forgotten')
    assert.equal(SIGN_IN_WINDOW_MS, 300_000)
  })

  it('signs in with an HttpOnly, SameSite=Strict, expiring cookie', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/console/api/session',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }),
    })
    assert.equal(r.statusCode, 200)
    const set = String(r.headers['set-cookie'])
    assert.match(
      set,
      /^mirrorflow_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    )
    assert.equal(JSON.stringify(r.json()).includes(admin.secretAccessKey), false)
  })

  it('acts through the API with the session key; a missing or wrong CSRF token is refused', async () => {
    const s = await signIn(admin.accessKeyId, admin.secretAccessKey)
    const no = await call(s.cookie, undefined, createVpc)
    assert.equal(no.statusCode, 403)
    assert.equal(no.json().error.code, 'InvalidCsrfToken')
    const wrong = await call(s.cookie, 'A'.repeat(43), createVpc)
    assert.equal(wrong.statusCode, 403)
    const ok = await call(s.cookie, s.csrf, createVpc)
    assert.equal(ok.statusCode, 200)
    assert.match(ok.body, /<vpcId>vpc-[0-9a-f]{17}<\/vpcId>/)
  })

  it('refuses a request from another origin', async () => {
    const s = await signIn(admin.accessKeyId, admin.secretAccessKey)
    const r = await app.inject({
      method: 'POST',
      url: '/console/api/aws',
      headers: {
        'content-type': 'application/json',
        host: 'h:1',
        origin: 'http://evil.example',
        cookie: s.cookie,
        'x-mirrorflow-csrf': s.csrf,
      },
      payload: JSON.stringify(createVpc),
    })
    assert.equal(r.statusCode, 403)
    assert.equal(r.json().error.code, 'CrossOriginRequest')
  })

  it('gives a read-only (agent) key no more power than the key: CreateVpc is UnauthorizedOperation', async () => {
    const s = await signIn(agent.accessKeyId, agent.secretAccessKey)
    assert.equal(s.status, 200)
    const r = await call(s.cookie, s.csrf, createVpc)
    assert.equal(r.statusCode, 403)
    assert.match(r.body, /<Code>UnauthorizedOperation<\/Code>/)
    const read = await call(s.cookie, s.csrf, {
      service: 'ec2',
      body: 'Action=DescribeVpcs&Version=2016-11-15',
    })
    assert.equal(read.statusCode, 200)
  })

  it('ends the session at sign-out', async () => {
    const s = await signIn(admin.accessKeyId, admin.secretAccessKey)
    const out = await app.inject({
      method: 'POST',
      url: '/console/api/signout',
      headers: { host: 'h:1', cookie: s.cookie, 'x-mirrorflow-csrf': s.csrf },
    })
    assert.equal(out.statusCode, 200)
    const after = await call(s.cookie, s.csrf, createVpc)
    assert.equal(after.statusCode, 401)
  })
})

describe('ConsoleSessions', () => {
  it('evicts the least recently used session when full, and expires idle and old sessions', () => {
    let now = 1_000_000
    const s = new ConsoleSessions({ max: 2, now: () => now })
    const a = s.create('A')
    const b = s.create('B')
    assert.ok(s.get(a.id)) // a is now the most recently used
    s.create('C')
    assert.equal(s.get(b.id), undefined)
    assert.ok(s.get(a.id))
    assert.equal(s.evicted, 1)
    now += IDLE_MS
    assert.equal(s.get(a.id), undefined)
    const d = s.create('D')
    for (let t = 0; t < MAX_AGE_MS; t += IDLE_MS / 2) {
      now += IDLE_MS / 2
      s.get(d.id)
    }
    assert.equal(s.get(d.id), undefined)
  })
})
