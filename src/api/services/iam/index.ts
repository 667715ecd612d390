// SPDX-License-Identifier: Apache-2.0
/**
 * IAM's actions (AWS Query, signing name `iam`, version 2010-05-08), thin handlers over
 * `control/iam/`: users, groups, roles, access keys, managed policies and their versions, attached
 * and inline policies, and the lists that show what is attached. Member names are those of IAM's API
 * model; policy documents in answers are URL-encoded, as IAM sends them (the AWS CLI decodes them).
 * Each action declares its resource for the authorization step: the user, group, role or policy ARN
 * it acts on (the caller's own user when an access-key action names none).
 * @module
 */
import {
  ApiError,
  checkName,
  checkPath,
  type ControlPlane,
  type IamGroup,
  type IamPolicy,
  type IamRole,
  type IamUser,
  type BuiltinPolicy,
  type Tag,
} from '../../../control/index.ts'
import {
  awsQueryEndpoint,
  el,
  memberTags,
  members,
  type AwsQueryContext,
  type AwsQueryHandler,
} from '../../protocols/aws-query/index.ts'
import type { ActionAuthz, ServiceEndpoint } from '../../protocols/index.ts'

export const IAM_VERSION = '2010-05-08'
export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/'

/** IAM's URL encoding of policy documents (RFC 3986). */
export function encodeDocument(doc: string): string {
  return encodeURIComponent(doc).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

function tagsXml(tags: readonly Tag[]): string {
  return tags.length === 0
    ? ''
    : members(
        'Tags',
        tags.map((t) => el('Key', t.key) + el('Value', t.value)),
      )
}

function userXml(u: IamUser, withTags = true): string {
  return (
    el('Path', u.path) +
    el('UserName', u.name) +
    el('UserId', u.id) +
    el('Arn', u.arn) +
    el('CreateDate', u.createdAt) +
    (withTags ? tagsXml(u.tags) : '')
  )
}

function groupXml(g: IamGroup): string {
  return (
    el('Path', g.path) +
    el('GroupName', g.name) +
    el('GroupId', g.id) +
    el('Arn', g.arn) +
    el('CreateDate', g.createdAt)
  )
}

function roleXml(r: IamRole, withTags = true): string {
  return (
    el('Path', r.path) +
    el('RoleName', r.name) +
    el('RoleId', r.id) +
    el('Arn', r.arn) +
    el('CreateDate', r.createdAt) +
    el('AssumeRolePolicyDocument', encodeDocument(r.trust)) +
    (r.description === '' ? '' : el('Description', r.description)) +
    el('MaxSessionDuration', r.maxSessionDuration) +
    (withTags ? tagsXml(r.tags) : '')
  )
}

function policyXml(cp: ControlPlane, p: IamPolicy | BuiltinPolicy): string {
  const custom = 'kind' in p
  return (
    el('PolicyName', p.name) +
    el(
      'PolicyId',
      custom
        ? p.id
        : `ANPA${p.name
            .toUpperCase()
            .replace(/[^A-Z0-9]/g, '')
            .padEnd(17, 'X')
            .slice(0, 17)}`,
    ) +
    el('Arn', p.arn) +
    el('Path', p.path) +
    el('DefaultVersionId', custom ? p.defaultVersionId : 'v1') +
    el('AttachmentCount', cp.iam.attachmentCount(p.arn)) +
    el('PermissionsBoundaryUsageCount', 0) +
    el('IsAttachable', true) +
    (p.description === '' ? '' : el('Description', p.description)) +
    el('CreateDate', custom ? p.createdAt : '2015-02-06T18:39:46Z') +
    el('UpdateDate', custom ? p.updatedAt : '2015-02-06T18:39:46Z')
  )
}

/** MaxItems (1–1000, default 100) and Marker (an offset this server issued). */
function page<T>(
  ctx: AwsQueryContext,
  items: readonly T[],
  render: (x: T) => string,
  listName: string,
): string {
  const max = ctx.p.int('MaxItems') ?? 100
  const marker = ctx.p.str('Marker')
  ctx.ready()
  if (max < 1 || max > 1000)
    throw new ApiError(
      'ValidationError',
      `1 validation error detected: Value '${max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`,
    )
  let start = 0
  if (marker !== undefined) {
    if (!/^\d{1,7}$/.test(marker)) throw new ApiError('ValidationError', 'Invalid Marker.')
    start = Number(marker)
  }
  const slice = items.slice(start, start + max)
  const more = start + max < items.length
  return (
    members(listName, slice.map(render)) +
    el('IsTruncated', more) +
    (more ? el('Marker', String(start + max)) : '')
  )
}

/** A List… action over every entity of a kind under a path prefix (ListUsers, ListGroups, ListRoles). */
function listByPath<T>(
  all: (ctx: AwsQueryContext, pathPrefix: string) => readonly T[],
  render: (x: T) => string,
  listName: string,
): AwsQueryHandler {
  return (ctx) => page(ctx, all(ctx, checkPath(ctx.p.str('PathPrefix'))), render, listName)
}

/** A List… action over what one named user has (ListUserTags, ListGroupsForUser). */
function listOfUser<T>(
  items: (ctx: AwsQueryContext, u: IamUser) => readonly T[],
  render: (x: T) => string,
  listName: string,
): AwsQueryHandler {
  return (ctx) => {
    const u = ctx.cp.iam.user(checkName(ctx.p.str('UserName'), 'userName', 64))
    return page(ctx, items(ctx, u), render, listName)
  }
}

/** The user an action names, or the caller's own (access-key actions, GetUser). */
function userNameOf(ctx: AwsQueryContext, optional: boolean): string {
  const given = ctx.p.str('UserName')
  if (given !== undefined || !optional) return checkName(given, 'userName', 64)
  const own = ctx.cp.iam.get(ctx.accessKeyId)?.userName
  if (own === undefined)
    throw new ApiError('ValidationError', 'Must specify userName when calling with non-User credentials')
  return own
}

function doc(ctx: AwsQueryContext, name: string): string {
  const d = ctx.p.str(name)
  if (d === undefined || d === '')
    throw new ApiError(
      'ValidationError',
      `1 validation error detected: Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
    )
  return d
}

function policyArn(ctx: AwsQueryContext): string {
  const arn = ctx.p.str('PolicyArn')
  if (arn === undefined || arn.length < 20 || arn.length > 2048)
    throw new ApiError(
      'ValidationError',
      "1 validation error detected: Value at 'policyArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
    )
  return arn
}

const entityActions = (kind: 'user' | 'group' | 'role'): [string, AwsQueryHandler][] => {
  const K = kind === 'user' ? 'User' : kind === 'group' ? 'Group' : 'Role'
  const nameParam = `${K}Name`
  const max = kind === 'group' ? 128 : 64
  const name = (ctx: AwsQueryContext): string => checkName(ctx.p.str(nameParam), `${kind}Name`, max)
  return [
    [
      `Attach${K}Policy`,
      (ctx) => {
        const n = name(ctx)
        const arn = policyArn(ctx)
        ctx.ready()
        ctx.cp.iam.attach(kind, n, arn)
        return ''
      },
    ],
    [
      `Detach${K}Policy`,
      (ctx) => {
        const n = name(ctx)
        const arn = policyArn(ctx)
        ctx.ready()
        ctx.cp.iam.detach(kind, n, arn)
        return ''
      },
    ],
    [
      `Put${K}Policy`,
      (ctx) => {
        const n = name(ctx)
        const pn = checkName(ctx.p.str('PolicyName'), 'policyName', 128)
        const d = doc(ctx, 'PolicyDocument')
        ctx.ready()
        ctx.cp.iam.putInline(kind, n, pn, d)
        return ''
      },
    ],
    [
      `Get${K}Policy`,
      (ctx) => {
        const n = name(ctx)
        const pn = checkName(ctx.p.str('PolicyName'), 'policyName', 128)
        ctx.ready()
        const d = ctx.cp.iam.inlineOf(kind, n)[pn]
        if (d === undefined)
          throw new ApiError('NoSuchEntity', `The ${kind} policy with name ${pn} cannot be found.`)
        return el(nameParam, n) + el('PolicyName', pn) + el('PolicyDocument', encodeDocument(d))
      },
    ],
    [
      `Delete${K}Policy`,
      (ctx) => {
        const n = name(ctx)
        const pn = checkName(ctx.p.str('PolicyName'), 'policyName', 128)
        ctx.ready()
        ctx.cp.iam.deleteInline(kind, n, pn)
        return ''
      },
    ],
    [
      `ListAttached${K}Policies`,
      (ctx) => {
        const n = name(ctx)
        ctx.p.str('PathPrefix')
        const list = ctx.cp.iam.attachedOf(kind, n)
        return page(ctx, list, (a) => el('PolicyName', a.name) + el('PolicyArn', a.arn), 'AttachedPolicies')
      },
    ],
    [
      `List${K}Policies`,
      (ctx) => {
        const n = name(ctx)
        const list = Object.keys(ctx.cp.iam.inlineOf(kind, n))
        return page(ctx, list, (x) => `${x.replace(/[&<>]/g, '')}`, 'PolicyNames')
      },
    ],
  ]
}

const ACTIONS: [string, AwsQueryHandler][] = [
  [
    'CreateUser',
    (ctx) => {
      const name = checkName(ctx.p.str('UserName'), 'userName', 64)
      const path = checkPath(ctx.p.str('Path'))
      const tags = memberTags(ctx.p)
      ctx.ready()
      return `<User>${userXml(ctx.cp.iam.createUser(name, path, tags))}</User>`
    },
  ],
  [
    'GetUser',
    (ctx) => {
      const name = userNameOf(ctx, true)
      ctx.ready()
      return `<User>${userXml(ctx.cp.iam.user(name))}</User>`
    },
  ],
  [
    'ListUsers',
    listByPath(
      (ctx, prefix) => ctx.cp.iam.users(prefix),
      (u) => userXml(u, false),
      'Users',
    ),
  ],
  [
    'DeleteUser',
    (ctx) => {
      const name = checkName(ctx.p.str('UserName'), 'userName', 64)
      ctx.ready()
      ctx.cp.iam.deleteUser(name)
      return ''
    },
  ],
  [
    'TagUser',
    (ctx) => {
      const name = checkName(ctx.p.str('UserName'), 'userName', 64)
      const tags = memberTags(ctx.p)
      ctx.ready()
      ctx.cp.iam.tagUser(name, tags)
      return ''
    },
  ],
  [
    'ListUserTags',
    listOfUser(
      (_ctx, u) => u.tags,
      (t) => el('Key', t.key) + el('Value', t.value),
      'Tags',
    ),
  ],
  [
    'CreateAccessKey',
    (ctx) => {
      const name = userNameOf(ctx, true)
      ctx.ready()
      const k = ctx.cp.iam.createAccessKey(name)
      return `<AccessKey>${el('UserName', name)}${el('AccessKeyId', k.accessKeyId)}${el('Status', 'Active')}${el('SecretAccessKey', k.secretAccessKey)}${el('CreateDate', k.createdAt)}</AccessKey>`
    },
  ],
  [
    'ListAccessKeys',
    (ctx) => {
      const name = userNameOf(ctx, true)
      ctx.cp.iam.user(name)
      return page(
        ctx,
        ctx.cp.iam.keysOf(name),
        (k) =>
          el('UserName', name) +
          el('AccessKeyId', k.accessKeyId) +
          el('Status', k.status ?? 'Active') +
          el('CreateDate', k.createdAt),
        'AccessKeyMetadata',
      )
    },
  ],
  [
    'UpdateAccessKey',
    (ctx) => {
      const name = userNameOf(ctx, true)
      const id = ctx.p.str('AccessKeyId') ?? ''
      const status = ctx.p.str('Status')
      ctx.ready()
      ctx.cp.iam.updateAccessKey(name, id, status)
      return ''
    },
  ],
  [
    'DeleteAccessKey',
    (ctx) => {
      const name = userNameOf(ctx, true)
      const id = ctx.p.str('AccessKeyId') ?? ''
      ctx.ready()
      ctx.cp.iam.deleteAccessKey(name, id)
      return ''
    },
  ],
  [
    'CreateGroup',
    (ctx) => {
      const name = checkName(ctx.p.str('GroupName'), 'groupName', 128)
      const path = checkPath(ctx.p.str('Path'))
      ctx.ready()
      return `<Group>${groupXml(ctx.cp.iam.createGroup(name, path))}</Group>`
    },
  ],
  [
    'GetGroup',
    (ctx) => {
      const name = checkName(ctx.p.str('GroupName'), 'groupName', 128)
      const g = ctx.cp.iam.group(name)
      return (
        `<Group>${groupXml(g)}</Group>` +
        page(ctx, ctx.cp.iam.membersOf(name), (u) => userXml(u, false), 'Users')
      )
    },
  ],
  ['ListGroups', listByPath((ctx, prefix) => ctx.cp.iam.groups(prefix), groupXml, 'Groups')],
  ['ListGroupsForUser', listOfUser((ctx, u) => u.groups.map((n) => ctx.cp.iam.group(n)), groupXml, 'Groups')],
  [
    'AddUserToGroup',
    (ctx) => {
      const g = checkName(ctx.p.str('GroupName'), 'groupName', 128)
      const u = checkName(ctx.p.str('UserName'), 'userName', 64)
      ctx.ready()
      ctx.cp.iam.addUserToGroup(g, u)
      return ''
    },
  ],
  [
    'RemoveUserFromGroup',
    (ctx) => {
      const g = checkName(ctx.p.str('GroupName'), 'groupName', 128)
      const u = checkName(ctx.p.str('UserName'), 'userName', 64)
      ctx.ready()
      ctx.cp.iam.removeUserFromGroup(g, u)
      return ''
    },
  ],
  [
    'CreateRole',
    (ctx) => {
      const name = checkName(ctx.p.str('RoleName'), 'roleName', 64)
      const path = checkPath(ctx.p.str('Path'))
      const trust = doc(ctx, 'AssumeRolePolicyDocument')
      const description = ctx.p.str('Description') ?? ''
      const max = ctx.p.int('MaxSessionDuration') ?? 3600
      const tags = memberTags(ctx.p)
      ctx.ready()
      if (description.length > 1000)
        throw new ApiError(
          'ValidationError',
          "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000",
        )
      return `<Role>${roleXml(ctx.cp.iam.createRole(name, path, trust, description, max, tags))}</Role>`
    },
  ],
  [
    'GetRole',
    (ctx) => {
      const name = checkName(ctx.p.str('RoleName'), 'roleName', 64)
      ctx.ready()
      return `<Role>${roleXml(ctx.cp.iam.role(name))}</Role>`
    },
  ],
  [
    'ListRoles',
    listByPath(
      (ctx, prefix) => ctx.cp.iam.roles(prefix),
      (r) => roleXml(r, false),
      'Roles',
    ),
  ],
  [
    'CreatePolicy',
    (ctx) => {
      const name = checkName(ctx.p.str('PolicyName'), 'policyName', 128)
      const path = checkPath(ctx.p.str('Path'))
      const d = doc(ctx, 'PolicyDocument')
      const description = ctx.p.str('Description') ?? ''
      ctx.ready()
      if (description.length > 1000)
        throw new ApiError(
          'ValidationError',
          "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000",
        )
      return `<Policy>${policyXml(ctx.cp, ctx.cp.iam.createPolicy(name, path, d, description))}</Policy>`
    },
  ],
  [
    'GetPolicy',
    (ctx) => {
      const arn = policyArn(ctx)
      ctx.ready()
      return `<Policy>${policyXml(ctx.cp, ctx.cp.iam.policy(arn))}</Policy>`
    },
  ],
  [
    'GetPolicyVersion',
    (ctx) => {
      const arn = policyArn(ctx)
      const v = ctx.p.str('VersionId') ?? ''
      ctx.ready()
      const pv = ctx.cp.iam.policyVersion(arn, v)
      return `<PolicyVersion>${el('Document', encodeDocument(pv.document))}${el('VersionId', pv.versionId)}${el('IsDefaultVersion', pv.isDefault)}${el('CreateDate', pv.createdAt)}</PolicyVersion>`
    },
  ],
  [
    'CreatePolicyVersion',
    (ctx) => {
      const arn = policyArn(ctx)
      const d = doc(ctx, 'PolicyDocument')
      const setDefault = ctx.p.bool('SetAsDefault') ?? false
      ctx.ready()
      const v = ctx.cp.iam.createPolicyVersion(arn, d, setDefault)
      return `<PolicyVersion>${el('VersionId', v.versionId)}${el('IsDefaultVersion', setDefault)}${el('CreateDate', v.createdAt)}</PolicyVersion>`
    },
  ],
  [
    'ListPolicies',
    (ctx) => {
      const scope = ctx.p.str('Scope') ?? 'All'
      const onlyAttached = ctx.p.bool('OnlyAttached') ?? false
      const prefix = checkPath(ctx.p.str('PathPrefix'))
      ctx.p.str('PolicyUsageFilter')
      if (scope !== 'All' && scope !== 'AWS' && scope !== 'Local')
        throw new ApiError(
          'ValidationError',
          `1 validation error detected: Value '${scope.slice(0, 16)}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]`,
        )
      const list: (IamPolicy | BuiltinPolicy)[] = [
        ...(scope === 'Local' ? [] : ctx.cp.iam.builtinPolicies()),
        ...(scope === 'AWS' ? [] : ctx.cp.iam.customerPolicies()),
      ].filter((p) => p.path.startsWith(prefix) && (!onlyAttached || ctx.cp.iam.attachmentCount(p.arn) > 0))
      return page(ctx, list, (p) => policyXml(ctx.cp, p), 'Policies')
    },
  ],
  ...entityActions('user'),
  ...entityActions('group'),
  ...entityActions('role'),
]

