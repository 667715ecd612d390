// SPDX-License-Identifier: Apache-2.0
// Issue 9 item 6: `mirrorflow target` under 20,000 distinct spoofed (VNI, source) pairs at the
// highest rate tcpreplay reaches, from the test's own namespace, while two legitimate sessions send
// numbered frames: no crash, descriptors and memory bounded by the documented caps, the legitimate
// sessions keep every frame in order; then the same with a descriptor limit below the target's own
// budget, so that the system answers EMFILE: counted, never a crash, nothing of the legitimate
// sessions lost. Scenario: test/helpers/target-flood.ts (also `npm run bench:target-flood`).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { REPO_ROOT } from '../helpers/shared.ts'
import { runFlood, type FloodResult } from '../helpers/target-flood.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

interface Status {
  datagrams: number
  sessionTable: {
    active: number
    established: number
    created: number
    evictedProbation: number
    refusedFull: number
  }
  drops: Record<string, number>
  pcap: { totalFiles: number; openFiles: number; fileErrors: Record<string, number> }
  sessions: Array<{ vni: number; source: string; established: boolean }>
}

function checkLegit(r: FloodResult): void {
  for (const l of r.legit) {
    assert.ok(l.sent > 500, `legitimate VNI ${l.vni}: only ${l.sent} sent`)
    assert.equal(
      l.written.length,
      l.sent,
      `legitimate VNI ${l.vni}: ${l.written.length} of ${l.sent} written`,
    )
    assert.ok(
      l.written.every((n, i) => n === i),
      `legitimate VNI ${l.vni}: frames out of order or missing`,
    )
  }
}

const CAPS = ['--max-sessions', '256', '--max-open-files', '64', '--flow-table-size', '1024']

test('20,000 spoofed pairs: no crash, bounded descriptors and memory, legitimate sessions keep their data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-flood-'))
  dirs.push(dir)
  const r = await runFlood({
    repoRoot: REPO_ROOT,
    dir,
    pairs: 20_000,
    loops: 2,
    nofile: 1024,
    targetArgs: CAPS,
  })
  assert.equal(r.exitCode, 0, r.stderrTail)
  const st = r.status as unknown as Status
  assert.ok(r.floodSent >= 40_000, `tcpreplay sent ${r.floodSent}`)
  assert.ok(st.sessionTable.created >= 20_000, JSON.stringify(st.sessionTable))
  assert.ok(st.sessionTable.active <= 256)
  assert.ok(st.sessionTable.evictedProbation >= st.sessionTable.created - 256)
  assert.equal(st.sessionTable.refusedFull, 0)
  // The legitimate sessions stayed established through the flood.
  const legit = st.sessions.filter((s) => s.source === '10.77.0.2').map((s) => [s.vni, s.established])
  assert.deepEqual(legit, [
    [100, true],
    [200, true],
  ])
  checkLegit(r)
  // Descriptors: the pcap budget (64) over what the process held before the flood.
  assert.ok(r.fdsMax <= r.fdsBefore + 64, `descriptors ${r.fdsBefore} → ${r.fdsMax}`)
  // Memory: staging (32 MiB) + reassembly (16 MiB) + 256 sessions × (1024 flows × 64 B + small).
  assert.ok(r.rssMaxMiB <= r.rssBeforeMiB + 150, `RSS ${r.rssBeforeMiB} → ${r.rssMaxMiB} MiB`)
  assert.deepEqual(st.pcap.fileErrors, {})
  assert.equal(st.drops.pcap_write, 0)
})

test('a descriptor limit below the budget: EMFILE counted, never a crash, legitimate sessions intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-flood-emfile-'))
  dirs.push(dir)
  const r = await runFlood({
    repoRoot: REPO_ROOT,
    dir,
    pairs: 20_000,
    loops: 1,
    nofile: 64,
    targetArgs: ['--max-sessions', '256', '--max-open-files', '1000', '--session-probation', '0.5'],
    warmupMs: 2500,
  })
  assert.equal(r.exitCode, 0, r.stderrTail)
  const st = r.status as unknown as Status
  checkLegit(r)
  // Spoofed pairs that lived long enough to be written ran into the limit: counted, not thrown.
  assert.ok((st.pcap.fileErrors.EMFILE ?? 0) >= 1, JSON.stringify(st.pcap))
  assert.match(r.stderrTail + JSON.stringify(st.pcap), /EMFILE/)
})
