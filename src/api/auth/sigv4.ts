// SPDX-License-Identifier: Apache-2.0
/**
 * AWS Signature Version 4: verification of incoming requests (header `Authorization` and
 * presigned query `X-Amz-*` forms) and signing of outgoing ones (the admin client), with one
 * canonicalisation shared by both. Signing keys are cached per (secret, date, region, service).
 *
 * Error codes (EC2's): no signature → `MissingAuthenticationToken` (401); a malformed
 * Authorization header → `IncompleteSignature` (400); an unknown access key → `AuthFailure` (401);
 * a wrong signature, region or service → `SignatureDoesNotMatch` (403); a date more than 15
 * minutes off, or an expired presigned URL → `RequestExpired` (400); a presigned request with a
 * body → `SignatureDoesNotMatch` (403, what AWS answers since its signature cannot cover that body).
 *
 * Verification is two steps so that the server does no work for a stranger:
 * {@link preauthenticate} runs on the request head before the body is read, {@link verifyPayload}
 * checks the HMAC over the raw body bytes before anything parses them.
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { ApiError } from '../../control/index.ts'

/** What verification needs to know about a request. */
export interface SignedRequest {
  method: string
  /** The raw path, without the query string. */
  path: string
  /** The raw query string (after `?`), or ''. */
  query: string
  /** Header name (lower case) → values in arrival order. */
  headers: Map<string, string[]>
  body: Buffer
}

