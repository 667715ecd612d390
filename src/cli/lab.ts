// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow lab link NS` / `mirrorflow lab unlink NS`: a link from a network namespace to the host
 * (src/lab/host-link.ts), so that an agent inside the namespace reaches a server on the host. Prints
 * the addresses and the two commands to run (`--json`: the link as an object). Needs root.
 * @module
 */
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'
import { mirrorflowCommand } from '../entry-points.ts'

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description('network-namespace helpers (a link from a namespace to the host)')
  lab
    .command('link')
    .description(
      'link a network namespace to the host, so that an agent inside it reaches a server on the host',
    )
    .argument('<netns>', 'the network namespace')
    .option('--port <n>', 'the server port to show in the printed commands', '4566')
    .option('--json', 'print the link as JSON')
    .action(async (netns: string, o: { port: string; json?: boolean }) => {
      const port = Number(o.port)
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new UsageError(`--port must be 1 to 65535, got ${o.port}`)
      if (process.getuid?.() !== 0) throw new UsageError('linking namespaces needs root')
      const { linkNamespaceToHost } = await import('../lab/index.ts')
      const link = await linkNamespaceToHost(netns)
      if (o.json === true) {
        process.stdout.write(JSON.stringify(link, null, 2) + '\n')
        return
      }
      const cli = mirrorflowCommand()
      process.stdout.write(
        [
          `linked: host ${link.hostIfname} ${link.hostAddress}/30  <->  ${netns} ${link.nsIfname} ${link.nsAddress}/30`,
          'start the server on the host end:',
          `${cli} server --host ${link.hostAddress} --port ${port}`,
          'and the agent inside the namespace:',
          `ip netns exec ${netns} ${cli} agent --server http://${link.hostAddress}:${port}`,
          'remove the link:',
          `${cli} lab unlink ${netns}`,
        ].join('\n') + '\n',
      )
    })
  lab
    .command('unlink')
    .description('remove the link made by "lab link"')
    .argument('<netns>', 'the network namespace')
    .action(async (netns: string) => {
      if (process.getuid?.() !== 0) throw new UsageError('unlinking namespaces needs root')
      const { unlinkNamespaceFromHost } = await import('../lab/index.ts')
      const removed = await unlinkNamespaceFromHost(netns)
      process.stdout.write(removed ? `removed the link of ${netns}\n` : `${netns} had no link to the host\n`)
    })
}
