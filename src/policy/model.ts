// SPDX-License-Identifier: Apache-2.0
/**
 * What the enforcement engine takes: per interface of this host, the rules of its security groups
 * (already resolved to address blocks) and the entries of its subnet's network ACL. The shape follows
 * the control plane's desired state field by field, so the agent hands it over without translation;
 * the engine knows nothing of the control plane.
 *
 * Conventions: `protocol` is an IP protocol number or -1 (every protocol); `portRange` only for TCP
 * and UDP (null: every port); `icmpType`/`icmpCode` only for ICMP (1) and ICMPv6 (58) (null: any);
 * CIDR blocks of either family, a rule applying only to packets of its block's family.
 * @module
 */
import { tryParseCidr } from '../packet/index.ts'
import { PolicyConfigError } from './errors.ts'

export interface PolicyPortRange {
  fromPort: number
  toPort: number
}

/** One allow rule of a security group (direction given by the list that holds it). */
export interface PolicySecurityGroupRule {
  protocol: number
  portRange: PolicyPortRange | null
  icmpType: number | null
  icmpCode: number | null
  /** The peer blocks: source for ingress rules, destination for egress rules. Empty: matches nothing. */
  cidrBlocks: string[]
}

/** One network-ACL entry; entries are evaluated in ascending `ruleNumber`, first match decides. */
export interface PolicyNetworkAclEntry {
  ruleNumber: number
  ruleAction: 'allow' | 'deny'
  protocol: number
  /** Source block for inbound entries, destination block for outbound ones. */
  cidrBlock: string
  portRange: PolicyPortRange | null
  icmpType: number | null
  icmpCode: number | null
}

export interface PolicyNetworkAcl {
  networkAclId: string
  ingress: PolicyNetworkAclEntry[]
  egress: PolicyNetworkAclEntry[]
}

/** The enforcement of one local interface. */
export interface PolicyInterface {
  networkInterfaceId: string
  /** Linux interface name. */
  ifname: string
  ingressRules: PolicySecurityGroupRule[]
  egressRules: PolicySecurityGroupRule[]
  networkAcl: PolicyNetworkAcl
  /**
   * The NFLOG group (1–65535) a dropped packet of this interface is logged to before it is dropped,
   * so that the flow-log capture of the interface can record it as REJECT.
   */
  logGroup: number
  /**
   * A second NFLOG group (1–65535) for the packets dropped on their way IN, read by the interface's
   * user-space mirror worker so that it never mirrors them (absent: the interface is not mirrored).
   */
  mirrorLogGroup?: number | undefined
  /**
   * The interface's own addresses when its source/destination check is on (AWS's default): an
   * arriving packet to any other address, or a leaving one from any other address, is dropped and
   * logged like a rule's drop (absent: the check is off, as for a NAT or router instance).
   */
  ownAddresses?: string[] | undefined
}

/** Everything enforced in one network namespace. */
export interface PolicyState {
  interfaces: PolicyInterface[]
  /**
   * Addresses of mirror targets: this host's VXLAN mirror copies (UDP 4789) to them leave
   * unfiltered — AWS does not check mirror copies against the source's outbound rules.
   */
  mirrorTargets: string[]
  /** Extra addresses AWS never filters (the VPC resolvers at base+2), both directions. */
  exemptAddresses: string[]
  /**
   * The agent's own control connection (the server's address and TCP port): never filtered, as an
   * instance's link to AWS's control plane does not pass its security groups. Without it, a
   * connection opened before the table existed (so untracked) could lose its answers.
   */
  controlPlane?: Array<{ address: string; port: number }>
}

/** AWS's quotas on the API side are smaller; these bound what one state may carry. */
export const POLICY_LIMITS = {
  interfaces: 4096,
  rulesPerInterface: 16 * 1000,
  blocksPerRule: 4096,
  aclEntries: 1000,
  ownAddresses: 256,
} as const

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/

function bad(msg: string): never {
  throw new PolicyConfigError(msg)
}

function int(v: unknown, lo: number, hi: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi
}

function checkMatch(
  where: string,
  r: {
    protocol: number
    portRange: PolicyPortRange | null
    icmpType: number | null
    icmpCode: number | null
  },
): void {
  if (!int(r.protocol, -1, 255)) bad(`${where}: protocol must be -1 to 255`)
  if (r.portRange !== null) {
    if (r.protocol !== 6 && r.protocol !== 17) bad(`${where}: a port range needs protocol 6 or 17`)
    const { fromPort, toPort } = r.portRange
    if (!int(fromPort, 0, 65535) || !int(toPort, 0, 65535) || fromPort > toPort)
      bad(`${where}: bad port range ${fromPort}-${toPort}`)
  }
  if (r.icmpType !== null || r.icmpCode !== null) {
    if (r.protocol !== 1 && r.protocol !== 58) bad(`${where}: ICMP type/code need protocol 1 or 58`)
    if (r.icmpType !== null && !int(r.icmpType, 0, 255)) bad(`${where}: bad ICMP type`)
    if (r.icmpCode !== null && !int(r.icmpCode, 0, 255)) bad(`${where}: bad ICMP code`)
    if (r.icmpType === null && r.icmpCode !== null) bad(`${where}: an ICMP code needs a type`)
  }
}

