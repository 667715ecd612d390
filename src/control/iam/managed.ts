// SPDX-License-Identifier: Apache-2.0
/**
 * Built-in managed policies. The AWS managed policies that matter to what mirrorflow serves keep
 * their AWS names and ARNs (`arn:aws:iam::aws:policy/NAME`), with content equivalent for the actions
 * mirrorflow answers; mirrorflow's own least-privilege policies for agents, targets and the keys
 * that `mirrorflow admin create-access-key` makes live beside them under the path `/mirrorflow/`.
 * They cannot be changed or deleted.
 * @module
 */

export interface BuiltinPolicy {
  name: string
  path: string
  arn: string
  description: string
  document: string
}

function doc(statements: object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements })
}

/** Every Describe action of EC2 mirrorflow answers that AmazonVPCReadOnlyAccess grants in AWS. */
const VPC_READ = [
  'ec2:DescribeAccountAttributes',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeFlowLogs',
  'ec2:DescribeInstances',
  'ec2:DescribeManagedPrefixLists',
  'ec2:DescribeNetworkAcls',
  'ec2:DescribeNetworkInterfaceAttribute',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeRouteTables',
  'ec2:DescribeSecurityGroupRules',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeTags',
  'ec2:DescribeTrafficMirrorFilterRules',
  'ec2:DescribeTrafficMirrorFilters',
  'ec2:DescribeTrafficMirrorSessions',
  'ec2:DescribeTrafficMirrorTargets',
  'ec2:DescribeVpcAttribute',
  'ec2:DescribeVpcs',
  'ec2:GetManagedPrefixListAssociations',
  'ec2:GetManagedPrefixListEntries',
]

const VPC_WRITE = [
  'ec2:AssociateRouteTable',
  'ec2:AuthorizeSecurityGroupEgress',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:CreateFlowLogs',
  'ec2:CreateManagedPrefixList',
  'ec2:CreateNetworkAcl',
  'ec2:CreateNetworkAclEntry',
  'ec2:CreateNetworkInterface',
  'ec2:CreateRouteTable',
  'ec2:CreateSecurityGroup',
  'ec2:CreateSubnet',
  'ec2:CreateTags',
  'ec2:CreateVpc',
  'ec2:DeleteFlowLogs',
  'ec2:DeleteManagedPrefixList',
  'ec2:DeleteNetworkAcl',
  'ec2:DeleteNetworkAclEntry',
  'ec2:DeleteNetworkInterface',
  'ec2:DeleteSecurityGroup',
  'ec2:DeleteSubnet',
  'ec2:DeleteTags',
  'ec2:DeleteVpc',
  'ec2:ModifyManagedPrefixList',
  'ec2:ModifyNetworkInterfaceAttribute',
  'ec2:ModifySubnetAttribute',
  'ec2:ModifyVpcAttribute',
  'ec2:ReplaceNetworkAclAssociation',
  'ec2:ReplaceNetworkAclEntry',
  'ec2:RestoreManagedPrefixListVersion',
  'ec2:RevokeSecurityGroupEgress',
  'ec2:RevokeSecurityGroupIngress',
]

/** The actions an agent key calls: registration of its own instance (each action checks it is its own), reads. */
export const AGENT_POLICY_ACTIONS = [
  'mirrorflow:RegisterInstance',
  'mirrorflow:DeregisterNetworkInterface',
  'mirrorflow:GetDesiredState',
  'mirrorflow:ReportAgentStatus',
  'mirrorflow:DescribeStatus',
  'ec2:Describe*',
  // Flow logs delivered to CloudWatch Logs (each action checks the log group is one its instance's flow logs deliver to).
  'logs:CreateLogGroup',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'logs:Describe*',
]

/**
 * The actions a target key calls: the traffic-mirroring reads, its registration as a packet source
 * (`mirrorflow target --server --pcap-api`), and the delivery of its flow logs to a log group
 * (`--log-group`: the stream, the group when missing, the events).
 */
