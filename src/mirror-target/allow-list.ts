// SPDX-License-Identifier: Apache-2.0
/**
 * Who may create a session: optional allow-lists of outer source blocks (CIDRs) and VNI ranges.
 * Checked once per new (VNI, source) pair, never per packet: a pair already in the session table
 * was allowed when it was created.
 * @module
 */
import { cidr4Contains, cidr6Contains, parseCidr, parseIPv4, parseIPv6, type Cidr } from '../packet/index.ts'
import { TargetConfigError } from './errors.ts'

/** Parses the source blocks; throws TargetConfigError naming the first bad one. */
export function parseAllowSources(blocks: readonly string[]): Cidr[] {
  return blocks.map((b) => {
    try {
      return parseCidr(b)
    } catch (err) {
      throw new TargetConfigError(`allowed source: ${(err as Error).message}`, { cause: err })
    }
  })
}

/** Parses `N`, `N-M` and comma-separated lists of them into inclusive VNI ranges. */
export function parseVniRanges(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,8})\s*(?:-\s*(\d{1,8})\s*)?$/.exec(part)
    if (!m) throw new TargetConfigError(`bad VNI or VNI range: '${part.slice(0, 32)}'`)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (lo > hi || hi > 0xffffff)
      throw new TargetConfigError(`VNI range ${lo}-${hi} is not within 0..16777215`)
    out.push([lo, hi])
  }
  return out
}

export class AllowList {
  private readonly v4: Cidr[]
  private readonly v6: Cidr[]
  private readonly anySource: boolean
  private readonly vnis: ReadonlyArray<[number, number]>

  constructor(sources: readonly string[], vnis: ReadonlyArray<[number, number]>) {
    const blocks = parseAllowSources(sources)
    this.v4 = blocks.filter((b) => b.family === 4)
    this.v6 = blocks.filter((b) => b.family === 6)
    this.anySource = blocks.length === 0
    this.vnis = vnis
  }

  vniAllowed(vni: number): boolean {
    const r = this.vnis
    if (r.length === 0) return true
    for (let i = 0; i < r.length; i++) {
      const [lo, hi] = r[i] as [number, number]
      if (vni >= lo && vni <= hi) return true
    }
    return false
  }

  /** `source` is the text the receivers produce (dotted quad, or RFC 5952 IPv6). */
  sourceAllowed(source: string): boolean {
    if (this.anySource) return true
    try {
      if (!source.includes(':')) {
        const a = parseIPv4(source)
        for (const c of this.v4) if (cidr4Contains(c, a)) return true
        return false
      }
      const b = parseIPv6(source)
      for (const c of this.v6) if (cidr6Contains(c, b, 0)) return true
    } catch {
      // Not an address: not allowed.
    }
    return false
  }
}
