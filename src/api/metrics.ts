// SPDX-License-Identifier: Apache-2.0
/**
 * The server's Prometheus metrics (prom-client, one registry per server so that several servers
 * can live in one process): requests by action and outcome, latency, stored resources by kind,
 * the state version and the pending desired-state polls.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ControlPlane } from '../control/index.ts'

export class ApiMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'action' | 'code'>
  private readonly latency: Histogram<'action'>
  private waiters: () => number = () => 0

  constructor(cp: ControlPlane) {
    this.requests = new Counter({
      name: 'mirrorflow_api_requests_total',
      help: 'EC2 API requests by action and outcome (OK or the EC2 error code)',
      labelNames: ['action', 'code'],
      registers: [this.registry],
    })
    this.latency = new Histogram({
      name: 'mirrorflow_api_request_duration_seconds',
      help: 'EC2 API request handling time, by action',
      labelNames: ['action'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [this.registry],
    })
    new Gauge({
      name: 'mirrorflow_control_resources',
      help: 'Resources in the control-plane store, by kind',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        for (const [kind, table] of cp.state.tables) this.set({ kind }, table.size)
      },
    })
    new Gauge({
      name: 'mirrorflow_control_state_version',
      help: 'The control-plane state version (grows by one with every mutation)',
      registers: [this.registry],
      collect() {
        this.set(cp.version)
      },
    })
    const waiters = (): number => this.waiters()
    new Gauge({
      name: 'mirrorflow_api_desired_state_waiters',
      help: 'Desired-state long polls waiting for a change',
      registers: [this.registry],
      collect() {
        this.set(waiters())
      },
    })
  }

  setWaitersSource(fn: () => number): void {
    this.waiters = fn
  }

  count(action: string, code: string): void {
    this.requests.inc({ action, code })
  }

  observe(action: string, seconds: number): void {
    this.latency.observe({ action }, seconds)
  }

  get contentType(): string {
    return this.registry.contentType
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }
}
