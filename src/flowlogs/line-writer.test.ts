// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FIELDS } from './fields.ts'
import { LineWriter } from './line-writer.ts'
import { parseLogFormat } from './log-format.ts'
import { Direction, FlowRecordBatch, LogStatus, resolveInterface } from './record.ts'
import { renderRecordLine } from './render.ts'
import { parseAddressWords as parseAddress } from '../packet/index.ts'

test('LineWriter output equals renderRecordLine for every field and record shape', () => {
  const b = new FlowRecordBatch(16)
  b.interfaces = [
    resolveInterface({
      interfaceId: 'eni-0123456789abcdef0',
      accountId: '123456789012',
      addresses: ['10.0.0.5', '2001:db8::5'],
    }),
    resolveInterface({
      interfaceId: 'eni-1',
      accountId: '1',
      vpcId: 'vpc-1',
      subnetId: 'subnet-1',
      instanceId: 'i-1',
      region: 'eu-west-3',
      azId: 'euw3-az1',
      interfaceType: 'nat_gateway',
      instanceTag: 'web server/é',
      asgTag2: 'a%b',
    }),
  ]
  const row = (
    iface: number,
    fam: 4 | 6,
    src: string,
    dst: string,
    dir: number,
    extra: Partial<{ proto: number; packets: number; bytes: number; flags: number }> = {},
  ) => {
    const i = b.count++
    b.iface[i] = iface
    b.logStatus[i] = LogStatus.OK
    b.family[i] = fam
    b.direction[i] = dir
    b.action[i] = i % 2
    b.protocol[i] = extra.proto ?? 6
    b.srcPort[i] = 443
    b.dstPort[i] = 0
    b.vni[i] = -1
    b.src.set(parseAddress(src)!, i * 4)
    b.dst.set(parseAddress(dst)!, i * 4)
    b.packets[i] = extra.packets ?? 1
    b.bytes[i] = extra.bytes ?? 9_007_199_254_740_000
    b.start[i] = 1_700_000_000
    b.end[i] = 1_700_000_059
    b.tcpFlags[i] = extra.flags ?? 19
  }
  row(0, 4, '10.0.0.5', '192.0.2.255', Direction.Egress)
  row(0, 4, '0.0.0.0', '10.0.0.6', Direction.Ingress, { packets: 10, bytes: 100, flags: 0, proto: 17 })
  row(0, 6, '2001:db8::5', 'fe80::1', Direction.Egress)
  row(0, 6, '::ffff:1.2.3.4', '2001:db8::5', Direction.Ingress)
  row(1, 4, '255.255.255.255', '1.2.3.4', Direction.Unknown, { flags: 255 })
  b.pushStatus(0, LogStatus.NODATA, 1_700_000_000, 1_700_000_059)
  b.pushStatus(1, LogStatus.SKIPDATA, 1_700_000_001, 1_700_000_002)
  for (const fmt of [parseLogFormat(), parseLogFormat(FIELDS.map((f) => `\${${f.name}}`).join(' '))]) {
    const w = new LineWriter(fmt, 64)
    w.writeBatch(b)
    const want = Array.from({ length: b.count }, (_, i) => renderRecordLine(fmt, b, i) + '\n').join('')
    assert.equal(w.take().toString('utf8'), want)
  }
})

test('IPv6 text written as bytes equals formatIPv6Words (RFC 5952) for any address', async () => {
  const fc = (await import('fast-check')).default
  const { formatIPv6Words } = await import('../packet/index.ts')
  const fmt = parseLogFormat('${pkt-srcaddr} ${pkt-dstaddr}')
  const word = fc.oneof(
    fc.constant(0),
    fc.constant(0xffff),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffffffff }),
  )
  fc.assert(
    fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (w) => {
      const b = new FlowRecordBatch(1)
      b.interfaces = [resolveInterface({ interfaceId: 'eni-1', accountId: '1' })]
      b.count = 1
      b.family[0] = 6
      b.src.set(w.slice(0, 4).map((x) => x >>> 0))
      b.dst.set(w.slice(4).map((x) => x >>> 0))
      const lw = new LineWriter(fmt)
      lw.writeRow(b, 0)
      assert.equal(
        lw.take().toString('latin1'),
        `${formatIPv6Words(b.src, 0)} ${formatIPv6Words(b.dst, 0)}\n`,
      )
    }),
    { seed: Number(process.env.FC_SEED ?? 1), numRuns: 5000 },
  )
})
