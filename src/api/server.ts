// SPDX-License-Identifier: Apache-2.0
/**
 * The HTTP server (fastify 5) and its request pipeline: SigV4 checked on the head before a byte of
 * the body is read, then over the raw body before anything is parsed; the request routed by its
 * signing service (the credential scope) to that service's endpoint, whose protocol codec parses,
 * runs and encodes (services/, protocols/); plus the agents' desired-state endpoint, `/health` and
 * `/metrics`. Every failure — an endpoint's, fastify's (bad content type, body too large) or Node's
 * (malformed HTTP) — is answered as an error of the service's protocol (EC2 XML when no service
 * can be told); unknown exceptions become `InternalError` (500) and are logged.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { destination, pino } from 'pino'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { ApiError, type ControlPlane } from '../control/index.ts'
import { hasCode } from '../errors.ts'
import { Authorizer } from './auth/authorize.ts'
import { preauthenticate, verifyPayload, type PendingAuth } from './auth/sigv4.ts'
import { registerConsole } from './console/index.ts'
import { ApiMetrics } from './metrics.ts'
import { truncate } from './protocols/ec2-query/params.ts'
import { errorXml } from './protocols/ec2-query/xml.ts'
import { ActionFailure, requestShape, shapeFits, type ServiceEndpoint } from './protocols/index.ts'
import { EC2_API_VERSION } from './services/ec2/index.ts'
import { serviceEndpoints } from './services/index.ts'
import { AuditRecorder } from './services/cloudtrail/recorder.ts'
import {
  agentDesiredState,
  ClientGone,
  DESIRED_STATE_PATH,
  DesiredStateWatch,
  exportFlows,
  flowPackets,
  PCAP_PATH,
  type FlowAnalytics,
} from './services/mirrorflow/index.ts'
import { Params, parseForm } from './protocols/ec2-query/params.ts'

/** The EC2 API version (the one mirrorflow's own actions are called with too). */
export const API_VERSION = EC2_API_VERSION
/** Largest request body accepted by default (bytes; `--body-limit`). */
export const BODY_LIMIT = 1024 * 1024

/**
 * Largest body of a CloudWatch Logs request whose head is signed by a known key (bytes). A
 * PutLogEvents batch may hold 1,048,576 bytes of events (plus 26 each); as JSON, with each control
 * character escaped to six bytes and ~50 bytes of members an event, it stays under 7 MiB.
 */
export const LOGS_BODY_LIMIT = 8 * 1024 * 1024

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
  /** The authorization step's clock (temporary credentials' expiry, aws:CurrentTime); default Date.now. */
  clock?: () => number
  /** The flow-log store for traffic questions and exports (services/mirrorflow/traffic.ts). */
  analytics?: FlowAnalytics | undefined
}

export interface BuiltServer {
  app: FastifyInstance
  watch: DesiredStateWatch
  metrics: ApiMetrics
  /** The CloudTrail recorder every answered call goes through. */
  audit: AuditRecorder
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

/** GET and POST everywhere; DELETE and PUT on REST paths (anything but `/`: GuardDuty's DeleteDetector). */
function methodAllowed(method: string, path: string): boolean {
  if (method === 'GET' || method === 'POST') return true
  return (method === 'DELETE' || method === 'PUT') && path !== '/' && path !== ''
}

/** Whether the request announces a body (the only way to know before reading it). */
function announcesBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0')
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
  const audit = new AuditRecorder(cp)
  metrics.setWaitersSource(() => watch.waiting)
  const app = Fastify({
    logger: false,
    bodyLimit,
    // Fastify's default (0) would let a slow body hold a connection forever.
    requestTimeout: cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    // Node checks the request timeout on an interval (30 s by default, so a 1 s timeout could cut at
    // 31 s): a quarter of the timeout keeps the cut within 1.25 times it (one timer, a list walk).
    http: {
      connectionsCheckingInterval: Math.min(
        30_000,
        Math.max(100, Math.floor((cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS) / 4)),
      ),
    },
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
  // CloudWatch Logs (a signed head naming the service `logs`) may send a full PutLogEvents batch.
  const logsBodyLimit = Math.max(bodyLimit, LOGS_BODY_LIMIT)
  const limitOf = (req: FastifyRequest): number =>
    pending.get(req.raw)?.p.service === 'logs' ? logsBodyLimit : bodyLimit
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: logsBodyLimit }, (req, body, done) => {
    const b = body as Buffer
    if (b.length > limitOf(req)) done(tooLarge(req, b.length), undefined)
    else done(null, b)
  })

