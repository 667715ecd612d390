// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow flowlogs --pcap FILE`: AWS VPC Flow Logs records from a capture file (or `-` for
 * standard input, so `tcpdump -w - | mirrorflow flowlogs --pcap -` is a live pipeline). Records go to
 * standard output as plain text, or to a directory laid out as the flow log's S3 bucket (plain text
 * `.log.gz` or Parquet). A summary goes to stderr; a damaged capture yields every record up to the
 * damage, then an error and exit status 1.
 *
 * `mirrorflow flowlogs --flow-logs PATH…` takes flow-log files instead (text in any format, or Parquet,
 * from AWS or mirrorflow) and writes their records again in `--format`, to stdout or a directory in
 * the S3 layout (text or Parquet): the way to turn AWS's flow logs into another format or into Parquet.
 * @module
 */
import { readFileSync, statSync, writeSync } from 'node:fs'
import type { Command } from 'commander'
import { MAX_TIMESTAMP_SEC, readCapture } from '../packet/index.ts'
import {
  AwsServiceRanges,
  DEFAULT_ACCOUNT_ID,
  FlowAggregator,
  parseLogFormat,
  S3DirectoryDestination,
  TextStreamDestination,
  type FlowLogDestination,
  type TrafficType,
  type FlowLogsWriteError,
} from '../flowlogs/index.ts'
import { hasCode, UsageError } from '../errors.ts'
import { assertReadableInput } from './errors.ts'

interface FlowlogsOptions {
  pcap?: string
  flowLogs?: string[]
  format?: string
  maxAggregationInterval: string
  trafficType: string
  interfaceId: string
  accountId: string
  region: string
  vpcId?: string
  subnetId?: string
  instanceId?: string
  azId?: string
  interfaceAddress?: string[]
  interfaceMac?: string
  awsIpRanges?: string
  decap?: string
  output: string
  fileFormat: string
  hiveCompatiblePartitions?: boolean
  perHourPartition?: boolean
  flowLogId: string
  flowTableSize: string
  nodata?: boolean
  header?: boolean
  includeUnlogged?: boolean
  progress: boolean
  quiet?: boolean
}

/** Files at least this big get a progress bar when stderr is a terminal. */
const PROGRESS_MIN_BYTES = 16 * 1024 * 1024

export function registerFlowlogs(program: Command): void {
  program
    .command('flowlogs')
    .description('turn a capture (pcap/pcapng; "-" = stdin) into AWS VPC Flow Logs records')
    .option('--pcap <file>', 'capture file, or - for standard input')
    .option(
      '--flow-logs <paths...>',
      'instead of a capture: flow-log files or directories (.log.gz, .log, .parquet) to re-render',
    )
    .option('--format <fmt>', 'LogFormat: ${field} ${field} … (default: the 14 version-2 fields)')
    .option('--max-aggregation-interval <s>', 'aggregation interval: 60 or 600 seconds', '600')
    .option('--traffic-type <t>', 'ACCEPT, REJECT or ALL', 'ALL')
    .option('--interface-id <eni>', 'network interface id the capture was taken on', 'eni-00000000000000000')
    .option('--account-id <id>', 'account id', DEFAULT_ACCOUNT_ID)
    .option('--region <r>', 'region', 'us-east-1')
    .option('--vpc-id <id>', 'vpc-id field value')
    .option('--subnet-id <id>', 'subnet-id field value')
    .option('--instance-id <id>', 'instance-id field value')
    .option('--az-id <id>', 'az-id field value')
    .option('--interface-address <ip...>', "the interface's own addresses (first IPv4/IPv6 = primary)")
    .option('--interface-mac <mac>', "the interface's MAC: Ethernet frames from it are egress, to it ingress")
    .option('--aws-ip-ranges <file>', "AWS's ip-ranges.json, for pkt-src-aws-service/pkt-dst-aws-service")
    .option('--decap <kind>', 'decapsulate tunnels: vxlan (inner flows keyed by VNI)')
    .option('--output <dest>', '- (stdout, plain text) or a directory in the S3 layout', '-')
    .option('--file-format <f>', 'plain-text or parquet (directory output)', 'plain-text')
    .option('--hive-compatible-partitions', 'Hive-compatible S3 prefixes')
    .option('--per-hour-partition', 'hourly partitions')
    .option('--flow-log-id <id>', 'flow log id used in object names', 'fl-00000000000000000')
    .option('--flow-table-size <n>', 'most flows per aggregation interval', String(1 << 20))
    .option('--nodata', 'emit NODATA records for idle intervals')
    .option('--header', 'print the header line first (stdout output)')
    .option('--include-unlogged', 'keep traffic AWS never logs (metadata service, Time Sync, DHCP)')
    .option('--no-progress', 'no progress bar')
    .option('--quiet', 'no summary on stderr')
    .action(async (opts: FlowlogsOptions) => {
      await runFlowlogs(opts)
    })
}

