// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// Creating a flow log that delivers to CloudWatch Logs hands its role to the flow-logs service: as in
// AWS, the caller needs iam:PassRole on that role besides ec2:CreateFlowLogs (a flow log to S3 names
// no role and needs nothing more). The denial names iam:PassRole and the role.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApiError, ControlPlane, SqliteStore } from '../../control/index.ts'
import type { ServiceEndpoint } from '../protocols/index.ts'
import { ec2Authz } from '../services/ec2/authz.ts'
import { Authorizer } from './authorize.ts'

const ec2 = { signingName: 'ec2', protocol: 'ec2-query', iamPrefix: 'ec2' } as ServiceEndpoint
const ROLE = 'arn:aws:iam::123456789012:role/flow-logs-role'

test('CreateFlowLogs with a delivery role needs iam:PassRole on that role', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-pass-role-'))
  const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
  try {
    const flowLogs = { Effect: 'Allow', Action: 'ec2:CreateFlowLogs', Resource: '*' }
    const keyOf = (name: string, statements: object[]): string => {
      cp.iam.createUser(name, '/', [])
      cp.iam.putInline('user', name, 'p', JSON.stringify({ Version: '2012-10-17', Statement: statements }))
      return cp.iam.createAccessKey(name).accessKeyId
    }
    const without = keyOf('no-pass', [flowLogs])
    const other = keyOf('other-role', [
      flowLogs,
      { Effect: 'Allow', Action: 'iam:PassRole', Resource: 'arn:aws:iam::123456789012:role/other' },
    ])
    const withIt = keyOf('pass', [flowLogs, { Effect: 'Allow', Action: 'iam:PassRole', Resource: ROLE }])
    cp.iam.createUser('legacy-user', '/', [])
    cp.iam.attach('user', 'legacy-user', 'arn:aws:iam::aws:policy/mirrorflow/MirrorflowUserAccess')
    const userKey = cp.iam.createAccessKey('legacy-user').accessKeyId

    const a = new Authorizer(cp)
    const authz = ec2Authz(cp)
    const decide = (key: string, params: Record<string, string>): string => {
      const decl = authz('CreateFlowLogs', new Map(Object.entries(params)), key) ?? {}
      try {
        a.check(
          ec2,
          { action: 'CreateFlowLogs', ...decl },
          { accessKeyId: key, headers: {}, sourceIp: '127.0.0.1' },
        )
        return 'allowed'
      } catch (e) {
        assert.ok(e instanceof ApiError)
        return `${e.awsCode}: ${e.message.slice(0, e.message.indexOf(' Encoded') >>> 0)}`
      }
    }
    const toLogs = {
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: 'g',
      DeliverLogsPermissionArn: ROLE,
    }
    const toS3 = { LogDestinationType: 's3', LogDestination: 'arn:aws:s3:::b/' }
    assert.equal(decide(without, toS3), 'allowed')
    assert.equal(
      decide(without, toLogs),
      'UnauthorizedOperation: You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/no-pass is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/flow-logs-role because no identity-based policy allows the iam:PassRole action.',
    )
    assert.match(
      decide(other, toLogs),
      /^UnauthorizedOperation: .* iam:PassRole on resource: arn:aws:iam::123456789012:role\/flow-logs-role /,
    )
    assert.equal(decide(withIt, toLogs), 'allowed')
    assert.equal(decide(userKey, toLogs), 'allowed')
  } finally {
    cp.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
