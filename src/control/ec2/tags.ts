// SPDX-License-Identifier: Apache-2.0
/**
 * Tags: validation of a tag list (used by every Create), CreateTags and DeleteTags over any taggable
 * kind. Ids are resolved through the core's kind table, never through the other families.
 * @module
 */
import { ApiError } from '../core/errors.ts'
import type { Ledger } from '../core/ledger.ts'
import type { Resource, Tag } from '../core/model.ts'

/** Validates tags (key 1–127 chars, not `aws:`; value ≤ 256; no duplicate key; ≤ `max`). */
export function validateTags(tags: Tag[], max: number): Tag[] {
  const seen = new Set<string>()
  for (const t of tags) {
    if (t.key.length === 0 || [...t.key].length > 127) {
      throw new ApiError('InvalidParameterValue', `Tag key '${t.key}' must be 1 to 127 characters long.`)
    }
    if (t.key.toLowerCase().startsWith('aws:')) {
      throw new ApiError(
        'InvalidParameterValue',
        `Tag keys starting with 'aws:' are reserved for internal use`,
      )
    }
    if ([...t.value].length > 256) {
      throw new ApiError('InvalidParameterValue', `Tag value for key '${t.key}' exceeds 256 characters.`)
    }
    if (seen.has(t.key))
      throw new ApiError('InvalidParameterValue', `Duplicate tag key '${t.key}' specified.`)
    seen.add(t.key)
  }
  if (tags.length > max) {
    throw new ApiError('TagLimitExceeded', `The maximum number of tags per resource (${max}) was exceeded.`)
  }
  return tags.map((t) => ({ key: t.key, value: t.value }))
}

export class Tags {
  private readonly l: Ledger
  private readonly max: number

  constructor(l: Ledger, tagsPerResource: number) {
    this.l = l
    this.max = tagsPerResource
  }

  /** Validates a Create's tags against this account's limit. */
  validate(tags: Tag[]): Tag[] {
    return validateTags(tags, this.max)
  }

  /** A taggable record by id: `InvalidID` for an id of no taggable kind, else the kind's NotFound. */
  private taggable(id: string): Resource {
    const k = this.l.kindOfId(id)
    if (k === undefined || k.spec.resourceType === undefined) {
      throw new ApiError('InvalidID', `The ID '${id}' is not valid`)
    }
    return this.l.lookup(k.kind, id)
  }

  /** CreateTags: adds or overwrites tags on every resource, all or nothing. */
  createTags(resourceIds: string[], tags: Tag[]): void {
    const valid = this.validate(tags)
    const put: Resource[] = []
    for (const id of new Set(resourceIds)) {
      const r = this.taggable(id)
      const merged = new Map(r.tags.map((t) => [t.key, t.value]))
      for (const t of valid) merged.set(t.key, t.value)
      if (merged.size > this.max) {
        throw new ApiError(
          'TagLimitExceeded',
          `The maximum number of tags per resource (${this.max}) was exceeded for '${id}'.`,
        )
      }
      put.push({ ...r, tags: [...merged].map(([key, value]) => ({ key, value })) })
    }
    this.l.commit(put)
  }

  /**
   * DeleteTags: no tags given → every tag; a tag with a value is removed only when the value
   * matches; a tag given with no value is removed whatever its value.
   */
  deleteTags(resourceIds: string[], tags: { key: string; value?: string | undefined }[]): void {
    const put: Resource[] = []
    for (const id of new Set(resourceIds)) {
      const r = this.taggable(id)
      const kept =
        tags.length === 0
          ? []
          : r.tags.filter(
              (t) => !tags.some((d) => d.key === t.key && (d.value === undefined || d.value === t.value)),
            )
      put.push({ ...r, tags: kept })
    }
    this.l.commit(put)
  }

  /** The tag resource-type name of a record (DescribeTags), if its kind takes tags. */
  resourceTypeOf(r: Resource): string | undefined {
    return this.l.resourceTypeOf(r.kind)
  }
}
