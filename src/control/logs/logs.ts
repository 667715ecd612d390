// SPDX-License-Identifier: Apache-2.0
/**
 * CloudWatch Logs: log groups, log streams, events, retention, tags and metric filters, with
 * AWS's rules and error codes, over the logs engine's event store (`DATA_DIR/logs.sqlite`). Inputs
 * are typed values already bounded by the protocol layer; every failure is an {@link ApiError}.
 *
 * Retention is enforced on every call at most once a minute (and at once when a policy is set):
 * events older than a group's retention are deleted. Past `storedEvents`, the oldest ingested
 * events are deleted first.
 * @module
 */
import {
  compileFilterPattern,
  EVENT_OVERHEAD,
  LogStore,
  type EventCursor,
  type EventRow,
  type FilterMatcher,
  type GroupRow,
  type StreamRow,
} from '../../logs/index.ts'
import { ApiError, truncate } from '../core/errors.ts'
import { Queries } from './queries.ts'
import {
  DEFAULT_LOGS_QUOTAS,
  FILTER_SCAN_BUDGET,
  MAX_BATCH_BYTES,
  MAX_BATCH_SPAN_MS,
  MAX_EVENT_AGE_MS,
  MAX_EVENT_AHEAD_MS,
  MAX_EVENT_BYTES,
  MAX_PAGE_BYTES,
  MAX_PAGE_EVENTS,
  MAX_TAGS,
  RETENTION_DAYS,
  type LogsQuotas,
} from './limits.ts'

/** A log group name: 1–512 of `.-_/#A-Za-z0-9`. */
const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/

function invalid(message: string): ApiError {
  return new ApiError('InvalidParameterException', message)
}

function notFound(what: 'group' | 'stream'): ApiError {
  return new ApiError(
    'ResourceNotFoundException',
    what === 'group' ? 'The specified log group does not exist.' : 'The specified log stream does not exist.',
  )
}

/** Opaque page tokens: a kind, then numbers, base64url. */
function encodeToken(kind: string, ...nums: number[]): string {
  return Buffer.from(`${kind}:${nums.join(':')}`).toString('base64url')
}