  /** The answer to a body over its limit: PutLogEvents' own error for a batch too large, else 413. */
  function tooLarge(req: FastifyRequest, length: number): ApiError {
    const limit = limitOf(req)
    if (limit === logsBodyLimit && /\.PutLogEvents$/.test(String(req.headers['x-amz-target'] ?? '')))
      return new ApiError(
        'InvalidParameterException',
        `Upload too large: a request body of ${length} bytes exceeds the ${limit} bytes a batch of at most 1048576 bytes of events can take.`,
      )
    return new ApiError(
      'RequestEntityTooLarge',
      `The request body exceeds the maximum size of ${limit} bytes.`,
    )
  }

  const endpoints = new Map<string, ServiceEndpoint>(
    serviceEndpoints({ cp, watch, analytics: cfg.analytics }).map((e) => [e.signingName, e]),
  )
  const authorizer = new Authorizer(cp, cfg.clock)
  /** The endpoint whose protocol encodes errors when the service cannot be told (unsigned requests). */
  const fallback = endpoints.get('ec2')!

  /** The signing service a request names in its credential scope (header or presigned), unverified. */
  function claimedEndpoint(req: FastifyRequest): ServiceEndpoint {
    const auth = req.headers.authorization
    const cred =
      (typeof auth === 'string'
        ? /Credential=[^/,\s]*\/[^/,\s]*\/[^/,\s]*\/([^/,\s]*)\//.exec(auth)
        : null) ??
      /[?&]X-Amz-Credential=[^&/%]*(?:\/|%2F)[^&/%]*(?:\/|%2F)[^&/%]*(?:\/|%2F)([^&/%]*)(?:\/|%2F)/i.exec(
        req.raw.url ?? '',
      )
    return (cred !== null ? endpoints.get(cred[1]!) : undefined) ?? fallback
  }

