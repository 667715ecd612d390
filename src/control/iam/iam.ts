// SPDX-License-Identifier: Apache-2.0
/**
 * IAM in the control plane: users, groups, roles, customer managed policies (with versions),
 * attached and inline policies, access keys, and STS's temporary credentials — with IAM's names,
 * ARNs, quotas and error codes. Keys made by `mirrorflow admin` (MirrorflowCreateAccessKey) are keys
 * of IAM users too: each gets a user of its own with the built-in policy of its role; a store
 * written before IAM users gets those users at start, so every key keeps working.
 *
 * What a principal may do is decided in the api layer (`api/auth/`), from {@link Iam.principalOf}.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import {
  appendFileSync,
  chmodSync,
  closeSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { ApiError, truncate } from '../core/errors.ts'
import type { Ledger } from '../core/ledger.ts'
import type { AccessKey, AccessKeyRole, Tag } from '../core/model.ts'
import './errors.ts'
import {
  ADMINISTRATOR_ACCESS,
  AGENT_ACCESS,
  BUILTIN_BY_ARN,
  BUILTIN_POLICIES,
  USER_ACCESS,
  type BuiltinPolicy,
} from './managed.ts'
import type { Attachments, IamGroup, IamPolicy, IamRole, IamUser } from './model.ts'
import { parsePolicy, POLICY_SIZE, type PolicyDocument } from './policy-document.ts'

/** Access keys the server keeps at most (IAM's own default is 2 per user). */
export const ACCESS_KEYS_MAX = 1000
/** IAM's quotas that apply here. */
export const IAM_QUOTAS = {
  users: 5000,
  groups: 300,
  roles: 1000,
  policies: 1500,
  keysPerUser: 2,
  groupsPerUser: 10,
  attachedPerEntity: 10,
  versionsPerPolicy: 5,
  tagsPerUser: 50,
} as const
/** Temporary credentials kept at most; the oldest are dropped first beyond it. */
export const SESSIONS_MAX = 10_000

/** STS temporary credentials (AssumeRole). */
export interface TemporaryCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  /** Expiry, ms since the epoch. */
  expiration: number
  roleName: string
  roleId: string
  sessionName: string
  /** When they were issued, ms since the epoch (absent in sessions kept before it was recorded). */
  createdAt?: number
}

/** Who an access key belongs to, as CloudTrail names a caller (no policies: see {@link Iam.principalOf}). */
export type Caller =
  | { type: 'IAMUser'; user: IamUser; accessKeyId: string }
  | { type: 'AssumedRole'; role: IamRole; session: TemporaryCredentials; accessKeyId: string }

/** Who signed a request, and the policies that say what they may do. */
export interface Principal {
  type: 'IAMUser' | 'AssumedRole'
  arn: string
  /** The user id (`AIDA…`) or `AROA…:session`. */
  principalId: string
  /** The user's name, or the role's session name. */
  name: string
  accessKeyId: string
  /** The principal's tags (aws:PrincipalTag). */
  tags: readonly Tag[]
  /** Every identity policy that applies, parsed. */
  policies: readonly { source: string; document: PolicyDocument }[]
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const NAME_RE = /^[\w+=,.@-]+$/
const PATH_RE = /^\/([\x21-\x7e]*\/)?$/

function randomKeyId(prefix: string, n = 16): string {
  const b = randomBytes(n)
  let id = prefix
  for (let i = 0; i < n; i++) id += KEY_ALPHABET[b[i]! & 31]
  return id
}

function randomSecret(bytes = 30): string {
  return randomBytes(bytes).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B')
}

/** IAM's unique ids: a 4-letter prefix and 17 characters. */
function uniqueId(prefix: string): string {
  return randomKeyId(prefix, 17)
}

function noSuchEntity(what: string, name: string): ApiError {
  return new ApiError('NoSuchEntity', `The ${what} with name ${truncate(name, 128)} cannot be found.`)
}

export function checkName(value: string | undefined, param: string, max: number): string {
  if (value === undefined || value === '')
    throw new ApiError(
      'ValidationError',
      `1 validation error detected: Value null at '${param}' failed to satisfy constraint: Member must not be null`,
    )
  if (value.length > max || !NAME_RE.test(value)) {
    throw new ApiError(
      'ValidationError',
      `1 validation error detected: Value '${truncate(value, 128)}' at '${param}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length at most ${max}`,
    )
  }
  return value
}

export function checkPath(value: string | undefined): string {
  if (value === undefined) return '/'
  if (value.length > 512 || !PATH_RE.test(value))
    throw new ApiError(
      'ValidationError',
      `The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`,
    )
  return value
}

/** The key encrypting EC2's authorization failure messages, in the data directory. */
export const MESSAGE_KEY_FILE = 'authz-message.key'
/** STS temporary credentials in force, one JSON line each (appended; compacted at start and when long). */
export const SESSIONS_FILE = 'sts-sessions.jsonl'

/** What {@link Iam.persistIn} keeps, and what went wrong keeping it. */
export interface IamPersistence {
  dir: string
  /** Lines in the sessions file (compacted past 2 × SESSIONS_MAX). */
  lines: number
  errors: number
  lastError: string | null
}

function isSession(v: unknown): v is TemporaryCredentials {
  const s = v as TemporaryCredentials
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.accessKeyId === 'string' &&
    /^ASIA[A-Z2-7]{16}$/.test(s.accessKeyId) &&
    typeof s.secretAccessKey === 'string' &&
    typeof s.sessionToken === 'string' &&
    typeof s.expiration === 'number' &&
    typeof s.roleName === 'string' &&
    typeof s.roleId === 'string' &&
    typeof s.sessionName === 'string'
  )
}

