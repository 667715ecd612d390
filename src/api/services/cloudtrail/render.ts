// SPDX-License-Identifier: Apache-2.0
/**
 * How a call's parameters and answer become a record's `requestParameters` and `responseElements`,
 * close to what CloudTrail shows for each protocol (the rules are in docs/cloudtrail.md):
 *
 * - EC2 Query: the form's `A.N.B` names nest; member names start lower-case (`cidrBlock`); a list
 *   `Foo.N` becomes `fooSet: {items: […]}`, a list of plain values `{items: [{foo: value}]}`; the
 *   XML answer keeps EC2's element names, `<item>` lists becoming `{items: […]}`.
 * - AWS Query (IAM, STS): the same, with `Foo.member.N` lists as arrays; the answer is the
 *   `<ActionResult>` element's content.
 * - JSON (CloudWatch Logs, CloudTrail, GuardDuty): the body, member names lower-case first.
 *
 * Values stay strings where the wire carries strings (AWS renders numbers and booleans of typed
 * members as JSON numbers and booleans). Secrets never pass: a member whose name says it holds a
 * secret (see {@link isSecretName}) is replaced by `HIDDEN_DUE_TO_SECURITY_REASONS`, as AWS does,
 * and SigV4's own query parameters (`X-Amz-*`) are dropped. Parameters or answers above 100 KB are
 * not rendered (null).
 * @module
 */
import { parseForm } from '../../protocols/ec2-query/params.ts'

export const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS'
/** Largest body rendered into a record (bytes). */
export const MAX_RENDERED_BYTES = 100 * 1024
const MAX_DEPTH = 12

/** Parts of member names that hold secrets (compared lower-case, without punctuation). */
const SECRET_PARTS = [
  'secret',
  'password',
  'passwd',
  'passphrase',
  'privatekey',
  'sessiontoken',
  'securitytoken',
  'tokencode',
  'authtoken',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'apikey',
  'sharedkey',
  'signature',
  'authorization',
]

/** Answers of {@link isSecretName} for the names seen (a handful per API; emptied when full). */
const secretNames = new Map<string, boolean>()
const MAX_SECRET_NAMES = 4096
const NOT_ALNUM = /[^a-z0-9]/g

/** True when a member's name says its value is a secret (`SecretAccessKey`, `sessionToken`, `Password`…). */
export function isSecretName(name: string): boolean {
  let known = secretNames.get(name)
  if (known === undefined) {
    // ASCII letters lower-cased, everything but ASCII letters and digits dropped.
    const n = name
      .slice(0, 128)
      .replace(/[A-Z]+/g, (u) => u.toLowerCase())
      .replace(NOT_ALNUM, '')
    known = SECRET_PARTS.some((p) => n.includes(p))
    if (name.length <= 128) {
      if (secretNames.size >= MAX_SECRET_NAMES) secretNames.clear()
      secretNames.set(name, known)
    }
  }
  return known
}

function lcFirst(s: string): string {
  return s.length === 0 ? s : s[0]!.toLowerCase() + s.slice(1)
}

type Tree = Map<string, Tree | string>

/** A flat form (`A.1.B=v`) as a tree of maps. */
function formTree(map: ReadonlyMap<string, string>): Tree {
  const root: Tree = new Map()
  for (const [key, value] of map) {
    if (key === 'Action' || key === 'Version' || key.startsWith('X-Amz-') || key === 'Signature') continue
    const segs = key.split('.')
    if (segs.length > MAX_DEPTH) continue
    let node = root
    for (let i = 0; i < segs.length - 1; i++) {
      const s = segs[i]!
      const next = node.get(s)
      if (next instanceof Map) node = next
      else {
        const m: Tree = new Map()
        node.set(s, m)
        node = m
      }
    }
    const last = segs[segs.length - 1]!
    if (!(node.get(last) instanceof Map)) node.set(last, value)
  }
  return root
}

const INDEX = /^\d{1,6}$/

function isList(t: Tree): boolean {
  if (t.size === 0) return false
  for (const k of t.keys()) if (!INDEX.test(k)) return false
  return true
}

function listItems(t: Tree): (Tree | string)[] {
  return [...t.entries()].sort((a, b) => Number(a[0]) - Number(b[0])).map((e) => e[1])
}

/** EC2's rendering of a form tree. */
function ec2Shape(t: Tree): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of t) {
    const name = lcFirst(k)
    if (typeof v === 'string') out[name] = isSecretName(k) ? HIDDEN : v
    else if (isList(v)) {
      out[`${name}Set`] = {
        items: listItems(v).map((item) =>
          typeof item === 'string' ? { [name]: isSecretName(k) ? HIDDEN : item } : ec2Shape(item),
        ),
      }
    } else out[name] = ec2Shape(v)
  }
  return out
}

