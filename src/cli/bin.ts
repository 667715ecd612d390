#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
/**
 * The `mirrorflow` program: checks the Node.js version, then runs the command line on this process's
 * arguments. The check comes first and the command line is loaded after it, so an old Node.js gets
 * one clear sentence instead of a syntax or module error from deep inside the bundle.
 * @module
 */
const major = Number(process.versions.node.split('.')[0])
if (major < 20) {
  process.stderr.write(`mirrorflow: Node.js 20 or later is required (this is ${process.version})\n`)
  process.exit(1)
}
const { main } = await import('./main.ts')
await main(process.argv)
