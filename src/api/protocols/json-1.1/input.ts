// SPDX-License-Identifier: Apache-2.0
/**
 * Typed, bounded reads of a JSON 1.1 request's members. A member of the wrong JSON type is a
 * `SerializationException` (as AWS answers when a value cannot be read as its shape); a value of the
 * right type that breaks a constraint (length, range, pattern, list size, a required member
 * missing) is the service's validation error, with AWS's message form
 * `1 validation error detected: Value '…' at 'member' failed to satisfy constraint: …`.
 * A JSON `null` is an absent member. Members the action does not know are ignored, as AWS does.
 * @module
 */
import { ApiError, charLength, truncate } from '../../../control/index.ts'

/** Builds the service's validation error (CloudWatch Logs: `InvalidParameterException`). */
export type InvalidFactory = (message: string) => ApiError

export interface StrOpts {
  min?: number
  max: number
  /** A linear-time check of the value (never a RegExp built from input). */
  valid?: (s: string) => boolean
  /** The constraint's description when `valid` fails. */
  pattern?: string
}

export interface IntOpts {
  min?: number
  max?: number
}

export interface ListOpts {
  min?: number
  max: number
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array'
  if (v === null) return 'null'
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/** One JSON object of the request (the body, or a nested structure). */
export class JsonInput {
  private readonly obj: Record<string, unknown>
  private readonly at: string
  readonly invalid: InvalidFactory

  constructor(obj: Record<string, unknown>, invalid: InvalidFactory, at = '') {
    this.obj = obj
    this.invalid = invalid
    this.at = at
  }

  private where(name: string): string {
    return this.at === '' ? name : `${this.at}.${name}`
  }

  private raw(name: string): unknown {
    const v = Object.hasOwn(this.obj, name) ? this.obj[name] : undefined
    return v === null ? undefined : v
  }

  private wrongType(name: string, want: string, v: unknown): ApiError {
    return new ApiError(
      'SerializationException',
      `Member '${this.where(name)}' must be ${want}, not ${typeName(v)}.`,
    )
  }

  /** A constraint failure, in AWS's message form. */
  violation(name: string, value: unknown, constraint: string): ApiError {
    const shown = typeof value === 'string' ? truncate(value, 64) : JSON.stringify(value)?.slice(0, 64)
    return this.invalid(
      `1 validation error detected: Value '${shown}' at '${this.where(name)}' failed to satisfy constraint: ${constraint}`,
    )
  }

  missing(name: string): ApiError {
    return this.invalid(
      `1 validation error detected: Value null at '${this.where(name)}' failed to satisfy constraint: Member must not be null`,
    )
  }

  has(name: string): boolean {
    return this.raw(name) !== undefined
  }

  private checkStr(name: string, v: string, o: StrOpts): string {
    const n = charLength(v)
    if (n < (o.min ?? 0))
      throw this.violation(name, v, `Member must have length greater than or equal to ${o.min ?? 0}`)
    if (n > o.max) throw this.violation(name, v, `Member must have length less than or equal to ${o.max}`)
    if (o.valid !== undefined && !o.valid(v))
      throw this.violation(name, v, `Member must satisfy regular expression pattern: ${o.pattern ?? '?'}`)
    return v
  }

  str(name: string, o: StrOpts): string | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    if (typeof v !== 'string') throw this.wrongType(name, 'a string', v)
    return this.checkStr(name, v, o)
  }

  reqStr(name: string, o: StrOpts): string {
    const v = this.str(name, o)
    if (v === undefined) throw this.missing(name)
    return v
  }

  /** An enum member: one of `values`. */
  enumOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.str(name, { max: 256 })
    if (v === undefined) return undefined
    if (!(values as readonly string[]).includes(v))
      throw this.violation(name, v, `Member must satisfy enum value set: [${values.join(', ')}]`)
    return v as T
  }

  /** An integer or long member (a JSON number with no fraction, within ±2^53). */
  int(name: string, o: IntOpts = {}): number | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw this.wrongType(name, 'an integer', v)
    if (o.min !== undefined && v < o.min)
      throw this.violation(name, v, `Member must have value greater than or equal to ${o.min}`)
    if (o.max !== undefined && v > o.max)
      throw this.violation(name, v, `Member must have value less than or equal to ${o.max}`)
    return v
  }

  reqInt(name: string, o: IntOpts = {}): number {
    const v = this.int(name, o)
    if (v === undefined) throw this.missing(name)
    return v
  }

  /** A double member (any finite JSON number). */
  num(name: string): number | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.wrongType(name, 'a number', v)
    return v
  }

  bool(name: string): boolean | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    if (typeof v !== 'boolean') throw this.wrongType(name, 'a boolean', v)
    return v
  }

  private arr(name: string, o: ListOpts): unknown[] | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    if (!Array.isArray(v)) throw this.wrongType(name, 'an array', v)
    if (v.length < (o.min ?? 0))
      throw this.violation(
        name,
        `[${v.length} items]`,
        `Member must have length greater than or equal to ${o.min ?? 0}`,
      )
    if (v.length > o.max)
      throw this.violation(
        name,
        `[${v.length} items]`,
        `Member must have length less than or equal to ${o.max}`,
      )
    return v
  }

  strList(name: string, o: ListOpts, item: StrOpts): string[] | undefined {
    const v = this.arr(name, o)
    if (v === undefined) return undefined
    return v.map((x, i) => {
      if (typeof x !== 'string') throw this.wrongType(`${name}.${i + 1}`, 'a string', x)
      return this.checkStr(`${name}.${i + 1}`, x, item)
    })
  }

  /** A list of structures. */
  list(name: string, o: ListOpts): JsonInput[] | undefined {
    const v = this.arr(name, o)
    if (v === undefined) return undefined
    return v.map((x, i) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x))
        throw this.wrongType(`${name}.${i + 1}`, 'an object', x)
      return new JsonInput(x as Record<string, unknown>, this.invalid, this.where(`${name}.${i + 1}`))
    })
  }

  /** The raw array of a list member, for hot paths that check each element themselves. */
  rawList(name: string, o: ListOpts): unknown[] | undefined {
    return this.arr(name, o)
  }

  /** A nested structure. */
  struct(name: string): JsonInput | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    if (typeof v !== 'object' || Array.isArray(v)) throw this.wrongType(name, 'an object', v)
    return new JsonInput(v as Record<string, unknown>, this.invalid, this.where(name))
  }

  /** A map of string to string, each key and value bounded. */
  strMap(name: string, o: ListOpts, key: StrOpts, value: StrOpts): Map<string, string> | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    if (typeof v !== 'object' || Array.isArray(v)) throw this.wrongType(name, 'an object', v)
    const entries = Object.entries(v as Record<string, unknown>)
    if (entries.length < (o.min ?? 0))
      throw this.violation(
        name,
        `{${entries.length} entries}`,
        `Member must have length greater than or equal to ${o.min ?? 0}`,
      )
    if (entries.length > o.max)
      throw this.violation(
        name,
        `{${entries.length} entries}`,
        `Member must have length less than or equal to ${o.max}`,
      )
    const out = new Map<string, string>()
    for (const [k, x] of entries) {
      this.checkStr(`${name}.key`, k, key)
      if (typeof x !== 'string') throw this.wrongType(`${name}.${k}`, 'a string', x)
      out.set(k, this.checkStr(`${name}.${truncate(k, 32)}`, x, value))
    }
    return out
  }
}
