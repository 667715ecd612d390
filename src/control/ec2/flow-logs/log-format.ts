// SPDX-License-Identifier: Apache-2.0
/**
 * A flow log's `LogFormat` as the API checks it: parsing and the field catalogue are the flowlogs
 * domain's (`parseLogFormat`, spec-flow-logs §1.3, §1.5); this file maps its `LogFormatError` to
 * the EC2 error (`InvalidParameter`: the exact code is UNCONFIRMED, spec §1.3) and stores the
 * canonical text (single spaces), which DescribeFlowLogs returns.
 * @module
 */
import { hasCode } from '../../../errors.ts'
import { DEFAULT_LOG_FORMAT, parseLogFormat } from '../../../flowlogs/index.ts'
import { ApiError } from '../../core/errors.ts'

export { DEFAULT_LOG_FORMAT }

/** Checks a custom format; returns its canonical text. */
export function validateLogFormat(format: string): string {
  if (format.length > 4096)
    throw new ApiError('InvalidParameter', 'LogFormat must be 4096 characters or fewer.')
  try {
    return parseLogFormat(format).text
  } catch (err) {
    if (hasCode(err, 'MF_FLOWLOGS_LOG_FORMAT'))
      throw new ApiError('InvalidParameter', `Invalid LogFormat: ${(err as Error).message}`)
    throw err
  }
}
