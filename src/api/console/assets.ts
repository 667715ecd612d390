// SPDX-License-Identifier: Apache-2.0
/**
 * The console's static assets: the page, its script (the front end of `src/web/`, uPlot included)
 * and its style sheet. Installed, they are files the build wrote to `dist/web/`; run from the
 * sources, the server bundles `src/web/main.ts` in memory with esbuild at the first request (the
 * same options as `scripts/build.mjs`). Nothing is fetched from anywhere at run time.
 * @module
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BUILT } from '../../entry-points.ts'

export interface ConsoleAsset {
  readonly type: string
  readonly body: Buffer
  readonly etag: string
}

/** The page every console URL answers with (the script routes by the location's hash). */
export function indexHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mirrorflow console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script defer src="/console/assets/console.js"></script>
</head>
<body>
<noscript>The mirrorflow console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`
}

function asset(type: string, body: Buffer): ConsoleAsset {
  return { type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
}

/** The file names of the bundle (in dist/web/ when built). */
export const BUNDLE_FILES = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
}

let cached: Promise<Map<string, ConsoleAsset>> | undefined

/** The bundle's files by name (`console.js`, `console.css`), loaded or bundled once. */
export function consoleAssets(): Promise<Map<string, ConsoleAsset>> {
  cached ??= load().catch((err: unknown) => {
    cached = undefined
    throw err
  })
  return cached
}

async function load(): Promise<Map<string, ConsoleAsset>> {
  const out = new Map<string, ConsoleAsset>()
  const here = dirname(fileURLToPath(import.meta.url))
  if (BUILT) {
    // The bundle's chunks are in dist/; the console's files in dist/web/.
    for (const [name, type] of Object.entries(BUNDLE_FILES))
      out.set(name, asset(type, readFileSync(join(here, 'web', name))))
    return out
  }
  const { build } = await import('esbuild')
  const res = await build({
    entryPoints: { console: join(here, '..', '..', 'web', 'main.ts') },
    ...WEB_BUILD_OPTIONS,
    outdir: '/console-bundle',
    write: false,
  })
  for (const f of res.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1)
    const type = BUNDLE_FILES[name as keyof typeof BUNDLE_FILES]
    if (type !== undefined) out.set(name, asset(type, Buffer.from(f.contents)))
  }
  return out
}

/** esbuild options of the front end (kept equal to those in scripts/build.mjs). */
const WEB_BUILD_OPTIONS = {
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'silent',
} as const
