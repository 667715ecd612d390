// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compileNftables, DEFAULT_NFT_NAMING, type MirrorState } from '../mirror/index.ts'
import { acceptAll, buildFrame } from '../mirror/testing.ts'
import { LinkType, type FrameBatch } from '../packet/index.ts'
import { MirrorAccounting } from './mirror-accounting.ts'

/**
 * Four sources, each with its own sessions:
 * - eni-k (eth0): two whole-packet sessions to an interface target → kernel path, devices;
 * - eni-t (eth1): one whole-packet session and one truncating session → the whole source in user space;
 * - eni-n (eth2): a session to a load-balancer target → user space;
 * - eni-x (no interface name): no kernel path.
 */
function state(): MirrorState {
  const src = (id: string, n: number, ifname?: string) => ({
    networkInterfaceId: id,
    mac: `02:00:00:00:00:0${n}`,
    addresses: [`10.0.${n}.1`],
    ...(ifname === undefined ? {} : { ifname }),
  })
  const sess = (id: string, eni: string, number: number, target: string, packetLength?: number) => ({
    trafficMirrorSessionId: id,
    networkInterfaceId: eni,
    trafficMirrorTargetId: target,
    trafficMirrorFilterId: 'tmf-all',
    sessionNumber: number,
    virtualNetworkId: 100 + number,
    ...(packetLength === undefined ? {} : { packetLength }),
  })
  return {
    sources: [src('eni-k', 1, 'eth0'), src('eni-t', 2, 'eth1'), src('eni-n', 3, 'eth2'), src('eni-x', 4)],
    targets: [
      { trafficMirrorTargetId: 'tmt-1', type: 'network-interface', addresses: ['10.9.0.9'] },
      {
        trafficMirrorTargetId: 'tmt-nlb',
        type: 'network-load-balancer',
        addresses: ['10.9.1.1', '10.9.1.2'],
      },
    ],
    filters: [
      {
        trafficMirrorFilterId: 'tmf-all',
        ingressFilterRules: acceptAll(),
        egressFilterRules: acceptAll(),
        networkServices: [],
      },
    ],
    sessions: [
      sess('tms-k1', 'eni-k', 1, 'tmt-1'),
      sess('tms-k2', 'eni-k', 2, 'tmt-1'),
      sess('tms-t1', 'eni-t', 1, 'tmt-1'),
      sess('tms-t2', 'eni-t', 2, 'tmt-1', 128),
      sess('tms-n1', 'eni-n', 1, 'tmt-nlb'),
      sess('tms-x1', 'eni-x', 1, 'tmt-1'),
    ],
    amazonDnsResolvers: [],
  }
}

/** A batch of Ethernet frames (captured whole). */
function batch(frames: Uint8Array[]): FrameBatch {
  const total = frames.reduce((a, f) => a + f.length, 0)
  const bytes = new Uint8Array(total)
  const n = frames.length
  const b: FrameBatch = {
    bytes,
    view: new DataView(bytes.buffer),
    count: n,
    starts: new Uint32Array(n),
    ends: new Uint32Array(n),
    origLens: new Uint32Array(n),
    tsSec: new Float64Array(n),
    tsNsec: new Uint32Array(n),
    linkTypes: new Uint16Array(n).fill(LinkType.Ethernet),
    ifIndex: new Uint16Array(n),
  }
  let at = 0
  frames.forEach((f, i) => {
    bytes.set(f, at)
    b.starts[i] = at
    b.ends[i] = at + f.length
    b.origLens[i] = f.length
    at += f.length
  })
  return b
}

describe('MirrorAccounting: vxlan devices per source, as AutoDatapath splits them', () => {
  const st = state()
  const asked = new Set<string>()
  // Every device reports 3 dropped and 1 error (a device that is not ours would throw).
  const acc = new MirrorAccounting({
    readDeviceCounter: (dev, counter) => {
      asked.add(dev)
      return counter === 'tx_dropped' ? 3 : 1
    },
  })
  acc.update(st)
  const kernelDevices = compileNftables(st, [st.sources[0]!], DEFAULT_NFT_NAMING).devices

  test('a truncating or NLB-style session elsewhere does not take the kernel source its devices', () => {
    assert.equal(kernelDevices.length, 2)
    const rows = new Map(acc.rows().map((r) => [r.sessionId, r]))
    assert.deepEqual([...rows.keys()].sort(), ['tms-k1', 'tms-k2', 'tms-n1', 'tms-t1', 'tms-t2', 'tms-x1'])
    for (const id of ['tms-k1', 'tms-k2']) {
      const r = rows.get(id)!
      assert.equal(r.skipInPackets + r.skipOutPackets, 4, `${id}: its device's tx_dropped + tx_errors`)
    }
    // User-space sources (a truncating session makes the whole source user space; NLB), and a
    // source without an interface name: no kernel device, nothing skipped by one.
    for (const id of ['tms-t1', 'tms-t2', 'tms-n1', 'tms-x1']) {
      const r = rows.get(id)!
      assert.equal(r.skipInPackets + r.skipOutPackets, 0, id)
    }
    assert.deepEqual([...asked].sort(), kernelDevices.map((d) => d.name).sort())
  })

  test('every source is still counted per session and direction, kernel or user space', () => {
    // eni-k egress (its MAC sends) and eni-t ingress (to its MAC): each counted by its session 1.
    const out = buildFrame({ srcMac: '02:00:00:00:00:01', src: '10.0.1.1', dst: '10.5.0.1', payload: 10 })
    const inn = buildFrame({ dstMac: '02:00:00:00:00:02', src: '10.5.0.1', dst: '10.0.2.1', payload: 20 })
    acc.add('eni-k', batch([out, out]))
    acc.add('eni-t', batch([inn]))
    const rows = new Map(acc.rows().map((r) => [r.sessionId, r]))
    assert.deepEqual(
      [rows.get('tms-k1')!.outPackets, rows.get('tms-k1')!.outBytes, rows.get('tms-k1')!.inPackets],
      [2, 2 * out.length, 0],
    )
    assert.deepEqual(
      [rows.get('tms-t1')!.inPackets, rows.get('tms-t1')!.inBytes, rows.get('tms-t1')!.outPackets],
      [1, inn.length, 0],
    )
    assert.equal(rows.get('tms-k2')!.outPackets, 0, 'mirrored once: session 1 took it')
  })

  test('when the truncating session goes, its source gets its devices on the next update', () => {
    const st2 = state()
    st2.sessions = st2.sessions.filter((s) => s.trafficMirrorSessionId !== 'tms-t2')
    asked.clear()
    acc.update(st2)
    const rows = new Map(acc.rows().map((r) => [r.sessionId, r]))
    assert.equal(rows.has('tms-t2'), false)
    assert.equal(rows.get('tms-t1')!.skipInPackets + rows.get('tms-t1')!.skipOutPackets, 4)
    assert.equal(rows.get('tms-t1')!.inPackets, 1, 'counters of a remaining session are kept')
    const want = compileNftables(st2, [st2.sources[0]!, st2.sources[1]!], DEFAULT_NFT_NAMING).devices
    assert.deepEqual([...asked].sort(), want.map((d) => d.name).sort())
  })
})
