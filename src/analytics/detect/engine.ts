// SPDX-License-Identifier: Apache-2.0
/**
 * The streaming detection engine: flow-log records in, GuardDuty findings out.
 *
 * Each record is first *oriented*: which endpoint opened the conversation (the initiator) and which
 * port is the service's. TCP records with flags say it exactly (SYN without SYN-ACK: the source
 * initiates; SYN-ACK: the destination did); otherwise the lower port is the service's. Endpoints are
 * *local* (an instance of ours, which findings are about) when the record's interface belongs to them
 * (the `flow-direction` field, the interface addresses the caller knows, or the one address common to
 * every record of that interface), or when they fall in the local networks (default: the private
 * ranges, where VPC addresses live).
 *
 * Then every state table is updated, each keyed by who does what, each with a tumbling window and a
 * cap (the oldest entry is evicted beyond it):
 * - `pairs` (initiator → responder): probed ports (port scan), SSH/RDP client ports (brute force);
 * - `sweeps` (initiator, protocol/port): probed hosts (port sweep), and mail servers (spam);
 * - `flows` (source → destination, by bytes sent): packets, connections and bytes (denial of service,
 *   traffic volume);
 * - `instances` (a local address): its learning period, the server ports it uses, its peak volume.
 *
 * A threshold crossed makes a finding, or updates the one already made for the same type, instance
 * and remote host (`Service.Count` + 1 for each new window, `EventLastSeen`). `drain()` hands out what
 * changed since the last call.
 * @module
 */
import { findingId, IpList, type Finding } from '../../control/index.ts'
import { DEFAULT_DETECT_CONFIG, type DetectConfig } from './config.ts'
import {
  FindingTypes as T,
  portName,
  protocolName,
  SEVERITY,
  Severity,
  TCP_SERVICE_PORTS,
  type FindingTypeName,
} from './types.ts'

/** One flow-log record, as the engine reads it (one object reused by readers). */
export interface DetectRecord {
  accountId: string
  interfaceId: string
  /** '' when unknown. */
  instanceId: string
  vpcId: string
  subnetId: string
  srcaddr: string
  dstaddr: string
  srcport: number
  dstport: number
  protocol: number
  packets: number
  bytes: number
  /** Unix seconds. */
  start: number
  end: number
  /** true for REJECT. */
  rejected: boolean
  /** AWS tcp-flags, or -1 when unknown. */
  tcpFlags: number
  /** 0 unknown, 1 ingress, 2 egress (relative to the interface). */
  direction: 0 | 1 | 2
}

export function emptyRecord(): DetectRecord {
  return {
    accountId: '',
    interfaceId: '',
    instanceId: '',
    vpcId: '',
    subnetId: '',
    srcaddr: '',
    dstaddr: '',
    srcport: 0,
    dstport: 0,
    protocol: 0,
    packets: 0,
    bytes: 0,
    start: 0,
    end: 0,
    rejected: false,
    tcpFlags: -1,
    direction: 0,
  }
}

/** What the caller knows of an interface (the server: the registered ENIs). */
export interface InterfaceInfo {
  addresses: readonly string[]
  instanceId?: string | undefined
  vpcId?: string | undefined
  subnetId?: string | undefined
}

export interface DetectionEngineOptions {
  config?: DetectConfig
  detectorId: string
  accountId: string
  region: string
  partition?: string
  /** Threat lists (ThreatIntelSets): a list whose name starts with `blackhole` lists black holes. */
  threatLists?: readonly { name: string; list: IpList }[]
  /** Trusted lists (IPSets): records with an endpoint on one are ignored. */
  trusted?: readonly IpList[]
  /** Networks whose addresses are instances of ours (default: the private ranges); null: none but known owners. */
  localNetworks?: IpList | null
  /** Interfaces the caller knows. */
  interfaceInfo?: (interfaceId: string) => InterfaceInfo | undefined
  /** Wall clock for CreatedAt/UpdatedAt (tests). */
  now?: () => Date
}

export interface DetectionStats {
  records: number
  trustedSkipped: number
  findingsCreated: number
  findingsUpdated: number
  evicted: { pairs: number; sweeps: number; flows: number; instances: number; findings: number }
}

/** Where an instance's address lives, as learnt. */
interface Owner {
  interfaceId: string
  instanceId: string
  vpcId: string
  subnetId: string
}

