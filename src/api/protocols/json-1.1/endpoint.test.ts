// test-group: fast
// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ApiError, type ControlPlane } from '../../../control/index.ts'
import { ActionFailure, type EndpointRequest, type EndpointResponse } from '../index.ts'
import { jsonDepth, MAX_JSON_DEPTH } from './body.ts'
import { json11Endpoint, type JsonHandler } from './endpoint.ts'

const echo: JsonHandler = (ctx) => {
  const name = ctx.input.reqStr('name', { min: 1, max: 8 })
  const limit = ctx.input.int('limit', { min: 1, max: 50 })
  const tags = ctx.input.strMap('tags', { max: 2 }, { min: 1, max: 4 }, { max: 4 })
  const list = ctx.input.strList('items', { max: 3 }, { max: 4 })
  return { name, limit, tags: tags === undefined ? undefined : Object.fromEntries(tags), list }
}

const endpoint = json11Endpoint({} as ControlPlane, {
  signingName: 'logs',
  targetPrefix: 'Logs_20140328',
  actions: new Map([['Echo', echo]]),
  invalid: (m) => new ApiError('InvalidParameter', m),
})

function req(body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): EndpointRequest {
  return {
    method,
    path: '/',
    query: '',
    headers: {
      'x-amz-target': 'Logs_20140328.Echo',
      'content-type': 'application/x-amz-json-1.1',
      ...headers,
    },
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    accessKeyId: 'AKIA',
    requestId: 'r-1',
    signal: new AbortController().signal,
  }
}

/** Decodes and runs a request, as the server does once it is authorized. */
async function handle(r: EndpointRequest): Promise<{ action: string; response: EndpointResponse }> {
  const call = await endpoint.decode(r)
  return { action: call.action, response: await call.run() }
}

/** The wire error of a failing request: `[status, __type]`. */
async function failure(r: EndpointRequest): Promise<[number, string, string]> {
  try {
    await handle(r)
  } catch (err) {
    assert.ok(err instanceof ActionFailure)
    const e = err.cause as ApiError
    const out = endpoint.encodeError(e, 'r-1', err.action, r)
    assert.equal(out.contentType, 'application/x-amz-json-1.1')
    const body = JSON.parse(out.body) as { __type: string; message: string }
    return [out.status, body.__type, body.message]
  }
  assert.fail('expected a failure')
}

test('an action answers JSON with the JSON 1.1 content type', async () => {
  const { action, response } = await handle(
    req('{"name":"a","limit":3,"tags":{"k":"v"},"items":["x"],"unknownMember":1}'),
  )
  assert.equal(action, 'Echo')
  assert.equal(response.status, 200)
  assert.equal(response.contentType, 'application/x-amz-json-1.1')
  assert.deepEqual(JSON.parse(response.body), { name: 'a', limit: 3, tags: { k: 'v' }, list: ['x'] })
})

test('routing: unknown target, wrong prefix, GET → UnknownOperationException', async () => {
  assert.equal(
    (await failure(req('{}', { 'x-amz-target': 'Logs_20140328.Nope' })))[1],
    'UnknownOperationException',
  )
  assert.equal(
    (await failure(req('{}', { 'x-amz-target': 'CloudTrail_20131101.Echo' })))[1],
    'UnknownOperationException',
  )
  assert.equal((await failure(req('{}', {}, 'GET')))[1], 'UnknownOperationException')
})

test('body: malformed JSON, not an object, bad UTF-8, too deep, wrong content type → SerializationException 400', async () => {
  for (const body of [
    '{',
    '[]',
    '"x"',
    Buffer.from([0x7b, 0xff, 0x7d]),
    '{"a":' + '['.repeat(40) + ']'.repeat(40) + '}',
  ]) {
    const [status, code] = await failure(req(body))
    assert.deepEqual([status, code], [400, 'SerializationException'])
  }
  assert.equal((await failure(req('{}', { 'content-type': 'text/plain' })))[1], 'SerializationException')
})

test('members: wrong type → SerializationException; constraint → the service validation code', async () => {
  assert.equal((await failure(req('{"name":1}')))[1], 'SerializationException')
  assert.equal((await failure(req('{"name":"a","limit":1.5}')))[1], 'SerializationException')
  assert.equal((await failure(req('{"name":"a","items":"x"}')))[1], 'SerializationException')
  const [status, code, message] = await failure(req('{"name":"123456789"}'))
  assert.deepEqual([status, code], [400, 'InvalidParameter'])
  assert.match(
    message,
    /^1 validation error detected: Value '123456789' at 'name' failed to satisfy constraint: Member must have length less than or equal to 8$/,
  )
  assert.match((await failure(req('{}')))[2], /Value null at 'name'/)
  assert.equal((await failure(req('{"name":"a","limit":51}')))[1], 'InvalidParameter')
  assert.equal((await failure(req('{"name":"a","items":["1","2","3","4"]}')))[1], 'InvalidParameter')
  assert.equal((await failure(req('{"name":"a","tags":{"a":"1","b":"2","c":"3"}}')))[1], 'InvalidParameter')
})

test('signing failures take the JSON services spelling', () => {
  const r = req('{}')
  const enc = (code: 'AuthFailure' | 'SignatureDoesNotMatch' | 'InternalError') =>
    JSON.parse(endpoint.encodeError(new ApiError(code, 'x'), 'r', 'unknown', r).body).__type
  assert.equal(enc('AuthFailure'), 'UnrecognizedClientException')
  assert.equal(enc('SignatureDoesNotMatch'), 'InvalidSignatureException')
  assert.equal(endpoint.encodeError(new ApiError('InternalError', 'x'), 'r', 'unknown', r).status, 500)
})

test('jsonDepth ignores brackets in strings and stops past the limit', () => {
  assert.equal(jsonDepth(Buffer.from('{"a":"[[[[\\"[[["}')), 1)
  assert.equal(jsonDepth(Buffer.from('['.repeat(1_000_000))), MAX_JSON_DEPTH + 1)
})
