// SPDX-License-Identifier: Apache-2.0
/**
 * The console's sign-in sessions, in memory: a session is made when an access key id and its secret
 * match the key store the API verifies signatures against, and holds only the key's id (the secret
 * is looked up again at every call, so a deleted or deactivated key ends its sessions at once).
 *
 * Each session has a random id (the `HttpOnly`, `SameSite=Strict` cookie's value, 256 bits) and a
 * random CSRF token the page sends back in a header on every call. A session ends after
 * {@link IDLE_MS} without use or {@link MAX_AGE_MS} after sign-in, at sign-out, or when the table is
 * full ({@link MAX_SESSIONS}) and a new sign-in evicts the least recently used one.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'

/** Sessions held at once; a sign-in beyond this evicts the least recently used session. */
export const MAX_SESSIONS = 256
/** A session unused this long ends (ms). */
export const IDLE_MS = 30 * 60_000
/** A session ends this long after sign-in, used or not (ms). */
export const MAX_AGE_MS = 8 * 60 * 60_000

export interface ConsoleSession {
  readonly id: string
  readonly csrfToken: string
  readonly accessKeyId: string
  readonly createdAt: number
  lastUsed: number
}

/** True when `a` and `b` are equal, in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  // Compare equal lengths always (a length mismatch still costs one comparison).
  if (ab.length !== bb.length) {
    timingSafeEqual(bb, bb)
    return false
  }
  return timingSafeEqual(ab, bb)
}

export class ConsoleSessions {
  /** Insertion order = least recently used first (a used session is moved to the end). */
  private readonly map = new Map<string, ConsoleSession>()
  private readonly now: () => number
  readonly max: number
  /** Sessions evicted because the table was full. */
  evicted = 0

  constructor(opts: { max?: number; now?: () => number } = {}) {
    this.max = opts.max ?? MAX_SESSIONS
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.map.size
  }

  /** Makes a session for a verified key, evicting the least recently used one when full. */
  create(accessKeyId: string): ConsoleSession {
    this.sweep()
    while (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value as string
      this.map.delete(oldest)
      this.evicted++
    }
    const t = this.now()
    const s: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      accessKeyId,
      createdAt: t,
      lastUsed: t,
    }
    this.map.set(s.id, s)
    return s
  }

  /** The live session with this id (its use recorded), or undefined (unknown, expired: removed). */
  get(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined || id.length !== 43) return undefined
    const s = this.map.get(id)
    if (s === undefined) return undefined
    const t = this.now()
    if (this.expired(s, t)) {
      this.map.delete(id)
      return undefined
    }
    s.lastUsed = t
    this.map.delete(id)
    this.map.set(id, s)
    return s
  }

  /** When the session ends if unused from now on (ms since the epoch). */
  expiresAt(s: ConsoleSession): number {
    return Math.min(s.lastUsed + IDLE_MS, s.createdAt + MAX_AGE_MS)
  }

  delete(id: string): boolean {
    return this.map.delete(id)
  }

  /** Ends every session of a key (the key was deleted). */
  deleteKey(accessKeyId: string): void {
    for (const [id, s] of this.map) if (s.accessKeyId === accessKeyId) this.map.delete(id)
  }

  private expired(s: ConsoleSession, t: number): boolean {
    return t >= this.expiresAt(s)
  }

  /** Drops expired sessions (from the least recently used end, stopping at the first live one by idle time). */
  private sweep(): void {
    const t = this.now()
    for (const [id, s] of this.map) {
      if (this.expired(s, t)) this.map.delete(id)
      else if (t < s.lastUsed + IDLE_MS && t < s.createdAt + MAX_AGE_MS) break
    }
  }
}
