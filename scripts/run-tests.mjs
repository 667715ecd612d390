#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Runs the test suite with Node's test runner, in groups (Node 20's --test takes no globs, so we list files):
//   fast       unit tests: no child process, no namespace, no third-party data; the whole group runs in
//              well under a minute. Enforced: the group runs with scripts/test-guard-fast.mjs, which makes
//              every child_process call throw.
//   process    tests that start programs (the mirrorflow CLI, tcpdump, tshark, the compiled build)
//   golden     comparisons with third-party tools and data (tshark, Zeek, AWS's published examples)
//   fuzz       randomized and robustness runs (fast-check, mutated captures, hostile API input)
//   namespace  real network namespaces, veth, nftables, VXLAN (root)
// A file's group is the `// test-group: NAME` line among its first 15 lines; without one, files under src/
// are `fast` and files under test/ are `namespace`. Flags pick groups (default: all, in the order above):
//   --fast --process --golden --fuzz --namespace; --unit = --fast; --integration = every group but fast;
//   --list prints each file with its group and runs nothing. Paths of test files run only those (in
//   their groups). Other arguments go to node --test.
// Environment: MIRRORFLOW_NATIVE_DIR (set by .ci/run for another Node.js version) loads native modules
// built for that version from there (scripts/native-redirect.mjs).
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const root = new URL('..', import.meta.url).pathname
export const GROUPS = ['fast', 'process', 'golden', 'fuzz', 'namespace']
const TAG = /^\/\/ test-group: ([a-z]+)\s*$/m

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'node_modules' || name === 'testdata') continue
    if (statSync(p).isDirectory()) walk(p, out)
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

/** The group of one test file (see the header). */
function groupOf(file) {
  const head = readFileSync(file, 'utf8').split('\n', 15).join('\n')
  const m = TAG.exec(head)
  if (m !== null) {
    if (!GROUPS.includes(m[1]))
      throw new Error(`${file}: unknown test group '${m[1]}' (${GROUPS.join(', ')})`)
    return m[1]
  }
  return relative(root, file).startsWith('src/') ? 'fast' : 'namespace'
}

const args = process.argv.slice(2)
const wanted = new Set()
const rest = []
for (const a of args) {
  if (a === '--unit') wanted.add('fast')
  else if (a === '--integration') for (const g of GROUPS.slice(1)) wanted.add(g)
  else if (a.startsWith('--') && GROUPS.includes(a.slice(2))) wanted.add(a.slice(2))
  else if (a !== '--list') rest.push(a)
}
if (wanted.size === 0) for (const g of GROUPS) wanted.add(g)

const only = rest.filter((a) => a.endsWith('.test.ts')).map((a) => resolve(a))
const files = walk(join(root, 'src'), walk(join(root, 'test'), []))
  .filter((f) => only.length === 0 || only.includes(f))
  .sort()
const testArgs = rest.filter((a) => !a.endsWith('.test.ts'))
const byGroup = new Map(GROUPS.map((g) => [g, []]))
for (const f of files) byGroup.get(groupOf(f)).push(f)

if (args.includes('--list')) {
  for (const g of GROUPS) for (const f of byGroup.get(g)) process.stdout.write(`${g}\t${relative(root, f)}\n`)
  process.exit(0)
}

const env = { ...process.env, MIRRORFLOW_ROOT: root }
const preload = []
if (process.env.MIRRORFLOW_NATIVE_DIR) preload.push('--import', join(root, 'scripts', 'native-redirect.mjs'))
let status = 0
for (const g of GROUPS) {
  const list = byGroup.get(g)
  if (!wanted.has(g) || list.length === 0) continue
  process.stderr.write(`\n== test group ${g}: ${list.length} files ==\n`)
  const guard = g === 'fast' ? ['--import', join(root, 'scripts', 'test-guard-fast.mjs')] : []
  const t0 = Date.now()
  const result = spawnSync(
    process.execPath,
    [
      ...preload,
      ...guard,
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
      '--test-reporter=spec',
      ...testArgs,
      ...list,
    ],
    { stdio: 'inherit', cwd: root, env },
  )
  const code = result.status ?? 1
  process.stderr.write(
    `== test group ${g}: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s ==\n`,
  )
  if (code !== 0) status = code
}
process.exit(status)
