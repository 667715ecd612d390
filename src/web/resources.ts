// SPDX-License-Identifier: Apache-2.0
/**
 * The Resources page: every EC2 resource mirrorflow keeps, listed with the API's Describe action;
 * a detail view with the AWS field names; create, edit and delete forms that call the same actions
 * the AWS CLI calls (each form shows that command as it is filled in), and the API's validation
 * errors shown as they come back.
 * @module
 */
import { ApiFailure, ec2, list, text, type XmlValue } from './api.ts'
import { awsCliCommand } from './cli.ts'
import { field, formValues, h, notice, table, type FieldSpec } from './ui.ts'

type Item = { [k: string]: XmlValue }

export interface FormSpec {
  action: string
  title: string
  fields: FieldSpec[]
  /** Parameters the form does not show (the resource's id). */
  fixed?: (item: Item | null) => Record<string, string>
  /** Prefills an edit form from the item: field name → value. */
  prefill?: (item: Item) => Record<string, string>
}

export interface ResourceKind {
  key: string
  title: string
  describe: string
  /** The list element in the Describe answer. */
  set: string
  idField: string
  columns: Array<[string, (i: Item) => string]>
  create?: FormSpec
  edit?: FormSpec
  /** The delete action and the parameter naming the id. */
  remove?: [string, string]
  /** Extra content in the detail view. */
  detail?: (item: Item, reload: () => void) => HTMLElement
  /** Items out of the answer when not `answer[set]` (instances are in reservations). */
  items?: (answer: Item) => Item[]
}

const path = (i: Item, p: string): string => {
  let v: XmlValue | undefined = i
  for (const k of p.split('.'))
    v = v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v[k] : undefined
  return text(v)
}

const PROTOCOLS: Array<[string, string]> = [
  ['', 'all'],
  ['6', '6 (TCP)'],
  ['17', '17 (UDP)'],
  ['1', '1 (ICMP)'],
]

function ruleFields(): FieldSpec[] {
  return [
    {
      name: 'TrafficDirection',
      label: 'TrafficDirection',
      type: 'select',
      options: [
        ['ingress', 'ingress'],
        ['egress', 'egress'],
      ],
      required: true,
    },
    { name: 'RuleNumber', label: 'RuleNumber', type: 'number', required: true },
    {
      name: 'RuleAction',
      label: 'RuleAction',
      type: 'select',
      options: [
        ['accept', 'accept'],
        ['reject', 'reject'],
      ],
      required: true,
    },
    { name: 'Protocol', label: 'Protocol', type: 'select', options: PROTOCOLS },
    { name: 'SourceCidrBlock', label: 'SourceCidrBlock', required: true, placeholder: '0.0.0.0/0' },
    { name: 'DestinationCidrBlock', label: 'DestinationCidrBlock', required: true, placeholder: '0.0.0.0/0' },
    { name: 'SourcePortRange.FromPort', label: 'SourcePortRange FromPort', type: 'number' },
    { name: 'SourcePortRange.ToPort', label: 'SourcePortRange ToPort', type: 'number' },
    { name: 'DestinationPortRange.FromPort', label: 'DestinationPortRange FromPort', type: 'number' },
    { name: 'DestinationPortRange.ToPort', label: 'DestinationPortRange ToPort', type: 'number' },
    { name: 'Description', label: 'Description' },
  ]
}

function rulePrefill(r: Item): Record<string, string> {
  return {
    TrafficDirection: path(r, 'trafficDirection'),
    RuleNumber: path(r, 'ruleNumber'),
    RuleAction: path(r, 'ruleAction'),
    Protocol: path(r, 'protocol'),
    SourceCidrBlock: path(r, 'sourceCidrBlock'),
    DestinationCidrBlock: path(r, 'destinationCidrBlock'),
    'SourcePortRange.FromPort': path(r, 'sourcePortRange.fromPort'),
    'SourcePortRange.ToPort': path(r, 'sourcePortRange.toPort'),
    'DestinationPortRange.FromPort': path(r, 'destinationPortRange.fromPort'),
    'DestinationPortRange.ToPort': path(r, 'destinationPortRange.toPort'),
    Description: path(r, 'description'),
  }
}