interface PairState {
  scanStart: number
  scanLast: number
  ports: Set<number>
  scanFired: boolean
  /** Ports, first ones (for PortProbeDetails). */
  firstPorts: number[]
  lastPort: number
  lastProto: number
  blocked: boolean
  bfStart: number
  bfLast: number
  bfPort: number
  clients: Set<number>
  bfFired: boolean
}

interface SweepState {
  start: number
  last: number
  hosts: Set<string>
  fired: boolean
}

interface FlowState {
  start: number
  last: number
  /** Packets by DoS class (TCP, UDP, DNS, UDP on TCP ports, other). */
  packets: Float64Array
  conns: Set<number>
  dosFired: number
  lastDport: number
  volStart: number
  volLast: number
  bytes: number
  volFired: boolean
}

interface InstanceState {
  first: number
  ports: Set<number>
  peakBytes: number
}

const DOS_TYPES: readonly FindingTypeName[] = [
  T.DosTcp,
  T.DosUdp,
  T.DosDns,
  T.DosUdpOnTcpPorts,
  T.DosUnusualProtocol,
]

/** The private ranges (RFC 1918, CGNAT 100.64/10, IPv6 ULA and link-local). */
export const PRIVATE_NETWORKS =
  '10.0.0.0/8\n172.16.0.0/12\n192.168.0.0/16\n100.64.0.0/10\nfc00::/7\nfe80::/10\n'

/**
 * Map.set with a cap: inserting a new key at the cap evicts the oldest eighth of the entries in one
 * pass (one at a time would rescan the deleted slots at the map's head each time); returns how many.
 */
function capSet<K, V>(m: Map<K, V>, k: K, v: V, cap: number): number {
  let evicted = 0
  if (m.size >= cap) {
    const n = Math.max(1, cap >> 3)
    for (const key of m.keys()) {
      if (evicted >= n) break
      m.delete(key)
      evicted++
    }
  }
  m.set(k, v)
  return evicted
}

function iso(sec: number): string {
  return new Date(sec * 1000).toISOString()
}

export class DetectionEngine {
  readonly config: DetectConfig
  readonly stats: DetectionStats = {
    records: 0,
    trustedSkipped: 0,
    findingsCreated: 0,
    findingsUpdated: 0,
    evicted: { pairs: 0, sweeps: 0, flows: 0, instances: 0, findings: 0 },
  }
  private readonly opts: DetectionEngineOptions
  private readonly pairs = new Map<string, PairState>()
  private readonly sweeps = new Map<string, SweepState>()
  private readonly flows = new Map<string, FlowState>()
  private readonly instances = new Map<string, InstanceState>()
  private readonly owners = new Map<string, Owner>()
  /** Per interface: the candidate addresses common to all its records so far ('' = ruled out). */
  private readonly ifaceCandidates = new Map<string, [string, string]>()
  private readonly localCache = new Map<string, boolean>()
  private readonly threatCache = new Map<string, number>()
  private readonly trustCache = new Map<string, boolean>()
  private readonly findingMap = new Map<string, Finding>()
  private readonly dirty = new Set<string>()
  private threat: readonly { name: string; list: IpList; blackhole: boolean }[] = []
  private trusted: readonly IpList[] = []
  private readonly localNets: IpList | null
  private readonly now: () => Date

  constructor(opts: DetectionEngineOptions) {
    this.opts = opts
    this.config = opts.config ?? DEFAULT_DETECT_CONFIG
    this.localNets = opts.localNetworks === undefined ? new IpList(PRIVATE_NETWORKS) : opts.localNetworks
    this.now = opts.now ?? (() => new Date())
    this.setLists(opts.threatLists ?? [], opts.trusted ?? [])
  }

  /** Replaces the threat and trusted lists (the server, when the user changes them). */
  setLists(threat: readonly { name: string; list: IpList }[], trusted: readonly IpList[]): void {
    this.threat = threat.map((t) => ({ ...t, blackhole: t.name.toLowerCase().startsWith('blackhole') }))
    this.trusted = trusted
    this.threatCache.clear()
    this.trustCache.clear()
  }

  /** Findings that changed (made or updated) since the last call, oldest change first. */
  drain(): Finding[] {
    const out: Finding[] = []
    for (const id of this.dirty) {
      const f = this.findingMap.get(id)
      if (f !== undefined) out.push(structuredClone(f))
    }
    this.dirty.clear()
    return out
  }

