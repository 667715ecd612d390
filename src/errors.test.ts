// SPDX-License-Identifier: Apache-2.0
// Keeps docs/errors.md and the code in step: every MF_ code the code declares is documented, and
// nothing is documented that the code cannot emit.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const root = new URL('..', import.meta.url).pathname

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'testdata' || name === 'node_modules') continue
    if (statSync(p).isDirectory()) sources(p, out)
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'testing.ts') out.push(p)
  }
  return out
}

test('every MF_ error code in the code is in docs/errors.md, and only those', () => {
  const inCode = new Set<string>()
  for (const file of sources(join(root, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bcode\s*=\s*'(MF_[A-Z0-9_]+)'/g)) inCode.add(m[1]!)
  }
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8')
  const inDoc = new Set([...doc.matchAll(/`(MF_[A-Z0-9_]+)`/g)].map((m) => m[1]!))
  assert.ok(inCode.size > 0, 'found no MF_ codes in src/')
  assert.deepEqual([...inCode].filter((c) => !inDoc.has(c)).sort(), [], 'codes missing from docs/errors.md')
  assert.deepEqual(
    [...inDoc].filter((c) => !inCode.has(c)).sort(),
    [],
    'documented codes the code never emits',
  )
})
