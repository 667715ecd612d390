// SPDX-License-Identifier: Apache-2.0
/**
 * The ledger: the one place the control plane changes. It owns the in-memory {@link State}, the
 * state version, the commit (store first, then memory, then change listeners), the idempotency of
 * Creates (ClientToken), the table of record kinds that gives every kind its id prefix and its
 * `Malformed`/`NotFound` error codes ({@link Ledger.lookup}), and the deletion hooks through which a
 * higher family says what must go (or what forbids going) with a record of a lower one.
 *
 * Services and their families are built over a ledger; none of them knows another service.
 * @module
 */
import { ApiError, truncate, type AwsErrorCode } from './errors.ts'
import { isIdOf } from './ids.ts'
import type { AccessKey, IdempotencyRecord, Resource, ResourceKind, ResourceKinds } from './model.ts'
import { State } from './state.ts'
import type { ControlStore, StoreSnapshot } from './store.ts'

/** How one kind is named and looked up. */
export interface KindSpec {
  /** The id prefix (`vpc`, `tmf`, …); ids are the prefix, a dash and 8 or 17 hex digits. */
  prefix: string
  /** The code for an id of the wrong shape; without one, such an id is simply not found. */
  malformed?: AwsErrorCode
  notFound: AwsErrorCode
  /** The NotFound message for an id (already truncated). */
  notFoundMessage: (id: string) => string
  /** The service's resource-type name (`vpc`, `vpc-flow-log`…) when the kind takes tags. */
  resourceType?: string
}

/** Idempotency of a Create: the token as sent and a fingerprint of every other parameter. */
export interface Idempotency {
  action: string
  clientToken?: string | undefined
  fingerprint: string
}

/** Called when a record of a kind is deleted: throws to forbid it, or returns records that go with it. */
export type DeleteHook = (r: Resource) => readonly Resource[]

export interface LedgerConfig {
  accountId: string
  region: string
}

export class Ledger {
  readonly accountId: string
  readonly region: string
  readonly state = new State()
  private readonly store: ControlStore
  private readonly tokens = new Map<string, IdempotencyRecord>()
  private readonly listeners = new Set<(version: number) => void>()
  private readonly kinds = new Map<string, KindSpec>()
  private readonly byPrefix = new Map<string, string>()
  private readonly deleteHooks = new Map<string, DeleteHook[]>()
  private pendingToken: IdempotencyRecord | undefined
  private _version = 0

  /** Opens nothing yet: the services register their kinds and indexes, then {@link load} runs. */
  constructor(store: ControlStore, config: LedgerConfig) {
    this.store = store
    this.accountId = config.accountId
    this.region = config.region
  }

  /** Loads the store into memory; returns the snapshot for the services that keep more (access keys). */
  load(): StoreSnapshot {
    const snap = this.store.load()
    this.state.apply(snap.resources, [])
    for (const t of snap.idempotency) this.tokens.set(t.key, t)
    this._version = snap.version
    return snap
  }

  /** The state version: increases by one with every committed mutation. */
  get version(): number {
    return this._version
  }

