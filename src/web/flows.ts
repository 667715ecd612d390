// SPDX-License-Identifier: Apache-2.0
/**
 * The Flows page: a search over the flow logs (time range, addresses or CIDRs, ports, protocol,
 * action, interface), run by the server (`MirrorflowSearchFlows`) one page at a time, sorted by the
 * server, exported whole as CSV or Parquet; every flow links to its packets.
 * @module
 */
import { ec2 } from './api.ts'
import { timeRange } from './overview.ts'
import { packetsHref } from './packets.ts'
import { errorNotice } from './resources.ts'
import { field, fmtBytes, formValues, h, table } from './ui.ts'

type J = Record<string, unknown>

const PAGE = 50
/** Seconds the packets range of a flow reaches past the record's end (the mirror path's delay). */
export const PACKETS_SLACK_SECONDS = 2
const SORTS = [
  'start',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'action',
  'interface_id',
]
const PROTO_NAMES: Record<string, string> = { '6': 'TCP', '17': 'UDP', '1': 'ICMP', '58': 'ICMPv6' }

/** `SRC:PORT-DST:PORT/PROTO` of a flow record (IPv6 addresses in brackets). */
export function flowSpec(f: J): string {
  const a = (x: unknown): string => (String(x).includes(':') ? `[${String(x)}]` : String(x))
  return `${a(f.srcaddr)}:${f.srcport}-${a(f.dstaddr)}:${f.dstport}/${PROTO_NAMES[String(f.protocol)]?.toLowerCase() ?? String(f.protocol)}`
}

function searchParams(q: URLSearchParams): Record<string, string> {
  const { start, end } = timeRange(q)
  const p: Record<string, string> = { StartTime: start.toISOString(), EndTime: end.toISOString() }
  const map: Array<[string, string]> = [
    ['srcaddr', 'SourceAddress'],
    ['dstaddr', 'DestinationAddress'],
    ['addr', 'Address'],
    ['srcport', 'SourcePort'],
    ['dstport', 'DestinationPort'],
    ['protocol', 'Protocol'],
    ['action', 'FlowAction'],
    ['interface', 'InterfaceId'],
    ['sort', 'SortBy'],
    ['order', 'SortOrder'],
    ['token', 'NextToken'],
  ]
  for (const [k, name] of map) if (q.get(k)) p[name] = q.get(k)!
  p.MaxResults = String(PAGE)
  return p
}

