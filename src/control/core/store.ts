// SPDX-License-Identifier: Apache-2.0
/**
 * The control-plane store: a small repository interface ({@link ControlStore}) and its SQLite
 * implementation. Resources are JSON documents keyed by id with a creation sequence number;
 * every mutation of the control plane is one {@link ChangeSet}, written in one transaction
 * together with the new state version. A PostgreSQL store implements the same four methods.
 *
 * SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives a crash of
 * the process (kill -9); only a power loss may drop the last transactions, never corrupt the file.
 * @module
 */
import Database from 'better-sqlite3'
import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { StoreError } from './errors.ts'
import type { AccessKey, IdempotencyRecord, Resource } from './model.ts'

/** Everything one mutation writes. Applied atomically, or not at all. */
export interface ChangeSet {
  put: Resource[]
  delete: Resource[]
  idempotency?: IdempotencyRecord
  accessKey?: AccessKey
  /** An access key to remove (IAM DeleteAccessKey, DeleteUser). */
  deleteAccessKeyId?: string
  /** The state version after this change (the caller increments it). */
  version: number
}

/** What the store holds, loaded once at start. */
export interface StoreSnapshot {
  resources: Resource[]
  idempotency: IdempotencyRecord[]
  accessKeys: AccessKey[]
  version: number
}

/** The repository interface the control plane needs. */
export interface ControlStore {
  load(): StoreSnapshot
  commit(change: ChangeSet): void
  close(): void
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS resources (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_seq ON resources(seq);
CREATE INDEX IF NOT EXISTS resources_kind ON resources(kind, seq);
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY,
  secret_access_key TEXT NOT NULL,
  created_at TEXT NOT NULL,
  admin INTEGER NOT NULL,
  description TEXT NOT NULL,
  role TEXT,
  instance_id TEXT
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`

/** How long a ClientToken is remembered across restarts: 7 days. */
export const TOKEN_TTL_MS = 7 * 24 * 3600 * 1000

/** The SQLite store: `DIR/control.sqlite`. */
export class SqliteStore implements ControlStore {
  readonly path: string
  private readonly db: Database.Database
  private readonly putStmt: Database.Statement
  private readonly deleteStmt: Database.Statement
  private readonly tokenStmt: Database.Statement
  private readonly keyStmt: Database.Statement
  private readonly keyDeleteStmt: Database.Statement
  private readonly versionStmt: Database.Statement
  private readonly commitTx: (c: ChangeSet) => void

  constructor(dataDir: string) {
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      this.path = join(dataDir, 'control.sqlite')
      this.db = new Database(this.path)
      // It holds the secret access keys: owner only (SQLite gives -wal/-shm the same mode).
      chmodSync(this.path, 0o600)
      this.db.pragma('journal_mode = WAL')
      this.db.pragma('synchronous = NORMAL')
      this.db.pragma('busy_timeout = 5000')
      this.db.exec(SCHEMA)
      // Stores made before key roles existed: add the columns (NULL = decided by `admin`).
      const cols = new Set(
        (this.db.prepare('PRAGMA table_info(access_keys)').all() as { name: string }[]).map((c) => c.name),
      )
      if (!cols.has('role')) this.db.exec('ALTER TABLE access_keys ADD COLUMN role TEXT')
      if (!cols.has('instance_id')) this.db.exec('ALTER TABLE access_keys ADD COLUMN instance_id TEXT')
      // Stores made before IAM users: the key's user (NULL = given one at start) and status.
      if (!cols.has('user_name')) this.db.exec('ALTER TABLE access_keys ADD COLUMN user_name TEXT')
      if (!cols.has('status')) this.db.exec('ALTER TABLE access_keys ADD COLUMN status TEXT')
    } catch (err) {
      throw new StoreError(`cannot open the control-plane store in ${dataDir}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    this.putStmt = this.db.prepare(
      'INSERT INTO resources (id, kind, seq, data) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data',
    )
    this.deleteStmt = this.db.prepare('DELETE FROM resources WHERE id = ?')
    this.tokenStmt = this.db.prepare(
      'INSERT OR REPLACE INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)',
    )
    this.keyStmt = this.db.prepare(
      'INSERT OR REPLACE INTO access_keys (access_key_id, secret_access_key, created_at, admin, description, role, instance_id, user_name, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.keyDeleteStmt = this.db.prepare('DELETE FROM access_keys WHERE access_key_id = ?')
    this.versionStmt = this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)")
    this.commitTx = this.db.transaction((c: ChangeSet) => {
      for (const r of c.delete) this.deleteStmt.run(r.id)
      for (const r of c.put) this.putStmt.run(r.id, r.kind, r.seq, JSON.stringify(r))
      if (c.idempotency !== undefined) {
        const i = c.idempotency
        this.tokenStmt.run(i.key, i.fingerprint, JSON.stringify(i.result), i.createdAt)
      }
      if (c.accessKey !== undefined) {
        const k = c.accessKey
        this.keyStmt.run(
          k.accessKeyId,
          k.secretAccessKey,
          k.createdAt,
          k.admin ? 1 : 0,
          k.description,
          k.role ?? null,
          k.instanceId ?? null,
          k.userName ?? null,
          k.status ?? null,
        )
      }
      if (c.deleteAccessKeyId !== undefined) this.keyDeleteStmt.run(c.deleteAccessKeyId)
      this.versionStmt.run(String(c.version))
    })
  }

  load(): StoreSnapshot {
    const resources = (
      this.db.prepare('SELECT data FROM resources ORDER BY seq').all() as { data: string }[]
    ).map((r) => JSON.parse(r.data) as Resource)
    // Client tokens are honoured for TOKEN_TTL_MS (AWS: "at least 24 hours"); older ones are dropped.
    this.db.prepare('DELETE FROM idempotency WHERE created_at < ?').run(Date.now() - TOKEN_TTL_MS)
    const idempotency = (
      this.db.prepare('SELECT key, fingerprint, result, created_at FROM idempotency').all() as {
        key: string
        fingerprint: string
        result: string
        created_at: number
      }[]
    ).map((r) => ({
      key: r.key,
      fingerprint: r.fingerprint,
      result: JSON.parse(r.result) as unknown,
      createdAt: r.created_at,
    }))
    const accessKeys = (
      this.db.prepare('SELECT * FROM access_keys ORDER BY created_at').all() as {
        access_key_id: string
        secret_access_key: string
        created_at: string
        admin: number
        description: string
        role: string | null
        instance_id: string | null
        user_name: string | null
        status: string | null
      }[]
    ).map((r) => {
      const k: AccessKey = {
        accessKeyId: r.access_key_id,
        secretAccessKey: r.secret_access_key,
        createdAt: r.created_at,
        admin: r.admin === 1,
        description: r.description,
      }
      if (r.role === 'admin' || r.role === 'user' || r.role === 'agent') k.role = r.role
      if (r.instance_id !== null) k.instanceId = r.instance_id
      if (r.user_name !== null) k.userName = r.user_name
      if (r.status === 'Active' || r.status === 'Inactive') k.status = r.status
      return k
    })
    const v = this.db.prepare("SELECT value FROM meta WHERE key = 'version'").get() as
      { value: string } | undefined
    return { resources, idempotency, accessKeys, version: v === undefined ? 0 : Number(v.value) }
  }

  commit(change: ChangeSet): void {
    try {
      this.commitTx(change)
    } catch (err) {
      throw new StoreError(`control-plane store write failed: ${(err as Error).message}`, { cause: err })
    }
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}
