// SPDX-License-Identifier: Apache-2.0
/**
 * `*` wildcards in a value (`10.0.*`, `*html*`, `4*`): the literal parts between stars matched
 * left to right with `indexOf`, the first anchored at the start and the last at the end. For a
 * pattern whose only metacharacter is `*` the leftmost match of each part is always a valid
 * choice, so this is exact and needs no backtracking: time linear in the text per part.
 * @module
 */

/** A compiled star-glob. */
export interface Glob {
  /** The literal parts between the stars. */
  readonly parts: readonly string[]
  /** Whether the value had no star at all (exact comparison). */
  readonly exact: boolean
}

export function compileGlob(value: string): Glob {
  const parts = value.split('*')
  return { parts, exact: parts.length === 1 }
}

export function globMatch(g: Glob, s: string): boolean {
  const parts = g.parts
  if (g.exact) return s === parts[0]
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  if (s.length < first.length + last.length) return false
  if (!s.startsWith(first)) return false
  let pos = first.length
  const end = s.length - last.length
  for (let i = 1; i < parts.length - 1; i++) {
    const p = parts[i]!
    if (p === '') continue
    const at = s.indexOf(p, pos)
    if (at < 0 || at + p.length > end) return false
    pos = at + p.length
  }
  return s.endsWith(last) && pos <= end
}
