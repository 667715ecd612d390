// SPDX-License-Identifier: Apache-2.0
/**
 * The HTTP server (fastify 5): the EC2 Query endpoint on `/` (POST form or GET query string), the
 * agents' desired-state endpoint, `/health` and `/metrics`. Every request on the Query and agent
 * endpoints is SigV4-verified. Every failure — ours, fastify's (bad content type, body too large)
 * or Node's (malformed HTTP) — is answered as an EC2 XML error; unknown exceptions become
 * `InternalError` (500) and are logged.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { destination, pino } from 'pino'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { ApiError, type ControlPlane } from '../control/index.ts'
import { hasCode } from '../errors.ts'
import { ACTIONS, type ActionContext } from './actions.ts'
import { ADMIN_ACTIONS } from './admin-actions.ts'
import { ClientGone, DesiredStateWatch, MAX_WAIT_SECONDS } from './desired-state-watch.ts'
import { ApiMetrics } from './metrics.ts'
import { Params, parseForm, truncate } from './params.ts'
import { preauthenticate, verifyPayload, type PendingAuth } from './sigv4.ts'
import { errorXml, responseXml } from './xml.ts'

/** The only API version spoken. */
export const API_VERSION = '2016-11-15'
/** Largest request body accepted by default (bytes; `--body-limit`). */
export const BODY_LIMIT = 1024 * 1024

/**
 * Longest time a request may take to arrive whole (ms; `--request-timeout`): a body trickled in
 * slower than this is cut off with 408. A long poll is not affected (its request is complete at once).
 */
export const REQUEST_TIMEOUT_MS = 60_000

/** Who may read `/metrics`: peers on a loopback address (default), anyone, or nobody. */
export type MetricsAccess = 'loopback' | 'any' | 'off'
export const METRICS_ACCESS: readonly MetricsAccess[] = ['loopback', 'any', 'off']

export interface ServerConfig {
  cp: ControlPlane
  regions: readonly string[]
  logger: boolean
  /** Largest request body (bytes); default {@link BODY_LIMIT}. */
  bodyLimit?: number
  /** Who may read `/metrics`; default `loopback`. */
  metricsAccess?: MetricsAccess
  /** Longest time a request may take to arrive (ms); default {@link REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number
}

export interface BuiltServer {
  app: FastifyInstance
  watch: DesiredStateWatch
  metrics: ApiMetrics
}

function headerMap(req: IncomingMessage): Map<string, string[]> {
  const m = new Map<string, string[]>()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase()
    const v = raw[i + 1]!
    const prev = m.get(k)
    if (prev === undefined) m.set(k, [v])
    else prev.push(v)
  }
  return m
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?')
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) }
}

/** Whether a peer address is loopback (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.')
}

/** Whether the request announces a body (the only way to know before reading it). */
function announcesBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0')
}

function wantsJson(req: FastifyRequest): boolean {
  const a = req.headers.accept
  return typeof a === 'string' && a.includes('application/json')
}

