// SPDX-License-Identifier: Apache-2.0
/**
 * The target's packets-on-demand service: a small HTTP server the mirrorflow server calls to fetch
 * the frames of one flow from the pcap rings (`GET /pcap?src=…&sport=…&dst=…&dport=…&proto=…&start=…&end=…`,
 * times in µs since the epoch). Every request must carry `Authorization: Bearer <token>`, the random
 * token this target registered with the server; anything else is refused before the query is read.
 * One extraction runs at a time (the others wait, at most {@link MAX_WAITING}); the answer is a pcap,
 * or JSON `{code, message, oldest}` when the rings do not hold the packets.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { PcapDisk } from './pcap-disk.ts'
import { extractFlow, type FlowQuery } from './pcap-extract.ts'

/** Requests that may wait for the extraction running; more are refused with 503. */
export const MAX_WAITING = 8

export interface PacketService {
  readonly url: string
  readonly token: string
  /** Extractions answered, and refused (authentication, parameters, busy). */
  readonly counters: { served: number; refused: number }
  close(): Promise<void>
}

function json(res: ServerResponse, status: number, body: object): void {
  const t = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t) })
  res.end(t)
}

function num(q: URLSearchParams, name: string, max: number): number {
  const v = q.get(name)
  if (v === null || !/^\d{1,16}$/.test(v) || Number(v) > max)
    throw new RangeError(`${name} must be 0 to ${max}`)
  return Number(v)
}

/** Starts the service on `host:port` (0: any free port); `advertise` is the URL the server calls. */
export async function startPacketService(opts: {
  disk: PcapDisk
  host: string
  port: number
  advertiseHost?: string
}): Promise<PacketService> {
  const token = randomBytes(32).toString('base64url')
  const expected = Buffer.from(`Bearer ${token}`)
  const counters = { served: 0, refused: 0 }
  let chain: Promise<unknown> = Promise.resolve()
  let waiting = 0
  const server: Server = createServer((req, res) => {
    const auth = Buffer.from(String(req.headers.authorization ?? ''))
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      counters.refused++
      return json(res, 401, {
        code: 'Unauthorized',
        message: 'A bearer token registered with the server is required.',
      })
    }
    const url = new URL(req.url ?? '/', 'http://target')
    if (req.method !== 'GET' || url.pathname !== '/pcap') {
      counters.refused++
      return json(res, 404, { code: 'NotFound', message: 'GET /pcap only.' })
    }
    let q: FlowQuery
    try {
      const p = url.searchParams
      const src = p.get('src') ?? ''
      const dst = p.get('dst') ?? ''
      if (src.length > 64 || dst.length > 64) throw new RangeError('addresses are at most 64 characters')
      q = {
        srcAddr: src,
        dstAddr: dst,
        srcPort: num(p, 'sport', 65535),
        dstPort: num(p, 'dport', 65535),
        protocol: num(p, 'proto', 255),
        startUs: num(p, 'start', Number.MAX_SAFE_INTEGER),
        endUs: num(p, 'end', Number.MAX_SAFE_INTEGER),
      }
    } catch (err) {
      counters.refused++
      return json(res, 400, { code: 'InvalidParameterValue', message: (err as Error).message })
    }
    if (waiting >= MAX_WAITING) {
      counters.refused++
      return json(res, 503, { code: 'Busy', message: 'Too many packet extractions are waiting.' })
    }
    waiting++
    const run = chain.then(async () => {
      waiting--
      try {
        const x = await extractFlow(opts.disk, q)
        counters.served++
        if (x.packets === 0) {
          const oldest = x.oldestUs < 0 ? null : new Date(x.oldestUs / 1000).toISOString()
          return json(res, 404, {
            code: x.noLongerHeld ? 'PacketsNoLongerHeld' : 'PacketsNotFound',
            message: x.noLongerHeld
              ? `The pcap rings no longer hold packets from that time${oldest === null ? ' (they hold none)' : `: the oldest kept frame is from ${oldest}`}.`
              : 'The pcap rings hold no packet of this flow in that time range.',
            oldest,
            filesScanned: x.filesScanned,
          })
        }
        res.writeHead(200, {
          'content-type': 'application/vnd.tcpdump.pcap',
          'content-length': x.pcap.length,
          'x-mirrorflow-packets': String(x.packets),
          'x-mirrorflow-truncated': String(x.truncated),
          'x-mirrorflow-files-scanned': String(x.filesScanned),
          'x-mirrorflow-oldest': x.oldestUs < 0 ? '' : new Date(x.oldestUs / 1000).toISOString(),
        })
        res.end(x.pcap)
      } catch (err) {
        json(res, 400, { code: 'InvalidParameterValue', message: (err as Error).message })
      }
    })
    chain = run.catch(() => {})
  })
  server.requestTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => resolve())
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port
  const host = opts.advertiseHost ?? opts.host
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token,
    counters,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
