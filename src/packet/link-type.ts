// SPDX-License-Identifier: Apache-2.0

/** tcpdump.org LINKTYPE_* values that mirrorflow decodes. */
export const LinkType = {
  Null: 0,
  Ethernet: 1,
  Raw: 101,
  Loop: 108,
  LinuxSLL: 113,
  IPv4: 228,
  IPv6: 229,
  LinuxSLL2: 276,
} as const
export type LinkType = (typeof LinkType)[keyof typeof LinkType]
