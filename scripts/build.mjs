#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Compiles mirrorflow into dist/ with esbuild: one ES module per program (the CLI, the user-space mirror
// worker, the lab's traffic generator — see src/entry-points.ts), shared code split into chunks so that
// each subcommand still loads only its own modules. Native modules and the heavy runtime dependencies
// stay external (loaded from node_modules at run time); commander and zod are bundled.
// Data files a module finds through `new URL('FILE', import.meta.url)` are copied to dist/assets/ and the
// reference rewritten. The last step writes dist/.build-stamp, which scripts/setup.sh compares with the
// sources to rebuild only when something changed.
// Usage: node scripts/build.mjs [--if-stale] [--quiet]
//   --if-stale  build only when dist/ is missing or a source (src/, this script, package.json, the lock)
//               is newer than dist/.build-stamp
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

const root = resolve(dirname(new URL(import.meta.url).pathname), '..')
const dist = join(root, 'dist')
const stampFile = join(dist, '.build-stamp')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** The newest modification time among `paths` (directories walked), in ms. */
function newest(paths) {
  let max = 0
  for (const p of paths) {
    const st = statSync(p)
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'testdata') max = Math.max(max, newest([join(p, name)]))
    } else max = Math.max(max, st.mtimeMs)
  }
  return max
}

if (process.argv.includes('--if-stale')) {
  let stamp = -1
  try {
    stamp = statSync(stampFile).mtimeMs
  } catch {
    // no build yet
  }
  const inputs = ['src', 'scripts/build.mjs', 'package.json', 'package-lock.json'].map((p) => join(root, p))
  if (stamp >= newest(inputs)) process.exit(0)
  if (!process.argv.includes('--quiet')) process.stderr.write('build: dist/ is missing or stale\n')
}

const { build } = await import('esbuild')

/** Loaded from node_modules at run time: native code, or large and self-contained. */
const EXTERNAL = [
  'better-sqlite3',
  '@duckdb/node-api',
  '@aws-sdk/*',
  'fastify',
  'pino',
  'prom-client',
  // Development only: referenced by the sources' development path, never run from dist/.
  'tsx',
  'esbuild',
]

/** `new URL('<relative file>', import.meta.url)` in a source file. */
const ASSET_URL = /new URL\(\s*'(\.{1,2}\/[^']+)'\s*,\s*import\.meta\.url\s*\)/g

/** Copies data files referenced by URL into dist/assets and points the references there. */
const assets = {
  name: 'assets',
  setup(b) {
    const copied = new Map()
    b.onLoad({ filter: /\/src\/.*\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8')
      const out = text.replace(ASSET_URL, (whole, rel) => {
        // Program sources (the development path of src/entry-points.ts) are not data.
        if (rel.endsWith('.ts') || rel.endsWith('.mjs') || rel.endsWith('.js')) return whole
        const from = resolve(dirname(args.path), rel)
        const name = basename(from)
        const prev = copied.get(name)
        if (prev !== undefined && prev !== from) throw new Error(`two assets named ${name}: ${prev}, ${from}`)
        copied.set(name, from)
        mkdirSync(join(dist, 'assets'), { recursive: true })
        copyFileSync(from, join(dist, 'assets', name))
        return `new URL('./assets/${name}', import.meta.url)`
      })
      return { contents: out, loader: 'ts' }
    })
  },
}

rmSync(dist, { recursive: true, force: true })
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    mirrorflow: 'src/cli/bin.ts',
    'mirror-worker': 'src/mirror/datapath/userspace-worker.ts',
    'lab-traffic': 'src/lab/traffic-main.ts',
    'trail-writer': 'src/api/services/cloudtrail/writer-worker.ts',
  },
  outdir: dist,
  // Every chunk beside the entry points, so `import.meta.url` of any bundled module is in dist/.
  chunkNames: 'chunk-[hash]',
  // .mjs: ES modules wherever dist/ is copied, with no package.json beside them to say so.
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  define: { MIRRORFLOW_BUILD: JSON.stringify(pkg.version) },
  // Bundled CommonJS (commander) calls require(): give the ES modules one.
  banner: {
    js: "import { createRequire as __mfCreateRequire } from 'node:module'; const require = __mfCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
  plugins: [assets],
})
// The web console's front end (src/web/): one script and one style sheet for the browser, uPlot
// included, in dist/web/ where the server reads them (src/api/console/assets.ts uses the same options
// to bundle in memory when it runs from the sources).
const web = await build({
  absWorkingDir: root,
  entryPoints: { console: 'src/web/main.ts' },
  outdir: join(dist, 'web'),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
})
const main = join(dist, 'mirrorflow.mjs')
chmodSync(main, 0o755)
writeFileSync(stampFile, `${pkg.version} ${new Date().toISOString()}\n`)
if (!process.argv.includes('--quiet')) {
  const outs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.mjs'))
  const total = outs.reduce((n, [, o]) => n + o.bytes, 0)
  process.stderr.write(`build: ${outs.length} files, ${(total / 1024).toFixed(0)} KiB in dist/\n`)
  const webBytes = Object.values(web.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
  process.stderr.write(`build: console ${(webBytes / 1024).toFixed(0)} KiB in dist/web/\n`)
}
