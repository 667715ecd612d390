// SPDX-License-Identifier: Apache-2.0
/**
 * The base of every error mirrorflow throws on purpose. `code` is stable, listed in
 * docs/errors.md (a test keeps the two in step) and never reused.
 * @module
 */
export abstract class MirrorflowError extends Error {
  abstract readonly code: `MF_${string}`
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Tests an error by its code, not by instanceof: two copies of a module give two classes. */
export function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}

/** A command-line usage error: bad flags or arguments. The CLI prints it and exits with status 2. */
export class UsageError extends MirrorflowError {
  readonly code = 'MF_USAGE'
}
