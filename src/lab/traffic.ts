// SPDX-License-Identifier: Apache-2.0
/**
 * The lab's traffic generators, in Node: a web server that queries a database for each page, the
 * database (a line protocol over TCP), an SSH-like listener (banner, one line, "Permission denied"),
 * a client making HTTP requests, and an attacker running a TCP connect scan and repeated login
 * attempts. Every generator is bounded in time and count and refuses any address outside the lab
 * (`LAB_CIDR`), so nothing ever leaves the namespaces.
 * @module
 */
import { request, createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { connect, createServer, type Server, type Socket } from 'node:net'

/** The lab's VPC: generators only ever talk to addresses in here. */
export const LAB_CIDR = '10.0.0.0/16'

function ipv4(a: string): number {
  const p = a.split('.').map(Number)
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return -1
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0
}

/** Throws unless `addr` is an IPv4 address inside LAB_CIDR. */
export function assertLabAddress(addr: string): void {
  const n = ipv4(addr)
  if (n < 0 || n >>> 16 !== 0x0a00)
    throw new Error(`refusing to send traffic to ${addr}: outside the lab (${LAB_CIDR})`)
}

/** Counters a generator reports when it ends. */
export interface TrafficReport {
  role: string
  [k: string]: number | string
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** One line from a socket (up to `\n`), or null on close/timeout. */
function readLine(sock: Socket, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let buf = ''
    const done = (v: string | null): void => {
      clearTimeout(timer)
      sock.off('data', onData)
      sock.off('close', onClose)
      resolve(v)
    }
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1')
      const i = buf.indexOf('\n')
      if (i >= 0) done(buf.slice(0, i + 1))
    }
    const onClose = (): void => done(null)
    const timer = setTimeout(() => done(null), timeoutMs)
    sock.on('data', onData)
    sock.on('close', onClose)
  })
}

/** The database: `GET key\n` → `VALUE key <32 bytes>\n`; anything else → `ERR\n`. */
export function startDbServer(port = 5432, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((sock) => {
    sock.on('error', () => undefined)
    let buf = ''
    sock.on('data', (d) => {
      buf += d.toString('latin1')
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim()
        buf = buf.slice(i + 1)
        const m = /^GET (\S+)$/.exec(line)
        sock.write(m ? `VALUE ${m[1]} ${'x'.repeat(32)}\n` : 'ERR\n')
      }
    })
  })
  return new Promise((r) => server.listen(port, host, () => r(server)))
}

/** The SSH-like listener: banner, read one line, refuse, close. */
export function startSshListener(port = 22, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((sock) => {
    sock.on('error', () => undefined)
    sock.write('SSH-2.0-mirrorflow-lab\r\n')
    void readLine(sock, 2000).then(() => sock.end('Permission denied\r\n'))
  })
  return new Promise((r) => server.listen(port, host, () => r(server)))
}

/** The web server: each request asks the database for one key, then answers a small HTML page. */
export function startWebServer(
  dbHost: string,
  dbPort = 5432,
  port = 80,
  host = '0.0.0.0',
): Promise<HttpServer> {
  assertLabAddress(dbHost)
  const server = createHttpServer((req, res) => {
    const db = connect(dbPort, dbHost)
    db.on('error', () => {
      res.writeHead(502)
      res.end('database unreachable\n')
    })
    db.once('connect', () => {
      db.write(`GET ${encodeURIComponent(req.url ?? '/')}\n`)
      void readLine(db, 2000).then((line) => {
        db.end()
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end(`<html><body><h1>mirrorflow lab</h1><p>${line ?? 'no answer'}</p></body></html>\n`)
      })
    })
  })
  server.keepAliveTimeout = 1
  return new Promise((r) => server.listen(port, host, () => r(server)))
}

/** The client: `GET http://web/page-N` every `intervalMs` until `durationMs` or `count` requests. */
export async function runClient(
  web: string,
  opts: { durationMs: number; count: number; intervalMs: number },
): Promise<TrafficReport> {
  assertLabAddress(web)
  const end = Date.now() + opts.durationMs
  let ok = 0
  let failed = 0
  for (let i = 0; i < opts.count && Date.now() < end; i++) {
    const good = await new Promise<boolean>((resolve) => {
      const req = request({ host: web, port: 80, path: `/page-${i}`, agent: false, timeout: 2000 }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200))
      })
      req.on('timeout', () => req.destroy())
      req.on('error', () => resolve(false))
      req.end()
    })
    if (good) ok++
    else failed++
    await sleep(opts.intervalMs)
  }
  return { role: 'client', requests: ok + failed, ok, failed }
}

/** TCP connect scan of `ports` on `host`, `parallel` at a time; returns the open ports. */
export async function connectScan(
  host: string,
  ports: readonly number[],
  parallel = 32,
  timeoutMs = 500,
): Promise<number[]> {
  assertLabAddress(host)
  const open: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < ports.length) {
      const port = ports[next++] as number
      const isOpen = await new Promise<boolean>((resolve) => {
        const s = connect({ host, port, timeout: timeoutMs })
        s.once('connect', () => {
          s.destroy()
          resolve(true)
        })
        s.once('timeout', () => {
          s.destroy()
          resolve(false)
        })
        s.once('error', () => resolve(false))
      })
      if (isOpen) open.push(port)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, ports.length) }, worker))
  return open.sort((a, b) => a - b)
}

/**
 * The attacker: a connect scan of ports 1..`scanPorts` (128 probes at a time, as scanners run many),
 * then SSH-like login attempts until the end, `parallel` at a time (as password-guessing tools run
 * several tasks). An attempt whose connection is not answered (a security group dropping it) is given
 * up after a second, so dropped attempts go on at the rate of answered ones.
 */
export async function runAttacker(
  victim: string,
  opts: { durationMs: number; scanPorts: number; attempts: number; intervalMs: number; parallel?: number },
): Promise<TrafficReport> {
  assertLabAddress(victim)
  const end = Date.now() + opts.durationMs
  const ports = Array.from({ length: opts.scanPorts }, (_, i) => i + 1)
  const open = await connectScan(victim, ports, 128)
  let attempts = 0
  let refused = 0
  const guesser = async (): Promise<void> => {
    while (attempts < opts.attempts && Date.now() < end) {
      const i = attempts++
      const answer = await new Promise<string | null>((resolve) => {
        const s = connect({ host: victim, port: 22, timeout: 1000 })
        s.on('error', () => resolve(null))
        s.once('timeout', () => {
          s.destroy()
          resolve(null)
        })
        s.once('connect', () => {
          void readLine(s, 2000).then((banner) => {
            if (banner === null) return resolve(null)
            s.write(`login root password guess-${i}\r\n`)
            void readLine(s, 2000).then((r) => {
              s.destroy()
              resolve(r)
            })
          })
        })
      })
      if (answer !== null && answer.startsWith('Permission denied')) refused++
      await sleep(opts.intervalMs)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? 8) }, guesser))
  return { role: 'attacker', scanned: ports.length, open: open.join(','), loginAttempts: attempts, refused }
}