/** A filter's rules, with their own create, edit and delete. */
function filterRules(f: Item, reload: () => void): HTMLElement {
  const filterId = path(f, 'trafficMirrorFilterId')
  const rules = [...list(f.ingressFilterRuleSet), ...list(f.egressFilterRuleSet)]
  const box = h('section', { 'aria-label': 'Filter rules' }, h('h3', {}, 'Rules'))
  const forms = h('div')
  box.append(
    table(
      `Rules of ${filterId}`,
      [
        { label: 'TrafficMirrorFilterRuleId', get: (r: Item) => path(r, 'trafficMirrorFilterRuleId') },
        { label: 'TrafficDirection', get: (r: Item) => path(r, 'trafficDirection') },
        { label: 'RuleNumber', get: (r: Item) => Number(path(r, 'ruleNumber')), numeric: true },
        { label: 'RuleAction', get: (r: Item) => path(r, 'ruleAction') },
        { label: 'Protocol', get: (r: Item) => path(r, 'protocol') || 'all' },
        { label: 'SourceCidrBlock', get: (r: Item) => path(r, 'sourceCidrBlock') },
        { label: 'DestinationCidrBlock', get: (r: Item) => path(r, 'destinationCidrBlock') },
        {
          label: 'DestinationPortRange',
          get: (r: Item) =>
            path(r, 'destinationPortRange.fromPort') === ''
              ? ''
              : `${path(r, 'destinationPortRange.fromPort')}-${path(r, 'destinationPortRange.toPort')}`,
        },
        {
          label: 'Actions',
          get: () => '',
          render: (r: Item) => {
            const id = path(r, 'trafficMirrorFilterRuleId')
            return h(
              'span',
              { class: 'row-actions' },
              h(
                'button',
                {
                  type: 'button',
                  onclick: () =>
                    forms.replaceChildren(
                      actionForm(
                        {
                          action: 'ModifyTrafficMirrorFilterRule',
                          title: `Edit rule ${id}`,
                          fields: ruleFields(),
                          fixed: () => ({ TrafficMirrorFilterRuleId: id }),
                          prefill: rulePrefill,
                        },
                        r,
                        reload,
                      ),
                    ),
                },
                'Edit',
              ),
              ' ',
              h(
                'button',
                {
                  type: 'button',
                  onclick: () =>
                    forms.replaceChildren(
                      confirmAction(
                        'DeleteTrafficMirrorFilterRule',
                        { TrafficMirrorFilterRuleId: id },
                        reload,
                      ),
                    ),
                },
                'Delete',
              ),
            )
          },
        },
      ],
      rules,
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () =>
          forms.replaceChildren(
            actionForm(
              {
                action: 'CreateTrafficMirrorFilterRule',
                title: 'Create a rule',
                fields: ruleFields(),
                fixed: () => ({ TrafficMirrorFilterId: filterId }),
              },
              null,
              reload,
            ),
          ),
      },
      'Create rule',
    ),
    forms,
  )
  return box
}

