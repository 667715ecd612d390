// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic mirror sessions: a source interface, a target, a filter, a session number (unique per
 * source), an optional packet length and a VXLAN network id (random and account-wide unique when
 * not given), with the per-interface, per-target and per-account quotas.
 * @module
 */
import { randomInt } from 'node:crypto'
import { ApiError, invalidValue } from '../../core/errors.ts'
import { ID_PREFIX, newId } from '../../core/ids.ts'
import type { Idempotency, Ledger } from '../../core/ledger.ts'
import type { Tag } from '../../core/model.ts'
import { checkDescription, type Quotas } from '../limits.ts'
import type { Ec2Schema } from '../schema.ts'
import type { Tags } from '../tags.ts'
import type { TrafficMirrorSession, TrafficMirrorTarget } from '../model.ts'
import type { Filters } from './filters.ts'
import type { Targets } from './targets.ts'

export interface CreateSessionInput {
  networkInterfaceId: string
  targetId: string
  filterId: string
  sessionNumber: number
  packetLength?: number | undefined
  virtualNetworkId?: number | undefined
  description?: string | undefined
  tags: Tag[]
}

export interface ModifySessionInput {
  sessionId: string
  targetId?: string | undefined
  filterId?: string | undefined
  sessionNumber?: number | undefined
  packetLength?: number | undefined
  virtualNetworkId?: number | undefined
  description?: string | undefined
  removeFields: string[]
}

export class Sessions {
  private readonly l: Ledger
  private readonly x: Ec2Schema
  private readonly q: Quotas
  private readonly tags: Tags
  private readonly targets: Targets
  private readonly filters: Filters

  constructor(l: Ledger, x: Ec2Schema, q: Quotas, tags: Tags, targets: Targets, filters: Filters) {
    this.l = l
    this.x = x
    this.q = q
    this.tags = tags
    this.targets = targets
    this.filters = filters
    // A source interface takes its sessions with it.
    l.onDelete('network-interface', (eni) =>
      [...this.x.sessionsByEni.get(eni.id)].map((s) => this.l.state.get('traffic-mirror-session', s)!),
    )
  }

  session(id: string): TrafficMirrorSession {
    return this.l.lookup('traffic-mirror-session', id)
  }

  private checkSessionNumber(n: number, eni: string, exceptId: string | undefined): void {
    if (!Number.isInteger(n) || n < 1 || n > 32766) {
      throw invalidValue(`Value (${n}) for parameter SessionNumber is invalid. Valid values: 1-32766.`)
    }
    // Uniqueness per source: UNCONFIRMED in AWS; the spec recommends rejecting duplicates.
    for (const id of this.x.sessionsByEni.get(eni)) {
      if (id === exceptId) continue
      if (this.l.state.get('traffic-mirror-session', id)!.sessionNumber === n) {
        throw invalidValue(
          `The session number ${n} is already used by another session of the interface '${eni}'.`,
        )
      }
    }
  }

