// SPDX-License-Identifier: Apache-2.0
/**
 * GuardDuty's resources: the detector (one per account and region, as in AWS), its findings (capped,
 * the least recently updated evicted first), its ThreatIntelSets (at most 6) and IPSets (at most 1,
 * trusted addresses that suppress findings). Detectors and lists are kept in a JSON file written
 * atomically on every change; findings in a second file written at most every few seconds. Findings
 * are filtered with GuardDuty's `FindingCriteria` (a path of the finding in wire form → a condition).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { ApiError, truncate } from '../core/errors.ts'
import './errors.ts'
import { findingWire, type Finding } from './finding.ts'
import { IpList, readListLocation, type ListRoots } from './lists.ts'

/** Findings a detector keeps; beyond, the least recently updated is evicted. */
export const FINDINGS_MAX = 10_000
/** ThreatIntelSets per detector (AWS's quota). */
export const THREAT_INTEL_SETS_MAX = 6
/** IPSets per detector (AWS's quota). */
export const IP_SETS_MAX = 1
/** Tags on one resource (AWS's limit). */
export const TAGS_MAX = 50

export const LIST_FORMATS = ['TXT', 'STIX', 'OTX_CSV', 'ALIEN_VAULT', 'PROOF_POINT', 'FIRE_EYE'] as const
export const PUBLISHING_FREQUENCIES = ['FIFTEEN_MINUTES', 'ONE_HOUR', 'SIX_HOURS'] as const

export interface Detector {
  id: string
  createdAt: string
  updatedAt: string
  status: 'ENABLED' | 'DISABLED'
  findingPublishingFrequency: (typeof PUBLISHING_FREQUENCIES)[number]
  tags: Record<string, string>
}

export interface ListSet {
  id: string
  kind: 'threat' | 'ip'
  name: string
  format: string
  location: string
  status: 'ACTIVE' | 'INACTIVE' | 'ERROR'
  tags: Record<string, string>
  entries: number
  invalid: number
}

interface Persisted {
  detectors: Detector[]
  sets: (ListSet & { detectorId: string; text?: string })[]
}

export interface GuardDutyConfig {
  accountId: string
  region: string
  partition?: string
  /** JSON file of detectors and lists (none: memory only). */
  file?: string
  /** JSON file of findings (none: memory only). */
  findingsFile?: string
  roots?: ListRoots
  maxFindings?: number
}

/** Listener of changed findings (new or updated), in the order they changed. */
export type FindingsListener = (changed: readonly Finding[]) => void

function hexId(): string {
  return randomBytes(16).toString('hex')
}

const ID = /^[a-z0-9]{1,64}$/

function nowIso(): string {
  return new Date().toISOString()
}

export class GuardDuty {
  readonly accountId: string
  readonly region: string
  readonly partition: string
  private readonly detectors = new Map<string, Detector>()
  private readonly sets = new Map<string, ListSet & { detectorId: string; list: IpList | null }>()
  /** Findings in order of their last update (oldest first). */
  private readonly findings = new Map<string, Finding>()
  private readonly listeners = new Set<FindingsListener>()
  private readonly cfg: GuardDutyConfig
  private readonly maxFindings: number
  /** Increases with every change to lists or detectors: the detection engine rebuilds on change. */
  version = 0
  evictedFindings = 0
  persistErrors = 0
  lastPersistError: string | null = null
  private findingsDirty = false
  private flushTimer: NodeJS.Timeout | null = null

  constructor(cfg: GuardDutyConfig) {
    this.cfg = cfg
    this.accountId = cfg.accountId
    this.region = cfg.region
    this.partition = cfg.partition ?? 'aws'
    this.maxFindings = cfg.maxFindings ?? FINDINGS_MAX
    this.load()
  }

  // ---- detectors ----

  createDetector(input: {
    enable: boolean
    findingPublishingFrequency?: string | undefined
    tags?: Record<string, string> | undefined
  }): Detector {
    if (this.detectors.size > 0) {
      throw new ApiError(
        'BadRequestException',
        'The request is rejected because a detector already exists for the current account.',
      )
    }
    const freq = this.frequency(input.findingPublishingFrequency)
    const t = nowIso()
    const d: Detector = {
      id: hexId(),
      createdAt: t,
      updatedAt: t,
      status: input.enable ? 'ENABLED' : 'DISABLED',
      findingPublishingFrequency: freq ?? 'SIX_HOURS',
      tags: this.tags(input.tags),
    }
    this.detectors.set(d.id, d)
    this.changed()
    return d
  }

  updateDetector(
    id: string,
    input: { enable?: boolean | undefined; findingPublishingFrequency?: string },
  ): void {
    const d = this.detector(id)
    const freq = this.frequency(input.findingPublishingFrequency)
    if (input.enable !== undefined) d.status = input.enable ? 'ENABLED' : 'DISABLED'
    if (freq !== undefined) d.findingPublishingFrequency = freq
    d.updatedAt = nowIso()
    this.changed()
  }

