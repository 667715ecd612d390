// SPDX-License-Identifier: Apache-2.0
/**
 * Whether each instance's agent is alive, for DescribeInstances: an instance is `running` while its
 * agent has been heard from within the timeout (a registration, or a desired-state poll — one in
 * flight counts as heard from now), and `stopped` once it has not: the host is down, the agent
 * stopped, or it cannot reach the server. Kept in memory only (a heartbeat is no state change: it
 * is never written to the store and wakes no agent); after a server start every instance gets the
 * timeout's grace before it can show as stopped.
 * @module
 */
import type { Ledger } from '../../core/ledger.ts'

/** Default time without news from an agent after which its instance shows as stopped: 60 s. */
export const DEFAULT_AGENT_TIMEOUT_MS = 60_000

/** An instance state as EC2 names and numbers it. */
export interface InstanceState {
  name: 'running' | 'stopped'
  code: 16 | 80
  /** When the agent was last heard from (ms since the epoch), if since this server started. */
  lastSeen?: number
  /** EC2's `StateTransitionReason`: empty while running. */
  reason: string
}

export class AgentPresence {
  /** Milliseconds without news after which an instance is stopped. */
  readonly timeoutMs: number
  private readonly started: number
  private readonly now: () => number
  private readonly lastSeen = new Map<string, number>()
  private readonly polling = new Map<string, number>()
  private readonly l: Ledger

  constructor(l: Ledger, timeoutMs = DEFAULT_AGENT_TIMEOUT_MS, now: () => number = Date.now) {
    this.l = l
    this.timeoutMs = timeoutMs
    this.now = now
    this.started = now()
    // A deregistered instance is forgotten (the maps hold only instances that exist).
    l.onDelete('instance', (r) => {
      this.lastSeen.delete(r.id)
      this.polling.delete(r.id)
      return []
    })
  }

  /** The agent of this (existing) instance was heard from now. */
  seen(instanceId: string): void {
    if (this.l.state.get('instance', instanceId) !== undefined) this.lastSeen.set(instanceId, this.now())
  }

  /** A desired-state poll of this instance is waiting; call the returned function when it ends. */
  polls(instanceId: string): () => void {
    this.seen(instanceId)
    this.polling.set(instanceId, (this.polling.get(instanceId) ?? 0) + 1)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.seen(instanceId)
      const n = (this.polling.get(instanceId) ?? 1) - 1
      if (n <= 0) this.polling.delete(instanceId)
      else this.polling.set(instanceId, n)
    }
  }

  /** The instance's state now. */
  state(instanceId: string): InstanceState {
    const last = this.lastSeen.get(instanceId)
    const t = this.now()
    if ((this.polling.get(instanceId) ?? 0) > 0) return { name: 'running', code: 16, lastSeen: t, reason: '' }
    const since = last ?? this.started
    if (t - since <= this.timeoutMs) {
      return last === undefined
        ? { name: 'running', code: 16, reason: '' }
        : { name: 'running', code: 16, lastSeen: last, reason: '' }
    }
    const seconds = this.timeoutMs / 1000
    const reason =
      last === undefined
        ? `Agent not seen since the server started (${new Date(since).toISOString()}), more than ${seconds} s`
        : `Agent not seen since ${new Date(last).toISOString()}, more than ${seconds} s`
    return last === undefined
      ? { name: 'stopped', code: 80, reason }
      : { name: 'stopped', code: 80, lastSeen: last, reason }
  }
}
