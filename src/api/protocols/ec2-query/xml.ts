// SPDX-License-Identifier: Apache-2.0
/**
 * Response shapes written once, rendered twice: as EC2 XML (element names = the model's
 * `locationName`s, lists as `<xSet><item>…</item></xSet>`, empty lists as `<xSet/>`, unset values
 * omitted — spec-traffic-mirroring §5.6) and as the AWS CLI's JSON (member names), for the admin
 * actions. A shape is a list of `[xmlName, jsonName, value]` nodes.
 * @module
 */

/** A list value: structures (node lists) or scalars. */
export interface ListVal {
  readonly list: readonly (readonly Node[] | string | number)[]
}
export type Val = string | number | boolean | undefined | null | readonly Node[] | ListVal
export type Node = readonly [xml: string, json: string, val: Val]

/** Marks a list. */
export function L(items: readonly (readonly Node[] | string | number)[]): ListVal {
  return { list: items }
}

/** The EC2 XML namespace (with the trailing slash real EC2 sends). */
export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/'

const ESC: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  // A parser turns a raw CR (and CRLF) into LF (XML 1.0 §2.11), and an XML 1.1 parser also NEL and
  // LS: as character references they reach the client unchanged. LF and TAB survive in element
  // text as they are (only attribute values would normalise them, and no value goes there).
  '\r': '&#13;',
  '\u0085': '&#133;',
  '\u2028': '&#8232;',
}
const NEEDS_ESC = /[&<>"\r\u0085\u2028]/
const ESC_ALL = /[&<>"\r\u0085\u2028]/g
/** Escapes text for an XML element. */
export function esc(s: string): string {
  return NEEDS_ESC.test(s) ? s.replace(ESC_ALL, (c) => ESC[c]!) : s
}

function isList(v: Val): v is ListVal {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Renders nodes as XML elements (no declaration, no root). */
export function toXml(nodes: readonly Node[]): string {
  let out = ''
  for (const [name, , v] of nodes) {
    if (v === undefined || v === null) continue
    if (isList(v)) {
      if (v.list.length === 0) {
        out += `<${name}/>`
        continue
      }
      out += `<${name}>`
      for (const item of v.list) {
        out += typeof item === 'object' ? `<item>${toXml(item)}</item>` : `<item>${esc(String(item))}</item>`
      }
      out += `</${name}>`
    } else if (Array.isArray(v)) {
      out += `<${name}>${toXml(v as readonly Node[])}</${name}>`
    } else {
      out += `<${name}>${typeof v === 'string' ? esc(v) : String(v)}</${name}>`
    }
  }
  return out
}

/** Renders nodes as the AWS CLI's JSON object. */
export function toJson(nodes: readonly Node[]): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (const [, name, v] of nodes) {
    if (v === undefined || v === null) continue
    if (isList(v)) o[name] = v.list.map((i) => (typeof i === 'object' ? toJson(i) : i))
    else if (Array.isArray(v)) o[name] = toJson(v as readonly Node[])
    else o[name] = v
  }
  return o
}

/** A whole EC2 response document. */
export function responseXml(action: string, requestId: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${requestId}</requestId>${body}</${action}Response>`
}

/** The EC2 error document (note `RequestID`, not `requestId`). */
export function errorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
}