  listDetectors(): Detector[] {
    return [...this.detectors.values()]
  }

  /** The detector, or BadRequestException as GuardDuty answers an unknown id. */
  detector(id: string): Detector {
    const d = ID.test(id) ? this.detectors.get(id) : undefined
    if (d === undefined) {
      throw new ApiError(
        'BadRequestException',
        `The request is rejected because the input detectorId '${truncate(id)}' is not owned by the current account.`,
      )
    }
    return d
  }

  deleteDetector(id: string): void {
    this.detector(id)
    this.detectors.delete(id)
    for (const [k, s] of this.sets) if (s.detectorId === id) this.sets.delete(k)
    for (const [k, f] of this.findings) if (f.Service.DetectorId === id) this.findings.delete(k)
    this.findingsDirty = true
    this.changed()
  }

  /** The enabled detector, if any: the one live detections go to. */
  activeDetector(): Detector | undefined {
    for (const d of this.detectors.values()) if (d.status === 'ENABLED') return d
    return undefined
  }

  // ---- threat lists and trusted lists ----

  createSet(
    detectorId: string,
    kind: 'threat' | 'ip',
    input: {
      name: string
      format: string
      location: string
      activate: boolean
      tags?: Record<string, string> | undefined
    },
  ): ListSet {
    this.detector(detectorId)
    const max = kind === 'threat' ? THREAT_INTEL_SETS_MAX : IP_SETS_MAX
    let n = 0
    for (const s of this.sets.values()) if (s.detectorId === detectorId && s.kind === kind) n++
    if (n >= max) {
      throw new ApiError(
        'BadRequestException',
        `The request is rejected because the current account cannot create more than ${max} ${kind === 'threat' ? 'ThreatIntelSets' : 'IPSets'}.`,
      )
    }
    if (!(LIST_FORMATS as readonly string[]).includes(input.format)) {
      throw new ApiError(
        'BadRequestException',
        `The request is rejected because the format '${truncate(input.format)}' is not one of ${LIST_FORMATS.join(', ')}.`,
      )
    }
    if (input.format !== 'TXT') {
      throw new ApiError(
        'BadRequestException',
        `The request is rejected because mirrorflow reads lists in the TXT format only, not '${input.format}'.`,
      )
    }
    for (const s of this.sets.values()) {
      if (s.detectorId === detectorId && s.kind === kind && s.name === input.name) {
        throw new ApiError(
          'BadRequestException',
          `The request is rejected because a list named '${truncate(input.name)}' already exists.`,
        )
      }
    }
    const text = this.readLocation(input.location)
    const list = new IpList(text)
    const set = {
      id: hexId(),
      kind,
      detectorId,
      name: input.name,
      format: input.format,
      location: input.location,
      status: input.activate ? ('ACTIVE' as const) : ('INACTIVE' as const),
      tags: this.tags(input.tags),
      entries: list.entries,
      invalid: list.invalid,
      list,
    }
    this.sets.set(set.id, set)
    this.changed()
    return this.publicSet(set)
  }

  listSets(detectorId: string, kind: 'threat' | 'ip'): ListSet[] {
    this.detector(detectorId)
    return [...this.sets.values()]
      .filter((s) => s.detectorId === detectorId && s.kind === kind)
      .map((s) => this.publicSet(s))
  }

  getSet(detectorId: string, kind: 'threat' | 'ip', id: string): ListSet {
    return this.publicSet(this.set(detectorId, kind, id))
  }

  deleteSet(detectorId: string, kind: 'threat' | 'ip', id: string): void {
    this.set(detectorId, kind, id)
    this.sets.delete(id)
    this.changed()
  }

  /** Active lists of the detector, parsed: threat lists (with their names) and trusted lists. */
  activeLists(detectorId: string): { threat: { name: string; list: IpList }[]; trusted: IpList[] } {
    const threat: { name: string; list: IpList }[] = []
    const trusted: IpList[] = []
    for (const s of this.sets.values()) {
      if (s.detectorId !== detectorId || s.status !== 'ACTIVE' || s.list === null) continue
      if (s.kind === 'threat') threat.push({ name: s.name, list: s.list })
      else trusted.push(s.list)
    }
    return { threat, trusted }
  }

  // ---- findings ----

  /** Adds or replaces findings (by Id), newest last; evicts beyond the cap; tells the listeners. */
  upsertFindings(list: readonly Finding[]): void {
    if (list.length === 0) return
    for (const f of list) {
      const prev = this.findings.get(f.Id)
      if (prev !== undefined) {
        // Archiving is the user's: a finding that recurs stays archived (GuardDuty does the same).
        f.Service.Archived = prev.Service.Archived
        this.findings.delete(f.Id)
      }
      this.findings.set(f.Id, f)
    }
    while (this.findings.size > this.maxFindings) {
      const oldest = this.findings.keys().next().value as string
      this.findings.delete(oldest)
      this.evictedFindings++
    }
    this.findingsDirty = true
    this.scheduleFindingsWrite()
    for (const fn of this.listeners) fn(list)
  }

