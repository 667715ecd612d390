// SPDX-License-Identifier: Apache-2.0
/**
 * A small SigV4-signing client for the server's Query endpoint, used by `mirrorflow admin`:
 * form-encodes the parameters, signs (service `ec2`), POSTs, and returns the parsed answer —
 * JSON for the Mirrorflow* actions, the EC2 error's code and message on failure.
 * @module
 */
import { signRequest, uriEncode } from './auth/sigv4.ts'
import { API_VERSION } from './server.ts'

export interface ClientCredentials {
  accessKeyId: string
  secretAccessKey: string
  region: string
}

/** An error answered by the server (EC2 code and message). */
export class RemoteApiError extends Error {
  readonly code = 'MF_API_REMOTE'
  readonly awsCode: string
  readonly status: number
  constructor(awsCode: string, message: string, status: number) {
    super(message)
    this.awsCode = awsCode
    this.status = status
  }
}

function xmlText(body: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(body)
  return m?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
}

/** Calls one action; resolves with the response body (JSON-parsed when it is JSON). */
export async function callAction(
  endpoint: string,
  creds: ClientCredentials,
  action: string,
  params: Record<string, string | undefined>,
): Promise<unknown> {
  const all: Record<string, string> = { Action: action, Version: API_VERSION }
  for (const [k, v] of Object.entries(params)) if (v !== undefined) all[k] = v
  const body = Object.entries(all)
    .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
    .join('&')
  const url = new URL(endpoint.endsWith('/') ? endpoint : endpoint + '/')
  const headers = signRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    region: creds.region,
    service: 'ec2',
  })
  delete headers.host
  const res = await fetch(url, { method: 'POST', headers, body })
  const text = await res.text()
  if (!res.ok) {
    const code = xmlText(text, 'Code') ?? `HTTP${res.status}`
    throw new RemoteApiError(code, xmlText(text, 'Message') ?? text.slice(0, 200), res.status)
  }
  const type = res.headers.get('content-type') ?? ''
  return type.includes('json') ? (JSON.parse(text) as unknown) : text
}
