// SPDX-License-Identifier: Apache-2.0
// The top level of the command line: --version and --help load no subcommand module; a named
// subcommand loads its own module and no other.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildProgram, COMMANDS } from './main.ts'

/** Replaces every subcommand loader with a spy; returns the names loaded and a restore function. */
function spyLoaders(): { loaded: string[]; restore: () => void } {
  const loaded: string[] = []
  const saved = Object.fromEntries(Object.entries(COMMANDS).map(([n, c]) => [n, c.load]))
  for (const [name, c] of Object.entries(COMMANDS)) {
    const real = c.load
    c.load = async () => {
      loaded.push(name)
      return real()
    }
  }
  return {
    loaded,
    restore: () => {
      for (const [n, l] of Object.entries(saved)) COMMANDS[n]!.load = l
    },
  }
}

for (const argv of [['--version'], ['-V'], ['--help'], ['-h'], [], ['no-such-command']]) {
  test(`mirrorflow ${argv.join(' ') || '(nothing)'} loads no subcommand module`, async () => {
    const spy = spyLoaders()
    try {
      const program = await buildProgram(['node', 'mirrorflow', ...argv])
      assert.deepEqual(spy.loaded, [])
      // Every subcommand is still listed, by its summary.
      assert.deepEqual(
        program.commands.map((c) => c.name()),
        Object.keys(COMMANDS),
      )
      for (const c of program.commands) assert.equal(c.description(), COMMANDS[c.name()]!.summary)
    } finally {
      spy.restore()
    }
  })
}

test('a named subcommand loads its own module only', async () => {
  const spy = spyLoaders()
  try {
    const program = await buildProgram(['node', 'mirrorflow', 'flowlogs', '--help'])
    assert.deepEqual(spy.loaded, ['flowlogs'])
    assert.deepEqual(
      program.commands.map((c) => c.name()),
      ['flowlogs'],
    )
  } finally {
    spy.restore()
  }
})
