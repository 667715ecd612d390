// SPDX-License-Identifier: Apache-2.0
// test-group: fast
// An interface that is both a mirror source and enforced gets a second NFLOG group, carried by the
// mirror source (so its arriving packets are mirrored after the verdict) and by the policy (which
// logs its inbound drops there); other interfaces keep their state untouched.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MirrorState } from '../mirror/index.ts'
import type { PolicyInterface, PolicyState } from '../policy/index.ts'
import { linkVerdictGroups, MIRROR_LOG_GROUP_OFFSET } from './desired.ts'

function pi(ifname: string, logGroup: number): PolicyInterface {
  return {
    networkInterfaceId: `eni-${ifname}`,
    ifname,
    ingressRules: [],
    egressRules: [],
    networkAcl: { networkAclId: 'acl-1', ingress: [], egress: [] },
    logGroup,
  }
}

test('linkVerdictGroups: only interfaces that are mirrored and enforced', () => {
  const ms: MirrorState = {
    sources: ['eth0', 'eth1', 'eth2'].map((n, i) => ({
      networkInterfaceId: `eni-${n}`,
      ifname: n,
      mac: `02:00:00:00:00:0${i}`,
      addresses: [`10.0.0.${i + 1}`],
    })),
    targets: [],
    filters: [],
    // eth2 is a source without a session (nothing to mirror).
    sessions: ['eth0', 'eth1', 'eth2'].slice(0, 2).map((n, i) => ({
      trafficMirrorSessionId: `tms-${i}`,
      networkInterfaceId: `eni-${n}`,
      trafficMirrorTargetId: 'tmt-1',
      trafficMirrorFilterId: 'tmf-1',
      sessionNumber: 1,
      packetLength: undefined,
      virtualNetworkId: 1,
    })),
    amazonDnsResolvers: [],
  }
  // eth1 is mirrored but not enforced; eth3 is enforced but not mirrored.
  const ps: PolicyState = {
    interfaces: [pi('eth0', 20001), pi('eth2', 20002), pi('eth3', 20003)],
    mirrorTargets: [],
    exemptAddresses: [],
  }
  linkVerdictGroups(ms, ps)
  assert.deepEqual(
    ms.sources.map((s) => s.verdictGroup),
    [20001 + MIRROR_LOG_GROUP_OFFSET, undefined, undefined],
  )
  assert.deepEqual(
    ps.interfaces.map((i) => i.mirrorLogGroup),
    [20001 + MIRROR_LOG_GROUP_OFFSET, undefined, undefined],
  )
})
