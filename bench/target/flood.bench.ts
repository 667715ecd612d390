// SPDX-License-Identifier: Apache-2.0
/**
 * bench:target-flood — `mirrorflow target` under a flood of spoofed (VNI, source) pairs (issue 9,
 * item 6): the target's RSS and open descriptors, whether it survives, and whether two legitimate
 * sessions keep every frame. See test/helpers/target-flood.ts for the scenario. One JSON line.
 *
 * Usage: npm run bench:target-flood [-- --pairs 20000 --loops 10 --nofile 1024 --root DIR -- TARGET ARGS…]
 * (`--root` runs another checkout's bin/mirrorflow.mjs, e.g. an older commit, for a before/after.)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from '../../test/helpers/shared.ts'
import { runFlood } from '../../test/helpers/target-flood.ts'

const { values, positionals } = parseArgs({
  options: {
    pairs: { type: 'string', default: '20000' },
    loops: { type: 'string', default: '10' },
    nofile: { type: 'string', default: '1024' },
    root: { type: 'string', default: REPO_ROOT },
  },
  allowPositionals: true,
})
const dir = mkdtempSync(join(tmpdir(), 'mf-flood-bench-'))
try {
  const r = await runFlood({
    repoRoot: values.root ?? REPO_ROOT,
    dir,
    pairs: Number(values.pairs),
    loops: Number(values.loops),
    nofile: Number(values.nofile),
    targetArgs: positionals,
  })
  const st = r.status as {
    sessionTable?: unknown
    drops?: unknown
    pcap?: { totalFiles: number; totalBytes: number; fileErrors: unknown }
    datagrams?: number
  } | null
  process.stdout.write(
    JSON.stringify({
      case: 'target/spoofed-pairs-flood',
      root: values.root,
      pairs: Number(values.pairs),
      loops: Number(values.loops),
      nofile: Number(values.nofile),
      targetArgs: positionals,
      floodSent: r.floodSent,
      floodPps: r.floodPps,
      exitCode: r.exitCode,
      signal: r.signal,
      rssBeforeMiB: r.rssBeforeMiB,
      rssMaxMiB: r.rssMaxMiB,
      fdsBefore: r.fdsBefore,
      fdsMax: r.fdsMax,
      datagrams: st?.datagrams ?? null,
      sessionTable: st?.sessionTable ?? null,
      drops: st?.drops ?? null,
      pcapDisk: st?.pcap
        ? { files: st.pcap.totalFiles, bytes: st.pcap.totalBytes, fileErrors: st.pcap.fileErrors }
        : null,
      legit: r.legit.map((l) => ({
        vni: l.vni,
        sent: l.sent,
        written: l.written.length,
        complete: l.written.length === l.sent && l.written.every((n, i) => n === i),
      })),
      stderrTail:
        r.exitCode === 0 && process.env.MF_FLOOD_DEBUG === undefined ? undefined : r.stderrTail.slice(-1500),
      capture:
        process.env.MF_FLOOD_DEBUG === undefined
          ? undefined
          : (r.status as { capture?: unknown } | null)?.capture,
    }) + '\n',
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