  /** Every finding the engine holds (at most `caps.findings`). */
  findings(): Finding[] {
    return [...this.findingMap.values()]
  }

  /** Feeds one record (NODATA/SKIPDATA rows must be left out by the reader). */
  add(r: DetectRecord): void {
    this.stats.records++
    const cfg = this.config
    if (this.trusted.length > 0 && (this.isTrusted(r.srcaddr) || this.isTrusted(r.dstaddr))) {
      this.stats.trustedSkipped++
      return
    }
    // Which endpoint the record's interface belongs to: '' when it cannot be told (yet).
    const owner = this.ownerOf(r)
    const srcLocal = owner === r.srcaddr || this.isLocal(r.srcaddr)
    const dstLocal = owner === r.dstaddr || this.isLocal(r.dstaddr)
    if (!srcLocal && !dstLocal) return

    // Orientation: the initiator, the responder and the service port.
    let fwd: boolean
    const f = r.tcpFlags
    if (r.protocol === 6 && f >= 0 && f !== 255 && (f & 2) !== 0) fwd = (f & 16) === 0
    else fwd = r.dstport <= r.srcport || r.srcport === 0
    const init = fwd ? r.srcaddr : r.dstaddr
    const resp = fwd ? r.dstaddr : r.srcaddr
    const port = fwd ? r.dstport : r.srcport
    const clientPort = fwd ? r.srcport : r.dstport
    const initLocal = fwd ? srcLocal : dstLocal
    const respLocal = fwd ? dstLocal : srcLocal
    const probe = r.rejected || r.packets <= cfg.probeMaxPackets
    const tcpUdp = r.protocol === 6 || r.protocol === 17

    // Threat lists: any conversation of a local endpoint with a listed host.
    if (this.threat.length > 0) this.threatCheck(r, init, resp, port, initLocal, respLocal, probe)

    // Pairs: port scan and brute force.
    // The pair key; when the source initiates, it is also the flow key (built once).
    const pk = `${init}>${resp}`
    if (tcpUdp) {
      let p = this.pairs.get(pk)
      if (p === undefined) {
        p = {
          scanStart: r.start,
          scanLast: r.end,
          ports: new Set(),
          scanFired: false,
          firstPorts: [],
          lastPort: port,
          lastProto: r.protocol,
          blocked: false,
          bfStart: r.start,
          bfLast: r.end,
          bfPort: 0,
          clients: new Set(),
          bfFired: false,
        }
        this.stats.evicted.pairs += capSet(this.pairs, pk, p, cfg.caps.pairs)
      }
      if (probe) {
        if (r.start >= p.scanStart + cfg.portscan.windowSeconds) {
          p.scanStart = r.start
          p.ports.clear()
          p.scanFired = false
          p.firstPorts.length = 0
          p.blocked = false
        }
        if (r.end > p.scanLast) p.scanLast = r.end
        const pp = (r.protocol << 16) | port
        if (!p.ports.has(pp) && p.ports.size <= cfg.portscan.minPorts) {
          p.ports.add(pp)
          if (p.firstPorts.length < 10) p.firstPorts.push(port)
        }
        p.lastPort = port
        p.lastProto = r.protocol
        if (r.rejected) p.blocked = true
        if (p.ports.size >= cfg.portscan.minPorts) {
          const again = !p.scanFired
          p.scanFired = true
          if (initLocal) this.portscan(T.Portscan, init, resp, p, again)
          if (respLocal) this.portscan(T.InboundPortscan, resp, init, p, again)
        }
      }
      if (r.protocol === 6 && (port === 22 || port === 3389)) {
        if (r.start >= p.bfStart + cfg.bruteforce.windowSeconds || p.bfPort !== port) {
          p.bfStart = r.start
          p.clients.clear()
          p.bfFired = false
          p.bfPort = port
        }
        if (r.end > p.bfLast) p.bfLast = r.end
        if (p.clients.size <= cfg.bruteforce.minConnections) p.clients.add(clientPort)
        if (p.clients.size >= cfg.bruteforce.minConnections) {
          const again = !p.bfFired
          p.bfFired = true
          const type = port === 22 ? T.SSHBruteForce : T.RDPBruteForce
          const extra = { connections: p.clients.size, windowSeconds: cfg.bruteforce.windowSeconds }
          if (initLocal)
            this.connection(
              type,
              init,
              resp,
              'OUTBOUND',
              r,
              clientPort,
              port,
              p.bfStart,
              p.bfLast,
              again,
              Severity.High,
              'ACTOR',
              extra,
            )
          if (respLocal)
            this.connection(
              type,
              resp,
              init,
              'INBOUND',
              r,
              port,
              clientPort,
              p.bfStart,
              p.bfLast,
              again,
              Severity.Low,
              'TARGET',
              extra,
            )
        }
      }
    }

    // Sweeps (a local initiator): one port on many hosts; mail to many servers.
    if (initLocal && tcpUdp) {
      if (probe) {
        const svc = `${r.protocol}/${port}`
        const { windowSeconds, minHosts } = cfg.portsweep
        this.sweepTo(T.PortSweep, svc, windowSeconds, minHosts, 'hosts', r, init, resp, clientPort, port)
      } else if (r.protocol === 6 && port === 25) {
        const { windowSeconds, minHosts } = cfg.spambot
        this.sweepTo(
          T.Spambot,
          'smtp',
          windowSeconds,
          minHosts,
          'mailServers',
          r,
          init,
          resp,
          clientPort,
          port,
        )
      }
    }

    // Flows by the bytes a local source sends (counted once: on the source's own interface when known).
    if (srcLocal && (owner === '' || owner === r.srcaddr))
      this.flow(r, !fwd, fwd ? pk : `${r.srcaddr}>${r.dstaddr}`)

    // Baseline: server ports a local initiator uses.
    if (initLocal && !probe && !r.rejected && tcpUdp) {
      const inst = this.instance(init, r.start)
      const pp = (r.protocol << 16) | port
      if (r.start < inst.first + cfg.baseline.learnSeconds) {
        if (inst.ports.size < cfg.baseline.maxPorts) inst.ports.add(pp)
      } else if (!inst.ports.has(pp)) {
        this.connection(
          T.NetworkPortUnusual,
          init,
          resp,
          'OUTBOUND',
          r,
          clientPort,
          port,
          r.start,
          r.end,
          true,
          undefined,
          'ACTOR',
          {
            learnedPorts: inst.ports.size,
          },
          `${r.protocol}/${port}`,
        )
      }
    }
  }

