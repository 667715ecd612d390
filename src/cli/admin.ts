// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow admin …`: mirrorflow's own API actions (docs/api.md), over HTTP to a running
 * server, signed with SigV4 like the AWS CLI. Credentials are found as the AWS CLI finds them
 * (environment, shared credentials file, `--profile`), then in the server's data directory.
 * Output is the server's JSON, printed as the AWS CLI prints (4-space indent); an error prints
 * `An error occurred (Code) when calling the Action operation: Message` and exits with 254.
 * @module
 */
import type { Command } from 'commander'
import { callAction, RemoteApiError, resolveCredentials } from '../api/index.ts'
import { UsageError } from '../errors.ts'

interface Common {
  endpointUrl: string
  profile?: string
  region?: string
}

async function run(opts: Common, action: string, params: Record<string, string | undefined>): Promise<void> {
  const creds = resolveCredentials({ profile: opts.profile, region: opts.region })
  if (creds === undefined) {
    throw new UsageError(
      'no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE (or --profile), or MIRRORFLOW_DATA_DIR',
    )
  }
  try {
    const out = (await callAction(opts.endpointUrl, creds, action, params)) as Record<string, unknown>
    if (typeof out === 'object' && out !== null) delete out.RequestId
    process.stdout.write(JSON.stringify(out, null, 4) + '\n')
  } catch (err) {
    if (err instanceof RemoteApiError) {
      process.stderr.write(
        `\nAn error occurred (${err.awsCode}) when calling the ${action} operation: ${err.message}\n`,
      )
      process.exitCode = 254
      return
    }
    if (err instanceof TypeError) {
      process.stderr.write(
        `\nCould not connect to the endpoint URL: "${opts.endpointUrl}" (${(err as Error).message})\n`,
      )
      process.exitCode = 255
      return
    }
    throw err
  }
}

function common(c: Command): Command {
  return c
    .option(
      '--endpoint-url <url>',
      'the server',
      process.env.MIRRORFLOW_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
    )
    .option('--profile <name>', 'credentials profile')
    .option('--region <r>', 'signing region (default: from the profile, else us-east-1)')
}

function indexed(prefix: string, values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  ;(values ?? []).forEach((v, i) => (out[`${prefix}.${i + 1}`] = v))
  return out
}

export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description("mirrorflow's own API actions (register interfaces, access keys)")

  common(
    admin
      .command('register-interface')
      .description(
        'register a network interface (ENI) in a subnet; prints it as describe-network-interfaces does',
      )
      .requiredOption('--subnet-id <id>', 'subnet holding the address')
      .requiredOption('--private-ip-address <a>', 'primary private IPv4 address')
      .option('--secondary-private-ip-addresses <a...>', 'secondary private IPv4 addresses')
      .option('--ipv6-addresses <a...>', 'IPv6 addresses')
      .option('--mac-address <m>', 'MAC address (default: a random locally administered one)')
      .option('--instance-id <id>', 'attach to this instance (created if unknown)')
      .option('--device-name <name>', 'the Linux interface name on the host')
      .option('--description <d>', 'description'),
  ).action(
    (
      o: Common & {
        subnetId: string
        privateIpAddress: string
        secondaryPrivateIpAddresses?: string[]
        ipv6Addresses?: string[]
        macAddress?: string
        instanceId?: string
        deviceName?: string
        description?: string
      },
    ) =>
      run(o, 'MirrorflowRegisterNetworkInterface', {
        SubnetId: o.subnetId,
        PrivateIpAddress: o.privateIpAddress,
        ...indexed('SecondaryPrivateIpAddress', o.secondaryPrivateIpAddresses),
        ...indexed('Ipv6Address', o.ipv6Addresses),
        MacAddress: o.macAddress,
        InstanceId: o.instanceId,
        DeviceName: o.deviceName,
        Description: o.description,
      }),
  )

  common(
    admin
      .command('deregister-interface')
      .description('remove a network interface (its sessions and flow logs go with it)')
      .requiredOption('--network-interface-id <id>', 'the interface'),
  ).action((o: Common & { networkInterfaceId: string }) =>
    run(o, 'MirrorflowDeregisterNetworkInterface', { NetworkInterfaceId: o.networkInterfaceId }),
  )

  common(
    admin
      .command('deregister-instance')
      .description('remove an instance (its interfaces stay, detached)')
      .requiredOption('--instance-id <id>', 'the instance'),
  ).action((o: Common & { instanceId: string }) =>
    run(o, 'MirrorflowDeregisterInstance', { InstanceId: o.instanceId }),
  )

  common(
    admin
      .command('register-load-balancer')
      .description(
        'register the appliance addresses behind an NLB ARN or a GWLB endpoint id, so targets can use it',
      )
      .option('--load-balancer-arn <arn>', 'network load balancer ARN')
      .option('--vpc-endpoint-id <id>', 'gateway load balancer endpoint id (vpce-…)')
      .requiredOption('--addresses <a...>', 'appliance addresses (VXLAN receivers)'),
  ).action((o: Common & { loadBalancerArn?: string; vpcEndpointId?: string; addresses: string[] }) =>
    run(o, 'MirrorflowRegisterLoadBalancer', {
      LoadBalancerArn: o.loadBalancerArn,
      VpcEndpointId: o.vpcEndpointId,
      ...indexed('Address', o.addresses),
    }),
  )

  common(
    admin
      .command('create-access-key')
      .description('create an access key (a user key; --admin or --agent for the other kinds)')
      .option('--description <d>', 'what it is for')
      .option('--admin', 'an admin key (may make and list keys)')
      .option('--agent', "an agent's key: it changes nothing but its own instance's registration")
      .option(
        '--instance-id <id>',
        'with --agent: bind the key to this instance now (else its first registration does)',
      ),
  ).action((o: Common & { description?: string; admin?: boolean; agent?: boolean; instanceId?: string }) =>
    run(o, 'MirrorflowCreateAccessKey', {
      Description: o.description,
      Admin: o.admin === true ? 'true' : undefined,
      Agent: o.agent === true ? 'true' : undefined,
      InstanceId: o.instanceId,
    }),
  )

  common(admin.command('list-access-keys').description('list access key ids')).action((o: Common) =>
    run(o, 'MirrorflowListAccessKeys', {}),
  )

  common(
    admin
      .command('desired-state')
      .description("an instance's desired state, as its agent receives it")
      .requiredOption('--instance-id <id>', 'the instance')
      .option('--state-version <n>', 'wait for a version other than this one')
      .option('--wait <s>', 'seconds to wait for a change', '0'),
  ).action((o: Common & { instanceId: string; stateVersion?: string; wait: string }) =>
    run(o, 'MirrorflowGetDesiredState', {
      InstanceId: o.instanceId,
      StateVersion: o.stateVersion,
      Wait: o.wait,
    }),
  )
}
