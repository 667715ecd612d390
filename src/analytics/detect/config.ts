// SPDX-License-Identifier: Apache-2.0
/**
 * The detection engine's windows, thresholds and table caps, with their defaults, and the parser of
 * overrides (`key=value`, keys as in {@link DEFAULT_DETECT_CONFIG}, e.g. `portscan.minPorts=50`).
 * docs/detect.md explains each value and why it was chosen.
 * @module
 */
import { DetectConfigError } from './errors.ts'

export interface DetectConfig {
  /** A request record with at most this many packets (or REJECTed) is a probe. */
  probeMaxPackets: number
  /** Distinct ports probed on one host by one source within the window: a port scan. */
  portscan: { windowSeconds: number; minPorts: number }
  /** Distinct hosts probed on one port by one source within the window: a port sweep. */
  portsweep: { windowSeconds: number; minHosts: number }
  /** Connections (distinct client ports) from one source to one host's SSH/RDP port within the window. */
  bruteforce: { windowSeconds: number; minConnections: number }
  /** Packets from one instance to one host within the window (TCP: and distinct connections). */
  dos: { windowSeconds: number; minPackets: number; minTcpConnections: number }
  /** Distinct remote mail servers (TCP 25) one instance connects to within the window. */
  spambot: { windowSeconds: number; minHosts: number }
  /** Per-instance learning period (seconds of its traffic) before baseline findings are made. */
  baseline: { learnSeconds: number; maxPorts: number }
  /** Bytes from an instance to one host within the window: over factor × the learned peak and minBytes. */
  volume: { windowSeconds: number; factor: number; minBytes: number }
  /** Entries of each state table; beyond, the oldest entry is evicted. */
  caps: { pairs: number; sweeps: number; flows: number; instances: number; findings: number }
}

export const DEFAULT_DETECT_CONFIG: DetectConfig = {
  probeMaxPackets: 3,
  portscan: { windowSeconds: 600, minPorts: 100 },
  portsweep: { windowSeconds: 600, minHosts: 100 },
  bruteforce: { windowSeconds: 600, minConnections: 20 },
  dos: { windowSeconds: 60, minPackets: 500_000, minTcpConnections: 100 },
  spambot: { windowSeconds: 600, minHosts: 10 },
  baseline: { learnSeconds: 3600, maxPorts: 1024 },
  volume: { windowSeconds: 600, factor: 10, minBytes: 100_000_000 },
  caps: { pairs: 200_000, sweeps: 100_000, flows: 200_000, instances: 20_000, findings: 10_000 },
}

/** Deep copy of the defaults with `overrides` applied (`section.key=value` or `key=value`). */
export function detectConfig(overrides: readonly string[] = []): DetectConfig {
  const cfg = JSON.parse(JSON.stringify(DEFAULT_DETECT_CONFIG)) as DetectConfig
  for (const o of overrides) {
    const eq = o.indexOf('=')
    const key = eq < 0 ? o : o.slice(0, eq)
    const value = eq < 0 ? '' : o.slice(eq + 1)
    const n = Number(value)
    if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n <= 0)
      throw new DetectConfigError(
        `detection setting ${key.slice(0, 64)}: '${value.slice(0, 64)}' is not a positive number`,
      )
    const path = key.split('.')
    const root = cfg as unknown as Record<string, unknown>
    if (path.length === 1 && typeof root[path[0]!] === 'number') {
      root[path[0]!] = n
      continue
    }
    const section = path.length === 2 ? root[path[0]!] : undefined
    if (
      section === undefined ||
      typeof section !== 'object' ||
      section === null ||
      !Object.hasOwn(section, path[1]!) ||
      typeof (section as Record<string, unknown>)[path[1]!] !== 'number'
    ) {
      throw new DetectConfigError(`unknown detection setting '${key.slice(0, 64)}' (see docs/detect.md)`)
    }
    ;(section as Record<string, number>)[path[1]!] = n
  }
  return cfg
}
