// SPDX-License-Identifier: Apache-2.0
/**
 * What every stored record has in common, and the open registry of record kinds. Every record has a
 * `kind`, an `id`, a creation sequence number `seq` (stable listing order and pagination) and
 * `tags`. Records are plain JSON: the store keeps them as documents, so a new field needs no
 * migration. Each service declares its kinds by augmenting {@link ResourceKinds} (see
 * `ec2/model.ts`); the core never names them.
 * @module
 */

/** A tag (the same shape in every service that has them). */
export interface Tag {
  key: string
  value: string
}

/** The fields every record has. */
export interface ResourceBase {
  kind: string
  id: string
  seq: number
  tags: Tag[]
}

/**
 * Kind name → record type, for every kind of every service. Services add theirs with
 * `declare module '…/core/model.ts' { interface ResourceKinds { vpc: Vpc } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- an open registry, extended per service
export interface ResourceKinds {}

export type ResourceKind = keyof ResourceKinds & string

/** Any stored record. */
export type Resource = ResourceKinds[ResourceKind]

/** Who a key belongs to: an administrator, a user, or one host's agent. */
export type AccessKeyRole = 'admin' | 'user' | 'agent'

/** A SigV4 access key. */
export interface AccessKey {
  accessKeyId: string
  secretAccessKey: string
  createdAt: string
  /** True for admin keys (kept for stores written before `role` existed). */
  admin: boolean
  /** Absent in stores written before roles: then `admin` decides between admin and user. */
  role?: AccessKeyRole
  /** An agent key's instance, once bound (at creation, or by its first registration). */
  instanceId?: string
  description: string
  /** The IAM user the key belongs to (absent only in stores written before IAM users). */
  userName?: string
  /** IAM's key status; absent means Active. An inactive key signs nothing. */
  status?: 'Active' | 'Inactive'
}

/** A remembered idempotent Create: same token and fingerprint → same stored result. */
export interface IdempotencyRecord {
  key: string
  fingerprint: string
  result: unknown
  /** When the token was first used (ms since the epoch). */
  createdAt: number
}
