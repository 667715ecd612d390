// SPDX-License-Identifier: Apache-2.0
// test-group: process
// Faults of nft must not read as answers: a failing `nft list table` is not "no table", and a failing
// `nft -c` of the egress probe is not "no kernel path" unless nft says the hook is unsupported. A fake
// `nft` first on PATH plays each failure.
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { hasCode } from '../../errors.ts'
import { probeNetdevEgress, removeKernelLeftovers } from './nftables.ts'

const dir = mkdtempSync(join(tmpdir(), 'mf-fake-nft-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `fn` with a fake nft that prints `stderr` and exits `status`. */
async function withFakeNft<T>(stderr: string, status: number, fn: () => Promise<T>): Promise<T> {
  writeFileSync(
    join(dir, 'nft'),
    `#!/bin/sh\ncase "$*" in *-f*) cat >/dev/null ;; esac\nprintf '%s\\n' '${stderr}' >&2\nexit ${status}\n`,
  )
  chmodSync(join(dir, 'nft'), 0o755)
  const path = process.env.PATH
  process.env.PATH = `${dir}:${path}`
  try {
    return await fn()
  } finally {
    process.env.PATH = path
  }
}

const NOT_ROOT = 'Operation not permitted (you must be root)'

test('egress probe: "unknown chain hook" and "Operation not supported" mean no kernel path', async () => {
  for (const e of ['Error: unknown chain hook', 'Error: Could not process rule: Operation not supported']) {
    assert.equal(await withFakeNft(e, 1, () => probeNetdevEgress(undefined, 'lo')), false, e)
  }
})

test('egress probe: not root is a fault (MF_MIRROR_DATAPATH), not "no kernel path"', async () => {
  await assert.rejects(
    withFakeNft(NOT_ROOT, 1, () => probeNetdevEgress(undefined, 'lo')),
    (e: Error) => hasCode(e, 'MF_MIRROR_DATAPATH') && /must be root/.test(e.message),
  )
})

test('nft list failing for another reason than a missing table is a fault, not "no table"', async () => {
  // Missing table: nothing to remove, no error.
  await withFakeNft('Error: No such file or directory', 1, async () => {
    // The fake nft answers every call; the real ip finds no device with the test's prefix.
    const r = await removeKernelLeftovers({ table: 'mirrorflow', devicePrefix: 'mfzz' })
    assert.deepEqual(r, { table: false, devices: [] })
  })
  await assert.rejects(
    withFakeNft(NOT_ROOT, 1, () => removeKernelLeftovers({ table: 'mirrorflow', devicePrefix: 'mfzz' })),
    (e: Error) => hasCode(e, 'MF_MIRROR_DATAPATH'),
  )
})
