// SPDX-License-Identifier: Apache-2.0
/** A process's status file: JSON, replaced atomically (write a temporary file, then rename). @module */
import { renameSync, writeFileSync } from 'node:fs'

/**
 * Writes `status` to `path` so that readers never see half a file. Failures (data directory removed,
 * disk full) are counted in `errors` and kept in `lastError`, never thrown: a status file is
 * informational, and the process must keep doing its job.
 */
export class StatusFileWriter {
  readonly path: string
  errors = 0
  lastError = ''

  constructor(path: string) {
    this.path = path
  }

  /** Writes now; returns whether it succeeded. */
  write(status: unknown): boolean {
    const tmp = `${this.path}.tmp`
    try {
      writeFileSync(tmp, JSON.stringify(status, null, 2) + '\n')
      renameSync(tmp, this.path)
      this.lastError = ''
      return true
    } catch (err) {
      this.errors++
      this.lastError = (err as Error).message
      return false
    }
  }
}
