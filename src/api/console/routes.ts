// SPDX-License-Identifier: Apache-2.0
/**
 * The console's routes under `/console/`: the page and its assets, sign-in and sign-out, and the
 * one door through which the page acts: `POST /console/api/aws` (and `GET /console/api/pcap` for
 * packet downloads).
 *
 * **The server signs on behalf of the session.** The page describes an AWS request (service,
 * method, path, query, body); the server signs it with SigV4 using the session's access key — its
 * secret read from the key store at that moment — and passes it through the server's own request
 * pipeline (fastify's `inject`): signature verification, routing by service, authorization, the
 * audit trail, the handlers. The console therefore cannot do anything the key cannot do with the AWS
 * CLI, and every check added to that pipeline applies to it without a line here.
 *
 * CSRF: the session cookie is `SameSite=Strict` and `HttpOnly`; every call but reading the session
 * must carry the session's token in `X-Mirrorflow-Csrf` (a header no other site can set without a
 * CORS preflight this server never allows), and a request whose `Origin` names another host is
 * refused. Sign-in takes a JSON body only (a cross-site form cannot send one).
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ControlPlane } from '../../control/index.ts'
import { signRequest } from '../auth/sigv4.ts'
import { consoleAssets, indexHtml } from './assets.ts'
import { ConsoleSessions, constantTimeEqual, type ConsoleSession } from './sessions.ts'

/** The session cookie's name. */
export const COOKIE = 'mirrorflow_console'
/** The header carrying the session's CSRF token. */
export const CSRF_HEADER = 'x-mirrorflow-csrf'
/** Largest JSON body the console's API accepts (bytes). */
export const CONSOLE_BODY_LIMIT = 256 * 1024
/** Failed sign-ins from one address within {@link SIGN_IN_WINDOW_MS} before it must wait. */
export const MAX_FAILED_SIGN_INS = 10
/** The window of failed sign-ins (ms): an address that reached the limit waits until it has passed. */
export const SIGN_IN_WINDOW_MS = 5 * 60_000
/** Addresses whose failures are remembered; beyond this the oldest is forgotten. */
export const MAX_SIGN_IN_ADDRESSES = 10_000

/**
 * Failed sign-ins per source address: after {@link MAX_FAILED_SIGN_INS} within the window the
 * address is refused (429, before the key is even looked at) until the window from its first
 * failure has passed. Bounded: the least recently started windows are forgotten first.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, { first: number; count: number }>()
  private readonly max: number
  private readonly windowMs: number
  private readonly maxAddresses: number
  constructor(max = MAX_FAILED_SIGN_INS, windowMs = SIGN_IN_WINDOW_MS, maxAddresses = MAX_SIGN_IN_ADDRESSES) {
    this.max = max
    this.windowMs = windowMs
    this.maxAddresses = maxAddresses
  }

  /** Milliseconds the address must still wait, or 0. */
  waitMs(address: string, now = Date.now()): number {
    const f = this.failures.get(address)
    if (f === undefined) return 0
    if (now - f.first >= this.windowMs) {
      this.failures.delete(address)
      return 0
    }
    return f.count >= this.max ? this.windowMs - (now - f.first) : 0
  }

  failed(address: string, now = Date.now()): void {
    const f = this.failures.get(address)
    if (f !== undefined && now - f.first < this.windowMs) {
      f.count++
      return
    }
    this.failures.delete(address)
    while (this.failures.size >= this.maxAddresses)
      this.failures.delete(this.failures.keys().next().value as string)
    this.failures.set(address, { first: now, count: 1 })
  }
}

/** The host name the console's signed requests carry (they never leave the process). */
const INTERNAL_HOST = 'console.mirrorflow.internal'

export interface ConsoleConfig {
  cp: ControlPlane
  regions: readonly string[]
  sessions?: ConsoleSessions
  signIns?: SignInLimiter
}

const PAGE = indexHtml()

/** A console API error: HTTP status, a code and a message, answered as JSON. */
class ConsoleError extends Error {
  readonly status: number
  readonly errorCode: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.errorCode = code
  }
}

function cookieOf(req: FastifyRequest): string | undefined {
  const h = req.headers.cookie
  if (typeof h !== 'string' || h.length > 8192) return undefined
  for (const part of h.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim()
  }
  return undefined
}

function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const ct = String(req.headers['content-type'] ?? '')
  if (!ct.startsWith('application/json'))
    throw new ConsoleError(
      415,
      'UnsupportedMediaType',
      'The body must be JSON (Content-Type: application/json).',
    )
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
  if (body.length > CONSOLE_BODY_LIMIT)
    throw new ConsoleError(413, 'RequestEntityTooLarge', `The body exceeds ${CONSOLE_BODY_LIMIT} bytes.`)
  let v: unknown
  try {
    v = JSON.parse(body.toString('utf8'))
  } catch {
    throw new ConsoleError(400, 'MalformedJson', 'The body is not valid JSON.')
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConsoleError(400, 'MalformedJson', 'The body must be a JSON object.')
  return v as Record<string, unknown>
}

