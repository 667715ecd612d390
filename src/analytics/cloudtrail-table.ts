// SPDX-License-Identifier: Apache-2.0
/**
 * The `cloudtrail_logs` table: CloudTrail log files (`{"Records":[…]}`, gzip JSON, as trails deliver
 * them to `AWSLogs/{account}/CloudTrail/{region}/…`) with the columns of Athena's documented
 * `cloudtrail_logs` DDL: lower-case names; `useridentity`, `resources`, `addendum` and `tlsdetails`
 * as structures; `requestparameters`, `responseelements`, `additionaleventdata` and
 * `serviceeventdetails` as JSON text; every scalar as a string (`readonly` is `'true'`/`'false'`),
 * as Athena's CloudTrail SerDe reads them. Inputs: `--cloudtrail PATH…` (files or directories) and the
 * server store's buckets (`DATA_DIR/s3`), where only `…/CloudTrail/…` objects are taken (digests are
 * not events).
 * @module
 */
import { sqlString } from './engine.ts'
import { discoverFiles } from './files.ts'
import type { ColumnDef, TableDefinition, TableInputs, TablePlan } from './registry.ts'

const S = 'VARCHAR'
const ISSUER = 'STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, username VARCHAR)'
const USER_IDENTITY =
  'STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, invokedby VARCHAR, accesskeyid VARCHAR, username VARCHAR, ' +
  'onbehalfof STRUCT(userid VARCHAR, identitystorearn VARCHAR), ' +
  `sessioncontext STRUCT(attributes STRUCT(mfaauthenticated VARCHAR, creationdate VARCHAR), sessionissuer ${ISSUER}, ec2roledelivery VARCHAR, ` +
  'webidfederationdata STRUCT(federatedprovider VARCHAR, attributes MAP(VARCHAR, VARCHAR))))'
const RESOURCES = 'STRUCT(arn VARCHAR, accountid VARCHAR, type VARCHAR)[]'
const ADDENDUM =
  'STRUCT(reason VARCHAR, updatedfields VARCHAR, originalrequestid VARCHAR, originaleventid VARCHAR)'
const TLS = 'STRUCT(tlsversion VARCHAR, ciphersuite VARCHAR, clienthostheader VARCHAR)'

/** Column name, DuckDB type, Athena type, and the SQL that reads it from a record `r` (JSON). */
const COLUMNS: readonly (ColumnDef & { sql: string })[] = [
  col('eventversion', "r->>'eventVersion'"),
  {
    name: 'useridentity',
    type: USER_IDENTITY,
    athenaType:
      'struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,onbehalfof:struct<userid:string,identitystorearn:string>,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,ec2roledelivery:string,webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>',
    sql: userIdentitySql(),
  },
  col('eventtime', "r->>'eventTime'"),
  col('eventsource', "r->>'eventSource'"),
  col('eventname', "r->>'eventName'"),
  col('awsregion', "r->>'awsRegion'"),
  col('sourceipaddress', "r->>'sourceIPAddress'"),
  col('useragent', "r->>'userAgent'"),
  col('errorcode', "r->>'errorCode'"),
  col('errormessage', "r->>'errorMessage'"),
  col('requestparameters', jsonText('requestParameters')),
  col('responseelements', jsonText('responseElements')),
  col('additionaleventdata', jsonText('additionalEventData')),
  col('requestid', "r->>'requestID'"),
  col('eventid', "r->>'eventID'"),
  {
    name: 'resources',
    type: RESOURCES,
    athenaType: 'array<struct<arn:string,accountid:string,type:string>>',
    sql: `CAST(list_transform(CAST(r->'resources' AS JSON[]), x -> struct_pack(arn := x->>'ARN', accountid := x->>'accountId', type := x->>'type')) AS ${RESOURCES})`,
  },
  col('eventtype', "r->>'eventType'"),
  col('apiversion', "r->>'apiVersion'"),
  col('readonly', "r->>'readOnly'"),
  col('recipientaccountid', "r->>'recipientAccountId'"),
  col('serviceeventdetails', jsonText('serviceEventDetails')),
  col('sharedeventid', "r->>'sharedEventID'"),
  col('vpcendpointid', "r->>'vpcEndpointId'"),
  col('vpcendpointaccountid', "r->>'vpcEndpointAccountId'"),
  col('eventcategory', "r->>'eventCategory'"),
  {
    name: 'addendum',
    type: ADDENDUM,
    athenaType: 'struct<reason:string,updatedfields:string,originalrequestid:string,originaleventid:string>',
    sql: `CASE WHEN (r->'addendum') IS NULL THEN NULL ELSE struct_pack(reason := r->'addendum'->>'reason', updatedfields := r->'addendum'->>'updatedFields', originalrequestid := r->'addendum'->>'originalRequestID', originaleventid := r->'addendum'->>'originalEventID') END`,
  },
  col('sessioncredentialfromconsole', "r->>'sessionCredentialFromConsole'"),
  col('edgedevicedetails', jsonText('edgeDeviceDetails')),
  {
    name: 'tlsdetails',
    type: TLS,
    athenaType: 'struct<tlsversion:string,ciphersuite:string,clienthostheader:string>',
    sql: `CASE WHEN (r->'tlsDetails') IS NULL THEN NULL ELSE struct_pack(tlsversion := r->'tlsDetails'->>'tlsVersion', ciphersuite := r->'tlsDetails'->>'cipherSuite', clienthostheader := r->'tlsDetails'->>'clientProvidedHostHeader') END`,
  },
]