export interface VerifyOptions {
  /** The signing service(s) the server answers (the credential scope must name one). */
  service: string | readonly string[]
  regions: readonly string[]
  secretOf: (accessKeyId: string) => string | undefined
  now?: number
  /** Allowed clock skew in ms (AWS: 15 minutes). */
  maxSkewMs?: number
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** The canonical query string: every parameter (but the signature), encoded, sorted. */
export function canonicalQuery(query: string, skipSignature: boolean): string {
  if (query.length === 0) return ''
  const pairs: [string, string][] = []
  for (const part of query.split('&')) {
    if (part.length === 0) continue
    const eq = part.indexOf('=')
    const k = uriEncode(safeDecode(eq < 0 ? part : part.slice(0, eq)))
    const v = uriEncode(safeDecode(eq < 0 ? '' : part.slice(eq + 1)))
    if (skipSignature && k === 'X-Amz-Signature') continue
    pairs.push([k, v])
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  return pairs.map(([k, v]) => `${k}=${v}`).join('&')
}

/** The canonical URI: each path segment decoded, then RFC 3986-encoded (as the JS SDK does). */
export function canonicalPath(path: string): string {
  if (path === '' || path === '/') return '/'
  return path
    .split('/')
    .map((seg) => uriEncode(safeDecode(seg)))
    .join('/')
}

function canonicalHeaderValue(values: string[]): string {
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')
}

/** The canonical request text. */
export function canonicalRequest(
  method: string,
  path: string,
  query: string,
  headers: Map<string, string[]>,
  signedHeaders: readonly string[],
  payloadHash: string,
  presigned: boolean,
): string {
  let h = ''
  for (const name of signedHeaders) h += `${name}:${canonicalHeaderValue(headers.get(name) ?? [])}\n`
  return [
    method,
    canonicalPath(path),
    canonicalQuery(query, presigned),
    h,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n')
}

const keyCache = new Map<string, Buffer>()
/** HMAC chain secret → date → region → service → aws4_request, cached. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const ck = `${secret}\0${date}\0${region}\0${service}`
  let k = keyCache.get(ck)
  if (k === undefined) {
    const kDate = createHmac('sha256', 'AWS4' + secret)
      .update(date)
      .digest()
    const kRegion = createHmac('sha256', kDate).update(region).digest()
    const kService = createHmac('sha256', kRegion).update(service).digest()
    k = createHmac('sha256', kService).update('aws4_request').digest()
    if (keyCache.size > 1000) keyCache.clear()
    keyCache.set(ck, k)
  }
  return k
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256(canonical)}`
}

export interface Parsed {
  accessKeyId: string
  date: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
  amzDate: string
  presigned: boolean
  expires?: number
}

function incomplete(msg: string): ApiError {
  return new ApiError('IncompleteSignature', msg)
}

function parseCredential(cred: string): [string, string, string, string] {
  const parts = cred.split('/')
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || parts[0]!.length === 0) {
    throw incomplete(
      `Credential should be scoped to a valid region, not a malformed scope: '${cred.slice(0, 128)}'.`,
    )
  }
  return [parts[0]!, parts[1]!, parts[2]!, parts[3]!]
}

function queryParam(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=')
    if (eq > 0 && safeDecode(part.slice(0, eq)) === name) return safeDecode(part.slice(eq + 1))
  }
  return undefined
}

function parseAuth(req: RequestHead): Parsed {
  const auth = req.headers.get('authorization')
  if (auth !== undefined) {
    const a = auth.join(',').trim()
    if (!a.startsWith(ALGORITHM + ' ')) {
      throw incomplete(`Unsupported Authorization Type: only ${ALGORITHM} is supported.`)
    }
    const fields = new Map<string, string>()
    for (const f of a.slice(ALGORITHM.length + 1).split(',')) {
      const eq = f.indexOf('=')
      if (eq > 0) fields.set(f.slice(0, eq).trim(), f.slice(eq + 1).trim())
    }
    const cred = fields.get('Credential')
    const sh = fields.get('SignedHeaders')
    const sig = fields.get('Signature')
    if (cred === undefined || sh === undefined || sig === undefined) {
      throw incomplete(
        "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
      )
    }
    const amzDate = req.headers.get('x-amz-date')?.[0] ?? dateHeaderToAmz(req.headers.get('date')?.[0])
    if (amzDate === undefined) {
      throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    }
    const [accessKeyId, date, region, service] = parseCredential(cred)
    return {
      accessKeyId,
      date,
      region,
      service,
      signedHeaders: sh.split(';'),
      signature: sig,
      amzDate,
      presigned: false,
    }
  }
  const alg = queryParam(req.query, 'X-Amz-Algorithm')
  if (alg === undefined) {
    throw new ApiError(
      'MissingAuthenticationToken',
      'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.',
    )
  }
  if (alg !== ALGORITHM) throw incomplete(`Unsupported algorithm '${alg.slice(0, 32)}'.`)
  const cred = queryParam(req.query, 'X-Amz-Credential')
  const amzDate = queryParam(req.query, 'X-Amz-Date')
  const sh = queryParam(req.query, 'X-Amz-SignedHeaders')
  const sig = queryParam(req.query, 'X-Amz-Signature')
  const exp = queryParam(req.query, 'X-Amz-Expires')
  if (cred === undefined || amzDate === undefined || sh === undefined || sig === undefined) {
    throw incomplete(
      'Presigned requests require X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature.',
    )
  }
  const [accessKeyId, date, region, service] = parseCredential(cred)
  const p: Parsed = {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: sh.split(';'),
    signature: sig,
    amzDate,
    presigned: true,
  }
  if (exp !== undefined) {
    if (!/^\d{1,6}$/.test(exp) || Number(exp) > 604800)
      throw incomplete('X-Amz-Expires must be 0 to 604800 seconds.')
    p.expires = Number(exp)
  }
  return p
}

function dateHeaderToAmz(d: string | undefined): string | undefined {
  if (d === undefined) return undefined
  const t = Date.parse(d)
  return Number.isNaN(t)
    ? undefined
    : new Date(t)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '')
}

function amzToMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  if (m === null) return NaN
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
}

/** A request whose credentials, date and scope passed; only the signature itself is left to check. */
export interface PendingAuth {
  readonly accessKeyId: string
  readonly presigned: boolean
  readonly p: Parsed
  readonly secret: string
}

/** The request without its body: what can be checked before a byte of the body is read. */
export type RequestHead = Omit<SignedRequest, 'body'>

function presignedBody(): ApiError {
  return new ApiError(
    'SignatureDoesNotMatch',
    'A presigned request cannot carry a body: its parameters belong in the signed query string.',
  )
}

/**
 * The checks that need no body: an Authorization header or presigned query that parses, a date
 * within the allowed skew (or an unexpired presigned URL), a known access key, the right date,
 * service and region in the scope, `host` signed — and no body at all on a presigned request
 * (`Content-Length` above 0 or any `Transfer-Encoding`), since a presigned signature covers the
 * query string only. A request that fails here is refused before its body is read.
 */
export function preauthenticate(req: RequestHead, opts: VerifyOptions): PendingAuth {
  const p = parseAuth(req)
  const t = amzToMs(p.amzDate)
  if (Number.isNaN(t))
    throw incomplete(`Invalid X-Amz-Date '${p.amzDate.slice(0, 32)}': expected YYYYMMDD'T'HHMMSS'Z'.`)
  const now = opts.now ?? Date.now()
  const skew = opts.maxSkewMs ?? 15 * 60_000
  if (p.presigned) {
    if (t - now > skew || now > t + (p.expires ?? 900) * 1000) {
      throw new ApiError('RequestExpired', 'Request has expired.')
    }
  } else if (Math.abs(now - t) > skew) {
    throw new ApiError(
      'RequestExpired',
      `Request has expired. The request date ${p.amzDate} is more than 15 minutes away from the server time.`,
    )
  }
  const secret = opts.secretOf(p.accessKeyId)
  if (secret === undefined)
    throw new ApiError('AuthFailure', 'AWS was not able to validate the provided access credentials')
  if (p.date !== p.amzDate.slice(0, 8)) {
    throw new ApiError(
      'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from X-Amz-Date.`,
    )
  }
  const services = typeof opts.service === 'string' ? [opts.service] : opts.service
  if (!services.includes(p.service)) {
    throw new ApiError(
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: '${services.join("' or '")}'.`,
    )
  }
  if (!opts.regions.includes(p.region)) {
    throw new ApiError(
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region, not '${p.region.slice(0, 32)}'.`,
    )
  }
  if (!p.signedHeaders.includes('host')) {
    throw new ApiError('SignatureDoesNotMatch', "The 'host' header must be signed.")
  }
  if (p.presigned) {
    const len = req.headers.get('content-length')
    if (req.headers.has('transfer-encoding') || (len !== undefined && len.some((v) => v.trim() !== '0')))
      throw presignedBody()
  }
  return { accessKeyId: p.accessKeyId, presigned: p.presigned, p, secret }
}

/**
 * Checks the signature of a pre-authenticated request over its raw body bytes (nothing of the
 * body has been parsed yet); returns the access key id. A header-signed request binds its body
 * through the payload hash; a presigned one must have none.
 */
export function verifyPayload(pending: PendingAuth, req: SignedRequest): string {
  const { p, secret } = pending
  if (p.presigned && req.body.length > 0) throw presignedBody()
  const bodyHash = req.body.length === 0 ? EMPTY_SHA256 : sha256(req.body)
  const declared = req.headers.get('x-amz-content-sha256')?.[0]
  const candidates = [bodyHash]
  if (declared === 'UNSIGNED-PAYLOAD' && req.body.length === 0) candidates.push(declared)
  else if (declared !== undefined && declared !== bodyHash && declared !== 'UNSIGNED-PAYLOAD') {
    throw new ApiError(
      'SignatureDoesNotMatch',
      'The provided x-amz-content-sha256 header does not match the request body.',
    )
  }
  if (p.presigned) candidates.push('UNSIGNED-PAYLOAD')
  const key = signingKey(secret, p.date, p.region, p.service)
  const scope = `${p.date}/${p.region}/${p.service}/aws4_request`
  const given = Buffer.from(p.signature, 'utf8')
  for (const hash of candidates) {
    const canon = canonicalRequest(
      req.method,
      req.path,
      req.query,
      req.headers,
      p.signedHeaders,
      hash,
      p.presigned,
    )
    const want = Buffer.from(
      createHmac('sha256', key)
        .update(stringToSign(p.amzDate, scope, canon))
        .digest('hex'),
      'utf8',
    )
    if (want.length === given.length && timingSafeEqual(want, given)) return p.accessKeyId
  }
  throw new ApiError(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
  )
}

/** Verifies the request's signature (both steps at once); returns the access key id. Throws an ApiError otherwise. */
export function verifySigV4(req: SignedRequest, opts: VerifyOptions): string {
  return verifyPayload(preauthenticate(req, opts), req)
}

/** Signs a request (header form) and returns the headers to send, for the admin client. */
export function signRequest(input: {
  method: string
  url: URL
  headers: Record<string, string>
  body: string
  accessKeyId: string
  secretAccessKey: string
  region: string
  service: string
  now?: Date
}): Record<string, string> {
  const amzDate = (input.now ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  const date = amzDate.slice(0, 8)
  const headers: Record<string, string> = { ...input.headers, host: input.url.host, 'x-amz-date': amzDate }
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort()
  const map = new Map<string, string[]>()
  for (const [k, v] of Object.entries(headers)) map.set(k.toLowerCase(), [v])
  const canon = canonicalRequest(
    input.method,
    input.url.pathname,
    input.url.search.replace(/^\?/, ''),
    map,
    names,
    sha256(input.body),
    false,
  )
  const scope = `${date}/${input.region}/${input.service}/aws4_request`
  const sig = createHmac('sha256', signingKey(input.secretAccessKey, date, input.region, input.service))
    .update(stringToSign(amzDate, scope, canon))
    .digest('hex')
  headers.authorization = `${ALGORITHM} Credential=${input.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`
  return headers
}
