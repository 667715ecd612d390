#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Runs the test suite with Node's test runner (Node 20's --test takes no globs, so we list files).
// Unit tests: src/**/*.test.ts. Integration tests (namespaces, nftables, AWS CLI): test/integration/*.test.ts.
// Flags: --unit, --integration (default: both). Extra arguments are passed to node --test.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'node_modules' || name === 'testdata') continue
    if (statSync(p).isDirectory()) walk(p, out)
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}
const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const integrationOnly = args.includes('--integration')
const rest = args.filter((a) => a !== '--unit' && a !== '--integration')
let files = []
if (!integrationOnly) files = files.concat(walk(join(root, 'src'), []))
if (!unitOnly) files = files.concat(walk(join(root, 'test'), []))
files.sort()
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...rest, ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, MIRRORFLOW_ROOT: root } },
)
process.exit(result.status ?? 1)
