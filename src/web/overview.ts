// SPDX-License-Identifier: Apache-2.0
/**
 * The Overview page: traffic over time (bytes, packets, flows; accepted and rejected) for the
 * account, a VPC, a subnet or an interface over a chosen time range, the top talkers, ports and
 * rejected sources — all aggregated by the server (`MirrorflowQueryTraffic`), never raw records —
 * the open findings by severity, and the agents and mirror targets with their health.
 * @module
 */
import uPlot from 'uplot'
import { ec2, restJson, type XmlValue } from './api.ts'
import { errorNotice } from './resources.ts'
import { field, fmtBytes, formValues, h, table } from './ui.ts'

type J = Record<string, unknown>

const RANGES: Array<[string, string]> = [
  ['900', 'last 15 minutes'],
  ['3600', 'last hour'],
  ['21600', 'last 6 hours'],
  ['86400', 'last 24 hours'],
  ['604800', 'last 7 days'],
]

/** The time range a page's query names: `range` seconds back from now, or `start`/`end` (ISO). */
export function timeRange(q: URLSearchParams): { start: Date; end: Date } {
  const end = q.get('end') !== null ? new Date(q.get('end')!) : new Date()
  const start =
    q.get('start') !== null
      ? new Date(q.get('start')!)
      : new Date(end.getTime() - Number(q.get('range') ?? '3600') * 1000)
  return { start, end }
}

function chart(
  title: string,
  t: number[],
  series: Array<[string, number[], string]>,
  fmt: (n: number) => string,
  width: number,
): HTMLElement {
  const box = h('figure', { class: 'chart' }, h('figcaption', {}, title))
  const data: uPlot.AlignedData = [t, ...series.map(([, v]) => v)]
  const opts: uPlot.Options = {
    width,
    height: 200,
    series: [
      {},
      ...series.map(([label, , stroke]) => ({
        label,
        stroke,
        width: 2,
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmt(v)),
      })),
    ],
    axes: [{}, { values: (_u: uPlot, vals: number[]) => vals.map(fmt), size: 70 }],
  }
  // Drawn once the figure is in the document (uPlot measures it).
  queueMicrotask(() => new uPlot(opts, data, box))
  // The numbers behind the chart, for screen readers and tests.
  const sums = series.map(([label, v]) => `${label}: ${fmt(v.reduce((a, b) => a + b, 0))}`).join('; ')
  box.append(
    h(
      'p',
      {
        class: 'sr-summary',
        'data-totals': JSON.stringify(
          Object.fromEntries(series.map(([l, v]) => [l, v.reduce((a, b) => a + b, 0)])),
        ),
      },
      `Totals over the range — ${sums}`,
    ),
  )
  return box
}

