// SPDX-License-Identifier: Apache-2.0
/**
 * The `mirrorflow` command line: one executable, one subcommand per job. Each subcommand lives in
 * its own file here and registers itself on the program; this file only wires them and turns
 * errors into exit codes.
 * @module
 */
import { Command, CommanderError } from 'commander'
import { hasCode, MirrorflowError } from '../errors.ts'
import { registerInspect } from './inspect.ts'
import { registerTarget } from './target.ts'
import { registerAgent } from './agent.ts'
import { registerDemo } from './demo.ts'
import { registerFlowlogs } from './flowlogs.ts'
import { registerMirror } from './mirror.ts'
import { registerServer } from './server.ts'
import { registerAdmin } from './admin.ts'

export function buildProgram(): Command {
  const program = new Command('mirrorflow')
    .description('AWS Traffic Mirroring and VPC Flow Logs for any Linux network')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError()
  registerInspect(program)
  registerTarget(program)
  registerAgent(program)
  registerDemo(program)
  registerFlowlogs(program)
  registerMirror(program)
  registerServer(program)
  registerAdmin(program)
  return program
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode
      return
    }
    if (hasCode(err, 'MF_USAGE')) {
      process.stderr.write(`mirrorflow: ${(err as Error).message}\n`)
      process.exitCode = 2
      return
    }
    if (err instanceof MirrorflowError || (typeof err === 'object' && err !== null && 'code' in err)) {
      process.stderr.write(`mirrorflow: ${(err as Error).message}\n`)
      process.exitCode = 1
      return
    }
    throw err
  }
}
