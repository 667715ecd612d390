// SPDX-License-Identifier: Apache-2.0
/**
 * The in-memory image of the store: one map per kind (in creation order), every record by id, and
 * the secondary indexes the services register (sessions per interface, rules per filter, …), so
 * that every check and every Describe runs without touching SQLite. Only {@link State.apply}
 * changes it, after the store has committed the same change.
 * @module
 */
import type { Resource, ResourceBase, ResourceKind, ResourceKinds } from './model.ts'

/** A secondary index: key → ids of the records of one kind having that key. */
export class Index<R extends ResourceBase> {
  private readonly map = new Map<string, Set<string>>()
  private readonly keyOf: (r: R) => string | readonly string[] | undefined
  /** `keyOf` gives the record's key, several keys, or none. */
  constructor(keyOf: (r: R) => string | readonly string[] | undefined) {
    this.keyOf = keyOf
  }
  private keys(r: R): readonly string[] {
    const k = this.keyOf(r)
    return k === undefined ? [] : typeof k === 'string' ? [k] : k
  }
  add(r: R): void {
    for (const k of this.keys(r)) {
      let s = this.map.get(k)
      if (s === undefined) this.map.set(k, (s = new Set()))
      s.add(r.id)
    }
  }
  remove(r: R): void {
    for (const k of this.keys(r)) {
      const s = this.map.get(k)
      if (s === undefined) continue
      s.delete(r.id)
      if (s.size === 0) this.map.delete(k)
    }
  }
  /** Ids under `key` (a live view: copy before mutating the state). */
  get(key: string): ReadonlySet<string> {
    return this.map.get(key) ?? EMPTY
  }
  count(key: string): number {
    return this.map.get(key)?.size ?? 0
  }
}
const EMPTY: ReadonlySet<string> = new Set()

/** The whole control-plane state in memory. */
export class State {
  /** Kind → id → record, each in creation order. */
  readonly tables = new Map<string, Map<string, Resource>>()
  /** id → record, every kind. */
  readonly byId = new Map<string, Resource>()
  private readonly indexes = new Map<string, Index<ResourceBase>[]>()

  /** Highest sequence number handed out. */
  seq = 0

  table<K extends ResourceKind>(kind: K): Map<string, ResourceKinds[K]> {
    let t = this.tables.get(kind)
    if (t === undefined) this.tables.set(kind, (t = new Map()))
    return t as Map<string, ResourceKinds[K]>
  }

  get<K extends ResourceKind>(kind: K, id: string): ResourceKinds[K] | undefined {
    return this.table(kind).get(id)
  }

  /** Creates a secondary index over one kind, kept up to date from now on (existing records included). */
  index<K extends ResourceKind>(
    kind: K,
    keyOf: (r: ResourceKinds[K]) => string | readonly string[] | undefined,
  ): Index<ResourceKinds[K]> {
    const idx = new Index<ResourceKinds[K]>(keyOf)
    for (const r of this.table(kind).values()) idx.add(r)
    let list = this.indexes.get(kind)
    if (list === undefined) this.indexes.set(kind, (list = []))
    list.push(idx as unknown as Index<ResourceBase>)
    return idx
  }

  /** Applies a committed change: deletions first, then puts (insert or replace). */
  apply(put: readonly Resource[], del: readonly Resource[]): void {
    for (const r of del) this.remove(r.id)
    for (const r of put) {
      this.remove(r.id)
      this.insert(r)
    }
  }

  private insert(r: Resource): void {
    this.table(r.kind as ResourceKind).set(r.id, r)
    this.byId.set(r.id, r)
    if (r.seq > this.seq) this.seq = r.seq
    for (const idx of this.indexes.get(r.kind) ?? []) idx.add(r)
  }

  private remove(id: string): void {
    const old = this.byId.get(id)
    if (old === undefined) return
    for (const idx of this.indexes.get(old.kind) ?? []) idx.remove(old)
    this.byId.delete(id)
    this.tables.get(old.kind)?.delete(id)
  }
}