  private checkPacketLength(n: number | undefined): void {
    // Model: 1–8500 (the 35/55-byte floor of the guide is applied by the data plane; spec §7.4).
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 8500)) {
      throw invalidValue(`Value (${n}) for parameter PacketLength is invalid. Valid values: 1-8500.`)
    }
  }

  private checkVni(n: number | undefined): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 16_777_215)) {
      throw invalidValue(`Value (${n}) for parameter VirtualNetworkId is invalid. Valid values: 0-16777215.`)
    }
  }

  /** A random VNI that no session of the account uses (spec §1.5: "account-wide unique"). */
  private randomVni(): number {
    for (let i = 0; i < 1000; i++) {
      const v = randomInt(1, 16_777_216)
      if (this.x.sessionsByVni.count(String(v)) === 0) return v
    }
    throw new ApiError('InternalError', 'No free virtual network id could be found.')
  }

  /** Sources per ENI target: distinct source interfaces of the target's sessions. */
  private checkTargetSources(target: TrafficMirrorTarget, source: string, exceptSession?: string): void {
    if (target.type !== 'network-interface') return
    const sources = new Set<string>()
    for (const id of this.x.sessionsByTarget.get(target.id)) {
      if (id === exceptSession) continue
      sources.add(this.l.state.get('traffic-mirror-session', id)!.networkInterfaceId)
    }
    sources.add(source)
    if (sources.size > this.q.sourcesPerInterfaceTarget) {
      throw new ApiError(
        'TrafficMirrorSourcesPerTargetLimitExceeded',
        `The maximum number of sources (${this.q.sourcesPerInterfaceTarget}) for the traffic mirror target '${target.id}' has been reached.`,
      )
    }
  }

  createSession(input: CreateSessionInput, idem?: Idempotency): TrafficMirrorSession {
    const eni = this.l.lookup('network-interface', input.networkInterfaceId)
    const target = this.targets.target(input.targetId)
    this.filters.filter(input.filterId)
    this.checkPacketLength(input.packetLength)
    this.checkVni(input.virtualNetworkId)
    checkDescription(input.description)
    const tags = this.tags.validate(input.tags)
    return this.l.idempotent(idem, () => {
      this.checkSessionNumber(input.sessionNumber, eni.id, undefined)
      if (this.x.targetsByEni.count(eni.id) > 0) {
        throw new ApiError(
          'InterfaceInUseByTrafficMirrorTarget',
          `The interface '${eni.id}' is a traffic mirror target and cannot be a session source.`,
        )
      }
      if (this.x.sessionsByEni.count(eni.id) >= this.q.sessionsPerInterface) {
        throw new ApiError(
          'TrafficMirrorSessionsPerInterfaceLimitExceeded',
          `The maximum number of sessions (${this.q.sessionsPerInterface}) for the interface '${eni.id}' has been reached.`,
        )
      }
      this.checkTargetSources(target, eni.id)
      if (this.l.state.table('traffic-mirror-session').size >= this.q.sessionsPerAccount) {
        throw new ApiError(
          'TrafficMirrorSessionLimitExceeded',
          'The maximum number of traffic mirror sessions has been reached.',
        )
      }
      const s: TrafficMirrorSession = {
        kind: 'traffic-mirror-session',
        id: newId(ID_PREFIX.trafficMirrorSession),
        seq: this.l.nextSeq(),
        networkInterfaceId: eni.id,
        targetId: target.id,
        filterId: input.filterId,
        sessionNumber: input.sessionNumber,
        virtualNetworkId: input.virtualNetworkId ?? this.randomVni(),
        tags,
      }
      // Model: "for sessions with NLB targets the default PacketLength will be set to 8500".
      const pl = input.packetLength ?? (target.type === 'network-load-balancer' ? 8500 : undefined)
      if (pl !== undefined) s.packetLength = pl
      if (input.description !== undefined) s.description = input.description
      this.l.remember(s)
      this.l.commit([s])
      return s
    })
  }

  modifySession(input: ModifySessionInput): TrafficMirrorSession {
    const old = this.session(input.sessionId)
    const allowed = ['packet-length', 'description', 'virtual-network-id']
    for (const r of input.removeFields) {
      if (!allowed.includes(r)) {
        throw invalidValue(
          `Value (${r}) for parameter RemoveField is invalid. Valid values: ${allowed.join(', ')}.`,
        )
      }
    }
    for (const [name, v] of [
      ['packet-length', input.packetLength],
      ['description', input.description],
      ['virtual-network-id', input.virtualNetworkId],
    ] as const) {
      if (v !== undefined && input.removeFields.includes(name)) {
        throw new ApiError(
          'InvalidParameterCombination',
          `The field '${name}' cannot be both set and removed.`,
        )
      }
    }
    const next: TrafficMirrorSession = { ...old }
    let target = this.targets.target(old.targetId)
    if (input.targetId !== undefined) {
      target = this.targets.target(input.targetId)
      next.targetId = target.id
      this.checkTargetSources(target, old.networkInterfaceId, old.id)
    }
    if (input.filterId !== undefined) next.filterId = this.filters.filter(input.filterId).id
    if (input.sessionNumber !== undefined) {
      this.checkSessionNumber(input.sessionNumber, old.networkInterfaceId, old.id)
      next.sessionNumber = input.sessionNumber
    }
    this.checkPacketLength(input.packetLength)
    this.checkVni(input.virtualNetworkId)
    checkDescription(input.description)
    if (input.packetLength !== undefined) next.packetLength = input.packetLength
    if (input.virtualNetworkId !== undefined) next.virtualNetworkId = input.virtualNetworkId
    if (input.description !== undefined) next.description = input.description
    if (input.removeFields.includes('packet-length')) {
      delete next.packetLength
      if (target.type === 'network-load-balancer') next.packetLength = 8500
    }
    if (input.removeFields.includes('description')) delete next.description
    // UNCONFIRMED: the "default" VNI after RemoveField is taken to be a new random unused one.
    if (input.removeFields.includes('virtual-network-id')) next.virtualNetworkId = this.randomVni()
    this.l.commit([next])
    return next
  }

  deleteSession(id: string): void {
    this.l.commit([], [this.session(id)])
  }
}
