// SPDX-License-Identifier: Apache-2.0
/**
 * The Findings page, over the GuardDuty API the server speaks: a list filtered by severity, type and
 * archived state; a detail with the evidence — the remote and local addresses and ports, links to
 * the flows behind the finding and to their packets — and archive/unarchive.
 * @module
 */
import { restJson } from './api.ts'
import { awsCliCommand } from './cli.ts'
import { packetsHref } from './packets.ts'
import { describeItem, errorNotice } from './resources.ts'
import { field, formValues, h, notice, table } from './ui.ts'
import type { XmlValue } from './api.ts'

type J = Record<string, unknown>

async function detectorId(): Promise<string | null> {
  const d = await restJson('guardduty', 'GET', '/detector')
  return ((d.detectorIds as string[] | undefined) ?? [])[0] ?? null
}

const SEVERITY: Record<string, [number, number]> = { High: [7, 9], Medium: [4, 7], Low: [1, 4] }

function sevBand(s: number): string {
  return s >= 7 ? 'High' : s >= 4 ? 'Medium' : 'Low'
}

function cli(action: string, args: string): HTMLElement {
  return h(
    'div',
    { class: 'cli' },
    h('span', { class: 'cli-label' }, 'AWS CLI'),
    h(
      'pre',
      {},
      h(
        'code',
        {},
        `${awsCliCommand(action, {}, { service: 'guardduty' })} ${args} --endpoint-url ${location.origin}`,
      ),
    ),
  )
}

export async function renderFindings(root: HTMLElement, parts: string[]): Promise<void> {
  root.append(h('h1', {}, 'Findings'))
  const det = await detectorId()
  if (det === null) {
    root.append(
      notice(
        'info',
        'No GuardDuty detector exists: create one (aws guardduty create-detector --enable) to produce findings.',
      ),
    )
    return
  }
  if (parts[0] !== undefined) return detail(root, det, parts[0])
  const q = new URLSearchParams(location.hash.split('?')[1] ?? '')
  const form = h('form', { class: 'inline', 'aria-label': 'Finding filters' }) as HTMLFormElement
  form.append(
    field({
      name: 'severity',
      label: 'Severity',
      type: 'select',
      value: q.get('severity') ?? '',
      options: [
        ['', 'any'],
        ['High', 'High'],
        ['Medium', 'Medium'],
        ['Low', 'Low'],
      ],
    }),
    field({ name: 'type', label: 'Type', value: q.get('type') ?? '' }),
    field({
      name: 'archived',
      label: 'Archived',
      type: 'select',
      value: q.get('archived') ?? 'false',
      options: [
        ['false', 'open'],
        ['true', 'archived'],
      ],
    }),
    h('button', { type: 'submit' }, 'Filter'),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    location.hash = `#/findings?${new URLSearchParams(formValues(form)).toString()}`
  })
  root.append(form)
  const criterion: Record<string, unknown> = { 'service.archived': { eq: [q.get('archived') ?? 'false'] } }
  const band = SEVERITY[q.get('severity') ?? '']
  if (band !== undefined) criterion.severity = { gte: band[0], lt: band[1] === 9 ? 10 : band[1] }
  if (q.get('type')) criterion.type = { eq: [q.get('type')] }
  const body = {
    findingCriteria: { criterion },
    sortCriteria: { attributeName: 'severity', orderBy: 'DESC' },
    maxResults: 50,
  }
  try {
    const list = await restJson('guardduty', 'POST', `/detector/${encodeURIComponent(det)}/findings`, body)
    const ids = (list.findingIds as string[] | undefined) ?? []
    const got =
      ids.length === 0
        ? { findings: [] }
        : await restJson('guardduty', 'POST', `/detector/${encodeURIComponent(det)}/findings/get`, {
            findingIds: ids,
          })
    const findings = (got.findings as J[]) ?? []
    root.append(
      table(
        'Findings',
        [
          { label: 'Title', get: (f: J) => String(f.title) },
          { label: 'Type', get: (f: J) => String(f.type) },
          {
            label: 'Severity',
            get: (f: J) => Number(f.severity),
            render: (f: J) =>
              h(
                'span',
                { class: `sev-${sevBand(Number(f.severity)).toLowerCase()}` },
                `${sevBand(Number(f.severity))} (${Number(f.severity)})`,
              ),
            numeric: true,
          },
          { label: 'Count', get: (f: J) => Number((f.service as J | undefined)?.count ?? 0), numeric: true },
          { label: 'Last seen', get: (f: J) => String((f.service as J | undefined)?.eventLastSeen ?? '') },
        ],
        findings,
        { onOpen: (f) => (location.hash = `#/findings/${encodeURIComponent(String(f.id))}`) },
      ),
      cli('ListFindings', `--detector-id ${det}`),
    )
  } catch (err) {
    root.append(errorNotice(err))
  }
}

