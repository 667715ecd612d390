// SPDX-License-Identifier: Apache-2.0
/**
 * The JSON 1.1 protocol (CloudWatch Logs, CloudTrail), generic over the `X-Amz-Target` prefix:
 *
 * ```ts
 * const endpoint = json11Endpoint(cp, {
 *   signingName: 'logs',
 *   targetPrefix: 'Logs_20140328',
 *   invalid: (m) => new ApiError('InvalidParameterException', m),
 *   actions: new Map([['CreateLogGroup', (ctx) => { const name = ctx.input.reqStr('logGroupName', { min: 1, max: 512 }); …; return {} }]]),
 * })
 * ```
 *
 * - `body.ts` — the body: depth-bounded before `JSON.parse`, one object.
 * - `input.ts` — typed reads of members with AWS's validation messages.
 * - `endpoint.ts` — target routing, content type, answers and `{"__type","message"}` errors.
 * @module
 */
export * from './body.ts'
export * from './endpoint.ts'
export * from './input.ts'
