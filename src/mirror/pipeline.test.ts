// SPDX-License-Identifier: Apache-2.0
// The user-space pipeline's counters: damaged frames are counted by reason (STYLE.md §3.4) and still
// mirrored on what decoded, as AWS mirrors whatever the interface sees.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LinkType, Malformed, newFrameBatch, type FrameBatch } from '../packet/index.ts'
import { REJECTED_IF_INDEX } from '../capture/index.ts'
import { MirrorEvaluator } from './evaluator.ts'
import { MirrorPipeline } from './pipeline.ts'
import { acceptAll, buildFrame, simpleState } from './testing.ts'

function batchOf(frames: Uint8Array[]): FrameBatch {
  const total = frames.reduce((a, f) => a + f.length, 0)
  const bytes = new Uint8Array(total)
  const b = newFrameBatch(frames.length, bytes)
  b.count = frames.length
  b.linkTypes.fill(LinkType.Ethernet)
  let off = 0
  frames.forEach((f, i) => {
    bytes.set(f, off)
    b.starts[i] = off
    off += f.length
    b.ends[i] = off
    b.origLens[i] = f.length
  })
  return b
}

test('pipeline counts damaged frames by reason and still mirrors them', () => {
  const ev = new MirrorEvaluator(simpleState([{ number: 1, ingress: acceptAll(), egress: acceptAll() }]))
  const sent: number[] = []
  const p = new MirrorPipeline(ev, {
    send(k, _a, _sp, _buf, _view, vxlanStart, end) {
      sent.push(end - vxlanStart)
    },
  })
  const good = buildFrame({ src: '10.0.0.1', dst: '10.1.0.1', proto: 6, sport: 1234, dport: 80, payload: 10 })
  // Cut inside the TCP header: Ethernet 14 + IPv4 20 + 10 of TCP's 20 bytes.
  const cut = good.subarray(0, 14 + 20 + 10)
  p.processBatch(batchOf([good, cut]))
  assert.equal(p.stats.frames, 2)
  assert.equal(p.stats.malformed, 1)
  assert.equal(p.stats.malformedByReason[Malformed.TcpTruncated], 1)
  assert.equal(p.stats.mirrored, 2)
  assert.deepEqual(sent, [8 + good.length, 8 + cut.length])
})

test('a verdict capture’s dropped frames (interface 1) are never mirrored with skipRejected', () => {
  const frame = buildFrame({ src: '10.1.0.1', dst: '10.0.0.1', proto: 6, sport: 1234, dport: 22, payload: 0 })
  for (const skip of [true, false]) {
    const ev = new MirrorEvaluator(simpleState([{ number: 1, ingress: acceptAll(), egress: acceptAll() }]))
    let sent = 0
    const p = new MirrorPipeline(ev, { send: () => void sent++ }, { skipRejected: skip })
    const b = batchOf([frame, frame])
    b.ifIndex[1] = REJECTED_IF_INDEX
    p.processBatch(b)
    assert.deepEqual([sent, p.stats.rejected], skip ? [1, 1] : [2, 0])
  }
})