/** Builds the fastify app (not listening yet). */
export function buildServer(cfg: ServerConfig): BuiltServer {
  const { cp, regions } = cfg
  const bodyLimit = cfg.bodyLimit ?? BODY_LIMIT
  const metricsAccess = cfg.metricsAccess ?? 'loopback'
  /** Requests whose head passed authentication, waiting for the signature check over their body. */
  const pending = new WeakMap<IncomingMessage, PendingAuth>()
  // Errors only: a line per request would cost more than the request.
  const log = pino({ level: cfg.logger ? 'info' : 'error' }, destination(2))
  const metrics = new ApiMetrics(cp)
  const watch = new DesiredStateWatch(cp)
  metrics.setWaitersSource(() => watch.waiting)
  const app = Fastify({
    logger: false,
    bodyLimit,
    // Node checks this every 30 s; fastify's default (0) would let a slow body hold a connection forever.
    requestTimeout: cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    return503OnClosing: false,
    forceCloseConnections: true,
    // The raw query string is parsed (and signed) by us.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500, querystringParser: () => ({}) },
    genReqId: () => randomUUID(),
    frameworkErrors: (err, req, reply) => {
      void sendError(
        reply,
        req.id,
        new ApiError('InvalidRequest', `Malformed request: ${err.message}`),
        'framework',
      )
    },
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      const id = randomUUID()
      // A request that did not arrive whole within the request timeout: S3's code for the same case.
      const body =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? errorXml(
              'RequestTimeout',
              'The request did not arrive whole within the request timeout; the connection is closed.',
              id,
            )
          : errorXml('InvalidRequest', 'Malformed HTTP request.', id)
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-amzn-RequestId: ${id}\r\nConnection: close\r\n\r\n${body}`,
        )
      } else socket.destroy(err)
    },
  })

  // Headers must not take longer than the whole request may.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS)

  // Every body arrives raw: SigV4 needs the exact bytes, and the form is decoded by us.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body))

  function sendError(
    reply: FastifyReply,
    requestId: string,
    err: unknown,
    action: string,
    json = false,
  ): FastifyReply {
    if (err instanceof ClientGone) {
      // The long poll's client disconnected: nothing to log, nobody to answer.
      metrics.count(action, 'ClientClosed')
      return reply.code(499).send()
    }
    let e: ApiError
    if (err instanceof ApiError || hasCode(err, 'MF_API')) e = err as ApiError
    else if (isFastifyClientError(err)) {
      const fe = err as { statusCode: number; code?: string; message: string }
      e =
        fe.statusCode === 413
          ? new ApiError(
              'RequestEntityTooLarge',
              `The request body exceeds the maximum size of ${bodyLimit} bytes.`,
            )
          : new ApiError('InvalidRequest', `Malformed request: ${fe.message}`)
    } else {
      log.error({ err, action, requestId }, 'internal error')
      e = new ApiError('InternalError', 'An internal error has occurred.')
    }
    metrics.count(action, e.awsCode)
    reply.code(e.httpStatus).header('x-amzn-requestid', requestId)
    if (json || (wantsJson(reply.request) && action.startsWith('Mirrorflow'))) {
      return reply
        .type('application/json')
        .send({ Error: { Code: e.awsCode, Message: e.message }, RequestId: requestId })
    }
    return reply.type('text/xml;charset=UTF-8').send(errorXml(e.awsCode, e.message, requestId))
  }

  app.setErrorHandler((err, req, reply) => sendError(reply, req.id, err, 'unknown'))
  app.setNotFoundHandler((req, reply) => queryEndpoint(req, reply))

  function head(req: FastifyRequest): { path: string; query: string; headers: Map<string, string[]> } {
    const { path, query } = splitUrl(req.raw.url ?? '/')
    return { path, query, headers: headerMap(req.raw) }
  }

  const verifyOpts = { service: 'ec2', regions, secretOf: (id: string) => cp.iam.secretOf(id) }

  /**
   * Before a byte of the body is read: the method, and everything of SigV4 but the HMAC over the
   * body. A request that fails is answered at once, and its connection closed if it announced a
   * body, so that a stranger's megabyte is never read, let alone parsed.
   */
  app.addHook('onRequest', async (req, reply) => {
    if ((req.routeOptions.config as { open?: boolean } | undefined)?.open === true) return
    try {
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new ApiError(
          'UnsupportedOperation',
          `The HTTP method ${truncate(req.method, 16)} is not supported.`,
        )
      }
      pending.set(req.raw, preauthenticate({ method: req.method, ...head(req) }, verifyOpts))
    } catch (err) {
      if (announcesBody(req.raw)) reply.header('connection', 'close')
      const action = splitUrl(req.raw.url ?? '/').path.startsWith('/mirrorflow/v1/desired-state')
        ? 'MirrorflowGetDesiredState'
        : 'unknown'
      return sendError(reply, req.id, err, action)
    }
  })

  /** The signature over the raw body bytes (nothing parsed yet); returns the access key id. */
  function authenticate(req: FastifyRequest, body: Buffer): string {
    const p = pending.get(req.raw) ?? preauthenticate({ method: req.method, ...head(req) }, verifyOpts)
    return verifyPayload(p, { method: req.method, ...head(req), body })
  }

  function readParams(req: FastifyRequest, body: Buffer): Map<string, string> {
    const map = new Map<string, string>()
    parseForm(splitUrl(req.raw.url ?? '/').query, map)
    if (body.length > 0) {
      const ct = String(req.headers['content-type'] ?? 'application/x-www-form-urlencoded').toLowerCase()
      if (!ct.startsWith('application/x-www-form-urlencoded')) {
        throw new ApiError(
          'InvalidParameterValue',
          `Unsupported content type '${truncate(ct, 80)}': use application/x-www-form-urlencoded.`,
        )
      }
      if (req.headers['content-encoding'] !== undefined && req.headers['content-encoding'] !== 'identity') {
        throw new ApiError('InvalidParameterValue', 'Content-Encoding is not supported.')
      }
      parseForm(body.toString('utf8'), map)
    }
    return map
  }

  async function queryEndpoint(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const started = process.hrtime.bigint()
    let action = 'unknown'
    try {
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new ApiError(
          'UnsupportedOperation',
          `The HTTP method ${truncate(req.method, 16)} is not supported.`,
        )
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      // The signature first, over the raw bytes: an unsigned body is never parsed.
      const accessKeyId = authenticate(req, body)
      const map = readParams(req, body)
      const a = map.get('Action')
      if (a === undefined || a === '')
        throw new ApiError('MissingAction', 'The request must contain the parameter Action.')
      const handler = ACTIONS.get(a)
      const admin = handler === undefined ? ADMIN_ACTIONS.get(a) : undefined
      if (handler === undefined && admin === undefined && a !== 'MirrorflowGetDesiredState') {
        throw new ApiError('InvalidAction', `The action ${truncate(a)} is not valid for this web service.`)
      }
      action = a
      const version = map.get('Version')
      if (version === undefined)
        throw new ApiError('MissingParameter', 'The request must contain the parameter Version')
      if (version !== API_VERSION) {
        throw new ApiError(
          'NoSuchVersion',
          `The requested version (${truncate(version, 32)}) of service AmazonEC2 does not exist`,
        )
      }
      const p = new Params(map)
      const ctx: ActionContext = {
        cp,
        p,
        action,
        accessKeyId,
        ready: () => {
          const dry = p.bool('DryRun')
          p.done()
          if (dry === true)
            throw new ApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
        },
        idem: () => ({ action, clientToken: map.get('ClientToken'), fingerprint: p.fingerprint() }),
      }
      reply.header('x-amzn-requestid', req.id)
      if (handler !== undefined) {
        const out = responseXml(action, req.id, handler(ctx))
        metrics.count(action, 'OK')
        return reply.type('text/xml;charset=UTF-8').send(out)
      }
      let result: unknown
      if (admin !== undefined) result = admin(ctx)
      else {
        const instanceId = p.str('InstanceId', true)
        const since = p.int('StateVersion')
        const wait = p.int('Wait') ?? 0
        ctx.ready()
        result = await poll(reply, instanceId, since, wait)
      }
      metrics.count(action, 'OK')
      return reply.type('application/json').send(JSON.stringify({ ...(result as object), RequestId: req.id }))
    } catch (err) {
      return sendError(reply, req.id, err, action)
    } finally {
      metrics.observe(action, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }

  function poll(
    reply: FastifyReply,
    instanceId: string,
    since: number | undefined,
    wait: number,
    heartbeat = false,
  ): Promise<unknown> {
    if (wait < 0 || wait > MAX_WAIT_SECONDS) {
      throw new ApiError('InvalidParameterValue', `Wait must be 0 to ${MAX_WAIT_SECONDS} seconds.`)
    }
    // The response's 'close' before it finished means the client went away: drop the waiter.
    // (The request's 'close' is no use: it fires once the body has been read.)
    const ac = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort()
    })
    return watch.poll(instanceId, since, wait, ac.signal, heartbeat)
  }

  app.route({ method: ['GET', 'POST'], url: '/', handler: queryEndpoint })

  app.get('/mirrorflow/v1/desired-state', async (req, reply) => {
    const started = process.hrtime.bigint()
    const action = 'MirrorflowGetDesiredState'
    try {
      authenticate(req, Buffer.alloc(0))
      const map = new Map<string, string>()
      parseForm(splitUrl(req.raw.url ?? '/').query, map)
      const p = new Params(map)
      const instanceId = p.str('instanceId', true)
      const version = p.int('version')
      const wait = p.int('wait') ?? 0
      p.done()
      // The agents' endpoint: a poll here is the agent's heartbeat (DescribeInstances' state).
      const state = await poll(reply, instanceId, version, wait, true)
      metrics.count(action, 'OK')
      return reply.header('x-amzn-requestid', req.id).type('application/json').send(JSON.stringify(state))
    } catch (err) {
      return sendError(reply, req.id, err, action)
    } finally {
      metrics.observe(action, Number(process.hrtime.bigint() - started) / 1e9)
    }
  })

  app.get('/health', { config: { open: true } }, async (_req, reply) =>
    reply
      .type('application/json')
      .send({ status: 'ok', stateVersion: cp.version, region: regions[0], accountId: cp.accountId }),
  )

  app.get('/metrics', { config: { open: true } }, async (req, reply) => {
    if (metricsAccess === 'any' || (metricsAccess === 'loopback' && isLoopback(req.socket.remoteAddress)))
      return reply.type(metrics.contentType).send(await metrics.render())
    return reply
      .code(403)
      .type('text/plain; charset=utf-8')
      .send(
        metricsAccess === 'off'
          ? 'metrics are disabled on this server (--metrics-access off)\n'
          : 'metrics are served to loopback clients only (--metrics-access loopback)\n',
      )
  })

  app.addHook('preClose', async () => {
    watch.close()
  })

  return { app, watch, metrics }
}

function isFastifyClientError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const s = (err as { statusCode?: unknown }).statusCode
  return typeof s === 'number' && s >= 400 && s < 500 && !hasCode(err, 'MF_API')
}
