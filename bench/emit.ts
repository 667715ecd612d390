// SPDX-License-Identifier: Apache-2.0
/**
 * What the benchmarks print: one JSON line per result, stamped with the Node.js version and the
 * commit measured.
 * @module
 */
import { execSync } from 'node:child_process'
import { REPO_ROOT } from '../test/helpers/shared.ts'

let cached: string | undefined

/** The checkout's short commit id ('uncommitted' outside a git checkout). */
export function commit(): string {
  if (cached !== undefined) return cached
  try {
    cached = execSync('git rev-parse --short HEAD', { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
  } catch {
    cached = 'uncommitted'
  }
  return cached
}

/** Prints one result as a JSON line. */
export function emit(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...o, node: process.version, commit: commit() }) + '\n')
}
