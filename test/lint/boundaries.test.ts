// SPDX-License-Identifier: Apache-2.0
// test-group: fast
/**
 * The domain-boundary lint rule (scripts/eslint-boundaries.mjs) fires: ESLint runs in process, with
 * type information, on a small fixture project (test/lint/fixture) whose src/mirror/datapath/bad.ts
 * breaks each boundary from a nested folder; and the project's own eslint.config.mjs applies the rule,
 * with type information, to every folder of src/.
 */
import assert from 'node:assert/strict'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ESLint, type Linter } from 'eslint'
import tseslint from 'typescript-eslint'
// @ts-expect-error: a plain ES module without declarations
import { boundaryConfig } from '../../scripts/eslint-boundaries.mjs'
import { REPO_ROOT } from '../helpers/shared.ts'

const FIXTURE = join(REPO_ROOT, 'test', 'lint', 'fixture')
const ORDER = ['packet', 'mirror', 'api']

async function lintFixture(): Promise<Map<string, Array<{ line: number; message: string }>>> {
  const eslint = new ESLint({
    cwd: FIXTURE,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      ...(boundaryConfig({
        order: ORDER,
        srcDir: join(FIXTURE, 'src'),
        tsconfigRootDir: FIXTURE,
      }) as Linter.Config[]),
    ],
  })
  const results = await eslint.lintFiles(['src/**/*.ts'])
  const out = new Map<string, Array<{ line: number; message: string }>>()
  for (const r of results) {
    const rel = r.filePath.slice(FIXTURE.length + 1)
    out.set(
      rel,
      r.messages.map((m) => {
        assert.equal(m.ruleId, 'mirrorflow/boundaries', `${rel}: ${m.message}`)
        return { line: m.line, message: m.message }
      }),
    )
  }
  return out
}

test('the boundary rule reports each kind of breach, from a nested folder, and nothing else', async () => {
  const found = await lintFixture()
  assert.deepEqual(found.get('src/mirror/datapath/bad.ts'), [
    {
      line: 2,
      message: "src/mirror must not import src/api ('../../api/index.ts'): api is above mirror in the order",
    },
    {
      line: 3,
      message:
        "'../../packet/decode.ts' reaches inside src/packet/: import another domain only through its index.ts",
    },
    {
      line: 4,
      message:
        "'../../packet/decode.ts' reaches inside src/packet/: import another domain only through its index.ts",
    },
    {
      line: 5,
      message: "src/mirror must not import src/api ('../../api/index.ts'): api is above mirror in the order",
    },
    {
      line: 6,
      message: "src/mirror must not import src/api ('../../api/index.ts'): api is above mirror in the order",
    },
  ])
  assert.deepEqual(found.get('src/extra/thing.ts'), [
    { line: 2, message: 'src/extra/ is not in the domain order: add it to the boundary rule' },
  ])
  assert.deepEqual(found.get('src/shared.ts'), [
    {
      line: 2,
      message:
        "top-level src/shared.ts must not import a domain ('./packet/index.ts'): it is shared by all of them",
    },
  ])
  // What is allowed stays quiet: lower domains through index.ts, shared files, own domain at any depth.
  for (const ok of [
    'src/mirror/datapath/good.ts',
    'src/api/index.ts',
    'src/mirror/index.ts',
    'src/errors.ts',
  ])
    assert.deepEqual(found.get(ok), [], ok)
})

test("the project's eslint.config.mjs checks every folder of src/ with type information", async () => {
  const eslint = new ESLint({ cwd: REPO_ROOT })
  const domains = readdirSync(join(REPO_ROOT, 'src')).filter((d) =>
    statSync(join(REPO_ROOT, 'src', d)).isDirectory(),
  )
  for (const d of domains) {
    const file = readdirSync(join(REPO_ROOT, 'src', d)).find(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    )
    assert.ok(file !== undefined, d)
    const config = (await eslint.calculateConfigForFile(join(REPO_ROOT, 'src', d, file))) as Linter.Config
    const rule = config.rules?.['mirrorflow/boundaries'] as [unknown, { order: string[] }] | undefined
    assert.ok(rule !== undefined, `src/${d}/${file} is not checked by mirrorflow/boundaries`)
    assert.ok(rule[1].order.includes(d), `src/${d} is missing from the domain order`)
    assert.equal(
      (config.languageOptions?.parserOptions as { projectService?: unknown } | undefined)?.projectService,
      true,
      `src/${d}: no type information`,
    )
  }
})
