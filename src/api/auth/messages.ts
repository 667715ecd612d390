// SPDX-License-Identifier: Apache-2.0
/**
 * Encoded authorization failure messages: EC2's denials carry the decision's details encrypted
 * (AES-256-GCM under the server's key, base64url), so that only a caller allowed
 * `sts:DecodeAuthorizationMessage` can read them (`aws sts decode-authorization-message`). The key
 * is IAM's `messageKey`, kept in the data directory (`authz-message.key`, mode 0600): a message
 * still decodes after a restart.
 *
 * The encoded form is `base64url(version 0x01 ‖ iv ‖ tag ‖ ciphertext)`: the version byte makes
 * every message begin with `A`. Without it a random IV made one message in 64 begin with `-`, which
 * the AWS CLI's argument parser takes for an option (`--encoded-message -x…` fails before any
 * request). Messages of the earlier form (no version byte) still decode.
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** Longest encoded message accepted for decoding (characters). */
export const ENCODED_MESSAGE_MAX = 10240

/** The first byte of every message this server encodes. */
const VERSION = Buffer.of(1)

/** Encrypts a decoded-message document. */
export function encodeAuthorizationMessage(key: Buffer, doc: object): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update(JSON.stringify(doc), 'utf8'), c.final()])
  return Buffer.concat([VERSION, iv, c.getAuthTag(), body]).toString('base64url')
}

/** Decrypts an encoded message; undefined when it is not one of this server's. */
export function decodeAuthorizationMessage(key: Buffer, text: string): string | undefined {
  if (text.length > ENCODED_MESSAGE_MAX || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined
  const raw = Buffer.from(text, 'base64url')
  if (raw[0] === VERSION[0]) {
    const decoded = open(key, raw.subarray(1))
    if (decoded !== undefined) return decoded
  }
  return open(key, raw)
}

/** `iv ‖ tag ‖ ciphertext` opened with `key`; undefined when too short or not authentic. */
function open(key: Buffer, raw: Buffer): string | undefined {
  if (raw.length < 29) return undefined
  try {
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    d.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')
  } catch {
    return undefined
  }
}
