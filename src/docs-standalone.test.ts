// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 23: the project's documentation stands alone. README.md and docs/*.md state the chosen
// behaviour in their own words: no links or citations to documents outside the repository (the
// specification and style documents, ../shared), no section numbers of those documents.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const root = new URL('..', import.meta.url).pathname
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\.\.\/shared\b/, 'a path outside the repository (../shared)'],
  [/\bSTYLE\.md\b/, 'the style document'],
  [/\bspec-[a-z-]+(\.md)?\b/, 'a specification document'],
  [/\bspec(-[a-z-]+)?\s*§/, "a specification's section number"],
  [/(^|[\s(`'"])shared\/(docs|bench|data)\//, 'a file of the shared folder outside the repository'],
  [/\bUNCONFIRMED\b|\bthe specs?\b/, "the external specification's wording (say what was chosen and why)"],
]

test('README.md and docs/*.md cite nothing outside the repository', () => {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ]
  const found: string[] = []
  for (const f of files) {
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const [re, what] of FORBIDDEN)
          if (re.test(line)) found.push(`${f}:${i + 1}: ${what}: ${line.trim().slice(0, 120)}`)
      })
  }
  assert.deepEqual(found, [])
})
