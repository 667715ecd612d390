// SPDX-License-Identifier: Apache-2.0
/**
 * Log file integrity, as CloudTrail's log file validation works: each digest file lists the log files
 * delivered since the previous digest with the SHA-256 of each file's uncompressed content, names
 * the previous digest with its hash and signature (a chain), and is signed with SHA256withRSA over
 * the signing string
 *
 * ```
 * digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature
 * ```
 *
 * (`null` as the previous signature of the first digest). AWS keeps the signature in the digest
 * object's S3 metadata; mirrorflow writes it beside the digest as an object of the same key plus
 * `.sig` (hex), since a local bucket directory has no metadata.
 *
 * The key is an RSA-2048 key pair created on first use in the data directory:
 * `cloudtrail-digest-key.pem` (private, mode 0600) and `cloudtrail-digest-public.pem`; digests name
 * it by `digestPublicKeyFingerprint`, the hex MD5 of the public key's DER encoding (PKCS#1), as
 * CloudTrail's ListPublicKeys fingerprints are.
 * @module
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync, lstatSync, statSync } from 'node:fs'
import { join, sep } from 'node:path'
import { gunzipSync } from 'node:zlib'

export const DIGEST_KEY_FILE = 'cloudtrail-digest-key.pem'
export const DIGEST_PUBLIC_KEY_FILE = 'cloudtrail-digest-public.pem'

/** A log file as a digest lists it. */
export interface DigestLogFile {
  s3Bucket: string
  s3Object: string
  hashValue: string
  hashAlgorithm: 'SHA-256'
  newestEventTime: string | null
  oldestEventTime: string | null
}

/** A digest file's content. */
export interface Digest {
  awsAccountId: string
  digestStartTime: string
  digestEndTime: string
  digestS3Bucket: string
  digestS3Object: string
  digestPublicKeyFingerprint: string
  digestSignatureAlgorithm: 'SHA256withRSA'
  newestEventTime: string | null
  oldestEventTime: string | null
  previousDigestS3Bucket: string | null
  previousDigestS3Object: string | null
  previousDigestHashValue: string | null
  previousDigestHashAlgorithm: 'SHA-256' | null
  previousDigestSignature: string | null
  logFiles: DigestLogFile[]
}

/** The signing key pair of a data directory. */
export interface DigestKey {
  privateKey: KeyObject
  publicKey: KeyObject
  /** Hex MD5 of the public key's DER (PKCS#1). */
  fingerprint: string
  publicKeyPem: string
  /** When the key was made (ms since the epoch). */
  createdAt: number
}

export function fingerprintOf(publicKey: KeyObject): string {
  return createHash('md5')
    .update(publicKey.export({ type: 'pkcs1', format: 'der' }))
    .digest('hex')
}

