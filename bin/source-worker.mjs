// SPDX-License-Identifier: Apache-2.0
// A worker thread's module from the TypeScript sources, through tsx (development and tests; the
// compiled dist/ starts its own files). The thread runs this file, so it runs the process's --import
// preloads as every file worker does (an eval'd worker would skip them); then it registers tsx (a
// `--import tsx` preload does not make it active in a worker on Node.js 20) and imports the module
// named in workerData.mirrorflowSource.
import { register } from 'tsx/esm/api'
import { workerData } from 'node:worker_threads'

register()
await import(workerData.mirrorflowSource)
