// SPDX-License-Identifier: Apache-2.0
/**
 * The web console's server side (`/console/`): the page and its bundle, sign-in with an access key,
 * sessions, and the signed pass-through by which the page calls the API with the session's key.
 * @module
 */
export { registerConsole, COOKIE, CSRF_HEADER, CONSOLE_BODY_LIMIT, type ConsoleConfig } from './routes.ts'
export { ConsoleSessions, MAX_SESSIONS, IDLE_MS, MAX_AGE_MS, type ConsoleSession } from './sessions.ts'
export { consoleAssets, indexHtml } from './assets.ts'