  onFindings(fn: FindingsListener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** Findings of the detector matching the criteria, sorted. */
  queryFindings(
    detectorId: string,
    criteria: Record<string, Condition> | undefined,
    sort?: { attributeName?: string | undefined; orderBy?: string | undefined },
  ): Finding[] {
    this.detector(detectorId)
    const conds = criteria === undefined ? [] : Object.entries(criteria)
    const out: Finding[] = []
    for (const f of this.findings.values()) {
      if (f.Service.DetectorId !== detectorId) continue
      const wire = findingWire(f)
      if (conds.every(([k, c]) => matches(wire, k, c))) out.push(f)
    }
    if (sort?.attributeName !== undefined) {
      const key = sort.attributeName
      const dir = sort.orderBy === 'DESC' ? -1 : 1
      const keyed = out.map((f) => ({ f, v: sortValue(valuesAt(findingWire(f), key)[0]) }))
      keyed.sort((a, b) => (a.v < b.v ? -dir : a.v > b.v ? dir : 0))
      return keyed.map((k) => k.f)
    }
    return out
  }

  getFindings(detectorId: string, ids: readonly string[]): Finding[] {
    this.detector(detectorId)
    const out: Finding[] = []
    for (const id of ids) {
      const f = this.findings.get(id)
      if (f !== undefined && f.Service.DetectorId === detectorId) out.push(f)
    }
    return out
  }

  /** Sets or clears `Service.Archived` of the findings (unknown ids are ignored, as GuardDuty does). */
  archive(detectorId: string, ids: readonly string[], archived: boolean): void {
    this.detector(detectorId)
    for (const id of ids) {
      const f = this.findings.get(id)
      if (f !== undefined && f.Service.DetectorId === detectorId) f.Service.Archived = archived
    }
    this.findingsDirty = true
    this.scheduleFindingsWrite()
  }

  get findingCount(): number {
    return this.findings.size
  }

  /** Writes pending findings now and stops the timer. */
  close(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer)
    this.flushTimer = null
    this.writeFindings()
  }

  // ---- internals ----

  private set(
    detectorId: string,
    kind: 'threat' | 'ip',
    id: string,
  ): ListSet & { detectorId: string; list: IpList | null } {
    this.detector(detectorId)
    const s = ID.test(id) ? this.sets.get(id) : undefined
    if (s === undefined || s.detectorId !== detectorId || s.kind !== kind) {
      throw new ApiError(
        'BadRequestException',
        `The request is rejected because the input ${kind === 'threat' ? 'threatIntelSetId' : 'ipSetId'} '${truncate(id)}' does not exist.`,
      )
    }
    return s
  }

  private publicSet(s: ListSet): ListSet {
    return {
      id: s.id,
      kind: s.kind,
      name: s.name,
      format: s.format,
      location: s.location,
      status: s.status,
      tags: s.tags,
      entries: s.entries,
      invalid: s.invalid,
    }
  }

  private readLocation(location: string): string {
    const roots = this.cfg.roots
    if (roots === undefined) {
      throw new ApiError(
        'BadRequestException',
        'The request is rejected because this server reads no list locations (no lists root configured).',
      )
    }
    return readListLocation(location, roots)
  }

  private frequency(v: string | undefined): Detector['findingPublishingFrequency'] | undefined {
    if (v === undefined) return undefined
    if (!(PUBLISHING_FREQUENCIES as readonly string[]).includes(v)) {
      throw new ApiError(
        'BadRequestException',
        `The request is rejected because findingPublishingFrequency '${truncate(v)}' is not one of ${PUBLISHING_FREQUENCIES.join(', ')}.`,
      )
    }
    return v as Detector['findingPublishingFrequency']
  }

  private tags(t: Record<string, string> | undefined): Record<string, string> {
    if (t === undefined) return {}
    const entries = Object.entries(t)
    if (entries.length > TAGS_MAX) {
      throw new ApiError(
        'BadRequestException',
        `The request is rejected because it has more than ${TAGS_MAX} tags.`,
      )
    }
    for (const [k, v] of entries) {
      if (k.length < 1 || k.length > 128 || typeof v !== 'string' || v.length > 256 || k.startsWith('aws:')) {
        throw new ApiError(
          'BadRequestException',
          `The request is rejected because the tag '${truncate(k)}' is not valid.`,
        )
      }
    }
    return Object.fromEntries(entries)
  }

