// SPDX-License-Identifier: Apache-2.0
/**
 * Finding input files: the paths a user names (files or directories, walked recursively) and the
 * objects in local bucket directories. Bounded: at most `maxFiles` files and `maxDepth` levels;
 * symbolic links met while walking a directory are not followed (a link named directly is). Every
 * file system error names its path (`AnalyticsSourceError`) instead of escaping as a raw errno.
 * @module
 */
import { open, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AnalyticsSourceError } from './errors.ts'

export interface DiscoverOptions {
  /** Whether a file met while walking a directory is an input (files named directly always are). */
  accept: (path: string) => boolean
  /** Most files in all (default 100,000): more is an error, not a silent cut. */
  maxFiles?: number | undefined
  /** Deepest directory level walked below a named directory (default 32). */
  maxDepth?: number | undefined
}

export interface DiscoveredFile {
  /** Absolute path. */
  path: string
  /** True when the user named this file itself (not found by walking a directory). */
  explicit: boolean
}

const DEFAULT_MAX_FILES = 100_000
const DEFAULT_MAX_DEPTH = 32

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code !== undefined ? `${e.code}: ${e.message}` : String(err)
}

/** The files under `paths`, sorted, each once. */
export async function discoverFiles(
  paths: readonly string[],
  opts: DiscoverOptions,
): Promise<DiscoveredFile[]> {
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH
  const found = new Map<string, DiscoveredFile>()
  const add = (path: string, explicit: boolean): void => {
    const prev = found.get(path)
    if (prev !== undefined) {
      prev.explicit ||= explicit
      return
    }
    if (found.size >= maxFiles) {
      throw new AnalyticsSourceError(
        path,
        `more than ${maxFiles} input files: name fewer files or directories`,
      )
    }
    found.set(path, { path, explicit })
  }
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > maxDepth) throw new AnalyticsSourceError(dir, `deeper than ${maxDepth} directory levels`)
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      throw new AnalyticsSourceError(dir, `cannot read the directory (${describe(err)})`, { cause: err })
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p, depth + 1)
      else if (e.isFile() && opts.accept(p)) add(p, false)
    }
  }
  for (const raw of paths) {
    if (raw.length === 0 || raw.length > 4096 || raw.includes('\0')) {
      throw new AnalyticsSourceError(raw.slice(0, 200), 'not a usable path')
    }
    const p = resolve(raw)
    let st
    try {
      st = await stat(p)
    } catch (err) {
      throw new AnalyticsSourceError(raw, `cannot read (${describe(err)})`, { cause: err })
    }
    if (st.isDirectory()) await walk(p, 0)
    else if (st.isFile()) add(p, true)
    else throw new AnalyticsSourceError(raw, 'neither a file nor a directory')
  }
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** The first `n` bytes of a file (fewer if it is shorter). */
export async function readPrefix(path: string, n: number): Promise<Buffer> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw new AnalyticsSourceError(path, `cannot open (${describe(err)})`, { cause: err })
  }
  try {
    const buf = Buffer.alloc(n)
    const { bytesRead } = await fh.read(buf, 0, n, 0)
    return buf.subarray(0, bytesRead)
  } catch (err) {
    throw new AnalyticsSourceError(path, `cannot read (${describe(err)})`, { cause: err })
  } finally {
    await fh.close()
  }
}
