// SPDX-License-Identifier: Apache-2.0
/**
 * The `mirrorflow` command line: one executable, one subcommand per job. Each subcommand lives in
 * its own file here and registers itself on the program; this file only wires them and turns
 * errors into exit codes.
 * @module
 */
import { Command, CommanderError } from 'commander'
import { hasCode, MirrorflowError } from '../errors.ts'
type Register = (program: Command) => void

/**
 * The subcommands, each loaded only when it runs: a command pays for its own modules alone (the
 * server's, for one, load native code and tens of MiB), which keeps `mirrorflow flowlogs` and
 * `mirrorflow inspect` fast to start. Help with no command loads them all, to list them.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  inspect: async () => (await import('./inspect.ts')).registerInspect,
  target: async () => (await import('./target.ts')).registerTarget,
  agent: async () => (await import('./agent.ts')).registerAgent,
  demo: async () => (await import('./demo.ts')).registerDemo,
  flowlogs: async () => (await import('./flowlogs.ts')).registerFlowlogs,
  mirror: async () => (await import('./mirror.ts')).registerMirror,
  server: async () => (await import('./server.ts')).registerServer,
  admin: async () => (await import('./admin.ts')).registerAdmin,
}

/** The program with the subcommand named in `argv` registered (all of them when none is named). */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('mirrorflow')
    .description('AWS Traffic Mirroring and VPC Flow Logs for any Linux network')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError()
  const name = argv[2]
  const wanted = name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS)
  for (const register of await Promise.all(wanted.map((n) => COMMANDS[n]!()))) register(program)
  return program
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv)
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