export class Iam {
  private readonly l: Ledger
  private readonly keys = new Map<string, AccessKey>()
  private readonly sessions = new Map<string, TemporaryCredentials>()
  private _generation = 0
  /**
   * The AES-256 key of EC2's encoded authorization failure messages: random per process, or kept
   * in the data directory by {@link persistIn} (a message then decodes after a restart).
   */
  messageKey: Buffer = randomBytes(32)
  /** Where the message key and the sessions are kept (undefined: memory only). */
  persistence: IamPersistence | undefined

  constructor(l: Ledger) {
    this.l = l
    l.onChange(() => this._generation++)
  }

  /** Increases with every change of anything a decision depends on (cache key). */
  get generation(): number {
    return this._generation
  }

  get accountId(): string {
    return this.l.accountId
  }

  private arn(type: string, path: string, name: string): string {
    return `arn:aws:iam::${this.l.accountId}:${type}${path}${name}`
  }

  // ------------------------------------------------------------------ load and upgrade

  /**
   * Takes the keys of the store's snapshot (at start). A key from before IAM users gets a user of its
   * own now, with its role's built-in policy: an admin key AdministratorAccess, a user key
   * MirrorflowUserAccess, an agent key MirrorflowAgentAccess.
   */
  load(keys: readonly AccessKey[]): void {
    for (const k of keys) this.keys.set(k.accessKeyId, k)
    for (const k of keys) {
      if (k.userName !== undefined && this.findUser(k.userName) !== undefined) continue
      const user = this.newUser(this.freeUserName(`${this.roleOf(k)}-${k.accessKeyId}`), '/', [
        this.roleLegacyPolicy(this.roleOf(k)),
      ])
      const key: AccessKey = { ...k, userName: user.name }
      this.l.commit([user], [], key)
      this.keys.set(key.accessKeyId, key)
    }
  }

  private roleLegacyPolicy(role: AccessKeyRole): string {
    return role === 'admin' ? ADMINISTRATOR_ACCESS : role === 'agent' ? AGENT_ACCESS : USER_ACCESS
  }

  private freeUserName(base: string): string {
    let name = base.slice(0, 64)
    for (let i = 2; this.findUser(name) !== undefined; i++) name = `${base.slice(0, 58)}-${i}`
    return name
  }

  // ------------------------------------------------------------------ access keys

  /** The secret of an access key id (long-term and active, or temporary and unexpired). */
  secretOf(accessKeyId: string): string | undefined {
    const k = this.keys.get(accessKeyId)
    if (k !== undefined) return k.status === 'Inactive' ? undefined : k.secretAccessKey
    return this.sessions.get(accessKeyId)?.secretAccessKey
  }

  /** The long-term key, if it exists. */
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

