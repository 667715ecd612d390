// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow flowlogs` with only the flowlogs subcommand registered: the same command code as
 * bin/mirrorflow.mjs, without loading the other subcommands' modules (some of which load native
 * modules and tens of MiB at import time). The benchmark runs both entries.
 *
 *   node --import tsx bench/flowlogs/flowlogs-cli.ts flowlogs --pcap FILE …
 */
import { Command } from 'commander'
import { registerFlowlogs } from '../../src/cli/flowlogs.ts'

const program = new Command('mirrorflow').exitOverride()
registerFlowlogs(program)
try {
  await program.parseAsync(process.argv)
} catch (err) {
  process.stderr.write(`mirrorflow: ${(err as Error).message}\n`)
  process.exitCode = 1
}
