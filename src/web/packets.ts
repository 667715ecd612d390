// SPDX-License-Identifier: Apache-2.0
/**
 * The packets behind one flow: the server asks the mirror targets for the frames of the flow
 * (both directions) within the time range and answers with one pcap file; the page shows a one-line
 * summary per packet and offers the file for Wireshark. When the targets' rings no longer hold
 * those packets, the server says so and the page shows it.
 * @module
 */
import { formatLine, summarizePcap } from './decode.ts'
import { h, notice } from './ui.ts'

/** The console URL downloading the pcap of a flow (a signed GET made by the server for the session). */
export function pcapUrl(flow: string, start: string, end: string): string {
  const q = new URLSearchParams({ Flow: flow, StartTime: start, EndTime: end })
  return `/console/api/get/mirrorflow/v1/pcap?${q.toString()}`
}

/** The console page of a flow's packets. */
export function packetsHref(flow: string, start: string, end: string): string {
  return `#/packets?${new URLSearchParams({ flow, start, end }).toString()}`
}

export async function renderPackets(root: HTMLElement, q: URLSearchParams): Promise<void> {
  const flow = q.get('flow') ?? ''
  const start = q.get('start') ?? ''
  const end = q.get('end') ?? ''
  root.append(h('h1', {}, 'Packets'), h('p', {}, `Flow ${flow}, ${start} to ${end}`))
  const url = pcapUrl(flow, start, end)
  const res = await fetch(url, { credentials: 'same-origin' })
  const bytes = new Uint8Array(await res.arrayBuffer())
  if (!res.ok) {
    const t = new TextDecoder().decode(bytes)
    let code = `HTTP${res.status}`
    let msg = t.slice(0, 400)
    const m = /<Code>([^<]*)<\/Code>[\s\S]*?<Message>([^<]*)<\/Message>/.exec(t)
    if (m !== null) {
      code = m[1]!
      msg = m[2]!
    } else {
      try {
        const j = JSON.parse(t) as { error?: { code: string; message: string } }
        if (j.error !== undefined) {
          code = j.error.code
          msg = j.error.message
        }
      } catch {
        // as text
      }
    }
    root.append(notice('error', msg, code))
    return
  }
  const lines = summarizePcap(bytes)
  const name = `flow-${flow.replace(/[^0-9A-Za-z.]+/g, '_')}.pcap`
  const blob = URL.createObjectURL(new Blob([bytes], { type: 'application/vnd.tcpdump.pcap' }))
  root.append(
    h(
      'p',
      {},
      `${lines.length} packets, ${bytes.length} bytes. `,
      h('a', { href: blob, download: name, class: 'button' }, `Download ${name}`),
    ),
    h(
      'pre',
      { class: 'packets', tabindex: '0', 'aria-label': 'Packet summaries' },
      lines.map(formatLine).join('\n'),
    ),
  )
}