/** Loads the data directory's digest key, creating it on first use. */
export function loadDigestKey(dataDir: string): DigestKey {
  const priv = join(dataDir, DIGEST_KEY_FILE)
  const pub = join(dataDir, DIGEST_PUBLIC_KEY_FILE)
  if (!existsSync(priv)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    const kp = generateKeyPairSync('rsa', { modulusLength: 2048 })
    writeFileSync(priv, kp.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
  }
  const privateKeyPem = readFileSync(priv, 'utf8')
  const publicKey = createPublicKey(privateKeyPem)
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  if (!existsSync(pub) || readFileSync(pub, 'utf8') !== publicKeyPem)
    writeFileSync(pub, publicKeyPem, { mode: 0o644 })
  return {
    privateKey: createPrivateKey(privateKeyPem),
    publicKey,
    fingerprint: fingerprintOf(publicKey),
    publicKeyPem,
    createdAt: statSync(priv).mtimeMs,
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The string a digest's signature covers. */
export function signingString(d: Digest, uncompressedHash: string): string {
  return `${d.digestEndTime}\n${d.digestS3Bucket}/${d.digestS3Object}\n${uncompressedHash}\n${d.previousDigestSignature ?? 'null'}`
}

/** Hex SHA256withRSA signature of a digest whose uncompressed JSON hashes to `hash`. */
export function signDigest(d: Digest, hash: string, key: KeyObject): string {
  return sign('sha256', Buffer.from(signingString(d, hash), 'utf8'), key).toString('hex')
}

export function verifyDigest(d: Digest, hash: string, signatureHex: string, key: KeyObject): boolean {
  if (!/^[0-9a-f]+$/.test(signatureHex) || signatureHex.length % 2 !== 0) return false
  return verify('sha256', Buffer.from(signingString(d, hash), 'utf8'), key, Buffer.from(signatureHex, 'hex'))
}

/** One problem validation found. */
export interface ValidationProblem {
  kind: 'digest' | 'log'
  key: string
  reason: string
}

export interface ValidationResult {
  digestsValid: number
  digestsInvalid: number
  logsValid: number
  logsInvalid: number
  /** Log files on disk that no digest lists (delivered after the last digest, or planted). */
  logsNotInDigest: string[]
  problems: ValidationProblem[]
}

export interface ValidateOptions {
  /** The bucket's directory (`<bucket root>/<bucket>`). */
  bucketDir: string
  bucket: string
  /** The trail's key prefix ('' for none). */
  prefix: string
  accountId: string
  region: string
  /** Public keys (PEM), matched by fingerprint. */
  publicKeys: readonly string[]
  /** Only the digests of this trail name (default: every trail's). */
  trailName?: string
}

function walkFiles(dir: string, out: string[]): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const n of names) {
    const p = join(dir, n)
    const s = lstatSync(p)
    if (s.isSymbolicLink()) continue
    if (s.isDirectory()) walkFiles(p, out)
    else out.push(p)
  }
  return out
}

function rel(root: string, p: string): string {
  return p
    .slice(root.length + 1)
    .split(sep)
    .join('/')
}

/**
 * Validates the digests and log files of one account and region in a bucket directory: every
 * digest's signature and its link to the previous digest, and every listed log file's hash. A
 * missing, altered or unsigned file is a problem; so is a digest whose predecessor is missing.
 */
export function validateTrailFiles(o: ValidateOptions): ValidationResult {
  const res: ValidationResult = {
    digestsValid: 0,
    digestsInvalid: 0,
    logsValid: 0,
    logsInvalid: 0,
    logsNotInDigest: [],
    problems: [],
  }
  const keys = new Map<string, KeyObject>()
  for (const pem of o.publicKeys) {
    const k = createPublicKey(pem)
    keys.set(fingerprintOf(k), k)
  }
  const base = `${o.prefix === '' ? '' : `${o.prefix}/`}AWSLogs/${o.accountId}`
  const digestDir = join(o.bucketDir, ...`${base}/CloudTrail-Digest/${o.region}`.split('/'))
  const logDir = join(o.bucketDir, ...`${base}/CloudTrail/${o.region}`.split('/'))
  const nameOk = (n: string): boolean =>
    o.trailName === undefined || n.includes(`_CloudTrail-Digest_${o.region}_${o.trailName}_`)
  const digests = walkFiles(digestDir, [])
    .filter((p) => p.endsWith('.json.gz') && nameOk(p.slice(p.lastIndexOf(sep) + 1)))
    .sort((a, b) => {
      // By the time stamp at the end of the name (YYYYMMDDTHHmmssZ), then by name.
      const ta = a.slice(-24)
      const tb = b.slice(-24)
      return ta < tb ? -1 : ta > tb ? 1 : a < b ? -1 : a > b ? 1 : 0
    })
  const listed = new Set<string>()
  /** Per trail (by digest name minus the time stamp): the previous digest's key, hash and signature. */
  const prev = new Map<string, { key: string; hash: string; signature: string }>()
  const byKey = new Map<string, { hash: string; signature: string }>()
  for (const path of digests) {
    const key = rel(o.bucketDir, path)
    const fail = (reason: string): void => {
      res.digestsInvalid++
      res.problems.push({ kind: 'digest', key, reason })
    }
    let raw: Buffer
    let d: Digest
    try {
      raw = gunzipSync(readFileSync(path))
      d = JSON.parse(raw.toString('utf8')) as Digest
    } catch (err) {
      fail(`cannot be read: ${(err as Error).message}`)
      continue
    }
    const hash = sha256Hex(raw)
    let signature = ''
    try {
      signature = readFileSync(`${path}.sig`, 'utf8').trim()
    } catch {
      fail('its signature (.sig) is missing')
      continue
    }
    byKey.set(key, { hash, signature })
    const pk = keys.get(d.digestPublicKeyFingerprint)
    if (pk === undefined) {
      fail(`no public key with fingerprint ${String(d.digestPublicKeyFingerprint).slice(0, 64)}`)
      continue
    }
    if (d.digestS3Object !== key || d.digestS3Bucket !== o.bucket) {
      fail('it names another object than itself (moved or copied)')
      continue
    }
    if (!verifyDigest(d, hash, signature, pk)) {
      fail('its signature does not match its content')
      continue
    }
    const chain = key.slice(0, -24)
    const before = prev.get(chain)
    if (d.previousDigestS3Object !== null) {
      const p = byKey.get(d.previousDigestS3Object)
      if (p === undefined) {
        fail(`the previous digest ${d.previousDigestS3Object} is missing`)
        prev.set(chain, { key, hash, signature })
        continue
      }
      if (p.hash !== d.previousDigestHashValue || p.signature !== d.previousDigestSignature) {
        fail(`the previous digest ${d.previousDigestS3Object} was altered`)
        prev.set(chain, { key, hash, signature })
        continue
      }
    } else if (before !== undefined) {
      fail(`it starts a new chain although ${before.key} precedes it`)
      prev.set(chain, { key, hash, signature })
      continue
    }
    prev.set(chain, { key, hash, signature })
    res.digestsValid++
    for (const f of d.logFiles) {
      listed.add(f.s3Object)
      const lp = join(o.bucketDir, ...f.s3Object.split('/'))
      const lfail = (reason: string): void => {
        res.logsInvalid++
        res.problems.push({ kind: 'log', key: f.s3Object, reason })
      }
      if (f.s3Bucket !== o.bucket || f.s3Object.split('/').some((s) => s === '..' || s === '')) {
        lfail('listed in another bucket or with a bad key')
        continue
      }
      let content: Buffer
      try {
        content = gunzipSync(readFileSync(lp))
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        lfail(code === 'ENOENT' ? 'missing' : `cannot be read: ${(err as Error).message}`)
        continue
      }
      if (sha256Hex(content) !== f.hashValue) lfail('its content does not match the digest (altered)')
      else res.logsValid++
    }
  }
  for (const p of walkFiles(logDir, [])) {
    const key = rel(o.bucketDir, p)
    if (p.endsWith('.json.gz') && !listed.has(key)) res.logsNotInDigest.push(key)
  }
  return res
}