  // ---- tables ----

  private sweep(key: string, r: DetectRecord, windowSeconds: number): SweepState {
    let s = this.sweeps.get(key)
    if (s === undefined) {
      s = { start: r.start, last: r.end, hosts: new Set(), fired: false }
      this.stats.evicted.sweeps += capSet(this.sweeps, key, s, this.config.caps.sweeps)
    } else if (r.start >= s.start + windowSeconds) {
      s.start = r.start
      s.hosts.clear()
      s.fired = false
    }
    if (r.end > s.last) s.last = r.end
    return s
  }

  /**
   * A local initiator reaching `resp` on `svc` (a sweep key: protocol/port, or `smtp`): counts the
   * distinct hosts in the window and makes or updates the finding at `minHosts`.
   */
  private sweepTo(
    type: FindingTypeName,
    svc: string,
    windowSeconds: number,
    minHosts: number,
    countName: string,
    r: DetectRecord,
    init: string,
    resp: string,
    clientPort: number,
    port: number,
  ): void {
    const s = this.sweep(`${init}|${svc}`, r, windowSeconds)
    if (s.hosts.size <= minHosts) s.hosts.add(resp)
    if (s.hosts.size < minHosts) return
    const again = !s.fired
    s.fired = true
    const extra = { [countName]: s.hosts.size, windowSeconds }
    this.connection(
      type,
      init,
      resp,
      'OUTBOUND',
      r,
      clientPort,
      port,
      s.start,
      s.last,
      again,
      undefined,
      'ACTOR',
      extra,
      svc,
    )
  }

  private instance(addr: string, t: number): InstanceState {
    let s = this.instances.get(addr)
    if (s === undefined) {
      s = { first: t, ports: new Set(), peakBytes: 0 }
      this.stats.evicted.instances += capSet(this.instances, addr, s, this.config.caps.instances)
    }
    return s
  }