  private newKey(userName: string, role: AccessKeyRole, description: string): AccessKey {
    if (this.keys.size >= ACCESS_KEYS_MAX) {
      throw new ApiError('LimitExceeded', `Cannot exceed quota for AccessKeys: ${ACCESS_KEYS_MAX}.`)
    }
    return {
      accessKeyId: randomKeyId('AKIA'),
      secretAccessKey: randomSecret(),
      createdAt: this.l.now(),
      admin: role === 'admin',
      role,
      description,
      userName,
      status: 'Active',
    }
  }

  /**
   * Creates a key of mirrorflow's kinds (MirrorflowCreateAccessKey, the first start): an IAM user of
   * its own (`admin`, or `ROLE-KEYID`) with the role's built-in policy, and its key. An agent key is
   * bound to `instanceId` now, or to the instance its first registration makes.
   */
  create(role: AccessKeyRole, description: string, instanceId?: string): AccessKey {
    const keyId = randomKeyId('AKIA')
    const name =
      role === 'admin' && this.findUser('admin') === undefined
        ? 'admin'
        : this.freeUserName(`${role}-${keyId}`)
    this.checkUserQuota()
    const user = this.newUser(name, '/', [this.roleLegacyPolicy(role)])
    const key = { ...this.newKey(name, role, description), accessKeyId: keyId }
    if (role === 'agent' && instanceId !== undefined) key.instanceId = instanceId
    this.l.commit([user], [], key)
    this.keys.set(key.accessKeyId, key)
    return key
  }

  /** Binds an unbound agent key to its instance (its first registration). */
  bind(accessKeyId: string, instanceId: string): AccessKey {
    const key = this.keys.get(accessKeyId)
    if (key === undefined || this.roleOf(key) !== 'agent' || key.instanceId !== undefined) {
      throw new Error(`access key ${accessKeyId} is not an unbound agent key`)
    }
    const bound: AccessKey = { ...key, instanceId }
    this.l.commit([], [], bound)
    this.keys.set(bound.accessKeyId, bound)
    return bound
  }

  /** IAM CreateAccessKey: a key for a user (at most two per user). */
  createAccessKey(userName: string): AccessKey {
    this.user(userName)
    if (this.keysOf(userName).length >= IAM_QUOTAS.keysPerUser)
      throw new ApiError(
        'LimitExceeded',
        `Cannot exceed quota for AccessKeysPerUser: ${IAM_QUOTAS.keysPerUser}`,
      )
    const key = this.newKey(userName, 'user', '')
    this.l.commit([], [], key)
    this.keys.set(key.accessKeyId, key)
    return key
  }

  keysOf(userName: string): AccessKey[] {
    return [...this.keys.values()].filter((k) => k.userName === userName)
  }

  private keyOf(userName: string, accessKeyId: string): AccessKey {
    this.user(userName)
    const k = this.keys.get(accessKeyId)
    if (k === undefined || k.userName !== userName)
      throw new ApiError(
        'NoSuchEntity',
        `The Access Key with id ${truncate(accessKeyId, 128)} cannot be found.`,
      )
    return k
  }

