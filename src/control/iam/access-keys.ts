// SPDX-License-Identifier: Apache-2.0
/**
 * Access keys: the SigV4 credentials the server accepts, made by the admin API
 * (MirrorflowCreateAccessKey) and kept in the store with every other change. This is mirrorflow's
 * own stand-in until IAM users, roles and policies arrive here, in `iam/`.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { ApiError } from '../core/errors.ts'
import type { Ledger } from '../core/ledger.ts'
import type { AccessKey, AccessKeyRole } from '../core/model.ts'
import './errors.ts'

/** Access keys the server keeps at most (admin-made; IAM's own default is 2 per user). */
export const ACCESS_KEYS_MAX = 1000

export class AccessKeys {
  private readonly l: Ledger
  private readonly keys = new Map<string, AccessKey>()

  constructor(l: Ledger) {
    this.l = l
  }

  /** Takes the keys of the store's snapshot (at start). */
  load(keys: readonly AccessKey[]): void {
    for (const k of keys) this.keys.set(k.accessKeyId, k)
  }

  /** The secret of an access key id, if the key exists. */
  secretOf(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId)?.secretAccessKey
  }

  /** The key, if it exists. */
  get(accessKeyId: string): AccessKey | undefined {
    return this.keys.get(accessKeyId)
  }

  list(): AccessKey[] {
    return [...this.keys.values()]
  }

  /** A key's role (stores written before roles: `admin` decides between admin and user). */
  roleOf(key: AccessKey): AccessKeyRole {
    return key.role ?? (key.admin ? 'admin' : 'user')
  }

  /**
   * Creates an access key (AKIA + 16 characters; a 40-character secret): an admin key, a user key,
   * or an agent key — bound to `instanceId` now, or to the instance its first registration makes.
   */
  create(role: AccessKeyRole, description: string, instanceId?: string): AccessKey {
    if (this.keys.size >= ACCESS_KEYS_MAX) {
      throw new ApiError('LimitExceeded', `Cannot exceed quota for AccessKeys: ${ACCESS_KEYS_MAX}.`)
    }
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
    const b = randomBytes(16)
    let id = 'AKIA'
    for (let i = 0; i < 16; i++) id += alphabet[b[i]! & 31]
    const key: AccessKey = {
      accessKeyId: id,
      secretAccessKey: randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B'),
      createdAt: this.l.now(),
      admin: role === 'admin',
      role,
      description,
    }
    if (role === 'agent' && instanceId !== undefined) key.instanceId = instanceId
    this.save(key)
    return key
  }

  /** Binds an unbound agent key to its instance (its first registration). */
  bind(accessKeyId: string, instanceId: string): AccessKey {
    const key = this.keys.get(accessKeyId)
    if (key === undefined || this.roleOf(key) !== 'agent' || key.instanceId !== undefined) {
      throw new Error(`access key ${accessKeyId} is not an unbound agent key`)
    }
    const bound: AccessKey = { ...key, instanceId }
    this.save(bound)
    return bound
  }

  /** Writes a new or changed key (its own change, with a new state version). */
  private save(key: AccessKey): void {
    this.l.commit([], [], key)
    this.keys.set(key.accessKeyId, key)
  }
}
