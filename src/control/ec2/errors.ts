// SPDX-License-Identifier: Apache-2.0
/**
 * The EC2 error catalogue: every code the EC2 actions answer (besides the common ones of the
 * core), spelled as AWS spells them, with its HTTP status. Adding a code here is the only way to
 * throw it (`ApiError`'s code parameter is typed by the catalogue).
 * @module
 */
import { defineErrors } from '../core/errors.ts'

export const EC2_ERRORS = defineErrors({
  // Protocol and authorization, as EC2 answers them.
  AuthFailure: 401,
  DryRunOperation: 412,
  FilterLimitExceeded: 400,
  InvalidID: 400,
  InvalidNextToken: 400,
  InvalidRequest: 400,
  NoSuchVersion: 400,
  UnauthorizedOperation: 403,
  // Packets on demand (mirrorflow's GET /mirrorflow/v1/pcap).
  PacketsNoLongerHeld: 404,
  PacketsNotFound: 404,
  NoTargetAppliance: 503,
  TargetApplianceUnavailable: 502,
  // Traffic questions over the stored flow logs (MirrorflowQueryTraffic, MirrorflowSearchFlows).
  FlowLogStoreNotConfigured: 503,
  // VPCs, subnets, interfaces, instances.
  DependencyViolation: 400,
  InstanceLimitExceeded: 400,
  SubnetLimitExceeded: 400,
  VpcLimitExceeded: 400,
  NetworkInterfaceLimitExceeded: 400,
  'InvalidIPAddress.InUse': 400,
  'InvalidInstanceID.Malformed': 400,
  'InvalidInstanceID.NotFound': 400,
  'InvalidNetworkInterfaceId.Malformed': 400,
  'InvalidNetworkInterfaceID.NotFound': 400,
  'InvalidSubnet.Conflict': 400,
  'InvalidSubnet.Range': 400,
  'InvalidSubnetID.Malformed': 400,
  'InvalidSubnetID.NotFound': 400,
  'InvalidVpc.Range': 400,
  'InvalidVpcID.Malformed': 400,
  'InvalidVpcID.NotFound': 400,
  // Load balancers and endpoints a target points at.
  'InvalidNetworkLoadBalancerArn.Malformed': 400,
  'InvalidNetworkLoadBalancerArn.NotFound': 400,
  'InvalidVpcEndpointId.Malformed': 400,
  'InvalidVpcEndpointId.NotFound': 400,
  // Traffic mirroring.
  InterfaceInUseByTrafficMirrorSession: 400,
  InterfaceInUseByTrafficMirrorTarget: 400,
  'InvalidTrafficMirrorFilterId.Malformed': 400,
  'InvalidTrafficMirrorFilterId.NotFound': 400,
  'InvalidTrafficMirrorFilterRuleId.Malformed': 400,
  'InvalidTrafficMirrorFilterRuleId.NotFound': 400,
  'InvalidTrafficMirrorSessionId.Malformed': 400,
  'InvalidTrafficMirrorSessionId.NotFound': 400,
  'InvalidTrafficMirrorTargetId.Malformed': 400,
  'InvalidTrafficMirrorTargetId.NotFound': 400,
  NlbInUseByTrafficMirrorTargetException: 400,
  TrafficMirrorFilterInUse: 400,
  TrafficMirrorFilterLimitExceeded: 400,
  TrafficMirrorFilterRuleAlreadyExists: 400,
  TrafficMirrorFilterRuleLimitExceeded: 400,
  TrafficMirrorSessionLimitExceeded: 400,
  TrafficMirrorSessionsPerInterfaceLimitExceeded: 400,
  TrafficMirrorSourcesPerTargetLimitExceeded: 400,
  TrafficMirrorTargetInUseException: 400,
  TrafficMirrorTargetLimitExceeded: 400,
  // Flow logs (the resource codes of `Unsuccessful` items included).
  FlowLogAlreadyExists: 400,
  FlowLogsLimitExceeded: 400,
  'InvalidFlowLogId.NotFound': 400,
  'InvalidNatGatewayId.NotFound': 400,
  'InvalidTransitGatewayAttachmentId.NotFound': 400,
  'InvalidTransitGatewayId.NotFound': 400,
  // Tags.
  TagLimitExceeded: 400,
  // Security groups.
  CannotDelete: 400,
  'InvalidGroup.Duplicate': 400,
  'InvalidGroup.NotFound': 400,
  'InvalidGroup.Reserved': 400,
  'InvalidGroupId.Malformed': 400,
  'InvalidPermission.Duplicate': 400,
  'InvalidPermission.NotFound': 400,
  'InvalidPrefixListID.NotFound': 400,
  'InvalidPrefixListId.Malformed': 400,
  'InvalidSecurityGroupRuleId.Malformed': 400,
  'InvalidSecurityGroupRuleId.NotFound': 400,
  RulesPerSecurityGroupLimitExceeded: 400,
  SecurityGroupLimitExceeded: 400,
  SecurityGroupsPerInterfaceLimitExceeded: 400,
  VPCIdNotSpecified: 400,
  // Managed prefix lists.
  InvalidPrefixListModification: 400,
  PrefixListMaxEntriesExceeded: 400,
  PrefixListVersionMismatch: 400,
  ResourceLimitExceeded: 400,
  // Network ACLs.
  'InvalidAssociationID.NotFound': 400,
  'InvalidNetworkAclEntry.NotFound': 400,
  'InvalidNetworkAclID.NotFound': 400,
  NetworkAclEntryAlreadyExists: 400,
  NetworkAclEntryLimitExceeded: 400,
  NetworkAclLimitExceeded: 400,
  // Interfaces created by the API, their attachments and attributes.
  InsufficientFreeAddressesInSubnet: 400,
  'InvalidAttachmentID.NotFound': 400,
  'InvalidNetworkInterface.InUse': 400,
  OperationNotPermitted: 400,
  // Route tables (the main table of each VPC).
  'InvalidRouteTableID.NotFound': 400,
})

type Ec2Errors = typeof EC2_ERRORS

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds EC2's codes to the catalogue
  interface ErrorCatalogue extends Ec2Errors {}
}

/** An EC2 error code. */
export type Ec2ErrorCode = keyof Ec2Errors
