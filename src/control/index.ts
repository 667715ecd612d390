// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane: the resource model (VPC, subnet, instance, network interface, traffic mirror
 * target/filter/rule/session, flow log), ids, business rules with AWS's error codes, the desired
 * state of each instance, and the store (SQLite by default, behind {@link ControlStore}).
 *
 * ```ts
 * const cp = new ControlPlane(new SqliteStore(dir), { accountId: '123456789012', region: 'us-east-1' })
 * const vpc = cp.createVpc('10.0.0.0/16', undefined, [])
 * const subnet = cp.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
 * const eni = cp.registerInterface({ subnetId: subnet.id, privateIpAddress: '10.0.1.10' })
 * const state = desiredState(cp, 'i-…')
 * ```
 *
 * It knows nothing of HTTP, XML or SigV4 (that is api/): inputs are typed values, failures are
 * {@link ApiError}s carrying the EC2 error code.
 * @module
 */
export * from './control-plane.ts'
export * from './desired-state.ts'
export * from './errors.ts'
export * from './flow-log-format.ts'
export * from './ids.ts'
export type * from './model.ts'
export * from './state.ts'
export * from './store.ts'
