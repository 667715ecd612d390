// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { PcapRing } from './pcap-ring.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mf-pcapring-unit-'))
  dirs.push(d)
  return d
}

const CFG = { maxFileBytes: 1 << 20, maxFileSeconds: 300, keepFiles: 4, snaplen: 64 }
const T0 = 1_700_000_000
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

test('PcapRing records the original length of a frame the capture cut short', async () => {
  const dir = tmp()
  const ring = new PcapRing(dir, 's', CFG)
  const frame = new Uint8Array(100).fill(7)
  ring.write(frame, 10, 50, 1500, T0, 0) // 40 bytes captured of a 1500-byte frame
  ring.write(frame, 0, 100, 100, T0, 0) // whole frame, cut to the ring's snaplen (64)
  ring.close()
  await tick()
  const [name] = readdirSync(dir)
  const buf = readFileSync(join(dir, name as string))
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  assert.deepEqual([v.getUint32(24 + 8, true), v.getUint32(24 + 12, true)], [40, 1500])
  const second = 24 + 16 + 40
  assert.deepEqual([v.getUint32(second + 8, true), v.getUint32(second + 12, true)], [64, 100])
  assert.equal(ring.writeErrors, 0)
})

test('PcapRing counts write errors (disk full), reports once on stderr and does not throw', async () => {
  const dir = tmp()
  const ring = new PcapRing(dir, 's', CFG)
  // The first file's name is predictable: make it /dev/full, whose every write fails with ENOSPC.
  symlinkSync('/dev/full', join(dir, 's-000000-20231114T221320Z.pcap'))
  const rejections: unknown[] = []
  const onRejection = (e: unknown): void => {
    rejections.push(e)
  }
  process.on('unhandledRejection', onRejection)
  const said: string[] = []
  const write = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string) => {
    said.push(String(chunk))
    return true
  }) as typeof process.stderr.write
  try {
    ring.write(new Uint8Array(60), 0, 60, 60, T0, 0)
    ring.flush()
    await tick()
    ring.flush()
    await tick()
    ring.close()
    await tick()
  } finally {
    process.stderr.write = write
    process.off('unhandledRejection', onRejection)
  }
  assert.deepEqual(rejections, [])
  assert.equal(ring.writeErrors, 3) // two flushes and the close
  assert.equal(said.length, 1)
  assert.match(said[0] as string, /MF_TARGET_WRITE: .*ENOSPC/)
})