  /** `key`: `srcaddr>dstaddr`. */
  private flow(r: DetectRecord, srcIsServer: boolean, key: string): void {
    const cfg = this.config
    let s = this.flows.get(key)
    if (s === undefined) {
      s = {
        start: r.start,
        last: r.end,
        packets: new Float64Array(5),
        conns: new Set(),
        dosFired: 0,
        lastDport: r.dstport,
        volStart: r.start,
        volLast: r.end,
        bytes: 0,
        volFired: false,
      }
      this.stats.evicted.flows += capSet(this.flows, key, s, cfg.caps.flows)
    }
    // Denial of service: packets the source sends, by class.
    if (r.start >= s.start + cfg.dos.windowSeconds) {
      s.start = r.start
      s.packets.fill(0)
      s.conns.clear()
      s.dosFired = 0
    }
    if (r.end > s.last) s.last = r.end
    const cls =
      r.protocol === 6
        ? 0
        : r.protocol === 17
          ? r.dstport === 53
            ? 2
            : TCP_SERVICE_PORTS.has(r.dstport)
              ? 3
              : 1
          : 4
    s.packets[cls]! += r.packets
    s.lastDport = r.dstport
    if (cls === 0 && s.conns.size < cfg.dos.minTcpConnections) s.conns.add(r.srcport)
    if (
      !srcIsServer &&
      s.packets[cls]! >= cfg.dos.minPackets &&
      (cls !== 0 || s.conns.size >= cfg.dos.minTcpConnections)
    ) {
      const bit = 1 << cls
      const again = (s.dosFired & bit) === 0
      s.dosFired |= bit
      this.connection(
        DOS_TYPES[cls]!,
        r.srcaddr,
        r.dstaddr,
        'OUTBOUND',
        r,
        r.srcport,
        r.dstport,
        s.start,
        s.last,
        again,
        undefined,
        'ACTOR',
        {
          packets: s.packets[cls],
          windowSeconds: cfg.dos.windowSeconds,
        },
      )
    }
    // Traffic volume against the source's learned peak.
    if (r.start >= s.volStart + cfg.volume.windowSeconds) {
      s.volStart = r.start
      s.bytes = 0
      s.volFired = false
    }
    if (r.end > s.volLast) s.volLast = r.end
    s.bytes += r.bytes
    const inst = this.instance(r.srcaddr, r.start)
    if (r.start < inst.first + cfg.baseline.learnSeconds) {
      if (s.bytes > inst.peakBytes) inst.peakBytes = s.bytes
    } else if (s.bytes >= cfg.volume.minBytes && s.bytes >= cfg.volume.factor * inst.peakBytes) {
      const again = !s.volFired
      s.volFired = true
      this.connection(
        T.TrafficVolumeUnusual,
        r.srcaddr,
        r.dstaddr,
        'OUTBOUND',
        r,
        r.srcport,
        r.dstport,
        s.volStart,
        s.volLast,
        again,
        undefined,
        'ACTOR',
        {
          bytes: s.bytes,
          learnedPeakBytes: inst.peakBytes,
          windowSeconds: cfg.volume.windowSeconds,
        },
      )
    }
  }

  private threatCheck(
    r: DetectRecord,
    init: string,
    resp: string,
    port: number,
    initLocal: boolean,
    respLocal: boolean,
    probe: boolean,
  ): void {
    if (initLocal) {
      const i = this.threatIndex(resp)
      if (i >= 0) {
        const t = this.threat[i]!
        const type = t.blackhole ? T.BlackholeTraffic : T.MaliciousIPCallerCustom
        const clientPort = r.srcaddr === init ? r.srcport : r.dstport
        this.connection(
          type,
          init,
          resp,
          'OUTBOUND',
          r,
          clientPort,
          port,
          r.start,
          r.end,
          true,
          undefined,
          'ACTOR',
          { threatListName: t.name },
        )
      }
    }
    if (respLocal) {
      const i = this.threatIndex(init)
      if (i >= 0) {
        const t = this.threat[i]!
        if (probe && !r.rejected) this.probe(resp, init, port, r, t.name)
        else {
          const clientPort = r.srcaddr === init ? r.srcport : r.dstport
          this.connection(
            T.MaliciousIPCallerCustom,
            resp,
            init,
            'INBOUND',
            r,
            port,
            clientPort,
            r.start,
            r.end,
            true,
            undefined,
            'TARGET',
            { threatListName: t.name },
          )
        }
      }
    }
  }

  // ---- ownership and locality ----