function checkCidr(where: string, c: unknown): void {
  if (typeof c !== 'string' || tryParseCidr(c, { requirePrefix: true }) === undefined)
    bad(`${where}: bad CIDR block ${JSON.stringify(c)}`)
}

/** Throws `PolicyConfigError` unless `s` is a state the compiler can turn into nftables. */
export function validatePolicyState(s: PolicyState): void {
  if (s.interfaces.length > POLICY_LIMITS.interfaces)
    bad(`at most ${POLICY_LIMITS.interfaces} interfaces per namespace`)
  const names = new Set<string>()
  const groups = new Set<number>()
  for (const i of s.interfaces) {
    const w = i.networkInterfaceId
    if (typeof i.ifname !== 'string' || !IFNAME.test(i.ifname)) bad(`${w}: bad interface name`)
    if (names.has(i.ifname)) bad(`${w}: interface ${i.ifname} given twice`)
    names.add(i.ifname)
    if (!int(i.logGroup, 1, 65535)) bad(`${w}: log group must be 1-65535`)
    if (groups.has(i.logGroup)) bad(`${w}: log group ${i.logGroup} used twice`)
    groups.add(i.logGroup)
    if (i.ownAddresses !== undefined) {
      if (!Array.isArray(i.ownAddresses) || i.ownAddresses.length > POLICY_LIMITS.ownAddresses)
        bad(`${w}: at most ${POLICY_LIMITS.ownAddresses} own addresses`)
      for (const a of i.ownAddresses) {
        const c = typeof a === 'string' ? tryParseCidr(a) : undefined
        if (c === undefined || c.prefixLength !== (c.family === 4 ? 32 : 128))
          bad(`${w}: bad own address ${JSON.stringify(a)}`)
      }
    }
    if (i.mirrorLogGroup !== undefined) {
      if (!int(i.mirrorLogGroup, 1, 65535)) bad(`${w}: mirror log group must be 1-65535`)
      if (groups.has(i.mirrorLogGroup)) bad(`${w}: log group ${i.mirrorLogGroup} used twice`)
      groups.add(i.mirrorLogGroup)
    }
    if (i.ingressRules.length + i.egressRules.length > POLICY_LIMITS.rulesPerInterface)
      bad(`${w}: too many security-group rules`)
    for (const r of [...i.ingressRules, ...i.egressRules]) {
      checkMatch(w, r)
      if (r.cidrBlocks.length > POLICY_LIMITS.blocksPerRule) bad(`${w}: too many blocks in one rule`)
      for (const c of r.cidrBlocks) checkCidr(w, c)
    }
    const acl = i.networkAcl
    if (acl.ingress.length + acl.egress.length > POLICY_LIMITS.aclEntries)
      bad(`${w}: too many network-ACL entries`)
    for (const list of [acl.ingress, acl.egress]) {
      // A number appears once per family: AWS's `*` entry is one IPv4 and one IPv6 entry, both 32767.
      const seen = new Set<string>()
      for (const e of list) {
        if (!int(e.ruleNumber, 1, 32767)) bad(`${w}: network-ACL rule number must be 1-32767`)
        const key = `${e.ruleNumber}/${typeof e.cidrBlock === 'string' && e.cidrBlock.includes(':') ? 6 : 4}`
        if (seen.has(key)) bad(`${w}: network-ACL rule number ${e.ruleNumber} twice`)
        seen.add(key)
        if (e.ruleAction !== 'allow' && e.ruleAction !== 'deny') bad(`${w}: bad network-ACL action`)
        checkMatch(w, e)
        checkCidr(w, e.cidrBlock)
      }
    }
  }
  for (const c of s.controlPlane ?? []) {
    if (!int(c.port, 1, 65535)) bad('control plane: bad port')
    checkCidr('control plane', `${c.address}/${c.address.includes(':') ? 128 : 32}`)
  }
  for (const a of [...s.mirrorTargets, ...s.exemptAddresses])
    checkCidr('exempt address', a.includes('/') ? a : `${a}/${a.includes(':') ? 128 : 32}`)
}
