#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The mirrorflow executable: loads the TypeScript sources through tsx and runs the CLI.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
await main(process.argv)
