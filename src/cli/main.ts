// SPDX-License-Identifier: Apache-2.0
/**
 * The `mirrorflow` command line: one executable, one subcommand per job. Each subcommand lives in
 * its own file here and registers itself on the program; this file only wires them and turns
 * errors into exit codes: 0 success, 1 failure, 2 usage error (unknown option or command, missing
 * argument, bad value).
 * @module
 */
import { Command, CommanderError } from 'commander'
import { hasCode, MirrorflowError } from '../errors.ts'
import { VERSION } from '../version.ts'
type Register = (program: Command) => void

interface CommandEntry {
  /** One line for `mirrorflow --help`; the subcommand's own module says the same. */
  summary: string
  load: () => Promise<Register>
}

/**
 * The subcommands, each loaded only when it runs: a command pays for its own modules alone (the
 * server's, for one, load native code and tens of MiB), which keeps `mirrorflow flowlogs` and
 * `mirrorflow inspect` fast to start. `mirrorflow --help` and `--version` load none of them: the
 * list below is what the top-level help prints.
 */
export const COMMANDS: Record<string, CommandEntry> = {
  demo: {
    summary: 'run a small VPC in network namespaces with mirroring and flow logs, end to end',
    load: async () => (await import('./demo.ts')).registerDemo,
  },
  server: {
    summary: 'run the EC2-compatible API server (Traffic Mirroring, Flow Logs)',
    load: async () => (await import('./server.ts')).registerServer,
  },
  status: {
    summary: 'what the server knows: agents (state, last seen, interfaces, errors) and targets',
    load: async () => (await import('./status.ts')).registerStatus,
  },
  admin: {
    summary: "mirrorflow's own API actions (register interfaces, access keys)",
    load: async () => (await import('./admin.ts')).registerAdmin,
  },
  agent: {
    summary: 'register this host with the server and apply its mirroring and flow logs',
    load: async () => (await import('./agent.ts')).registerAgent,
  },
  target: {
    summary: 'receive VXLAN mirror traffic: pcap per session, flow logs',
    load: async () => (await import('./target.ts')).registerTarget,
  },
  flowlogs: {
    summary: 'turn a capture (pcap/pcapng; "-" = stdin) into AWS VPC Flow Logs records',
    load: async () => (await import('./flowlogs.ts')).registerFlowlogs,
  },
  query: {
    summary: 'SQL over flow logs: Athena’s vpc_flow_logs table and Presto functions, in embedded DuckDB',
    load: async () => (await import('./query.ts')).registerQuery,
  },
  mirror: {
    summary: 'mirror a capture through Traffic Mirroring sessions into a VXLAN pcap',
    load: async () => (await import('./mirror.ts')).registerMirror,
  },
  lab: {
    summary: 'network-namespace helpers (a link from a namespace to the host)',
    load: async () => (await import('./lab.ts')).registerLab,
  },
  detect: {
    summary: 'GuardDuty findings (port scans, brute force, DoS, …) from flow-log files or captures',
    load: async () => (await import('./detect.ts')).registerDetect,
  },
  findings: {
    summary: "the server's GuardDuty findings as a table",
    load: async () => (await import('./findings.ts')).registerFindings,
  },
  pcap: {
    summary: "a flow's packets from the mirror targets' pcap rings, as one pcap file",
    load: async () => (await import('./pcap.ts')).registerPcap,
  },
  inspect: {
    summary: 'summarise capture files (pcap/pcapng; "-" = stdin; none = the bundled sample)',
    load: async () => (await import('./inspect.ts')).registerInspect,
  },
}

/**
 * The program with the subcommand named in `argv` registered. With no known subcommand (`--help`,
 * `--version`, a typo) every subcommand is listed by name and summary only: no module is loaded.
 */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('mirrorflow')
    .description('AWS Traffic Mirroring and VPC Flow Logs for any Linux network')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError()
  const name = argv[2]
  if (name !== undefined && Object.hasOwn(COMMANDS, name)) {
    const register = await COMMANDS[name]!.load()
    register(program)
  } else {
    for (const [n, c] of Object.entries(COMMANDS)) program.command(n).description(c.summary)
  }
  return program
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv)
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version displays exit 0; everything else commander rejects is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : 2
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
