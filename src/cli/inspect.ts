// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow inspect [FILE…]`: what is in a capture — frames by link type, VLAN, L3, L4, malformed
 * reason, VXLAN VNI, the busiest 5-tuples and the time span. No FILE reads the bundled sample;
 * `-` reads standard input. `--json` prints one object for scripts.
 * @module
 */
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { CaptureSummary, MAX_TIMESTAMP_SEC, readCapture } from '../packet/index.ts'
import type { CaptureSummaryJson } from '../packet/index.ts'
import { UsageError } from '../errors.ts'
import { assertReadableInput } from './errors.ts'

/** The capture `inspect` reads when given no file (made with shared/bench/genpcap.py, seed 7). */
export const SAMPLE_CAPTURE = fileURLToPath(new URL('../packet/testdata/sample.pcap', import.meta.url))

/** Files at least this big get a progress bar when stderr is a terminal. */
const PROGRESS_MIN_BYTES = 32 * 1024 * 1024

interface InspectOptions {
  json?: boolean
  top: string
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('summarise capture files (pcap/pcapng; "-" = stdin; none = the bundled sample)')
    .argument('[files...]', 'capture files')
    .option('--json', 'print one JSON object')
    .option('--top <n>', 'how many 5-tuples to list', '5')
    .action(async (files: string[], opts: InspectOptions) => {
      const top = Number(opts.top)
      if (!Number.isInteger(top) || top < 0)
        throw new UsageError(`--top must be a whole number, got ${opts.top}`)
      const list = files.length > 0 ? files : [SAMPLE_CAPTURE]
      // A file that cannot be opened is an error before any summary: nothing was read.
      for (const file of list) assertReadableInput(file)
      const summary = new CaptureSummary()
      const errors: Error[] = []
      for (const file of list) {
        summary.files.push(file)
        try {
          await inspectOne(file, summary)
        } catch (err) {
          errors.push(err as Error)
        }
      }
      const json = summary.toJSON(top)
      if (opts.json === true) {
        const out: CaptureSummaryJson & { errors?: string[] } = json
        if (errors.length > 0) out.errors = errors.map((e) => e.message)
        process.stdout.write(JSON.stringify(out, null, 2) + '\n')
      } else {
        process.stdout.write(formatText(json))
      }
      if (errors.length === 1) throw errors[0]
      if (errors.length > 1) {
        for (const e of errors.slice(0, -1)) process.stderr.write(`mirrorflow: ${e.message}\n`)
        throw errors[errors.length - 1]
      }
    })
}

async function inspectOne(file: string, summary: CaptureSummary): Promise<void> {
  const size = file === '-' ? 0 : statSync(file).size
  const bar = process.stderr.isTTY === true && size >= PROGRESS_MIN_BYTES ? new Progress(file, size) : null
  try {
    const onProgress = bar === null ? undefined : (n: number): void => bar.update(n)
    const stats = summary.readStats
    for await (const batch of readCapture(file, onProgress === undefined ? { stats } : { onProgress, stats }))
      summary.add(batch)
  } finally {
    bar?.done()
  }
}

/** A one-line progress bar on stderr, redrawn at most 10 times a second. */
class Progress {
  private last = 0
  private readonly label: string
  private readonly total: number
  constructor(label: string, total: number) {
    this.label = label.length > 30 ? '…' + label.slice(-29) : label
    this.total = total
  }
  update(bytesRead: number): void {
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    const frac = Math.min(1, bytesRead / this.total)
    const width = 30
    const filled = Math.round(frac * width)
    const mib = (n: number): string => (n / 1048576).toFixed(0)
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${mib(bytesRead)}/${mib(this.total)} MiB`,
    )
  }
  done(): void {
    process.stderr.write('\r\x1b[K')
  }
}

function pct(n: number, of: number): string {
  return of > 0 ? ` (${((100 * n) / of).toFixed(1)}%)` : ''
}

function isoTs(t: number | null): string {
  return t === null ? '-' : new Date(t * 1000).toISOString()
}

function formatText(s: CaptureSummaryJson): string {
  const lines: string[] = []
  const kv = (obj: Record<string, number>, of = s.frames): string =>
    Object.entries(obj)
      .map(([k, v]) => `${k} ${v}${pct(v, of)}`)
      .join(', ') || '-'
  lines.push(`files:      ${s.files.join(', ')}`)
  lines.push(`frames:     ${s.frames} (${s.capturedBytes} bytes captured, ${s.wireBytes} on the wire)`)
  lines.push(
    `time:       ${isoTs(s.firstTs)} .. ${isoTs(s.lastTs)} (${s.durationSec} s)` +
      (s.clampedTimestamps > 0
        ? `; ${s.clampedTimestamps} time stamp(s) out of range, clamped to ${isoTs(0)} .. ${isoTs(MAX_TIMESTAMP_SEC)}`
        : ''),
  )
  lines.push(`link types: ${kv(s.linkTypes)}`)
  const vlanIds = Object.entries(s.vlan.ids)
  lines.push(
    `vlan:       ${s.vlan.tagged} tagged${pct(s.vlan.tagged, s.frames)}, ${s.vlan.qinq} Q-in-Q` +
      (vlanIds.length > 0
        ? `; ids ${vlanIds
            .slice(0, 20)
            .map(([k, v]) => `${k}:${v}`)
            .join(' ')}${vlanIds.length > 20 ? ' …' : ''}`
        : ''),
  )
  lines.push(`l3:         ${kv(s.l3)}`)
  lines.push(`l4:         ${kv(s.l4)}`)
  lines.push(`fragments:  ${s.fragments}`)
  lines.push(
    `malformed:  ${s.malformed}${pct(s.malformed, s.frames)}${s.malformed > 0 ? ': ' + kv(s.malformedByReason) : ''}`,
  )
  const vnis = Object.entries(s.vxlan)
  if (vnis.length === 0) lines.push('vxlan:      none')
  else {
    lines.push(`vxlan:      ${vnis.map(([k, v]) => `VNI ${k}: ${v}`).join(', ')}`)
    lines.push(
      `  inner:    ${s.inner.frames} frames; l3 ${kv(s.inner.l3, s.inner.frames)}; l4 ${kv(s.inner.l4, s.inner.frames)}; malformed ${s.inner.malformed}`,
    )
  }
  if (s.topFlows.length > 0) {
    lines.push(`top 5-tuples by frames${s.topFlowsExact ? '' : ' (approximate: many flows)'}:`)
    for (const f of s.topFlows) {
      const ep = (a: string, p: number): string => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`)
      lines.push(
        `  ${String(f.frames).padStart(8)} frames ${String(f.bytes).padStart(10)} B  proto ${f.proto}  ${ep(f.src, f.srcPort)} -> ${ep(f.dst, f.dstPort)}${f.vni >= 0 ? `  vni ${f.vni}` : ''}`,
      )
    }
  }
  return lines.join('\n') + '\n'
}
