// SPDX-License-Identifier: Apache-2.0
/**
 * Flow-log records as the engine hands them out: a columnar, reusable `FlowRecordBatch` (typed arrays,
 * one row per record, no object per record), plus the per-interface context (`FlowLogInterface`) that
 * the metadata fields (account-id, interface-id, vpc-id, …) are read from.
 * @module
 */
import { FlowLogsConfigError } from './errors.ts'
import { formatIPv4, formatIPv6Words, parseAddressWords } from '../packet/index.ts'
import type { AwsServiceRanges } from './aws-services.ts'

/** `log-status` values (spec §2.3). Numeric codes are stored in batches: append only. */
export const LogStatus = { OK: 0, NODATA: 1, SKIPDATA: 2 } as const
export type LogStatus = (typeof LogStatus)[keyof typeof LogStatus]
export const LOG_STATUS_NAMES = ['OK', 'NODATA', 'SKIPDATA'] as const

/** `action` values (spec §2.4). */
export const Action = { ACCEPT: 0, REJECT: 1 } as const
export type Action = (typeof Action)[keyof typeof Action]
export const ACTION_NAMES = ['ACCEPT', 'REJECT'] as const

/** `flow-direction` relative to the interface (spec §1.5 #28); Unknown renders as `-`. */
export const Direction = { Unknown: 0, Ingress: 1, Egress: 2 } as const
export type Direction = (typeof Direction)[keyof typeof Direction]
export const DIRECTION_NAMES = ['-', 'ingress', 'egress'] as const

/** `tcp-flags` value stored when a record has no computable flags (renders as `-`). */
export const TCP_FLAGS_NONE = 255

/**
 * What the host knows about one monitored network interface. Everything but `interfaceId` and
 * `accountId` is optional; a field whose source is absent renders as `-`.
 */
export interface FlowLogInterface {
  interfaceId: string
  accountId: string
  vpcId?: string | undefined
  subnetId?: string | undefined
  instanceId?: string | undefined
  region?: string | undefined
  azId?: string | undefined
  sublocationType?: string | undefined
  sublocationId?: string | undefined
  /** v11 `interface-type` (`nat_gateway`, …); absent for an ordinary instance ENI. */
  interfaceType?: string | undefined
  /** v11 tag values (already chosen by TagFieldSpecifications), raw: the renderer percent-encodes. */
  instanceTag?: string | undefined
  instanceTag2?: string | undefined
  interfaceTag?: string | undefined
  interfaceTag2?: string | undefined
  asgTag?: string | undefined
  asgTag2?: string | undefined
  /**
   * The interface's own IP addresses. The first IPv4 one is its primary private IPv4, the first IPv6
   * one its primary IPv6: they are what `srcaddr`/`dstaddr` show for the interface's side (spec §1.9),
   * and packets from/to any of them decide the direction (egress/ingress).
   */
  addresses?: readonly string[] | undefined
  /**
   * The interface's MAC address (`aa:bb:cc:dd:ee:ff`). On Ethernet captures, a frame from it is
   * egress and a frame to it (or to a group address) ingress, whatever its IP addresses.
   */
  mac?: string | undefined
}

/** A `FlowLogInterface` with its addresses parsed for the hot path. */
export interface ResolvedInterface {
  readonly info: FlowLogInterface
  /** Primary IPv4 as uint32, or -1. */
  readonly primary4: number
  readonly primary4Text: string | null
  readonly primary6Text: string | null
  /** All own IPv4 addresses (uint32) and IPv6 addresses (4 words each, big-endian words). */
  readonly local4: Uint32Array
  readonly local6: Uint32Array
  /** MAC as its first 2 bytes and last 4 bytes (macHi -1 when none). */
  readonly macHi: number
  readonly macLo: number
}

