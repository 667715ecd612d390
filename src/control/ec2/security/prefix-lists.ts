// SPDX-License-Identifier: Apache-2.0
/**
 * Customer-managed prefix lists: CreateManagedPrefixList, ModifyManagedPrefixList,
 * RestoreManagedPrefixListVersion, DeleteManagedPrefixList and the reads, with AWS's rules — one address family per list, at most
 * `MaxEntries` entries (1–1,000), at most 100 entries added or removed by one request, a new
 * version for every change of the entries (the name alone keeps it), a `CurrentVersion` that must
 * be the list's, the entries and `MaxEntries` never changed by one request, and a list that a
 * security-group rule references not deleted. A rule referencing a list weighs the list's
 * `MaxEntries` in its group's rule quota, so raising `MaxEntries` past what a referencing group
 * can hold leaves the list unchanged in state `modify-failed`, naming the groups.
 * @module
 */
import { ApiError, charLength, invalidValue, truncate } from '../../core/errors.ts'
import { newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Tag } from '../../core/model.ts'
import type { Index } from '../../core/state.ts'
import type { ManagedPrefixList, PrefixListEntry, SecurityGroupRule } from '../model.ts'
import type { Quotas } from '../limits.ts'
import type { Tags } from '../tags.ts'
import { ruleCidr } from './protocol.ts'

/** `MaxEntries` bound (AWS: 1,000). */
export const PREFIX_LIST_MAX_ENTRIES = 1000
/** Entries one request may add, or remove (AWS: 100 each). */
export const PREFIX_LIST_ENTRIES_PER_REQUEST = 100
/** Names and entry descriptions: at most 255 characters. */
export const PREFIX_LIST_TEXT_MAX = 255
/** Earlier versions kept for `TargetVersion` (mirrorflow's bound; older ones are answered as unknown). */
export const PREFIX_LIST_VERSIONS_KEPT = 10

export interface CreatePrefixListInput {
  prefixListName: string | undefined
  addressFamily: string | undefined
  maxEntries: number | undefined
  entries: Array<{ cidr: string | undefined; description: string | undefined }>
}

export interface ModifyPrefixListInput {
  currentVersion?: number | undefined
  prefixListName?: string | undefined
  maxEntries?: number | undefined
  addEntries: Array<{ cidr: string | undefined; description: string | undefined }>
  removeEntries: Array<{ cidr: string | undefined }>
}

function checkName(name: string): void {
  if (name.length === 0 || charLength(name) > PREFIX_LIST_TEXT_MAX)
    throw invalidValue(
      `The prefix list name must be 1 to ${PREFIX_LIST_TEXT_MAX} characters long; got ${charLength(name)}.`,
    )
  if (name.startsWith('com.amazonaws'))
    throw invalidValue(`The prefix list name cannot start with com.amazonaws: ${truncate(name)}`)
}

function checkMaxEntries(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > PREFIX_LIST_MAX_ENTRIES)
    throw invalidValue(
      `Invalid value '${n}' for maxEntries. It must be between 1 and ${PREFIX_LIST_MAX_ENTRIES}.`,
    )
}

export class PrefixLists {
  private readonly l: Ledger
  private readonly q: Quotas
  private readonly tags: Tags
  /** Security-group rules referencing a list, by the list's id. */
  readonly rulesByPrefixList: Index<SecurityGroupRule>

  constructor(l: Ledger, q: Quotas, tags: Tags) {
    this.l = l
    this.q = q
    this.tags = tags
    l.defineKind('prefix-list', {
      prefix: 'pl',
      malformed: 'InvalidPrefixListId.Malformed',
      notFound: 'InvalidPrefixListID.NotFound',
      notFoundMessage: (id) => `The prefix list ID '${id}' does not exist.`,
      resourceType: 'prefix-list',
    })
    this.rulesByPrefixList = l.state.index('security-group-rule', (r) => r.prefixListId)
  }

  /** The list, or `InvalidPrefixListId.Malformed` / `InvalidPrefixListID.NotFound`. */
  list(id: string): ManagedPrefixList {
    return this.l.lookup('prefix-list', id)
  }

  /** The rules referencing a list. */
  rulesOf(id: string): SecurityGroupRule[] {
    return [...this.rulesByPrefixList.get(id)].map((rid) => this.l.state.get('security-group-rule', rid)!)
  }

