// SPDX-License-Identifier: Apache-2.0
/** Running `ip`/`nft` (optionally inside a network namespace) for the datapaths. @module */
import { execFile } from 'node:child_process'
import { DatapathError } from '../errors.ts'

/** The argv prefix that runs a program in `netns` (or as is when undefined). */
export function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns === undefined ? [...argv] : ['ip', 'netns', 'exec', netns, ...argv]
}

/** Runs a command; resolves with stdout, rejects with `DatapathError` carrying stderr. */
export async function sh(argv: readonly string[], input?: string, iface = ''): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: 30_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new DatapathError(`${argv.join(' ')}: ${String(stderr).trim() || err.message}`, iface, {
              cause: err,
            }),
          )
        else resolve(String(stdout))
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}
