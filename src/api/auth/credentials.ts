// SPDX-License-Identifier: Apache-2.0
/**
 * Credentials files: the server writes its admin key where the AWS CLI finds it
 * (`DIR/credentials`, profile `mirrorflow`; region in `DIR/config`, `[profile mirrorflow]`, both
 * mode 0600), and the admin client reads keys the way the AWS CLI does (environment, shared
 * credentials file, profile), with the data directory's file as a last resort.
 * @module
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** The profile name the server writes. */
export const PROFILE = 'mirrorflow'

/** Parses an INI file into sections of key = value. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  let cur: Map<string, string> | undefined
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim()
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue
    const sec = /^\[([^\]]+)\]$/.exec(t)
    if (sec !== null) {
      const name = sec[1]!.trim()
      cur = out.get(name) ?? new Map()
      out.set(name, cur)
      continue
    }
    const eq = t.indexOf('=')
    if (eq > 0 && cur !== undefined) cur.set(t.slice(0, eq).trim(), t.slice(eq + 1).trim())
  }
  return out
}

/** Writes DIR/credentials and DIR/config for the admin key (mode 0600). Returns the credentials path. */
export function writeCredentialFiles(
  dataDir: string,
  key: { accessKeyId: string; secretAccessKey: string },
  region: string,
): string {
  const cred = join(dataDir, 'credentials')
  const conf = join(dataDir, 'config')
  writeFileSync(
    cred,
    `[${PROFILE}]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`,
    { mode: 0o600 },
  )
  chmodSync(cred, 0o600)
  writeFileSync(conf, `[profile ${PROFILE}]\nregion = ${region}\noutput = json\n`, { mode: 0o600 })
  chmodSync(conf, 0o600)
  return cred
}

/** True when DIR/credentials holds this key under the mirrorflow profile. */
export function credentialFileHolds(dataDir: string, accessKeyId: string): boolean {
  const p = join(dataDir, 'credentials')
  if (!existsSync(p)) return false
  return parseIni(readFileSync(p, 'utf8')).get(PROFILE)?.get('aws_access_key_id') === accessKeyId
}

export interface ResolvedCredentials {
  accessKeyId: string
  secretAccessKey: string
  region: string
  source: string
}

function readIni(path: string): Map<string, Map<string, string>> {
  return existsSync(path) ? parseIni(readFileSync(path, 'utf8')) : new Map()
}

/**
 * Finds credentials as the AWS CLI does: with no profile asked for, the environment
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) first; then the profile (flag, AWS_PROFILE, `default`)
 * in AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; finally the server's own file,
 * `$MIRRORFLOW_DATA_DIR/credentials` (or `.mirrorflow/credentials`), profile `mirrorflow`.
 */
export function resolveCredentials(
  opts: { profile?: string | undefined; region?: string | undefined },
  env = process.env,
): ResolvedCredentials | undefined {
  const profile = opts.profile ?? env.AWS_PROFILE ?? 'default'
  const configFile = env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config')
  const regionOf = (prof: string, file: string): string =>
    opts.region ??
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION ??
    readIni(file)
      .get(prof === 'default' ? 'default' : `profile ${prof}`)
      ?.get('region') ??
    'us-east-1'
  if (
    opts.profile === undefined &&
    env.AWS_ACCESS_KEY_ID !== undefined &&
    env.AWS_SECRET_ACCESS_KEY !== undefined
  ) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      region: regionOf(profile, configFile),
      source: 'environment',
    }
  }
  const credFile = env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials')
  const sec = readIni(credFile).get(profile)
  const id = sec?.get('aws_access_key_id')
  const secret = sec?.get('aws_secret_access_key')
  if (id !== undefined && secret !== undefined) {
    return {
      accessKeyId: id,
      secretAccessKey: secret,
      region: regionOf(profile, configFile),
      source: `${credFile} [${profile}]`,
    }
  }
  const dataDir = env.MIRRORFLOW_DATA_DIR ?? '.mirrorflow'
  const own = readIni(join(dataDir, 'credentials')).get(PROFILE)
  const oid = own?.get('aws_access_key_id')
  const osecret = own?.get('aws_secret_access_key')
  if (oid !== undefined && osecret !== undefined) {
    return {
      accessKeyId: oid,
      secretAccessKey: osecret,
      region: regionOf(PROFILE, join(dataDir, 'config')),
      source: `${join(dataDir, 'credentials')} [${PROFILE}]`,
    }
  }
  return undefined
}
