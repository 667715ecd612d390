// SPDX-License-Identifier: Apache-2.0
/**
 * Shared topology and checks of the mirroring namespace tests (mirror-*.test.ts):
 *
 * ```
 *   peer ns                 src ns                              tgt ns
 *   p0 10.77.0.2  ──veth──  s0 10.77.0.1 (the mirrored source)
 *      fd77::2                 fd77::1
 *                           s1 10.78.0.1  ──veth (MTU 9001)──   t0 10.78.0.2 (+ .3 .4 .5: NLB appliances)
 * ```
 *
 * Neighbours are static (no ARP/ND noise), GSO is limited to one segment (wire-sized frames, as a NIC
 * would put them on the wire), and the target drops UDP 4789 after capture (no ICMP back).
 * A run: start captures on s0 and t0, wait until both are listening, send bounded traffic, stop.
 * The expected mirror set is computed from the s0 capture with a per-scenario predicate written
 * independently of the evaluator; the t0 capture must hold exactly that (multiset), with the right
 * VNI and length, as seen by our decoder and by tshark.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { decodeFrame, PacketMeta, readCapture, formatIPv4, formatIPv6 } from '../../src/packet/index.ts'
import { interfaceMac, Lab, run, stopProcess, uniquePrefix } from '../../src/lab/netns.ts'
import type { MirrorState, TrafficMirrorFilterRule } from '../../src/mirror/index.ts'
import { rule } from '../../src/mirror/testing.ts'

export const SRC_IP = '10.77.0.1'
export const PEER_IP = '10.77.0.2'
export const SRC_IP6 = 'fd77::1'
export const PEER_IP6 = 'fd77::2'
export const TGT_IP = '10.78.0.2'
export const APPLIANCES = ['10.78.0.3', '10.78.0.4', '10.78.0.5']
/** The instance-metadata address: never mirrored (spec §2.4). */
export const IMDS = '169.254.169.254'

/** A captured, decoded source frame. */
export interface SrcPacket {
  bytes: Uint8Array
  dir: 'ingress' | 'egress'
  family: 4 | 6
  proto: number
  sport: number
  dport: number
  l4: number
  /** Addresses as text. */
  src: string
  dst: string
}

/** One received VXLAN frame at the target. */
export interface TgtPacket {
  vni: number
  outerDst: string
  outerSrc: string
  /** Outer IPv4 TTL, DF bit, VXLAN flags byte, UDP source port and checksum. */
  ttl: number
  df: boolean
  flags: number
  sport: number
  udpChecksum: number
  inner: Uint8Array
  innerPacket: SrcPacket
}

export class MirrorLab {
  readonly lab: Lab
  readonly dir: string
  src = ''
  peer = ''
  tgt = ''
  srcMac = ''
  #bg: ChildProcess[] = []

  constructor(base: string) {
    this.lab = new Lab(uniquePrefix(base))
    this.dir = mkdtempSync(join(tmpdir(), 'mf-mirror-it-'))
  }

