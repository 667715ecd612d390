// SPDX-License-Identifier: Apache-2.0
/**
 * Logs Insights queries: StartQuery parses at once (a query that cannot run is a
 * MalformedQueryException), then runs the query over the asked groups and time range in steps of
 * {@link STEP_EVENTS} events, one per turn of the event loop (StopQuery ends it at the next step); GetQueryResults, StopQuery and DescribeQueries read its state. At most
 * `concurrentQueries` are scheduled at once, and `queriesRemembered` are kept (the oldest finished
 * are forgotten first).
 * @module
 */
import { randomUUID } from 'node:crypto'
import {
  parseQuery,
  prepareQuery,
  type QueryRun,
  type FlowFormat,
  type QueryOutput,
  type ResultField,
} from '../../logs/index.ts'
import { ApiError, truncate } from '../core/errors.ts'
import type { Logs } from './logs.ts'

/** Events a running query scans per turn of the event loop (some tens of milliseconds). */
export const STEP_EVENTS = 25_000

export type QueryStatus = 'Scheduled' | 'Running' | 'Complete' | 'Failed' | 'Cancelled'

interface QueryRecord {
  id: string
  query: string
  groups: { id: number; name: string }[]
  status: QueryStatus
  created: number
  results: ResultField[][]
  statistics: QueryOutput['statistics']
  error?: string
}

export class Queries {
  private readonly logs: Logs
  private readonly byId = new Map<string, QueryRecord>()
  private readonly now: () => number

  constructor(logs: Logs, now: () => number = Date.now) {
    this.logs = logs
    this.now = now
  }

  start(o: {
    groups: readonly string[]
    startTime: number
    endTime: number
    query: string
    limit?: number
    formats: readonly FlowFormat[]
  }): string {
    if (o.endTime < o.startTime)
      throw new ApiError('InvalidParameterException', 'endTime must be greater than or equal to startTime.')
    if (o.groups.length === 0)
      throw new ApiError(
        'InvalidParameterException',
        'Specify at least one log group (logGroupName, logGroupNames or logGroupIdentifiers).',
      )
    const groups = o.groups.map((g) => {
      const row = this.logs.requireGroup(g)
      return { id: row.id, name: row.name }
    })
    let cmds
    try {
      cmds = parseQuery(o.query)
    } catch (err) {
      throw new ApiError('MalformedQueryException', truncate((err as Error).message, 300))
    }
    const running = [...this.byId.values()].filter(
      (q) => q.status === 'Scheduled' || q.status === 'Running',
    ).length
    if (running >= this.logs.quotas.concurrentQueries)
      throw new ApiError(
        'LimitExceededException',
        `At most ${this.logs.quotas.concurrentQueries} queries may run at once.`,
      )
    this.evict()
    const rec: QueryRecord = {
      id: randomUUID(),
      query: o.query,
      groups,
      status: 'Scheduled',
      created: this.now(),
      results: [],
      statistics: { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 },
    }
    this.byId.set(rec.id, rec)
    let run: QueryRun | undefined
    const fault = (err: unknown): void => {
      rec.status = 'Failed'
      rec.error = (err as Error).message
    }
    // A step of STEP_EVENTS events per turn of the event loop: other requests (and StopQuery) go
    // in between, and a stopped query ends at its next step.
    const tick = (): void => {
      if (rec.status === 'Cancelled') return
      try {
        if (run === undefined) {
          rec.status = 'Running'
          run = prepareQuery(this.logs.store, cmds, {
            groups,
            accountId: this.logs.accountIdOf(),
            streamName: this.logs.streamNamer(),
            start: o.startTime * 1000,
            end: o.endTime * 1000 + 999,
            limit: o.limit ?? 1000,
            formats: o.formats,
            cancelled: () => (rec.status as QueryStatus) === 'Cancelled',
          })
        }
        if (!run.step(STEP_EVENTS)) {
          setImmediate(tick)
          return
        }
        if ((rec.status as QueryStatus) === 'Cancelled') return
        const out = run.finish()
        rec.results = out.results
        rec.statistics = out.statistics
        rec.status = 'Complete'
      } catch (err) {
        fault(err)
      }
    }
    setImmediate(tick)
    return rec.id
  }

  private evict(): void {
    if (this.byId.size < this.logs.quotas.queriesRemembered) return
    for (const [id, q] of this.byId) {
      if (q.status !== 'Scheduled' && q.status !== 'Running') {
        this.byId.delete(id)
        if (this.byId.size < this.logs.quotas.queriesRemembered) return
      }
    }
  }

  private require(id: string): QueryRecord {
    const q = this.byId.get(id)
    if (q === undefined)
      throw new ApiError('ResourceNotFoundException', 'The specified query could not be found.')
    return q
  }

  results(id: string): {
    status: QueryStatus
    results: ResultField[][]
    statistics: QueryOutput['statistics']
  } {
    const q = this.require(id)
    return { status: q.status, results: q.results, statistics: q.statistics }
  }

  stop(id: string): boolean {
    const q = this.require(id)
    if (q.status !== 'Scheduled' && q.status !== 'Running') return false
    q.status = 'Cancelled'
    return true
  }

  describe(o: { group?: string; status?: QueryStatus; maxResults?: number; nextToken?: string }): {
    queries: {
      queryId: string
      queryString: string
      status: QueryStatus
      createTime: number
      logGroupName: string
    }[]
    nextToken?: string
  } {
    const gid = o.group === undefined ? undefined : this.logs.requireGroup(o.group).id
    const all = [...this.byId.values()]
      .filter(
        (q) =>
          (gid === undefined || q.groups.some((g) => g.id === gid)) &&
          (o.status === undefined || q.status === o.status),
      )
      .reverse()
    const offset = o.nextToken === undefined ? 0 : Number(/^q(\d{1,7})$/.exec(o.nextToken)?.[1] ?? NaN)
    if (Number.isNaN(offset))
      throw new ApiError('InvalidParameterException', 'The specified nextToken is invalid.')
    const max = o.maxResults ?? 1000
    const page = all.slice(offset, offset + max)
    return {
      queries: page.map((q) => ({
        queryId: q.id,
        queryString: q.query,
        status: q.status,
        createTime: q.created,
        logGroupName: q.groups[0]!.name,
      })),
      ...(offset + max < all.length ? { nextToken: `q${offset + max}` } : {}),
    }
  }
}
