// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasCode } from '../../../errors.ts'
import { Params, parseForm } from './params.ts'

function params(body: string): Params {
  const m = new Map<string, string>()
  parseForm(body, m)
  return new Params(m)
}

function awsCode(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(hasCode(err, 'MF_API'), String(err))
    return (err as { awsCode: string }).awsCode
  }
  assert.fail('expected an ApiError')
}

describe('parseForm', () => {
  test('decodes + as space and percent escapes', () => {
    const p = params('Action=CreateTrafficMirrorFilter&Description=TCP+Filter&Cidr=10.0.0.0%2F24&Empty=&Bare')
    assert.equal(p.str('Description'), 'TCP Filter')
    assert.equal(p.str('Cidr'), '10.0.0.0/24')
    assert.equal(p.str('Empty'), '')
    assert.equal(p.str('Bare'), '')
  })
  test('a repeated key is InvalidParameter', () => {
    assert.equal(
      awsCode(() => params('A=1&A=2')),
      'InvalidParameter',
    )
  })
  test('a broken percent escape is MalformedQueryString', () => {
    assert.equal(
      awsCode(() => params('A=%E0%A4%A')),
      'MalformedQueryString',
    )
    assert.equal(
      awsCode(() => params('A=%FF')),
      'MalformedQueryString',
    )
  })
  test('characters XML cannot carry are refused', () => {
    assert.equal(
      awsCode(() => params('Description=a%00b')),
      'InvalidParameterValue',
    )
  })
})

describe('Params', () => {
  test('lists are read in index order, whatever the body order', () => {
    const p = params('Id.10=c&Id.2=b&Id.1=a')
    assert.deepEqual(p.list('Id'), ['a', 'b', 'c'])
  })
  test('structures of lists: the captured TagSpecification and Filter bodies', () => {
    const p = params(
      'TagSpecification.1.ResourceType=traffic-mirror-filter&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=prod&TagSpecification.1.Tag.2.Key=env&TagSpecification.1.Tag.2.Value=dev&Filter.1.Name=description&Filter.1.Value.1=a&Filter.1.Value.2=b',
    )
    const [spec] = p.structs('TagSpecification')
    assert.equal(spec!.str('ResourceType'), 'traffic-mirror-filter')
    assert.deepEqual(
      spec!.structs('Tag').map((t) => [t.str('Key'), t.str('Value')]),
      [
        ['Name', 'prod'],
        ['env', 'dev'],
      ],
    )
    const [f] = p.structs('Filter')
    assert.equal(f!.str('Name'), 'description')
    assert.deepEqual(f!.list('Value'), ['a', 'b'])
    p.done()
  })
  test('integers and booleans are checked', () => {
    const p = params('N=12&Bad=1x&B=TRUE&BB=yes')
    assert.equal(p.int('N'), 12)
    assert.equal(
      awsCode(() => p.int('Bad')),
      'InvalidParameterValue',
    )
    assert.equal(p.bool('B'), true)
    assert.equal(
      awsCode(() => p.bool('BB')),
      'InvalidParameterValue',
    )
  })
  test('required parameters: MissingParameter', () => {
    assert.equal(
      awsCode(() => params('A=1').str('B', true)),
      'MissingParameter',
    )
  })
  test('unread parameters are UnknownParameter; protocol parameters are not', () => {
    const p = params('Action=X&Version=2016-11-15&Known=1&Filter.0.Name=x')
    p.str('Known')
    p.structs('Filter')
    assert.equal(
      awsCode(() => p.done()),
      'UnknownParameter',
    )
    const q = params('Action=X&Version=2016-11-15&X-Amz-Signature=abc')
    q.done()
  })
  test('the fingerprint ignores ClientToken and DryRun but not the rest', () => {
    const a = params('Action=A&Description=x&ClientToken=1&DryRun=false').fingerprint()
    const b = params('Description=x&Action=A&ClientToken=2').fingerprint()
    const c = params('Action=A&Description=y&ClientToken=1').fingerprint()
    assert.equal(a, b)
    assert.notEqual(a, c)
  })
})

test('parseForm + Params never fail with anything but an EC2 error (property)', async () => {
  const fc = (await import('fast-check')).default
  const piece = fc.oneof(
    fc.string(),
    fc.constantFrom(
      '%',
      '%Z',
      '%C3%28',
      '%00',
      '+',
      '=',
      '&',
      '.',
      'Filter.1.Name',
      'Filter.x.Value.1',
      'Tag.1.Key',
    ),
  )
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }), (parts) => {
      try {
        const m = new Map<string, string>()
        parseForm(parts.join(''), m)
        const p = new Params(m)
        p.list('Filter')
        for (const s of p.structs('Filter')) {
          s.str('Name')
          s.list('Value')
        }
        p.int('MaxResults')
        p.bool('DryRun')
        p.done()
      } catch (err) {
        assert.ok(hasCode(err, 'MF_API'), `not an EC2 error: ${String(err)}`)
      }
    }),
    { seed: Number(process.env.FC_SEED ?? 1), numRuns: 3000 },
  )
})