export const TARGET_POLICY_ACTIONS = [
  'ec2:DescribeTrafficMirrorSessions',
  'ec2:DescribeTrafficMirrorTargets',
  'ec2:DescribeTrafficMirrorFilters',
  'ec2:DescribeTrafficMirrorFilterRules',
  'mirrorflow:DescribeStatus',
  'mirrorflow:RegisterTargetAppliance',
  'logs:CreateLogGroup',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
]

const P = 'arn:aws:iam::aws:policy/'

export const BUILTIN_POLICIES: readonly BuiltinPolicy[] = [
  {
    name: 'AdministratorAccess',
    path: '/',
    arn: `${P}AdministratorAccess`,
    description: 'Provides full access to AWS services and resources.',
    document: doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]),
  },
  {
    name: 'AmazonVPCFullAccess',
    path: '/',
    arn: `${P}AmazonVPCFullAccess`,
    description: 'Provides full access to Amazon VPC via the AWS Management Console.',
    document: doc([{ Effect: 'Allow', Action: [...VPC_READ, ...VPC_WRITE], Resource: '*' }]),
  },
  {
    name: 'AmazonVPCReadOnlyAccess',
    path: '/',
    arn: `${P}AmazonVPCReadOnlyAccess`,
    description: 'Provides read only access to Amazon VPC via the AWS Management Console.',
    document: doc([{ Effect: 'Allow', Action: VPC_READ, Resource: '*' }]),
  },
  {
    name: 'AmazonEC2ReadOnlyAccess',
    path: '/',
    arn: `${P}AmazonEC2ReadOnlyAccess`,
    description: 'Provides read only access to Amazon EC2 via the AWS Management Console.',
    document: doc([
      { Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' },
      { Effect: 'Allow', Action: 'elasticloadbalancing:Describe*', Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['cloudwatch:ListMetrics', 'cloudwatch:GetMetricStatistics', 'cloudwatch:Describe*'],
        Resource: '*',
      },
      { Effect: 'Allow', Action: 'autoscaling:Describe*', Resource: '*' },
    ]),
  },
  {
    name: 'MirrorflowAgentAccess',
    path: '/mirrorflow/',
    arn: `${P}mirrorflow/MirrorflowAgentAccess`,
    description: 'What a mirrorflow agent needs: register its own instance, read its desired state, report.',
    document: doc([{ Effect: 'Allow', Action: AGENT_POLICY_ACTIONS, Resource: '*' }]),
  },
  {
    name: 'MirrorflowTargetAccess',
    path: '/mirrorflow/',
    arn: `${P}mirrorflow/MirrorflowTargetAccess`,
    description:
      'What a mirrorflow target (appliance) needs: read its sessions and the server status, register its packets, deliver its flow logs to a log group.',
    document: doc([{ Effect: 'Allow', Action: TARGET_POLICY_ACTIONS, Resource: '*' }]),
  },
  {
    name: 'MirrorflowUserAccess',
    path: '/mirrorflow/',
    arn: `${P}mirrorflow/MirrorflowUserAccess`,
    description:
      'What a user key made by mirrorflow admin may do: everything but IAM and making or listing access keys; it may pass a role to a flow log.',
    document: doc([
      {
        Effect: 'Allow',
        NotAction: ['iam:*', 'mirrorflow:CreateAccessKey', 'mirrorflow:ListAccessKeys'],
        Resource: '*',
      },
      // A flow log to CloudWatch Logs names its delivery role: creating one needs iam:PassRole on it
      // (a user key made before IAM could create such flow logs, and still can).
      { Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' },
    ]),
  },
]

export const ADMINISTRATOR_ACCESS = `${P}AdministratorAccess`
export const AGENT_ACCESS = `${P}mirrorflow/MirrorflowAgentAccess`
export const TARGET_ACCESS = `${P}mirrorflow/MirrorflowTargetAccess`
export const USER_ACCESS = `${P}mirrorflow/MirrorflowUserAccess`

export const BUILTIN_BY_ARN: ReadonlyMap<string, BuiltinPolicy> = new Map(
  BUILTIN_POLICIES.map((p) => [p.arn, p]),
)
