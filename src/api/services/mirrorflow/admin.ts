// SPDX-License-Identifier: Apache-2.0
/**
 * mirrorflow's own actions on the EC2 Query endpoint (`Action=Mirrorflow…`, SigV4-signed like
 * every request). They register what AWS learns from its own fabric — instances, their network
 * interfaces, load balancers' appliance addresses — and manage access keys. Their successful
 * answers are JSON in the AWS CLI's shapes (PascalCase members), so `mirrorflow admin …` prints
 * them as they come; their errors are EC2 errors like any other.
 * @module
 */
import {
  ApiError,
  checkDescription,
  type AccessKey,
  type RegisterInterfaceInput,
} from '../../../control/index.ts'
import { agentKey, checkOwnInstance, unauthorized } from '../../auth/roles.ts'
import type { QueryContext as ActionContext } from '../../protocols/ec2-query/context.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { instanceShape, networkInterfaceShape } from '../ec2/shapes.ts'
import { toJson } from '../../protocols/ec2-query/xml.ts'
import { STATUS_ACTIONS } from './status.ts'

export type AdminHandler = (ctx: ActionContext) => unknown

function interfaceInput(p: Params): RegisterInterfaceInput {
  return {
    subnetId: p.str('SubnetId'),
    privateIpAddress: p.str('PrivateIpAddress', true),
    secondaryPrivateIpAddresses: p.list('SecondaryPrivateIpAddress'),
    ipv6Addresses: p.list('Ipv6Address'),
    macAddress: p.str('MacAddress'),
    deviceName: p.str('DeviceName'),
    description: p.str('Description'),
  }
}

function checkDeviceName(n: string | undefined): void {
  if (n !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(n)) {
    throw new ApiError(
      'InvalidParameterValue',
      `Value (${n.slice(0, 32)}) for parameter DeviceName is not a Linux interface name.`,
    )
  }
}

const registerNetworkInterface: AdminHandler = (ctx) => {
  const input = interfaceInput(ctx.p)
  const instanceId = ctx.p.str('InstanceId')
  if (instanceId !== undefined) input.instanceId = instanceId
  checkDeviceName(input.deviceName)
  ctx.ready()
  const eni = ctx.cp.ec2.instances.registerInterface(input)
  return { NetworkInterface: toJson(networkInterfaceShape(ctx.cp, eni)) }
}

const registerInstance: AdminHandler = (ctx) => {
  const p = ctx.p
  const instanceId = p.str('InstanceId')
  const hostname = p.str('Hostname', true)
  const instanceType = p.str('InstanceType')
  const interfaces = p.structs('NetworkInterface').map((s) => {
    const i = interfaceInput(s)
    s.done()
    checkDeviceName(i.deviceName)
    return i
  })
  ctx.ready()
  const agent = agentKey(ctx.cp, ctx.accessKeyId)
  let id = instanceId
  if (agent?.instanceId !== undefined) {
    // A bound agent key registers its own instance, whatever its state file says.
    if (id !== undefined && id !== agent.instanceId) checkOwnInstance(ctx.cp, ctx.accessKeyId, id)
    id = agent.instanceId
  } else if (agent !== undefined) {
    // An unbound agent key may only bring a new instance: never take over one that exists.
    const existing =
      id !== undefined
        ? ctx.cp.state.get('instance', id)?.id
        : [...ctx.cp.ec2.index.instancesByHostname.get(hostname)][0]
    if (existing !== undefined)
      throw unauthorized(`an unbound agent key cannot register the existing instance ${existing}.`)
  }
  const r = ctx.cp.ec2.instances.registerInstance({ instanceId: id, hostname, instanceType, interfaces })
  // The first registration binds an unbound agent key to the instance it made.
  if (agent !== undefined && agent.instanceId === undefined) ctx.cp.iam.bind(agent.accessKeyId, r.instance.id)
  // Agents register at every start: the instance's agent is alive.
  ctx.cp.ec2.presence.seen(r.instance.id)
  return {
    Instance: { ...toJson(instanceShape(ctx.cp, r.instance)), Hostname: r.instance.hostname },
    NetworkInterfaces: r.interfaces.map((e) => ({
      ...toJson(networkInterfaceShape(ctx.cp, e)),
      DeviceName: e.deviceName,
    })),
    UnmatchedInterfaces: r.unmatched.map((u) => ({
      DeviceName: u.deviceName,
      PrivateIpAddress: u.privateIpAddress,
      Reason: u.reason,
    })),
  }
}