export const KINDS: ResourceKind[] = [
  {
    key: 'vpcs',
    title: 'VPCs',
    describe: 'DescribeVpcs',
    set: 'vpcSet',
    idField: 'vpcId',
    columns: [
      ['VpcId', (i) => path(i, 'vpcId')],
      ['CidrBlock', (i) => path(i, 'cidrBlock')],
      ['State', (i) => path(i, 'state')],
      ['IsDefault', (i) => path(i, 'isDefault')],
    ],
    create: {
      action: 'CreateVpc',
      title: 'Create a VPC',
      fields: [{ name: 'CidrBlock', label: 'CidrBlock', required: true, placeholder: '10.0.0.0/16' }],
    },
    remove: ['DeleteVpc', 'VpcId'],
  },
  {
    key: 'subnets',
    title: 'Subnets',
    describe: 'DescribeSubnets',
    set: 'subnetSet',
    idField: 'subnetId',
    columns: [
      ['SubnetId', (i) => path(i, 'subnetId')],
      ['VpcId', (i) => path(i, 'vpcId')],
      ['CidrBlock', (i) => path(i, 'cidrBlock')],
      ['AvailabilityZone', (i) => path(i, 'availabilityZone')],
      ['AvailableIpAddressCount', (i) => path(i, 'availableIpAddressCount')],
    ],
    create: {
      action: 'CreateSubnet',
      title: 'Create a subnet',
      fields: [
        { name: 'VpcId', label: 'VpcId', required: true },
        { name: 'CidrBlock', label: 'CidrBlock', required: true, placeholder: '10.0.1.0/24' },
        { name: 'AvailabilityZone', label: 'AvailabilityZone' },
      ],
    },
    remove: ['DeleteSubnet', 'SubnetId'],
  },
  {
    key: 'interfaces',
    title: 'Network interfaces',
    describe: 'DescribeNetworkInterfaces',
    set: 'networkInterfaceSet',
    idField: 'networkInterfaceId',
    columns: [
      ['NetworkInterfaceId', (i) => path(i, 'networkInterfaceId')],
      ['SubnetId', (i) => path(i, 'subnetId')],
      ['PrivateIpAddress', (i) => path(i, 'privateIpAddress')],
      ['MacAddress', (i) => path(i, 'macAddress')],
      ['InstanceId', (i) => path(i, 'attachment.instanceId')],
      ['Status', (i) => path(i, 'status')],
    ],
  },
  {
    key: 'instances',
    title: 'Instances',
    describe: 'DescribeInstances',
    set: 'reservationSet',
    idField: 'instanceId',
    items: (a) => list(a.reservationSet).flatMap((r) => list(r.instancesSet)),
    columns: [
      ['InstanceId', (i) => path(i, 'instanceId')],
      ['State', (i) => path(i, 'instanceState.name')],
      ['PrivateIpAddress', (i) => path(i, 'privateIpAddress')],
      ['SubnetId', (i) => path(i, 'subnetId')],
      ['VpcId', (i) => path(i, 'vpcId')],
    ],
  },
  {
    key: 'targets',
    title: 'Mirror targets',
    describe: 'DescribeTrafficMirrorTargets',
    set: 'trafficMirrorTargetSet',
    idField: 'trafficMirrorTargetId',
    columns: [
      ['TrafficMirrorTargetId', (i) => path(i, 'trafficMirrorTargetId')],
      ['Type', (i) => path(i, 'type')],
      ['NetworkInterfaceId', (i) => path(i, 'networkInterfaceId')],
      ['NetworkLoadBalancerArn', (i) => path(i, 'networkLoadBalancerArn')],
      ['Description', (i) => path(i, 'description')],
    ],
    create: {
      action: 'CreateTrafficMirrorTarget',
      title: 'Create a mirror target',
      fields: [
        { name: 'NetworkInterfaceId', label: 'NetworkInterfaceId' },
        { name: 'NetworkLoadBalancerArn', label: 'NetworkLoadBalancerArn' },
        { name: 'Description', label: 'Description' },
      ],
    },
    remove: ['DeleteTrafficMirrorTarget', 'TrafficMirrorTargetId'],
  },
  {
    key: 'filters',
    title: 'Mirror filters',
    describe: 'DescribeTrafficMirrorFilters',
    set: 'trafficMirrorFilterSet',
    idField: 'trafficMirrorFilterId',
    columns: [
      ['TrafficMirrorFilterId', (i) => path(i, 'trafficMirrorFilterId')],
      ['Description', (i) => path(i, 'description')],
      ['IngressFilterRules', (i) => String(list(i.ingressFilterRuleSet).length)],
      ['EgressFilterRules', (i) => String(list(i.egressFilterRuleSet).length)],
    ],
    create: {
      action: 'CreateTrafficMirrorFilter',
      title: 'Create a mirror filter',
      fields: [{ name: 'Description', label: 'Description' }],
    },
    remove: ['DeleteTrafficMirrorFilter', 'TrafficMirrorFilterId'],
    detail: filterRules,
  },
  {
    key: 'sessions',
    title: 'Mirror sessions',
    describe: 'DescribeTrafficMirrorSessions',
    set: 'trafficMirrorSessionSet',
    idField: 'trafficMirrorSessionId',
    columns: [
      ['TrafficMirrorSessionId', (i) => path(i, 'trafficMirrorSessionId')],
      ['NetworkInterfaceId', (i) => path(i, 'networkInterfaceId')],
      ['TrafficMirrorTargetId', (i) => path(i, 'trafficMirrorTargetId')],
      ['TrafficMirrorFilterId', (i) => path(i, 'trafficMirrorFilterId')],
      ['SessionNumber', (i) => path(i, 'sessionNumber')],
      ['VirtualNetworkId', (i) => path(i, 'virtualNetworkId')],
      ['PacketLength', (i) => path(i, 'packetLength')],
    ],
    create: {
      action: 'CreateTrafficMirrorSession',
      title: 'Create a mirror session',
      fields: [
        { name: 'NetworkInterfaceId', label: 'NetworkInterfaceId', required: true },
        { name: 'TrafficMirrorTargetId', label: 'TrafficMirrorTargetId', required: true },
        { name: 'TrafficMirrorFilterId', label: 'TrafficMirrorFilterId', required: true },
        { name: 'SessionNumber', label: 'SessionNumber', type: 'number', required: true, value: '1' },
        { name: 'VirtualNetworkId', label: 'VirtualNetworkId', type: 'number' },
        { name: 'PacketLength', label: 'PacketLength', type: 'number' },
        { name: 'Description', label: 'Description' },
      ],
    },
    edit: {
      action: 'ModifyTrafficMirrorSession',
      title: 'Edit the session',
      fields: [
        { name: 'TrafficMirrorTargetId', label: 'TrafficMirrorTargetId' },
        { name: 'TrafficMirrorFilterId', label: 'TrafficMirrorFilterId' },
        { name: 'SessionNumber', label: 'SessionNumber', type: 'number' },
        { name: 'VirtualNetworkId', label: 'VirtualNetworkId', type: 'number' },
        { name: 'PacketLength', label: 'PacketLength', type: 'number' },
        { name: 'Description', label: 'Description' },
      ],
      fixed: (i) => ({ TrafficMirrorSessionId: path(i!, 'trafficMirrorSessionId') }),
      prefill: (i) => ({
        TrafficMirrorTargetId: path(i, 'trafficMirrorTargetId'),
        TrafficMirrorFilterId: path(i, 'trafficMirrorFilterId'),
        SessionNumber: path(i, 'sessionNumber'),
        VirtualNetworkId: path(i, 'virtualNetworkId'),
        PacketLength: path(i, 'packetLength'),
        Description: path(i, 'description'),
      }),
    },
    remove: ['DeleteTrafficMirrorSession', 'TrafficMirrorSessionId'],
  },
  {
    key: 'flowlogs',
    title: 'Flow logs',
    describe: 'DescribeFlowLogs',
    set: 'flowLogSet',
    idField: 'flowLogId',
    columns: [
      ['FlowLogId', (i) => path(i, 'flowLogId')],
      ['ResourceId', (i) => path(i, 'resourceId')],
      ['TrafficType', (i) => path(i, 'trafficType')],
      ['LogDestinationType', (i) => path(i, 'logDestinationType')],
      ['LogDestination', (i) => path(i, 'logDestination')],
      ['MaxAggregationInterval', (i) => path(i, 'maxAggregationInterval')],
      ['DeliverLogsStatus', (i) => path(i, 'deliverLogsStatus')],
    ],
    create: {
      action: 'CreateFlowLogs',
      title: 'Create a flow log',
      fields: [
        {
          name: 'ResourceType',
          label: 'ResourceType',
          type: 'select',
          required: true,
          options: [
            ['VPC', 'VPC'],
            ['Subnet', 'Subnet'],
            ['NetworkInterface', 'NetworkInterface'],
          ],
        },
        { name: 'ResourceId.1', label: 'ResourceIds', required: true },
        {
          name: 'TrafficType',
          label: 'TrafficType',
          type: 'select',
          options: [
            ['ALL', 'ALL'],
            ['ACCEPT', 'ACCEPT'],
            ['REJECT', 'REJECT'],
          ],
        },
        {
          name: 'LogDestinationType',
          label: 'LogDestinationType',
          type: 'select',
          options: [
            ['s3', 's3'],
            ['cloud-watch-logs', 'cloud-watch-logs'],
          ],
        },
        { name: 'LogDestination', label: 'LogDestination', placeholder: 'arn:aws:s3:::bucket/prefix' },
        { name: 'LogGroupName', label: 'LogGroupName' },
        { name: 'LogFormat', label: 'LogFormat' },
        {
          name: 'MaxAggregationInterval',
          label: 'MaxAggregationInterval',
          type: 'select',
          options: [
            ['600', '600'],
            ['60', '60'],
          ],
        },
      ],
    },
    remove: ['DeleteFlowLogs', 'FlowLogId.1'],
  },
  {
    key: 'security-groups',
    title: 'Security groups',
    describe: 'DescribeSecurityGroups',
    set: 'securityGroupInfo',
    idField: 'groupId',
    columns: [
      ['GroupId', (i) => path(i, 'groupId')],
      ['GroupName', (i) => path(i, 'groupName')],
      ['VpcId', (i) => path(i, 'vpcId')],
      ['Description', (i) => path(i, 'groupDescription')],
    ],
    create: {
      action: 'CreateSecurityGroup',
      title: 'Create a security group',
      fields: [
        { name: 'GroupName', label: 'GroupName', required: true },
        { name: 'GroupDescription', label: 'Description', required: true },
        { name: 'VpcId', label: 'VpcId', required: true },
      ],
    },
    remove: ['DeleteSecurityGroup', 'GroupId'],
  },
  {
    key: 'network-acls',
    title: 'Network ACLs',
    describe: 'DescribeNetworkAcls',
    set: 'networkAclSet',
    idField: 'networkAclId',
    columns: [
      ['NetworkAclId', (i) => path(i, 'networkAclId')],
      ['VpcId', (i) => path(i, 'vpcId')],
      ['IsDefault', (i) => path(i, 'default')],
      ['Entries', (i) => String(list(i.entrySet).length)],
    ],
    create: {
      action: 'CreateNetworkAcl',
      title: 'Create a network ACL',
      fields: [{ name: 'VpcId', label: 'VpcId', required: true }],
    },
    remove: ['DeleteNetworkAcl', 'NetworkAclId'],
  },
]

