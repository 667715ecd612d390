// SPDX-License-Identifier: Apache-2.0
/**
 * Trails on the ledger: CreateTrail, DescribeTrails, StartLogging, StopLogging, DeleteTrail, with
 * CloudTrail's naming rules and its quota of 5 trails per region. A trail is named by its name or
 * its ARN (`arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`).
 * @module
 */
import { ApiError, truncate } from '../core/errors.ts'
import { newId } from '../core/ids.ts'
import type { Ledger } from '../core/ledger.ts'
import type { Trail } from './model.ts'

/** Trails per region (AWS's quota). */
export const TRAILS_MAX = 5

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

export interface CreateTrailInput {
  name: string
  s3BucketName: string
  s3KeyPrefix?: string | undefined
  includeGlobalServiceEvents?: boolean | undefined
  isMultiRegionTrail?: boolean | undefined
  enableLogFileValidation?: boolean | undefined
}

export function checkTrailName(name: string): void {
  if (!NAME.test(name) || /[._-]{2}/.test(name) || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new ApiError(
      'InvalidTrailNameException',
      `Trail name ${truncate(name, 128)} is invalid: 3 to 128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, without two punctuation marks in a row.`,
    )
  }
}

function checkBucket(bucket: string): void {
  if (!BUCKET.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new ApiError('InvalidS3BucketNameException', `Bucket name ${truncate(bucket)} is not valid.`)
  }
}

function checkPrefix(prefix: string): string {
  const p = prefix.replace(/\/+$/, '')
  if (
    prefix.length > 200 ||
    p.startsWith('/') ||
    p.split('/').some((s) => s === '.' || s === '..' || (s === '' && p !== '')) ||
    p.includes('\0')
  ) {
    throw new ApiError(
      'InvalidS3PrefixException',
      `S3 key prefix ${truncate(prefix)} is not valid: at most 200 characters, no empty, '.' or '..' segment.`,
    )
  }
  return p
}

export class Trails {
  private readonly l: Ledger

  constructor(l: Ledger) {
    this.l = l
    l.defineKind('cloudtrail-trail', {
      prefix: 'trail',
      notFound: 'TrailNotFoundException',
      notFoundMessage: (id) => `Unknown trail: ${id} for the user: ${l.accountId}`,
    })
  }

  list(): Trail[] {
    return [...this.l.state.table('cloudtrail-trail').values()]
  }

  arnOf(name: string): string {
    return `arn:aws:cloudtrail:${this.l.region}:${this.l.accountId}:trail/${name}`
  }

  /** The trail a Name parameter names (a name or an ARN), or TrailNotFoundException. */
  get(nameOrArn: string): Trail {
    const t = this.find(nameOrArn)
    if (t === undefined) {
      if (!nameOrArn.startsWith('arn:')) checkTrailName(nameOrArn)
      throw new ApiError(
        'TrailNotFoundException',
        `Unknown trail: ${truncate(nameOrArn, 256)} for the user: ${this.l.accountId}`,
      )
    }
    return t
  }

  find(nameOrArn: string): Trail | undefined {
    for (const t of this.list()) if (t.name === nameOrArn || t.trailArn === nameOrArn) return t
    return undefined
  }

  create(input: CreateTrailInput): Trail {
    checkTrailName(input.name)
    checkBucket(input.s3BucketName)
    const prefix = checkPrefix(input.s3KeyPrefix ?? '')
    if (this.find(input.name) !== undefined) {
      throw new ApiError(
        'TrailAlreadyExistsException',
        `Trail ${input.name} already exists for customer: ${this.l.accountId}`,
      )
    }
    if (this.list().length >= TRAILS_MAX) {
      throw new ApiError(
        'MaximumNumberOfTrailsExceededException',
        `User: ${this.l.accountId} already has ${TRAILS_MAX} trails in ${this.l.region}.`,
      )
    }
    const t: Trail = {
      kind: 'cloudtrail-trail',
      id: newId('trail'),
      seq: this.l.nextSeq(),
      tags: [],
      name: input.name,
      trailArn: this.arnOf(input.name),
      homeRegion: this.l.region,
      s3BucketName: input.s3BucketName,
      s3KeyPrefix: prefix,
      includeGlobalServiceEvents: input.includeGlobalServiceEvents ?? true,
      isMultiRegionTrail: input.isMultiRegionTrail ?? false,
      logFileValidationEnabled: input.enableLogFileValidation ?? false,
      isLogging: false,
      createdAt: this.l.now(),
    }
    if (t.isMultiRegionTrail && !t.includeGlobalServiceEvents) {
      throw new ApiError(
        'InvalidParameterCombinationException',
        'Multi-Region trail must include global service events.',
      )
    }
    this.l.commit([t])
    return t
  }

  startLogging(nameOrArn: string): Trail {
    const t = this.get(nameOrArn)
    if (t.isLogging) return t
    const next: Trail = { ...t, isLogging: true, startLoggingTime: this.l.now() }
    this.l.commit([next])
    return next
  }

  stopLogging(nameOrArn: string): Trail {
    const t = this.get(nameOrArn)
    if (!t.isLogging) return t
    const next: Trail = { ...t, isLogging: false, stopLoggingTime: this.l.now() }
    this.l.commit([next])
    return next
  }

  delete(nameOrArn: string): Trail {
    const t = this.get(nameOrArn)
    this.l.commit([], [t])
    return t
  }
}
