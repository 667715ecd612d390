// SPDX-License-Identifier: Apache-2.0
/**
 * The server's flow-log store: the API's {@link FlowAnalytics} (traffic series, top-N, flow search,
 * export — services/mirrorflow/traffic.ts) answered by the analytics engine (DuckDB over the
 * `vpc_flow_logs` table) over local bucket directories where agents and targets deliver
 * (`mirrorflow server --flow-logs-store DIR`, the demo). The API is below the analytics engine in
 * the folder order: it declares the interface, this implements it, the command line wires the two.
 * @module
 */
import type { FlowAnalytics, FlowFilter, FlowSearch } from '../api/index.ts'
import { AnalyticsStore } from './store.ts'
import { exportFlows, searchFlows, topN, trafficSeries, type TrafficFilter } from './traffic.ts'

function filter(f: FlowFilter): TrafficFilter {
  return {
    from: f.from,
    to: f.to,
    action: f.action,
    protocol: f.protocol,
    cidrs: f.cidrs,
    srcCidrs: f.srcCidrs,
    dstCidrs: f.dstCidrs,
    srcPorts: f.srcPorts,
    dstPorts: f.dstPorts,
    interfaceIds: f.interfaceIds,
  }
}

function search(q: FlowSearch): Parameters<typeof searchFlows>[1] {
  return { ...filter(q), sort: q.sort, order: q.order, pageSize: q.pageSize, pageToken: q.pageToken }
}

/** A store over these bucket roots; tables are rebuilt from the files at most every `maxAgeMs`. */
export function flowLogStore(roots: readonly string[], maxAgeMs = 10_000): FlowAnalytics {
  const store = new AnalyticsStore({ storeRoots: roots, maxAgeMs })
  return {
    traffic: (f, bucketSeconds, n) =>
      store.use(async (s) => {
        const base = filter(f)
        const series = await trafficSeries(s, {
          ...base,
          from: f.from,
          to: f.to,
          bucketSeconds,
          groupBy: 'action',
        })
        const talkers = await topN(s, { ...base, by: 'srcaddr', metric: 'bytes', limit: n })
        const ports = await topN(s, { ...base, by: 'dstport', metric: 'bytes', limit: n })
        const rejected =
          f.action === 'ACCEPT'
            ? []
            : await topN(s, { ...base, action: 'REJECT', by: 'srcaddr', metric: 'flows', limit: n })
        return {
          bucketSeconds: series.bucketSeconds,
          buckets: series.buckets,
          series: series.series,
          talkers: talkers.map((r) => ({
            address: String(r.key.srcaddr),
            bytes: r.bytes,
            packets: r.packets,
            flows: r.flows,
          })),
          ports: ports.map((r) => ({
            port: Number(r.key.dstport),
            protocol: Number(r.key.protocol),
            bytes: r.bytes,
            packets: r.packets,
            flows: r.flows,
          })),
          rejectedSources: rejected.map((r) => ({
            address: String(r.key.srcaddr),
            bytes: r.bytes,
            packets: r.packets,
            flows: r.flows,
          })),
        }
      }),
    search: (q) =>
      store.use(async (s) => {
        const r = await searchFlows(s, search(q))
        return { columns: r.columns.map((c) => c.name), rows: r.rows, total: r.total, nextToken: r.nextToken }
      }),
    export: (q) => store.use((s) => exportFlows(s, { ...search(q), format: q.format })),
    close: () => store.close(),
  }
}