  async setup(): Promise<void> {
    const l = this.lab
    this.src = await l.namespace('src')
    this.peer = await l.namespace('peer')
    this.tgt = await l.namespace('tgt')
    await l.veth(
      { ns: this.src, ifname: 's0', addresses: [`${SRC_IP}/24`, `${SRC_IP6}/64`] },
      { ns: this.peer, ifname: 'p0', addresses: [`${PEER_IP}/24`, `${PEER_IP6}/64`] },
    )
    await l.veth(
      { ns: this.src, ifname: 's1', addresses: ['10.78.0.1/24'] },
      { ns: this.tgt, ifname: 't0', addresses: [`${TGT_IP}/24`, ...APPLIANCES.map((a) => `${a}/24`)] },
    )
    for (const [ns, ifn] of [
      [this.src, 's1'],
      [this.tgt, 't0'],
    ] as const)
      await l.exec(ns, ['ip', 'link', 'set', ifn, 'mtu', '9001'])
    for (const [ns, ifn] of [
      [this.src, 's0'],
      [this.peer, 'p0'],
    ] as const) {
      await l.exec(ns, ['ip', 'link', 'set', ifn, 'gso_max_segs', '1'])
      await l.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.router_solicitations=0'])
    }
    await l.route(this.tgt, '10.77.0.0/24', '10.78.0.1')
    this.srcMac = await interfaceMac(this.src, 's0')
    const peerMac = await interfaceMac(this.peer, 'p0')
    const s1Mac = await interfaceMac(this.src, 's1')
    const t0Mac = await interfaceMac(this.tgt, 't0')
    await pinNeighbor(l, this.src, PEER_IP, peerMac, 's0')
    await pinNeighbor(l, this.src, PEER_IP6, peerMac, 's0')
    await pinNeighbor(l, this.peer, SRC_IP, this.srcMac, 'p0')
    await pinNeighbor(l, this.peer, SRC_IP6, this.srcMac, 'p0')
    for (const a of [TGT_IP, ...APPLIANCES]) await pinNeighbor(l, this.src, a, t0Mac, 's1')
    await pinNeighbor(l, this.tgt, '10.78.0.1', s1Mac, 't0')
    await l.exec(this.tgt, ['nft', '-f', '-'], {
      input:
        'table inet mfdrop {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\tudp dport 4789 drop\n\t}\n}\n',
    })
    // Servers in the source namespace: TCP echo on 8080 and 9090, UDP sinks on 7000 and 8005.
    for (const port of ['8080', '9090'])
      this.#bg.push(l.spawn(this.src, ['socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'EXEC:cat']))
    for (const port of ['7000', '8005'])
      this.#bg.push(l.spawn(this.src, ['socat', '-u', `UDP-RECV:${port}`, 'OPEN:/dev/null']))
    await waitFor(async () => (await l.exec(this.src, ['ss', '-ltnH'])).stdout.includes(':9090'))
  }

  /** The state skeleton: source s0, target (tmt-1 → 10.78.0.2) and NLB target (tmt-nlb → appliances). */
  state(
    sessions: {
      n: number
      vni: number
      ingress?: TrafficMirrorFilterRule[]
      egress?: TrafficMirrorFilterRule[]
      nlb?: boolean
      packetLength?: number
    }[],
  ): MirrorState {
    return {
      sources: [
        {
          networkInterfaceId: 'eni-src',
          ifname: 's0',
          netns: this.src,
          mac: this.srcMac,
          addresses: [SRC_IP, SRC_IP6],
        },
      ],
      targets: [
        { trafficMirrorTargetId: 'tmt-1', type: 'network-interface', addresses: [TGT_IP] },
        { trafficMirrorTargetId: 'tmt-nlb', type: 'network-load-balancer', addresses: APPLIANCES },
      ],
      filters: sessions.map((s) => ({
        trafficMirrorFilterId: `tmf-${s.n}`,
        ingressFilterRules: s.ingress ?? [],
        egressFilterRules: s.egress ?? [],
        networkServices: [],
      })),
      sessions: sessions.map((s) => ({
        trafficMirrorSessionId: `tms-${s.n}`,
        networkInterfaceId: 'eni-src',
        trafficMirrorTargetId: s.nlb === true ? 'tmt-nlb' : 'tmt-1',
        trafficMirrorFilterId: `tmf-${s.n}`,
        sessionNumber: s.n,
        packetLength: s.packetLength,
        virtualNetworkId: s.vni,
      })),
      amazonDnsResolvers: [],
    }
  }

  /** Captures on s0 and t0 around `traffic()`; returns both captures decoded. */
  async capture(
    name: string,
    traffic: () => Promise<void>,
    settleMs = 400,
  ): Promise<{ src: SrcPacket[]; tgt: TgtPacket[]; tgtPcap: string }> {
    const srcPcap = join(this.dir, `${name}-src.pcap`)
    const tgtPcap = join(this.dir, `${name}-tgt.pcap`)
    // Target first: everything the source capture holds was sent while the target listened.
    const b = await startTcpdump(this.lab, this.tgt, 't0', tgtPcap, 'udp dst port 4789')
    const a = await startTcpdump(this.lab, this.src, 's0', srcPcap, 'ip or ip6')
    try {
      await traffic()
      // Let the last mirrored copies arrive (user-space path: capture blocks wait up to 1 s).
      await new Promise((r) => setTimeout(r, settleMs))
    } finally {
      await stopProcess(a)
      await stopProcess(b)
    }
    return { src: await readSrc(srcPcap, this.srcMac), tgt: await readTgt(tgtPcap, this.srcMac), tgtPcap }
  }

