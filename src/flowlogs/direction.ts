// SPDX-License-Identifier: Apache-2.0
/**
 * The direction of a packet relative to the interface of the flow log (`flow-direction`), as the
 * aggregator works it out when the capture point gives no per-frame hint:
 *
 * 1. the link layer: Linux cooked captures (`tcpdump -i any`, SLL/SLL2) carry the kernel's packet type
 *    (outgoing = egress, anything received = ingress); Ethernet frames are compared with the
 *    interface's MAC when one is known (from it = egress; to it, or to a group address = ingress);
 * 2. the addresses: a packet from one of the interface's addresses is egress, one to them ingress.
 *
 * Anything else has no known direction (0). All functions run per packet: no allocation.
 * @module
 */
import { LinkType } from '../packet/index.ts'
import { Direction } from './record.ts'

/** Linux packet types (SLL `sll_pkttype`): 4 = sent by this host; 0–3 = received. */
const PACKET_OUTGOING = 4

/**
 * Direction the link layer tells (Direction), or 0 when it does not. `macHi`/`macLo` are the
 * interface MAC's first 2 and last 4 bytes (`macHi` -1 when unknown).
 */
export function linkDirection(
  view: DataView,
  start: number,
  linkType: number,
  macHi: number,
  macLo: number,
): number {
  if (linkType === LinkType.LinuxSLL) {
    const t = view.getUint16(start)
    return t === PACKET_OUTGOING ? Direction.Egress : t < PACKET_OUTGOING ? Direction.Ingress : 0
  }
  if (linkType === LinkType.LinuxSLL2) {
    const t = view.getUint8(start + 10)
    return t === PACKET_OUTGOING ? Direction.Egress : t < PACKET_OUTGOING ? Direction.Ingress : 0
  }
  if (linkType === LinkType.Ethernet && macHi >= 0) {
    if (view.getUint16(start + 6) === macHi && view.getUint32(start + 8) === macLo) return Direction.Egress
    const d0 = view.getUint16(start)
    // To the interface, or to a group (broadcast/multicast: I/G bit of the first byte).
    if ((d0 === macHi && view.getUint32(start + 2) === macLo) || (d0 & 0x0100) !== 0) return Direction.Ingress
  }
  return 0
}

/** Direction of an IPv4 packet from `s` to `d` by the interface's addresses `local4`, or 0. */
export function addressDirection4(local4: Uint32Array, s: number, d: number): number {
  const n = local4.length
  for (let j = 0; j < n; j++) if (local4[j] === s) return Direction.Egress
  for (let j = 0; j < n; j++) if (local4[j] === d) return Direction.Ingress
  return 0
}

/**
 * Direction of an IPv6 packet by the interface's addresses `local6` (four words each), the source in
 * `k[3..6]` and the destination in `k[7..10]` (the flow table's scratch key), or 0.
 */
export function addressDirection6(local6: Uint32Array, k: Uint32Array): number {
  const n = local6.length
  for (let o = 0; o < n; o += 4) {
    if (local6[o] === k[3] && local6[o + 1] === k[4] && local6[o + 2] === k[5] && local6[o + 3] === k[6])
      return Direction.Egress
  }
  for (let o = 0; o < n; o += 4) {
    if (local6[o] === k[7] && local6[o + 1] === k[8] && local6[o + 2] === k[9] && local6[o + 3] === k[10])
      return Direction.Ingress
  }
  return 0
}