async function traffic(root: HTMLElement, q: URLSearchParams): Promise<void> {
  const { start, end } = timeRange(q)
  const params: Record<string, string> = { StartTime: start.toISOString(), EndTime: end.toISOString() }
  if (q.get('resource')) params.ResourceId = q.get('resource')!
  const ans = (await ec2('MirrorflowQueryTraffic', params)) as unknown as J
  const s = ans.Series as Record<string, number[]>
  const width = Math.max(320, Math.min(root.clientWidth - 24, 1100))
  const n = (x: number): string =>
    x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : String(Math.round(x))
  const top = ans.Top as Record<string, J[]>
  root.append(
    h(
      'div',
      { class: 'charts' },
      chart(
        'Bytes',
        s.Time!,
        [
          ['accepted', s.AcceptedBytes!, '#2a7'],
          ['rejected', s.RejectedBytes!, '#c33'],
        ],
        fmtBytes,
        width,
      ),
      chart(
        'Packets',
        s.Time!,
        [
          ['accepted', s.AcceptedPackets!, '#2a7'],
          ['rejected', s.RejectedPackets!, '#c33'],
        ],
        n,
        width,
      ),
      chart(
        'Flows',
        s.Time!,
        [
          ['accepted', s.AcceptedFlows!, '#2a7'],
          ['rejected', s.RejectedFlows!, '#c33'],
        ],
        n,
        width,
      ),
    ),
    h(
      'div',
      { class: 'tops' },
      table(
        'Top talkers',
        [
          {
            label: 'Address',
            get: (r: J) => String(r.Address),
            render: (r: J) =>
              h('a', { href: `#/flows?addr=${encodeURIComponent(String(r.Address))}` }, String(r.Address)),
          },
          {
            label: 'Bytes',
            get: (r: J) => Number(r.Bytes),
            render: (r: J) => fmtBytes(Number(r.Bytes)),
            numeric: true,
          },
          { label: 'Packets', get: (r: J) => Number(r.Packets), numeric: true },
        ],
        top.Talkers ?? [],
      ),
      table(
        'Top ports',
        [
          { label: 'Port', get: (r: J) => Number(r.Port) },
          { label: 'Protocol', get: (r: J) => String(r.Protocol) },
          {
            label: 'Bytes',
            get: (r: J) => Number(r.Bytes),
            render: (r: J) => fmtBytes(Number(r.Bytes)),
            numeric: true,
          },
          { label: 'Flows', get: (r: J) => Number(r.Flows), numeric: true },
        ],
        top.Ports ?? [],
      ),
      table(
        'Top rejected sources',
        [
          { label: 'Address', get: (r: J) => String(r.Address) },
          { label: 'Flows', get: (r: J) => Number(r.Flows), numeric: true },
          { label: 'Packets', get: (r: J) => Number(r.Packets), numeric: true },
        ],
        top.RejectedSources ?? [],
      ),
    ),
  )
}

async function findings(root: HTMLElement): Promise<void> {
  const det = await restJson('guardduty', 'GET', '/detector')
  const ids = (det.detectorIds as string[] | undefined) ?? []
  if (ids.length === 0) {
    root.append(h('p', { class: 'muted' }, 'No GuardDuty detector: no findings are produced.'))
    return
  }
  const stats = await restJson(
    'guardduty',
    'POST',
    `/detector/${encodeURIComponent(ids[0]!)}/findings/statistics`,
    {
      findingStatisticTypes: ['COUNT_BY_SEVERITY'],
      findingCriteria: { criterion: { 'service.archived': { eq: ['false'] } } },
    },
  )
  const by =
    ((stats.findingStatistics as J | undefined)?.countBySeverity as Record<string, number> | undefined) ?? {}
  const bands = { High: 0, Medium: 0, Low: 0 }
  for (const [sev, c] of Object.entries(by)) {
    const v = Number(sev)
    if (v >= 7) bands.High += c
    else if (v >= 4) bands.Medium += c
    else bands.Low += c
  }
  root.append(
    h(
      'ul',
      { class: 'sev' },
      Object.entries(bands).map(([b, c]) =>
        h(
          'li',
          { class: `sev-${b.toLowerCase()}` },
          h('a', { href: `#/findings?severity=${b}` }, h('strong', {}, String(c)), ` ${b}`),
        ),
      ),
    ),
  )
}