  /** The standard traffic: 2 pings each way of v4, 2 ping6, 2 TCP echoes (8080, 9090), 2+2 UDP datagrams. */
  async traffic(): Promise<void> {
    const l = this.lab
    await l.exec(this.peer, ['ping', '-c', '2', '-i', '0.2', '-W', '1', SRC_IP])
    await l.exec(this.peer, ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '1', SRC_IP6])
    for (const port of ['8080', '9090']) {
      const out = await l.exec(this.peer, ['socat', '-t', '0.5', '-', `TCP:${SRC_IP}:${port}`], {
        input: 'hello\n',
      })
      assert.equal(out.stdout, 'hello\n')
    }
    for (const port of ['7000', '8005']) {
      for (let i = 0; i < 2; i++)
        await l.exec(this.peer, ['socat', '-u', '-', `UDP:${SRC_IP}:${port}`], { input: `datagram ${i}\n` })
    }
  }

  /**
   * Traffic of the never-mirrored classes next to ordinary traffic: the peer also answers as the
   * instance-metadata address 169.254.169.254 (ping and TCP to it), and sends a DHCP-like datagram
   * from UDP 67 to UDP 68 of the source (the source answers ICMP port unreachable, which is mirrored).
   */
  async neverMirroredTraffic(): Promise<void> {
    const l = this.lab
    if (!this.#imds) {
      this.#imds = true
      await l.exec(this.src, ['ip', 'route', 'add', `${IMDS}/32`, 'dev', 's0'])
      await this.#addPeerAddress(IMDS)
      this.#bg.push(l.spawn(this.peer, ['socat', `TCP-LISTEN:80,bind=${IMDS},fork,reuseaddr`, 'EXEC:cat']))
      await waitFor(async () => (await l.exec(this.peer, ['ss', '-ltnH'])).stdout.includes(`${IMDS}:80`))
    }
    await l.exec(this.src, ['ping', '-c', '2', '-i', '0.2', '-W', '1', IMDS])
    const out = await l.exec(this.src, ['socat', '-t', '0.3', '-', `TCP:${IMDS}:80`], { input: 'meta\n' })
    assert.equal(out.stdout, 'meta\n')
    await l.exec(this.peer, ['socat', '-u', '-', `UDP:${SRC_IP}:68,sourceport=67,reuseaddr`], {
      input: 'dhcp\n',
    })
    await l.exec(this.peer, ['ping', '-c', '2', '-i', '0.2', '-W', '1', SRC_IP])
  }
  #imds = false

  /** Gives the peer's p0 the extra address `addr` and pins it in the source's neighbour table. */
  async #addPeerAddress(addr: string): Promise<void> {
    const l = this.lab
    await l.exec(this.peer, ['ip', 'addr', 'add', `${addr}/32`, 'dev', 'p0'])
    const peerMac = await interfaceMac(this.peer, 'p0')
    await pinNeighbor(l, this.src, addr, peerMac, 's0')
  }

  /**
   * Applies one accept-all IPv4 session (VNI `vni`) with `apply` and runs `neverMirroredTraffic()`:
   * instance metadata and DHCP (UDP 67 → 68) must not be mirrored, all other IPv4 must be.
   */
  async assertNeverMirrored(
    apply: (st: MirrorState) => Promise<unknown>,
    vni: number,
    settleMs?: number,
  ): Promise<void> {
    const all = [rule(1)]
    await apply(this.state([{ n: 1, vni, ingress: all, egress: all }]))
    const cap = await this.capture('never', () => this.neverMirroredTraffic(), settleMs)
    assert.ok(cap.src.some((p) => p.dst === IMDS) && cap.src.some((p) => p.sport === 67 && p.dport === 68))
    await assertMirrored(cap, (p) =>
      p.family !== 4 ||
      p.src === IMDS ||
      p.dst === IMDS ||
      (p.proto === 17 && p.sport === 67 && p.dport === 68)
        ? 0
        : vni,
    )
  }

  /**
   * Two sessions on the source, applied with `apply`: `tcp` mirrors IPv4 TCP, `rest` (listed first,
   * with the higher session number) all IPv4. Each packet must reach the target once,
   * TCP with `tcp.vni`, the rest of IPv4 with `rest.vni`.
   */
  async assertTwoSessions(
    apply: (st: MirrorState) => Promise<unknown>,
    tcp: { n: number; vni: number },
    rest: { n: number; vni: number },
    settleMs?: number,
  ): Promise<void> {
    const tcpRules = [rule(1, { protocol: 6 })]
    const all = [rule(1)]
    await apply(
      this.state([
        { n: rest.n, vni: rest.vni, ingress: all, egress: all },
        { n: tcp.n, vni: tcp.vni, ingress: tcpRules, egress: tcpRules },
      ]),
    )
    const cap = await this.capture('two', () => this.traffic(), settleMs)
    await assertMirrored(cap, (p) => (p.family !== 4 ? 0 : p.proto === 6 ? tcp.vni : rest.vni))
  }

  /** One TCP echo flow (source port 30000+i → 8080) and one UDP datagram (31000+i → 8005). */
  async flow(i: number): Promise<void> {
    const l = this.lab
    const out = await l.exec(
      this.peer,
      ['socat', '-t', '0.2', '-', `TCP:${SRC_IP}:8080,sourceport=${30000 + i},reuseaddr`],
      { input: 'x\n' },
    )
    assert.equal(out.stdout, 'x\n')
    await l.exec(this.peer, ['socat', '-u', '-', `UDP:${SRC_IP}:8005,sourceport=${31000 + i},reuseaddr`], {
      input: `d${i}\n`,
    })
  }

  /**
   * Mirror copies larger than the MTU, mirrored exactly once. A target (`10.77.0.100`, on the peer)
   * sits behind the mirrored interface s0 itself (MTU 1500), so the outer packets of the mirror
   * copies leave through s0 and are seen there again (egress hook / capture). A 1492-byte frame
   * (`ping -s 1450`) becomes a 1528-byte outer packet: two fragments, the second without a UDP
   * header — which used to be mirrored again (`IP 10.77.0.1 > 10.77.0.100: ip-proto-17`). Applies
   * an accept-all IPv4 session to that target with `apply`, pings the peer 3 times, and checks at
   * the target that the fragments reassemble into exactly one VXLAN datagram (VNI `vni`) per
   * original frame, and nothing else.
   */
  async assertLargeFramesMirroredOnce(
    apply: (st: MirrorState) => Promise<unknown>,
    vni: number,
    settleMs: number,
  ): Promise<void> {
    const l = this.lab
    const near = '10.77.0.100'
    if (!this.#near) {
      this.#near = true
      await this.#addPeerAddress(near)
      // The target drops what it receives (after reassembly), so it sends nothing back.
      await l.exec(this.peer, ['nft', '-f', '-'], {
        input: `table inet mfnear {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\tip daddr ${near} udp dport 4789 drop\n\t}\n}\n`,
      })
    }
    const all = [rule(1)]
    const st = this.state([{ n: 1, vni, ingress: all, egress: all }])
    st.targets.push({ trafficMirrorTargetId: 'tmt-near', type: 'network-interface', addresses: [near] })
    st.sessions[0]!.trafficMirrorTargetId = 'tmt-near'
    await apply(st)
    const file = join(this.dir, `frag-${vni}-p0.pcap`)
    const cap = await startTcpdump(l, this.peer, 'p0', file, 'ip')
    try {
      await l.exec(this.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', '-s', '1450', PEER_IP])
      await new Promise((r) => setTimeout(r, settleMs))
    } finally {
      await stopProcess(cap)
    }
    // Everything at p0: the original frames, and the fragments of the outer packets to `near`.
    const originals: string[] = []
    const frags = new Map<number, { offset: number; more: boolean; payload: Uint8Array }[]>()
    const m = new PacketMeta()
    for await (const b of readCapture(file)) {
      for (let i = 0; i < b.count; i++) {
        decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, m)
        assert.equal(m.ipVersion, 4)
        const frame = b.bytes.subarray(m.frameStart, m.frameEnd)
        if (formatIPv4(m.dst4) !== near) {
          originals.push(Buffer.from(frame).toString('hex'))
          continue
        }
        assert.equal(formatIPv4(m.src4), SRC_IP, 'outer source')
        assert.equal(m.ipProto, 17)
        const field = b.view.getUint16(m.l3Offset + 6)
        const id = b.view.getUint16(m.l3Offset + 4)
        const list = frags.get(id) ?? []
        list.push({
          offset: (field & 0x1fff) * 8,
          more: (field & 0x2000) !== 0,
          payload: b.bytes.slice(m.l4Offset, m.l3Offset + m.ipLength),
        })
        frags.set(id, list)
      }
    }
    assert.equal(originals.length, 6, '3 echo requests and 3 replies')
    for (const o of originals) assert.equal(o.length / 2, 14 + 20 + 8 + 1450)
    // Reassemble each outer packet; each must be one VXLAN datagram holding one original frame.
    const inner: string[] = []
    for (const [id, list] of frags) {
      list.sort((a, b) => a.offset - b.offset)
      // A lone unfragmented datagram here is a later fragment of mirror traffic mirrored again.
      assert.ok(list.length >= 2, `outer packet ${id} is fragmented (not a fragment mirrored again)`)
      let at = 0
      for (const f of list) {
        assert.equal(f.offset, at, `outer packet ${id}: contiguous fragments`)
        at += f.payload.length
      }
      assert.equal(list.at(-1)!.more, false, `outer packet ${id}: last fragment present`)
      const udp = Buffer.concat(list.map((f) => f.payload))
      assert.equal(udp.readUInt16BE(2), 4789)
      assert.equal(udp.readUInt16BE(4), udp.length)
      assert.equal(udp[8], 0x08, 'VXLAN flags')
      assert.equal(udp.readUInt32BE(12) >>> 8, vni, 'VNI')
      inner.push(udp.subarray(16).toString('hex'))
    }
    // Exactly once: one datagram per original frame, and no fragment of mirror traffic mirrored again.
    assert.deepEqual(inner.sort(), originals.sort())
  }
  #near = false

  async cleanup(): Promise<void> {
    for (const p of this.#bg) await stopProcess(p)
    await this.lab.cleanup()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Polls `cond` every 50 ms for up to `ms`. */
/** A permanent neighbour entry in `ns`: `addr` is at `mac` on `dev` (no ARP/ND traffic). */
async function pinNeighbor(l: Lab, ns: string, addr: string, mac: string, dev: string): Promise<void> {
  await l.exec(ns, ['ip', 'neigh', 'replace', addr, 'lladdr', mac, 'dev', dev, 'nud', 'permanent'])
}

export async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (await cond().catch(() => false)) return
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Starts tcpdump writing to a file and resolves once it is listening. */
export async function startTcpdump(
  lab: Lab,
  ns: string,
  ifname: string,
  file: string,
  filter: string,
): Promise<ChildProcess> {
  const p = lab.spawn(ns, [
    'tcpdump',
    '-U',
    '--immediate-mode',
    '-n',
    '-s',
    '65535',
    '-i',
    ifname,
    '-w',
    file,
    filter,
  ])
  await new Promise<void>((resolve, reject) => {
    let err = ''
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000)
    p.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d
      if (err.includes('listening on')) {
        clearTimeout(t)
        resolve()
      }
    })
    p.once('exit', () => reject(new Error(`tcpdump exited: ${err}`)))
  })
  return p
}

