// SPDX-License-Identifier: Apache-2.0
/** EtherType, IP protocol and port numbers the packet layer knows by name. @module */

export const ETHERTYPE_IPV4 = 0x0800
export const ETHERTYPE_ARP = 0x0806
export const ETHERTYPE_VLAN = 0x8100
export const ETHERTYPE_IPV6 = 0x86dd
export const ETHERTYPE_QINQ = 0x88a8
/** Pre-standard Q-in-Q outer tag still seen on some switches. */
export const ETHERTYPE_QINQ_OLD = 0x9100
export const ETHERTYPE_MPLS = 0x8847
export const ETHERTYPE_MPLS_MULTICAST = 0x8848

export const IPPROTO_HOPOPTS = 0
export const IPPROTO_ICMP = 1
export const IPPROTO_TCP = 6
export const IPPROTO_UDP = 17
export const IPPROTO_DCCP = 33
export const IPPROTO_IPV6 = 41
export const IPPROTO_ROUTING = 43
export const IPPROTO_FRAGMENT = 44
export const IPPROTO_GRE = 47
export const IPPROTO_ESP = 50
export const IPPROTO_AH = 51
export const IPPROTO_ICMPV6 = 58
export const IPPROTO_NONE = 59
export const IPPROTO_DSTOPTS = 60
export const IPPROTO_MH = 135
export const IPPROTO_SCTP = 132
export const IPPROTO_UDPLITE = 136
export const IPPROTO_HIP = 139
export const IPPROTO_SHIM6 = 140

/** RFC 7348 IANA port for VXLAN (what AWS Traffic Mirroring sends to). */
export const VXLAN_PORT = 4789

/** VLAN tags decoded before a frame is declared `VlanTooDeep`. */
export const MAX_VLAN_DEPTH = 8
/** IPv6 extension headers followed before a frame is declared `Ipv6ExtChainTooLong`. */
export const MAX_IPV6_EXT_HEADERS = 16
/** MPLS labels decoded before a frame is declared `MplsTooDeep`. */
export const MAX_MPLS_DEPTH = 16

/**
 * DHCP ports by protocol: 1 for DHCPv4 (67 server, 68 client), 2 for DHCPv6 (546 client, 547 server
 * and relay), 0 for every other port. A table of 64 KiB read once per UDP packet.
 */
export const DHCP_PORT_CLASS = new Uint8Array(65536)
DHCP_PORT_CLASS[67] = DHCP_PORT_CLASS[68] = 1
DHCP_PORT_CLASS[546] = DHCP_PORT_CLASS[547] = 2

/**
 * True when a UDP packet is DHCP traffic: both ports are DHCP ports of the same protocol (67/68 with
 * 67/68, or 546/547 with 546/547; relays use 67↔67 and 547↔547). A packet from an ephemeral port to
 * 67 — a scan, a probe — is not DHCP. AWS neither mirrors nor logs DHCP; this is the one test both
 * the mirror engine and the flow-log engine apply.
 */
export function isDhcpPorts(sport: number, dport: number): boolean {
  const a = DHCP_PORT_CLASS[sport]!
  return a !== 0 && a === DHCP_PORT_CLASS[dport]
}
