// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 22: one default account id everywhere, so that the server's, the target's and the
// offline command's flow logs land under one AWSLogs/<account>/ path.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Command } from 'commander'
import { startServer } from '../api/index.ts'
import { DEFAULT_ACCOUNT_ID } from '../flowlogs/index.ts'
import { defaultTargetConfig } from '../mirror-target/index.ts'
import { registerFlowlogs } from './flowlogs.ts'
import { registerServer } from './server.ts'
import { registerTarget } from './target.ts'

function accountDefault(register: (p: Command) => void, name: string): unknown {
  const program = new Command('mirrorflow')
  register(program)
  const cmd = program.commands.find((c) => c.name() === name)!
  return cmd.options.find((o) => o.long === '--account-id')?.defaultValue
}

test('item 22: the server, target, flowlogs and their defaults share one account id', async () => {
  assert.match(DEFAULT_ACCOUNT_ID, /^\d{12}$/)
  assert.equal(accountDefault(registerServer, 'server'), DEFAULT_ACCOUNT_ID)
  assert.equal(accountDefault(registerTarget, 'target'), DEFAULT_ACCOUNT_ID)
  assert.equal(accountDefault(registerFlowlogs, 'flowlogs'), DEFAULT_ACCOUNT_ID)
  assert.equal(defaultTargetConfig().flowLogs.accountId, DEFAULT_ACCOUNT_ID)
  const dir = mkdtempSync(join(tmpdir(), 'mf-account-'))
  const srv = await startServer({ dataDir: dir, port: 0 })
  try {
    const health = (await (await fetch(`${srv.url}/health`)).json()) as { accountId: string }
    assert.equal(health.accountId, DEFAULT_ACCOUNT_ID)
  } finally {
    await srv.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
