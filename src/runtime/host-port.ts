// SPDX-License-Identifier: Apache-2.0
/** `ADDR:PORT` options, parsed once for every process. @module */
import { isIP } from 'node:net'
import { ListenAddressError } from './errors.ts'

/** Where a listener binds when an option gives only a port: loopback, so nothing is exposed by default. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1'

/** A parsed listen or connect address. */
export interface HostPort {
  host: string
  port: number
}

/**
 * Parses `ADDR:PORT`, `[IPV6]:PORT` or a bare `PORT` (which means `defaultHost:PORT`, loopback unless
 * told otherwise). `ADDR` is an IP address or `localhost`; the port is 0–65535 (0: any free port).
 * Throws `ListenAddressError` naming the option (`what`) on anything else.
 */
export function parseHostPort(s: string, what: string, defaultHost = DEFAULT_LISTEN_HOST): HostPort {
  if (s.length > 300) throw new ListenAddressError(`${what}: address too long (${s.length} characters)`)
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s) ?? /^()(\d{1,5})$/.exec(s)
  if (!m) throw new ListenAddressError(`${what}: expected ADDR:PORT or PORT, got '${s}'`)
  const host = m[1] === '' ? defaultHost : (m[1] as string)
  const port = Number(m[2])
  if (isIP(host) === 0 && host !== 'localhost')
    throw new ListenAddressError(`${what}: '${host}' is not an IP address`)
  if (port > 65535) throw new ListenAddressError(`${what}: port ${m[2]} is out of range (0-65535)`)
  return { host, port }
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}
