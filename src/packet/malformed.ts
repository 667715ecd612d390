// SPDX-License-Identifier: Apache-2.0

/** Why decoding of a frame stopped. Stored and counted: append only, never renumber. */
export const Malformed = {
  None: 0,
  EthernetTruncated: 1,
  VlanTruncated: 2,
  VlanTooDeep: 3,
  SllTruncated: 4,
  NullTruncated: 5,
  Ipv4Truncated: 6,
  Ipv4BadVersion: 7,
  Ipv4BadHeaderLength: 8,
  Ipv4BadTotalLength: 9,
  Ipv6Truncated: 10,
  Ipv6BadVersion: 11,
  Ipv6ExtTruncated: 12,
  Ipv6ExtChainTooLong: 13,
  TcpTruncated: 14,
  TcpBadDataOffset: 15,
  UdpTruncated: 16,
  IcmpTruncated: 17,
  /** No longer set: a UDP/4789 datagram too short for VXLAN decodes as plain UDP (kept: never renumber). */
  VxlanTruncated: 18,
  UnknownLinkType: 19,
  MplsTruncated: 20,
  MplsTooDeep: 21,
  /** An MPLS pseudowire's control word or inner Ethernet header is cut short. */
  MplsPwTruncated: 22,
} as const
export type Malformed = (typeof Malformed)[keyof typeof Malformed]

/** Names of the reasons, indexed by value (for counters and reports). */
export const MALFORMED_NAMES: readonly string[] = (() => {
  const names: string[] = []
  for (const [name, value] of Object.entries(Malformed)) names[value] = name
  return names
})()
