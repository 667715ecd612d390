// SPDX-License-Identifier: Apache-2.0
/**
 * The JSON 1.1 body: parsed only after a linear scan has bounded its nesting depth, so that a
 * hostile `[[[[…` costs one pass and a clear `SerializationException`, never a deep recursion.
 * @module
 */
import { ApiError } from '../../../control/index.ts'

/** Deepest nesting a request may have (AWS's shapes need at most 5 for the services served). */
export const MAX_JSON_DEPTH = 32

function serialization(message: string): ApiError {
  return new ApiError('SerializationException', message)
}

/**
 * The nesting depth of a JSON text, in one pass over its bytes (brackets inside strings, escaped
 * quotes included, are skipped). Stops as soon as `limit` is exceeded and returns `limit + 1`.
 */
export function jsonDepth(buf: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: skip the escaped byte
      else if (c === 0x22) inString = false
      continue
    }
    if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      depth++
      if (depth > max) {
        max = depth
        if (max > limit) return limit + 1
      }
    } else if (c === 0x7d || c === 0x5d) depth--
  }
  return max
}

/**
 * The request's JSON object. An empty body is `{}` (as AWS reads it); anything that is not one
 * UTF-8 JSON object within {@link MAX_JSON_DEPTH} is a `SerializationException`.
 */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {}
  if (jsonDepth(body) > MAX_JSON_DEPTH)
    throw serialization(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw serialization('The request body is not valid UTF-8.')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw serialization('The request body is not valid JSON.')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw serialization('The request body must be a JSON object.')
  return value as Record<string, unknown>
}