  updateAccessKey(userName: string, accessKeyId: string, status: string | undefined): void {
    if (status !== 'Active' && status !== 'Inactive')
      throw new ApiError(
        'ValidationError',
        `1 validation error detected: Value '${truncate(status ?? 'null', 32)}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
      )
    const k = { ...this.keyOf(userName, accessKeyId), status: status as 'Active' | 'Inactive' }
    this.l.commit([], [], k)
    this.keys.set(k.accessKeyId, k)
  }

  deleteAccessKey(userName: string, accessKeyId: string): void {
    this.keyOf(userName, accessKeyId)
    this.l.commit([], [], undefined, accessKeyId)
    this.keys.delete(accessKeyId)
  }

  // ------------------------------------------------------------------ users and groups

  findUser(name: string): IamUser | undefined {
    for (const u of this.l.state.table('iam-user').values()) if (u.name === name) return u
    return undefined
  }

  user(name: string): IamUser {
    const u = this.findUser(name)
    if (u === undefined) throw noSuchEntity('user', name)
    return u
  }

  users(pathPrefix = '/'): IamUser[] {
    return [...this.l.state.table('iam-user').values()].filter((u) => u.path.startsWith(pathPrefix))
  }

  private checkUserQuota(): void {
    if (this.l.state.table('iam-user').size >= IAM_QUOTAS.users)
      throw new ApiError('LimitExceeded', `Cannot exceed quota for UsersPerAccount: ${IAM_QUOTAS.users}`)
  }

  private newUser(name: string, path: string, attached: string[], tags: Tag[] = []): IamUser {
    return {
      kind: 'iam-user',
      id: uniqueId('AIDA'),
      seq: this.l.nextSeq(),
      tags,
      name,
      path,
      arn: this.arn('user', path, name),
      createdAt: this.l.now(),
      groups: [],
      attached,
      inline: {},
    }
  }

  createUser(name: string, path: string, tags: Tag[]): IamUser {
    if (this.findUser(name) !== undefined)
      throw new ApiError('EntityAlreadyExists', `User with name ${name} already exists.`)
    this.checkUserQuota()
    checkTags(tags)
    const u = this.newUser(name, path, [], tags)
    this.l.commit([u])
    return u
  }

  tagUser(name: string, tags: Tag[]): void {
    const u = this.user(name)
    checkTags(tags)
    const merged = new Map(u.tags.map((t) => [t.key, t.value]))
    for (const t of tags) merged.set(t.key, t.value)
    if (merged.size > IAM_QUOTAS.tagsPerUser)
      throw new ApiError('LimitExceeded', `Cannot exceed quota for TagsPerUser: ${IAM_QUOTAS.tagsPerUser}`)
    this.l.commit([{ ...u, tags: [...merged].map(([key, value]) => ({ key, value })) }])
  }

  /** DeleteUser: only a user with nothing attached, no keys and no groups (as IAM). */
  deleteUser(name: string): void {
    const u = this.user(name)
    if (
      this.keysOf(name).length > 0 ||
      u.groups.length > 0 ||
      u.attached.length > 0 ||
      Object.keys(u.inline).length > 0
    )
      throw new ApiError(
        'DeleteConflict',
        'Cannot delete entity, must delete access keys, policies and group memberships first.',
      )
    this.l.commit([], [u])
  }

  findGroup(name: string): IamGroup | undefined {
    for (const g of this.l.state.table('iam-group').values()) if (g.name === name) return g
    return undefined
  }

  group(name: string): IamGroup {
    const g = this.findGroup(name)
    if (g === undefined) throw noSuchEntity('group', name)
    return g
  }

  groups(pathPrefix = '/'): IamGroup[] {
    return [...this.l.state.table('iam-group').values()].filter((g) => g.path.startsWith(pathPrefix))
  }

  createGroup(name: string, path: string): IamGroup {
    if (this.findGroup(name) !== undefined)
      throw new ApiError('EntityAlreadyExists', `Group with name ${name} already exists.`)
    if (this.l.state.table('iam-group').size >= IAM_QUOTAS.groups)
      throw new ApiError('LimitExceeded', `Cannot exceed quota for GroupsPerAccount: ${IAM_QUOTAS.groups}`)
    const g: IamGroup = {
      kind: 'iam-group',
      id: uniqueId('AGPA'),
      seq: this.l.nextSeq(),
      tags: [],
      name,
      path,
      arn: this.arn('group', path, name),
      createdAt: this.l.now(),
      attached: [],
      inline: {},
    }
    this.l.commit([g])
    return g
  }

  addUserToGroup(groupName: string, userName: string): void {
    const g = this.group(groupName)
    const u = this.user(userName)
    if (u.groups.includes(g.name)) return
    if (u.groups.length >= IAM_QUOTAS.groupsPerUser)
      throw new ApiError(
        'LimitExceeded',
        `Cannot exceed quota for GroupsPerUser: ${IAM_QUOTAS.groupsPerUser}`,
      )
    this.l.commit([{ ...u, groups: [...u.groups, g.name] }])
  }

  removeUserFromGroup(groupName: string, userName: string): void {
    const g = this.group(groupName)
    const u = this.user(userName)
    if (!u.groups.includes(g.name)) throw noSuchEntity('user', userName)
    this.l.commit([{ ...u, groups: u.groups.filter((n) => n !== g.name) }])
  }

  membersOf(groupName: string): IamUser[] {
    return this.users().filter((u) => u.groups.includes(groupName))
  }

  // ------------------------------------------------------------------ roles

  findRole(name: string): IamRole | undefined {
    for (const r of this.l.state.table('iam-role').values()) if (r.name === name) return r
    return undefined
  }

  role(name: string): IamRole {
    const r = this.findRole(name)
    if (r === undefined) throw noSuchEntity('role', name)
    return r
  }

  roles(pathPrefix = '/'): IamRole[] {
    return [...this.l.state.table('iam-role').values()].filter((r) => r.path.startsWith(pathPrefix))
  }

  createRole(
    name: string,
    path: string,
    trust: string,
    description: string,
    maxSessionDuration: number,
    tags: Tag[],
  ): IamRole {
    if (this.findRole(name) !== undefined)
      throw new ApiError('EntityAlreadyExists', `Role with name ${name} already exists.`)
    if (this.l.state.table('iam-role').size >= IAM_QUOTAS.roles)
      throw new ApiError('LimitExceeded', `Cannot exceed quota for RolesPerAccount: ${IAM_QUOTAS.roles}`)
    if (maxSessionDuration < 3600 || maxSessionDuration > 43200)
      throw new ApiError(
        'ValidationError',
        `1 validation error detected: Value '${maxSessionDuration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`,
      )
    parsePolicy(trust, 'trust', POLICY_SIZE.trust)
    checkTags(tags)
    const r: IamRole = {
      kind: 'iam-role',
      id: uniqueId('AROA'),
      seq: this.l.nextSeq(),
      tags,
      name,
      path,
      arn: this.arn('role', path, name),
      createdAt: this.l.now(),
      description,
      trust,
      maxSessionDuration,
      attached: [],
      inline: {},
    }
    this.l.commit([r])
    return r
  }