/** The resource each IAM action acts on (the ARN of its user, group, role or policy). */
export function iamAuthz(cp: ControlPlane): ActionAuthz {
  const account = cp.accountId
  return (action, params, accessKeyId) => {
    const user =
      params.get('UserName') ??
      (action.includes('AccessKey') || action === 'GetUser' ? cp.iam.get(accessKeyId)?.userName : undefined)
    const arnOf = (type: string, name: string, existing: { arn: string } | undefined): string =>
      existing?.arn ?? `arn:aws:iam::${account}:${type}${params.get('Path') ?? '/'}${name}`
    const context: Record<string, string> = {}
    const pa = params.get('PolicyArn')
    if (pa !== undefined && /^(Attach|Detach)/.test(action)) context['iam:policyarn'] = pa
    let arn: string | undefined
    if (/Group/.test(action) && params.get('GroupName') !== undefined && action !== 'ListGroupsForUser') {
      const g = params.get('GroupName')!
      arn = arnOf('group', g, cp.iam.findGroup(g))
    } else if (user !== undefined) arn = arnOf('user', user, cp.iam.findUser(user))
    else if (params.get('RoleName') !== undefined) {
      const r = params.get('RoleName')!
      arn = arnOf('role', r, cp.iam.findRole(r))
    } else if (action === 'CreatePolicy' && params.get('PolicyName') !== undefined)
      arn = `arn:aws:iam::${account}:policy${params.get('Path') ?? '/'}${params.get('PolicyName')!}`
    else if (pa !== undefined) arn = pa
    return { ...(arn === undefined ? {} : { resources: [{ arn }] }), context }
  }
}

export function iamEndpoint(cp: ControlPlane): ServiceEndpoint {
  return awsQueryEndpoint(cp, {
    signingName: 'iam',
    iamPrefix: 'iam',
    version: IAM_VERSION,
    namespace: IAM_NS,
    actions: new Map(ACTIONS),
    authz: iamAuthz(cp),
  })
}

/** For docs and tests: the IAM actions answered. */
export const IAM_ACTION_NAMES: readonly string[] = ACTIONS.map(([n]) => n)
