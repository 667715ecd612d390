// SPDX-License-Identifier: Apache-2.0
/**
 * The page's one way to the server: the session (sign-in, sign-out) and AWS requests passed to
 * `POST /console/api/aws`, which the server signs with the session's key and runs through the API
 * as the AWS CLI's requests are run. EC2 answers are XML, turned into plain objects here; errors
 * come back with the API's own code and message.
 * @module
 */

export interface SessionInfo {
  accessKeyId: string
  role: string | null
  csrfToken: string
  expiresAt: string
  region: string
  accountId: string
}

/** An error as the API (or the console's own routes) answered it. */
export class ApiFailure extends Error {
  readonly code: string
  readonly status: number
  constructor(code: string, message: string, status: number) {
    super(message)
    this.code = code
    this.status = status
  }
}

let current: SessionInfo | null = null
/** Called when a call finds the session gone (expired, signed out elsewhere). */
let onSignedOut: () => void = () => {}

export function session(): SessionInfo | null {
  return current
}

export function setSignedOutHandler(f: () => void): void {
  onSignedOut = f
}

async function consoleJson(res: Response): Promise<unknown> {
  const text = await res.text()
  let v: unknown = null
  try {
    v = JSON.parse(text)
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const e = (v as { error?: { code?: string; message?: string } } | null)?.error
    if (res.status === 401 && current !== null) {
      current = null
      onSignedOut()
    }
    throw new ApiFailure(e?.code ?? `HTTP${res.status}`, e?.message ?? text.slice(0, 300), res.status)
  }
  return v
}

/** The session the cookie holds, if any. */
export async function loadSession(): Promise<SessionInfo | null> {
  const res = await fetch('/console/api/session', { credentials: 'same-origin' })
  if (res.status === 401) return (current = null)
  current = (await consoleJson(res)) as SessionInfo
  return current
}

export async function signIn(accessKeyId: string, secretAccessKey: string): Promise<SessionInfo> {
  const res = await fetch('/console/api/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessKeyId, secretAccessKey }),
  })
  current = (await consoleJson(res)) as SessionInfo
  return current
}

export async function signOut(): Promise<void> {
  if (current === null) return
  const token = current.csrfToken
  current = null
  await fetch('/console/api/signout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'x-mirrorflow-csrf': token },
  })
}

export interface AwsRequest {
  service: string
  method?: 'GET' | 'POST'
  path?: string
  query?: string
  body?: string
  contentType?: string
  target?: string
}

/** One AWS request, signed by the server with the session's key. Resolves with the raw answer. */
export async function aws(req: AwsRequest): Promise<{ status: number; type: string; text: string }> {
  if (current === null) throw new ApiFailure('NotSignedIn', 'Sign in first.', 401)
  const res = await fetch('/console/api/aws', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-mirrorflow-csrf': current.csrfToken },
    body: JSON.stringify(req),
  })
  const type = res.headers.get('content-type') ?? ''
  if (type.startsWith('application/json') && !res.ok && res.status === 401) {
    await consoleJson(res) // the console's own "not signed in"
  }
  return { status: res.status, type, text: await res.text() }
}

/** A parsed XML element: text for a leaf, an array for `<item>` lists, else an object of children. */
export type XmlValue = string | XmlValue[] | { [k: string]: XmlValue }

function convert(el: Element): XmlValue {
  const kids = Array.from(el.children)
  if (kids.length === 0) return el.textContent ?? ''
  if (kids.every((k) => k.tagName === 'item' || k.tagName === 'member')) return kids.map(convert)
  const o: { [k: string]: XmlValue } = {}
  for (const k of kids) o[k.tagName] = convert(k)
  return o
}

/** Form encoding of Query parameters (RFC 3986, as SigV4 expects). */
export function formEncode(params: Record<string, string>): string {
  const enc = (s: string): string =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return Object.entries(params)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&')
}

export const EC2_VERSION = '2016-11-15'

/**
 * Calls an EC2 Query action (mirrorflow's own `Mirrorflow…` actions included): resolves with the
 * answer (XML as objects, JSON as is); rejects with the API's error code and message.
 */
export async function ec2(
  action: string,
  params: Record<string, string> = {},
): Promise<{ [k: string]: XmlValue }> {
  const r = await aws({
    service: 'ec2',
    body: formEncode({ Action: action, Version: EC2_VERSION, ...params }),
  })
  if (r.type.includes('json')) {
    const v = JSON.parse(r.text) as { [k: string]: XmlValue } & { error?: { code: string; message: string } }
    if (r.status >= 400)
      throw new ApiFailure(v.error?.code ?? `HTTP${r.status}`, v.error?.message ?? '', r.status)
    return v
  }
  const doc = new DOMParser().parseFromString(r.text, 'application/xml')
  const root = doc.documentElement
  if (r.status >= 400 || root.tagName === 'Response') {
    const code = root.querySelector('Code')?.textContent ?? `HTTP${r.status}`
    const message = root.querySelector('Message')?.textContent ?? r.text.slice(0, 300)
    throw new ApiFailure(code, message, r.status)
  }
  return convert(root) as { [k: string]: XmlValue }
}

/** Calls a REST-JSON service (GuardDuty): resolves with the parsed answer; rejects with its error. */
export async function restJson(
  service: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const r = await aws({
    service,
    method,
    path,
    ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' }),
  })
  let v: Record<string, unknown> = {}
  try {
    v = r.text === '' ? {} : (JSON.parse(r.text) as Record<string, unknown>)
  } catch {
    // not JSON
  }
  if (r.status >= 400 && r.type.includes('xml')) {
    // Refused before reaching the service (signature, routing): an EC2-style XML error.
    const root = new DOMParser().parseFromString(r.text, 'application/xml').documentElement
    throw new ApiFailure(
      root.querySelector('Code')?.textContent ?? `HTTP${r.status}`,
      root.querySelector('Message')?.textContent ?? '',
      r.status,
    )
  }
  if (r.status >= 400) {
    const code = String(v.__type ?? v.code ?? `HTTP${r.status}`).replace(/^.*#/, '')
    throw new ApiFailure(code, String(v.message ?? v.Message ?? r.text.slice(0, 300)), r.status)
  }
  return v
}

/** An XML value as a list (absent → empty, a single object → one element). */
export function list(v: XmlValue | undefined): Array<{ [k: string]: XmlValue }> {
  if (v === undefined || v === '') return []
  if (Array.isArray(v)) return v as Array<{ [k: string]: XmlValue }>
  if (typeof v === 'object') return [v]
  return []
}

/** An XML value as text ('' when absent or not a leaf). */
export function text(v: XmlValue | undefined): string {
  return typeof v === 'string' ? v : ''
}
