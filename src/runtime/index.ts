// SPDX-License-Identifier: Apache-2.0
/**
 * Process services, written once and injected into every long-running command (agent, target):
 * the pino logger and a log of state changes, the `/metrics` + `/status` HTTP server (loopback unless
 * an address is named), the status file, `ADDR:PORT` parsing, and the handlers for faults nobody
 * handled. It knows no domain; any domain may use it.
 * @module
 */
export { ListenAddressError, ListenError } from './errors.ts'
export { DEFAULT_LISTEN_HOST, formatHostPort, parseHostPort, type HostPort } from './host-port.ts'
export { createLogger, StateLog, type Logger, type LoggerOptions } from './logger.ts'
export { EXIT_FAILURE, installFatalHandlers } from './process.ts'
export { StatusFileWriter } from './status-file.ts'
export { StatusServer, type StatusServerOptions } from './status-server.ts'
