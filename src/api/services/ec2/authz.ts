// SPDX-License-Identifier: Apache-2.0
/**
 * EC2's declarations for the authorization step: the resource ARNs each action touches, as AWS
 * names them (`arn:aws:ec2:REGION:ACCOUNT:traffic-mirror-session/tms-…`, `network-interface/eni-…`,
 * `vpc-flow-log/fl-…`…), with the tags of those that exist (`ec2:ResourceTag/…`,
 * `aws:ResourceTag/…`); the resource a Create makes (`traffic-mirror-session/*`); the tags a request
 * sets (`aws:RequestTag/…`, `aws:TagKeys`, from `TagSpecification.N` or CreateTags' `Tag.N`) and
 * `ec2:Region`. Describe actions are authorized on `*`, as in AWS. mirrorflow's own actions on the
 * same endpoint are `mirrorflow:<Action without the Mirrorflow prefix>` on `*`.
 * @module
 */
import type { ControlPlane, Tag } from '../../../control/index.ts'
import type { ActionAuthz, AuthzResource } from '../../protocols/index.ts'

/** The resource type a Create action makes (its ARN's `type/*`). */
const CREATES: ReadonlyMap<string, string> = new Map([
  ['CreateVpc', 'vpc'],
  ['CreateSubnet', 'subnet'],
  ['CreateTrafficMirrorFilter', 'traffic-mirror-filter'],
  ['CreateTrafficMirrorFilterRule', 'traffic-mirror-filter-rule'],
  ['CreateTrafficMirrorTarget', 'traffic-mirror-target'],
  ['CreateTrafficMirrorSession', 'traffic-mirror-session'],
  ['CreateFlowLogs', 'vpc-flow-log'],
  ['CreateSecurityGroup', 'security-group'],
  ['CreateNetworkAcl', 'network-acl'],
  ['CreateManagedPrefixList', 'prefix-list'],
  ['CreateNetworkInterface', 'network-interface'],
  ['CreateRouteTable', 'route-table'],
])

/** Resources named in one request at most (a larger request is refused by the action anyway). */
const RESOURCES_MAX = 1000

/** Whether a parameter names resource ids: `…Id`, `…Id.N`, `…Ids.N` (never descriptions or filters). */
function isIdParam(name: string): boolean {
  let end = name.length
  const dot = name.lastIndexOf('.')
  if (dot > 0 && /^\d+$/.test(name.slice(dot + 1))) end = dot
  const base = name.slice(0, end)
  if (base.includes('.')) return base.endsWith('Id') && !base.startsWith('Filter.')
  return base.endsWith('Id') || base.endsWith('Ids')
}

/** The tags a request sets: TagSpecification.N.Tag.M.Key/Value, or Tag.N.Key/Value (CreateTags). */
function requestTags(action: string, params: ReadonlyMap<string, string>): Tag[] {
  const out: Tag[] = []
  for (const [k, v] of params) {
    if (!k.endsWith('.Key')) continue
    const spec = k.startsWith('TagSpecification.') && k.includes('.Tag.')
    const plain = action === 'CreateTags' && k.startsWith('Tag.')
    if (!spec && !plain) continue
    out.push({ key: v, value: params.get(`${k.slice(0, -4)}.Value`) ?? '' })
  }
  return out
}

/** EC2's {@link ActionAuthz}: resources from the id parameters, created types, request tags. */
export function ec2Authz(cp: ControlPlane): ActionAuthz {
  const arnOf = (type: string, id: string): string => `arn:aws:ec2:${cp.region}:${cp.accountId}:${type}/${id}`
  return (action, params) => {
    if (action.startsWith('Mirrorflow'))
      return { prefix: 'mirrorflow', action: action.slice('Mirrorflow'.length) }
    const context = { 'ec2:region': cp.region }
    if (action.startsWith('Describe')) return { context }
    const resources: AuthzResource[] = []
    const seen = new Set<string>()
    const created = CREATES.get(action)
    if (created !== undefined) resources.push({ arn: arnOf(created, '*') })
    for (const [name, value] of params) {
      if (resources.length >= RESOURCES_MAX) break
      if (!isIdParam(name) || seen.has(value)) continue
      const k = cp.ledger.kindOfId(value)
      if (k?.spec.resourceType === undefined) continue
      seen.add(value)
      const r = cp.state.get(k.kind, value)
      resources.push({ arn: arnOf(k.spec.resourceType, value), tags: r?.tags ?? [] })
    }
    const out: ReturnType<ActionAuthz> = { context }
    if (resources.length > 0) out!.resources = resources
    // A flow log delivering to CloudWatch Logs hands its role to the service: iam:PassRole on it.
    const role = action === 'CreateFlowLogs' ? params.get('DeliverLogsPermissionArn') : undefined
    if (role !== undefined && role !== '')
      out!.also = [{ prefix: 'iam', action: 'PassRole', resources: [{ arn: role.slice(0, 2048) }] }]
    const tags = requestTags(action, params)
    if (tags.length > 0) out!.requestTags = tags
    else if (action === 'DeleteTags') {
      const keys: string[] = []
      for (const [k, v] of params) if (k.startsWith('Tag.') && k.endsWith('.Key')) keys.push(v)
      if (keys.length > 0) out!.tagKeys = keys
    }
    return out
  }
}
