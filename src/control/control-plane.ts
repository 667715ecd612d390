// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane of one account in one region: the ledger (state, version, commit,
 * idempotency, lookup) and the services built over it — EC2 (`cp.ec2`), IAM (`cp.iam`: users, roles,
 * policies, access keys, STS credentials) and CloudWatch Logs (`cp.logs`). Reads go to the in-memory state; each mutation is one change set
 * that the store commits in one transaction before the state applies it, so memory never runs
 * ahead of the disk.
 * @module
 */
import { dirname, join } from 'node:path'
import { Ledger } from './core/ledger.ts'
import type { State } from './core/state.ts'
import { SqliteStore, type ControlStore } from './core/store.ts'
import type { Quotas } from './ec2/limits.ts'
import { Ec2 } from './ec2/service.ts'
import { Iam } from './iam/iam.ts'
import { CloudTrail, type CloudTrailConfig } from './cloudtrail/service.ts'
import type { LogsQuotas } from './logs/limits.ts'
import { Logs } from './logs/logs.ts'
import { GuardDuty, type GuardDutyConfig } from './guardduty/service.ts'

export interface ControlPlaneConfig {
  accountId: string
  region: string
  quotas?: Partial<Quotas>
  /** Time without news from an agent after which its instance shows as stopped (default 60 s). */
  agentTimeoutMs?: number
  /** The audit trail's store and delivery (in memory, without delivery, by default). */
  cloudtrail?: CloudTrailConfig
  /**
   * The CloudWatch Logs event store: a SQLite file (default `logs.sqlite` beside a SQLite control
   * store, else in memory).
   */
  logsPath?: string
  logsQuotas?: Partial<LogsQuotas>
  /** GuardDuty's files and list roots (none: detectors and findings in memory only). */
  guardduty?: Omit<GuardDutyConfig, 'accountId' | 'region'>
}

export class ControlPlane {
  readonly ledger: Ledger
  readonly ec2: Ec2
  readonly iam: Iam
  readonly cloudtrail: CloudTrail
  readonly logs: Logs
  readonly guardduty: GuardDuty

  constructor(store: ControlStore, config: ControlPlaneConfig) {
    this.ledger = new Ledger(store, config)
    // Services register their kinds, indexes and hooks before the store is loaded.
    this.ec2 = new Ec2(this.ledger, config.quotas, config.agentTimeoutMs)
    this.iam = new Iam(this.ledger)
    this.cloudtrail = new CloudTrail(this.ledger, config.cloudtrail)
    const snap = this.ledger.load()
    this.ec2.completeDefaults()
    this.iam.load(snap.accessKeys)
    this.logs = new Logs({
      path:
        config.logsPath ??
        (store instanceof SqliteStore ? join(dirname(store.path), 'logs.sqlite') : ':memory:'),
      region: config.region,
      accountId: config.accountId,
      ...(config.logsQuotas !== undefined ? { quotas: config.logsQuotas } : {}),
    })
    this.guardduty = new GuardDuty({
      ...config.guardduty,
      accountId: config.accountId,
      region: config.region,
    })
  }

  get accountId(): string {
    return this.ledger.accountId
  }

  get region(): string {
    return this.ledger.region
  }

  get state(): State {
    return this.ledger.state
  }

  /** The state version: increases by one with every committed mutation. */
  get version(): number {
    return this.ledger.version
  }

  /** Calls `fn` after every committed mutation, with the new version. Returns an unsubscribe. */
  onChange(fn: (version: number) => void): () => void {
    return this.ledger.onChange(fn)
  }

  /** Closes the stores (await `cloudtrail.close()` first to deliver pending trail files). */
  close(): void {
    this.cloudtrail.closeSync()
    this.logs.close()
    this.guardduty.close()
    this.ledger.close()
  }
}