function describe(bytes: Uint8Array, m: PacketMeta, srcMac: string): SrcPacket | null {
  if (m.ipVersion === 0) return null
  // The kernel's own IPv6 link-local chatter (MLD reports after link-up) comes at times nobody
  // controls; it is left out on both sides. Every test packet is global unicast.
  if (m.ipVersion === 6 && (bytes[m.dst6Offset] === 0xff || bytes[m.src6Offset] === 0xfe)) return null
  const mac = Array.from(bytes.subarray(m.frameStart + 6, m.frameStart + 12), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join(':')
  return {
    bytes: bytes.slice(m.frameStart, m.frameEnd),
    dir: mac === srcMac ? 'egress' : 'ingress',
    family: m.ipVersion as 4 | 6,
    proto: m.ipProto,
    sport: m.srcPort,
    dport: m.dstPort,
    l4: m.l4Offset - m.frameStart,
    src: m.ipVersion === 4 ? formatIPv4(m.src4) : formatIPv6(bytes, m.src6Offset),
    dst: m.ipVersion === 4 ? formatIPv4(m.dst4) : formatIPv6(bytes, m.dst6Offset),
  }
}

async function readSrc(file: string, srcMac: string): Promise<SrcPacket[]> {
  const out: SrcPacket[] = []
  const m = new PacketMeta()
  for await (const b of readCapture(file)) {
    for (let i = 0; i < b.count; i++) {
      decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, m)
      const p = describe(b.bytes, m, srcMac)
      if (p !== null) out.push(p)
    }
  }
  return out
}

