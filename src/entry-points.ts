// SPDX-License-Identifier: Apache-2.0
/**
 * The programs mirrorflow starts as separate Node.js processes, and how to start each of them.
 *
 * Installed, mirrorflow runs compiled JavaScript from `dist/` (made by `scripts/build.mjs`): each
 * program is a file there, run with plain `node`. In development and in the tests, the TypeScript
 * sources run through tsx (`node --import tsx FILE.ts`) — tsx is a development dependency only and
 * is never loaded by the build. The build defines `MIRRORFLOW_BUILD`; its absence means sources.
 * @module
 */
import { fileURLToPath } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'

/** Replaced by the build with its version string; undeclared when the sources run through tsx. */
declare const MIRRORFLOW_BUILD: string | undefined

/** True when this code runs from the compiled `dist/`, false when it runs from the sources. */
export const BUILT: boolean = typeof MIRRORFLOW_BUILD === 'string'

/**
 * The programs: the command line, the user-space mirror worker, the lab's traffic generator; and the
 * trail's writer, a worker thread of the API server.
 */
export type EntryPoint = 'cli' | 'mirror-worker' | 'lab-traffic' | 'trail-writer'

/** Each program's file in `dist/` (the build's entry point names, see scripts/build.mjs). */
export const DIST_FILES: Record<EntryPoint, string> = {
  cli: 'mirrorflow.mjs',
  'mirror-worker': 'mirror-worker.mjs',
  'lab-traffic': 'lab-traffic.mjs',
  'trail-writer': 'trail-writer.mjs',
}

/** Each program's source, relative to this file (the CLI's: its launcher, which registers tsx itself). */
export const SOURCE_FILES: Record<EntryPoint, string> = {
  cli: '../bin/mirrorflow.mjs',
  'mirror-worker': './mirror/datapath/userspace-worker.ts',
  'lab-traffic': './lab/traffic-main.ts',
  'trail-writer': './api/services/cloudtrail/writer-worker.ts',
}

/**
 * The argv (`[node, …args]`) that runs `entry`: the compiled file beside this bundle when built,
 * else the source through tsx. Arguments for the program itself go after it.
 */
export function nodeArgv(entry: EntryPoint): string[] {
  if (BUILT) return [process.execPath, fileURLToPath(new URL(`./${DIST_FILES[entry]}`, import.meta.url))]
  if (entry === 'cli') return [process.execPath, fileURLToPath(new URL(SOURCE_FILES.cli, import.meta.url))]
  return [
    process.execPath,
    '--import',
    import.meta.resolve('tsx'),
    fileURLToPath(new URL(SOURCE_FILES[entry], import.meta.url)),
  ]
}

/**
 * Starts `entry` as a worker thread of this process: the compiled file when built, else the source
 * through bin/source-worker.mjs (tsx registered in the thread first). From the sources, `workerData`
 * must be an object: it gains the member `mirrorflowSource`.
 */
export function startWorker(entry: EntryPoint, opts: WorkerOptions): Worker {
  if (BUILT) return new Worker(new URL(`./${DIST_FILES[entry]}`, import.meta.url), opts)
  // A file worker, not an eval'd one: only a file worker runs the process's --import preloads.
  const source = new URL(SOURCE_FILES[entry], import.meta.url).href
  const data: unknown = opts.workerData ?? {}
  if (typeof data !== 'object' || data === null)
    throw new TypeError('a source worker takes an object as workerData')
  return new Worker(new URL('../bin/source-worker.mjs', import.meta.url), {
    ...opts,
    workerData: { ...data, mirrorflowSource: source },
  })
}

/** `s` as one shell word: unchanged when it is plainly safe, else in single quotes. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** A shell command line that runs the mirrorflow CLI this process runs from (compiled or sources). */
export function mirrorflowCommand(): string {
  return nodeArgv('cli').map(shellQuote).join(' ')
}