async function runFlowlogs(opts: FlowlogsOptions): Promise<void> {
  if ((opts.pcap === undefined) === (opts.flowLogs === undefined)) {
    throw new UsageError('give exactly one of --pcap FILE and --flow-logs PATH…')
  }
  if (opts.flowLogs !== undefined) {
    await runRerender(opts, opts.flowLogs)
    return
  }
  const pcap = opts.pcap!
  const interval = Number(opts.maxAggregationInterval)
  if (interval !== 60 && interval !== 600) {
    throw new UsageError(`--max-aggregation-interval must be 60 or 600, got ${opts.maxAggregationInterval}`)
  }
  const tt = opts.trafficType.toUpperCase()
  if (tt !== 'ACCEPT' && tt !== 'REJECT' && tt !== 'ALL') {
    throw new UsageError(`--traffic-type must be ACCEPT, REJECT or ALL, got ${opts.trafficType}`)
  }
  if (opts.decap !== undefined && opts.decap !== 'vxlan')
    throw new UsageError(`--decap supports only vxlan, got ${opts.decap}`)
  if (opts.fileFormat !== 'plain-text' && opts.fileFormat !== 'parquet') {
    throw new UsageError(`--file-format must be plain-text or parquet, got ${opts.fileFormat}`)
  }
  const toStdout = opts.output === '-'
  if (toStdout && opts.fileFormat === 'parquet')
    throw new UsageError('--file-format parquet needs --output DIR')
  const tableSize = Number(opts.flowTableSize)
  if (!Number.isInteger(tableSize) || tableSize < 1) {
    throw new UsageError(`--flow-table-size must be a positive whole number, got ${opts.flowTableSize}`)
  }
  assertReadableInput(pcap)
  const format = parseLogFormat(opts.format)
  let ranges: AwsServiceRanges | null = null
  if (opts.awsIpRanges !== undefined) {
    let json: unknown
    try {
      json = JSON.parse(readFileSync(opts.awsIpRanges, 'utf8'))
    } catch (err) {
      throw new UsageError(`--aws-ip-ranges: cannot read ${opts.awsIpRanges}: ${(err as Error).message}`)
    }
    ranges = AwsServiceRanges.fromJson(json)
  }

  let dest: FlowLogDestination
  /** The first object that could not be written: the run goes on, then fails with it. */
  let writeFailure: FlowLogsWriteError | null = null
  if (toStdout) {
    // fd 1 written synchronously: no unbounded buffering when stdout is slower than we are.
    dest = new TextStreamDestination(format, 1, { header: opts.header === true })
  } else {
    dest = new S3DirectoryDestination({
      dir: opts.output,
      format,
      accountId: opts.accountId,
      region: opts.region,
      flowLogId: opts.flowLogId,
      fileFormat: opts.fileFormat,
      hiveCompatiblePartitions: opts.hiveCompatiblePartitions === true,
      perHourPartition: opts.perHourPartition === true,
      maxAggregationInterval: interval,
      onWriteError: (e) => (writeFailure ??= e),
    })
  }
  const agg = new FlowAggregator({
    interfaces: [
      {
        interfaceId: opts.interfaceId,
        accountId: opts.accountId,
        region: opts.region,
        vpcId: opts.vpcId,
        subnetId: opts.subnetId,
        instanceId: opts.instanceId,
        azId: opts.azId,
        addresses: opts.interfaceAddress ?? [],
        mac: opts.interfaceMac,
      },
    ],
    maxAggregationInterval: interval,
    trafficType: tt as TrafficType,
    decapVxlan: opts.decap === 'vxlan',
    nodata: opts.nodata === true,
    flowTableSize: tableSize,
    excludeUnlogged: opts.includeUnlogged !== true,
    awsServiceRanges: ranges,
    onRecords: (b) => dest.write(b),
  })

  let size = 0
  if (pcap !== '-') size = statSync(pcap).size
  const bar =
    opts.progress && process.stderr.isTTY === true && size >= PROGRESS_MIN_BYTES ? new Progress(size) : null
  let failure: unknown = null
  const readStats = { clampedTimestamps: 0 }
  try {
    for await (const batch of readCapture(pcap, { stats: readStats })) {
      agg.addBatch(batch, 0)
      if (bar !== null && batch.count > 0) {
        // Captured bytes plus the 16-byte pcap record header: close enough for a progress bar.
        let bytes = 0
        for (let i = 0; i < batch.count; i++) bytes += batch.ends[i]! - batch.starts[i]! + 16
        bar.add(bytes)
      }
      // Directory output: write each 5-minute object as soon as no later record can fall in it.
      if (dest instanceof S3DirectoryDestination) await dest.publishCompleted()
    }
  } catch (err) {
    failure = err
  } finally {
    bar?.done()
  }
  // The reader of our stdout went away (`| head`): stop quietly, as a SIGPIPE'd tool would.
  if (hasCode(failure, 'EPIPE')) return
  // Every record up to the damage is delivered before the error is reported.
  agg.finish()
  await dest.close()
  if (opts.quiet !== true) {
    const s = agg.stats
    process.stderr.write(
      `mirrorflow flowlogs: packets ${s.packets}, flows ${s.flows}, records ${s.records}, ` +
        `skipped ${s.skippedPackets}, malformed ${s.malformedPackets}, non-IP ${s.nonIpPackets}, ` +
        `excluded ${s.excludedPackets}, filtered ${s.filteredPackets}, ` +
        `clamped time stamps ${readStats.clampedTimestamps}\n`,
    )
  }
  if (readStats.clampedTimestamps > 0) {
    // Said even with --quiet: these records carry a time that is not the capture's.
    process.stderr.write(
      `mirrorflow flowlogs: ${readStats.clampedTimestamps} frame(s) had a time stamp out of range, clamped to ${new Date(0).toISOString()} .. ${new Date(MAX_TIMESTAMP_SEC * 1000).toISOString()}\n`,
    )
  }
  if (failure !== null) throw failure
  if (writeFailure !== null && dest instanceof S3DirectoryDestination) {
    const s = dest.stats
    process.stderr.write(
      `mirrorflow flowlogs: ${s.writeErrors} object(s) with ${s.droppedRecords} record(s) could not be written\n`,
    )
    throw writeFailure
  }
}