  private changed(): void {
    this.version++
    if (this.cfg.file === undefined) return
    const data: Persisted = {
      detectors: [...this.detectors.values()],
      sets: [...this.sets.values()].map(({ list: _list, ...s }) => s),
    }
    this.atomicWrite(this.cfg.file, JSON.stringify(data))
  }

  private scheduleFindingsWrite(): void {
    if (this.cfg.findingsFile === undefined || this.flushTimer !== null) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      this.writeFindings()
    }, 2000)
    this.flushTimer.unref()
  }

  private writeFindings(): void {
    if (this.cfg.findingsFile === undefined || !this.findingsDirty) return
    this.findingsDirty = false
    this.atomicWrite(this.cfg.findingsFile, JSON.stringify([...this.findings.values()]))
  }

  private atomicWrite(file: string, text: string): void {
    const tmp = `${file}.${process.pid}.tmp`
    try {
      writeFileSync(tmp, text, { mode: 0o600 })
      renameSync(tmp, file)
    } catch (err) {
      // ENOSPC, EMFILE…: counted and reported (status), the in-memory state stays right.
      this.persistErrors++
      this.lastPersistError = `${file}: ${(err as Error).message}`
    }
  }

  private load(): void {
    const roots = this.cfg.roots
    if (this.cfg.file !== undefined) {
      let data: Persisted | undefined
      try {
        data = JSON.parse(readFileSync(this.cfg.file, 'utf8')) as Persisted
      } catch {
        data = undefined
      }
      for (const d of data?.detectors ?? []) this.detectors.set(d.id, d)
      for (const s of data?.sets ?? []) {
        let list: IpList | null = null
        let status = s.status
        try {
          if (roots !== undefined) list = new IpList(readListLocation(s.location, roots))
          else status = 'ERROR'
        } catch {
          status = 'ERROR'
        }
        this.sets.set(s.id, { ...s, status, list })
      }
    }
    if (this.cfg.findingsFile !== undefined) {
      try {
        const list = JSON.parse(readFileSync(this.cfg.findingsFile, 'utf8')) as Finding[]
        for (const f of list) if (this.detectors.has(f.Service.DetectorId)) this.findings.set(f.Id, f)
      } catch {
        // no findings yet
      }
    }
  }
}

/** A finding id: 32 hex digits from the detector and the finding's identity (stable across updates). */
export function findingId(detectorId: string, key: string): string {
  return createHash('sha256').update(`${detectorId}\n${key}`).digest('hex').slice(0, 32)
}

/** One FindingCriteria condition (wire names). */
export interface Condition {
  eq?: string[]
  neq?: string[]
  equals?: string[]
  notEquals?: string[]
  gt?: number
  gte?: number
  lt?: number
  lte?: number
  greaterThan?: number
  greaterThanOrEqual?: number
  lessThan?: number
  lessThanOrEqual?: number
}

/** Every value at a dotted path of a wire-form finding (arrays fan out). */
function valuesAt(obj: unknown, path: string): unknown[] {
  let cur: unknown[] = [obj]
  for (const seg of path.split('.')) {
    const next: unknown[] = []
    for (const c of cur) {
      const v =
        c !== null && typeof c === 'object' && !Array.isArray(c)
          ? (c as Record<string, unknown>)[seg]
          : undefined
      if (Array.isArray(v)) next.push(...v)
      else if (v !== undefined) next.push(v)
    }
    cur = next
  }
  return cur
}

/** A comparable value: timestamps as epoch milliseconds (GuardDuty's criteria use them so). */
function numeric(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'string') {
    const n = Number(v)
    if (Number.isFinite(n)) return n
    const t = Date.parse(v)
    if (Number.isFinite(t)) return t
  }
  return NaN
}

function sortValue(v: unknown): number | string {
  const n = numeric(v)
  return Number.isNaN(n) ? String(v ?? '') : n
}

function matches(wire: unknown, path: string, c: Condition): boolean {
  const vals = valuesAt(wire, path)
  const texts = vals.map((v) => String(v))
  const eq = c.eq ?? c.equals
  if (eq !== undefined && !texts.some((t) => eq.includes(t))) return false
  const neq = c.neq ?? c.notEquals
  if (neq !== undefined && texts.some((t) => neq.includes(t))) return false
  const nums = vals.map(numeric).filter((n) => !Number.isNaN(n))
  const gt = c.gt ?? c.greaterThan
  const gte = c.gte ?? c.greaterThanOrEqual
  const lt = c.lt ?? c.lessThan
  const lte = c.lte ?? c.lessThanOrEqual
  if (gt !== undefined && !nums.some((n) => n > gt)) return false
  if (gte !== undefined && !nums.some((n) => n >= gte)) return false
  if (lt !== undefined && !nums.some((n) => n < lt)) return false
  if (lte !== undefined && !nums.some((n) => n <= lte)) return false
  return true
}
