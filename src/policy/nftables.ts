// SPDX-License-Identifier: Apache-2.0
/**
 * Applies a compiled policy: one `nft -f` transaction per namespace that deletes and recreates the
 * enforcement table (so no packet ever meets half a ruleset), skipped when the table's comment already
 * holds the same hash. Conntrack entries live outside the table, so replacing it never cuts a tracked
 * connection: a rule change applies to new flows, as AWS documents for security groups.
 * @module
 */
import { execFile } from 'node:child_process'
import { compilePolicy, DEFAULT_POLICY_NAMING, type CompiledPolicy, type PolicyNaming } from './compile.ts'
import { PolicyApplyError } from './errors.ts'
import type { PolicyState } from './model.ts'

function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns === undefined ? [...argv] : ['ip', 'netns', 'exec', netns, ...argv]
}

async function run(argv: readonly string[], input?: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new PolicyApplyError(
              `${argv.join(' ')}: ${String(stderr).trim().slice(0, 2000) || err.message}`,
              {
                cause: err,
              },
            ),
          )
        else resolve(String(stdout))
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** The hash in the table's comment; null when there is no table; '' when it has none of ours. */
async function currentHash(netns: string | undefined, table: string): Promise<string | null> {
  let out: string
  try {
    out = await run(inNetns(netns, ['nft', '-t', 'list', 'table', 'inet', table]))
  } catch (err) {
    if (err instanceof Error && /No such file or directory/.test(err.message)) return null
    throw err
  }
  return /comment "mirrorflow-policy:([0-9a-f]+)"/.exec(out)?.[1] ?? ''
}

/** Result of one apply. */
export interface PolicyApplyResult {
  changed: boolean
  interfaces: number
  elements: number
}

/**
 * The enforcement datapath of one network namespace (undefined: the current one). `apply` makes the
 * kernel hold exactly the given state; `remove` deletes the table.
 */
export class NftablesPolicy {
  readonly naming: PolicyNaming
  readonly netns: string | undefined
  /** Hash of what this object last applied ('' for nothing): lets an unchanged state skip the table listing. */
  #applied: string | null = null

  constructor(opts: { naming?: PolicyNaming; netns?: string } = {}) {
    this.naming = opts.naming ?? DEFAULT_POLICY_NAMING
    this.netns = opts.netns
  }

  compile(state: PolicyState): CompiledPolicy {
    return compilePolicy(state, this.naming)
  }

  async apply(state: PolicyState): Promise<PolicyApplyResult> {
    const c = this.compile(state)
    const res = { changed: false, interfaces: state.interfaces.length, elements: c.elements }
    // Listing a large table takes seconds: when this object applied the same hash, only check that
    // the table is still there (a cheap listing of table names).
    if (this.#applied !== null && this.#applied === c.hash) {
      const stdout = await run(inNetns(this.netns, ['nft', 'list', 'tables', 'inet']))
      const exists = stdout.split('\n').some((l) => l.trim() === `table inet ${c.table}`)
      if (exists === (c.hash !== '')) return res
    } else {
      const cur = await currentHash(this.netns, c.table)
      if (c.hash === '' ? cur === null : cur === c.hash) {
        this.#applied = c.hash
        return res
      }
    }
    await run(inNetns(this.netns, ['nft', '-f', '-']), c.script)
    this.#applied = c.hash
    return { ...res, changed: true }
  }

  /** Deletes the table (nothing of the enforcement is left). True when there was one. */
  async remove(): Promise<boolean> {
    const t = this.naming.table
    this.#applied = null
    if ((await currentHash(this.netns, t)) === null) return false
    await run(inNetns(this.netns, ['nft', 'delete', 'table', 'inet', t]))
    return true
  }
}
