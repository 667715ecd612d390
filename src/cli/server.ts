// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow server`: the EC2-compatible control plane. Prints
 * `mirrorflow server listening on http://HOST:PORT` once listening; the first start creates an
 * admin access key and writes it to DATA_DIR/credentials (profile `mirrorflow`). SIGTERM and
 * SIGINT close it cleanly.
 * @module
 */
import type { Command } from 'commander'
import { METRICS_ACCESS, startServer, type MetricsAccess } from '../api/index.ts'
import { DEFAULT_ACCOUNT_ID } from '../flowlogs/index.ts'
import { UsageError } from '../errors.ts'
import { join } from 'node:path'
import {
  detectConfig,
  FindingsDelivery,
  flowLogStore,
  LiveDetection,
  ROLLUP_MAX_ROWS,
} from '../analytics/index.ts'

interface ServerOptions {
  dataDir?: string
  port: string
  host: string
  region: string
  accountId: string
  log?: boolean
  bodyLimit: string
  agentTimeout: string
  metricsAccess: string
  requestTimeout: string
  trailS3Dir?: string
  trailS3Endpoint?: string
  trailInterval: string
  trailDigestInterval: string
  trailMaxEvents: string
  detectDir?: string[]
  detectSet?: string[]
  webhook?: string[]
  findingsJsonl?: string
  listsRoot?: string
  flowLogsStore?: string[]
  flowLogsMaxRows: string
}

