// SPDX-License-Identifier: Apache-2.0
/**
 * What clients (the AWS CLI, SDKs, Terraform's AWS provider) read about the region and account
 * before or around the resources: DescribeRegions (the server's one region), DescribeAvailabilityZones
 * (its zones), DescribeAccountAttributes, and DescribeRouteTables (each VPC's main route table, with
 * its local route and main association; mirrorflow routes nothing itself, so there are no others).
 * @module
 */
import { createHash } from 'node:crypto'
import { ApiError, type ControlPlane, type Tag, type Vpc } from '../../../control/index.ts'
import {
  byIds,
  compileFilters,
  page,
  readFilters,
  readPaging,
  type FilterField,
} from '../../protocols/ec2-query/describe.ts'
import { L, toXml, type Node } from '../../protocols/ec2-query/xml.ts'
import type { Handler } from './context.ts'

/** A row some Describe lists that is not a stored resource: computed, ordered by `seq`. */
interface Row {
  seq: number
  tags: Tag[]
}

function listed<R extends Row>(
  ctx: Parameters<Handler>[0],
  o: {
    idParam: string
    rows: R[]
    idOf: (r: R) => string
    notFound: (id: string) => ApiError
    fields: Record<string, FilterField<R>>
    wrapper: [string, string]
    shape: (r: R) => Node[]
    paged: boolean
  },
): string {
  const p = ctx.p
  const ids = p.list(o.idParam)
  const filters = readFilters(p, new Set(Object.keys(o.fields)), o.paged)
  const paging = o.paged ? readPaging(p, ctx.action) : { after: 0, scope: '' }
  ctx.ready()
  const byId = new Map(o.rows.map((r) => [o.idOf(r), r]))
  const items = byIds(ids, o.rows, (id) => {
    const r = byId.get(id)
    if (r === undefined) throw o.notFound(id.slice(0, 64))
    return r
  })
  const res = page(items, compileFilters(filters, o.fields), paging)
  return toXml([
    [o.wrapper[0], o.wrapper[1], L(res.items.map(o.shape))],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

interface Zone extends Row {
  zoneName: string
  zoneId: string
}

const describeAvailabilityZones: Handler = (ctx) => {
  const cp = ctx.cp
  const zoneIds = ctx.p.list('ZoneId')
  ctx.p.bool('AllAvailabilityZones')
  const zones: Zone[] = cp.ec2.vpcs
    .availabilityZones()
    .map((z, i) => ({ seq: i + 1, tags: [], zoneName: z, zoneId: cp.ec2.vpcs.azId(z) }))
  const byZoneId = new Map(zones.map((z) => [z.zoneId, z]))
  for (const id of zoneIds)
    if (!byZoneId.has(id))
      throw new ApiError('InvalidParameterValue', `Invalid availability zone: [${id.slice(0, 64)}]`)
  const wanted = new Set(zoneIds)
  return listed(ctx, {
    idParam: 'ZoneName',
    rows: zones.filter((z) => wanted.size === 0 || wanted.has(z.zoneId)),
    idOf: (z) => z.zoneName,
    notFound: (id) => new ApiError('InvalidParameterValue', `Invalid availability zone: [${id}]`),
    fields: {
      'group-name': () => cp.region,
      message: () => undefined,
      'network-border-group': () => cp.region,
      'opt-in-status': () => 'opt-in-not-required',
      'region-name': () => cp.region,
      state: () => 'available',
      'zone-id': (z) => z.zoneId,
      'zone-name': (z) => z.zoneName,
      'zone-type': () => 'availability-zone',
    },
    wrapper: ['availabilityZoneInfo', 'AvailabilityZones'],
    shape: (z) => [
      ['zoneName', 'ZoneName', z.zoneName],
      ['zoneState', 'State', 'available'],
      ['regionName', 'RegionName', cp.region],
      ['zoneId', 'ZoneId', z.zoneId],
      ['messageSet', 'Messages', L([])],
      ['optInStatus', 'OptInStatus', 'opt-in-not-required'],
      ['groupName', 'GroupName', cp.region],
      ['networkBorderGroup', 'NetworkBorderGroup', cp.region],
      ['zoneType', 'ZoneType', 'availability-zone'],
    ],
    paged: false,
  })
}

interface Region extends Row {
  regionName: string
}

const describeRegions: Handler = (ctx) => {
  const cp = ctx.cp
  ctx.p.bool('AllRegions')
  const endpoint = `ec2.${cp.region}.amazonaws.com`
  return listed<Region>(ctx, {
    idParam: 'RegionName',
    rows: [{ seq: 1, tags: [], regionName: cp.region }],
    idOf: (r) => r.regionName,
    notFound: (id) => new ApiError('InvalidParameterValue', `Invalid region: ${id}`),
    fields: {
      endpoint: () => endpoint,
      'opt-in-status': () => 'opt-in-not-required',
      'region-name': (r) => r.regionName,
    },
    wrapper: ['regionInfo', 'Regions'],
    shape: (r) => [
      ['regionName', 'RegionName', r.regionName],
      ['regionEndpoint', 'Endpoint', endpoint],
      ['optInStatus', 'OptInStatus', 'opt-in-not-required'],
    ],
    paged: false,
  })
}

/** The account attributes EC2 answers, with mirrorflow's values. */
function accountAttributes(cp: ControlPlane): [string, string[]][] {
  const q = cp.ec2.quotas
  return [
    ['supported-platforms', ['VPC']],
    ['default-vpc', ['none']],
    ['max-instances', [String(q.instancesPerAccount)]],
    ['vpc-max-security-groups-per-interface', [String(q.securityGroupsPerInterface)]],
    ['max-elastic-ips', ['0']],
    ['vpc-max-elastic-ips', ['0']],
  ]
}

const describeAccountAttributes: Handler = (ctx) => {
  const names = ctx.p.list('AttributeName')
  ctx.ready()
  const all = accountAttributes(ctx.cp)
  for (const n of names) {
    if (!all.some(([k]) => k === n))
      throw new ApiError(
        'InvalidParameterValue',
        `Value (${n.slice(0, 64)}) for parameter attributeName is invalid.`,
      )
  }
  const rows = names.length === 0 ? all : all.filter(([k]) => names.includes(k))
  return toXml([
    [
      'accountAttributeSet',
      'AccountAttributes',
      L(
        rows.map(([k, vs]): Node[] => [
          ['attributeName', 'AttributeName', k],
          [
            'attributeValueSet',
            'AttributeValues',
            L(vs.map((v): Node[] => [['attributeValue', 'AttributeValue', v]])),
          ],
        ]),
      ),
    ],
  ])
}

function hashId(prefix: string, seed: string): string {
  return `${prefix}-${createHash('sha256').update(seed).digest('hex').slice(0, 17)}`
}

/** The main route table of a VPC (its id derives from the VPC's). */
interface RouteTable extends Row {
  id: string
  associationId: string
  vpc: Vpc
}

function routeTables(cp: ControlPlane): RouteTable[] {
  return [...cp.state.table('vpc').values()].map((vpc) => ({
    seq: vpc.seq,
    tags: [],
    id: hashId('rtb', `main-rtb|${vpc.id}`),
    associationId: hashId('rtbassoc', `main-rtbassoc|${vpc.id}`),
    vpc,
  }))
}

export function routeTableFields(cp: ControlPlane): Record<string, FilterField<RouteTable>> {
  return {
    'association.main': () => 'true',
    'association.route-table-association-id': (t) => t.associationId,
    'association.route-table-id': (t) => t.id,
    'association.subnet-id': () => undefined,
    'association.gateway-id': () => undefined,
    'owner-id': () => cp.accountId,
    'route-table-id': (t) => t.id,
    'route.destination-cidr-block': (t) => t.vpc.cidrBlock,
    'route.gateway-id': () => 'local',
    'route.origin': () => 'CreateRouteTable',
    'route.state': () => 'active',
    'vpc-id': (t) => t.vpc.id,
  }
}

const describeRouteTables: Handler = (ctx) => {
  const cp = ctx.cp
  return listed<RouteTable>(ctx, {
    idParam: 'RouteTableId',
    rows: routeTables(cp),
    idOf: (t) => t.id,
    notFound: (id) =>
      new ApiError('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`),
    fields: routeTableFields(cp),
    wrapper: ['routeTableSet', 'RouteTables'],
    shape: (t) => [
      ['routeTableId', 'RouteTableId', t.id],
      ['vpcId', 'VpcId', t.vpc.id],
      ['ownerId', 'OwnerId', cp.accountId],
      [
        'routeSet',
        'Routes',
        L([
          [
            ['destinationCidrBlock', 'DestinationCidrBlock', t.vpc.cidrBlock],
            ['gatewayId', 'GatewayId', 'local'],
            ['state', 'State', 'active'],
            ['origin', 'Origin', 'CreateRouteTable'],
          ],
        ]),
      ],
      [
        'associationSet',
        'Associations',
        L([
          [
            ['routeTableAssociationId', 'RouteTableAssociationId', t.associationId],
            ['routeTableId', 'RouteTableId', t.id],
            ['main', 'Main', true],
            ['associationState', 'AssociationState', [['state', 'State', 'associated']]],
          ],
        ]),
      ],
      ['propagatingVgwSet', 'PropagatingVgws', L([])],
      ['tagSet', 'Tags', L([])],
    ],
    paged: true,
  })
}

/** The region and account actions. */
export const REGION_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['DescribeAvailabilityZones', describeAvailabilityZones],
  ['DescribeRegions', describeRegions],
  ['DescribeAccountAttributes', describeAccountAttributes],
  ['DescribeRouteTables', describeRouteTables],
]