/** `--flow-logs`: records from flow-log files, re-rendered in `--format` to stdout or a directory. */
async function runRerender(opts: FlowlogsOptions, inputs: string[]): Promise<void> {
  if (opts.fileFormat !== 'plain-text' && opts.fileFormat !== 'parquet') {
    throw new UsageError(`--file-format must be plain-text or parquet, got ${opts.fileFormat}`)
  }
  const toStdout = opts.output === '-'
  if (toStdout && opts.fileFormat === 'parquet')
    throw new UsageError('--file-format parquet needs --output DIR')
  const format = parseLogFormat(opts.format)
  const { rerenderFlowLogs } = await import('../analytics/index.ts')
  const stats = await rerenderFlowLogs({
    inputs,
    format,
    output: toStdout ? { write: (t: string) => writeAllSync(1, t) } : { dir: opts.output },
    fileFormat: opts.fileFormat,
    header: opts.header === true,
    accountId: opts.accountId,
    region: opts.region,
    flowLogId: opts.flowLogId,
    hiveCompatiblePartitions: opts.hiveCompatiblePartitions === true,
    perHourPartition: opts.perHourPartition === true,
    onWarning: (w) => process.stderr.write(`mirrorflow flowlogs: ${w}\n`),
  })
  if (opts.quiet !== true) {
    process.stderr.write(
      `mirrorflow flowlogs: records ${stats.records}` + (toStdout ? '' : `, objects ${stats.objects}`) + '\n',
    )
  }
  if (stats.firstError !== null) {
    process.stderr.write(
      `mirrorflow flowlogs: ${stats.writeErrors} object(s) with ${stats.droppedRecords} record(s) could not be written\n`,
    )
    throw stats.firstError
  }
}

/** Writes all of `text` to a file descriptor, synchronously (no unbounded buffering). */
function writeAllSync(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8')
  let off = 0
  while (off < buf.length) off += writeSync(fd, buf, off)
}

/** A one-line progress bar on stderr, redrawn at most 10 times a second. */
class Progress {
  private seen = 0
  private last = 0
  private readonly total: number
  constructor(total: number) {
    this.total = total
  }
  add(bytes: number): void {
    this.seen += bytes
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    const frac = Math.min(1, this.seen / this.total)
    const width = 30
    const fill = Math.round(frac * width)
    process.stderr.write(
      `\r[${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%`,
    )
  }
  done(): void {
    process.stderr.write('\r' + ' '.repeat(40) + '\r')
  }
}
