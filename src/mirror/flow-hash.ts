// SPDX-License-Identifier: Apache-2.0
/**
 * A direction-symmetric flow hash: both directions of a flow (A→B and B→A) give the same value.
 * It picks the outer UDP source port of a mirrored packet and the appliance of a load-balancer target.
 * @module
 */
import type { PacketMeta } from '../packet/index.ts'

function mix(h: number, k: number): number {
  // murmur3 32-bit block mix.
  k = Math.imul(k, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

function finish(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

function word(b: Uint8Array, off: number): number {
  return (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]! | 0
}

/**
 * The symmetric hash of a decoded packet's flow: the two (address, port) endpoints are put in a fixed
 * order before hashing (as Linux's `__flow_hash_consistentify` does), so the two directions agree.
 * TCP/UDP/SCTP use the 5-tuple; other protocols (ICMP included: PacketMeta has no ports for it) hash
 * addresses and protocol only, the "3-tuple" of spec §2.2. Non-IP frames hash to 0. No allocation.
 */
export function symmetricFlowHash(m: PacketMeta, bytes: Uint8Array): number {
  let h = 0x9747b28c ^ m.ipProto
  let sp = m.srcPort
  let dp = m.dstPort
  if (m.ipVersion === 4) {
    let a = m.src4 >>> 0
    let b = m.dst4 >>> 0
    if (a > b || (a === b && sp > dp)) {
      const t = a
      a = b
      b = t
      const u = sp
      sp = dp
      dp = u
    }
    h = mix(h, a | 0)
    h = mix(h, b | 0)
  } else if (m.ipVersion === 6) {
    let a = m.src6Offset
    let b = m.dst6Offset
    let cmp = 0
    for (let i = 0; i < 16 && cmp === 0; i++) cmp = bytes[a + i]! - bytes[b + i]!
    if (cmp > 0 || (cmp === 0 && sp > dp)) {
      const t = a
      a = b
      b = t
      const u = sp
      sp = dp
      dp = u
    }
    for (let i = 0; i < 16; i += 4) h = mix(h, word(bytes, a + i))
    for (let i = 0; i < 16; i += 4) h = mix(h, word(bytes, b + i))
  } else {
    return 0
  }
  h = mix(h, (sp << 16) | dp | 0)
  return finish(h)
}

/**
 * Outer UDP source port for a flow hash. UNCONFIRMED (spec §2.2, §7.7): AWS was observed using
 * 0xFF80–0xFFF5, consistent with `0xFF80 | 7-bit hash`; we follow the spec's recommendation and use
 * exactly that (128 ports, symmetric per flow).
 */
export function outerSourcePort(flowHash: number): number {
  return 0xff80 | (flowHash & 0x7f)
}

/** The appliance of a load-balancer target with `n` appliances for a flow hash (uses bits the port does not). */
export function applianceIndex(flowHash: number, n: number): number {
  return n <= 1 ? 0 : (flowHash >>> 8) % n
}
