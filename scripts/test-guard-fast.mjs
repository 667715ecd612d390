// SPDX-License-Identifier: Apache-2.0
// Loaded (--import) into every file of the `fast` test group: starting any child process throws, so a
// test that needs one fails loudly and belongs in another group (scripts/run-tests.mjs). Only the test
// files' own processes are guarded (NODE_TEST_CONTEXT), not the runner that starts them.
import { createRequire, syncBuiltinESMExports } from 'node:module'

if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const cp = createRequire(import.meta.url)('node:child_process')
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
    cp[name] = () => {
      throw new Error(
        `child_process.${name} in the fast test group: tag this file "// test-group: process" (or another group)`,
      )
    }
  }
  syncBuiltinESMExports()
}
