// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { VERSION } from './version.ts'

test('VERSION is package.json version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  assert.equal(VERSION, pkg.version)
})

test('the AWS SDK clients are pinned to exact versions (docs/node.md: they must keep supporting Node.js 20)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>
  }
  const sdk = Object.entries(pkg.dependencies).filter(([name]) => name.startsWith('@aws-sdk/'))
  assert.ok(sdk.length >= 2)
  for (const [name, range] of sdk)
    assert.match(range, /^\d+\.\d+\.\d+$/, `${name}: ${range} is not an exact version`)
})
