// SPDX-License-Identifier: Apache-2.0
/**
 * Entry point of one traffic generator process, run inside a lab namespace:
 * `ip netns exec NS node --import tsx src/lab/traffic-main.ts ROLE [key=value…]`.
 * Roles: `web db=ADDR`, `db`, `client web=ADDR`, `attacker victim=ADDR`; each takes `duration=S`.
 * Servers run until SIGTERM or their duration; clients print one JSON report line when done.
 * @module
 */
import { runAttacker, runClient, startDbServer, startSshListener, startWebServer } from './traffic.ts'

const [role, ...rest] = process.argv.slice(2)
const args = new Map(rest.map((a) => a.split('=', 2) as [string, string]))
const durationMs = Number(args.get('duration') ?? '30') * 1000

function stopAfter(servers: Array<{ close(): unknown }>): void {
  const stop = (): void => {
    for (const s of servers) s.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  setTimeout(stop, durationMs + 5000).unref()
  process.stdout.write(JSON.stringify({ role, ready: true }) + '\n')
}

switch (role) {
  case 'db':
    stopAfter([await startDbServer()])
    break
  case 'web':
    stopAfter([await startWebServer(args.get('db') ?? ''), await startSshListener()])
    break
  case 'client': {
    const r = await runClient(args.get('web') ?? '', {
      durationMs,
      count: Number(args.get('count') ?? '100000'),
      intervalMs: Number(args.get('interval') ?? '200'),
    })
    process.stdout.write(JSON.stringify(r) + '\n')
    break
  }
  case 'attacker': {
    const r = await runAttacker(args.get('victim') ?? '', {
      durationMs,
      scanPorts: Number(args.get('ports') ?? '1024'),
      attempts: Number(args.get('attempts') ?? '100000'),
      intervalMs: Number(args.get('interval') ?? '500'),
    })
    process.stdout.write(JSON.stringify(r) + '\n')
    break
  }
  default:
    process.stderr.write(`unknown role '${role}' (web, db, client, attacker)\n`)
    process.exit(2)
}
