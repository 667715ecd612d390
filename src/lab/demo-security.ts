// SPDX-License-Identifier: Apache-2.0
/**
 * The demo's security groups, made through the EC2 API: the web server's group allows HTTP and
 * HTTPS from anywhere and SSH from the admin subnet only; the database's allows PostgreSQL from the
 * web server's group only; the monitoring appliance's allows the mirror traffic (UDP 4789) from the
 * VPC. The attacker's scan and SSH attempts on the web server are then dropped by the web server's
 * agent and recorded as REJECT. Afterwards, `countRejects` counts them in the delivered flow logs.
 * @module
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2'
import { LAB_SUBNETS, LAB_VPC_CIDR } from './vpc-lab.ts'

/** The admin subnet: the only one SSH to the web server is allowed from. */
export const ADMIN_SUBNET = LAB_SUBNETS.b

/** What the demo made, or why it could not (a server without the security-group actions). */
export type DemoSecurity =
  | { groups: Record<'web' | 'db' | 'monitor', string>; unavailable: null }
  | { groups: null; unavailable: string }

/** Creates the groups and puts the web server, database and monitor interfaces in them. */
export async function createDemoGroups(
  ec2: EC2Client,
  vpcId: string,
  enis: Record<'web' | 'db' | 'monitor', string>,
): Promise<DemoSecurity> {
  const make = async (name: string, description: string): Promise<string> => {
    const r = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: name, Description: description, VpcId: vpcId }),
    )
    return r.GroupId!
  }
  try {
    const web = await make('demo-web', 'web server: HTTP/HTTPS from anywhere, SSH from the admin subnet')
    const db = await make('demo-db', 'database: PostgreSQL from the web servers only')
    const monitor = await make('demo-monitor', 'mirror target: VXLAN from the VPC')
    const tcp = (port: number, cidr: string) => ({
      IpProtocol: 'tcp',
      FromPort: port,
      ToPort: port,
      IpRanges: [{ CidrIp: cidr }],
    })
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: web,
        IpPermissions: [tcp(80, '0.0.0.0/0'), tcp(443, '0.0.0.0/0'), tcp(22, ADMIN_SUBNET)],
      }),
    )
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: db,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: web }] },
        ],
      }),
    )
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: monitor,
        IpPermissions: [
          { IpProtocol: 'udp', FromPort: 4789, ToPort: 4789, IpRanges: [{ CidrIp: LAB_VPC_CIDR }] },
        ],
      }),
    )
    for (const [k, g] of [
      ['web', web],
      ['db', db],
      ['monitor', monitor],
    ] as const)
      await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: enis[k], Groups: [g] }))
    return { groups: { web, db, monitor }, unavailable: null }
  } catch (err) {
    const e = err as Error & { Code?: string; name?: string }
    return { groups: null, unavailable: `${e.Code ?? e.name ?? 'Error'}: ${e.message}` }
  }
}

/** REJECT records and their packets in delivered flow-log objects (default format: action is field 13). */
export function countRejects(files: readonly string[]): { records: number; packets: number } {
  let records = 0
  let packets = 0
  for (const f of files) {
    const lines = gunzipSync(readFileSync(f)).toString('utf8').split('\n')
    const head = (lines[0] ?? '').split(' ')
    const act = head.indexOf('action')
    const pk = head.indexOf('packets')
    if (act < 0) continue
    for (const l of lines.slice(1)) {
      const w = l.split(' ')
      if (w[act] !== 'REJECT') continue
      records++
      packets += Number(w[pk]) || 0
    }
  }
  return { records, packets }
}