/** The CLI's member name for an XML element name (`ingressFilterRuleSet` → `IngressFilterRules`). */
const CLI_NAMES: Record<string, string> = {
  tagSet: 'Tags',
  ingressFilterRuleSet: 'IngressFilterRules',
  egressFilterRuleSet: 'EgressFilterRules',
  networkServiceSet: 'NetworkServices',
  instancesSet: 'Instances',
  privateIpAddressesSet: 'PrivateIpAddresses',
  groupSet: 'Groups',
  ipPermissions: 'IpPermissions',
  ipPermissionsEgress: 'IpPermissionsEgress',
  entrySet: 'Entries',
  associationSet: 'Associations',
}
function cliName(k: string): string {
  return CLI_NAMES[k] ?? k.charAt(0).toUpperCase() + k.slice(1)
}

/** An item as a definition list, nested values indented. */
export function describeItem(v: XmlValue): HTMLElement {
  if (typeof v !== 'object' || v === null) return h('span', {}, String(v))
  if (Array.isArray(v)) {
    if (v.length === 0) return h('span', { class: 'muted' }, '(none)')
    return h(
      'ol',
      { class: 'items' },
      v.map((x) => h('li', {}, describeItem(x))),
    )
  }
  return h(
    'dl',
    { class: 'detail' },
    Object.entries(v).flatMap(([k, x]) => [h('dt', {}, cliName(k)), h('dd', {}, describeItem(x))]),
  )
}

