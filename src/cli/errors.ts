// SPDX-License-Identifier: Apache-2.0
/** Errors of the command line itself (see docs/errors.md). @module */
import { closeSync, fstatSync, openSync } from 'node:fs'
import { MirrorflowError } from '../errors.ts'

/** An input file named on the command line cannot be read: the command stops before any output. */
export class InputFileError extends MirrorflowError {
  readonly code = 'MF_CLI_INPUT'
  readonly file: string
  constructor(file: string, reason: string) {
    super(`cannot read ${file}: ${reason}`)
    this.file = file
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENAMETOOLONG: 'name too long',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
}

/**
 * Throws {@link InputFileError} unless `file` opens for reading and is not a directory (`-`, standard
 * input, always passes). Commands check every input this way before they print anything.
 */
export function assertReadableInput(file: string): void {
  if (file === '-') return
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    throw new InputFileError(file, REASONS[code] ?? (err as Error).message)
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new InputFileError(file, REASONS.EISDIR!)
  } finally {
    closeSync(fd)
  }
}
