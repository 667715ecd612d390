// SPDX-License-Identifier: Apache-2.0
/**
 * Saved queries, run by name (`mirrorflow query --saved NAME`): mirrorflow's SQL for the VPC
 * console's predefined Athena queries (AWS names them and says what each answers; the SQL here is
 * ours), and the example queries of Athena's "Querying Amazon VPC flow logs" page, as written there.
 * A query may take parameters (`$name` in the SQL, `--param name=value` on the command line).
 * @module
 */
import { AnalyticsArgumentError } from './errors.ts'

export interface SavedQuery {
  readonly name: string
  readonly description: string
  readonly sql: string
  /** Parameters (`$name`) the SQL needs, with what each means. */
  readonly params: Readonly<Record<string, string>>
  /** Where it comes from: the VPC console's Athena integration, or Athena's documentation page. */
  readonly origin: 'vpc-console' | 'athena-docs'
}

/** Administrative ports of `VpcFlowLogsAdminPortTraffic` (SSH, RDP, WinRM, Docker, Kubernetes, web admin). */
export const ADMIN_PORTS = [22, 3389, 5985, 5986, 2375, 2376, 6443, 8080, 8443, 9090, 10000] as const

/** `type`, or the family of `srcaddr` when the log format has no `type` field. */
const FAMILY = `coalesce(nullif(type, '-'), CASE WHEN contains(srcaddr, ':') THEN 'IPv6' WHEN contains(srcaddr, '.') THEN 'IPv4' END)`

const list = (where: string): string =>
  `SELECT day_of_week(date) AS day, date, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, "end", action
FROM vpc_flow_logs
WHERE ${where}
ORDER BY start, interface_id, srcaddr, dstaddr, srcport, dstport
LIMIT 100`

const top = (key: string, alias: string, n: number, where = 'bytes IS NOT NULL'): string =>
  `SELECT ${key} AS ${alias}, SUM(bytes) AS total_bytes, SUM(packets) AS total_packets
FROM vpc_flow_logs
WHERE ${where}
GROUP BY ${key}
ORDER BY total_bytes DESC, ${alias}
LIMIT ${n}`

const present = (col: string): string => `${col} IS NOT NULL AND ${col} <> '-' AND bytes IS NOT NULL`