/** The flows a finding's action names: remote ↔ local address (and port), within the event's time. */
function evidence(f: J): Array<{ label: string; flowsHref: string; packets: string | null }> {
  const svc = (f.service as J | undefined) ?? {}
  const action = (svc.action as J | undefined) ?? {}
  const first = String(svc.eventFirstSeen ?? f.createdAt)
  const last = String(svc.eventLastSeen ?? f.updatedAt)
  const start = new Date(new Date(first).getTime() - 60_000).toISOString()
  const end = new Date(new Date(last).getTime() + 60_000).toISOString()
  const out: Array<{ label: string; flowsHref: string; packets: string | null }> = []
  const nc = action.networkConnectionAction as J | undefined
  if (nc !== undefined) {
    const remote = String((nc.remoteIpDetails as J | undefined)?.ipAddressV4 ?? '')
    const local = String((nc.localIpDetails as J | undefined)?.ipAddressV4 ?? '')
    const rport = String((nc.remotePortDetails as J | undefined)?.port ?? '')
    const lport = String((nc.localPortDetails as J | undefined)?.port ?? '')
    const proto = String(nc.protocol ?? 'TCP').toLowerCase()
    const inbound = String(nc.connectionDirection ?? '') === 'INBOUND'
    const spec = inbound
      ? `${remote}:${rport}-${local}:${lport}/${proto}`
      : `${local}:${lport}-${remote}:${rport}/${proto}`
    out.push({
      label: `${nc.connectionDirection ?? ''} ${remote}:${rport} ↔ ${local}:${lport} ${proto}`,
      flowsHref: `#/flows?${new URLSearchParams({ addr: remote, start, end }).toString()}`,
      packets: rport !== '' && lport !== '' ? packetsHref(spec, start, end) : null,
    })
  }
  const pp = action.portProbeAction as J | undefined
  for (const d of ((pp?.portProbeDetails as J[] | undefined) ?? []).slice(0, 50)) {
    const remote = String((d.remoteIpDetails as J | undefined)?.ipAddressV4 ?? '')
    const local = String((d.localIpDetails as J | undefined)?.ipAddressV4 ?? '')
    const lport = String((d.localPortDetails as J | undefined)?.port ?? '')
    out.push({
      label: `probe ${remote} → ${local}:${lport}`,
      flowsHref: `#/flows?${new URLSearchParams({ srcaddr: remote, dstaddr: local, dstport: lport, start, end }).toString()}`,
      packets: null,
    })
  }
  return out
}

async function detail(root: HTMLElement, det: string, id: string): Promise<void> {
  const got = await restJson('guardduty', 'POST', `/detector/${encodeURIComponent(det)}/findings/get`, {
    findingIds: [id],
  })
  const f = ((got.findings as J[]) ?? [])[0]
  root.append(h('p', {}, h('a', { href: '#/findings' }, '← Findings')))
  if (f === undefined) {
    root.append(notice('error', `Finding ${id} was not found.`))
    return
  }
  const archived = (f.service as J | undefined)?.archived === true
  const out = h('div', { 'aria-live': 'polite' })
  const act = archived ? 'unarchive' : 'archive'
  root.append(
    h('h2', {}, String(f.title)),
    h('p', {}, `${String(f.type)} — severity ${sevBand(Number(f.severity))} (${Number(f.severity)})`),
    h('p', {}, String(f.description ?? '')),
    h(
      'section',
      { 'aria-label': 'Evidence' },
      h('h3', {}, 'Evidence'),
      h(
        'ul',
        {},
        evidence(f).map((e) =>
          h(
            'li',
            {},
            e.label,
            ' — ',
            h('a', { href: e.flowsHref }, 'flows'),
            e.packets !== null ? [' · ', h('a', { href: e.packets }, 'packets')] : null,
          ),
        ),
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          restJson('guardduty', 'POST', `/detector/${encodeURIComponent(det)}/findings/${act}`, {
            findingIds: [id],
          }).then(
            () => {
              out.replaceChildren(notice('ok', `Finding ${act}d.`))
              setTimeout(() => window.dispatchEvent(new HashChangeEvent('hashchange')), 300)
            },
            (err: unknown) => out.replaceChildren(errorNotice(err)),
          )
        },
      },
      archived ? 'Unarchive' : 'Archive',
    ),
    cli(archived ? 'UnarchiveFindings' : 'ArchiveFindings', `--detector-id ${det} --finding-ids ${id}`),
    out,
    h('h3', {}, 'Finding JSON'),
    describeItem(f as unknown as XmlValue),
  )
}
