// SPDX-License-Identifier: Apache-2.0
/** Where the third-party test data lives: `../shared` beside the repository (or $MIRRORFLOW_SHARED). */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const REPO_ROOT = resolve(new URL('../..', import.meta.url).pathname)
export const SHARED_DIR = resolve(process.env.MIRRORFLOW_SHARED ?? join(REPO_ROOT, '..', 'shared'))

/** Absolute path of a file under shared/data; throws with a clear message if it is missing. */
export function sharedData(...parts: string[]): string {
  const p = join(SHARED_DIR, 'data', ...parts)
  if (!existsSync(p)) throw new Error(`test data missing: ${p} (set MIRRORFLOW_SHARED)`)
  return p
}
