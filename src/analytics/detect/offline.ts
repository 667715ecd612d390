// SPDX-License-Identifier: Apache-2.0
/**
 * Offline detection: flow-log files, or captures turned into flow-log records by the flow-log engine
 * (60-second aggregation, as the lab's agents use), through one {@link DetectionEngine}.
 * @module
 */
import { DEFAULT_ACCOUNT_ID, FlowAggregator } from '../../flowlogs/index.ts'
import { readCapture } from '../../packet/index.ts'
import { DetectionEngine, type DetectionEngineOptions, type DetectRecord } from './engine.ts'
import {
  batchRecords,
  flowLogFileKind,
  flowLogFiles,
  readFlowLogFile,
  readParquetFlowLogs,
  type ReadStats,
} from './reader.ts'

/** Detector id of offline runs (no server): 32 zeros. */
export const OFFLINE_DETECTOR_ID = '0'.repeat(32)

export type OfflineOptions = Omit<DetectionEngineOptions, 'detectorId' | 'accountId' | 'region'> &
  Partial<Pick<DetectionEngineOptions, 'detectorId' | 'accountId' | 'region'>>

function engine(opts: OfflineOptions): DetectionEngine {
  return new DetectionEngine({
    detectorId: OFFLINE_DETECTOR_ID,
    accountId: DEFAULT_ACCOUNT_ID,
    region: 'us-east-1',
    ...opts,
  })
}

/**
 * Runs detection over flow-log files and directories (text and Parquet), in name order: a run of
 * consecutive Parquet files is read in one query.
 */
export async function detectFlowLogs(
  paths: readonly string[],
  opts: OfflineOptions = {},
): Promise<{ engine: DetectionEngine; read: ReadStats }> {
  const e = engine(opts)
  const add = (r: DetectRecord): void => e.add(r)
  const read: ReadStats = { files: 0, lines: 0, records: 0, skippedStatus: 0, malformed: 0 }
  let parquet: string[] = []
  for (const f of await flowLogFiles(paths)) {
    if ((await flowLogFileKind(f)) === 'parquet') {
      parquet.push(f)
      continue
    }
    if (parquet.length > 0) await readParquetFlowLogs(parquet, add, read)
    parquet = []
    await readFlowLogFile(f, add, read)
  }
  if (parquet.length > 0) await readParquetFlowLogs(parquet, add, read)
  return { engine: e, read }
}

/** What a capture's interface is (for the flow-log engine's direction and the findings' resource). */
export interface CaptureInterface {
  interfaceId?: string
  instanceId?: string
  /** The interface's own addresses: they decide ingress/egress. Without them, every private address is an instance. */
  addresses?: string[]
}

/** Runs detection over captures: each file's packets become flow-log records, then findings. */
export async function detectCaptures(
  files: readonly string[],
  iface: CaptureInterface = {},
  opts: OfflineOptions = {},
): Promise<{ engine: DetectionEngine; packets: number; records: number }> {
  const e = engine(opts)
  let packets = 0
  let records = 0
  for (const file of files) {
    const agg = new FlowAggregator({
      interfaces: [
        {
          interfaceId: iface.interfaceId ?? 'eni-00000000000000000',
          accountId: opts.accountId ?? DEFAULT_ACCOUNT_ID,
          instanceId: iface.instanceId,
          addresses: iface.addresses ?? [],
        },
      ],
      maxAggregationInterval: 60,
      onRecords: (b) => {
        records += b.count
        batchRecords(b, (r) => e.add(r))
      },
    })
    for await (const batch of readCapture(file)) agg.addBatch(batch, 0)
    agg.finish()
    packets += agg.stats.packets
  }
  return { engine: e, packets, records }
}
