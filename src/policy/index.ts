// SPDX-License-Identifier: Apache-2.0
/**
 * Security groups and network ACLs, enforced on the host: each interface's groups (stateful, through
 * conntrack) and its subnet's ACL (stateless, first match in rule-number order) compiled into one
 * nftables `inet` table beside the mirror table and applied atomically; dropped packets are handed to
 * NFLOG so the flow-log capture records them as REJECT.
 *
 * ```ts
 * const p = new NftablesPolicy()
 * await p.apply({ interfaces: [{ networkInterfaceId, ifname: 'eth0', ingressRules, egressRules,
 *   networkAcl, logGroup: 20001 }], mirrorTargets: [], exemptAddresses: [] })
 * ```
 *
 * Knows nothing of the control plane: the agent hands over the desired state's `security` field.
 * @module
 */
export {
  compilePolicy,
  aclEntryRule,
  disjointBoxes,
  DEFAULT_POLICY_NAMING,
  EXEMPT_IPV4,
  EXEMPT_IPV6,
  NFLOG_SNAPLEN,
  POLICY_PRIORITY,
  type CompiledPolicy,
  type PolicyNaming,
} from './compile.ts'
export { PolicyApplyError, PolicyConfigError } from './errors.ts'
export {
  POLICY_LIMITS,
  validatePolicyState,
  type PolicyInterface,
  type PolicyNetworkAcl,
  type PolicyNetworkAclEntry,
  type PolicyPortRange,
  type PolicySecurityGroupRule,
  type PolicyState,
} from './model.ts'
export { NftablesPolicy, type PolicyApplyResult } from './nftables.ts'
