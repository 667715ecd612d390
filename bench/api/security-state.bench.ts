// SPDX-License-Identifier: Apache-2.0
/**
 * bench/api/security-state: what the server pays to tell agents their security groups, in-process
 * (no HTTP): BENCH_INSTANCES (default 1,000) instances of one interface each, all in one group of
 * 60 inbound rules — 59 by CIDR block and one referencing the group itself, so every instance's
 * state carries the addresses of all the others — then the desired state of every instance, as the
 * long-poll flush computes it after one change. Output: one JSON line
 * (`{instances, rulesPerGroup, registerMs, allStatesMs, bytesPerState}`).
 * Run: `node --import tsx bench/api/security-state.bench.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ControlPlane, SqliteStore, desiredState } from '../../src/control/index.ts'

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1000)
const dir = mkdtempSync(join(tmpdir(), 'mf-bench-sg-'))
try {
  const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
  const vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
  cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.0.0/16' }, [])
  const g = cp.ec2.securityGroups.createGroup(
    { groupName: 'web', description: 'web', vpcId: vpc.id },
    [],
    (id) => cp.ec2.vpcs.vpc(id),
  ).group
  cp.ec2.securityGroups.authorize(
    g,
    false,
    [
      {
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        peers: Array.from({ length: 59 }, (_, i) => ({ cidrIp: `172.16.${i}.0/24` })),
      },
      { ipProtocol: '-1', peers: [{ groupId: g.id }] },
    ],
    [],
  )
  const ids: string[] = []
  let t = performance.now()
  for (let i = 0; i < INSTANCES; i++) {
    const r = cp.ec2.instances.registerInstance({
      hostname: `h${i}`,
      interfaces: [{ deviceName: 'eth0', privateIpAddress: `10.0.${4 + (i >> 8)}.${i & 255}` }],
    })
    cp.ec2.interfaces.modifyAttribute(r.interfaces[0]!.id, { groupIds: [g.id] })
    ids.push(r.instance.id)
  }
  const registerMs = performance.now() - t
  t = performance.now()
  let bytes = 0
  for (const id of ids) bytes += JSON.stringify(desiredState(cp.ec2, id)).length
  const allStatesMs = performance.now() - t
  cp.close()
  process.stdout.write(
    JSON.stringify({
      instances: INSTANCES,
      rulesPerGroup: 60,
      registerMs: Math.round(registerMs),
      allStatesMs: Math.round(allStatesMs),
      bytesPerState: Math.round(bytes / INSTANCES),
    }) + '\n',
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
