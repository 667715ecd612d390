#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// mirrorflow from its TypeScript sources, through tsx (development and tests). The installed command is
// the compiled dist/mirrorflow.mjs (npm run build; package.json "bin").
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/bin.ts')