async function readTgt(file: string, srcMac: string): Promise<TgtPacket[]> {
  const out: TgtPacket[] = []
  const m = new PacketMeta()
  const im = new PacketMeta()
  for await (const b of readCapture(file)) {
    for (let i = 0; i < b.count; i++) {
      decodeFrame(b.view, b.starts[i]!, b.ends[i]!, b.linkTypes[i]!, m)
      assert.ok(m.vni >= 0, 'every frame at the target is VXLAN')
      const vni = m.vni
      const outerDst = formatIPv4(m.dst4)
      const outerSrc = formatIPv4(m.src4)
      const outer = {
        ttl: m.ttl,
        df: (b.view.getUint16(m.l3Offset + 6) & 0x4000) !== 0,
        flags: b.bytes[m.l4Offset + 8]!,
        sport: m.srcPort,
        udpChecksum: b.view.getUint16(m.l4Offset + 6),
      }
      decodeFrame(b.view, m.innerOffset, b.ends[i]!, 1, im)
      const p = describe(b.bytes, im, srcMac)
      if (p === null) continue // link-local chatter, left out on both sides
      out.push({ vni, outerDst, outerSrc, ...outer, inner: p.bytes, innerPacket: p })
    }
  }
  return out
}

/**
 * The outer headers as AWS writes them (spec §2.1): TTL 255, VXLAN flags 0x08, UDP source port in
 * 0xFF80–0xFFFF and the same for both directions of a flow; with `exact`, also DF 0 and UDP
 * checksum 0 (the kernel path; the user-space path leaves DF and the checksum to the UDP stack).
 * On the kernel path the port comes from the packet's skb hash, which Linux takes from the socket
 * (a random per-socket value) for locally sent packets and mixes the IPv6 flow label into: it is
 * stable per flow and direction, not across directions — checked that way there.
 */