  private ownerOf(r: DetectRecord): string {
    let addr = ''
    if (r.direction === 2) addr = r.srcaddr
    else if (r.direction === 1) addr = r.dstaddr
    else {
      const info = this.opts.interfaceInfo?.(r.interfaceId)
      if (info !== undefined) {
        if (info.addresses.includes(r.srcaddr)) addr = r.srcaddr
        else if (info.addresses.includes(r.dstaddr)) addr = r.dstaddr
      }
      if (addr === '') {
        // The one address common to every record of the interface.
        let c = this.ifaceCandidates.get(r.interfaceId)
        if (c === undefined) {
          c = [r.srcaddr, r.dstaddr]
          capSet(this.ifaceCandidates, r.interfaceId, c, this.config.caps.instances)
        } else {
          if (c[0] !== r.srcaddr && c[0] !== r.dstaddr) c[0] = ''
          if (c[1] !== r.srcaddr && c[1] !== r.dstaddr) c[1] = ''
        }
        if (c[0] !== '' && c[1] === '') addr = c[0]
        else if (c[1] !== '' && c[0] === '') addr = c[1]
      }
    }
    if (addr !== '' && !this.owners.has(addr)) {
      const info = this.opts.interfaceInfo?.(r.interfaceId)
      capSet(
        this.owners,
        addr,
        {
          interfaceId: r.interfaceId,
          instanceId: r.instanceId !== '' ? r.instanceId : (info?.instanceId ?? ''),
          vpcId: r.vpcId !== '' ? r.vpcId : (info?.vpcId ?? ''),
          subnetId: r.subnetId !== '' ? r.subnetId : (info?.subnetId ?? ''),
        },
        this.config.caps.instances,
      )
    }
    return addr
  }

  private isLocal(addr: string): boolean {
    // The local networks first: one lookup answers for most addresses.
    if (this.localNets !== null) {
      let v = this.localCache.get(addr)
      if (v === undefined) {
        v = this.localNets.contains(addr)
        if (this.localCache.size >= 65_536) this.localCache.clear()
        this.localCache.set(addr, v)
      }
      if (v) return true
    }
    return this.owners.has(addr)
  }

  private isTrusted(addr: string): boolean {
    let v = this.trustCache.get(addr)
    if (v === undefined) {
      v = this.trusted.some((l) => l.contains(addr))
      if (this.trustCache.size >= 65_536) this.trustCache.clear()
      this.trustCache.set(addr, v)
    }
    return v
  }

  private threatIndex(addr: string): number {
    let v = this.threatCache.get(addr)
    if (v === undefined) {
      v = this.threat.findIndex((t) => t.list.contains(addr))
      if (this.threatCache.size >= 65_536) this.threatCache.clear()
      this.threatCache.set(addr, v)
    }
    return v
  }

  // ---- findings ----

  private portscan(type: FindingTypeName, local: string, remote: string, p: PairState, again: boolean): void {
    const extra = { distinctPorts: p.ports.size, windowSeconds: this.config.portscan.windowSeconds }
    if (type === T.Portscan) {
      const action = {
        ActionType: 'NETWORK_CONNECTION' as const,
        NetworkConnectionAction: {
          Blocked: p.blocked,
          ConnectionDirection: 'OUTBOUND' as const,
          Protocol: protocolName(p.lastProto),
          LocalIpDetails: ipDetails(local),
          RemoteIpDetails: ipDetails(remote),
          RemotePortDetails: { Port: p.lastPort, PortName: portName(p.lastPort) },
        },
      }
      this.upsert(
        type,
        local,
        remote,
        '',
        action,
        p.scanStart,
        p.scanLast,
        again,
        SEVERITY[type],
        'ACTOR',
        extra,
      )
    } else {
      const action = {
        ActionType: 'PORT_PROBE' as const,
        PortProbeAction: {
          Blocked: p.blocked,
          PortProbeDetails: p.firstPorts.map((port) => ({
            LocalPortDetails: { Port: port, PortName: portName(port) },
            LocalIpDetails: ipDetails(local),
            RemoteIpDetails: ipDetails(remote),
          })),
        },
      }
      this.upsert(
        type,
        local,
        remote,
        '',
        action,
        p.scanStart,
        p.scanLast,
        again,
        SEVERITY[type],
        'TARGET',
        extra,
      )
    }
  }

