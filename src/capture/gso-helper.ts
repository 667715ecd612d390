// SPDX-License-Identifier: Apache-2.0
/**
 * The `mf-capture` helper (mf-capture.c beside this file): a small C program that captures like
 * `tcpdump -U -w -` but counts GSO/GRO/TSO super-frames as the segments that cross the wire.
 *
 * Why: with offloads on, the kernel hands a packet socket one super-frame for up to 64 KiB of TCP
 * payload (TSO/GSO when sending, GRO when receiving); libpcap and tcpdump record it as one packet, so
 * flow logs counted 442 packets where the wire carried 13,109 segments. An AF_PACKET socket with
 * `PACKET_VNET_HDR` receives, in front of each frame, the kernel's virtio-net header: its GSO type and
 * segment size (`gso_size`). The helper parses the frame's own headers (Ethernet, VLAN, IPv4/IPv6 with
 * extension headers, TCP or UDP), so that `segments = ceil(payload / gso_size)`, and writes one pcap
 * record per segment: the headers with the segment's IP length (and UDP length), its TCP sequence
 * number and flags (FIN/PSH on the last segment only, CWR on the first only, as the kernel's
 * segmentation does), and the segment's wire length. The filter is the same BPF program tcpdump
 * would attach (`tcpdump -ddd`), attached with `SO_ATTACH_FILTER`.
 *
 * It is built by scripts/setup.sh with the system C compiler into `build/mf-capture`, and again here
 * when the source is newer than the binary; where it cannot be built the capture uses tcpdump and
 * says why (`LiveCapture.gsoFallback`).
 * @module
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CaptureError } from './errors.ts'

const execFileP = promisify(execFile)

/** The project root: the nearest folder above this module with a package.json. */
function projectRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d)
    if (up === d) return dirname(fileURLToPath(import.meta.url))
    d = up
  }
  return d
}

const ROOT = projectRoot()
/** The helper's C source. */
export const GSO_HELPER_SOURCE = join(ROOT, 'src', 'capture', 'mf-capture.c')
const HELPER_BIN = join(ROOT, 'build', 'mf-capture')

/** Path of the helper binary (built or not). */
export function gsoHelperPath(): string {
  return HELPER_BIN
}

let buildFailure: string | null = null

/**
 * Builds the helper when it is missing or older than its source; returns '' when it is usable, else
 * why not (the compiler's message). A failed build is not retried in this process.
 */
export function buildGsoHelper(): string {
  if (buildFailure !== null) return buildFailure
  if (!existsSync(GSO_HELPER_SOURCE)) return (buildFailure = `${GSO_HELPER_SOURCE} is missing`)
  if (existsSync(HELPER_BIN) && statSync(HELPER_BIN).mtimeMs >= statSync(GSO_HELPER_SOURCE).mtimeMs) return ''
  mkdirSync(dirname(HELPER_BIN), { recursive: true })
  const tmp = `${HELPER_BIN}.${process.pid}.tmp`
  const r = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-o', tmp, GSO_HELPER_SOURCE], { encoding: 'utf8' })
  if (r.status !== 0) {
    buildFailure = `cannot build ${HELPER_BIN}: ${r.error?.message ?? r.stderr.trim()}`
    return buildFailure
  }
  renameSync(tmp, HELPER_BIN)
  return ''
}

/** ARPHRD_ETHER and ARPHRD_LOOPBACK: interfaces whose frames start with an Ethernet header. */
const ETHERNET_TYPES = new Set(['1', '772'])

/** '' when `iface` (in `netns`, null: this namespace) can be captured GSO-exactly, else why not. */
export function supportsGsoExact(iface: string, netns: string | null = null): string {
  if (iface === 'any') return 'the GSO-exact capture needs one interface, not any'
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) return `'${iface}' is not an interface name`
  let type: string
  if (netns === null) {
    try {
      type = readFileSync(`/sys/class/net/${iface}/type`, 'utf8').trim()
    } catch {
      return `no interface ${iface}`
    }
  } else {
    // /sys shows the namespace of whoever mounted it: ask inside the namespace.
    const r = spawnSync('ip', ['netns', 'exec', netns, 'cat', `/sys/class/net/${iface}/type`], {
      encoding: 'utf8',
    })
    if (r.status !== 0) return `no interface ${iface} in ${netns}`
    type = r.stdout.trim()
  }
  if (!ETHERNET_TYPES.has(type)) return `${iface} is not an Ethernet interface (ARPHRD ${type})`
  return buildGsoHelper()
}

/**
 * The classic BPF program of `filter` for `iface`, as tcpdump compiles it for the kernel
 * (`tcpdump -ddd`), in the helper's `-f` form: `count,code jt jf k,…`. Compiled with the whole-frame
 * snap length, so that the filter's accept value never cuts a super-frame before the helper sees it.
 */
export async function compileFilter(
  iface: string,
  filter: string,
  netns: string | null = null,
): Promise<string> {
  const argv = ['tcpdump', '-ddd', '-s', '262144', '-i', iface]
  if (filter !== '') argv.push(filter)
  if (netns !== null) argv.unshift('ip', 'netns', 'exec', netns)
  try {
    const { stdout } = await execFileP(argv[0] as string, argv.slice(1), { maxBuffer: 1 << 20 })
    return stdout.trim().split('\n').join(',')
  } catch (err) {
    const e = err as Error & { stderr?: string }
    const why = (e.stderr ?? '').trim() || e.message
    throw new CaptureError(`cannot compile the filter '${filter}' for ${iface}: ${why}`, iface, {
      cause: err,
    })
  }
}
