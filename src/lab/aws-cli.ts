// SPDX-License-Identifier: Apache-2.0
/**
 * The AWS CLI commands the demo suggests, written so that each line works when pasted alone into a
 * new shell, whichever `aws` (version 1 or 2) is first on the PATH: the line sets the server's own
 * config and credentials files (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` — so nothing in
 * ~/.aws is read), names the profile (`--profile mirrorflow`, whose region the config file holds)
 * and the endpoint, and turns the version 2 pager off (`AWS_PAGER=`). Paths are quoted for the shell.
 * After the demo its endpoint is gone; {@link afterDemo} says how to start the server again on the
 * demo's data directory and gives the same commands against it.
 * @module
 */
import { join } from 'node:path'
import { mirrorflowCommand, shellQuote } from '../entry-points.ts'

export { mirrorflowCommand, shellQuote }

/** The profile the server writes into its credentials and config files. */
export const PROFILE = 'mirrorflow'
/** The port {@link afterDemo} suggests (the server's default). */
export const DEFAULT_PORT = 4566

export interface AwsCliTarget {
  /** The server's data directory (holds `config` and `credentials`). */
  serverDataDir: string
  endpoint: string
  /** A subnet to filter network interfaces by, if any. */
  subnetId?: string
}

/** The environment assignments that point a command at the server's own config and credentials. */
function filesEnv(serverDataDir: string): string {
  return (
    `AWS_CONFIG_FILE=${shellQuote(join(serverDataDir, 'config'))} ` +
    `AWS_SHARED_CREDENTIALS_FILE=${shellQuote(join(serverDataDir, 'credentials'))}`
  )
}

/** One self-contained command line per suggested call. */
export function awsCliCommands(t: AwsCliTarget): string[] {
  const aws = `${filesEnv(t.serverDataDir)} AWS_PAGER= aws --profile ${PROFILE} --endpoint-url ${shellQuote(t.endpoint)} ec2`
  const cmds = [
    `${aws} describe-instances`,
    `${aws} describe-traffic-mirror-sessions`,
    `${aws} describe-traffic-mirror-targets`,
    `${aws} describe-traffic-mirror-filters`,
    `${aws} describe-flow-logs`,
  ]
  if (t.subnetId !== undefined)
    cmds.push(`${aws} describe-network-interfaces --filters Name=subnet-id,Values=${shellQuote(t.subnetId)}`)
  return cmds
}

/** The attacker's rejected SSH attempts in a flow-log log group: `filter-log-events` and a Logs Insights query. */
export function logsCliCommands(t: AwsCliTarget, logGroup: string): string[] {
  const aws = `${filesEnv(t.serverDataDir)} AWS_PAGER= aws --profile ${PROFILE} --endpoint-url ${shellQuote(t.endpoint)} logs`
  const pattern =
    '[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
  const query =
    'filter action="REJECT" | stats count(*) as attempts by srcAddr, dstAddr, dstPort | sort attempts desc | limit 20'
  return [
    `${aws} describe-log-streams --log-group-name ${shellQuote(logGroup)}`,
    `${aws} filter-log-events --log-group-name ${shellQuote(logGroup)} --filter-pattern ${shellQuote(pattern)} --query 'events[].message'`,
    `Q=$(${aws} start-query --log-group-name ${shellQuote(logGroup)} --start-time $(($(date +%s)-3600)) --end-time $(($(date +%s)+600)) --query-string ${shellQuote(query)} --query queryId --output text) && sleep 2 && ${aws} get-query-results --query-id "$Q"`,
  ]
}

/**
 * How to explore a finished demo: the command that starts the server again on its data directory
 * (on loopback), then the AWS CLI commands against it. The agents are gone, so their instances show
 * as stopped; everything the demo created through the API is there.
 */
export function afterDemo(serverDataDir: string, port = DEFAULT_PORT, subnetId?: string): string[] {
  const endpoint = `http://127.0.0.1:${port}`
  return [
    `${mirrorflowCommand()} server --data-dir ${shellQuote(serverDataDir)} --port ${port} &`,
    ...awsCliCommands({ serverDataDir, endpoint, ...(subnetId !== undefined ? { subnetId } : {}) }),
    `${filesEnv(serverDataDir)} ${mirrorflowCommand()} status --endpoint-url ${endpoint} --profile ${PROFILE}`,
  ]
}
