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
  storeBatch,
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
  const result = storeBatch(m.items, renderCall, store, m.wantDelivered)
  port.postMessage({ type: 'done', id: m.id, result, evicted: store.evicted } satisfies FromWriter)
  Atomics.store(progress, 0, m.id)
  Atomics.notify(progress, 0)
})
