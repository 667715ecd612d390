// SPDX-License-Identifier: Apache-2.0
/**
 * Packets on demand, on the server's side.
 *
 * - `MirrorflowRegisterTargetAppliance` — a mirror target (`mirrorflow target --server …
 *   --pcap-api …`) says where its packets-on-demand service listens, with the bearer token that
 *   service wants, and its counters (sessions, packets, drops, errors). It repeats this every few
 *   seconds: the registration is also the appliance's heartbeat. Admin and user keys only (the key
 *   role gate refuses agent keys); at most {@link MAX_APPLIANCES} are kept, the least recently heard
 *   from evicted first; the URL must be `http://` to an IP address and port, nothing else.
 * - `GET /mirrorflow/v1/pcap?Flow=SRC:PORT-DST:PORT/PROTO&StartTime=…&EndTime=…` (SigV4-signed like
 *   every request) — asks every appliance heard from in the last {@link LIVE_MS} for the flow's frames
 *   within the range, and answers one pcap with all of them in time order; `PacketsNoLongerHeld`
 *   when the rings have rotated past the range, `PacketsNotFound` when they never held the flow.
 * @module
 */
import { ApiError, type ControlPlane } from '../../../control/index.ts'
import { parseFlowSpec } from '../../../mirror-target/index.ts'
import type { QueryContext as ActionContext } from '../../protocols/ec2-query/context.ts'
import { Params, parseForm } from '../../protocols/ec2-query/params.ts'

/** The path of the signed GET that returns a flow's packets. */
export const PCAP_PATH = '/mirrorflow/v1/pcap'
/** Appliances kept; a new one beyond this evicts the least recently heard from. */
export const MAX_APPLIANCES = 64
/** An appliance not heard from for this long is not asked for packets (ms). */
export const LIVE_MS = 120_000
/** How long the server waits for an appliance's extraction (ms). */
export const FETCH_TIMEOUT_MS = 20_000
/** Longest time range one request may span (seconds). */
export const MAX_RANGE_SECONDS = 7 * 24 * 3600
/** Largest pcap answered (bytes): each appliance's is capped at 64 MiB; all together at this. */
export const MAX_PCAP_BYTES = 128 * 1024 * 1024

export interface TargetAppliance {
  name: string
  url: string
  token: string
  lastSeen: number
  sessions: number
  packets: number
  drops: number
  errors: number
  pcapBytes: number
  pcapFiles: number
}

const APPLIANCES = new WeakMap<ControlPlane, Map<string, TargetAppliance>>()

/** The appliances of a control plane, least recently heard from first. */
export function appliancesOf(cp: ControlPlane): Map<string, TargetAppliance> {
  let m = APPLIANCES.get(cp)
  if (m === undefined) APPLIANCES.set(cp, (m = new Map()))
  return m
}

const MAX_COUNT = 2 ** 48

function count(ctx: ActionContext, name: string): number {
  const v = ctx.p.int(name) ?? 0
  if (v < 0 || v > MAX_COUNT)
    throw new ApiError('InvalidParameterValue', `${name} must be between 0 and ${MAX_COUNT}.`)
  return v
}

const URL_RE = /^http:\/\/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]{2,39}\]):(\d{1,5})$/

const registerAppliance = (ctx: ActionContext): unknown => {
  const name = ctx.p.str('Name', true)
  const url = ctx.p.str('Url', true)
  const token = ctx.p.str('Token', true)
  const counters = {
    sessions: count(ctx, 'Sessions'),
    packets: count(ctx, 'Packets'),
    drops: count(ctx, 'Drops'),
    errors: count(ctx, 'Errors'),
    pcapBytes: count(ctx, 'PcapBytes'),
    pcapFiles: count(ctx, 'PcapFiles'),
  }
  ctx.ready()
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(name))
    throw new ApiError(
      'InvalidParameterValue',
      'Name must be 1 to 64 letters, digits, dots, colons, dashes or underscores.',
    )
  const m = URL_RE.exec(url)
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new ApiError(
      'InvalidParameterValue',
      'Url must be http://ADDRESS:PORT with an IP address (IPv6 in brackets).',
    )
  if (!/^[A-Za-z0-9_-]{32,128}$/.test(token))
    throw new ApiError('InvalidParameterValue', 'Token must be 32 to 128 base64url characters.')
  const map = appliancesOf(ctx.cp)
  map.delete(name)
  while (map.size >= MAX_APPLIANCES) map.delete(map.keys().next().value as string)
  map.set(name, { name, url, token, lastSeen: Date.now(), ...counters })
  return { Return: true }
}

