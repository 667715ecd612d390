// SPDX-License-Identifier: Apache-2.0
// Loaded with --import when tests run on a Node.js version other than the one node_modules was built
// for (.ci/run does this for Node.js 24): `import 'better-sqlite3'` then resolves to a copy of the
// package compiled for the running version, in $MIRRORFLOW_NATIVE_DIR/node_modules. Everything else
// resolves as usual. (N-API modules such as DuckDB's need no copy: their binary works on every version.)
import { register } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Packages whose compiled addon is tied to one Node.js version. */
const NATIVE = ['better-sqlite3']

if (process.env.MIRRORFLOW_NATIVE_DIR !== undefined && !('mirrorflowNativeRedirect' in globalThis)) {
  globalThis.mirrorflowNativeRedirect = true
  register(import.meta.url, { data: { dir: process.env.MIRRORFLOW_NATIVE_DIR } })
}

let dir = ''
export function initialize(data) {
  dir = data.dir
}

export async function resolve(specifier, context, next) {
  if (dir !== '' && NATIVE.includes(specifier)) {
    const parent = pathToFileURL(join(dir, 'node_modules', 'index.js')).href
    return next(specifier, { ...context, parentURL: parent })
  }
  return next(specifier, context)
}