  // ------------------------------------------------------------------ managed policies

  /** A managed policy by ARN: built-in or the account's. */
  policy(arn: string): IamPolicy | BuiltinPolicy {
    const b = BUILTIN_BY_ARN.get(arn)
    if (b !== undefined) return b
    for (const p of this.l.state.table('iam-policy').values()) if (p.arn === arn) return p
    throw new ApiError('NoSuchEntity', `Policy ${truncate(arn, 256)} does not exist or is not attachable.`)
  }

  customerPolicies(): IamPolicy[] {
    return [...this.l.state.table('iam-policy').values()]
  }

  builtinPolicies(): readonly BuiltinPolicy[] {
    return BUILTIN_POLICIES
  }

  createPolicy(name: string, path: string, document: string, description: string): IamPolicy {
    const arn = this.arn('policy', path, name)
    if (this.customerPolicies().some((p) => p.name === name))
      throw new ApiError(
        'EntityAlreadyExists',
        `A policy called ${name} already exists. Duplicate names are not allowed.`,
      )
    if (this.l.state.table('iam-policy').size >= IAM_QUOTAS.policies)
      throw new ApiError(
        'LimitExceeded',
        `Cannot exceed quota for PoliciesPerAccount: ${IAM_QUOTAS.policies}`,
      )
    parsePolicy(document, 'identity', POLICY_SIZE.managed)
    const now = this.l.now()
    const p: IamPolicy = {
      kind: 'iam-policy',
      id: uniqueId('ANPA'),
      seq: this.l.nextSeq(),
      tags: [],
      name,
      path,
      arn,
      description,
      createdAt: now,
      updatedAt: now,
      defaultVersionId: 'v1',
      versions: [{ versionId: 'v1', document, createdAt: now }],
      nextVersion: 2,
    }
    this.l.commit([p])
    return p
  }

  private customerPolicy(arn: string): IamPolicy {
    const p = this.policy(arn)
    if (!('kind' in p))
      throw new ApiError(
        'InvalidInput',
        `Policy ${truncate(arn, 256)} is an AWS managed policy and cannot be changed.`,
      )
    return p
  }

  createPolicyVersion(arn: string, document: string, setAsDefault: boolean): IamPolicy['versions'][number] {
    const p = this.customerPolicy(arn)
    if (p.versions.length >= IAM_QUOTAS.versionsPerPolicy)
      throw new ApiError(
        'LimitExceeded',
        `A managed policy can have up to ${IAM_QUOTAS.versionsPerPolicy} versions. Before you create a new version, you must delete an existing version.`,
      )
    parsePolicy(document, 'identity', POLICY_SIZE.managed)
    const now = this.l.now()
    const v = { versionId: `v${p.nextVersion}`, document, createdAt: now }
    this.l.commit([
      {
        ...p,
        versions: [...p.versions, v],
        nextVersion: p.nextVersion + 1,
        updatedAt: now,
        defaultVersionId: setAsDefault ? v.versionId : p.defaultVersionId,
      },
    ])
    return v
  }

