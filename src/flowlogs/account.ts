// SPDX-License-Identifier: Apache-2.0
/**
 * The account id every part of mirrorflow uses when none is configured: the server's resources,
 * the target's and the offline command's flow-log records and their `AWSLogs/<account>/…` paths, and
 * the agent's records. One value, so that flow logs of one installation land under one path.
 * @module
 */

/** The default 12-digit account id (the one AWS's documentation examples use). */
export const DEFAULT_ACCOUNT_ID = '123456789012'
