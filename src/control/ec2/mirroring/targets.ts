// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic mirror targets (an interface, a Network Load Balancer or a Gateway Load Balancer
 * endpoint) and the load balancers and endpoints they may point at, whose appliance addresses the
 * admin API registers (MirrorflowRegisterLoadBalancer).
 * @module
 */
import { parseAddress } from '../../../packet/index.ts'
import { ApiError, invalidValue, truncate } from '../../core/errors.ts'
import { ID_PREFIX, isIdOf, newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Tag } from '../../core/model.ts'
import { checkDescription, type Quotas } from '../limits.ts'
import type { Ec2Schema } from '../schema.ts'
import type { Tags } from '../tags.ts'
import type { LoadBalancer, TrafficMirrorTarget } from '../model.ts'

const NLB_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/net\/[A-Za-z0-9-]{1,32}\/[A-Za-z0-9]{1,32}$/

/** Appliance addresses a load balancer or endpoint may register. */
export const APPLIANCES_MAX = 256

export interface CreateTargetInput {
  networkInterfaceId?: string | undefined
  networkLoadBalancerArn?: string | undefined
  gatewayLoadBalancerEndpointId?: string | undefined
  description?: string | undefined
  tags: Tag[]
}

export class Targets {
  private readonly l: Ledger
  private readonly x: Ec2Schema
  private readonly q: Quotas
  private readonly tags: Tags

  constructor(l: Ledger, x: Ec2Schema, q: Quotas, tags: Tags) {
    this.l = l
    this.x = x
    this.q = q
    this.tags = tags
    // An interface that is a target cannot be deregistered.
    l.onDelete('network-interface', (eni) => {
      if (this.x.targetsByEni.count(eni.id) > 0) {
        throw new ApiError(
          'InterfaceInUseByTrafficMirrorTarget',
          `The interface '${eni.id}' is a traffic mirror target.`,
        )
      }
      return []
    })
  }

  target(id: string): TrafficMirrorTarget {
    return this.l.lookup('traffic-mirror-target', id)
  }

  /** Admin: registers (or replaces the addresses of) an NLB ARN or a GWLB endpoint id. */
  registerLoadBalancer(input: {
    arn?: string | undefined
    vpcEndpointId?: string | undefined
    addresses: string[]
  }): LoadBalancer {
    if ((input.arn === undefined) === (input.vpcEndpointId === undefined)) {
      throw new ApiError(
        'InvalidParameterCombination',
        'Specify exactly one of LoadBalancerArn and VpcEndpointId.',
      )
    }
    if (input.arn !== undefined && !NLB_ARN.test(input.arn)) {
      throw new ApiError(
        'InvalidNetworkLoadBalancerArn.Malformed',
        `The ARN '${input.arn}' is not a valid network load balancer ARN.`,
      )
    }
    if (input.vpcEndpointId !== undefined && !isIdOf('vpce', input.vpcEndpointId)) {
      throw new ApiError('InvalidVpcEndpointId.Malformed', `Invalid id: "${input.vpcEndpointId}"`)
    }
    if (input.addresses.length > APPLIANCES_MAX)
      throw invalidValue(`A load balancer has at most ${APPLIANCES_MAX} appliance addresses.`)
    if (input.addresses.length === 0)
      throw new ApiError('MissingParameter', 'The request must contain the parameter Address.')
    for (const a of input.addresses) {
      if (parseAddress(a) === undefined)
        throw invalidValue(`Value (${truncate(a)}) for parameter Address is invalid.`)
    }
    const id = (input.arn ?? input.vpcEndpointId)!
    const existing = this.l.state.get('load-balancer', id)
    const lb: LoadBalancer = {
      kind: 'load-balancer',
      id,
      seq: existing?.seq ?? this.l.nextSeq(),
      type: input.arn !== undefined ? 'network-load-balancer' : 'gateway-load-balancer-endpoint',
      addresses: [...new Set(input.addresses)],
      tags: [],
    }
    this.l.commit([lb])
    return lb
  }

