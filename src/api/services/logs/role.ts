// SPDX-License-Identifier: Apache-2.0
/**
 * The IAM role of a flow log that publishes to CloudWatch Logs (`DeliverLogsPermissionArn`), checked
 * as the flow-logs service uses it: the role must exist in this account, its trust policy must let
 * the service principal `vpc-flow-logs.amazonaws.com` assume it (`sts:AssumeRole`, with
 * `aws:SourceAccount` and `aws:SourceArn` set to the account and the flow log's ARN for the
 * conditions AWS recommends), and its identity policies must allow `logs:CreateLogStream` and
 * `logs:PutLogEvents` on the group's streams — and `logs:CreateLogGroup` on the group when the group
 * does not exist yet (the service then creates it). A flow log whose role fails any of these reports
 * `DeliverLogsStatus` FAILED with `DeliverLogsErrorMessage` "Access error", and its agents' puts are
 * refused (the records wait in their spools until the role is fixed).
 * @module
 */
import { parsePolicy, type ControlPlane, type FlowLog, type IamRole } from '../../../control/index.ts'
import { compilePolicy, evaluate, LayeredContext, type CompiledPolicy } from '../../auth/evaluate.ts'

/** The service principal that assumes a flow log's role. */
export const FLOW_LOGS_PRINCIPAL = 'vpc-flow-logs.amazonaws.com'

/** DeliverLogsErrorMessage of a flow log whose role does not let the service publish. */
export const ACCESS_ERROR = 'Access error'

/** What the flow-logs service does with a role, as IAM action names (lower case). */
export type DeliveryAction = 'logs:createloggroup' | 'logs:createlogstream' | 'logs:putlogevents'

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]{1,64})$/

/** The role an ARN names in this account, or undefined (a malformed ARN, another account, no such role). */
export function roleOfArn(cp: ControlPlane, arn: string | undefined): IamRole | undefined {
  if (arn === undefined || arn.length > 2048) return undefined
  const m = ROLE_ARN.exec(arn)
  if (m === null || m[1] !== cp.accountId) return undefined
  const r = cp.iam.findRole(m[2]!)
  return r !== undefined && r.arn === arn ? r : undefined
}

function contextFor(cp: ControlPlane, f: FlowLog): LayeredContext {
  const region = cp.logs.regionOf()
  return new LayeredContext(
    new Map<string, readonly string[]>([
      ['aws:sourceaccount', [cp.accountId]],
      ['aws:sourcearn', [`arn:aws:ec2:${region}:${cp.accountId}:vpc-flow-log/${f.id}`]],
      ['aws:principalservicename', [FLOW_LOGS_PRINCIPAL]],
    ]),
  )
}

/** Whether the role's trust policy lets the flow-logs service assume it for this flow log. */
function trustsFlowLogs(cp: ControlPlane, role: IamRole, f: FlowLog): boolean {
  let doc
  try {
    doc = parsePolicy(role.trust, 'trust')
  } catch {
    return false
  }
  const named = doc.statements.filter(
    (s) =>
      s.principal !== undefined && (s.principal.any || s.principal.service.includes(FLOW_LOGS_PRINCIPAL)),
  )
  if (named.length === 0) return false
  const compiled = compilePolicy('trust', { version: doc.version, statements: named })
  return evaluate([compiled], 'sts:assumerole', role.arn, contextFor(cp, f)).decision === 'Allow'
}

function rolePolicies(cp: ControlPlane, role: IamRole): CompiledPolicy[] {
  return cp.iam.policiesOfRole(role).map((p) => compilePolicy(p.source, p.document))
}

/**
 * Whether the flow log's role lets the flow-logs service do `actions` to log group `group` (stream
 * `stream`, or any stream: the resource `…:log-group:G:*`). False when the role is missing, does not
 * trust the service, or a policy does not allow one of the actions.
 */
export function roleAllows(
  cp: ControlPlane,
  f: FlowLog,
  group: string,
  actions: readonly DeliveryAction[],
  stream?: string,
): boolean {
  const role = roleOfArn(cp, f.deliverLogsPermissionArn)
  if (role === undefined || !trustsFlowLogs(cp, role, f)) return false
  const policies = rolePolicies(cp, role)
  const ctx = contextFor(cp, f)
  const groupArn = cp.logs.groupArn(group)
  const streamArn = `${groupArn}:log-stream:${stream ?? '*'}`
  for (const a of actions) {
    const allowed = (resource: string) => evaluate(policies, a, resource, ctx).decision === 'Allow'
    // CreateLogGroup acts on the group; CreateLogStream on the group or its stream; PutLogEvents on the stream.
    const ok =
      a === 'logs:createloggroup'
        ? allowed(groupArn) || allowed(`${groupArn}:*`)
        : a === 'logs:createlogstream'
          ? allowed(streamArn) || allowed(groupArn)
          : allowed(streamArn)
    if (!ok) return false
  }
  return true
}

/**
 * DeliverLogsStatus of a flow log to a log group: "Access error" when its role does not let the
 * service create streams in and put events to the group (or create the group, when it is missing);
 * else what the agents' last delivery to the group said.
 */
export function logGroupDelivery(
  cp: ControlPlane,
  f: FlowLog,
  group: string,
): { status: 'SUCCESS' | 'FAILED'; errorMessage?: string } {
  const actions: DeliveryAction[] = ['logs:createlogstream', 'logs:putlogevents']
  if (!cp.logs.hasGroup(group)) actions.push('logs:createloggroup')
  if (!roleAllows(cp, f, group, actions)) return { status: 'FAILED', errorMessage: ACCESS_ERROR }
  return cp.logs.deliveryStatus(group)
}