  /** Calls `fn` after every committed mutation, with the new version. Returns an unsubscribe. */
  onChange(fn: (version: number) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  close(): void {
    this.store.close()
  }

  nextSeq(): number {
    return ++this.state.seq
  }

  now(): string {
    return new Date().toISOString()
  }

  /** Writes one change (store first, in one transaction), then applies it in memory and notifies. */
  commit(put: Resource[], del: Resource[] = [], accessKey?: AccessKey, deleteAccessKeyId?: string): void {
    const version = this._version + 1
    const idem = this.pendingToken
    this.pendingToken = undefined
    this.store.commit({
      put,
      delete: del,
      version,
      ...(idem === undefined ? {} : { idempotency: idem }),
      ...(accessKey === undefined ? {} : { accessKey }),
      ...(deleteAccessKeyId === undefined ? {} : { deleteAccessKeyId }),
    })
    this._version = version
    this.state.apply(put, del)
    if (idem !== undefined) this.tokens.set(idem.key, idem)
    for (const fn of this.listeners) fn(version)
  }

  /**
   * Runs a Create once per client token: a repeat with the same token and parameters returns
   * the first result; the same token with other parameters is `IdempotentParameterMismatch`.
   * `create` must commit exactly once (the token is written in the same transaction).
   */
  idempotent<T>(idem: Idempotency | undefined, create: () => T): T {
    if (idem?.clientToken === undefined) return create()
    const token = idem.clientToken
    if (token.length > 64 || !/^[\x20-\x7e]*$/.test(token)) {
      throw new ApiError(
        'InvalidParameterValue',
        'The client token must be 64 or fewer printable ASCII characters.',
      )
    }
    const key = `${idem.action}:${token}`
    const seen = this.tokens.get(key)
    if (seen !== undefined) {
      if (seen.fingerprint !== idem.fingerprint) {
        throw new ApiError(
          'IdempotentParameterMismatch',
          `The client token '${token}' was already used with different parameters.`,
        )
      }
      return seen.result as T
    }
    // `create` fills the result in with `remember`; `commit` writes it with the resource.
    this.pendingToken = { key, fingerprint: idem.fingerprint, result: undefined, createdAt: Date.now() }
    try {
      return create()
    } finally {
      this.pendingToken = undefined
    }
  }

  /** Sets the result that an idempotent create's commit stores with its token. */
  remember(result: unknown): void {
    if (this.pendingToken !== undefined) this.pendingToken.result = structuredClone(result)
  }

  // ------------------------------------------------------------------ kinds and lookup

  /** Declares a kind: its id prefix and error codes. */
  defineKind(kind: ResourceKind, spec: KindSpec): void {
    this.kinds.set(kind, spec)
    this.byPrefix.set(spec.prefix, kind)
  }

  /** The record, or the kind's `Malformed` / `NotFound` error. */
  lookup<K extends ResourceKind>(kind: K, id: string): ResourceKinds[K] {
    const spec = this.kinds.get(kind)
    if (spec === undefined) throw new Error(`kind ${kind} is not defined`)
    if (!isIdOf(spec.prefix, id)) {
      if (spec.malformed !== undefined) throw new ApiError(spec.malformed, `Invalid id: "${truncate(id)}"`)
      throw new ApiError(spec.notFound, spec.notFoundMessage(truncate(id)))
    }
    const r = this.state.get(kind, id)
    if (r === undefined) throw new ApiError(spec.notFound, spec.notFoundMessage(id))
    return r
  }

  /** The kind an id names, by its prefix and shape, with its spec; undefined when none does. */
  kindOfId(id: string): { kind: ResourceKind; spec: KindSpec } | undefined {
    const dash = id.lastIndexOf('-')
    if (dash <= 0) return undefined
    const kind = this.byPrefix.get(id.slice(0, dash))
    if (kind === undefined || !isIdOf(id.slice(0, dash), id)) return undefined
    return { kind: kind as ResourceKind, spec: this.kinds.get(kind)! }
  }

  /** The resource-type name of a kind (tags), if the kind takes tags. */
  resourceTypeOf(kind: string): string | undefined {
    return this.kinds.get(kind)?.resourceType
  }

  // ------------------------------------------------------------------ deletion hooks

  /** Registers what happens to records of a higher family when a record of `kind` is deleted. */
  onDelete(kind: ResourceKind, hook: DeleteHook): void {
    let list = this.deleteHooks.get(kind)
    if (list === undefined) this.deleteHooks.set(kind, (list = []))
    list.push(hook)
  }

  /** The records that go with `r` (hooks run in registration order; any may refuse by throwing). */
  dependents(r: Resource): Resource[] {
    const out: Resource[] = []
    for (const hook of this.deleteHooks.get(r.kind) ?? []) out.push(...hook(r))
    return out
  }
}