/** The outcome of the last action, shown above the page it reloads. */
let flash: HTMLElement | null = null

/** The endpoint the CLI commands name (this server). */
function endpoint(): string {
  return location.origin
}

/** A form calling `spec.action`; shows its AWS CLI command, then the result or the API's error. */
export function actionForm(spec: FormSpec, item: Item | null, done: () => void): HTMLElement {
  const pre = item !== null && spec.prefill !== undefined ? spec.prefill(item) : {}
  const fixed = spec.fixed?.(item) ?? {}
  const out = h('div', { 'aria-live': 'polite' })
  const cmd = h('code', {})
  const form = h('form', { class: 'action-form', 'aria-label': spec.title }) as HTMLFormElement
  const params = (): Record<string, string> => ({ ...fixed, ...formValues(form) })
  const update = (): void => {
    cmd.textContent = awsCliCommand(spec.action, params(), { endpoint: endpoint() })
  }
  form.append(
    h('h3', {}, spec.title),
    ...spec.fields.map((f) => field(pre[f.name] !== undefined ? { ...f, value: pre[f.name]! } : f)),
    h('div', { class: 'cli' }, h('span', { class: 'cli-label' }, 'AWS CLI'), h('pre', {}, cmd)),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit' }, spec.action),
      ' ',
      h('button', { type: 'button', onclick: () => form.parentElement?.replaceChildren() }, 'Cancel'),
    ),
    out,
  )
  form.addEventListener('input', update)
  form.addEventListener('change', update)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const p = params()
    out.replaceChildren(notice('info', `Calling ${spec.action}…`))
    ec2(spec.action, p).then(
      (ans) => {
        const cmd = awsCliCommand(spec.action, p, { endpoint: endpoint() })
        flash = h(
          'div',
          { class: 'flash' },
          notice('ok', `${spec.action} succeeded.`),
          describeItem(stripRequestId(ans)),
          h(
            'div',
            { class: 'cli' },
            h('span', { class: 'cli-label' }, 'AWS CLI'),
            h('pre', {}, h('code', {}, cmd)),
          ),
        )
        out.replaceChildren(flash.cloneNode(true))
        done()
      },
      (err: unknown) => out.replaceChildren(errorNotice(err)),
    )
  })
  update()
  return form
}