  /** A version's document (built-in policies have one version, `v1`). */
  policyVersion(
    arn: string,
    versionId: string,
  ): { versionId: string; document: string; createdAt: string; isDefault: boolean } {
    const p = this.policy(arn)
    if (!('kind' in p)) {
      if (versionId !== 'v1')
        throw new ApiError(
          'NoSuchEntity',
          `Policy ${arn} version ${truncate(versionId, 32)} does not exist or is not attachable.`,
        )
      return { versionId: 'v1', document: p.document, createdAt: '2015-02-06T18:39:46Z', isDefault: true }
    }
    const v = p.versions.find((x) => x.versionId === versionId)
    if (v === undefined)
      throw new ApiError(
        'NoSuchEntity',
        `Policy ${arn} version ${truncate(versionId, 32)} does not exist or is not attachable.`,
      )
    return { ...v, isDefault: v.versionId === p.defaultVersionId }
  }

  /** How many users, groups and roles a managed policy is attached to. */
  attachmentCount(arn: string): number {
    let n = 0
    for (const kind of ['iam-user', 'iam-group', 'iam-role'] as const)
      for (const e of this.l.state.table(kind).values()) if (e.attached.includes(arn)) n++
    return n
  }

  // ------------------------------------------------------------------ attachments

  private entity(kind: 'user' | 'group' | 'role', name: string): IamUser | IamGroup | IamRole {
    return kind === 'user' ? this.user(name) : kind === 'group' ? this.group(name) : this.role(name)
  }

  attach(kind: 'user' | 'group' | 'role', name: string, arn: string): void {
    const e = this.entity(kind, name)
    if (!arn.startsWith('arn:') || arn.length > 2048)
      throw new ApiError('InvalidInput', `ARN ${truncate(arn, 256)} is not valid.`)
    this.policy(arn)
    if (e.attached.includes(arn)) return
    if (e.attached.length >= IAM_QUOTAS.attachedPerEntity)
      throw new ApiError(
        'LimitExceeded',
        `Cannot exceed quota for PoliciesPer${kind === 'user' ? 'User' : kind === 'group' ? 'Group' : 'Role'}: ${IAM_QUOTAS.attachedPerEntity}`,
      )
    this.l.commit([{ ...e, attached: [...e.attached, arn] }])
  }

  detach(kind: 'user' | 'group' | 'role', name: string, arn: string): void {
    const e = this.entity(kind, name)
    if (!e.attached.includes(arn))
      throw new ApiError('NoSuchEntity', `Policy ${truncate(arn, 256)} was not found.`)
    this.l.commit([{ ...e, attached: e.attached.filter((a) => a !== arn) }])
  }

  /** PutUserPolicy / PutGroupPolicy / PutRolePolicy: the entity's inline policies together within its quota. */
  putInline(kind: 'user' | 'group' | 'role', name: string, policyName: string, document: string): void {
    const e = this.entity(kind, name)
    const limit =
      kind === 'user'
        ? POLICY_SIZE.userInline
        : kind === 'group'
          ? POLICY_SIZE.groupInline
          : POLICY_SIZE.roleInline
    parsePolicy(document, 'identity')
    const inline = { ...e.inline, [policyName]: document }
    let total = 0
    for (const d of Object.values(inline)) total += sizeOf(d)
    if (total > limit)
      throw new ApiError(
        'LimitExceeded',
        `Maximum policy size of ${limit} bytes exceeded for ${kind} ${truncate(name, 128)}`,
      )
    this.l.commit([{ ...e, inline }])
  }

  inlineOf(kind: 'user' | 'group' | 'role', name: string): Attachments['inline'] {
    return this.entity(kind, name).inline
  }

  deleteInline(kind: 'user' | 'group' | 'role', name: string, policyName: string): void {
    const e = this.entity(kind, name)
    if (!(policyName in e.inline))
      throw new ApiError(
        'NoSuchEntity',
        `The ${kind} policy with name ${truncate(policyName, 128)} cannot be found.`,
      )
    const { [policyName]: _gone, ...inline } = e.inline
    this.l.commit([{ ...e, inline }])
  }

  attachedOf(kind: 'user' | 'group' | 'role', name: string): { arn: string; name: string }[] {
    return this.entity(kind, name).attached.map((arn) => ({ arn, name: this.policy(arn).name }))
  }