const deregisterNetworkInterface: AdminHandler = (ctx) => {
  const id = ctx.p.str('NetworkInterfaceId', true)
  ctx.ready()
  if (agentKey(ctx.cp, ctx.accessKeyId) !== undefined) {
    const eni = ctx.cp.ec2.instances.networkInterface(id)
    if (eni.instanceId === undefined) throw unauthorized(`interface ${eni.id} is on no instance.`)
    checkOwnInstance(ctx.cp, ctx.accessKeyId, eni.instanceId)
  }
  ctx.cp.ec2.instances.deregisterInterface(id)
  return { Return: true }
}

const deregisterInstance: AdminHandler = (ctx) => {
  const id = ctx.p.str('InstanceId', true)
  ctx.ready()
  ctx.cp.ec2.instances.deregisterInstance(id)
  return { Return: true }
}

const registerLoadBalancer: AdminHandler = (ctx) => {
  const arn = ctx.p.str('LoadBalancerArn')
  const vpcEndpointId = ctx.p.str('VpcEndpointId')
  const addresses = ctx.p.list('Address')
  ctx.ready()
  const lb = ctx.cp.ec2.targets.registerLoadBalancer({ arn, vpcEndpointId, addresses })
  return { LoadBalancer: { Id: lb.id, Type: lb.type, Addresses: lb.addresses } }
}

function keyShape(ctx: ActionContext, k: AccessKey): Record<string, unknown> {
  return {
    AccessKeyId: k.accessKeyId,
    Status: 'Active',
    CreateDate: k.createdAt,
    Description: k.description,
    Admin: k.admin,
    Role: ctx.cp.iam.roleOf(k),
    ...(k.instanceId === undefined ? {} : { InstanceId: k.instanceId }),
  }
}

const createAccessKey: AdminHandler = (ctx) => {
  const description = ctx.p.str('Description') ?? ''
  const admin = ctx.p.bool('Admin') ?? false
  const agent = ctx.p.bool('Agent') ?? false
  const instanceId = ctx.p.str('InstanceId')
  ctx.ready()
  checkDescription(description)
  if (admin && agent)
    throw new ApiError('InvalidParameterCombination', 'A key cannot be both an admin key and an agent key.')
  if (instanceId !== undefined && !agent)
    throw new ApiError('InvalidParameterCombination', 'InstanceId is given only with Agent=true.')
  if (instanceId !== undefined) ctx.cp.ec2.instances.instance(instanceId)
  const k = ctx.cp.iam.create(admin ? 'admin' : agent ? 'agent' : 'user', description, instanceId)
  const { Description: _d, ...shape } = keyShape(ctx, k)
  return { AccessKey: { ...shape, SecretAccessKey: k.secretAccessKey } }
}

const listAccessKeys: AdminHandler = (ctx) => {
  ctx.ready()
  return { AccessKeyMetadata: ctx.cp.iam.list().map((k) => keyShape(ctx, k)) }
}

/** The admin actions answered synchronously (MirrorflowGetDesiredState is the server's). */
export const ADMIN_ACTIONS: ReadonlyMap<string, AdminHandler> = new Map<string, AdminHandler>([
  ['MirrorflowRegisterNetworkInterface', registerNetworkInterface],
  ['MirrorflowRegisterInstance', registerInstance],
  ['MirrorflowDeregisterNetworkInterface', deregisterNetworkInterface],
  ['MirrorflowDeregisterInstance', deregisterInstance],
  ['MirrorflowRegisterLoadBalancer', registerLoadBalancer],
  ['MirrorflowCreateAccessKey', createAccessKey],
  ['MirrorflowListAccessKeys', listAccessKeys],
  ...STATUS_ACTIONS,
])

/** For docs and tests: the names of every admin action, including the desired-state one. */
export function adminActionNames(): string[] {
  return [...ADMIN_ACTIONS.keys(), 'MirrorflowGetDesiredState']
}
