// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 Query parameters: decoding of `application/x-www-form-urlencoded` bodies and query strings
 * into one flat map, and typed access to flattened lists (`X.N`) and structures (`X.N.Key`).
 * Every key a handler reads is marked; {@link Params.done} rejects the rest as `UnknownParameter`,
 * so a typo never passes silently.
 * @module
 */
import { ApiError } from '../../../control/index.ts'

/** Characters XML 1.0 cannot carry (even escaped): such values are refused at the door. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/

/** Parameters of the request that are not the action's own (protocol and presigned auth). */
const PROTOCOL_KEYS = new Set([
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
])

function decodePart(s: string): string {
  const plus = s.includes('+')
  // Most parts carry no escape at all: nothing to decode.
  if (!plus && !s.includes('%')) return s
  try {
    return decodeURIComponent(plus ? s.replace(/\+/g, ' ') : s)
  } catch {
    throw new ApiError('MalformedQueryString', 'The request contains a malformed percent-encoded sequence.')
  }
}

/**
 * Decodes `a=1&b=2` (form or query string) into `into`. A key given twice is refused: the
 * protocol has no meaning for it and a silent pick would hide client bugs.
 */
export function parseForm(text: string, into: Map<string, string>): void {
  if (text.length === 0) return
  for (const part of text.split('&')) {
    if (part.length === 0) continue
    const eq = part.indexOf('=')
    const key = decodePart(eq < 0 ? part : part.slice(0, eq))
    const value = eq < 0 ? '' : decodePart(part.slice(eq + 1))
    if (key.length === 0) continue
    if (into.has(key))
      throw new ApiError('InvalidParameter', `The parameter ${truncate(key)} is specified more than once.`)
    if (NOT_XML.test(key) || NOT_XML.test(value)) {
      throw new ApiError(
        'InvalidParameterValue',
        `The parameter ${truncate(key)} contains characters that are not allowed.`,
      )
    }
    into.set(key, value)
  }
}

/** For messages: never echo kilobytes of attacker input. */
export function truncate(s: string, n = 64): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`
}

const INDEX = /^[1-9]\d{0,5}$/

/** Typed, consumption-tracked access to a flat parameter map. */
export class Params {
  readonly map: Map<string, string>
  private readonly used = new Set<string>()
  private readonly prefix: string

  constructor(map: Map<string, string>, prefix = '') {
    this.map = map
    this.prefix = prefix
  }

  private take(name: string): string | undefined {
    const v = this.map.get(name)
    if (v !== undefined) this.used.add(name)
    return v
  }

  private missing(name: string): ApiError {
    return new ApiError('MissingParameter', `The request must contain the parameter ${this.prefix}${name}`)
  }

  /** A string; `required` → MissingParameter when absent. */
  str(name: string, required: true): string
  str(name: string, required?: false): string | undefined
  str(name: string, required = false): string | undefined {
    const v = this.take(name)
    if (v === undefined && required) throw this.missing(name)
    return v
  }

  /** An integer (decimal, optional sign); anything else is InvalidParameterValue. */
  int(name: string, required: true): number
  int(name: string, required?: false): number | undefined
  int(name: string, required = false): number | undefined {
    const v = this.take(name)
    if (v === undefined) {
      if (required) throw this.missing(name)
      return undefined
    }
    if (!/^[-+]?\d{1,15}$/.test(v.trim())) {
      throw new ApiError(
        'InvalidParameterValue',
        `Invalid value '${truncate(v)}' for ${this.prefix}${name}: not an integer.`,
      )
    }
    return Number(v.trim())
  }

  /** A boolean (`true`/`false`, any case). */
  bool(name: string): boolean | undefined {
    const v = this.take(name)
    if (v === undefined) return undefined
    const l = v.toLowerCase()
    if (l === 'true') return true
    if (l === 'false') return false
    throw new ApiError(
      'InvalidParameterValue',
      `Invalid value '${truncate(v)}' for ${this.prefix}${name}: not a boolean.`,
    )
  }

  /** A flattened list of strings `Name.1`, `Name.2`, … in index order. */
  list(name: string): string[] {
    const dot = name + '.'
    const found: [number, string][] = []
    for (const [k, v] of this.map) {
      if (!k.startsWith(dot)) continue
      const rest = k.slice(dot.length)
      if (!INDEX.test(rest)) continue
      this.used.add(k)
      found.push([Number(rest), v])
    }
    return found.sort((a, b) => a[0] - b[0]).map((x) => x[1])
  }

  /** A flattened list of structures `Name.N.Member…`, each as its own Params, in index order. */
  structs(name: string): Params[] {
    const dot = name + '.'
    const groups = new Map<number, Map<string, string>>()
    for (const [k, v] of this.map) {
      if (!k.startsWith(dot)) continue
      const rest = k.slice(dot.length)
      const d = rest.indexOf('.')
      if (d < 0) continue
      const idx = rest.slice(0, d)
      if (!INDEX.test(idx)) continue
      this.used.add(k)
      const n = Number(idx)
      let g = groups.get(n)
      if (g === undefined) groups.set(n, (g = new Map()))
      g.set(rest.slice(d + 1), v)
    }
    return [...groups.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([n, g]) => new Params(g, `${this.prefix}${name}.${n}.`))
  }

  /** A structure `Name.Member`, or undefined when no member is present. */
  struct(name: string): Params | undefined {
    const dot = name + '.'
    const g = new Map<string, string>()
    for (const [k, v] of this.map) {
      if (!k.startsWith(dot)) continue
      this.used.add(k)
      g.set(k.slice(dot.length), v)
    }
    return g.size === 0 ? undefined : new Params(g, `${this.prefix}${name}.`)
  }

  /** Refuses every parameter no handler read (`UnknownParameter`). */
  done(): void {
    for (const k of this.map.keys()) {
      if (this.used.has(k) || (this.prefix === '' && PROTOCOL_KEYS.has(k))) continue
      throw new ApiError('UnknownParameter', `The parameter ${truncate(this.prefix + k)} is not recognized`)
    }
  }

  /** The parameters that define a request's effect: for idempotency fingerprints. */
  fingerprint(): string {
    const keys = [...this.map.keys()].filter(
      (k) => k !== 'ClientToken' && k !== 'DryRun' && !PROTOCOL_KEYS.has(k),
    )
    keys.sort()
    return keys.map((k) => `${k}=${this.map.get(k)!}`).join('&')
  }
}