/** Parses and checks an interface description (addresses must be IPv4/IPv6 literals). */
export function resolveInterface(info: FlowLogInterface): ResolvedInterface {
  // Writers name files after interface ids (the agent's capture journal): no '/', '.', '..' or NUL.
  const id = info.interfaceId
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > 255 ||
    /[\s/\0]/.test(id) ||
    id === '.' ||
    id === '..'
  ) {
    throw new FlowLogsConfigError(
      `interface id must be 1–255 characters without spaces or '/', not '.' or '..', got '${String(id).slice(0, 300)}'`,
    )
  }
  if (typeof info.accountId !== 'string' || info.accountId.length === 0 || /\s/.test(info.accountId)) {
    throw new FlowLogsConfigError(
      `account id must be a non-empty string without spaces, got '${info.accountId}'`,
    )
  }
  const v4: number[] = []
  const v6: number[] = []
  let p4: string | null = null
  let p6: string | null = null
  for (const a of info.addresses ?? []) {
    const parsed = parseAddressWords(a)
    if (parsed === null) throw new FlowLogsConfigError(`'${a}' is not an IPv4 or IPv6 address`)
    if (parsed.length === 1) {
      v4.push(parsed[0]!)
      if (p4 === null) p4 = a
    } else {
      v6.push(...parsed)
      if (p6 === null) p6 = parsed.length === 4 ? formatIPv6Words(parsed) : a
    }
  }
  if (p4 !== null) p4 = formatIPv4(v4[0]!)
  let macHi = -1
  let macLo = 0
  if (info.mac !== undefined && info.mac !== '') {
    const parts = info.mac.split(/[:-]/)
    if (parts.length !== 6 || parts.some((x) => !/^[0-9a-fA-F]{2}$/.test(x))) {
      throw new FlowLogsConfigError(`'${info.mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)`)
    }
    const b = parts.map((x) => parseInt(x, 16))
    macHi = (b[0]! << 8) | b[1]!
    macLo = ((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0
  }
  return {
    macHi,
    macLo,
    info,
    primary4: v4.length > 0 ? v4[0]! : -1,
    primary4Text: p4,
    primary6Text: p6,
    local4: Uint32Array.from(v4),
    local6: Uint32Array.from(v6),
  }
}

/**
 * A batch of records in columns. Row `i` of every array describes record `i` (< `count`). Addresses
 * are stored as 4 words per row (IPv4 in word 0). The batch is reused by whoever fills it: a
 * destination must render or copy rows during `write()`.
 */
export class FlowRecordBatch {
  readonly capacity: number
  count = 0
  /** The interface table `iface` indexes into. */
  interfaces: ResolvedInterface[] = []
  /** AWS ip-ranges for the `pkt-*-aws-service` fields (null: those fields are `-`). */
  awsServices: AwsServiceRanges | null = null
  readonly iface: Uint16Array
  readonly logStatus: Uint8Array
  /** 4 or 6 (0 for NODATA/SKIPDATA). */
  readonly family: Uint8Array
  readonly direction: Uint8Array
  readonly action: Uint8Array
  readonly protocol: Uint8Array
  readonly srcPort: Uint16Array
  readonly dstPort: Uint16Array
  /** VXLAN VNI the flow was decapsulated from, or -1. */
  readonly vni: Int32Array
  readonly src: Uint32Array
  readonly dst: Uint32Array
  readonly packets: Float64Array
  readonly bytes: Float64Array
  readonly start: Float64Array
  readonly end: Float64Array
  /** OR of the per-packet AWS tcp-flags values; TCP_FLAGS_NONE when not computable. */
  readonly tcpFlags: Uint8Array

  constructor(capacity: number) {
    this.capacity = capacity
    this.iface = new Uint16Array(capacity)
    this.logStatus = new Uint8Array(capacity)
    this.family = new Uint8Array(capacity)
    this.direction = new Uint8Array(capacity)
    this.action = new Uint8Array(capacity)
    this.protocol = new Uint8Array(capacity)
    this.srcPort = new Uint16Array(capacity)
    this.dstPort = new Uint16Array(capacity)
    this.vni = new Int32Array(capacity)
    this.src = new Uint32Array(capacity * 4)
    this.dst = new Uint32Array(capacity * 4)
    this.packets = new Float64Array(capacity)
    this.bytes = new Float64Array(capacity)
    this.start = new Float64Array(capacity)
    this.end = new Float64Array(capacity)
    this.tcpFlags = new Uint8Array(capacity)
  }

  /** Appends a NODATA or SKIPDATA row (every traffic field `-`); returns its index. */
  pushStatus(iface: number, status: LogStatus, start: number, end: number): number {
    const i = this.count++
    this.iface[i] = iface
    this.logStatus[i] = status
    this.family[i] = 0
    this.direction[i] = Direction.Unknown
    this.action[i] = Action.ACCEPT
    this.protocol[i] = 0
    this.srcPort[i] = 0
    this.dstPort[i] = 0
    this.vni[i] = -1
    this.src.fill(0, i * 4, i * 4 + 4)
    this.dst.fill(0, i * 4, i * 4 + 4)
    this.packets[i] = 0
    this.bytes[i] = 0
    this.start[i] = start
    this.end[i] = end
    this.tcpFlags[i] = TCP_FLAGS_NONE
    return i
  }
}

/**
 * One record as a plain object: convenient for tests, the agent's diagnostics and small outputs. Not
 * used on the hot path. Values are those of the v2–v5 traffic fields, addresses as text.
 */
export interface FlowRecordObject {
  interfaceId: string
  logStatus: (typeof LOG_STATUS_NAMES)[number]
  action: (typeof ACTION_NAMES)[number]
  direction: (typeof DIRECTION_NAMES)[number]
  vni: number
  srcaddr: string | null
  dstaddr: string | null
  pktSrcaddr: string | null
  pktDstaddr: string | null
  srcport: number | null
  dstport: number | null
  protocol: number | null
  packets: number | null
  bytes: number | null
  start: number
  end: number
  tcpFlags: number | null
}
