// SPDX-License-Identifier: Apache-2.0
// test-group: process
/**
 * Customer-managed prefix lists through the real AWS CLI (/usr/bin/aws, batched by `AwsBatch`):
 * every action once with its happy path and its documented errors pinned to one code, and
 * security-group rules by prefix list (`PrefixListIds` in Authorize/Revoke, DescribeSecurityGroups,
 * DescribeSecurityGroupRules), with the list's `MaxEntries` weighed in the rule quota.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  cliEnv,
  idPattern,
  startApiTestServer,
  type ApiTestServer,
  type CliResult,
} from '../helpers/api-server.ts'
import { AwsBatch } from '../helpers/aws-batch.ts'

let srv: ApiTestServer
let cli: AwsBatch
let vpcId: string

async function ok(...args: string[]): Promise<Record<string, unknown>> {
  const r = await cli.run(...args)
  assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return (r.json ?? {}) as Record<string, unknown>
}

function failed(r: CliResult, code: string, operation: string): void {
  assert.equal(r.code, 254, `want exit 254, got ${r.code}: ${r.stderr}${r.stdout}`)
  const m =
    /An error occurred \(([^)]+)\) when calling the (\w+) operation(?: \(reached max retries: \d+\))?: (.*)/.exec(
      r.stderr,
    )
  assert.ok(m, `no service error on stderr: ${r.stderr}`)
  assert.equal(m[1], code, r.stderr)
  assert.equal(m[2], operation)
  assert.notEqual(m[3]!.trim(), '')
}

async function fails(code: string, operation: string, ...args: string[]): Promise<void> {
  failed(await cli.run(...args), code, operation)
}

interface PrefixListJson {
  PrefixListId: string
  AddressFamily: string
  State: string
  StateMessage?: string
  PrefixListArn: string
  PrefixListName: string
  MaxEntries: number
  Version: number
  Tags: Array<{ Key: string; Value: string }>
  OwnerId: string
}

const list = (o: Record<string, unknown>): PrefixListJson => o.PrefixList as PrefixListJson

before(async () => {
  srv = await startApiTestServer({ prefix: 'mf-api-pl-cli' })
  cli = new AwsBatch(cliEnv(srv.dataDir), srv.url)
  vpcId = ((await ok('ec2', 'create-vpc', '--cidr-block', '10.60.0.0/16')).Vpc as { VpcId: string }).VpcId
})

after(async () => {
  await cli?.close()
  await srv?.close()
})

test('managed prefix lists through the CLI: create, describe, entries, modify with versions, associations, delete, and their errors', async () => {
  const created = list(
    await ok(
      'ec2',
      'create-managed-prefix-list',
      '--prefix-list-name',
      'corp',
      '--address-family',
      'IPv4',
      '--max-entries',
      '5',
      '--entries',
      'Cidr=10.1.0.0/16,Description=office',
      'Cidr=192.0.2.0/24',
      '--tag-specifications',
      'ResourceType=prefix-list,Tags=[{Key=team,Value=net}]',
    ),
  )
  const id = created.PrefixListId
  assert.match(id, idPattern('pl'))
  assert.deepEqual(
    [created.State, created.Version, created.MaxEntries, created.AddressFamily, created.PrefixListName],
    ['create-complete', 1, 5, 'IPv4', 'corp'],
  )
  assert.equal(created.PrefixListArn, `arn:aws:ec2:us-east-1:${created.OwnerId}:prefix-list/${id}`)
  assert.deepEqual(created.Tags, [{ Key: 'team', Value: 'net' }])
  const v6 = list(
    await ok(
      'ec2',
      'create-managed-prefix-list',
      '--prefix-list-name',
      'corp6',
      '--address-family',
      'IPv6',
      '--max-entries',
      '2',
      '--entries',
      'Cidr=2001:db8::/32',
    ),
  ).PrefixListId

  const create = (...extra: string[]) => ['ec2', 'create-managed-prefix-list', ...extra]
  const base = ['--prefix-list-name', 'x', '--max-entries', '2']
  await fails(
    'InvalidParameterValue',
    'CreateManagedPrefixList',
    ...create(...base, '--address-family', 'IPv5'),
  )
  await fails(
    'InvalidParameterValue',
    'CreateManagedPrefixList',
    ...create('--prefix-list-name', 'x', '--max-entries', '1001', '--address-family', 'IPv4'),
  )
  await fails(
    'InvalidParameterValue',
    'CreateManagedPrefixList',
    ...create(...base, '--address-family', 'IPv4', '--entries', 'Cidr=2001:db8::/32'),
  )
  await fails(
    'InvalidParameterValue',
    'CreateManagedPrefixList',
    ...create(...base, '--address-family', 'IPv4', '--entries', 'Cidr=10.0.0.1/16'),
  )
  await fails(
    'InvalidParameterValue',
    'CreateManagedPrefixList',
    ...create(
      '--prefix-list-name',
      'com.amazonaws.us-east-1.s3',
      '--max-entries',
      '2',
      '--address-family',
      'IPv4',
    ),
  )
  await fails(
    'InvalidParameterValue',
    'CreateManagedPrefixList',
    ...create(
      ...base,
      '--address-family',
      'IPv4',
      '--entries',
      `Cidr=10.0.0.0/8,Description=${'d'.repeat(256)}`,
    ),
  )
  await fails(
    'PrefixListMaxEntriesExceeded',
    'CreateManagedPrefixList',
    ...create(
      ...base,
      '--address-family',
      'IPv4',
      '--entries',
      'Cidr=10.0.0.0/8',
      'Cidr=172.16.0.0/12',
      'Cidr=192.168.0.0/16',
    ),
  )

  // Describe: by id, by each filter; unknown and malformed ids.
  const described = (await ok('ec2', 'describe-managed-prefix-lists', '--prefix-list-ids', id))
    .PrefixLists as PrefixListJson[]
  assert.deepEqual(described, [created])
  for (const [name, value, want] of [
    ['prefix-list-name', 'corp6', [v6]],
    ['prefix-list-id', id, [id]],
    ['owner-id', created.OwnerId, [id, v6]],
  ] as const) {
    const got = (
      (await ok('ec2', 'describe-managed-prefix-lists', '--filters', `Name=${name},Values=${value}`))
        .PrefixLists as PrefixListJson[]
    ).map((p) => p.PrefixListId)
    assert.deepEqual(got, want, name)
  }
  await fails(
    'InvalidPrefixListID.NotFound',
    'DescribeManagedPrefixLists',
    'ec2',
    'describe-managed-prefix-lists',
    '--prefix-list-ids',
    'pl-0123456789abcdef0',
  )
  await fails(
    'InvalidPrefixListId.Malformed',
    'GetManagedPrefixListEntries',
    'ec2',
    'get-managed-prefix-list-entries',
    '--prefix-list-id',
    'pl-xyz',
  )
  const entries = async (...extra: string[]) =>
    (await ok('ec2', 'get-managed-prefix-list-entries', '--prefix-list-id', id, ...extra)).Entries
  assert.deepEqual(await entries(), [
    { Cidr: '10.1.0.0/16', Description: 'office' },
    { Cidr: '192.0.2.0/24' },
  ])

  // Modify: a new version per change of the entries; the name alone keeps it.
  const modify = (...extra: string[]) => [
    'ec2',
    'modify-managed-prefix-list',
    '--prefix-list-id',
    id,
    ...extra,
  ]
  const m1 = list(
    await ok(...modify('--current-version', '1', '--add-entries', 'Cidr=198.51.100.0/24,Description=lab')),
  )
  assert.deepEqual([m1.State, m1.Version], ['modify-complete', 2])
  assert.deepEqual(await entries('--target-version', '1'), [
    { Cidr: '10.1.0.0/16', Description: 'office' },
    { Cidr: '192.0.2.0/24' },
  ])
  assert.equal(((await entries()) as unknown[]).length, 3)
  const renamed = list(await ok(...modify('--prefix-list-name', 'corp-nets')))
  assert.deepEqual([renamed.PrefixListName, renamed.Version], ['corp-nets', 2])
  await fails(
    'PrefixListVersionMismatch',
    'ModifyManagedPrefixList',
    ...modify('--current-version', '1', '--add-entries', 'Cidr=203.0.113.0/24'),
  )
  await fails(
    'InvalidPrefixListModification',
    'ModifyManagedPrefixList',
    ...modify('--add-entries', 'Cidr=192.0.2.0/24'),
  )
  await fails(
    'InvalidPrefixListModification',
    'ModifyManagedPrefixList',
    ...modify('--remove-entries', 'Cidr=203.0.113.0/24'),
  )
  await fails(
    'InvalidParameterValue',
    'ModifyManagedPrefixList',
    ...modify('--add-entries', 'Cidr=203.0.113.0/24', '--remove-entries', 'Cidr=203.0.113.0/24'),
  )
  await fails(
    'InvalidParameterCombination',
    'ModifyManagedPrefixList',
    ...modify('--add-entries', 'Cidr=203.0.113.0/24', '--max-entries', '10'),
  )
  await fails(
    'PrefixListMaxEntriesExceeded',
    'ModifyManagedPrefixList',
    ...modify('--add-entries', 'Cidr=203.0.113.0/24', 'Cidr=203.0.113.128/25', 'Cidr=100.64.0.0/10'),
  )
  await fails(
    'InvalidParameterValue',
    'ModifyManagedPrefixList',
    'ec2',
    'modify-managed-prefix-list',
    '--prefix-list-id',
    v6,
    '--add-entries',
    'Cidr=10.9.0.0/16',
  )
  await fails(
    'InvalidPrefixListID.NotFound',
    'ModifyManagedPrefixList',
    'ec2',
    'modify-managed-prefix-list',
    '--prefix-list-id',
    'pl-0123456789abcdef0',
    '--prefix-list-name',
    'x',
  )
  const m2 = list(await ok(...modify('--current-version', '2', '--remove-entries', 'Cidr=192.0.2.0/24')))
  assert.equal(m2.Version, 3)
  assert.deepEqual(await entries(), [
    { Cidr: '10.1.0.0/16', Description: 'office' },
    { Cidr: '198.51.100.0/24', Description: 'lab' },
  ])

  // Restoring an earlier version makes the next one.
  const restore = (prev: string, cur: string) => [
    'ec2',
    'restore-managed-prefix-list-version',
    '--prefix-list-id',
    id,
    '--previous-version',
    prev,
    '--current-version',
    cur,
  ]
  await fails('PrefixListVersionMismatch', 'RestoreManagedPrefixListVersion', ...restore('1', '2'))
  const restored = list(await ok(...restore('1', '3')))
  assert.deepEqual([restored.State, restored.Version], ['restore-complete', 4])
  assert.deepEqual(await entries(), await entries('--target-version', '1'))
  assert.deepEqual(await entries('--target-version', '3'), [
    { Cidr: '10.1.0.0/16', Description: 'office' },
    { Cidr: '198.51.100.0/24', Description: 'lab' },
  ])

  // Rules by prefix list: authorize, describe both ways, associations; deletion refused while referenced.
  const sg = (
    await ok('ec2', 'create-security-group', '--group-name', 'pl', '--description', 'pl', '--vpc-id', vpcId)
  ).GroupId as string
  const a = await ok(
    'ec2',
    'authorize-security-group-ingress',
    '--group-id',
    sg,
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=22,ToPort=22,PrefixListIds=[{PrefixListId=${id},Description=corp-ssh}]`,
  )
  const rule = (a.SecurityGroupRules as Array<Record<string, unknown>>)[0]!
  assert.deepEqual(
    [rule.PrefixListId, rule.IpProtocol, rule.FromPort, rule.ToPort, rule.CidrIpv4, rule.Description],
    [id, 'tcp', 22, 22, undefined, 'corp-ssh'],
  )
  await fails(
    'InvalidPermission.Duplicate',
    'AuthorizeSecurityGroupIngress',
    'ec2',
    'authorize-security-group-ingress',
    '--group-id',
    sg,
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=22,ToPort=22,PrefixListIds=[{PrefixListId=${id}}]`,
  )
  await ok(
    'ec2',
    'authorize-security-group-egress',
    '--group-id',
    sg,
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{PrefixListId=${v6}}]`,
  )
  const group = (
    (await ok('ec2', 'describe-security-groups', '--group-ids', sg)).SecurityGroups as Array<{
      IpPermissions: Array<Record<string, unknown>>
      IpPermissionsEgress: Array<Record<string, unknown>>
    }>
  )[0]!
  assert.deepEqual(group.IpPermissions, [
    {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      UserIdGroupPairs: [],
      IpRanges: [],
      Ipv6Ranges: [],
      PrefixListIds: [{ PrefixListId: id, Description: 'corp-ssh' }],
    },
  ])
  assert.deepEqual(group.IpPermissionsEgress.find((p) => p.FromPort === 443)?.PrefixListIds, [
    { PrefixListId: v6 },
  ])
  const rules = (await ok('ec2', 'describe-security-group-rules', '--filters', `Name=group-id,Values=${sg}`))
    .SecurityGroupRules as Array<Record<string, unknown>>
  assert.deepEqual(
    rules.filter((r) => r.PrefixListId !== undefined).map((r) => [r.PrefixListId, r.IsEgress]),
    [
      [id, false],
      [v6, true],
    ],
  )
  const assoc = await ok('ec2', 'get-managed-prefix-list-associations', '--prefix-list-id', id)
  assert.deepEqual(assoc.PrefixListAssociations, [{ ResourceId: sg, ResourceOwner: created.OwnerId }])
  await fails(
    'DependencyViolation',
    'DeleteManagedPrefixList',
    'ec2',
    'delete-managed-prefix-list',
    '--prefix-list-id',
    id,
  )

  // The quota: a rule by prefix list weighs its list's MaxEntries (here 5 + 56 > 60).
  const big = list(
    await ok(
      'ec2',
      'create-managed-prefix-list',
      '--prefix-list-name',
      'big',
      '--address-family',
      'IPv4',
      '--max-entries',
      '56',
    ),
  ).PrefixListId
  await fails(
    'RulesPerSecurityGroupLimitExceeded',
    'AuthorizeSecurityGroupIngress',
    'ec2',
    'authorize-security-group-ingress',
    '--group-id',
    sg,
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=80,ToPort=80,PrefixListIds=[{PrefixListId=${big}}]`,
  )
  await ok(...modify('--max-entries', '4'))
  await ok(
    'ec2',
    'authorize-security-group-ingress',
    '--group-id',
    sg,
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=80,ToPort=80,PrefixListIds=[{PrefixListId=${big}}]`,
  )
  // Raising MaxEntries past what a referencing group can hold: accepted, the resize fails.
  const failedResize = list(await ok(...modify('--max-entries', '5')))
  assert.deepEqual([failedResize.State, failedResize.MaxEntries], ['modify-failed', 4])
  assert.match(failedResize.StateMessage ?? '', new RegExp(sg))

  // Revoke by prefix list, then the lists go.
  await ok(
    'ec2',
    'revoke-security-group-ingress',
    '--group-id',
    sg,
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=22,ToPort=22,PrefixListIds=[{PrefixListId=${id}}]`,
  )
  assert.deepEqual(
    (await ok('ec2', 'get-managed-prefix-list-associations', '--prefix-list-id', id)).PrefixListAssociations,
    [],
  )
  const deleted = list(await ok('ec2', 'delete-managed-prefix-list', '--prefix-list-id', id))
  assert.deepEqual([deleted.PrefixListId, deleted.State], [id, 'delete-in-progress'])
  await fails(
    'InvalidPrefixListID.NotFound',
    'DeleteManagedPrefixList',
    'ec2',
    'delete-managed-prefix-list',
    '--prefix-list-id',
    id,
  )
  await fails(
    'InvalidPrefixListID.NotFound',
    'AuthorizeSecurityGroupIngress',
    'ec2',
    'authorize-security-group-ingress',
    '--group-id',
    sg,
    '--ip-permissions',
    `IpProtocol=tcp,FromPort=23,ToPort=23,PrefixListIds=[{PrefixListId=${id}}]`,
  )
})
