// SPDX-License-Identifier: Apache-2.0
/**
 * One HTTP listener per process for Prometheus `/metrics` and the JSON `/status`. It binds where it is
 * told; the command-line options give it loopback unless an address is named (`--metrics 9480` is
 * `127.0.0.1:9480`), because these pages need no key and describe the host's traffic.
 * @module
 */
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import { ListenError } from './errors.ts'
import { formatHostPort, type HostPort } from './host-port.ts'

/** What the server serves. */
export interface StatusServerOptions {
  listen: HostPort
  registry: Registry
  /** The process's status, rendered as JSON on each request. */
  status: () => unknown
}

/** `/metrics` (Prometheus text) and `/status` (JSON); anything else is 404. GET and HEAD only. */
export class StatusServer {
  readonly #o: StatusServerOptions
  #server: Server | null = null
  #address: HostPort | null = null

  constructor(o: StatusServerOptions) {
    this.#o = o
  }

  /** Binds; throws `ListenError` (`MF_LISTEN`) when the address cannot be bound. */
  async start(): Promise<HostPort> {
    const o = this.#o
    const server = createServer((req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' })
        res.end()
        return
      }
      const path = (req.url ?? '').split('?')[0]
      if (path === '/metrics') {
        o.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': o.registry.contentType })
            res.end(text)
          },
          (err: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' })
            res.end(`metrics: ${(err as Error).message}\n`)
          },
        )
      } else if (path === '/status') {
        let body: string
        try {
          body = JSON.stringify(o.status(), null, 2)
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' })
          res.end(`status: ${(err as Error).message}\n`)
          return
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(body)
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' })
        res.end('not found: try /metrics or /status\n')
      }
    })
    const where = formatHostPort(o.listen)
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new ListenError(`cannot listen on ${where}: ${err.message}`, where)),
      )
      server.listen(o.listen.port, o.listen.host, () => resolve())
    })
    const a = server.address()
    this.#server = server
    this.#address = a !== null && typeof a === 'object' ? { host: a.address, port: a.port } : o.listen
    return this.#address
  }

  /** The bound address (port 0 in the options picks a free one); null before `start()`. */
  get address(): HostPort | null {
    return this.#address
  }

  async stop(): Promise<void> {
    const s = this.#server
    this.#server = null
    if (s === null) return
    s.closeAllConnections()
    await new Promise<void>((r) => s.close(() => r()))
  }
}
