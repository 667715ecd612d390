// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// requestParameters / responseElements rendering, and that no secret passes into a record.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HIDDEN, isSecretName, renderRequest, renderResponse } from './render.ts'

test('EC2 form parameters nest with lower-case-first names and item lists', () => {
  const body = Buffer.from(
    'Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=cidr&Filter.1.Value.1=10.0.0.0%2F16&Filter.1.Value.2=10.1.0.0%2F16&VpcId.1=vpc-0123456789abcdef0',
  )
  assert.deepEqual(renderRequest('ec2-query', '', body), {
    filterSet: {
      items: [{ name: 'cidr', valueSet: { items: [{ value: '10.0.0.0/16' }, { value: '10.1.0.0/16' }] } }],
    },
    vpcIdSet: { items: [{ vpcId: 'vpc-0123456789abcdef0' }] },
  })
})

test('AWS Query member lists become arrays', () => {
  const body = Buffer.from(
    'Action=CreateUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=team&Tags.member.1.Value=red',
  )
  assert.deepEqual(renderRequest('aws-query', '', body), {
    userName: 'bob',
    tags: [{ key: 'team', value: 'red' }],
  })
})

test('secret-looking member names are hidden in every protocol; SigV4 query parameters are dropped', () => {
  for (const n of [
    'SecretAccessKey',
    'secretAccessKey',
    'Password',
    'NewPassword',
    'SessionToken',
    'sessionToken',
    'X_Private_Key',
    'ApiKey',
    'TokenCode',
    'client_secret',
  ]) {
    assert.equal(isSecretName(n), true, n)
  }
  for (const n of ['AccessKeyId', 'ClientToken', 'NextToken', 'PolicyDocument', 'UserName', 'RoleArn']) {
    assert.equal(isSecretName(n), false, n)
  }
  const form = renderRequest(
    'ec2-query',
    'X-Amz-Security-Token=tok&X-Amz-Signature=abc',
    Buffer.from('Action=X&Version=1&Password=hunter2&Nested.1.ClientSecret=s3cr3t&PolicyDocument=%7B%7D'),
  )
  assert.deepEqual(form, {
    password: HIDDEN,
    nestedSet: { items: [{ clientSecret: HIDDEN }] },
    policyDocument: '{}',
  })
  const json = renderRequest(
    'json-1.1',
    '',
    Buffer.from(
      JSON.stringify({
        Name: 'n',
        Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 'sss', SessionToken: 'ttt' },
      }),
    ),
  )
  assert.deepEqual(json, {
    name: 'n',
    credentials: { accessKeyId: 'ASIA1', secretAccessKey: HIDDEN, sessionToken: HIDDEN },
  })
  const adminJson = renderResponse(
    'ec2-query',
    'application/json',
    JSON.stringify({ AccessKey: { AccessKeyId: 'AKIA1', SecretAccessKey: 'abcdefSECRET' }, RequestId: 'r' }),
  )
  assert.deepEqual(adminJson, { accessKey: { accessKeyId: 'AKIA1', secretAccessKey: HIDDEN } })
  const iamXml = renderResponse(
    'aws-query',
    'text/xml',
    '<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>bob</UserName><AccessKeyId>AKIA2</AccessKeyId><SecretAccessKey>verysecret</SecretAccessKey></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></CreateAccessKeyResponse>',
  )
  assert.deepEqual(iamXml, { accessKey: { userName: 'bob', accessKeyId: 'AKIA2', secretAccessKey: HIDDEN } })
  assert.ok(
    !JSON.stringify([form, json, adminJson, iamXml]).match(/hunter2|s3cr3t|sss|ttt|SECRET|verysecret/),
  )
})

test('EC2 XML answers keep element names, item lists become {items}', () => {
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?><CreateVpcResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId><vpc><vpcId>vpc-1</vpcId><tagSet><item><key>Name</key><value>a&amp;b</value></item></tagSet></vpc></CreateVpcResponse>'
  assert.deepEqual(renderResponse('ec2-query', 'text/xml;charset=UTF-8', xml), {
    requestId: 'r1',
    vpc: { vpcId: 'vpc-1', tagSet: { items: [{ key: 'Name', value: 'a&b' }] } },
  })
})

test('bodies that cannot be parsed or are too large render as null', () => {
  assert.equal(renderRequest('json-1.1', '', Buffer.from('{not json')), null)
  assert.equal(renderRequest('ec2-query', '', Buffer.from('a=%zz')), null)
  assert.equal(renderRequest('json-1.1', '', Buffer.alloc(200 * 1024, 0x20)), null)
})