  function sendError(
    reply: FastifyReply,
    requestId: string,
    err: unknown,
    action: string,
    endpoint: ServiceEndpoint = claimedEndpoint(reply.request),
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
          ? tooLarge(reply.request, Number(reply.request.headers['content-length'] ?? 0))
          : new ApiError('InvalidRequest', `Malformed request: ${fe.message}`)
    } else {
      log.error({ err, action, requestId }, 'internal error')
      e = new ApiError('InternalError', 'An internal error has occurred.')
    }
    metrics.count(action, e.awsCode)
    audit.record(reply.request, {
      service: endpoint.signingName,
      protocol: endpoint.protocol,
      action,
      error: e,
    })
    const out = endpoint.encodeError(e, requestId, action, reply.request)
    if (out.headers !== undefined) reply.headers(out.headers)
    // A Buffer: fastify would add "; charset=utf-8" to a JSON protocol's content type given a string.
    return reply
      .code(out.status)
      .header('x-amzn-requestid', requestId)
      .type(out.contentType)
      .send(Buffer.from(out.body))
  }

  app.setErrorHandler((err, req, reply) => sendError(reply, req.id, err, 'unknown'))
  app.setNotFoundHandler((req, reply) => serviceRequest(req, reply))

  function head(req: FastifyRequest): { path: string; query: string; headers: Map<string, string[]> } {
    const { path, query } = splitUrl(req.raw.url ?? '/')
    return { path, query, headers: headerMap(req.raw) }
  }

  const verifyOpts = {
    service: [...endpoints.keys()],
    regions,
    secretOf: (id: string) => cp.iam.secretOf(id),
  }

  /**
   * Before a byte of the body is read: the method, and everything of SigV4 but the HMAC over the
   * body. A request that fails is answered at once, and its connection closed if it announced a
   * body, so that a stranger's megabyte is never read, let alone parsed.
   */
  app.addHook('onRequest', async (req, reply) => {
    if ((req.routeOptions.config as { open?: boolean } | undefined)?.open === true) return
    try {
      if (!methodAllowed(req.method, splitUrl(req.raw.url ?? '/').path)) {
        throw new ApiError(
          'UnsupportedOperation',
          `The HTTP method ${truncate(req.method, 16)} is not supported.`,
        )
      }
      pending.set(req.raw, preauthenticate({ method: req.method, ...head(req) }, verifyOpts))
      // A body announced larger than this request may send is refused before it is read.
      const len = Number(req.headers['content-length'] ?? 0)
      if (len > limitOf(req)) throw tooLarge(req, len)
    } catch (err) {
      if (announcesBody(req.raw)) reply.header('connection', 'close')
      const action = splitUrl(req.raw.url ?? '/').path.startsWith(DESIRED_STATE_PATH)
        ? 'MirrorflowGetDesiredState'
        : 'unknown'
      return sendError(reply, req.id, err, action)
    }
  })

  /** The signature over the raw body bytes (nothing parsed yet): the access key and its service. */
  function authenticate(req: FastifyRequest, body: Buffer): { accessKeyId: string; service: string } {
    const p = pending.get(req.raw) ?? preauthenticate({ method: req.method, ...head(req) }, verifyOpts)
    return { accessKeyId: verifyPayload(p, { method: req.method, ...head(req), body }), service: p.p.service }
  }

  /** Aborted when the response closes before it finished: the client went away. */
  function clientGone(reply: FastifyReply): AbortSignal {
    // (The request's 'close' is no use: it fires once the body has been read.)
    const ac = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort()
    })
    return ac.signal
  }

  /** Every signed request but the agents' endpoint: routed to its service by the signing name. */
  async function serviceRequest(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const started = process.hrtime.bigint()
    let action = 'unknown'
    let endpoint = fallback
    try {
      if (!methodAllowed(req.method, splitUrl(req.raw.url ?? '/').path)) {
        throw new ApiError(
          'UnsupportedOperation',
          `The HTTP method ${truncate(req.method, 16)} is not supported.`,
        )
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      // The signature first, over the raw bytes: an unsigned body is never parsed.
      const { accessKeyId, service } = authenticate(req, body)
      endpoint = endpoints.get(service)!
      const { path, query } = splitUrl(req.raw.url ?? '/')
      if (!shapeFits(requestShape({ path, headers: req.headers }), endpoint.protocol)) {
        throw new ApiError(
          'InvalidRequest',
          `This request is not in the ${endpoint.protocol} protocol of service '${service}'.`,
        )
      }
      const call = await endpoint.decode({
        method: req.method,
        path,
        query,
        headers: req.headers,
        body,
        accessKeyId,
        requestId: req.id,
        signal: clientGone(reply),
      })
      action = call.action
      authorizer.check(endpoint, call.authz, {
        accessKeyId,
        headers: req.headers,
        sourceIp: req.socket.remoteAddress,
      })
      const response = await call.run()
      metrics.count(action, 'OK')
      audit.record(req, { service, protocol: endpoint.protocol, action, response })
      if (response.headers !== undefined) reply.headers(response.headers)
      return reply
        .code(response.status)
        .header('x-amzn-requestid', req.id)
        .type(response.contentType)
        .send(Buffer.from(response.body))
    } catch (err) {
      if (err instanceof ActionFailure) {
        action = err.action
        return sendError(reply, req.id, err.cause, action, endpoint)
      }
      return sendError(reply, req.id, err, action, endpoint)
    } finally {
      metrics.observe(action, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }

  app.route({ method: ['GET', 'POST'], url: '/', handler: serviceRequest })

  app.get(DESIRED_STATE_PATH, async (req, reply) => {
    const started = process.hrtime.bigint()
    const action = 'MirrorflowGetDesiredState'
    try {
      const { accessKeyId } = authenticate(req, Buffer.alloc(0))
      authorizer.check(
        fallback,
        { prefix: 'mirrorflow', action: 'GetDesiredState' },
        { accessKeyId, headers: req.headers, sourceIp: req.socket.remoteAddress },
      )
      const state = await agentDesiredState(
        watch,
        splitUrl(req.raw.url ?? '/').query,
        clientGone(reply),
        accessKeyId,
      )
      metrics.count(action, 'OK')
      return reply.header('x-amzn-requestid', req.id).type('application/json').send(JSON.stringify(state))
    } catch (err) {
      return sendError(reply, req.id, err, action, fallback)
    } finally {
      metrics.observe(action, Number(process.hrtime.bigint() - started) / 1e9)
    }
  })

  // Downloads (signed GETs answered with a file): a flow's packets from the mirror targets
  // (services/mirrorflow/packets.ts) and the flow records of a search (services/mirrorflow/traffic.ts).
  const downloads: Record<
    string,
    [
      string,
      (
        query: string,
        signal: AbortSignal,
      ) => Promise<{ body: Uint8Array; type: string; fileName: string; headers?: Record<string, string> }>,
    ]
  > = {
    [PCAP_PATH]: [
      'MirrorflowGetFlowPackets',
      async (query, signal) => {
        const got = await flowPackets(cp, query, signal)
        return {
          body: got.pcap,
          type: 'application/vnd.tcpdump.pcap',
          fileName: got.fileName,
          headers: {
            'x-mirrorflow-packets': String(got.packets),
            'x-mirrorflow-truncated': String(got.truncated),
          },
        }
      },
    ],
    '/mirrorflow/v1/flows/export': [
      'MirrorflowExportFlows',
      async (query) => {
        const map = new Map<string, string>()
        parseForm(query, map)
        return exportFlows(cp, new Params(map), cfg.analytics)
      },
    ],
  }
  for (const [path, [action, run]] of Object.entries(downloads)) {
    app.get(path, async (req, reply) => {
      const started = process.hrtime.bigint()
      try {
        const { accessKeyId } = authenticate(req, Buffer.alloc(0))
        authorizer.check(
          fallback,
          { prefix: 'mirrorflow', action: action.slice('Mirrorflow'.length) },
          { accessKeyId, headers: req.headers, sourceIp: req.socket.remoteAddress },
        )
        const got = await run(splitUrl(req.raw.url ?? '/').query, clientGone(reply))
        metrics.count(action, 'OK')
        return reply
          .header('x-amzn-requestid', req.id)
          .header('content-disposition', `attachment; filename="${got.fileName}"`)
          .headers(got.headers ?? {})
          .type(got.type)
          .send(Buffer.from(got.body.buffer, got.body.byteOffset, got.body.byteLength))
      } catch (err) {
        return sendError(reply, req.id, err, action, fallback)
      } finally {
        metrics.observe(action, Number(process.hrtime.bigint() - started) / 1e9)
      }
    })
  }

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

  // The web console: its page, sessions, and the signed pass-through to the endpoints above.
  registerConsole(app, { cp, regions })

  app.addHook('preClose', async () => {
    watch.close()
  })

  return { app, watch, metrics, audit }
}

function isFastifyClientError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const s = (err as { statusCode?: unknown }).statusCode
  return typeof s === 'number' && s >= 400 && s < 500 && !hasCode(err, 'MF_API')
}
