// SPDX-License-Identifier: Apache-2.0
/**
 * Rebuilds src/packet/testdata/sample.pcap, the capture `mirrorflow inspect` reads with no argument:
 * 1000 packets from shared/bench/genpcap.py (seed 7), every third one re-sent as AWS Traffic
 * Mirroring would (outer Ethernet/IPv4/UDP 4789/VXLAN, two mirror sessions = two VNIs), and three
 * frames deliberately cut short so the malformed counters have something to show.
 *
 *   node --import tsx bench/packet/make-sample.ts
 */
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'
import {
  encodeEthernet,
  encodeIPv4,
  encodeUDP,
  encodeVXLAN,
  parseIPv4,
  parseMAC,
  PcapWriter,
  readCapture,
  VXLAN_PORT,
} from '../../src/packet/index.ts'

const repo = resolve(fileURLToPath(import.meta.url), '../../..')
const tmp = '/tmp/mirrorflow-sample-base.pcap'
const out = join(repo, 'src', 'packet', 'testdata', 'sample.pcap')
const g = spawnSync(
  'python3',
  [join(repo, '..', 'shared', 'bench', 'genpcap.py'), '-o', tmp, '-n', '1000', '-s', '7'],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
)
if (g.status !== 0) throw new Error('genpcap.py failed')

const HEAD = 14 + 20 + 8 + 8
const frame = new Uint8Array(HEAD + 65536)
const view = new DataView(frame.buffer)
const targetMac = parseMAC('02:00:00:00:0b:02')
const sourceMac = parseMAC('02:00:00:00:0a:01')
const sourceIp = parseIPv4('10.0.1.10')
const targetIp = parseIPv4('10.0.2.20')
const w = new PcapWriter(out, { linkType: 1 })
let n = 0
for await (const b of readCapture(tmp)) {
  for (let i = 0; i < b.count; i++, n++) {
    const start = b.starts[i]!
    const end = b.ends[i]!
    if (n % 3 !== 0) {
      // Three deliberately damaged frames: cut inside Ethernet, IPv4 and TCP.
      const cut = n === 100 ? 10 : n === 200 ? 30 : n === 301 ? 14 + 20 + 8 : end - start
      w.write(
        b.bytes,
        start,
        start + Math.min(cut, end - start),
        cut < end - start ? cut : b.origLens[i]!,
        b.tsSec[i]!,
        b.tsNsec[i]!,
      )
      continue
    }
    const len = end - start
    frame.set(b.bytes.subarray(start, end), HEAD)
    const vni = n % 2 === 0 ? 5569041 : 7340033
    let o = encodeEthernet(view, 0, targetMac, sourceMac, 0x0800)
    o = encodeIPv4(view, o, sourceIp, targetIp, 17, 20 + 8 + 8 + len, 64, n & 0xffff, false)
    o = encodeUDP(view, o, 49152 + (n % 16384), VXLAN_PORT, 8 + 8 + len, 0)
    encodeVXLAN(view, o, vni)
    w.write(frame, 0, HEAD + len, HEAD + len, b.tsSec[i]!, b.tsNsec[i]!)
  }
}
await w.close()
rmSync(tmp, { force: true })
rmSync(tmp + '.json', { force: true })
process.stdout.write(`wrote ${out} (${n} frames)\n`)
