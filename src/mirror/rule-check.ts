// SPDX-License-Identifier: Apache-2.0
/**
 * The one validation of a traffic-mirror filter rule's fields, shared by the control plane (which turns
 * a problem into AWS's `InvalidParameterValue`) and the mirror engine (which turns it into
 * `MirrorConfigError` for a configuration given offline). The messages are the API's.
 * @module
 */
import { tryParseCidr, type Cidr } from '../packet/index.ts'
import { RULE_NUMBER_MAX, RULE_NUMBER_MIN, type TrafficMirrorFilterRule } from './model.ts'

/** The fields of a rule that `checkFilterRule` reads (the control plane's rule type has more). */
export type FilterRuleFields = Pick<
  TrafficMirrorFilterRule,
  'ruleNumber' | 'ruleAction' | 'protocol' | 'sourceCidrBlock' | 'destinationCidrBlock'
> & {
  readonly sourcePortRange?: { fromPort: number; toPort: number } | undefined
  readonly destinationPortRange?: { fromPort: number; toPort: number } | undefined
}

/** A rule's first problem: the API parameter at fault and the message the API answers with. */
export interface FilterRuleProblem {
  readonly parameter: string
  readonly message: string
}

/** Options of `checkFilterRule`. */
export interface CheckFilterRuleOptions {
  /** Refuse CIDR blocks without `/n` (the API does; an offline configuration may give bare addresses). */
  readonly requirePrefix?: boolean
}

function problem(parameter: string, message: string): FilterRuleProblem {
  return { parameter, message }
}

/**
 * Checks a rule's action, number (1–32766; UNCONFIRMED range, the network-ACL one), protocol (0–255),
 * port ranges (only with TCP or UDP, 0–65535, from ≤ to) and CIDR blocks (both valid, one family).
 * Returns the first problem, or null when the rule is valid.
 */
export function checkFilterRule(
  r: FilterRuleFields,
  options: CheckFilterRuleOptions = {},
): FilterRuleProblem | null {
  if (r.ruleAction !== 'accept' && r.ruleAction !== 'reject') {
    return problem(
      'RuleAction',
      `Value (${String(r.ruleAction)}) for parameter RuleAction is invalid. Valid values: accept, reject.`,
    )
  }
  if (!Number.isInteger(r.ruleNumber) || r.ruleNumber < RULE_NUMBER_MIN || r.ruleNumber > RULE_NUMBER_MAX) {
    return problem(
      'RuleNumber',
      `Value (${r.ruleNumber}) for parameter RuleNumber is invalid. Valid values: ${RULE_NUMBER_MIN}-${RULE_NUMBER_MAX}.`,
    )
  }
  if (r.protocol !== undefined && (!Number.isInteger(r.protocol) || r.protocol < 0 || r.protocol > 255)) {
    return problem(
      'Protocol',
      `Value (${r.protocol}) for parameter Protocol is invalid. Valid values: 0-255.`,
    )
  }
  for (const [name, range] of [
    ['DestinationPortRange', r.destinationPortRange],
    ['SourcePortRange', r.sourcePortRange],
  ] as const) {
    if (range === undefined) continue
    if (r.protocol !== 6 && r.protocol !== 17) {
      return problem(name, `${name} can only be specified with protocol 6 (TCP) or 17 (UDP).`)
    }
    const ok = (p: number): boolean => Number.isInteger(p) && p >= 0 && p <= 65535
    if (!ok(range.fromPort) || !ok(range.toPort) || range.fromPort > range.toPort) {
      return problem(name, `Value (${range.fromPort}-${range.toPort}) for parameter ${name} is invalid.`)
    }
  }
  const src: Cidr | undefined = tryParseCidr(r.sourceCidrBlock, options)
  if (src === undefined) {
    return problem(
      'SourceCidrBlock',
      `Value (${r.sourceCidrBlock}) for parameter SourceCidrBlock is invalid.`,
    )
  }
  const dst = tryParseCidr(r.destinationCidrBlock, options)
  if (dst === undefined) {
    return problem(
      'DestinationCidrBlock',
      `Value (${r.destinationCidrBlock}) for parameter DestinationCidrBlock is invalid.`,
    )
  }
  if (src.family !== dst.family) {
    return problem(
      'DestinationCidrBlock',
      'The source and destination CIDR blocks must be of the same address family (both IPv4 or both IPv6).',
    )
  }
  return null
}
