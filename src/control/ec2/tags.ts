// SPDX-License-Identifier: Apache-2.0
/**
 * Tags: validation of a tag list (used by every Create), CreateTags and DeleteTags over any taggable
 * kind. Ids are resolved through the core's kind table, never through the other families.
 * @module
 */
import { ApiError, charLength, truncate } from '../core/errors.ts'
import type { Ledger } from '../core/ledger.ts'
import type { Resource, Tag } from '../core/model.ts'

/** Longest tag key and value, in characters (Unicode code points, as AWS counts). */
export const TAG_KEY_MAX = 128
export const TAG_VALUE_MAX = 256

/** Validates tags (key 1–128 characters, not `aws:`; value ≤ 256; no duplicate key; ≤ `max`). */
export function validateTags(tags: Tag[], max: number): Tag[] {
  // The count first: a list far over the limit is refused before any of it is read.
  if (tags.length > max) {
    throw new ApiError('TagLimitExceeded', `The maximum number of tags per resource (${max}) was exceeded.`)
  }
  const seen = new Set<string>()
  for (const t of tags) {
    if (t.key.length === 0 || charLength(t.key) > TAG_KEY_MAX) {
      throw new ApiError(
        'InvalidParameterValue',
        `Tag key '${truncate(t.key)}' must be 1 to ${TAG_KEY_MAX} characters long.`,
      )
    }
    if (t.key.toLowerCase().startsWith('aws:')) {
      throw new ApiError(
        'InvalidParameterValue',
        `Tag keys starting with 'aws:' are reserved for internal use`,
      )
    }
    if (charLength(t.value) > TAG_VALUE_MAX) {
      throw new ApiError(
        'InvalidParameterValue',
        `Tag value for key '${truncate(t.key)}' exceeds ${TAG_VALUE_MAX} characters.`,
      )
    }
    if (seen.has(t.key))
      throw new ApiError('InvalidParameterValue', `Duplicate tag key '${truncate(t.key)}' specified.`)
    seen.add(t.key)
  }
  return tags.map((t) => ({ key: t.key, value: t.value }))
}

/** CreateTags and DeleteTags take at most this many resource ids (AWS: 1000). */
export const TAG_RESOURCES_MAX = 1000

function checkResourceIds(ids: string[]): void {
  if (ids.length > TAG_RESOURCES_MAX) {
    throw new ApiError(
      'InvalidParameterValue',
      `The number of ResourceIds cannot exceed ${TAG_RESOURCES_MAX}.`,
    )
  }
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
      throw new ApiError('InvalidID', `The ID '${truncate(id)}' is not valid`)
    }
    return this.l.lookup(k.kind, id)
  }

  /** CreateTags: adds or overwrites tags on every resource, all or nothing. */
  createTags(resourceIds: string[], tags: Tag[]): void {
    checkResourceIds(resourceIds)
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
    checkResourceIds(resourceIds)
    if (tags.length > this.max) {
      throw new ApiError('TagLimitExceeded', `At most ${this.max} tags can be deleted in one request.`)
    }
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