  /** The CIDR blocks of one entry list, validated against the family; duplicates refused. */
  private entries(
    family: 'IPv4' | 'IPv6',
    given: ReadonlyArray<{ cidr: string | undefined; description: string | undefined }>,
  ): PrefixListEntry[] {
    if (given.length > PREFIX_LIST_ENTRIES_PER_REQUEST)
      throw invalidValue(
        `The request cannot contain more than ${PREFIX_LIST_ENTRIES_PER_REQUEST} entry additions or removals.`,
      )
    const seen = new Set<string>()
    return given.map((e) => {
      if (e.cidr === undefined)
        throw new ApiError('MissingParameter', 'The request must contain the parameter Cidr')
      const cidr = this.cidr(family, e.cidr)
      if (seen.has(cidr)) throw invalidValue(`The request contains the CIDR ${cidr} more than once.`)
      seen.add(cidr)
      if (e.description !== undefined && charLength(e.description) > PREFIX_LIST_TEXT_MAX)
        throw invalidValue(`The entry description must be ${PREFIX_LIST_TEXT_MAX} characters or fewer.`)
      return e.description === undefined || e.description === ''
        ? { cidr }
        : { cidr, description: e.description }
    })
  }

  private cidr(family: 'IPv4' | 'IPv6', text: string): string {
    return ruleCidr(text, family === 'IPv4' ? 4 : 6, 'Cidr').text
  }

  createList(input: CreatePrefixListInput, tags: Tag[], idem?: Idempotency): ManagedPrefixList {
    if (input.prefixListName === undefined)
      throw new ApiError('MissingParameter', 'The request must contain the parameter PrefixListName')
    if (input.addressFamily === undefined)
      throw new ApiError('MissingParameter', 'The request must contain the parameter AddressFamily')
    if (input.maxEntries === undefined)
      throw new ApiError('MissingParameter', 'The request must contain the parameter MaxEntries')
    checkName(input.prefixListName)
    const family = input.addressFamily
    if (family !== 'IPv4' && family !== 'IPv6')
      throw invalidValue(
        `Invalid value '${truncate(family)}' for addressFamily. Valid values are IPv4 and IPv6.`,
      )
    checkMaxEntries(input.maxEntries)
    const entries = this.entries(family, input.entries)
    if (entries.length > input.maxEntries)
      throw new ApiError(
        'PrefixListMaxEntriesExceeded',
        `The prefix list would have ${entries.length} entries; its maximum is ${input.maxEntries}.`,
      )
    const validTags = this.tags.validate(tags)
    return this.l.idempotent(idem, () => {
      if (this.l.state.table('prefix-list').size >= this.q.prefixListsPerRegion)
        throw new ApiError(
          'ResourceLimitExceeded',
          `The maximum number of prefix lists (${this.q.prefixListsPerRegion}) has been reached.`,
        )
      const pl: ManagedPrefixList = {
        kind: 'prefix-list',
        id: newId('pl'),
        seq: this.l.nextSeq(),
        prefixListName: input.prefixListName!,
        addressFamily: family,
        maxEntries: input.maxEntries!,
        version: 1,
        state: 'create-complete',
        entries,
        history: [],
        tags: validTags,
      }
      this.l.remember(pl)
      this.l.commit([pl])
      return pl
    })
  }

  /** The entries of a version: the current one, or a kept earlier one. */
  entriesAt(pl: ManagedPrefixList, version: number | undefined): PrefixListEntry[] {
    if (version === undefined || version === pl.version) return pl.entries
    const h = pl.history.find((v) => v.version === version)
    if (h === undefined)
      throw invalidValue(
        `The version ${version} of prefix list ${pl.id} does not exist or is no longer kept.`,
      )
    return h.entries
  }

  /**
   * The groups (at most ten, as AWS's state message names) whose rule quota in a direction would
   * break if `pl` had `maxEntries`.
   */
  private groupsOverQuota(pl: ManagedPrefixList, maxEntries: number): string[] {
    const groups = new Set<string>()
    for (const r of this.rulesOf(pl.id)) groups.add(`${r.groupId}|${r.isEgress ? 'e' : 'i'}`)
    const over: string[] = []
    for (const key of groups) {
      const [groupId, dir] = key.split('|') as [string, string]
      let weight = 0
      for (const r of this.groupRules(groupId, dir === 'e'))
        weight += r.prefixListId === pl.id ? maxEntries : this.weightOf(r)
      if (weight > this.q.rulesPerSecurityGroup && !over.includes(groupId)) over.push(groupId)
      if (over.length === 10) break
    }
    return over
  }

  /** One direction's rules of a group (set by the security-group family, which is built after this one). */
  groupRules: (groupId: string, isEgress: boolean) => SecurityGroupRule[] = () => []

  /** A rule's weight in its group's quota: a referenced list's `MaxEntries`, else 1. */
  weightOf(r: Pick<SecurityGroupRule, 'prefixListId'>): number {
    if (r.prefixListId === undefined) return 1
    return this.l.state.get('prefix-list', r.prefixListId)?.maxEntries ?? 1
  }

