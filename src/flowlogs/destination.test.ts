// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { FlowAggregator } from './aggregator.ts'
import { S3DirectoryDestination, TextStreamDestination } from './destination.ts'
import { parseLogFormat } from './log-format.ts'
import { synthBatch } from './testing.ts'

const dir = mkdtempSync(join(tmpdir(), 'mfflowlogs-dest-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function files(root: string): string[] {
  const out: string[] = []
  for (const n of readdirSync(root)) {
    const p = join(root, n)
    if (statSync(p).isDirectory()) out.push(...files(p))
    else out.push(p)
  }
  return out.sort()
}

test('S3DirectoryDestination publishes a 5-minute object once no later record can fall in it', async () => {
  const T = 1_700_000_100 // a 5-minute boundary
  const format = parseLogFormat()
  const dest = new S3DirectoryDestination({
    dir,
    format,
    accountId: '123456789012',
    region: 'eu-west-3',
    flowLogId: 'fl-0123456789abcdef0',
    maxAggregationInterval: 60,
  })
  const agg = new FlowAggregator({
    interfaces: [{ interfaceId: 'eni-1', accountId: '123456789012' }],
    maxAggregationInterval: 60,
    onRecords: (b) => dest.write(b),
  })
  const pkt = (ts: number) => ({
    src: '10.0.0.1',
    dst: '10.0.0.2',
    proto: 17,
    sport: 1,
    dport: 2,
    ipLength: 40,
    ts,
  })
  agg.addBatch(synthBatch([pkt(T), pkt(T + 10)]))
  await dest.publishCompleted()
  assert.equal(files(dir).length, 0)
  agg.addBatch(synthBatch([pkt(T + 310)])) // closes [T, T+60): record end T+10, window T may still grow
  await dest.publishCompleted()
  assert.equal(files(dir).length, 0)
  agg.addBatch(synthBatch([pkt(T + 400)])) // closes [T+300, T+360): window T is final
  await dest.publishCompleted()
  assert.equal(files(dir).length, 1)
  assert.match(files(dir)[0]!, /_20231114T2215Z_[0-9a-f]{8}\.log\.gz$/)
  agg.finish()
  await dest.close()
  const all = files(dir)
  assert.equal(all.length, 2)
  const lines = all.map((f) => gunzipSync(readFileSync(f)).toString('utf8'))
  assert.deepEqual(lines, [
    `${format.header}\n2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 17 2 80 ${T} ${T + 10} ACCEPT OK\n`,
    `${format.header}\n2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 17 1 40 ${T + 310} ${T + 310} ACCEPT OK\n` +
      `2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 17 1 40 ${T + 400} ${T + 400} ACCEPT OK\n`,
  ])
})

test('TextStreamDestination to a stream: header, lines, drain', async () => {
  const chunks: Buffer[] = []
  const { Writable } = await import('node:stream')
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      setImmediate(cb)
    },
  })
  const format = parseLogFormat('${srcaddr} ${packets}')
  const dest = new TextStreamDestination(format, stream, { header: true, bufferBytes: 32 })
  const agg = new FlowAggregator({
    interfaces: [{ interfaceId: 'eni-1', accountId: '1' }],
    maxAggregationInterval: 0,
    onRecords: (b) => dest.write(b),
  })
  const pkts = Array.from({ length: 20 }, (_, i) => ({
    src: `10.0.0.${i}`,
    dst: '10.0.1.1',
    proto: 17,
    ipLength: 28,
    ts: 1,
  }))
  agg.addBatch(synthBatch(pkts))
  agg.finish()
  await dest.close()
  const text = Buffer.concat(chunks).toString('latin1')
  assert.equal(text, ['srcaddr packets', ...pkts.map((p) => `${p.src} 1`)].join('\n') + '\n')
  assert.equal(dest.records, 20)
})