function col(name: string, sql: string): ColumnDef & { sql: string } {
  return { name, type: S, athenaType: 'string', sql }
}

/** A member kept as its JSON text (NULL when absent or null), as Athena's SerDe gives it. */
function jsonText(member: string): string {
  return `nullif(CAST(r->'${member}' AS VARCHAR), 'null')`
}

function userIdentitySql(): string {
  const u = "r->'userIdentity'"
  const sc = `${u}->'sessionContext'`
  const si = `${sc}->'sessionIssuer'`
  const wf = `${sc}->'webIdFederationData'`
  const ob = `${u}->'onBehalfOf'`
  return `CAST(struct_pack(
    type := ${u}->>'type', principalid := ${u}->>'principalId', arn := ${u}->>'arn', accountid := ${u}->>'accountId',
    invokedby := ${u}->>'invokedBy', accesskeyid := ${u}->>'accessKeyId', username := ${u}->>'userName',
    onbehalfof := CASE WHEN (${ob}) IS NULL THEN NULL ELSE struct_pack(userid := ${ob}->>'userId', identitystorearn := ${ob}->>'identityStoreArn') END,
    sessioncontext := CASE WHEN (${sc}) IS NULL THEN NULL ELSE struct_pack(
      attributes := struct_pack(mfaauthenticated := ${sc}->'attributes'->>'mfaAuthenticated', creationdate := ${sc}->'attributes'->>'creationDate'),
      sessionissuer := CASE WHEN (${si}) IS NULL THEN NULL ELSE struct_pack(type := ${si}->>'type', principalid := ${si}->>'principalId', arn := ${si}->>'arn', accountid := ${si}->>'accountId', username := ${si}->>'userName') END,
      ec2roledelivery := ${sc}->>'ec2RoleDelivery',
      webidfederationdata := CASE WHEN (${wf}) IS NULL THEN NULL ELSE struct_pack(federatedprovider := ${wf}->>'federatedProvider', attributes := CAST(${wf}->'attributes' AS MAP(VARCHAR, VARCHAR))) END) END
  ) AS ${USER_IDENTITY})`
}

export const CLOUDTRAIL_COLUMNS: readonly ColumnDef[] = COLUMNS.map(({ name, type, athenaType }) => ({
  name,
  type,
  athenaType,
}))

/** A CloudTrail log object's name (`…_CloudTrail_{region}_…json.gz`), not a digest's. */
function isTrailLogName(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1)
  return base.includes('_CloudTrail_') && (base.endsWith('.json.gz') || base.endsWith('.json'))
}

function isStoreTrailLog(path: string): boolean {
  return path.includes('/CloudTrail/') && isTrailLogName(path)
}

const PROJECTION = COLUMNS.map((c) => `${c.sql} AS ${c.name}`).join(',\n  ')

/** The CREATE VIEW statement of `cloudtrail_logs` over log files. */
export function cloudTrailViewSql(files: readonly string[], name = 'cloudtrail_logs'): string {
  if (files.length === 0) {
    return `CREATE OR REPLACE VIEW ${name} AS SELECT ${COLUMNS.map((c) => `CAST(NULL AS ${c.type}) AS ${c.name}`).join(', ')} WHERE false`
  }
  const branches: string[] = []
  for (let i = 0; i < files.length; i += 1000) {
    const slice = files.slice(i, i + 1000)
    branches.push(
      `SELECT ${PROJECTION}\nFROM (SELECT unnest(Records) AS r FROM read_json([${slice.map(sqlString).join(', ')}], columns = {Records: 'JSON[]'}, format = 'unstructured', maximum_object_size = 134217728))`,
    )
  }
  return `CREATE OR REPLACE VIEW ${name} AS\n${branches.join('\nUNION ALL\n')}`
}

export const CLOUDTRAIL_TABLE: TableDefinition = {
  name: 'cloudtrail_logs',
  description: 'CloudTrail log files (gzip JSON {"Records":[…]}) with Athena\'s cloudtrail_logs columns',
  columns: CLOUDTRAIL_COLUMNS,
  option: { flag: 'cloudtrail', description: 'CloudTrail log files or directories (.json.gz)' },
  async plan(inputs: TableInputs): Promise<TablePlan> {
    const found = [
      ...(await discoverFiles(inputs.paths, { accept: isTrailLogName })),
      ...(inputs.storeRoots.length > 0
        ? await discoverFiles(inputs.storeRoots, { accept: isStoreTrailLog })
        : []),
    ]
    const files = [...new Set(found.map((f) => f.path))]
    return { statements: [cloudTrailViewSql(files)], files, warnings: [] }
  },
}