export async function renderFlows(root: HTMLElement, q: URLSearchParams): Promise<void> {
  const form = h('form', { class: 'search', 'aria-label': 'Flow search' }) as HTMLFormElement
  const v = (k: string): string => q.get(k) ?? ''
  form.append(
    field({
      name: 'range',
      label: 'Time range',
      type: 'select',
      value: v('range') || '3600',
      options: [
        ['900', 'last 15 minutes'],
        ['3600', 'last hour'],
        ['86400', 'last 24 hours'],
        ['604800', 'last 7 days'],
      ],
    }),
    field({ name: 'srcaddr', label: 'Source address or CIDR', value: v('srcaddr') }),
    field({ name: 'dstaddr', label: 'Destination address or CIDR', value: v('dstaddr') }),
    field({ name: 'addr', label: 'Either address or CIDR', value: v('addr') }),
    field({ name: 'srcport', label: 'Source port', type: 'number', value: v('srcport') }),
    field({ name: 'dstport', label: 'Destination port', type: 'number', value: v('dstport') }),
    field({
      name: 'protocol',
      label: 'Protocol',
      type: 'select',
      value: v('protocol'),
      options: [
        ['', 'any'],
        ['6', 'TCP (6)'],
        ['17', 'UDP (17)'],
        ['1', 'ICMP (1)'],
        ['58', 'ICMPv6 (58)'],
      ],
    }),
    field({
      name: 'action',
      label: 'Action',
      type: 'select',
      value: v('action'),
      options: [
        ['', 'any'],
        ['ACCEPT', 'ACCEPT'],
        ['REJECT', 'REJECT'],
      ],
    }),
    field({ name: 'interface', label: 'Interface ID', value: v('interface'), placeholder: 'eni-…' }),
    h('button', { type: 'submit' }, 'Search'),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    location.hash = `#/flows?${new URLSearchParams(formValues(form)).toString()}`
  })
  const results = h('section', { 'aria-label': 'Results', 'aria-live': 'polite' })
  root.append(h('h1', {}, 'Flows'), form, results)
  const params = searchParams(q)
  let ans: J
  try {
    ans = (await ec2('MirrorflowSearchFlows', params)) as unknown as J
  } catch (err) {
    results.append(errorNotice(err))
    return
  }
  const flows = (ans.Flows as J[]) ?? []
  const go = (changes: Record<string, string | null>): void => {
    const n = new URLSearchParams(q)
    for (const [k, val] of Object.entries(changes))
      if (val === null) n.delete(k)
      else n.set(k, val)
    location.hash = `#/flows?${n.toString()}`
  }
  const iso = (s: unknown): string => new Date(Number(s) * 1000).toISOString()
  const cols = [
    { label: 'start', get: (f: J) => iso(f.start) },
    { label: 'srcaddr', get: (f: J) => String(f.srcaddr) },
    { label: 'dstaddr', get: (f: J) => String(f.dstaddr) },
    { label: 'srcport', get: (f: J) => Number(f.srcport), numeric: true },
    { label: 'dstport', get: (f: J) => Number(f.dstport), numeric: true },
    { label: 'protocol', get: (f: J) => PROTO_NAMES[String(f.protocol)] ?? String(f.protocol) },
    { label: 'packets', get: (f: J) => Number(f.packets), numeric: true },
    {
      label: 'bytes',
      get: (f: J) => Number(f.bytes),
      render: (f: J) => fmtBytes(Number(f.bytes)),
      numeric: true,
    },
    { label: 'action', get: (f: J) => String(f.action) },
    { label: 'interface_id', get: (f: J) => String(f.interface_id) },
    {
      label: 'packets link',
      get: () => '',
      // `end` is a whole second; the target stamps a mirrored copy when it arrives, a little after
      // the original was seen: the range reaches PACKETS_SLACK_SECONDS past the record's end.
      render: (f: J) =>
        h(
          'a',
          { href: packetsHref(flowSpec(f), iso(f.start), iso(Number(f.end) + 1 + PACKETS_SLACK_SECONDS)) },
          'Packets',
        ),
    },
  ]
  const exportQ = new URLSearchParams(params)
  exportQ.delete('MaxResults')
  exportQ.delete('NextToken')
  const csv = new URLSearchParams(exportQ)
  csv.set('Format', 'csv')
  const parquet = new URLSearchParams(exportQ)
  parquet.set('Format', 'parquet')
  results.append(
    h(
      'p',
      {},
      `${String(ans.Total ?? flows.length)} flows match. `,
      h(
        'a',
        { href: `/console/api/get/mirrorflow/v1/flows/export?${csv.toString()}`, download: 'flows.csv' },
        'Export CSV',
      ),
      ' · ',
      h(
        'a',
        {
          href: `/console/api/get/mirrorflow/v1/flows/export?${parquet.toString()}`,
          download: 'flows.parquet',
        },
        'Export Parquet',
      ),
    ),
    table('Flow log records', cols, flows, {
      onSort: (i, desc) => go({ sort: SORTS[i] ?? 'start', order: desc ? 'desc' : 'asc', token: null }),
    }),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages of results' },
      q.get('token') ? h('button', { type: 'button', onclick: () => history.back() }, 'Previous page') : null,
      ' ',
      typeof ans.NextToken === 'string' && ans.NextToken !== ''
        ? h('button', { type: 'button', onclick: () => go({ token: String(ans.NextToken) }) }, 'Next page')
        : null,
    ),
  )
}