/** AWS Query's rendering: `member` lists as arrays. */
function queryShape(t: Tree | string, secret: boolean): unknown {
  if (typeof t === 'string') return secret ? HIDDEN : t
  const member = t.get('member')
  if (t.size === 1 && member instanceof Map && isList(member)) {
    return listItems(member).map((i) => queryShape(i, secret))
  }
  if (isList(t)) return listItems(t).map((i) => queryShape(i, secret))
  const out: Record<string, unknown> = {}
  for (const [k, v] of t) out[lcFirst(k)] = queryShape(v, secret || isSecretName(k))
  return out
}

/** A JSON value with member names lower-case first and secrets hidden. */
export function jsonShape(v: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH * 2) return null
  if (Array.isArray(v)) return v.map((x) => jsonShape(x, depth + 1))
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[lcFirst(k)] = isSecretName(k) ? HIDDEN : jsonShape(x, depth + 1)
    }
    return out
  }
  return v
}

export type RenderProtocol = 'ec2-query' | 'aws-query' | 'json-1.1' | 'rest-json'

/** `requestParameters` of a call (null when there are none or they cannot be rendered). */
export function renderRequest(protocol: RenderProtocol, query: string, body: Buffer | undefined): unknown {
  const len = query.length + (body?.length ?? 0)
  if (len > MAX_RENDERED_BYTES) return null
  try {
    if (protocol === 'ec2-query' || protocol === 'aws-query') {
      const map = new Map<string, string>()
      parseForm(query, map)
      if (body !== undefined && body.length > 0) parseForm(body.toString('utf8'), map)
      const t = formTree(map)
      if (t.size === 0) return null
      return protocol === 'ec2-query' ? ec2Shape(t) : queryShape(t, false)
    }
    if (body === undefined || body.length === 0) return null
    const v = jsonShape(JSON.parse(body.toString('utf8')) as unknown)
    return v !== null && typeof v === 'object' && Object.keys(v).length === 0 ? null : v
  } catch {
    return null
  }
}

// ------------------------------------------------------------------ XML answers

interface XmlNode {
  name: string
  children: XmlNode[]
  text: string
}

const ENTITY: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

function decodeText(s: string): string {
  if (!s.includes('&')) return s
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|lt|gt|amp|quot|apos);/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m
    }
    return ENTITY[e] ?? m
  })
}

/** Parses the server's own XML answer (well-formed, no CDATA or comments) into elements. */
export function parseXml(xml: string): XmlNode | undefined {
  const root: XmlNode = { name: '', children: [], text: '' }
  const stack: XmlNode[] = [root]
  let i = 0
  while (i < xml.length) {
    const lt = xml.indexOf('<', i)
    if (lt < 0) break
    if (lt > i) stack[stack.length - 1]!.text += xml.slice(i, lt)
    const gt = xml.indexOf('>', lt)
    if (gt < 0) return undefined
    const tag = xml.slice(lt + 1, gt)
    i = gt + 1
    if (tag.startsWith('?') || tag.startsWith('!')) continue
    if (tag.startsWith('/')) {
      if (stack.length <= 1) return undefined
      stack.pop()
      continue
    }
    const selfClosing = tag.endsWith('/')
    const sp = tag.search(/[\s/]/)
    const name = sp < 0 ? tag : tag.slice(0, sp)
    const node: XmlNode = { name, children: [], text: '' }
    stack[stack.length - 1]!.children.push(node)
    if (!selfClosing) {
      if (stack.length > 64) return undefined
      stack.push(node)
    }
  }
  return root.children[0]
}

function xmlValue(n: XmlNode, listName: 'item' | 'member', secret: boolean): unknown {
  if (n.children.length === 0) return secret ? HIDDEN : decodeText(n.text)
  if (n.children.every((c) => c.name === listName)) {
    const items = n.children.map((c) => xmlValue(c, listName, secret))
    return listName === 'item' ? { items } : items
  }
  const out: Record<string, unknown> = {}
  for (const c of n.children) {
    const key = listName === 'member' ? lcFirst(c.name) : c.name
    const v = xmlValue(c, listName, secret || isSecretName(c.name))
    const prev = out[key]
    if (prev === undefined) out[key] = v
    else if (Array.isArray(prev)) prev.push(v)
    else out[key] = [prev, v]
  }
  return out
}

/** `responseElements` of a successful call (null when it has none or cannot be rendered). */
export function renderResponse(protocol: RenderProtocol, contentType: string, body: string): unknown {
  if (body.length === 0 || body.length > MAX_RENDERED_BYTES) return null
  try {
    if (contentType.startsWith('application/json') || contentType.startsWith('application/x-amz-json')) {
      const v = JSON.parse(body) as unknown
      if (v !== null && typeof v === 'object' && !Array.isArray(v))
        delete (v as Record<string, unknown>).RequestId
      const shaped = jsonShape(v)
      return shaped !== null && typeof shaped === 'object' && Object.keys(shaped).length === 0 ? null : shaped
    }
    const root = parseXml(body)
    if (root === undefined) return null
    if (protocol === 'aws-query') {
      const result = root.children.find((c) => c.name.endsWith('Result'))
      return result === undefined || result.children.length === 0 ? null : xmlValue(result, 'member', false)
    }
    return xmlValue(root, 'item', false)
  } catch {
    return null
  }
}