function stripRequestId(ans: Item): Item {
  const { requestId: _r, ...rest } = ans
  return rest
}

export function errorNotice(err: unknown): HTMLElement {
  if (err instanceof ApiFailure) return notice('error', err.message, err.code)
  return notice('error', (err as Error).message ?? String(err))
}

/** A delete (or other one-click action) with its CLI command, confirmed by a second button. */
export function confirmAction(action: string, params: Record<string, string>, done: () => void): HTMLElement {
  const out = h('div', { 'aria-live': 'polite' })
  const box = h(
    'div',
    { class: 'confirm' },
    h('p', {}, `${action} ${Object.values(params).join(' ')}?`),
    h(
      'div',
      { class: 'cli' },
      h('span', { class: 'cli-label' }, 'AWS CLI'),
      h('pre', {}, h('code', {}, awsCliCommand(action, params, { endpoint: endpoint() }))),
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: () => {
          ec2(action, params).then(
            () => {
              flash = notice('ok', `${action} ${Object.values(params).join(' ')} succeeded.`)
              out.replaceChildren(flash.cloneNode(true))
              done()
            },
            (err: unknown) => out.replaceChildren(errorNotice(err)),
          )
        },
      },
      `Confirm ${action}`,
    ),
    out,
  )
  return box
}