export const SAVED_QUERIES: readonly SavedQuery[] = [
  {
    name: 'VpcFlowLogsAcceptedTraffic',
    description: 'TCP traffic accepted by security groups and network ACLs (first 100 records by time)',
    sql: list(`action = 'ACCEPT' AND protocol = 6`),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsAdminPortTraffic',
    description: `the 10 source addresses with the most bytes to administrative ports (${ADMIN_PORTS.join(', ')})`,
    sql: top('srcaddr', 'srcaddr', 10, `dstport IN (${ADMIN_PORTS.join(', ')}) AND bytes IS NOT NULL`),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsIPv4Traffic',
    description: 'total bytes of IPv4 traffic (type, or the address family when the format has no type)',
    sql: `SELECT SUM(bytes) AS total_bytes, SUM(packets) AS total_packets FROM vpc_flow_logs WHERE ${FAMILY} = 'IPv4'`,
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsIPv6Traffic',
    description: 'total bytes of IPv6 traffic',
    sql: `SELECT SUM(bytes) AS total_bytes, SUM(packets) AS total_packets FROM vpc_flow_logs WHERE ${FAMILY} = 'IPv6'`,
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsRejectedTCPTraffic',
    description: 'TCP traffic rejected by security groups or network ACLs (first 100 records by time)',
    sql: list(`action = 'REJECT' AND protocol = 6`),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsRejectedTraffic',
    description: 'all rejected traffic (first 100 records by time)',
    sql: list(`action = 'REJECT'`),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsSshRdpTraffic',
    description: 'SSH (22) and RDP (3389) traffic, either direction (first 100 records by time)',
    sql: list(`(srcport IN (22, 3389) OR dstport IN (22, 3389))`),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTopTalkers',
    description: 'the 50 source addresses with the most bytes',
    sql: top('srcaddr', 'srcaddr', 50),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTopTalkersPacketLevel',
    description: 'the 50 packet-level source addresses (pkt_srcaddr) with the most bytes',
    sql: top('pkt_srcaddr', 'pkt_srcaddr', 50, present('pkt_srcaddr')),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTopTalkingInstances',
    description: 'the 50 instances with the most bytes',
    sql: top('instance_id', 'instance_id', 50, present('instance_id')),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTopTalkingSubnets',
    description: 'the 50 subnets with the most bytes',
    sql: top('subnet_id', 'subnet_id', 50, present('subnet_id')),
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTopTCPTraffic',
    description: 'TCP traffic from one source address, per destination and port, most bytes first',
    sql: `SELECT dstaddr, dstport, SUM(bytes) AS total_bytes, SUM(packets) AS total_packets
FROM vpc_flow_logs
WHERE protocol = 6 AND srcaddr = $srcaddr
GROUP BY dstaddr, dstport
ORDER BY total_bytes DESC, dstaddr, dstport
LIMIT 100`,
    params: { srcaddr: 'the source address' },
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTotalBytesTransferred',
    description: 'the 50 (source, destination) address pairs with the most bytes',
    sql: `SELECT srcaddr, dstaddr, SUM(bytes) AS total_bytes, SUM(packets) AS total_packets
FROM vpc_flow_logs
WHERE bytes IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY total_bytes DESC, srcaddr, dstaddr
LIMIT 50`,
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTotalBytesTransferredPacketLevel',
    description: 'the 50 packet-level (pkt_srcaddr, pkt_dstaddr) pairs with the most bytes',
    sql: `SELECT pkt_srcaddr, pkt_dstaddr, SUM(bytes) AS total_bytes, SUM(packets) AS total_packets
FROM vpc_flow_logs
WHERE ${present('pkt_srcaddr')} AND pkt_dstaddr IS NOT NULL AND pkt_dstaddr <> '-'
GROUP BY pkt_srcaddr, pkt_dstaddr
ORDER BY total_bytes DESC, pkt_srcaddr, pkt_dstaddr
LIMIT 50`,
    params: {},
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTrafficFrmSrcAddr',
    description: 'traffic from one source address (first 100 records by time)',
    sql: list('srcaddr = $srcaddr'),
    params: { srcaddr: 'the source address' },
    origin: 'vpc-console',
  },
  {
    name: 'VpcFlowLogsTrafficToDstAddr',
    description: 'traffic to one destination address (first 100 records by time)',
    sql: list('dstaddr = $dstaddr'),
    params: { dstaddr: 'the destination address' },
    origin: 'vpc-console',
  },
  {
    name: 'AthenaRecordsOfDay',
    description: "Athena's example: the records of one day (the date partition)",
    sql: `SELECT *
FROM vpc_flow_logs
WHERE date = DATE($day)
LIMIT 100`,
    params: { day: 'the day, YYYY-MM-DD' },
    origin: 'athena-docs',
  },
  {
    name: 'AthenaRejectedTcpByDay',
    description: "Athena's example: rejected TCP records with the day of the week",
    sql: `SELECT day_of_week(date) AS
  day,
  date,
  interface_id,
  srcaddr,
  action,
  protocol
FROM vpc_flow_logs
WHERE action = 'REJECT' AND protocol = 6
LIMIT 100`,
    params: {},
    origin: 'athena-docs',
  },
  {
    name: 'AthenaTopHttpsServers',
    description:
      "Athena's example: the 10 destinations receiving the most packets on port 443 in the last 7 days",
    sql: `SELECT SUM(packets) AS
  packetcount,
  dstaddr
FROM vpc_flow_logs
WHERE dstport = 443 AND date > current_date - interval '7' day
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10`,
    params: {},
    origin: 'athena-docs',
  },
]

/** The saved query called `name` (case-insensitive), or an `AnalyticsArgumentError` listing the names. */
export function savedQuery(name: string): SavedQuery {
  const q = SAVED_QUERIES.find((s) => s.name.toLowerCase() === name.toLowerCase())
  if (q === undefined) {
    throw new AnalyticsArgumentError(
      `no saved query '${name.slice(0, 100)}' (mirrorflow query --list-saved lists them)`,
    )
  }
  return q
}

/** Checks that `given` has exactly the query's parameters; returns them for binding. */
export function savedQueryParams(
  q: SavedQuery,
  given: Readonly<Record<string, string>>,
): Record<string, string> {
  for (const k of Object.keys(given)) {
    if (!Object.hasOwn(q.params, k)) {
      throw new AnalyticsArgumentError(`saved query ${q.name} has no parameter '${k.slice(0, 64)}'`)
    }
  }
  const out: Record<string, string> = {}
  for (const k of Object.keys(q.params)) {
    const v = given[k]
    if (v === undefined) {
      throw new AnalyticsArgumentError(`saved query ${q.name} needs --param ${k}=… (${q.params[k]})`)
    }
    out[k] = v
  }
  return out
}