export function registerServer(program: Command): void {
  program
    .command('server')
    .description('run the EC2-compatible API server (Traffic Mirroring, Flow Logs)')
    .option('--data-dir <dir>', 'data directory (default $MIRRORFLOW_DATA_DIR or ./.mirrorflow)')
    .option('--port <n>', 'TCP port (0 = any free port)', '4566')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--region <r>', 'region (comma-separated for several; the first is primary)', 'us-east-1')
    .option('--account-id <id>', 'the 12-digit account id', DEFAULT_ACCOUNT_ID)
    .option('--log', 'log requests and errors as JSON lines on stderr')
    .option(
      '--flow-logs-store <dir>',
      'local bucket root(s) where agents deliver flow logs (<dir>/<bucket>/AWSLogs/…): what the console and MirrorflowQueryTraffic/MirrorflowSearchFlows query (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--flow-logs-max-rows <n>',
      "most rows in the console's flow-log roll-up (1000 to 1000000000; ~170 bytes each); over it the oldest objects are answered from their records",
      String(ROLLUP_MAX_ROWS),
    )
    .option('--body-limit <bytes>', 'largest request body accepted (1024 to 67108864)', '1048576')
    .option(
      '--metrics-access <who>',
      'who may read /metrics: loopback (peers on 127.0.0.0/8 or ::1), any, or off',
      'loopback',
    )
    .option(
      '--request-timeout <seconds>',
      'longest time a request may take to arrive whole (1 to 3600)',
      '60',
    )
    .option(
      '--agent-timeout <s>',
      'seconds without news from an agent before describe-instances shows its instance stopped',
      '60',
    )
    .option('--trail-s3-dir <dir>', "trails' local buckets root: <dir>/<bucket>/<key> (default DATA_DIR/s3)")
    .option('--trail-s3-endpoint <url>', 'deliver trails to an S3-compatible endpoint instead')
    .option('--trail-interval <s>', 'seconds between deliveries of trail log files (1 to 3600)', '300')
    .option('--trail-digest-interval <s>', 'seconds between trail digest files (1 to 86400)', '3600')
    .option(
      '--trail-max-events <n>',
      'CloudTrail events kept for LookupEvents (oldest evicted first)',
      '1000000',
    )
    .option(
      '--detect-dir <dir...>',
      'bucket directories whose flow logs are analysed live (default DATA_DIR/s3)',
    )
    .option('--detect-set <key=value...>', 'a detection threshold or window (docs/detect.md)')
    .option('--webhook <url...>', 'POST every new or updated finding here (EventBridge event shape)')
    .option(
      '--findings-jsonl <file>',
      'append findings as JSON lines (default DATA_DIR/findings.jsonl; "off" for none)',
    )
    .option('--lists-root <dir>', 'directory threat/trusted list files must be in (default DATA_DIR/lists)')
    .action(async (opts: ServerOptions) => {
      const port = Number(opts.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port must be 0 to 65535, got ${opts.port}`)
      if (!/^\d{12}$/.test(opts.accountId))
        throw new UsageError(`--account-id must be 12 digits, got ${opts.accountId}`)
      const bodyLimit = Number(opts.bodyLimit)
      if (!/^\d+$/.test(opts.bodyLimit) || bodyLimit < 1024 || bodyLimit > 64 * 1024 * 1024)
        throw new UsageError(`--body-limit must be 1024 to 67108864 bytes, got ${opts.bodyLimit}`)
      if (!(METRICS_ACCESS as readonly string[]).includes(opts.metricsAccess))
        throw new UsageError(`--metrics-access must be loopback, any or off, got ${opts.metricsAccess}`)
      const requestTimeout = Number(opts.requestTimeout)
      if (!/^\d+$/.test(opts.requestTimeout) || requestTimeout < 1 || requestTimeout > 3600)
        throw new UsageError(`--request-timeout must be 1 to 3600 seconds, got ${opts.requestTimeout}`)
      const agentTimeout = Number(opts.agentTimeout)
      if (!/^\d+$/.test(opts.agentTimeout) || agentTimeout < 5 || agentTimeout > 86_400)
        throw new UsageError(`--agent-timeout must be 5 to 86400 seconds, got ${opts.agentTimeout}`)
      const trailInterval = Number(opts.trailInterval)
      if (!/^\d+$/.test(opts.trailInterval) || trailInterval < 1 || trailInterval > 3600)
        throw new UsageError(`--trail-interval must be 1 to 3600 seconds, got ${opts.trailInterval}`)
      const trailDigestInterval = Number(opts.trailDigestInterval)
      if (!/^\d+$/.test(opts.trailDigestInterval) || trailDigestInterval < 1 || trailDigestInterval > 86_400)
        throw new UsageError(
          `--trail-digest-interval must be 1 to 86400 seconds, got ${opts.trailDigestInterval}`,
        )
      const trailMaxEvents = Number(opts.trailMaxEvents)
      if (!/^\d+$/.test(opts.trailMaxEvents) || trailMaxEvents < 1000 || trailMaxEvents > 100_000_000)
        throw new UsageError(`--trail-max-events must be 1000 to 100000000, got ${opts.trailMaxEvents}`)
      const flowLogsMaxRows = Number(opts.flowLogsMaxRows)
      if (!/^\d+$/.test(opts.flowLogsMaxRows) || flowLogsMaxRows < 1000 || flowLogsMaxRows > 1_000_000_000)
        throw new UsageError(`--flow-logs-max-rows must be 1000 to 1000000000, got ${opts.flowLogsMaxRows}`)
      const dataDir = opts.dataDir ?? process.env.MIRRORFLOW_DATA_DIR ?? '.mirrorflow'
      const detect = detectConfig(opts.detectSet ?? [])
      let delivery: FindingsDelivery
      try {
        delivery = new FindingsDelivery({
          webhooks: opts.webhook ?? [],
          ...(opts.findingsJsonl === 'off'
            ? {}
            : { jsonlFile: opts.findingsJsonl ?? join(dataDir, 'findings.jsonl') }),
        })
      } catch (err) {
        throw new UsageError(`--webhook: ${(err as Error).message}`)
      }
      const analytics =
        opts.flowLogsStore !== undefined
          ? flowLogStore(opts.flowLogsStore, { maxRows: flowLogsMaxRows })
          : undefined
      let srv: Awaited<ReturnType<typeof startServer>>
      try {
        srv = await startServer({
          dataDir,
          port,
          host: opts.host,
          region: opts.region,
          accountId: opts.accountId,
          logger: opts.log === true,
          bodyLimit,
          metricsAccess: opts.metricsAccess as MetricsAccess,
          requestTimeoutMs: requestTimeout * 1000,
          agentTimeoutSeconds: agentTimeout,
          ...(opts.trailS3Dir === undefined ? {} : { trailS3Dir: opts.trailS3Dir }),
          ...(opts.trailS3Endpoint === undefined ? {} : { trailS3Endpoint: opts.trailS3Endpoint }),
          trailIntervalSeconds: trailInterval,
          trailDigestIntervalSeconds: trailDigestInterval,
          trailMaxEvents,
          ...(opts.listsRoot !== undefined ? { listsRoot: opts.listsRoot } : {}),
          ...(analytics !== undefined ? { analytics } : {}),
        })
      } catch (err) {
        analytics?.close()
        throw err
      }
      analytics?.registerMetrics(srv.metricsRegistry)
      // Live detection: flow-log objects delivered into the bucket directories → findings → delivery.
      srv.cp.guardduty.onFindings((changed) => delivery.deliver(changed))
      const live = new LiveDetection({
        cp: srv.cp,
        dirs: opts.detectDir ?? [join(dataDir, 's3')],
        config: detect,
      })
      live.registerMetrics(srv.metricsRegistry)
      live.start()
      if (srv.createdCredentials) {
        process.stdout.write(
          `mirrorflow server: created an admin access key in ${srv.credentialsFile} (profile mirrorflow)\n`,
        )
      } else {
        process.stdout.write(
          `mirrorflow server: admin credentials in ${srv.credentialsFile} (profile mirrorflow)\n`,
        )
      }
      process.stdout.write(`mirrorflow server listening on ${srv.url}\n`)
      process.stdout.write(`mirrorflow server: web console at ${srv.url}/console/\n`)
      await new Promise<void>((resolve) => {
        let closing = false
        const stop = (): void => {
          if (closing) return
          closing = true
          live.stop()
          delivery.close()
          srv.close().then(resolve, (err: unknown) => {
            process.stderr.write(`mirrorflow server: error while closing: ${(err as Error).message}\n`)
            resolve()
          })
        }
        process.once('SIGTERM', stop)
        process.once('SIGINT', stop)
      })
    })
}