async function health(root: HTMLElement): Promise<void> {
  const st = (await ec2('MirrorflowDescribeStatus')) as unknown as J
  const agents = (st.Agents as J[]) ?? []
  const targets = (st.Targets as J[]) ?? []
  const rep = (a: J): J => (a.Report as J | null) ?? {}
  root.append(
    table(
      'Agents',
      [
        { label: 'InstanceId', get: (a: J) => String(a.InstanceId) },
        { label: 'Hostname', get: (a: J) => String(a.Hostname ?? '') },
        { label: 'State', get: (a: J) => String(a.State) },
        { label: 'Last seen', get: (a: J) => String(a.LastSeen ?? 'never') },
        { label: 'Sessions applied', get: (a: J) => Number(rep(a).MirrorSessions ?? 0), numeric: true },
        { label: 'Flow logs', get: (a: J) => Number(rep(a).FlowLogs ?? 0), numeric: true },
        { label: 'Datapath', get: (a: J) => String(rep(a).Datapath ?? '') },
        { label: 'Failed reconciles', get: (a: J) => Number(rep(a).ReconcilesFailed ?? 0), numeric: true },
        { label: 'Last error', get: (a: J) => String(rep(a).LastError ?? '') },
      ],
      agents,
    ),
    table(
      'Mirror targets',
      [
        { label: 'TrafficMirrorTargetId', get: (t: J) => String(t.TrafficMirrorTargetId) },
        { label: 'Type', get: (t: J) => String(t.Type) },
        { label: 'Sessions', get: (t: J) => ((t.Sessions as J[]) ?? []).length, numeric: true },
      ],
      targets,
    ),
  )
  const appliances = (st.TargetAppliances as J[] | undefined) ?? []
  root.append(
    table(
      'Target appliances (registered for packets on demand)',
      [
        { label: 'Name', get: (t: J) => String(t.Name) },
        { label: 'Last seen', get: (t: J) => String(t.LastSeen ?? '') },
        { label: 'Sessions', get: (t: J) => Number(t.Sessions ?? 0), numeric: true },
        { label: 'Frames', get: (t: J) => Number(t.Frames ?? 0), numeric: true },
        { label: 'Drops', get: (t: J) => Number(t.Drops ?? 0), numeric: true },
        { label: 'Errors', get: (t: J) => Number(t.Errors ?? 0), numeric: true },
      ],
      appliances,
    ),
  )
}

async function resourceOptions(): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [['', 'all traffic']]
  try {
    const [v, s, e] = await Promise.all([
      ec2('DescribeVpcs'),
      ec2('DescribeSubnets'),
      ec2('DescribeNetworkInterfaces'),
    ])
    const ids = (a: { [k: string]: XmlValue }, set: string, id: string): string[] =>
      (Array.isArray(a[set]) ? (a[set] as Array<{ [k: string]: XmlValue }>) : []).map((i) => String(i[id]))
    for (const x of ids(v, 'vpcSet', 'vpcId')) out.push([x, `VPC ${x}`])
    for (const x of ids(s, 'subnetSet', 'subnetId')) out.push([x, `subnet ${x}`])
    for (const x of ids(e, 'networkInterfaceSet', 'networkInterfaceId')) out.push([x, `interface ${x}`])
  } catch {
    // the picker offers "all traffic" only
  }
  return out
}

function section(title: string, id: string): HTMLElement {
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title))
}

export async function renderOverview(root: HTMLElement, q: URLSearchParams): Promise<void> {
  const picker = h('form', { class: 'inline', 'aria-label': 'Traffic selection' }) as HTMLFormElement
  picker.append(
    field({
      name: 'resource',
      label: 'Resource',
      type: 'select',
      options: await resourceOptions(),
      value: q.get('resource') ?? '',
    }),
    field({
      name: 'range',
      label: 'Time range',
      type: 'select',
      options: RANGES,
      value: q.get('range') ?? '3600',
    }),
    h('button', { type: 'submit' }, 'Show'),
  )
  picker.addEventListener('submit', (e) => {
    e.preventDefault()
    location.hash = `#/overview?${new URLSearchParams(formValues(picker)).toString()}`
  })
  const tr = section('Traffic', 'ov-traffic')
  const fi = section('Open findings by severity', 'ov-findings')
  const he = section('Agents and targets', 'ov-health')
  root.append(h('h1', {}, 'Overview'), picker, tr, fi, he)
  await Promise.all([
    traffic(tr, q).catch((err: unknown) => tr.append(errorNotice(err))),
    findings(fi).catch((err: unknown) => fi.append(errorNotice(err))),
    health(he).catch((err: unknown) => he.append(errorNotice(err))),
  ])
}
