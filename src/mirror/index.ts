// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic mirroring, as AWS does it (spec-traffic-mirroring.md): the model (sources, targets,
 * filters, sessions), the evaluator (which session mirrors a packet), VXLAN encapsulation identical
 * to AWS's, and the datapaths that do it on a host — nftables `netdev` + vxlan devices in the kernel,
 * or a user-space capture → evaluate → UDP worker — plus an offline simulator (pcap in, VXLAN pcap out).
 *
 * ```ts
 * const { state } = parseAwsMirrorConfig(JSON.parse(readFileSync('c.json', 'utf8')))
 * await mirrorCapture(state, 'in.pcap', 'out.pcap')          // offline
 * const dp = createDatapath('auto')                           // live
 * await dp.apply(state)                                       // idempotent
 * await dp.remove()
 * ```
 *
 * It does not decide which interfaces exist or talk to the API (that is agent/ and control/), and it
 * does not receive mirror traffic (mirror-target/).
 * @module
 */
export * from './model.ts'
export {
  checkFilterRule,
  type CheckFilterRuleOptions,
  type FilterRuleFields,
  type FilterRuleProblem,
} from './rule-check.ts'
export { Direction, MirrorEvaluator, NEVER_MIRRORED_IPV4, NEVER_MIRRORED_IPV6 } from './evaluator.ts'
export { symmetricFlowHash, outerSourcePort, applianceIndex } from './flow-hash.ts'
export {
  HEADROOM,
  mirroredLength,
  prependOuter,
  prependVXLAN,
  OUTER_TTL,
  type OuterAddressing,
} from './encapsulate.ts'
export {
  MirrorPipeline,
  type MirrorPipelineOptions,
  type MirrorSink,
  type PipelineStats,
} from './pipeline.ts'
export { parseAwsMirrorConfig, type AwsMirrorConfig } from './aws-config.ts'
export {
  mirrorCapture,
  outerAddressing,
  type OfflineMirrorOptions,
  type OfflineMirrorResult,
} from './offline.ts'
export { MirrorConfigError, DatapathError } from './errors.ts'
export {
  AutoDatapath,
  createDatapath,
  type ApplyResult,
  type Datapath,
  type DatapathType,
} from './datapath/datapath.ts'
export {
  isEgressUnsupportedError,
  isMissingTableError,
  NftablesDatapath,
  probeNetdevEgress,
  removeKernelLeftovers,
  type NftablesDatapathOptions,
} from './datapath/nftables.ts'
export {
  UserspaceDatapath,
  type UserspaceDatapathOptions,
  type UserspaceStats,
} from './datapath/userspace.ts'
export {
  compileNftables,
  kernelCapable,
  ruleMatch,
  DEFAULT_NFT_NAMING,
  type CompiledNftables,
  type NftNaming,
  type VxlanDeviceSpec,
} from './datapath/nftables-compile.ts'
