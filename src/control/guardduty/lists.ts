// SPDX-License-Identifier: Apache-2.0
/**
 * IP lists of GuardDuty's ThreatIntelSets and IPSets: reading a list from its `Location` (a file
 * confined to the lists root, or `s3://bucket/key` in the server's local bucket directory), parsing
 * the `TXT` format (one IPv4/IPv6 address or CIDR block a line, `#` comments), and matching an address
 * against the parsed list in logarithmic time (IPv4: merged, sorted ranges and a binary search; IPv6:
 * a bounded scan of its blocks).
 * @module
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync, constants } from 'node:fs'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { cidrContains, parseAddress, tryParseCidr, type Cidr } from '../../packet/index.ts'
import { ApiError, truncate } from '../core/errors.ts'
import './errors.ts'

/** Largest list file read (bytes): GuardDuty's own limit for a ThreatIntelSet file is 35 MB. */
export const LIST_FILE_MAX_BYTES = 35 * 1024 * 1024
/** Most entries kept of one list; the rest are counted as dropped. */
export const LIST_MAX_ENTRIES = 250_000
/** Most IPv6 blocks of one list (matched by a scan). */
export const LIST_MAX_V6 = 10_000

/** A parsed list that answers `contains(address)`. */
export class IpList {
  /** IPv4 ranges, merged and sorted: lo[i]..hi[i] inclusive. */
  private readonly lo: Float64Array
  private readonly hi: Float64Array
  private readonly v6: Cidr[]
  readonly entries: number
  readonly invalid: number
  readonly dropped: number

  constructor(text: string) {
    const ranges: [number, number][] = []
    const v6: Cidr[] = []
    let entries = 0
    let invalid = 0
    let dropped = 0
    for (const raw of text.split('\n')) {
      const hash = raw.indexOf('#')
      const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim()
      if (line === '') continue
      const c = tryParseCidr(line)
      if (c === undefined) {
        invalid++
        continue
      }
      if (entries >= LIST_MAX_ENTRIES || (c.family === 6 && v6.length >= LIST_MAX_V6)) {
        dropped++
        continue
      }
      entries++
      if (c.family === 4) {
        const size = 2 ** (32 - c.prefixLength)
        ranges.push([c.v4 >>> 0, (c.v4 >>> 0) + size - 1])
      } else v6.push(c)
    }
    ranges.sort((a, b) => a[0] - b[0])
    const merged: [number, number][] = []
    for (const r of ranges) {
      const last = merged[merged.length - 1]
      if (last !== undefined && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1])
      else merged.push([r[0], r[1]])
    }
    this.lo = Float64Array.from(merged.map((r) => r[0]))
    this.hi = Float64Array.from(merged.map((r) => r[1]))
    this.v6 = v6
    this.entries = entries
    this.invalid = invalid
    this.dropped = dropped
  }

  /** Whether the address (text) is in the list; false for anything that is not an address. */
  contains(address: string): boolean {
    const a = parseAddress(address)
    if (a === undefined) return false
    if (a.family === 4) return this.contains4(a.v4 >>> 0)
    for (const c of this.v6) if (cidrContains(c, a)) return true
    return false
  }

  /** Whether an IPv4 address (unsigned 32-bit) is in the list. */
  contains4(v: number): boolean {
    let l = 0
    let h = this.lo.length - 1
    while (l <= h) {
      const m = (l + h) >> 1
      if (v < this.lo[m]!) h = m - 1
      else if (v > this.hi[m]!) l = m + 1
      else return true
    }
    return false
  }
}

/** Where lists are read from: a root for file paths, and the local bucket directory for `s3://`. */
export interface ListRoots {
  /** Directory a plain path (absolute or relative) must resolve inside. */
  files: string
  /** The server's local bucket directory (`<dir>/<bucket>/<key>`). */
  buckets: string
}

function confined(root: string, rel: string, location: string): string {
  const rootReal = realpathSync(root)
  const p = isAbsolute(rel) ? resolve(rel) : resolve(rootReal, rel)
  let real: string
  try {
    real = realpathSync(p)
  } catch {
    throw badLocation(location, 'the file does not exist')
  }
  const r = relative(rootReal, real)
  if (r === '' || r.startsWith('..') || isAbsolute(r) || r.split(sep).includes('..'))
    throw badLocation(location, `the file is not inside ${rootReal}`)
  return real
}

function badLocation(location: string, why: string): ApiError {
  return new ApiError(
    'BadRequestException',
    `The request is rejected because the location '${truncate(location, 200)}' cannot be read: ${why}.`,
  )
}

/**
 * Reads a list's text from its location: `s3://bucket/key` (the local bucket directory) or a path
 * inside the files root. Refuses anything else (https:// and other schemes), paths escaping the root
 * (links included), non-regular files and files over {@link LIST_FILE_MAX_BYTES}.
 */
export function readListLocation(location: string, roots: ListRoots): string {
  let file: string
  if (location.startsWith('s3://')) {
    const rest = location.slice(5)
    const slash = rest.indexOf('/')
    const bucket = slash < 0 ? rest : rest.slice(0, slash)
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || slash < 0)
      throw badLocation(location, 'not s3://bucket/key')
    file = confined(roots.buckets, `${bucket}/${rest.slice(slash + 1)}`, location)
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw badLocation(location, 'only s3:// locations and files under the lists root are read')
  } else {
    file = confined(roots.files, location, location)
  }
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    throw badLocation(location, (err as NodeJS.ErrnoException).code ?? 'cannot open')
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw badLocation(location, 'not a regular file')
    if (st.size > LIST_FILE_MAX_BYTES) throw badLocation(location, `larger than ${LIST_FILE_MAX_BYTES} bytes`)
    const buf = Buffer.alloc(st.size)
    let off = 0
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off)
      if (n === 0) break
      off += n
    }
    return buf.subarray(0, off).toString('utf8')
  } finally {
    closeSync(fd)
  }
}
