// SPDX-License-Identifier: Apache-2.0
/** Process-wide handlers every long-running command installs. @module */
import type { Logger } from 'pino'

/** Exit status of a process that cannot do its job (not root, lost privileges, a fatal fault). */
export const EXIT_FAILURE = 1

/**
 * Logs an unhandled promise rejection or uncaught exception as `fatal` and ends the process with
 * `EXIT_FAILURE`: a fault nobody handled must neither pass silently nor leave a half-working process.
 * `onFatal` runs first (best-effort clean-up, bounded by the caller). Returns a function that removes
 * the handlers.
 */
export function installFatalHandlers(log: Logger, onFatal: () => void = () => {}): () => void {
  const handler = (kind: string) => (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err))
    log.fatal({ err: e, kind }, 'unhandled fault: exiting')
    try {
      onFatal()
    } finally {
      process.exitCode = EXIT_FAILURE
      process.exit(EXIT_FAILURE)
    }
  }
  const onRejection = handler('unhandledRejection')
  const onException = handler('uncaughtException')
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return () => {
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
  }
}