/** Renders the Resources page into `root` for `#/resources/<kind>[/<id>]`. */
export async function renderResources(root: HTMLElement, parts: string[]): Promise<void> {
  const kind = KINDS.find((k) => k.key === parts[0]) ?? KINDS[0]!
  const nav = h(
    'nav',
    { class: 'subnav', 'aria-label': 'Resource types' },
    h(
      'ul',
      {},
      KINDS.map((k) =>
        h(
          'li',
          {},
          h('a', { href: `#/resources/${k.key}`, 'aria-current': k === kind ? 'page' : undefined }, k.title),
        ),
      ),
    ),
  )
  const main = h('div', { class: 'resource' })
  const shown = flash
  flash = null
  root.replaceChildren(h('h1', {}, 'Resources'), nav, h('div', { 'aria-live': 'polite' }, shown), main)
  const reload = (): void => void renderResources(root, parts)
  const cliList = h(
    'div',
    { class: 'cli' },
    h('span', { class: 'cli-label' }, 'AWS CLI'),
    h('pre', {}, h('code', {}, awsCliCommand(kind.describe, {}, { endpoint: endpoint() }))),
  )
  let items: Item[]
  try {
    const ans = await ec2(kind.describe)
    items = kind.items !== undefined ? kind.items(ans) : list(ans[kind.set])
  } catch (err) {
    main.replaceChildren(h('h2', {}, kind.title), errorNotice(err), cliList)
    return
  }
  const id = parts[1]
  if (id !== undefined) {
    const item = items.find((i) => path(i, kind.idField) === id)
    const forms = h('div')
    main.replaceChildren(
      h('p', {}, h('a', { href: `#/resources/${kind.key}` }, `← ${kind.title}`)),
      h('h2', {}, id),
      item === undefined ? notice('error', `${id} was not found (deleted?).`) : describeItem(item),
      h(
        'div',
        { class: 'buttons' },
        item !== undefined && kind.edit !== undefined
          ? h(
              'button',
              { type: 'button', onclick: () => forms.replaceChildren(actionForm(kind.edit!, item, reload)) },
              'Edit',
            )
          : null,
        ' ',
        item !== undefined && kind.remove !== undefined
          ? h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  forms.replaceChildren(
                    confirmAction(kind.remove![0], { [kind.remove![1]]: id }, () => {
                      location.hash = `#/resources/${kind.key}`
                    }),
                  ),
              },
              'Delete',
            )
          : null,
      ),
      forms,
      item !== undefined && kind.detail !== undefined ? kind.detail(item, reload) : '',
    )
    return
  }
  const forms = h('div')
  main.replaceChildren(
    h('h2', {}, kind.title),
    kind.create !== undefined
      ? h(
          'button',
          { type: 'button', onclick: () => forms.replaceChildren(actionForm(kind.create!, null, reload)) },
          `Create ${kind.title.replace(/s$/, '').toLowerCase()}`,
        )
      : h('p', { class: 'muted' }, 'Registered by the agents; read only here.'),
    forms,
    table(
      kind.title,
      kind.columns.map(([label, get]) => ({ label, get })),
      items,
      { onOpen: (i) => (location.hash = `#/resources/${kind.key}/${path(i, kind.idField)}`) },
    ),
    cliList,
  )
}