function str(o: Record<string, unknown>, name: string, max: number, required: boolean): string | undefined {
  const v = o[name]
  if (v === undefined || v === null) {
    if (required) throw new ConsoleError(400, 'MissingParameter', `${name} is required.`)
    return undefined
  }
  if (typeof v !== 'string') throw new ConsoleError(400, 'InvalidParameterValue', `${name} must be a string.`)
  if (v.length > max)
    throw new ConsoleError(400, 'InvalidParameterValue', `${name} must be at most ${max} characters.`)
  return v
}

/** Refuses a request whose Origin is another site's (browsers send it on every POST). */
function checkOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin
  if (origin === undefined) return
  let host: string
  try {
    host = new URL(String(origin)).host
  } catch {
    throw new ConsoleError(403, 'CrossOriginRequest', 'The request comes from another site.')
  }
  if (host !== req.headers.host)
    throw new ConsoleError(403, 'CrossOriginRequest', 'The request comes from another site.')
}

function cookieHeader(value: string, maxAgeSeconds: number): string {
  return `${COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
}

/** Adds the console's routes to the server (they bypass SigV4: the session is their credential). */
export function registerConsole(app: FastifyInstance, cfg: ConsoleConfig): ConsoleSessions {
  const { cp, regions } = cfg
  const sessions = cfg.sessions ?? new ConsoleSessions()
  const signIns = cfg.signIns ?? new SignInLimiter()
  const open = { config: { open: true } }

  function fail(reply: FastifyReply, err: unknown): FastifyReply {
    if (err instanceof ConsoleError)
      return reply
        .code(err.status)
        .headers(SECURITY_HEADERS)
        .type('application/json')
        .send({ error: { code: err.errorCode, message: err.message } })
    throw err
  }

  /** The caller's live session whose key still exists, or a 401. */
  function session(req: FastifyRequest): ConsoleSession {
    const s = sessions.get(cookieOf(req))
    if (s === undefined)
      throw new ConsoleError(
        401,
        'NotSignedIn',
        'Sign in with an access key (the session is missing or has expired).',
      )
    if (cp.iam.secretOf(s.accessKeyId) === undefined) {
      sessions.delete(s.id)
      throw new ConsoleError(401, 'NotSignedIn', 'The access key behind this session no longer exists.')
    }
    return s
  }

  /** A session allowed to act: the CSRF token matches and the origin is this server. */
  function actingSession(req: FastifyRequest): ConsoleSession {
    checkOrigin(req)
    const s = session(req)
    const token = req.headers[CSRF_HEADER]
    if (typeof token !== 'string' || !constantTimeEqual(token, s.csrfToken))
      throw new ConsoleError(403, 'InvalidCsrfToken', `The ${CSRF_HEADER} header is missing or wrong.`)
    return s
  }

  /** Signs the request with the session's key and runs it through the server's own pipeline. */
  async function signedInject(
    s: ConsoleSession,
    r: {
      service: string
      method: 'GET' | 'POST'
      path: string
      query: string
      headers: Record<string, string>
      body: string
    },
  ): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
    const secret = cp.iam.secretOf(s.accessKeyId)
    if (secret === undefined)
      throw new ConsoleError(401, 'NotSignedIn', 'The access key behind this session no longer exists.')
    const url = new URL(`http://${INTERNAL_HOST}${r.path}${r.query === '' ? '' : `?${r.query}`}`)
    const headers = signRequest({
      method: r.method,
      url,
      headers: r.headers,
      body: r.body,
      accessKeyId: s.accessKeyId,
      secretAccessKey: secret,
      region: regions[0]!,
      service: r.service,
    })
    const res = await app.inject({
      method: r.method,
      url: `${r.path}${r.query === '' ? '' : `?${r.query}`}`,
      headers,
      ...(r.method === 'POST' ? { payload: r.body } : {}),
    })
    return { status: res.statusCode, headers: res.headers, body: res.rawPayload }
  }

  const page = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    // The page itself needs no bundling (the script and style sheet are bundled at their first request).
    return reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(PAGE)
  }
  app.get('/console', open, page)
  app.get('/console/*', open, async (req, reply) => {
    const path = (req.raw.url ?? '').split('?')[0]!
    const m = /^\/console\/assets\/(console\.(?:js|css))$/.exec(path)
    if (m === null) {
      if (path.startsWith('/console/api/'))
        return fail(reply, new ConsoleError(404, 'NotFound', 'No such console API route.'))
      return page(req, reply)
    }
    const a = (await consoleAssets()).get(m[1]!)
    if (a === undefined) return fail(reply, new ConsoleError(404, 'NotFound', 'No such asset.'))
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send()
    return reply
      .headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' })
      .header('etag', a.etag)
      .type(a.type)
      .send(a.body)
  })

  function sessionInfo(s: ConsoleSession): object {
    const key = cp.iam.get(s.accessKeyId)
    return {
      accessKeyId: s.accessKeyId,
      role: key === undefined ? null : cp.iam.roleOf(key),
      csrfToken: s.csrfToken,
      expiresAt: new Date(sessions.expiresAt(s)).toISOString(),
      region: regions[0],
      accountId: cp.accountId,
    }
  }

  app.get('/console/api/session', open, async (req, reply) => {
    try {
      return reply
        .headers(SECURITY_HEADERS)
        .type('application/json')
        .send(sessionInfo(session(req)))
    } catch (err) {
      return fail(reply, err)
    }
  })

  app.post('/console/api/session', open, async (req, reply) => {
    try {
      checkOrigin(req)
      const from = req.socket.remoteAddress ?? ''
      const wait = signIns.waitMs(from)
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)))
        throw new ConsoleError(
          429,
          'TooManySignInAttempts',
          `Too many failed sign-ins from this address: try again in ${Math.ceil(wait / 1000)} s.`,
        )
      }
      const b = jsonBody(req)
      const id = str(b, 'accessKeyId', 128, true)!.trim()
      const secret = str(b, 'secretAccessKey', 128, true)!.trim()
      const known = cp.iam.secretOf(id)
      // One comparison whether or not the key exists, so that the timing says nothing of which it was.
      const ok =
        constantTimeEqual(known ?? '\u0000'.repeat(secret.length || 1), secret) && known !== undefined
      if (!ok) signIns.failed(from)
      if (!ok)
        throw new ConsoleError(
          401,
          'InvalidCredentials',
          'The access key ID or the secret access key is wrong.',
        )
      const s = sessions.create(id)
      return reply
        .headers(SECURITY_HEADERS)
        .header('set-cookie', cookieHeader(s.id, Math.floor((sessions.expiresAt(s) - Date.now()) / 1000)))
        .type('application/json')
        .send(sessionInfo(s))
    } catch (err) {
      return fail(reply, err)
    }
  })

  app.post('/console/api/signout', open, async (req, reply) => {
    try {
      const s = actingSession(req)
      sessions.delete(s.id)
      return reply
        .headers(SECURITY_HEADERS)
        .header('set-cookie', cookieHeader('', 0))
        .type('application/json')
        .send({ signedOut: true })
    } catch (err) {
      return fail(reply, err)
    }
  })

  app.post('/console/api/aws', open, async (req, reply) => {
    try {
      const s = actingSession(req)
      const b = jsonBody(req)
      const service = str(b, 'service', 32, true)!
      if (!/^[a-z0-9-]{1,32}$/.test(service))
        throw new ConsoleError(
          400,
          'InvalidParameterValue',
          'service must be a signing name (ec2, iam, guardduty, …).',
        )
      const method = str(b, 'method', 8, false) ?? 'POST'
      if (method !== 'GET' && method !== 'POST')
        throw new ConsoleError(400, 'InvalidParameterValue', 'method must be GET or POST.')
      const path = str(b, 'path', 1024, false) ?? '/'
      if (!path.startsWith('/') || path.startsWith('/console') || path.includes('?') || path.includes('#'))
        throw new ConsoleError(400, 'InvalidParameterValue', 'path must be an absolute path of the API.')
      const query = str(b, 'query', 8192, false) ?? ''
      const body = str(b, 'body', CONSOLE_BODY_LIMIT, false) ?? ''
      const contentType = str(b, 'contentType', 128, false)
      const target = str(b, 'target', 128, false)
      const headers: Record<string, string> = {}
      if (contentType !== undefined) headers['content-type'] = contentType
      else if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8'
      if (target !== undefined) headers['x-amz-target'] = target
      const res = await signedInject(s, { service, method, path, query, headers, body })
      const type = res.headers['content-type']
      const rid = res.headers['x-amzn-requestid']
      return reply
        .code(res.status)
        .headers(SECURITY_HEADERS)
        .header('x-amzn-requestid', typeof rid === 'string' ? rid : '')
        .type(typeof type === 'string' ? type : 'application/octet-stream')
        .send(res.body)
    } catch (err) {
      return fail(reply, err)
    }
  })

  /**
   * Downloads through the signed pipeline (a link cannot carry the CSRF header; these change nothing):
   * `GET /console/api/get/<api path>?<query>` → a signed `GET <api path>?<query>` for service `ec2`.
   */
  app.get('/console/api/get/*', open, async (req, reply) => {
    try {
      const s = session(req)
      const url = req.raw.url ?? ''
      const q = url.indexOf('?')
      const path = (q < 0 ? url : url.slice(0, q)).slice('/console/api/get'.length)
      if (!/^\/mirrorflow\/v1\/[a-z0-9/-]{1,64}$/.test(path))
        throw new ConsoleError(
          404,
          'NotFound',
          'Only mirrorflow /mirrorflow/v1/ reads can be downloaded here.',
        )
      const res = await signedInject(s, {
        service: 'ec2',
        method: 'GET',
        path,
        query: q < 0 ? '' : url.slice(q + 1),
        headers: {},
        body: '',
      })
      const h: Record<string, string> = {}
      for (const k of ['content-type', 'content-disposition', 'x-amzn-requestid']) {
        const v = res.headers[k]
        if (typeof v === 'string') h[k] = v
      }
      return reply.code(res.status).headers(SECURITY_HEADERS).headers(h).send(res.body)
    } catch (err) {
      return fail(reply, err)
    }
  })

  return sessions
}
