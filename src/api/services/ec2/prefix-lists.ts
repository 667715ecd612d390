// SPDX-License-Identifier: Apache-2.0
/**
 * EC2 managed-prefix-list actions: CreateManagedPrefixList, DescribeManagedPrefixLists (filters
 * `prefix-list-id`, `prefix-list-name`, `owner-id`, tags), GetManagedPrefixListEntries (the current
 * version or a kept earlier one), ModifyManagedPrefixList, RestoreManagedPrefixListVersion,
 * DeleteManagedPrefixList and
 * GetManagedPrefixListAssociations (the security groups whose rules reference the list). Only
 * customer-managed lists exist: mirrorflow has no AWS-managed (`com.amazonaws.…`) lists. Every
 * change is complete when the call returns (`create-complete`, `modify-complete`); a deleted list
 * is answered once as `delete-in-progress` and is gone at once.
 * @module
 */
import type { ControlPlane, ManagedPrefixList } from '../../../control/index.ts'
import { page, readPaging } from '../../protocols/ec2-query/describe.ts'
import type { FilterField } from '../../protocols/ec2-query/describe.ts'
import type { Params } from '../../protocols/ec2-query/params.ts'
import { L, toXml, type Node } from '../../protocols/ec2-query/xml.ts'
import { describe, readTagSpecs, type Handler } from './context.ts'
import { tagSet } from './shapes.ts'

export function prefixListShape(cp: ControlPlane, pl: ManagedPrefixList, state: string = pl.state): Node[] {
  return [
    ['prefixListId', 'PrefixListId', pl.id],
    ['addressFamily', 'AddressFamily', pl.addressFamily],
    ['state', 'State', state],
    ['stateMessage', 'StateMessage', pl.stateMessage],
    ['prefixListArn', 'PrefixListArn', `arn:aws:ec2:${cp.region}:${cp.accountId}:prefix-list/${pl.id}`],
    ['prefixListName', 'PrefixListName', pl.prefixListName],
    ['maxEntries', 'MaxEntries', pl.maxEntries],
    ['version', 'Version', pl.version],
    tagSet(pl.tags),
    ['ownerId', 'OwnerId', cp.accountId],
  ]
}

function readEntries(
  p: Params,
  name: string,
): Array<{ cidr: string | undefined; description: string | undefined }> {
  return p.structs(name).map((s) => {
    const v = { cidr: s.str('Cidr'), description: s.str('Description') }
    s.done()
    return v
  })
}

const createManagedPrefixList: Handler = (ctx) => {
  const p = ctx.p
  const input = {
    prefixListName: p.str('PrefixListName'),
    addressFamily: p.str('AddressFamily'),
    maxEntries: p.int('MaxEntries'),
    entries: readEntries(p, 'Entry'),
  }
  const tags = readTagSpecs(p, 'prefix-list')
  p.str('ClientToken')
  ctx.ready()
  const pl = ctx.cp.ec2.prefixLists.createList(input, tags, ctx.idem())
  return toXml([['prefixList', 'PrefixList', prefixListShape(ctx.cp, pl)]])
}

function prefixListFields(cp: ControlPlane): Record<string, FilterField<ManagedPrefixList>> {
  return {
    'owner-id': () => cp.accountId,
    'prefix-list-id': (pl) => pl.id,
    'prefix-list-name': (pl) => pl.prefixListName,
  }
}

const describeManagedPrefixLists: Handler = (ctx) =>
  describe(ctx, {
    idParam: 'PrefixListId',
    all: () => ctx.cp.state.table('prefix-list').values(),
    lookup: (id) => ctx.cp.ec2.prefixLists.list(id),
    fields: prefixListFields(ctx.cp),
    wrapper: ['prefixListSet', 'PrefixLists'],
    shape: (pl) => prefixListShape(ctx.cp, pl),
    maxResults: [1, 100],
  })

const getManagedPrefixListEntries: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('PrefixListId', true)
  const target = p.int('TargetVersion')
  const paging = readPaging(p, ctx.action, 1, 100)
  ctx.ready()
  const pls = ctx.cp.ec2.prefixLists
  const pl = pls.list(id)
  const entries = pls.entriesAt(pl, target).map((e, i) => ({ ...e, seq: i + 1 }))
  const res = page(entries, () => true, paging)
  return toXml([
    [
      'entrySet',
      'Entries',
      L(
        res.items.map((e): Node[] => [
          ['cidr', 'Cidr', e.cidr],
          ['description', 'Description', e.description],
        ]),
      ),
    ],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

const modifyManagedPrefixList: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('PrefixListId', true)
  const input = {
    currentVersion: p.int('CurrentVersion'),
    prefixListName: p.str('PrefixListName'),
    maxEntries: p.int('MaxEntries'),
    addEntries: readEntries(p, 'AddEntry'),
    removeEntries: p.structs('RemoveEntry').map((s) => {
      const v = { cidr: s.str('Cidr') }
      s.done()
      return v
    }),
  }
  ctx.ready()
  const pls = ctx.cp.ec2.prefixLists
  const pl = pls.modifyList(pls.list(id), input)
  return toXml([['prefixList', 'PrefixList', prefixListShape(ctx.cp, pl)]])
}

const restoreManagedPrefixListVersion: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('PrefixListId', true)
  const previous = p.int('PreviousVersion', true)
  const current = p.int('CurrentVersion', true)
  ctx.ready()
  const pls = ctx.cp.ec2.prefixLists
  const pl = pls.restoreVersion(pls.list(id), previous, current)
  return toXml([['prefixList', 'PrefixList', prefixListShape(ctx.cp, pl)]])
}

const deleteManagedPrefixList: Handler = (ctx) => {
  const id = ctx.p.str('PrefixListId', true)
  ctx.ready()
  const pls = ctx.cp.ec2.prefixLists
  const pl = pls.list(id)
  pls.deleteList(pl)
  return toXml([['prefixList', 'PrefixList', prefixListShape(ctx.cp, pl, 'delete-in-progress')]])
}

const getManagedPrefixListAssociations: Handler = (ctx) => {
  const p = ctx.p
  const id = p.str('PrefixListId', true)
  const paging = readPaging(p, ctx.action, 5, 255)
  ctx.ready()
  const pls = ctx.cp.ec2.prefixLists
  const groups = pls.associations(pls.list(id)).map((g, i) => ({ groupId: g, seq: i + 1 }))
  const res = page(groups, () => true, paging)
  return toXml([
    [
      'prefixListAssociationSet',
      'PrefixListAssociations',
      L(
        res.items.map((a): Node[] => [
          ['resourceId', 'ResourceId', a.groupId],
          ['resourceOwner', 'ResourceOwner', ctx.cp.accountId],
        ]),
      ),
    ],
    ['nextToken', 'NextToken', res.nextToken],
  ])
}

/** The managed-prefix-list actions. */
export const PREFIX_LIST_ACTIONS: ReadonlyArray<[string, Handler]> = [
  ['CreateManagedPrefixList', createManagedPrefixList],
  ['DescribeManagedPrefixLists', describeManagedPrefixLists],
  ['GetManagedPrefixListEntries', getManagedPrefixListEntries],
  ['ModifyManagedPrefixList', modifyManagedPrefixList],
  ['RestoreManagedPrefixListVersion', restoreManagedPrefixListVersion],
  ['DeleteManagedPrefixList', deleteManagedPrefixList],
  ['GetManagedPrefixListAssociations', getManagedPrefixListAssociations],
]
