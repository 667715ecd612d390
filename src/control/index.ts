// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane: AWS's resources and business rules, each rule failing with AWS's error code,
 * over one store. It knows nothing of HTTP, XML, JSON or SigV4 (that is api/): inputs are typed
 * values, failures are {@link ApiError}s whose code is in a typed catalogue.
 *
 * ```ts
 * const cp = new ControlPlane(new SqliteStore(dir), { accountId: DEFAULT_ACCOUNT_ID, region: 'us-east-1' })
 * const vpc = cp.ec2.vpcs.createVpc('10.0.0.0/16', undefined, [])
 * const subnet = cp.ec2.vpcs.createSubnet({ vpcId: vpc.id, cidrBlock: '10.0.1.0/24' }, [])
 * const eni = cp.ec2.instances.registerInterface({ subnetId: subnet.id, privateIpAddress: '10.0.1.10' })
 * const state = desiredState(cp.ec2, 'i-…')
 * ```
 *
 * Layout (each layer imports only the ones above it in this list):
 * - `core/` — the ledger (state, version, commit, idempotency, change notification), the store
 *   (SQLite), ids, the kind table giving each kind its `Malformed`/`NotFound` codes
 *   (`ledger.lookup`), deletion hooks, and the error catalogue's common codes. It names no service.
 * - `ec2/` — one service: `model.ts` (its kinds, added to the core's registry), `errors.ts` (its
 *   codes), `schema.ts` (kind specs and indexes), then the families, lowest first: `tags.ts`,
 *   `network/` (VPCs, subnets, instances, interfaces), `mirroring/` (targets, filters, sessions),
 *   `flow-logs/`, and `desired-state.ts` (what an agent applies). A family depends on the core and on
 *   lower families only; a lower family learns what goes with its records through
 *   `ledger.onDelete` hooks the higher ones register.
 * - `iam/` — access keys today; users, roles and policies later.
 * - `logs/` — CloudWatch Logs (groups, streams, events, Insights) over the logs engine's store.
 * - `control-plane.ts` — wires the services over one ledger.
 *
 * A new AWS service (`logs/`, `guardduty/`, `cloudtrail/`, …) is a folder like `ec2/`: its model
 * augments `ResourceKinds`, its `errors.ts` extends `ErrorCatalogue` with `defineErrors`, its
 * schema defines its kinds on the ledger, and `control-plane.ts` builds it beside `ec2`. It imports
 * no other service; what it needs of one goes through the core.
 * @module
 */
export * from './control-plane.ts'
export * from './core/errors.ts'
export * from './core/ids.ts'
export type { Idempotency, KindSpec } from './core/ledger.ts'
export { Ledger } from './core/ledger.ts'
export type * from './core/model.ts'
export { Index, State } from './core/state.ts'
export * from './core/store.ts'
export * from './ec2/index.ts'
export * from './iam/index.ts'
export * from './cloudtrail/index.ts'
export * from './guardduty/index.ts'
export * from './logs/index.ts'