export function assertOuterLikeAws(tgt: TgtPacket[], exact: boolean): void {
  const ports = new Map<string, Set<number>>()
  for (const t of tgt) {
    assert.equal(t.ttl, 255, 'outer TTL')
    assert.equal(t.flags, 0x08, 'VXLAN flags')
    assert.ok(t.sport >= 0xff80 && t.sport <= 0xffff, `outer source port ${t.sport}`)
    if (exact) {
      assert.equal(t.df, false, 'outer DF')
      assert.equal(t.udpChecksum, 0, 'outer UDP checksum')
    }
    const p = t.innerPacket
    const ends = [`${p.src}:${p.sport}`, `${p.dst}:${p.dport}`]
    const flow = (exact ? ends.join('>') : ends.sort().join('-')) + `/${p.proto}/${p.family}`
    ports.set(flow, (ports.get(flow) ?? new Set()).add(t.sport))
  }
  for (const [flow, set] of ports)
    assert.equal(set.size, 1, `flow ${flow}: outer source ports ${[...set].join(',')}`)
}

/** A readable line for a key: VNI, length, and the inner IPv4/IPv6 header fields that matter. */
function summarize(k: string): string {
  const [vni, hex] = k.split(' ') as [string, string]
  const b = Buffer.from(hex, 'hex')
  const et = b.readUInt16BE(12)
  if (et === 0x0800 && b.length >= 38) {
    const ip = (o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`
    return `vni ${vni} len ${b.length} ${ip(26)}:${b.readUInt16BE(34)} > ${ip(30)}:${b.readUInt16BE(36)} proto ${b[23]} id ${b.readUInt16BE(18)}`
  }
  return `vni ${vni} len ${b.length} ethertype 0x${et.toString(16)} ${hex.slice(0, 120)}`
}

/** Hex of a frame with the L4 checksum zeroed (veth leaves it to offload: not final on either side). */
export function key(p: SrcPacket, len = p.bytes.length): string {
  const b = p.bytes.slice(0, len)
  const at = p.proto === 6 ? p.l4 + 16 : p.proto === 17 ? p.l4 + 6 : -1
  if (at >= 0 && at + 2 <= b.length) b.fill(0, at, at + 2)
  return Buffer.from(b).toString('hex')
}

/**
 * Checks that the target got exactly `expect(p)` for each source packet: the VNI (0 = not mirrored)
 * and the inner bytes (cut to `truncate` when given). Also checks tshark's view of the VNIs.
 */
export async function assertMirrored(
  cap: { src: SrcPacket[]; tgt: TgtPacket[]; tgtPcap: string },
  expect: (p: SrcPacket) => number,
  truncate = 0,
): Promise<void> {
  const want: string[] = []
  for (const p of cap.src) {
    const vni = expect(p)
    if (vni === 0) continue
    const len = truncate === 0 ? p.bytes.length : Math.min(p.bytes.length, truncate)
    want.push(`${vni} ${key(p, len)}`)
  }
  const got = cap.tgt.map((t) => `${t.vni} ${key(t.innerPacket)}`)
  assert.ok(want.length > 0, 'the scenario mirrors something')
  const left = new Map<string, number>()
  for (const w of want) left.set(w, (left.get(w) ?? 0) + 1)
  const extra: string[] = []
  for (const g of got) {
    const n = left.get(g) ?? 0
    if (n === 0) extra.push(g)
    else left.set(g, n - 1)
  }
  const missing = [...left].flatMap(([k, n]) => Array<string>(n).fill(k))
  assert.deepEqual(
    { missing: missing.map(summarize), extra: extra.map(summarize) },
    { missing: [], extra: [] },
    `target vs source (${got.length} got, ${want.length} wanted)`,
  )
  for (const t of cap.tgt) assert.equal(t.outerSrc, SRC_IP, 'outer source = source interface address')
  const { stdout } = await run([
    'tshark',
    '-r',
    cap.tgtPcap,
    // The same link-local chatter our decoder view leaves out (inner IPv6; the outer is IPv4).
    '-Y',
    '!(ipv6.src == fe80::/10) && !(ipv6.dst == ff00::/8)',
    '-T',
    'fields',
    '-E',
    'occurrence=f',
    '-e',
    'vxlan.vni',
    '-e',
    'udp.dstport',
  ])
  const tsharkVnis =
    stdout.trim() === ''
      ? []
      : stdout
          .trim()
          .split('\n')
          .map((l) => l.split('\t'))
  assert.equal(tsharkVnis.length, want.length, 'tshark frame count')
  for (const [, port] of tsharkVnis) assert.equal(port, '4789')
  assert.deepEqual(
    tsharkVnis.map((v) => Number(v[0])).sort(),
    want.map((w) => Number(w.split(' ')[0])).sort(),
    'tshark VNIs',
  )
}
