// test-group: fast
// SPDX-License-Identifier: Apache-2.0
// The built-in policy for targets allows every call `mirrorflow target` makes — the traffic-mirroring
// reads, its registration as a packet source, its flow logs' delivery to a log group — and nothing
// that changes mirroring (a target key with it could neither register nor deliver before).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApiError, ControlPlane, SqliteStore } from '../../control/index.ts'
import type { ServiceEndpoint } from '../protocols/index.ts'
import { Authorizer } from './authorize.ts'

const ec2 = { signingName: 'ec2', protocol: 'ec2-query', iamPrefix: 'ec2' } as ServiceEndpoint
const logs = { signingName: 'logs', protocol: 'json-1.1', iamPrefix: 'logs' } as ServiceEndpoint

test('MirrorflowTargetAccess allows what a target calls, and no change to mirroring', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-target-policy-'))
  const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
  try {
    cp.iam.createUser('appliance', '/', [])
    cp.iam.attach('user', 'appliance', 'arn:aws:iam::aws:policy/mirrorflow/MirrorflowTargetAccess')
    const key = cp.iam.createAccessKey('appliance').accessKeyId
    const a = new Authorizer(cp)
    const decide = (endpoint: ServiceEndpoint, action: string, prefix?: string): string => {
      try {
        a.check(
          endpoint,
          { action, ...(prefix === undefined ? {} : { prefix }) },
          { accessKeyId: key, headers: {}, sourceIp: '127.0.0.1' },
        )
        return 'allowed'
      } catch (e) {
        assert.ok(e instanceof ApiError)
        return e.awsCode
      }
    }
    assert.equal(decide(ec2, 'DescribeTrafficMirrorSessions'), 'allowed')
    assert.equal(decide(ec2, 'DescribeStatus', 'mirrorflow'), 'allowed')
    assert.equal(decide(ec2, 'RegisterTargetAppliance', 'mirrorflow'), 'allowed')
    for (const action of ['CreateLogGroup', 'CreateLogStream', 'PutLogEvents'])
      assert.equal(decide(logs, action), 'allowed', action)
    assert.equal(decide(ec2, 'CreateTrafficMirrorSession'), 'UnauthorizedOperation')
    assert.equal(decide(ec2, 'RegisterInstance', 'mirrorflow'), 'UnauthorizedOperation')
    assert.equal(decide(logs, 'DeleteLogGroup'), 'AccessDeniedException')
  } finally {
    cp.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
