// SPDX-License-Identifier: Apache-2.0
/**
 * What the capture receive mode captures: the interface holding the listen address and the BPF
 * filter of what the bound socket would receive. The capture itself is `LiveCapture` (src/capture/).
 * @module
 */
import { spawnSync } from 'node:child_process'
import { TargetCaptureError } from './errors.ts'

/**
 * The interface that holds `host` in this network namespace (`any` for the wildcard addresses),
 * from `ip -o addr`. Throws TargetCaptureError when no interface has it.
 */
export function interfaceOf(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'any'
  const r = spawnSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' })
  if (r.status !== 0) throw new TargetCaptureError(`cannot list addresses: ${r.stderr || r.error?.message}`)
  for (const line of r.stdout.split('\n')) {
    const c = line.trim().split(/\s+/)
    // "2: eth0    inet 10.0.0.1/24 brd … scope global eth0 …"
    if ((c[2] === 'inet' || c[2] === 'inet6') && c[3]?.split('/')[0] === host)
      return (c[1] as string).replace(/@.*$/, '')
  }
  throw new TargetCaptureError(`no interface has the address ${host}: cannot capture its VXLAN`)
}

/**
 * The BPF filter of the datagrams the socket bound to `host:port` would receive, plus the later
 * fragments of IPv4 UDP datagrams (they carry no port; the reassembler sorts them out).
 */
export function captureFilter(host: string, port: number): string {
  const v6 = host.includes(':')
  const dst = host === '0.0.0.0' || host === '::' ? '' : ` and dst host ${host}`
  if (v6) return `ip6${dst} and udp dst port ${port}`
  return `ip${dst} and (udp dst port ${port} or (ip proto 17 and ip[6:2] & 0x1fff != 0))`
}
