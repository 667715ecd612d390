// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic AWS never records in flow logs, dropped when `excludeUnlogged` is on: the instance metadata
 * service 169.254.169.254, Amazon Time Sync 169.254.169.123, the link-local DNS resolver
 * 169.254.169.253, and DHCP/DHCPv6 — a UDP packet between two DHCP ports of one protocol
 * (`isDhcpPorts`, the test the mirror engine applies too; a packet from an ephemeral port to UDP 67 is
 * logged). The VPC+2 resolver is not known offline and is kept. Per packet: no allocation.
 * @module
 */
import { isDhcpPorts } from '../packet/index.ts'

const IP_169_254_169_254 = 0xa9fea9fe
const IP_169_254_169_123 = 0xa9fea97b
const IP_169_254_169_253 = 0xa9fea9fd
const UDP = 17

/** True for an IPv4 packet AWS does not log (addresses as unsigned 32-bit numbers). */
export function isUnlogged4(s: number, d: number, proto: number, sport: number, dport: number): boolean {
  if (s === IP_169_254_169_254 || d === IP_169_254_169_254) return true
  if (s === IP_169_254_169_123 || d === IP_169_254_169_123) return true
  if (s === IP_169_254_169_253 || d === IP_169_254_169_253) return true
  return proto === UDP && isDhcpPorts(sport, dport)
}

/** True for an IPv6 packet AWS does not log (DHCPv6; the IPv6 metadata addresses are not excluded). */
export function isUnlogged6(proto: number, sport: number, dport: number): boolean {
  return proto === UDP && isDhcpPorts(sport, dport)
}
