// SPDX-License-Identifier: Apache-2.0
/**
 * `mirrorflow trail validate`: checks a trail's files in a local bucket directory as CloudTrail's log
 * file validation does — every digest's signature (with the server's public key) and its link to
 * the previous digest, every listed log file's SHA-256 — and prints what is valid, what is not,
 * and the log files no digest lists yet. Exit status 0 when everything checked is valid, 1 when a
 * file is missing, altered or unsigned (or no digest was found), 2 on bad usage.
 * @module
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { DIGEST_PUBLIC_KEY_FILE, validateTrailFiles } from '../control/index.ts'
import { DEFAULT_ACCOUNT_ID } from '../flowlogs/index.ts'
import { UsageError } from '../errors.ts'
import { assertReadableInput } from './errors.ts'

interface ValidateOptions {
  dataDir?: string
  s3Dir?: string
  bucket: string
  prefix: string
  accountId: string
  region: string
  trail?: string
  publicKey?: string[]
}

export function registerTrail(program: Command): void {
  const trail = program
    .command('trail')
    .description("CloudTrail trails' files: validate digests and log files")
  trail
    .command('validate')
    .description(
      'check the digests and log files of a trail in a local bucket directory (exit 1 on tampering)',
    )
    .requiredOption('--bucket <name>', "the trail's S3 bucket name")
    .option('--data-dir <dir>', "the server's data directory (default $MIRRORFLOW_DATA_DIR or ./.mirrorflow)")
    .option('--s3-dir <dir>', 'local buckets root: <dir>/<bucket>/<key> (default DATA_DIR/s3)')
    .option('--prefix <p>', "the trail's S3 key prefix", '')
    .option('--account-id <id>', 'the account id in the keys', DEFAULT_ACCOUNT_ID)
    .option('--region <r>', 'the region whose files are checked', 'us-east-1')
    .option('--trail <name>', "only this trail's digests")
    .option('--public-key <file...>', `PEM public keys (default DATA_DIR/${DIGEST_PUBLIC_KEY_FILE})`)
    .action((opts: ValidateOptions) => {
      if (!/^\d{12}$/.test(opts.accountId))
        throw new UsageError(`--account-id must be 12 digits, got ${opts.accountId}`)
      if (!/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/.test(opts.region))
        throw new UsageError(`--region is not a region: ${opts.region}`)
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket))
        throw new UsageError(`--bucket is not a bucket name: ${opts.bucket}`)
      const dataDir = opts.dataDir ?? process.env.MIRRORFLOW_DATA_DIR ?? '.mirrorflow'
      const keyFiles = opts.publicKey ?? [join(dataDir, DIGEST_PUBLIC_KEY_FILE)]
      for (const f of keyFiles) assertReadableInput(f)
      const bucketDir = join(opts.s3Dir ?? join(dataDir, 's3'), opts.bucket)
      const prefix = opts.prefix.replace(/\/+$/, '')
      const res = validateTrailFiles({
        bucketDir,
        bucket: opts.bucket,
        prefix,
        accountId: opts.accountId,
        region: opts.region,
        publicKeys: keyFiles.map((f) => readFileSync(f, 'utf8')),
        ...(opts.trail === undefined ? {} : { trailName: opts.trail }),
      })
      const where = `s3://${opts.bucket}/${prefix === '' ? '' : `${prefix}/`}AWSLogs/${opts.accountId}/ (${opts.region})`
      const out: string[] = [`Validated the trail files of ${where} in ${bucketDir}`]
      out.push(`${res.digestsValid}/${res.digestsValid + res.digestsInvalid} digest files valid`)
      out.push(`${res.logsValid}/${res.logsValid + res.logsInvalid} log files valid`)
      if (res.logsNotInDigest.length > 0) {
        out.push(`${res.logsNotInDigest.length} log files not yet in a digest:`)
        for (const k of res.logsNotInDigest) out.push(`  ${k}`)
      }
      process.stdout.write(`${out.join('\n')}\n`)
      for (const p of res.problems)
        process.stderr.write(
          `INVALID ${p.kind === 'digest' ? 'digest file' : 'log file'} ${p.key}: ${p.reason}\n`,
        )
      if (res.digestsValid + res.digestsInvalid === 0)
        process.stderr.write(`no digest files found under ${where}\n`)
      if (res.problems.length > 0 || res.digestsValid + res.digestsInvalid === 0) process.exitCode = 1
    })
}