/** The appliances as `MirrorflowDescribeStatus` shows them (no token). */
export function applianceStatus(cp: ControlPlane): object[] {
  return [...appliancesOf(cp).values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((a) => ({
      Name: a.name,
      Url: a.url,
      LastSeen: new Date(a.lastSeen).toISOString(),
      Live: Date.now() - a.lastSeen < LIVE_MS,
      Sessions: a.sessions,
      Packets: a.packets,
      Drops: a.drops,
      Errors: a.errors,
      PcapBytes: a.pcapBytes,
      PcapFiles: a.pcapFiles,
    }))
}

export const PACKET_ACTIONS: ReadonlyMap<string, (ctx: ActionContext) => unknown> = new Map([
  ['MirrorflowRegisterTargetAppliance', registerAppliance],
])

/** A time parameter: ISO 8601 or seconds since the epoch; µs since the epoch. */
function timeParam(p: Params, name: string): number {
  const v = p.str(name, true)
  const ms = /^\d{1,12}(\.\d{1,6})?$/.test(v) ? Number(v) * 1000 : Date.parse(v)
  if (!Number.isFinite(ms) || v.length > 40)
    throw new ApiError(
      'InvalidParameterValue',
      `${name} must be an ISO 8601 time or seconds since the epoch.`,
    )
  return Math.round(ms * 1000)
}

/** Records of our own pcaps (little-endian, µs): `[time µs, bytes]` each. */
function records(pcap: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = []
  if (pcap.length < 24 || pcap.readUInt32LE(0) !== 0xa1b2c3d4) return out
  let o = 24
  while (o + 16 <= pcap.length) {
    const incl = pcap.readUInt32LE(o + 8)
    if (o + 16 + incl > pcap.length) break
    out.push([pcap.readUInt32LE(o) * 1e6 + pcap.readUInt32LE(o + 4), pcap.subarray(o, o + 16 + incl)])
    o += 16 + incl
  }
  return out
}

export interface FlowPackets {
  pcap: Buffer
  packets: number
  truncated: boolean
  fileName: string
}

/**
 * The flow's packets from every live appliance, merged in time order. `query` is the raw query
 * string (`Flow`, `StartTime`, `EndTime`).
 */
export async function flowPackets(
  cp: ControlPlane,
  query: string,
  signal: AbortSignal,
): Promise<FlowPackets> {
  const map = new Map<string, string>()
  parseForm(query, map)
  const p = new Params(map)
  const flowText = p.str('Flow', true)
  const startUs = timeParam(p, 'StartTime')
  const endUs = timeParam(p, 'EndTime')
  p.done()
  let flow: ReturnType<typeof parseFlowSpec>
  try {
    flow = parseFlowSpec(flowText)
  } catch (err) {
    throw new ApiError('InvalidParameterValue', `Flow: ${(err as Error).message}.`)
  }
  if (endUs < startUs) throw new ApiError('InvalidParameterValue', 'EndTime must not be before StartTime.')
  if (endUs - startUs > MAX_RANGE_SECONDS * 1e6)
    throw new ApiError(
      'InvalidParameterValue',
      `The time range must be at most ${MAX_RANGE_SECONDS} seconds.`,
    )
  const now = Date.now()
  const live = [...appliancesOf(cp).values()].filter((a) => now - a.lastSeen < LIVE_MS)
  if (live.length === 0)
    throw new ApiError(
      'NoTargetAppliance',
      'No mirror target has registered for packets on demand in the last two minutes (start it with --server and --pcap-api).',
    )
  const qs = new URLSearchParams({
    src: flow.srcAddr,
    sport: String(flow.srcPort),
    dst: flow.dstAddr,
    dport: String(flow.dstPort),
    proto: String(flow.protocol),
    start: String(startUs),
    end: String(endUs),
  }).toString()
  const answers = await Promise.all(
    live.map(async (a) => {
      try {
        const res = await fetch(`${a.url}/pcap?${qs}`, {
          headers: { authorization: `Bearer ${a.token}` },
          redirect: 'error',
          signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]),
        })
        const body = Buffer.from(await res.arrayBuffer())
        if (res.ok)
          return { ok: true as const, body, truncated: res.headers.get('x-mirrorflow-truncated') === 'true' }
        let code = ''
        let message = ''
        try {
          const j = JSON.parse(body.toString('utf8')) as { code?: string; message?: string }
          code = String(j.code ?? '')
          message = String(j.message ?? '').slice(0, 500)
        } catch {
          // not JSON
        }
        return { ok: false as const, code, message: `${a.name}: ${message || `HTTP ${res.status}`}` }
      } catch (err) {
        return { ok: false as const, code: 'Unavailable', message: `${a.name}: ${(err as Error).message}` }
      }
    }),
  )
  const recs: Array<[number, Buffer]> = []
  let truncated = false
  for (const x of answers) {
    if (!x.ok) continue
    truncated ||= x.truncated
    recs.push(...records(x.body))
  }
  if (recs.length === 0) {
    const failed = answers.filter((x) => !x.ok)
    if (failed.length > 0 && failed.every((x) => !x.ok && x.code === 'PacketsNoLongerHeld'))
      throw new ApiError('PacketsNoLongerHeld', failed.map((x) => (x.ok ? '' : x.message)).join(' '))
    if (failed.every((x) => !x.ok && (x.code === 'PacketsNotFound' || x.code === 'PacketsNoLongerHeld')))
      throw new ApiError(
        'PacketsNotFound',
        `No mirror target holds packets of ${flowText.slice(0, 200)} in that time range (is the flow's interface mirrored, and does the filter accept it?).`,
      )
    throw new ApiError(
      'TargetApplianceUnavailable',
      `No mirror target could answer: ${failed
        .map((x) => (x.ok ? '' : x.message))
        .join('; ')
        .slice(0, 1000)}`,
    )
  }
  recs.sort((x, y) => x[0] - y[0])
  let size = 24
  let n = 0
  for (const [, r] of recs) {
    if (size + r.length > MAX_PCAP_BYTES) {
      truncated = true
      break
    }
    size += r.length
    n++
  }
  const pcap = Buffer.allocUnsafe(size)
  pcap.writeUInt32LE(0xa1b2c3d4, 0)
  pcap.writeUInt16LE(2, 4)
  pcap.writeUInt16LE(4, 6)
  pcap.writeInt32LE(0, 8)
  pcap.writeUInt32LE(0, 12)
  pcap.writeUInt32LE(262144, 16)
  pcap.writeUInt32LE(1, 20)
  let w = 24
  for (let i = 0; i < n; i++) w += recs[i]![1].copy(pcap, w)
  const safe = flowText.replace(/[^0-9A-Za-z.]+/g, '_').slice(0, 120)
  return { pcap, packets: n, truncated, fileName: `flow-${safe}.pcap` }
}
