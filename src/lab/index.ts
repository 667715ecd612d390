// SPDX-License-Identifier: Apache-2.0
/**
 * The lab: network-namespace helpers (netns.ts), the demo's small VPC (vpc-lab.ts), its traffic
 * generators (traffic.ts) and the demo itself (demo.ts), which runs server, agents and target
 * against that VPC through the EC2 API.
 *
 * ```ts
 * const lab = await VpcLab.create('mflab1')
 * try { await lab.startServers(10); console.log(await lab.runClients(10)) } finally { await lab.cleanup() }
 * ```
 *
 * Traffic never leaves the lab: every generator refuses addresses outside 10.0.0.0/16.
 * @module
 */
export {
  Lab,
  cleanupPrefix,
  interfaceMac,
  interfaceStats,
  nsArgv,
  nsExec,
  nsSpawn,
  run,
  stopProcess,
  uniquePrefix,
} from './netns.ts'
export { LAB_SUBNETS, LAB_VPC_CIDR, VpcLab, type LabHost, type LabTrafficReport } from './vpc-lab.ts'
export {
  assertLabAddress,
  connectScan,
  LAB_CIDR,
  runAttacker,
  runClient,
  startDbServer,
  startSshListener,
  startWebServer,
} from './traffic.ts'
export { DemoError, LabError } from './errors.ts'
export { hostIfnameFor, linkNamespaceToHost, unlinkNamespaceFromHost, type HostLink } from './host-link.ts'
export {
  countRecords,
  DEMO_BUCKET,
  PCAP_API_PORT,
  runDemo,
  type DemoConsole,
  type DemoOptions,
  type DemoSummary,
} from './demo.ts'
