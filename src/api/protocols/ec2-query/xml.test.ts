// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { errorXml, L, responseXml, toJson, toXml, type Node } from './xml.ts'

const shape: Node[] = [
  ['trafficMirrorFilterId', 'TrafficMirrorFilterId', 'tmf-0123456789abcdef0'],
  ['ingressFilterRuleSet', 'IngressFilterRules', L([[['ruleNumber', 'RuleNumber', 100]]])],
  ['egressFilterRuleSet', 'EgressFilterRules', L([])],
  ['networkServiceSet', 'NetworkServices', L(['amazon-dns'])],
  ['description', 'Description', undefined],
  ['portRange', 'PortRange', [['fromPort', 'FromPort', 80]]],
  ['flag', 'Flag', false],
  ['text', 'Text', 'a<b & "c"'],
]

test('toXml: lists as <item>, empty lists as <x/>, unset omitted, text escaped', () => {
  assert.equal(
    toXml(shape),
    '<trafficMirrorFilterId>tmf-0123456789abcdef0</trafficMirrorFilterId>' +
      '<ingressFilterRuleSet><item><ruleNumber>100</ruleNumber></item></ingressFilterRuleSet>' +
      '<egressFilterRuleSet/>' +
      '<networkServiceSet><item>amazon-dns</item></networkServiceSet>' +
      '<portRange><fromPort>80</fromPort></portRange>' +
      '<flag>false</flag>' +
      '<text>a&lt;b &amp; &quot;c&quot;</text>',
  )
})

test('toJson: the CLI member names and JSON types', () => {
  assert.deepEqual(toJson(shape), {
    TrafficMirrorFilterId: 'tmf-0123456789abcdef0',
    IngressFilterRules: [{ RuleNumber: 100 }],
    EgressFilterRules: [],
    NetworkServices: ['amazon-dns'],
    PortRange: { FromPort: 80 },
    Flag: false,
    Text: 'a<b & "c"',
  })
})

test('response and error documents', () => {
  assert.equal(
    responseXml('DeleteTrafficMirrorFilter', 'r-1', '<trafficMirrorFilterId>tmf-1</trafficMirrorFilterId>'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteTrafficMirrorFilterResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><trafficMirrorFilterId>tmf-1</trafficMirrorFilterId></DeleteTrafficMirrorFilterResponse>',
  )
  assert.equal(
    errorXml('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 'r-2'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>DryRunOperation</Code><Message>Request would have succeeded, but DryRun flag is set.</Message></Error></Errors><RequestID>r-2</RequestID></Response>',
  )
})

test('esc: CR (and NEL, LS) as character references, LF and TAB as they are', () => {
  assert.equal(
    toXml([['description', 'Description', 'a\r\nb\rc\td\ne\u0085f\u2028g']]),
    '<description>a&#13;\nb&#13;c\td\ne&#133;f&#8232;g</description>',
  )
  assert.match(errorXml('X', 'line\r', 'id'), /<Message>line&#13;<\/Message>/)
})