  /** ModifyManagedPrefixList. */
  modifyList(pl: ManagedPrefixList, input: ModifyPrefixListInput): ManagedPrefixList {
    if (input.currentVersion !== undefined && input.currentVersion !== pl.version)
      throw new ApiError('PrefixListVersionMismatch', 'The prefix list has the incorrect version number.')
    const changesEntries = input.addEntries.length > 0 || input.removeEntries.length > 0
    if (changesEntries && input.maxEntries !== undefined)
      throw new ApiError(
        'InvalidParameterCombination',
        'You cannot modify the entries and the maximum entries for the prefix list in the same request.',
      )
    if (input.prefixListName !== undefined) checkName(input.prefixListName)
    const next: ManagedPrefixList = { ...pl, state: 'modify-complete' }
    delete next.stateMessage
    if (input.prefixListName !== undefined) next.prefixListName = input.prefixListName
    if (changesEntries) {
      const add = this.entries(pl.addressFamily, input.addEntries)
      if (input.removeEntries.length > PREFIX_LIST_ENTRIES_PER_REQUEST)
        throw invalidValue(
          `The request cannot contain more than ${PREFIX_LIST_ENTRIES_PER_REQUEST} entry additions or removals.`,
        )
      const remove = new Set<string>()
      for (const e of input.removeEntries) {
        if (e.cidr === undefined)
          throw new ApiError('MissingParameter', 'The request must contain the parameter Cidr')
        remove.add(this.cidr(pl.addressFamily, e.cidr))
      }
      for (const e of add)
        if (remove.has(e.cidr))
          throw invalidValue(
            `Request cannot contain Cidr ${e.cidr} in both AddPrefixListEntries and RemovePrefixListEntries`,
          )
      const have = new Set(pl.entries.map((e) => e.cidr))
      for (const c of remove)
        if (!have.has(c))
          throw new ApiError('InvalidPrefixListModification', `The prefix list entry ${c} does not exist.`)
      for (const e of add)
        if (have.has(e.cidr))
          throw new ApiError(
            'InvalidPrefixListModification',
            `The prefix list entry ${e.cidr} already exists.`,
          )
      const entries = [...pl.entries.filter((e) => !remove.has(e.cidr)), ...add]
      if (entries.length > pl.maxEntries)
        throw new ApiError(
          'PrefixListMaxEntriesExceeded',
          `The prefix list would have ${entries.length} entries; its maximum is ${pl.maxEntries}.`,
        )
      next.entries = entries
      next.version = pl.version + 1
      next.history = [...pl.history, { version: pl.version, entries: pl.entries }].slice(
        -PREFIX_LIST_VERSIONS_KEPT,
      )
    }
    if (input.maxEntries !== undefined && input.maxEntries !== pl.maxEntries) {
      checkMaxEntries(input.maxEntries)
      if (input.maxEntries < pl.entries.length)
        throw invalidValue(
          `The maximum entries (${input.maxEntries}) cannot be less than the number of entries (${pl.entries.length}).`,
        )
      const over = input.maxEntries > pl.maxEntries ? this.groupsOverQuota(pl, input.maxEntries) : []
      if (over.length > 0) {
        // As AWS: the request is accepted, the resize fails, the state message names the resources.
        next.state = 'modify-failed'
        next.stateMessage = `The following resources cannot support the new maximum number of entries: ${over.join(', ')}`
      } else next.maxEntries = input.maxEntries
    }
    this.l.commit([next])
    return next
  }

  /**
   * RestoreManagedPrefixListVersion: the entries of a kept earlier version become the next version
   * (`restore-complete`).
   */
  restoreVersion(pl: ManagedPrefixList, previousVersion: number, currentVersion: number): ManagedPrefixList {
    if (currentVersion !== pl.version)
      throw new ApiError('PrefixListVersionMismatch', 'The prefix list has the incorrect version number.')
    if (previousVersion === pl.version)
      throw invalidValue(`The version ${previousVersion} is the current version of prefix list ${pl.id}.`)
    const entries = this.entriesAt(pl, previousVersion)
    if (entries.length > pl.maxEntries)
      throw new ApiError(
        'PrefixListMaxEntriesExceeded',
        `The prefix list would have ${entries.length} entries; its maximum is ${pl.maxEntries}.`,
      )
    const next: ManagedPrefixList = {
      ...pl,
      state: 'restore-complete',
      entries,
      version: pl.version + 1,
      history: [...pl.history, { version: pl.version, entries: pl.entries }].slice(
        -PREFIX_LIST_VERSIONS_KEPT,
      ),
    }
    delete next.stateMessage
    this.l.commit([next])
    return next
  }

  /** DeleteManagedPrefixList: not while a security-group rule references the list. */
  deleteList(pl: ManagedPrefixList): void {
    const refs = this.rulesOf(pl.id)
    if (refs.length > 0)
      throw new ApiError(
        'DependencyViolation',
        `The prefix list ${pl.id} is referenced by security group ${refs[0]!.groupId} and cannot be deleted.`,
      )
    this.l.commit([], [pl, ...this.l.dependents(pl)])
  }

  /** The security groups whose rules reference a list (GetManagedPrefixListAssociations), in id order. */
  associations(pl: ManagedPrefixList): string[] {
    return [...new Set(this.rulesOf(pl.id).map((r) => r.groupId))].sort()
  }
}
