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