  // ------------------------------------------------------------------ STS

  /** AssumeRole's temporary credentials (ASIA…, a session token), valid for `seconds`. */
  assumeRole(role: IamRole, sessionName: string, seconds: number): TemporaryCredentials {
    const now = Date.now()
    for (const [id, s] of this.sessions) if (s.expiration <= now) this.sessions.delete(id)
    while (this.sessions.size >= SESSIONS_MAX) this.sessions.delete(this.sessions.keys().next().value!)
    const creds: TemporaryCredentials = {
      accessKeyId: randomKeyId('ASIA'),
      secretAccessKey: randomSecret(),
      sessionToken: randomSecret(192),
      expiration: now + seconds * 1000,
      roleName: role.name,
      roleId: role.id,
      sessionName,
      createdAt: now,
    }
    this.sessions.set(creds.accessKeyId, creds)
    this.keepSession(creds)
    return creds
  }

  /**
   * Keeps the message key and the temporary credentials in `dir` (files of mode 0600) so that a
   * restart ends neither: the key is read (made at the first start), the sessions still in force
   * are loaded, and each AssumeRole appends its credentials. A file that cannot be read or written
   * (ENOSPC, EACCES, …) is counted in {@link persistence}; the server goes on in memory.
   */
  persistIn(dir: string, now = Date.now()): void {
    const p: IamPersistence = { dir, lines: 0, errors: 0, lastError: null }
    this.persistence = p
    const keyFile = join(dir, MESSAGE_KEY_FILE)
    try {
      const k = readFileSync(keyFile)
      if (k.length !== 32) throw new Error(`${keyFile} is not a 32-byte key`)
      this.messageKey = k
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        try {
          const fd = openSync(keyFile, 'wx', 0o600)
          try {
            writeSync(fd, this.messageKey)
          } finally {
            closeSync(fd)
          }
        } catch (e) {
          this.persistFailed(e)
        }
      } else this.persistFailed(err)
    }
    const file = join(dir, SESSIONS_FILE)
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.persistFailed(err)
    }
    for (const line of text.split('\n')) {
      if (line.length === 0 || line.length > 4096) continue
      let s: unknown
      try {
        s = JSON.parse(line)
      } catch {
        continue // a line cut by a crash
      }
      if (isSession(s) && s.expiration > now) {
        this.sessions.delete(s.accessKeyId)
        this.sessions.set(s.accessKeyId, s)
      }
    }
    while (this.sessions.size > SESSIONS_MAX) this.sessions.delete(this.sessions.keys().next().value!)
    this.compactSessions(now)
  }

  private persistFailed(err: unknown): void {
    const p = this.persistence
    if (p === undefined) return
    p.errors++
    p.lastError = (err as Error).message
  }

  /** Rewrites the sessions file with the sessions in force (atomically: a new file renamed over). */
  private compactSessions(now = Date.now()): void {
    const p = this.persistence
    if (p === undefined) return
    const file = join(p.dir, SESSIONS_FILE)
    const live = [...this.sessions.values()].filter((s) => s.expiration > now)
    try {
      const tmp = `${file}.tmp`
      writeFileSync(tmp, live.map((s) => JSON.stringify(s) + '\n').join(''), { mode: 0o600 })
      chmodSync(tmp, 0o600)
      renameSync(tmp, file)
      p.lines = live.length
    } catch (err) {
      this.persistFailed(err)
    }
  }

  private keepSession(s: TemporaryCredentials): void {
    const p = this.persistence
    if (p === undefined) return
    if (p.lines >= 2 * SESSIONS_MAX) {
      this.compactSessions()
      return
    }
    try {
      appendFileSync(join(p.dir, SESSIONS_FILE), JSON.stringify(s) + '\n', { mode: 0o600 })
      p.lines++
    } catch (err) {
      this.persistFailed(err)
    }
  }

  /** The temporary credentials of an ASIA key id, if they exist (expired or not). */
  session(accessKeyId: string): TemporaryCredentials | undefined {
    return this.sessions.get(accessKeyId)
  }

  // ------------------------------------------------------------------ principals

  private documents(
    e: Attachments,
    kind: string,
    name: string,
    out: { source: string; document: PolicyDocument }[],
  ): void {
    for (const [pn, text] of Object.entries(e.inline))
      out.push({ source: `inline policy ${pn} of ${kind} ${name}`, document: parsePolicy(text, 'identity') })
    for (const arn of e.attached) {
      let p: IamPolicy | BuiltinPolicy
      try {
        p = this.policy(arn)
      } catch {
        continue // a policy deleted under its attachment grants nothing
      }
      const text =
        'kind' in p ? p.versions.find((v) => v.versionId === p.defaultVersionId)!.document : p.document
      out.push({ source: arn, document: parsePolicy(text, 'identity') })
    }
  }

  /** The identity policies of a role, parsed (what a service that assumes it may do). */
  policiesOfRole(r: IamRole): { source: string; document: PolicyDocument }[] {
    const out: { source: string; document: PolicyDocument }[] = []
    this.documents(r, 'role', r.name, out)
    return out
  }

  /** The IAM user or assumed role an access key stands for; undefined when unknown. */
  callerOf(accessKeyId: string): Caller | undefined {
    const k = this.keys.get(accessKeyId)
    if (k !== undefined) {
      const user = k.userName === undefined ? undefined : this.findUser(k.userName)
      return user === undefined ? undefined : { type: 'IAMUser', user, accessKeyId }
    }
    const session = this.sessions.get(accessKeyId)
    if (session === undefined) return undefined
    const role = this.findRole(session.roleName)
    if (role === undefined || role.id !== session.roleId) return undefined
    return { type: 'AssumedRole', role, session, accessKeyId }
  }

  /**
   * The principal that an access key stands for, with every identity policy that applies (its own,
   * its groups', its role's); undefined when the key is unknown. Temporary credentials are checked
   * by the caller (token, expiry) with {@link checkSession}.
   */
  principalOf(accessKeyId: string): Principal | undefined {
    const k = this.keys.get(accessKeyId)
    if (k !== undefined) {
      const u = k.userName === undefined ? undefined : this.findUser(k.userName)
      if (u === undefined) return undefined
      const policies: Principal['policies'][number][] = []
      this.documents(u, 'user', u.name, policies)
      for (const gn of u.groups) {
        const g = this.findGroup(gn)
        if (g !== undefined) this.documents(g, 'group', g.name, policies)
      }
      return {
        type: 'IAMUser',
        arn: u.arn,
        principalId: u.id,
        name: u.name,
        accessKeyId,
        tags: u.tags,
        policies,
      }
    }
    const s = this.sessions.get(accessKeyId)
    if (s === undefined) return undefined
    const r = this.findRole(s.roleName)
    if (r === undefined || r.id !== s.roleId) return undefined
    const policies: Principal['policies'][number][] = []
    this.documents(r, 'role', r.name, policies)
    return {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${this.l.accountId}:assumed-role/${r.name}/${s.sessionName}`,
      principalId: `${r.id}:${s.sessionName}`,
      name: s.sessionName,
      accessKeyId,
      tags: r.tags,
      policies,
    }
  }

  /**
   * Checks a call's session token: temporary credentials need theirs, unexpired; a long-term key
   * (or one IAM does not know) must come without one, as AWS refuses a long-term key that carries a
   * session token. The error code, or undefined when valid.
   */
  checkSession(
    accessKeyId: string,
    token: string | undefined,
    now = Date.now(),
  ): 'InvalidToken' | 'Expired' | undefined {
    const s = this.sessions.get(accessKeyId)
    if (s === undefined) return token === undefined ? undefined : 'InvalidToken'
    if (token === undefined) return 'InvalidToken'
    const a = Buffer.from(token)
    const b = Buffer.from(s.sessionToken)
    if (a.length !== b.length || !timingSafeEqual(a, b)) return 'InvalidToken'
    return s.expiration <= now ? 'Expired' : undefined
  }
}

function sizeOf(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) n++
  }
  return n
}

function checkTags(tags: Tag[]): void {
  if (tags.length > IAM_QUOTAS.tagsPerUser)
    throw new ApiError('LimitExceeded', `Cannot exceed quota for TagsPerUser: ${IAM_QUOTAS.tagsPerUser}`)
  for (const t of tags) {
    if (t.key.length < 1 || t.key.length > 128 || t.value.length > 256)
      throw new ApiError(
        'ValidationError',
        'A tag key must have 1 to 128 characters and a value at most 256.',
      )
  }
}
