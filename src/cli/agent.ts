// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow agent --server URL`: registers this host (or the network namespace it runs in:
 * `ip netns exec NS mirrorflow agent …`) and makes its mirroring and flow logs match the server's
 * desired state until SIGINT/SIGTERM (or `--duration`). Credentials are found as the AWS CLI finds
 * them (environment, shared credentials file, `--profile`), or in `--credentials-file`.
 * Logs go to stderr as JSON lines (pino; each state change once); the final status to stdout. Exit
 * status: 0 after a signal or `--duration`, 1 when it cannot do its job (not root, lost privileges, a
 * damaged state file, the server refusing registration), 2 for usage errors.
 * @module
 */
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'
import type { DatapathType } from '../mirror/index.ts'

interface AgentOptions {
  server: string
  dataDir: string
  hostname?: string
  instanceId?: string
  datapath: string
  s3Dir?: string
  s3Endpoint?: string
  spoolMaxBytes: string
  metrics?: string
  profile?: string
  region?: string
  credentialsFile?: string
  keepMirroring?: boolean
  enforce?: boolean
  pollWait: string
  inventoryInterval: string
  duration?: string
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('register this host with the server and apply its mirroring and flow logs')
    .option('--server <url>', 'the mirrorflow server endpoint', 'http://127.0.0.1:4566')
    .option('--data-dir <dir>', 'state, spool and local S3 buckets', 'mirrorflow-agent')
    .option('--hostname <name>', 'name to register (default: host name[:network namespace])')
    .option('--instance-id <id>', 'register as this instance (default: the one saved in the data dir)')
    .option('--datapath <type>', 'auto | nftables | userspace', 'auto')
    .option('--s3-dir <dir>', 'local buckets root: <dir>/<bucket>/<key> (default DATA_DIR/s3)')
    .option('--s3-endpoint <url>', 'deliver to an S3-compatible endpoint instead of local directories')
    .option('--spool-max-bytes <n>', 'spool size before records become SKIPDATA', String(256 * 1024 * 1024))
    .option(
      '--metrics <[addr:]port>',
      'serve Prometheus /metrics and /status (a bare port binds 127.0.0.1 only)',
    )
    .option('--profile <p>', 'credentials profile (as the AWS CLI)')
    .option('--region <r>', 'signing region')
    .option(
      '--credentials-file <f>',
      'AWS credentials file (else AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials)',
    )
    .option('--keep-mirroring', 'leave the mirroring (and enforcement) in place when the agent stops')
    .option('--no-enforce', "do not enforce the interfaces' security groups and network ACLs")
    .option('--poll-wait <s>', 'long-poll wait in seconds', '20')
    .option('--inventory-interval <s>', 'seconds between checks of the host interfaces', '5')
    .option('--duration <s>', 'stop after this many seconds')
    .action(async (o: AgentOptions) => {
      // Loaded here so that other subcommands do not pay for them.
      const { resolveCredentials } = await import('../api/index.ts')
      const { Agent, defaultAgentConfig } = await import('../agent/index.ts')
      const { createLogger, installFatalHandlers, parseHostPort } = await import('../runtime/index.ts')
      if (!['auto', 'nftables', 'userspace'].includes(o.datapath))
        throw new UsageError(`--datapath must be auto, nftables or userspace`)
      const env = { ...process.env }
      if (o.credentialsFile !== undefined) env.AWS_SHARED_CREDENTIALS_FILE = o.credentialsFile
      const creds = resolveCredentials(
        {
          profile: o.profile ?? (o.credentialsFile !== undefined ? 'mirrorflow' : undefined),
          region: o.region,
        },
        env,
      )
      if (creds === undefined)
        throw new UsageError('no credentials: set AWS_* variables, --profile or --credentials-file')
      const cfg = defaultAgentConfig(o.server, creds, o.dataDir)
      if (o.hostname !== undefined) cfg.hostname = o.hostname
      if (o.instanceId !== undefined) cfg.instanceId = o.instanceId
      cfg.datapath = o.datapath as DatapathType
      if (o.s3Dir !== undefined) cfg.s3Dir = o.s3Dir
      cfg.s3Endpoint = o.s3Endpoint ?? null
      cfg.spoolMaxBytes = Number(o.spoolMaxBytes)
      if (!(cfg.spoolMaxBytes > 0)) throw new UsageError('--spool-max-bytes must be a positive number')
      cfg.metricsListen = o.metrics ?? null
      cfg.keepMirroringOnExit = o.keepMirroring === true
      cfg.enforce = o.enforce !== false
      cfg.pollWaitSeconds = Number(o.pollWait)
      cfg.inventoryIntervalMs = Number(o.inventoryInterval) * 1000
      if (!(cfg.inventoryIntervalMs >= 100))
        throw new UsageError('--inventory-interval must be at least 0.1 s')
      if (cfg.metricsListen !== null) {
        try {
          parseHostPort(cfg.metricsListen, '--metrics')
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
      }
      const log = createLogger('agent')
      installFatalHandlers(log)
      const agent = new Agent(cfg, { log })
      await agent.start()
      // Until a signal, --duration, or the agent can no longer do its job (exit 1).
      const fatal = await new Promise<Error | null>((resolve) => {
        process.once('SIGINT', () => resolve(null))
        process.once('SIGTERM', () => resolve(null))
        if (o.duration !== undefined) setTimeout(() => resolve(null), Number(o.duration) * 1000)
        void agent.fatal.then(resolve)
      })
      const final = await agent.stop()
      if (fatal !== null) process.exitCode = 1
      process.stdout.write(JSON.stringify(final, null, 2) + '\n')
    })
}
