// SPDX-License-Identifier: Apache-2.0
/**
 * The AWS CLI command equivalent to a Query action the console performs: `CreateTrafficMirrorFilterRule`
 * with `TrafficMirrorFilterId=…`, `DestinationPortRange.FromPort=22` becomes
 * `aws ec2 create-traffic-mirror-filter-rule --traffic-mirror-filter-id … --destination-port-range FromPort=22`.
 * @module
 */

/** `CreateTrafficMirrorFilterRule` → `create-traffic-mirror-filter-rule`. */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
}

/** A shell word: bare when plainly safe, else single-quoted. */
export function shellWord(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** The flags of one top-level parameter group. */
function flag(name: string, entries: Array<[string[], string]>): string[] {
  const f = `--${kebab(name)}`
  if (entries.length === 1 && entries[0]![0].length === 0) {
    const v = entries[0]![1]
    if (v === 'true') return [f]
    if (v === 'false') return [`--no-${kebab(name)}`]
    return [f, shellWord(v)]
  }
  // A list: Name.1, Name.2 … (of scalars).
  if (entries.every(([rest]) => rest.length === 1 && /^\d+$/.test(rest[0]!)))
    return [f, ...entries.map(([, v]) => shellWord(v))]
  // A structure: Name.Member=value, shorthand syntax.
  return [f, shellWord(entries.map(([rest, v]) => `${rest.join('.')}=${v}`).join(','))]
}

/** The AWS CLI command line for an EC2 action and its Query parameters. */
export function awsCliCommand(
  action: string,
  params: Record<string, string>,
  opts: { service?: string; endpoint?: string } = {},
): string {
  const groups = new Map<string, Array<[string[], string]>>()
  for (const [k, v] of Object.entries(params)) {
    const [top, ...rest] = k.split('.')
    const g = groups.get(top!) ?? []
    g.push([rest, v])
    groups.set(top!, g)
  }
  const words = ['aws', opts.service ?? 'ec2', kebab(action)]
  for (const [name, entries] of groups) words.push(...flag(name, entries))
  if (opts.endpoint !== undefined) words.push('--endpoint-url', shellWord(opts.endpoint))
  return words.join(' ')
}
