// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 Query protocol's action context and handler types: what an action of a service spoken
 * in this protocol receives (typed parameters, `ready()`, the idempotency key) and answers (an XML
 * body in the EC2 namespace, or — mirrorflow's own actions — JSON).
 * @module
 */
import type { ControlPlane, Idempotency } from '../../../control/index.ts'
import type { Params } from './params.ts'

/** What a handler gets. */
export interface QueryContext {
  cp: ControlPlane
  p: Params
  action: string
  /** The access key that signed the request. */
  accessKeyId: string
  /** Rejects unread parameters, then answers `DryRunOperation` when DryRun=true. */
  ready(): void
  /** The idempotency key of a Create (ClientToken + fingerprint of the other parameters). */
  idem(): Idempotency
  /** Aborted when the client goes away (long polls). */
  signal: AbortSignal
}

/** An action's answer: the inner XML of `<ActionResponse>`, or a JSON object. */
export type QueryAnswer = { xml: string } | { json: object }

export type QueryHandler = (ctx: QueryContext) => QueryAnswer | Promise<QueryAnswer>
