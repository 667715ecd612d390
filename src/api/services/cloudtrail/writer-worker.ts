// SPDX-License-Identifier: Apache-2.0
/**
 * The trail's writer thread (started by the audit recorder when the event store is on disk): it
 * takes batches of raw calls from the API's thread, renders, serializes and stores them on its own
 * connection to `DATA_DIR/cloudtrail.sqlite` (control/cloudtrail/event-log.ts, {@link storeBatch}),
 * answers each batch with what it did (and the records, for trail delivery) and signals its
 * progress in a shared word, so that a synchronous flush on the API's side can wait for it.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import {
  EventStore,
  chunkItems,
  packDelivered,
  storeRecords,
  type BatchResult,
  type StoredRecord,
  type FromWriter,
  type ToWriter,
  type WriterData,
} from '../../../control/index.ts'
import { renderCall } from './call.ts'

const data = workerData as WriterData
const progress = new Int32Array(data.progress)
const store = new EventStore(data.dataDir, { maxEvents: data.maxEvents, maxAgeDays: data.maxAgeDays })
const port = data.port
// From now on the API's thread sends its batches here.
Atomics.store(progress, 2, 1)

// Batches come on the worker's own channel (parentPort); answers go back on `port`.
parentPort!.on('message', (m: ToWriter) => {
  if (m.type === 'close') {
    store.close()
    Atomics.store(progress, 1, 1)
    Atomics.notify(progress, 1)
    parentPort!.close()
    port.close()
    return
  }
  const items = m.items
  let result: BatchResult
  let stored: StoredRecord[] = []
  try {
    for (let i = 0; i < m.chunks.length; i++) chunkItems(m.chunks[i]!, m.used[i]!, items as Uint8Array[])
    ;({ result, stored } = storeRecords(items, renderCall, store, m.wantDelivered))
  } catch (err) {
    result = {
      recorded: 0,
      renderErrors: m.count,
      writeErrors: 0,
      lastError: `chunk: ${(err as Error).message}`,
      delivered: null,
    }
  }
  // The records go back in one buffer, and the chunks to be filled again (both moved, not copied).
  const delivered = m.wantDelivered ? packDelivered(stored) : null
  const { delivered: _, ...counts } = result
  const transfer = delivered === null ? m.chunks : [...m.chunks, delivered.bytes]
  port.postMessage(
    {
      type: 'done',
      id: m.id,
      result: counts,
      delivered,
      chunks: m.chunks,
      evicted: store.evicted,
    } satisfies FromWriter,
    transfer,
  )
  Atomics.store(progress, 0, m.id)
  Atomics.notify(progress, 0)
})