  private probe(local: string, remote: string, port: number, r: DetectRecord, listName: string): void {
    const type = T.PortProbeUnprotectedPort
    const id = findingId(this.opts.detectorId, `${type}|${local}|${remote}|`)
    const prev = this.findingMap.get(id)
    const details = prev?.Service.Action.PortProbeAction?.PortProbeDetails ?? []
    if (details.length < 10 && !details.some((d) => d.LocalPortDetails.Port === port)) {
      details.push({
        LocalPortDetails: { Port: port, PortName: portName(port) },
        LocalIpDetails: ipDetails(local),
        RemoteIpDetails: ipDetails(remote),
      })
    }
    const action = {
      ActionType: 'PORT_PROBE' as const,
      PortProbeAction: { Blocked: false, PortProbeDetails: details },
    }
    this.upsert(type, local, remote, '', action, r.start, r.end, true, SEVERITY[type], 'TARGET', {
      threatListName: listName,
    })
  }

  private connection(
    type: FindingTypeName,
    local: string,
    remote: string,
    direction: 'INBOUND' | 'OUTBOUND',
    r: DetectRecord,
    localPort: number,
    remotePort: number,
    first: number,
    last: number,
    again: boolean,
    severity: number | undefined,
    role: 'ACTOR' | 'TARGET',
    extra: Record<string, unknown>,
    keyExtra = '',
  ): void {
    const action = {
      ActionType: 'NETWORK_CONNECTION' as const,
      NetworkConnectionAction: {
        Blocked: r.rejected,
        ConnectionDirection: direction,
        Protocol: protocolName(r.protocol),
        LocalIpDetails: ipDetails(local),
        LocalPortDetails: { Port: localPort, PortName: portName(localPort) },
        RemoteIpDetails: ipDetails(remote),
        RemotePortDetails: { Port: remotePort, PortName: portName(remotePort) },
      },
    }
    // Brute force as actor and as target are two findings (two resources, two severities).
    const key = type === T.SSHBruteForce || type === T.RDPBruteForce ? `${keyExtra}${role}` : keyExtra
    this.upsert(type, local, remote, key, action, first, last, again, severity ?? SEVERITY[type], role, extra)
  }

  private upsert(
    type: FindingTypeName,
    local: string,
    remote: string,
    keyExtra: string,
    action: Finding['Service']['Action'],
    first: number,
    last: number,
    again: boolean,
    severity: number,
    role: 'ACTOR' | 'TARGET',
    extra: Record<string, unknown>,
  ): void {
    // Sweeps and spam are about the actor, whatever host it reached last.
    const remoteKey = type === T.PortSweep || type === T.Spambot ? '' : remote
    const id = findingId(this.opts.detectorId, `${type}|${local}|${remoteKey}|${keyExtra}`)
    const now = this.now().toISOString()
    const prev = this.findingMap.get(id)
    const info = JSON.stringify(extra)
    if (prev !== undefined) {
      const lastIso = iso(last)
      const changed =
        again || lastIso > prev.Service.EventLastSeen || prev.Service.AdditionalInfo?.Value !== info
      if (!changed) return
      if (again) prev.Service.Count++
      if (lastIso > prev.Service.EventLastSeen) prev.Service.EventLastSeen = lastIso
      prev.Service.Action = action
      prev.Service.AdditionalInfo = { Type: 'default', Value: info }
      prev.UpdatedAt = now
      this.findingMap.delete(id)
      this.findingMap.set(id, prev)
      this.dirty.add(id)
      this.stats.findingsUpdated++
      return
    }
    const o = this.owners.get(local)
    const instanceId = o?.instanceId ?? ''
    const subject = instanceId !== '' ? `EC2 instance ${instanceId} (${local})` : `The instance at ${local}`
    const { title, description } = describe(type, subject, local, remote, role, action)
    const iface: Finding['Resource']['InstanceDetails']['NetworkInterfaces'][number] = {
      PrivateIpAddress: local,
      PrivateIpAddresses: [{ PrivateIpAddress: local }],
    }
    if (o !== undefined) {
      iface.NetworkInterfaceId = o.interfaceId
      if (o.subnetId !== '') iface.SubnetId = o.subnetId
      if (o.vpcId !== '') iface.VpcId = o.vpcId
    }
    const partition = this.opts.partition ?? 'aws'
    const finding: Finding = {
      AccountId: this.opts.accountId,
      Arn: `arn:${partition}:guardduty:${this.opts.region}:${this.opts.accountId}:detector/${this.opts.detectorId}/finding/${id}`,
      CreatedAt: now,
      Description: description,
      Id: id,
      Partition: partition,
      Region: this.opts.region,
      Resource: {
        ResourceType: 'Instance',
        InstanceDetails: {
          ...(instanceId !== '' ? { InstanceId: instanceId } : {}),
          NetworkInterfaces: [iface],
        },
      },
      SchemaVersion: '2.0',
      Service: {
        Action: action,
        Archived: false,
        Count: 1,
        DetectorId: this.opts.detectorId,
        EventFirstSeen: iso(first),
        EventLastSeen: iso(last),
        ResourceRole: role,
        ServiceName: 'guardduty',
        AdditionalInfo: { Type: 'default', Value: info },
      },
      Severity: severity,
      Title: title,
      Type: type,
      UpdatedAt: now,
    }
    this.stats.evicted.findings += capSet(this.findingMap, id, finding, this.config.caps.findings)
    this.dirty.add(id)
    this.stats.findingsCreated++
  }
}