  /**
   * CreateTrafficMirrorTarget. Exactly one of the three target kinds: the codes for none
   * (`MissingParameter`) and several (`InvalidParameterCombination`) are UNCONFIRMED in AWS; the
   * spec recommends them. GWLB-endpoint codes (`InvalidVpcEndpointId.*`) are UNCONFIRMED too.
   */
  createTarget(input: CreateTargetInput, idem?: Idempotency): TrafficMirrorTarget {
    const given = [
      input.networkInterfaceId,
      input.networkLoadBalancerArn,
      input.gatewayLoadBalancerEndpointId,
    ].filter((x) => x !== undefined).length
    if (given === 0) {
      throw new ApiError(
        'MissingParameter',
        'The request must contain one of the parameters NetworkInterfaceId, NetworkLoadBalancerArn or GatewayLoadBalancerEndpointId.',
      )
    }
    if (given > 1) {
      throw new ApiError(
        'InvalidParameterCombination',
        'Only one of NetworkInterfaceId, NetworkLoadBalancerArn and GatewayLoadBalancerEndpointId can be specified.',
      )
    }
    checkDescription(input.description)
    const tags = this.tags.validate(input.tags)
    let type: TrafficMirrorTarget['type']
    if (input.networkInterfaceId !== undefined) {
      type = 'network-interface'
      this.l.lookup('network-interface', input.networkInterfaceId)
    } else if (input.networkLoadBalancerArn !== undefined) {
      type = 'network-load-balancer'
      const arn = input.networkLoadBalancerArn
      if (!NLB_ARN.test(arn)) {
        throw new ApiError(
          'InvalidNetworkLoadBalancerArn.Malformed',
          `The ARN '${arn}' is not a valid network load balancer ARN.`,
        )
      }
      if (this.l.state.get('load-balancer', arn) === undefined) {
        throw new ApiError(
          'InvalidNetworkLoadBalancerArn.NotFound',
          `The network load balancer '${arn}' does not exist.`,
        )
      }
    } else {
      type = 'gateway-load-balancer-endpoint'
      const id = input.gatewayLoadBalancerEndpointId!
      if (!isIdOf('vpce', id)) throw new ApiError('InvalidVpcEndpointId.Malformed', `Invalid id: "${id}"`)
      if (this.l.state.get('load-balancer', id) === undefined) {
        throw new ApiError('InvalidVpcEndpointId.NotFound', `The Vpc Endpoint Id '${id}' does not exist`)
      }
    }
    return this.l.idempotent(idem, () => {
      // Checked inside: an idempotent retry must not fail on the target it created itself.
      if (input.networkInterfaceId !== undefined) {
        const eni = input.networkInterfaceId
        if (this.x.targetsByEni.count(eni) > 0) {
          throw new ApiError(
            'InterfaceInUseByTrafficMirrorTarget',
            `The interface '${eni}' is already a traffic mirror target.`,
          )
        }
        if (this.x.sessionsByEni.count(eni) > 0) {
          throw new ApiError(
            'InterfaceInUseByTrafficMirrorSession',
            `The interface '${eni}' is the source of a traffic mirror session and cannot be a target.`,
          )
        }
      }
      if (
        input.networkLoadBalancerArn !== undefined &&
        this.x.targetsByNlb.count(input.networkLoadBalancerArn) > 0
      ) {
        throw new ApiError(
          'NlbInUseByTrafficMirrorTargetException',
          'The Network Load Balancer is already configured as a Traffic Mirror target.',
        )
      }
      if (this.l.state.table('traffic-mirror-target').size >= this.q.targetsPerAccount) {
        throw new ApiError(
          'TrafficMirrorTargetLimitExceeded',
          'The maximum number of traffic mirror targets has been reached.',
        )
      }
      const t: TrafficMirrorTarget = {
        kind: 'traffic-mirror-target',
        id: newId(ID_PREFIX.trafficMirrorTarget),
        seq: this.l.nextSeq(),
        type,
        tags,
      }
      if (input.networkInterfaceId !== undefined) t.networkInterfaceId = input.networkInterfaceId
      if (input.networkLoadBalancerArn !== undefined) t.networkLoadBalancerArn = input.networkLoadBalancerArn
      if (input.gatewayLoadBalancerEndpointId !== undefined)
        t.gatewayLoadBalancerEndpointId = input.gatewayLoadBalancerEndpointId
      if (input.description !== undefined) t.description = input.description
      this.l.remember(t)
      this.l.commit([t])
      return t
    })
  }

  deleteTarget(id: string): void {
    const t = this.target(id)
    if (this.x.sessionsByTarget.count(id) > 0) {
      throw new ApiError(
        'TrafficMirrorTargetInUseException',
        `The traffic mirror target '${id}' is in use by a session.`,
      )
    }
    this.l.commit([], [t])
  }

  /** The appliance addresses a target resolves to (ENI: its private IP; NLB/GWLBe: registered). */
  targetAddresses(t: TrafficMirrorTarget): string[] {
    if (t.networkInterfaceId !== undefined) {
      const eni = this.l.state.get('network-interface', t.networkInterfaceId)
      return eni === undefined ? [] : [eni.privateIpAddress]
    }
    const lb = this.l.state.get(
      'load-balancer',
      (t.networkLoadBalancerArn ?? t.gatewayLoadBalancerEndpointId)!,
    )
    return lb === undefined ? [] : [...lb.addresses]
  }
}
