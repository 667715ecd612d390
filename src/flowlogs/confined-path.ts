// SPDX-License-Identifier: Apache-2.0
/**
 * Writing files under a root directory, never outside it. Every writer of the flow-log engine whose
 * path comes from the API or the wire (a destination ARN's bucket and prefix, a flow-log id, an account
 * id, an S3 key walked from the spool) goes through here:
 *
 * - the relative part is split into segments, each checked (`checkKeySegments`): not empty, not `.` or
 *   `..`, no NUL byte, at most `MAX_SEGMENT_BYTES` bytes;
 * - directories are created one segment at a time below the root's real path; a segment that exists
 *   as a symbolic link or as anything but a directory is refused, so a link planted inside the root
 *   cannot lead a write outside it;
 * - the file is written to a temporary name opened with `O_EXCL` (never through an existing link) and
 *   renamed into place (a rename replaces a link, it does not follow it).
 *
 * A refusal is a `FlowLogsWriteError` with `reason: 'refused-path'`; a file-system failure (ENOSPC,
 * EMFILE, ENAMETOOLONG, EACCES…) is a `FlowLogsWriteError` whose `reason` is the errno code. Callers
 * count them; none of them is a crash.
 * @module
 */
import { lstat, mkdir, open, realpath, rename, unlink, copyFile, constants } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { FlowLogsDestinationError, FlowLogsWriteError } from './errors.ts'

/** Longest file-name component Linux file systems store (NAME_MAX). */
export const MAX_SEGMENT_BYTES = 255

/** Longest S3 object key (bytes, UTF-8), as S3 allows. */
export const MAX_KEY_BYTES = 1024

/**
 * Why a key segment is unusable, or null. Empty, `.`, `..` and NUL are refused for every store (they
 * would name another directory or nothing); length is checked separately where a file system is the
 * store.
 */
function segmentProblem(seg: string): string | null {
  if (seg === '') return 'an empty segment'
  if (seg === '.' || seg === '..') return `the segment '${seg}'`
  if (seg.includes('\0')) return 'a NUL byte'
  return null
}

/**
 * Checks a `/`-separated key (or prefix) taken from outside: throws `FlowLogsDestinationError` when a
 * segment is empty, `.`, `..` or holds a NUL byte, or when the key is longer than `MAX_KEY_BYTES`.
 */
export function checkKeySegments(key: string, what: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new FlowLogsDestinationError(`${what} is longer than ${MAX_KEY_BYTES} bytes`)
  }
  for (const seg of key.split('/')) {
    const p = segmentProblem(seg)
    if (p !== null) throw new FlowLogsDestinationError(`${what} '${key}' has ${p}`)
  }
}

/** Wraps a file-system failure (or a refusal) of `path` as a `FlowLogsWriteError`. */
export function writeError(path: string, err: unknown): FlowLogsWriteError {
  if (err instanceof FlowLogsWriteError) return err
  const code = (err as NodeJS.ErrnoException | null)?.code
  return new FlowLogsWriteError(path, typeof code === 'string' ? code : 'EIO', (err as Error).message, {
    cause: err,
  })
}

function refuse(path: string, why: string): FlowLogsWriteError {
  return new FlowLogsWriteError(path, 'refused-path', why)
}

/** Splits `rel` into checked segments; refuses what could leave the root. */
function segmentsOf(root: string, rel: string): string[] {
  if (rel === '') return []
  if (rel.startsWith('/')) throw refuse(join(root, rel), 'an absolute path')
  const segs = rel.split('/')
  for (const s of segs) {
    const p = segmentProblem(s)
    if (p !== null) throw refuse(join(root, rel), `a path with ${p}`)
    // Checked here so the error names the segment; the kernel would say ENAMETOOLONG as well.
    if (Buffer.byteLength(s, 'utf8') > MAX_SEGMENT_BYTES) {
      const e = new Error(
        `a path segment of ${Buffer.byteLength(s, 'utf8')} bytes (at most ${MAX_SEGMENT_BYTES})`,
      )
      ;(e as NodeJS.ErrnoException).code = 'ENAMETOOLONG'
      throw writeError(join(root, rel), e)
    }
  }
  return segs
}

/**
 * Creates `root` (trusted: it comes from configuration) and, below it, the directories of `relDir`
 * one by one, refusing links and non-directories on the way. Returns the absolute directory, under the
 * root's real path. Throws `FlowLogsWriteError`.
 */
export async function mkdirWithin(root: string, relDir: string): Promise<string> {
  const segs = segmentsOf(root, relDir)
  let dir: string
  try {
    await mkdir(root, { recursive: true })
    dir = await realpath(root)
  } catch (err) {
    throw writeError(root, err)
  }
  for (const s of segs) {
    const next = dir + sep + s
    try {
      const st = await lstat(next).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null
        throw e
      })
      if (st === null) {
        await mkdir(next).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e
        })
        // Lost a race with another creator: look again, as above.
        const again = await lstat(next)
        if (!again.isDirectory()) throw refuse(next, 'not a directory (a link or a file)')
      } else if (!st.isDirectory()) {
        throw refuse(next, st.isSymbolicLink() ? 'a symbolic link inside the root' : 'not a directory')
      }
    } catch (err) {
      throw writeError(next, err)
    }
    dir = next
  }
  return dir
}

let tmpSeq = 0

/** Writes the new file's bytes through `fill` to a fresh temporary file, then renames it to `dest`. */
async function replaceWith(dir: string, name: string, fill: (tmp: string) => Promise<void>): Promise<string> {
  const dest = join(dir, name)
  if (segmentProblem(name) !== null || name.includes('/')) throw refuse(dest, 'a bad file name')
  const tmp = join(dir, `.incoming-${process.pid}-${tmpSeq++}`)
  try {
    await fill(tmp)
    await rename(tmp, dest)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    throw writeError(dest, err)
  }
  return dest
}

/**
 * Writes `data` as `<root>/<relDir>/<name>` (all checked, see the module comment). Returns the absolute
 * path written. Throws `FlowLogsWriteError`.
 */
export async function writeFileWithin(
  root: string,
  relDir: string,
  name: string,
  data: Uint8Array,
): Promise<string> {
  const dir = await mkdirWithin(root, relDir)
  return replaceWith(dir, name, async (tmp) => {
    // O_EXCL: a link (or anything) already at the temporary name fails the open instead of being followed.
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
    try {
      await fh.writeFile(data)
    } finally {
      await fh.close()
    }
  })
}

/** Copies the file `src` to `<root>/<relDir>/<name>` (checked as `writeFileWithin`). */
export async function copyFileWithin(
  root: string,
  relDir: string,
  name: string,
  src: string,
): Promise<string> {
  const dir = await mkdirWithin(root, relDir)
  return replaceWith(dir, name, (tmp) => copyFile(src, tmp, constants.COPYFILE_EXCL))
}

/** Splits an S3 key into its folder and object name. */
export function splitKey(key: string): { dir: string; name: string } {
  const slash = key.lastIndexOf('/')
  return slash < 0 ? { dir: '', name: key } : { dir: key.slice(0, slash), name: key.slice(slash + 1) }
}

/** A writer's view of its write failures: counted, the last one kept, the first one reported. */
export interface WriteErrorStats {
  /** Objects (files) that could not be written. */
  writeErrors: number
  /** Records inside them (0 where the writer does not know). */
  droppedRecords: number
  /** `reason: message` of the last failure. */
  lastWriteError: string | null
}
