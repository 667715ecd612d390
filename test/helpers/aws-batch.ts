// SPDX-License-Identifier: Apache-2.0
/**
 * The real AWS CLI (/usr/bin/aws, run by its own interpreter /usr/bin/python3) for many commands at
 * the cost of one start: `aws-batch.py` runs the unmodified /usr/bin/aws script once per command in
 * one Python process, so that only the interpreter start and the imports (about a second of CPU per
 * separate `aws` process) are shared. Argument parsing, serialization, signing, HTTP, response
 * parsing, output and error printing and the exit code are the CLI's own, per command.
 * Commands run one after another in the order they are given. A command may carry its own
 * environment (`runAs`: another caller's keys, a profile, a region), set for that command only; each
 * command's CLI builds a new botocore Session, so no credentials carry over from one command to the
 * next (test/integration/aws-batch.test.ts signs two commands of one batch as two callers).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import type { CliResult } from './api-server.ts'
import { REPO_ROOT } from './shared.ts'

/** A Python process running /usr/bin/aws commands against one endpoint. */
export class AwsBatch {
  readonly #child: ChildProcess
  readonly #pending: Array<(r: CliResult) => void> = []
  readonly #url: string
  #stderr = ''
  /** Commands run so far. */
  runs = 0

  constructor(env: NodeJS.ProcessEnv, url: string) {
    this.#url = url
    this.#child = spawn('/usr/bin/python3', [join(REPO_ROOT, 'test', 'helpers', 'aws-batch.py')], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#child
      .stderr!.setEncoding('utf8')
      .on('data', (d: string) => (this.#stderr = (this.#stderr + d).slice(-4000)))
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as { code: number; stdout: string; stderr: string }
      let json: unknown = null
      try {
        json = r.stdout.trim() === '' ? null : JSON.parse(r.stdout)
      } catch {
        json = null
      }
      this.#pending.shift()?.({ code: r.code, stdout: r.stdout, stderr: r.stderr, json })
    })
    this.#child.once('close', (code) => {
      for (const p of this.#pending.splice(0))
        p({ code: code ?? -1, stdout: '', stderr: `aws-batch ended: ${this.#stderr}`, json: null })
    })
  }

  /** Runs `aws ARGS --endpoint-url URL --output json`; never throws on a non-zero exit. */
  run(...args: string[]): Promise<CliResult> {
    return this.runAs({}, ...args)
  }

  /**
   * Runs `aws ARGS --endpoint-url URL --output json` with `env` over the batch's environment for
   * this command only (`undefined` unsets a variable); never throws on a non-zero exit.
   */
  runAs(env: Record<string, string | undefined>, ...args: string[]): Promise<CliResult> {
    return this.runRaw(env, [...args, '--endpoint-url', this.#url, '--output', 'json'])
  }

  /** Runs `aws ARGS` exactly as given (no endpoint, no output format added), `env` as in `runAs`. */
  runRaw(env: Record<string, string | undefined>, argv: string[]): Promise<CliResult> {
    this.runs++
    const overrides: Record<string, string | null> = {}
    for (const [k, v] of Object.entries(env)) overrides[k] = v ?? null
    return new Promise((resolve) => {
      this.#pending.push(resolve)
      this.#child.stdin!.write(JSON.stringify({ argv, env: overrides }) + '\n')
    })
  }

  /** Ends the Python process. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return
    const closed = new Promise((r) => this.#child.once('close', r))
    this.#child.stdin!.end()
    await closed
  }
}
