// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * The compiled build (scripts/build.mjs → dist/): every program it ships starts with plain `node` and
 * no development dependency, gives the same answers as the sources, and finds its data files.
 * The build is made (or remade, when a source is newer) by the test itself, as setup does.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { DIST_FILES, SOURCE_FILES } from '../../src/entry-points.ts'
import { COMMANDS } from '../../src/cli/main.ts'
import { VERSION } from '../../src/version.ts'
import { REPO_ROOT } from '../helpers/shared.ts'

const SAMPLE = join(REPO_ROOT, 'src', 'packet', 'testdata', 'sample.pcap')
let dir = ''

function node(
  args: string[],
  cwd = REPO_ROOT,
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd, env, maxBuffer: 1 << 26 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

before(() => {
  // Build as setup does (only when missing or stale), then copy dist/ alone to a directory with no
  // node_modules anywhere above it: whatever runs there needs nothing outside dist/.
  const s = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
  assert.equal(s.status, 0, s.stderr)
  dir = mkdtempSync(join(tmpdir(), 'mf-dist-'))
  cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true })
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
})

test('every program has its source and its compiled file', () => {
  for (const [entry, src] of Object.entries(SOURCE_FILES)) {
    assert.ok(existsSync(join(REPO_ROOT, 'src', src)), `${entry}: ${src}`)
    assert.ok(existsSync(join(REPO_ROOT, 'dist', DIST_FILES[entry as keyof typeof DIST_FILES])), entry)
  }
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>
  }
  assert.deepEqual(pkg.bin, { mirrorflow: 'dist/mirrorflow.mjs' })
})

test('dist/mirrorflow.mjs without node_modules: --version, --help, flowlogs --help', () => {
  const bin = join(dir, 'dist', 'mirrorflow.mjs')
  const v = node([bin, '--version'], dir)
  assert.equal(v.status, 0, v.stderr)
  assert.equal(v.stdout, `${VERSION}\n`)
  const h = node([bin, '--help'], dir)
  assert.equal(h.status, 0, h.stderr)
  for (const name of Object.keys(COMMANDS)) assert.match(h.stdout, new RegExp(`^  ${name} `, 'm'))
  const f = node([bin, 'flowlogs', '--help'], dir)
  assert.equal(f.status, 0, f.stderr)
  assert.match(f.stdout, /--max-aggregation-interval/)
})

test('dist flowlogs and inspect give the same output as the sources, and find the bundled sample', () => {
  const bin = join(dir, 'dist', 'mirrorflow.mjs')
  const args = ['flowlogs', '--pcap', SAMPLE, '--max-aggregation-interval', '60', '--quiet']
  const built = node([bin, ...args], dir)
  const dev = node([join(REPO_ROOT, 'bin', 'mirrorflow.mjs'), ...args])
  assert.equal(built.status, 0, built.stderr)
  assert.equal(dev.status, 0, dev.stderr)
  assert.ok(built.stdout.split('\n').length > 100)
  assert.equal(built.stdout, dev.stdout)
  // No file argument: the sample shipped in dist/assets.
  const i = node([bin, 'inspect', '--json'], dir)
  assert.equal(i.status, 0, i.stderr)
  assert.equal((JSON.parse(i.stdout) as { frames: number }).frames, 1000)
})

test('the compiled mirror worker and traffic generator start with plain node', () => {
  // Each refuses to run without its arguments, in its own words: proof that it loaded and ran.
  const w = node([join(dir, 'dist', 'mirror-worker.mjs')], dir, { ...process.env, MF_MIRROR_WORKER: '{' })
  assert.notEqual(w.status, 0)
  assert.doesNotMatch(w.stderr, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/)
  const t = node([join(dir, 'dist', 'lab-traffic.mjs'), 'no-such-role'], dir)
  assert.equal(t.status, 2)
  assert.match(t.stderr, /unknown role 'no-such-role'/)
})

test('the build never loads tsx: the development path stays behind MIRRORFLOW_BUILD', () => {
  for (const name of readdirSync(join(REPO_ROOT, 'dist')).filter((n) => n.endsWith('.mjs'))) {
    const js = readFileSync(join(REPO_ROOT, 'dist', name), 'utf8')
    assert.doesNotMatch(js, /(from|import\()\s*["']tsx/, name)
    assert.doesNotMatch(js, /MIRRORFLOW_BUILD/, name)
  }
})