function ipDetails(addr: string): { IpAddressV4?: string; IpAddressV6?: string } {
  return addr.includes(':') ? { IpAddressV6: addr } : { IpAddressV4: addr }
}

function describe(
  type: FindingTypeName,
  subject: string,
  local: string,
  remote: string,
  role: 'ACTOR' | 'TARGET',
  action: Finding['Service']['Action'],
): { title: string; description: string } {
  const port = action.NetworkConnectionAction?.RemotePortDetails?.Port
  const lport = action.NetworkConnectionAction?.LocalPortDetails?.Port
  switch (type) {
    case T.Portscan:
      return {
        title: `${subject} is scanning the ports of ${remote}.`,
        description: `${subject} probed many ports of the remote host ${remote}: an outbound port scan, as reconnaissance for an attack does.`,
      }
    case T.InboundPortscan:
      return {
        title: `${subject} is being port scanned by ${remote}.`,
        description: `The host ${remote} probed many ports of ${subject}: an inbound port scan (a mirrorflow finding type).`,
      }
    case T.PortSweep:
      return {
        title: `${subject} is probing port ${port} on many hosts.`,
        description: `${subject} probed port ${port} on many hosts, the last one ${remote}: a port sweep.`,
      }
    case T.SSHBruteForce:
    case T.RDPBruteForce: {
      const svc = type === T.SSHBruteForce ? 'SSH' : 'RDP'
      return role === 'ACTOR'
        ? {
            title: `${subject} is performing ${svc} brute force attacks against ${remote}.`,
            description: `${subject} opened many ${svc} connections to ${remote}, as password guessing does.`,
          }
        : {
            title: `${remote} is performing ${svc} brute force attacks against ${subject}.`,
            description: `The host ${remote} opened many ${svc} connections to ${subject}, as password guessing does.`,
          }
    }
    case T.Spambot:
      return {
        title: `${subject} is sending mail to many servers.`,
        description: `${subject} connected to port 25 of many remote hosts, the last one ${remote}, as a spam bot does.`,
      }
    case T.NetworkPortUnusual:
      return {
        title: `${subject} is talking to ${remote} on the unusual port ${port}.`,
        description: `${subject} connected to port ${port} of ${remote}, a server port it did not use while its baseline was learnt.`,
      }
    case T.TrafficVolumeUnusual:
      return {
        title: `${subject} is sending an unusually large amount of data to ${remote}.`,
        description: `${subject} sent ${remote} far more data than its learnt peak, as exfiltration does.`,
      }
    case T.MaliciousIPCallerCustom:
      return role === 'ACTOR'
        ? {
            title: `${subject} is communicating with ${remote}, a host on a custom threat list.`,
            description: `${subject} connected to port ${port} of ${remote}, which is on one of your threat lists.`,
          }
        : {
            title: `${remote}, a host on a custom threat list, is communicating with ${subject}.`,
            description: `The host ${remote}, on one of your threat lists, connected to port ${lport} of ${subject}.`,
          }
    case T.BlackholeTraffic:
      return {
        title: `${subject} is attempting to communicate with a black hole, ${remote}.`,
        description: `${subject} sent traffic to ${remote}, listed as a black hole on one of your threat lists.`,
      }
    case T.PortProbeUnprotectedPort:
      return {
        title: `An unprotected port of ${subject} is being probed by ${remote}.`,
        description: `The host ${remote}, on one of your threat lists, probed open ports of ${subject}.`,
      }
    default: {
      const cls = type.slice(type.indexOf('.') + 1)
      return {
        title: `${subject} is behaving like a denial-of-service source against ${remote} (${cls}).`,
        description: `${subject} sent ${remote} a flood of ${cls} traffic, as a denial-of-service attack does.`,
      }
    }
  }
}