function decodeToken(token: string, kind: string, count: number): number[] {
  const bad = () => invalid('The specified nextToken is invalid.')
  if (token.length > 256 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad()
  const parts = Buffer.from(token, 'base64url').toString('latin1').split(':')
  if (parts.length !== count + 1 || parts[0] !== kind) throw bad()
  const nums = parts.slice(1).map((p) => (/^-?\d{1,16}$/.test(p) ? Number(p) : NaN))
  if (nums.some((n) => !Number.isSafeInteger(n))) throw bad()
  return nums
}

/** GetLogEvents' tokens, `f/…` and `b/…` followed by digits, as AWS's look. */
function streamToken(dir: 'f' | 'b', c: EventCursor): string {
  return `${dir}/${String(c.ts + 1).padStart(20, '0')}${String(c.id).padStart(20, '0')}`
}

function parseStreamToken(token: string): { forward: boolean; cursor: EventCursor } {
  const m = /^([fb])\/(\d{20})(\d{20})$/.exec(token)
  if (m === null) throw invalid('The specified nextToken is invalid.')
  const ts = Number(m[2]) - 1
  const id = Number(m[3])
  if (!Number.isSafeInteger(ts) || !Number.isSafeInteger(id))
    throw invalid('The specified nextToken is invalid.')
  return { forward: m[1] === 'f', cursor: { ts, id } }
}

export interface LogGroupView {
  logGroupName: string
  creationTime: number
  retentionInDays?: number
  metricFilterCount: number
  arn: string
  storedBytes: number
  kmsKeyId?: string
  logGroupClass: string
  logGroupArn: string
}

export interface LogStreamView {
  logStreamName: string
  creationTime: number
  firstEventTimestamp?: number
  lastEventTimestamp?: number
  lastIngestionTime?: number
  uploadSequenceToken: string
  arn: string
  storedBytes: number
}

export interface InputEvent {
  timestamp: number
  message: string
}

export interface RejectedInfo {
  tooNewLogEventStartIndex?: number
  tooOldLogEventEndIndex?: number
  expiredLogEventEndIndex?: number
}

export interface MetricTransformation {
  metricName: string
  metricNamespace: string
  metricValue: string
  defaultValue?: number
  dimensions?: Record<string, string>
  unit?: string
}

export class Logs {
  readonly store: LogStore
  readonly quotas: LogsQuotas
  private readonly region: string
  private readonly accountId: string
  private readonly now: () => number
  private lastRetention = 0
  /** Log group → the last failure of an agent's PutLogEvents to it (cleared by a success). */
  private readonly deliveryFailures = new Map<string, string>()
  /** Logs Insights queries. */
  readonly queries: Queries

  constructor(o: {
    path: string
    region: string
    accountId: string
    quotas?: Partial<LogsQuotas>
    now?: () => number
  }) {
    this.store = new LogStore(o.path)
    this.quotas = { ...DEFAULT_LOGS_QUOTAS, ...o.quotas }
    this.region = o.region
    this.accountId = o.accountId
    this.now = o.now ?? Date.now
    this.queries = new Queries(this, this.now)
  }

  accountIdOf(): string {
    return this.accountId
  }

  /** Stream names by id, looked up once each (Insights' `@logStream`). */
  streamNamer(): (sid: number) => string {
    const cache = new Map<number, string>()
    return (sid) => {
      let n = cache.get(sid)
      if (n === undefined) {
        n = this.store.streamName(sid) ?? ''
        cache.set(sid, n)
      }
      return n
    }
  }

  close(): void {
    this.store.close()
  }

  /** Deletes expired events, at most once a minute. */
  private housekeeping(): void {
    const now = this.now()
    if (now - this.lastRetention < 60_000) return
    this.lastRetention = now
    this.store.enforceRetention(now)
  }

  /** Remembers how an agent's delivery to a log group went (at most 10,000 groups remembered). */
  noteDelivery(group: string, error: string | null): void {
    if (error === null) this.deliveryFailures.delete(group)
    else {
      if (this.deliveryFailures.size >= 10_000 && !this.deliveryFailures.has(group))
        this.deliveryFailures.delete(this.deliveryFailures.keys().next().value!)
      this.deliveryFailures.set(group, error.slice(0, 512))
    }
  }

  /**
   * DeliverLogsStatus of a flow log to this log group as far as CloudWatch Logs knows: the last
   * failure of an agent's delivery, if any (a missing group is created by the delivery when the flow
   * log's role allows it: the API layer checks the role first).
   */
  deliveryStatus(group: string): { status: 'SUCCESS' | 'FAILED'; errorMessage?: string } {
    const failure = this.deliveryFailures.get(group)
    return failure === undefined
      ? { status: 'SUCCESS' }
      : { status: 'FAILED', errorMessage: `Unknown error: ${failure}` }
  }

  /** Whether a log group of this name exists. */
  hasGroup(name: string): boolean {
    return this.store.group(name) !== undefined
  }

  regionOf(): string {
    return this.region
  }

  groupArn(name: string): string {
    return `arn:aws:logs:${this.region}:${this.accountId}:log-group:${name}`
  }

  // ------------------------------------------------------------ log groups

  /** A log group by name or ARN (`logGroupIdentifier`), or ResourceNotFoundException. */
  requireGroup(nameOrArn: string): GroupRow {
    this.housekeeping()
    let name = nameOrArn
    if (nameOrArn.startsWith('arn:')) {
      const prefix = `arn:aws:logs:${this.region}:${this.accountId}:log-group:`
      if (!nameOrArn.startsWith(prefix)) throw notFound('group')
      name = nameOrArn.slice(prefix.length).replace(/:\*$/, '')
    }
    const g = this.store.group(name)
    if (g === undefined) throw notFound('group')
    return g
  }

  checkGroupName(name: string, member = 'logGroupName'): void {
    if (!GROUP_NAME.test(name))
      throw invalid(
        `1 validation error detected: Value '${truncate(name)}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
      )
  }

  createLogGroup(
    name: string,
    o: { kmsKeyId?: string; logGroupClass?: string; tags?: ReadonlyMap<string, string> } = {},
  ): void {
    this.checkGroupName(name)
    if (this.store.group(name) !== undefined)
      throw new ApiError('ResourceAlreadyExistsException', 'The specified log group already exists')
    if (this.store.groupCount() >= this.quotas.logGroups)
      throw new ApiError(
        'LimitExceededException',
        `Resource limit exceeded: at most ${this.quotas.logGroups} log groups.`,
      )
    if ((o.tags?.size ?? 0) > MAX_TAGS)
      throw new ApiError('TooManyTagsException', `A log group can have at most ${MAX_TAGS} tags.`)
    this.store.createGroup(
      name,
      this.now(),
      o.kmsKeyId ?? null,
      o.logGroupClass ?? 'STANDARD',
      o.tags ?? new Map(),
    )
  }

  deleteLogGroup(name: string): void {
    this.store.deleteGroup(this.requireGroup(name).id)
  }

  groupView(g: GroupRow): LogGroupView {
    const arn = this.groupArn(g.name)
    return {
      logGroupName: g.name,
      creationTime: g.created,
      ...(g.retention !== null ? { retentionInDays: g.retention } : {}),
      metricFilterCount: this.store.metricFilterCount(g.id),
      arn: `${arn}:*`,
      storedBytes: g.storedBytes,
      ...(g.kms !== null ? { kmsKeyId: g.kms } : {}),
      logGroupClass: g.cls,
      logGroupArn: arn,
    }
  }

  describeLogGroups(o: { prefix?: string; pattern?: string; limit?: number; nextToken?: string }): {
    logGroups: LogGroupView[]
    nextToken?: string
  } {
    if (o.prefix !== undefined && o.pattern !== undefined)
      throw invalid('LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive.')
    this.housekeeping()
    const limit = o.limit ?? 50
    let after: string | undefined
    if (o.nextToken !== undefined) {
      const raw = /^[A-Za-z0-9_-]{1,700}$/.test(o.nextToken)
        ? Buffer.from(o.nextToken, 'base64url').toString('latin1')
        : ''
      if (!raw.startsWith('g:') || !GROUP_NAME.test(raw.slice(2)))
        throw invalid('The specified nextToken is invalid.')
      after = raw.slice(2)
    }
    const rows = this.store.listGroups({
      ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
      ...(o.pattern !== undefined ? { contains: o.pattern } : {}),
      ...(after !== undefined ? { after } : {}),
      limit: limit + 1,
    })
    const page = rows.slice(0, limit)
    return {
      logGroups: page.map((g) => this.groupView(g)),
      ...(rows.length > limit
        ? { nextToken: Buffer.from(`g:${page[page.length - 1]!.name}`).toString('base64url') }
        : {}),
    }
  }

  putRetentionPolicy(name: string, days: number): void {
    if (!RETENTION_DAYS.includes(days))
      throw invalid(
        `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
      )
    const g = this.requireGroup(name)
    this.store.setRetention(g.id, days)
    this.store.expire(g.id, this.now() - days * 86_400_000)
  }

  deleteRetentionPolicy(name: string): void {
    this.store.setRetention(this.requireGroup(name).id, null)
  }

  // ------------------------------------------------------------ log streams

  requireStream(g: GroupRow, name: string): StreamRow {
    const s = this.store.stream(g.id, name)
    if (s === undefined) throw notFound('stream')
    return s
  }

  checkStreamName(name: string): void {
    if (name.includes(':') || name.includes('*'))
      throw invalid(
        `1 validation error detected: Value '${truncate(name)}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*`,
      )
  }

  createLogStream(group: string, name: string): void {
    this.checkStreamName(name)
    const g = this.requireGroup(group)
    if (this.store.stream(g.id, name) !== undefined)
      throw new ApiError('ResourceAlreadyExistsException', 'The specified log stream already exists')
    if (this.store.streamCount(g.id) >= this.quotas.streamsPerGroup)
      throw new ApiError(
        'LimitExceededException',
        `Resource limit exceeded: at most ${this.quotas.streamsPerGroup} log streams per log group.`,
      )
    this.store.createStream(g.id, name, this.now())
  }

  deleteLogStream(group: string, name: string): void {
    const g = this.requireGroup(group)
    this.store.deleteStream(this.requireStream(g, name))
  }

  streamView(g: GroupRow, s: StreamRow): LogStreamView {
    return {
      logStreamName: s.name,
      creationTime: s.created,
      ...(s.firstTs !== null ? { firstEventTimestamp: s.firstTs } : {}),
      ...(s.lastTs !== null ? { lastEventTimestamp: s.lastTs } : {}),
      ...(s.lastIngest !== null ? { lastIngestionTime: s.lastIngest } : {}),
      uploadSequenceToken: sequenceToken(s),
      arn: `${this.groupArn(g.name)}:log-stream:${s.name}`,
      storedBytes: s.storedBytes,
    }
  }

  describeLogStreams(o: {
    group: string
    prefix?: string
    orderBy?: 'LogStreamName' | 'LastEventTime'
    descending?: boolean
    limit?: number
    nextToken?: string
  }): { logStreams: LogStreamView[]; nextToken?: string } {
    const orderBy = o.orderBy ?? 'LogStreamName'
    if (orderBy === 'LastEventTime' && o.prefix !== undefined)
      throw invalid('Cannot order by LastEventTime with a logStreamNamePrefix.')
    const g = this.requireGroup(o.group)
    const limit = o.limit ?? 50
    const offset = o.nextToken === undefined ? 0 : decodeToken(o.nextToken, `s${g.id}`, 1)[0]!
    if (offset < 0) throw invalid('The specified nextToken is invalid.')
    const rows = this.store.listStreams(g.id, {
      ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
      orderBy,
      descending: o.descending ?? false,
      offset,
      limit: limit + 1,
    })
    const page = rows.slice(0, limit)
    return {
      logStreams: page.map((s) => this.streamView(g, s)),
      ...(rows.length > limit ? { nextToken: encodeToken(`s${g.id}`, offset + limit) } : {}),
    }
  }

  // ------------------------------------------------------------ events

  /**
   * PutLogEvents with AWS's batch rules: at most 10,000 events and 1,048,576 bytes (UTF-8 bytes + 26
   * per event), each at most 256 KiB, in chronological order, spanning at most 24 hours. Events
   * more than 14 days old (or older than the retention) or more than 2 hours ahead are not stored
   * and reported in `rejectedLogEventsInfo`. Sequence tokens are accepted and ignored.
   */
  putLogEvents(
    group: string,
    stream: string,
    events: readonly InputEvent[],
  ): {
    nextSequenceToken: string
    rejectedLogEventsInfo?: RejectedInfo
  } {
    const g = this.requireGroup(group)
    const s = this.requireStream(g, stream)
    let bytes = 0
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!
      const b = Buffer.byteLength(e.message) + EVENT_OVERHEAD
      if (b > MAX_EVENT_BYTES)
        throw invalid(`Log event too large: ${b} bytes exceeds limit of ${MAX_EVENT_BYTES}`)
      bytes += b
      if (i > 0 && e.timestamp < events[i - 1]!.timestamp)
        throw invalid('Log events in a single PutLogEvents request must be in chronological order.')
    }
    if (bytes > MAX_BATCH_BYTES)
      throw invalid(`Upload too large: ${bytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`)
    if (events.length > 0 && events[events.length - 1]!.timestamp - events[0]!.timestamp > MAX_BATCH_SPAN_MS)
      throw invalid(
        'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
      )
    const now = this.now()
    const tooOld = now - MAX_EVENT_AGE_MS
    const expired = g.retention === null ? -Infinity : now - g.retention * 86_400_000
    const tooNew = now + MAX_EVENT_AHEAD_MS
    let from = 0
    let to = events.length
    let expiredEnd = -1
    let tooOldEnd = -1
    while (from < to && (events[from]!.timestamp < tooOld || events[from]!.timestamp < expired)) {
      if (events[from]!.timestamp < expired) expiredEnd = from
      if (events[from]!.timestamp < tooOld) tooOldEnd = from
      from++
    }
    while (to > from && events[to - 1]!.timestamp > tooNew) to--
    const ts: number[] = []
    const msg: string[] = []
    let kept = 0
    for (let i = from; i < to; i++) {
      const e = events[i]!
      ts.push(e.timestamp)
      msg.push(e.message)
      kept += Buffer.byteLength(e.message) + EVENT_OVERHEAD
    }
    this.store.putEvents(s, ts, msg, now, kept)
    if (this.store.events > this.quotas.storedEvents)
      this.store.evict(Math.floor(this.quotas.storedEvents * 0.99))
    const rejected: RejectedInfo = {
      ...(to < events.length ? { tooNewLogEventStartIndex: to } : {}),
      ...(tooOldEnd >= 0 ? { tooOldLogEventEndIndex: tooOldEnd } : {}),
      ...(expiredEnd >= 0 ? { expiredLogEventEndIndex: expiredEnd } : {}),
    }
    const after = this.store.stream(g.id, stream)!
    return {
      nextSequenceToken: sequenceToken(after),
      ...(Object.keys(rejected).length > 0 ? { rejectedLogEventsInfo: rejected } : {}),
    }
  }

  /** GetLogEvents: one stream, in time order, forward or backward tokens. */
  getLogEvents(o: {
    group: string
    stream: string
    startTime?: number
    endTime?: number
    nextToken?: string
    limit?: number
    startFromHead?: boolean
  }): {
    events: { timestamp: number; message: string; ingestionTime: number }[]
    nextForwardToken: string
    nextBackwardToken: string
  } {
    const g = this.requireGroup(o.group)
    const s = this.requireStream(g, o.stream)
    const start = o.startTime ?? 0
    const end = o.endTime ?? Number.MAX_SAFE_INTEGER - 1
    const limit = o.limit ?? MAX_PAGE_EVENTS
    let forward = o.startFromHead === true
    let cursor: EventCursor | undefined
    if (o.nextToken !== undefined) ({ forward, cursor } = parseStreamToken(o.nextToken))
    const rows = this.store.streamEvents(s.id, {
      start,
      end,
      forward,
      ...(cursor !== undefined ? { cursor } : {}),
      limit,
      maxBytes: MAX_PAGE_BYTES,
    })
    const first = rows[0]
    const last = rows[rows.length - 1]
    // With no event, both tokens stay where the caller was (or at either end of the range).
    const head: EventCursor = { ts: -1, id: 0 }
    const fwd: EventCursor =
      last !== undefined
        ? { ts: last.ts, id: last.id }
        : (cursor ?? (forward ? head : { ts: start - 1, id: Number.MAX_SAFE_INTEGER }))
    const bwd: EventCursor = first !== undefined ? { ts: first.ts, id: first.id } : (cursor ?? head)
    return {
      events: rows.map((r) => ({ timestamp: r.ts, message: r.msg, ingestionTime: r.ingest })),
      nextForwardToken: streamToken('f', last === undefined && cursor === undefined && !forward ? head : fwd),
      nextBackwardToken: streamToken('b', bwd),
    }
  }

  /** FilterLogEvents: a group's streams (all, named, or by prefix), a time range, a filter pattern. */
  filterLogEvents(o: {
    group: string
    streamNames?: readonly string[]
    streamPrefix?: string
    startTime?: number
    endTime?: number
    filterPattern?: string
    nextToken?: string
    limit?: number
  }): {
    events: {
      logStreamName: string
      timestamp: number
      message: string
      ingestionTime: number
      eventId: string
    }[]
    searchedLogStreams: { logStreamName: string; searchedCompletely: boolean }[]
    nextToken?: string
  } {
    if (o.streamNames !== undefined && o.streamPrefix !== undefined)
      throw invalid('logStreamNames and logStreamNamePrefix are mutually exclusive.')
    const g = this.requireGroup(o.group)
    const matcher = this.compilePattern(o.filterPattern ?? '')
    const streams = this.store.streamsOf(g.id)
    const names = new Map(streams.map((s) => [s.id, s.name]))
    let only: Set<number> | undefined
    if (o.streamNames !== undefined) {
      const wanted = new Set(o.streamNames)
      only = new Set(streams.filter((s) => wanted.has(s.name)).map((s) => s.id))
      if (only.size === 0) throw notFound('stream')
    } else if (o.streamPrefix !== undefined) {
      only = new Set(streams.filter((s) => s.name.startsWith(o.streamPrefix!)).map((s) => s.id))
    }
    let cursor: EventCursor | undefined
    if (o.nextToken !== undefined) {
      const [ts, id] = decodeToken(o.nextToken, `e${g.id}`, 2)
      cursor = { ts: ts!, id: id! }
    }
    const { events, resume } = this.store.scanGroup(g.id, {
      start: o.startTime ?? 0,
      end: o.endTime === undefined ? Number.MAX_SAFE_INTEGER : o.endTime + 1,
      ...(cursor !== undefined ? { cursor } : {}),
      ...(only !== undefined ? { streams: only } : {}),
      matcher,
      limit: o.limit ?? MAX_PAGE_EVENTS,
      maxBytes: MAX_PAGE_BYTES,
      budget: FILTER_SCAN_BUDGET,
    })
    const ingest = this.store.ingestOf(events.map((e: EventRow) => e.id))
    const searched = only === undefined ? streams : streams.filter((s) => only.has(s.id))
    return {
      events: events.map((e) => ({
        logStreamName: names.get(e.sid) ?? '',
        timestamp: e.ts,
        message: e.msg,
        ingestionTime: ingest.get(e.id) ?? 0,
        eventId: eventId(e),
      })),
      searchedLogStreams: searched.map((s) => ({
        logStreamName: s.name,
        searchedCompletely: resume === undefined,
      })),
      ...(resume !== undefined ? { nextToken: encodeToken(`e${g.id}`, resume.ts, resume.id) } : {}),
    }
  }

  compilePattern(pattern: string): FilterMatcher {
    try {
      return compileFilterPattern(pattern)
    } catch (err) {
      throw invalid((err as Error).message)
    }
  }

  // ------------------------------------------------------------ tags

  /** The group a tagging ARN names (`arn:aws:logs:region:account:log-group:NAME`). */
  groupOfArn(arn: string): GroupRow {
    const prefix = `arn:aws:logs:${this.region}:${this.accountId}:log-group:`
    if (!arn.startsWith('arn:aws:logs:')) throw invalid(`Invalid resource ARN: ${truncate(arn)}`)
    if (!arn.startsWith(prefix))
      throw new ApiError('ResourceNotFoundException', 'The specified resource does not exist.')
    const g = this.store.group(arn.slice(prefix.length).replace(/:\*$/, ''))
    if (g === undefined)
      throw new ApiError('ResourceNotFoundException', 'The specified resource does not exist.')
    return g
  }

  tagGroup(g: GroupRow, tags: ReadonlyMap<string, string>): void {
    const merged = this.store.tags(g.id)
    for (const [k, v] of tags) merged.set(k, v)
    if (merged.size > MAX_TAGS)
      throw new ApiError('TooManyTagsException', `A resource can have at most ${MAX_TAGS} tags.`)
    this.store.setTags(g.id, tags, [])
  }

  untagGroup(g: GroupRow, keys: readonly string[]): void {
    this.store.setTags(g.id, new Map(), keys)
  }

  tagsOf(g: GroupRow): Record<string, string> {
    return Object.fromEntries(this.store.tags(g.id))
  }

  // ------------------------------------------------------------ metric filters

  putMetricFilter(group: string, name: string, pattern: string, t: MetricTransformation): void {
    const g = this.requireGroup(group)
    this.compilePattern(pattern)
    if (!/^\$[A-Za-z_][A-Za-z0-9_.[\]]*$|^[-+]?\d+(\.\d+)?$/.test(t.metricValue))
      throw invalid(`Invalid metric value '${truncate(t.metricValue)}': a number or $field.`)
    const exists = this.store.metricFilters(g.id).some((f) => f.name === name)
    if (!exists && this.store.metricFilterCount(g.id) >= this.quotas.metricFiltersPerGroup)
      throw new ApiError(
        'LimitExceededException',
        `Resource limit exceeded: at most ${this.quotas.metricFiltersPerGroup} metric filters per log group.`,
      )
    this.store.putMetricFilter(g.id, name, pattern, JSON.stringify([t]), this.now())
  }

  deleteMetricFilter(group: string, name: string): void {
    const g = this.requireGroup(group)
    if (!this.store.deleteMetricFilter(g.id, name))
      throw new ApiError('ResourceNotFoundException', 'The specified metric filter does not exist.')
  }

  describeMetricFilters(o: {
    group?: string
    prefix?: string
    metricName?: string
    metricNamespace?: string
    limit?: number
    nextToken?: string
  }): { metricFilters: object[]; nextToken?: string } {
    if ((o.metricName === undefined) !== (o.metricNamespace === undefined))
      throw invalid('metricName and metricNamespace must be given together.')
    if (o.prefix !== undefined && o.group === undefined)
      throw invalid('filterNamePrefix requires logGroupName.')
    const g = o.group === undefined ? undefined : this.requireGroup(o.group)
    const names = new Map<number, string>()
    let rows = this.store.metricFilters(g?.id)
    rows = rows.filter((f) => {
      if (o.prefix !== undefined && !f.name.startsWith(o.prefix)) return false
      if (o.metricName !== undefined) {
        const t = (JSON.parse(f.transformations) as MetricTransformation[])[0]!
        if (t.metricName !== o.metricName || t.metricNamespace !== o.metricNamespace) return false
      }
      return true
    })
    const limit = o.limit ?? 50
    const offset = o.nextToken === undefined ? 0 : decodeToken(o.nextToken, 'm', 1)[0]!
    const page = rows.slice(offset, offset + limit)
    return {
      metricFilters: page.map((f) => {
        let name = names.get(f.gid)
        if (name === undefined) {
          name = this.store.groupById(f.gid)?.name ?? ''
          names.set(f.gid, name)
        }
        return {
          filterName: f.name,
          filterPattern: f.pattern,
          metricTransformations: JSON.parse(f.transformations) as MetricTransformation[],
          creationTime: f.created,
          logGroupName: name,
        }
      }),
      ...(offset + limit < rows.length ? { nextToken: encodeToken('m', offset + limit) } : {}),
    }
  }

  /** TestMetricFilter: which of the messages the pattern matches, with the fields it extracts. */
  testMetricFilter(
    pattern: string,
    messages: readonly string[],
  ): { eventNumber: number; eventMessage: string; extractedValues: Record<string, string> }[] {
    const m = this.compilePattern(pattern)
    const out: { eventNumber: number; eventMessage: string; extractedValues: Record<string, string> }[] = []
    messages.forEach((msg, i) => {
      if (!m.match(msg)) return
      out.push({ eventNumber: i + 1, eventMessage: msg, extractedValues: m.extract?.(msg) ?? {} })
    })
    return out
  }
}

/** The deprecated per-stream sequence token, still reported: digits that grow with each upload. */
function sequenceToken(s: StreamRow): string {
  return String(49_000_000_000 + s.id).padEnd(20, '0') + String(s.lastIngest ?? 0).padStart(36, '0')
}

/** An event id as AWS shows them: a long string of digits (time and row). */
function eventId(e: EventRow): string {
  return `${String(e.ts).padStart(16, '0')}${String(e.id).padStart(20, '0')}`
}
