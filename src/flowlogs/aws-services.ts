// SPDX-License-Identifier: Apache-2.0
/**
 * `pkt-src-aws-service` / `pkt-dst-aws-service` (spec §1.11): the name of the ip-ranges.json subset
 * holding a packet address, when it is an AWS address. mirrorflow never downloads the file: the user
 * passes AWS's published `ip-ranges.json` (`--aws-ip-ranges FILE`). Without it the fields are `-`.
 *
 * Overlaps: AWS shows one code. Every range is also listed under the umbrella `AMAZON`; AWS's example
 * shows `S3`, so a specific service wins over `AMAZON`, and among specific services (or among AMAZON
 * entries) the longest prefix wins. That choice is INFERRED; the spec marks the rule unconfirmed.
 * @module
 */
import { FlowLogsConfigError } from './errors.ts'
import { parseAddressWords as parseAddress } from '../packet/index.ts'

const UMBRELLA = 'AMAZON'

/** Longest-prefix tables (keys `masked/len`) for specific services [0] and for AMAZON [1]. */
export class AwsServiceRanges {
  private readonly v4 = [new Map<string, string>(), new Map<string, string>()] as const
  private readonly v6 = [new Map<string, string>(), new Map<string, string>()] as const
  /** Prefix lengths present in each table, longest first. */
  private lens4: [number[], number[]] = [[], []]
  private lens6: [number[], number[]] = [[], []]
  /** Number of prefixes loaded. */
  size = 0

  /** Builds the tables from the parsed content of AWS's ip-ranges.json. */
  static fromJson(json: unknown): AwsServiceRanges {
    const r = new AwsServiceRanges()
    const o = json as { prefixes?: unknown; ipv6_prefixes?: unknown }
    if (typeof o !== 'object' || o === null || !Array.isArray(o.prefixes)) {
      throw new FlowLogsConfigError('ip-ranges.json: expected an object with a "prefixes" array')
    }
    for (const p of o.prefixes as { ip_prefix?: unknown; service?: unknown }[]) r.add(p.ip_prefix, p.service)
    const v6 = Array.isArray(o.ipv6_prefixes)
      ? (o.ipv6_prefixes as { ipv6_prefix?: unknown; service?: unknown }[])
      : []
    for (const p of v6) r.add(p.ipv6_prefix, p.service)
    const lens = (m: Map<string, string>): number[] =>
      [...new Set([...m.keys()].map((key) => Number(key.slice(key.indexOf('/') + 1))))].sort((x, y) => y - x)
    r.lens4 = [lens(r.v4[0]), lens(r.v4[1])]
    r.lens6 = [lens(r.v6[0]), lens(r.v6[1])]
    return r
  }

  private add(prefix: unknown, service: unknown): void {
    if (typeof prefix !== 'string' || typeof service !== 'string' || !/^[A-Z0-9_]+$/.test(service)) {
      throw new FlowLogsConfigError(`ip-ranges.json: bad entry ${JSON.stringify({ prefix, service })}`)
    }
    const [addr, lenText] = prefix.split('/')
    const words = parseAddress(addr ?? '')
    const len = Number(lenText)
    if (
      words === null ||
      lenText === undefined ||
      !Number.isInteger(len) ||
      len < 0 ||
      len > words.length * 32
    ) {
      throw new FlowLogsConfigError(`ip-ranges.json: bad prefix '${prefix}'`)
    }
    const k = service === UMBRELLA ? 1 : 0
    const table = words.length === 1 ? this.v4[k] : this.v6[k]
    const key = words.length === 1 ? `${mask4(words[0]!, len)}/${len}` : `${mask6(words, len)}/${len}`
    // First entry wins for an identical prefix listed under two specific services.
    if (!table.has(key)) table.set(key, service)
    this.size++
  }

  /** Service of an IPv4 address (uint32), or null. */
  lookup4(a: number): string | null {
    for (let k = 0; k < 2; k++) {
      for (const len of this.lens4[k]!) {
        const s = this.v4[k]!.get(`${mask4(a, len)}/${len}`)
        if (s !== undefined) return s
      }
    }
    return null
  }

  /** Service of the IPv6 address in `w[off..off+4)`, or null. */
  lookup6(w: ArrayLike<number>, off: number): string | null {
    const words = [w[off]!, w[off + 1]!, w[off + 2]!, w[off + 3]!]
    for (let k = 0; k < 2; k++) {
      for (const len of this.lens6[k]!) {
        const s = this.v6[k]!.get(`${mask6(words, len)}/${len}`)
        if (s !== undefined) return s
      }
    }
    return null
  }
}

function mask4(a: number, len: number): number {
  return len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0
}

function mask6(words: readonly number[], len: number): string {
  const out: number[] = []
  for (let k = 0; k < 4; k++) {
    const bits = Math.max(0, Math.min(32, len - 32 * k))
    out.push(mask4(words[k]! >>> 0, bits))
  }
  return out.join(':')
}
