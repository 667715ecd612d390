// SPDX-License-Identifier: Apache-2.0
/**
 * The CloudTrail error catalogue: the codes the CloudTrail actions answer (JSON 1.1 `__type`), spelled
 * as AWS spells them, with their HTTP status.
 * @module
 */
import { defineErrors } from '../core/errors.ts'

export const CLOUDTRAIL_ERRORS = defineErrors({
  TrailNotFoundException: 400,
  TrailAlreadyExistsException: 400,
  InvalidTrailNameException: 400,
  MaximumNumberOfTrailsExceededException: 400,
  InvalidS3BucketNameException: 400,
  InvalidS3PrefixException: 400,
  InvalidLookupAttributesException: 400,
  InvalidTimeRangeException: 400,
  InvalidNextTokenException: 400,
  InvalidMaxResultsException: 400,
  InvalidEventCategoryException: 400,
  InvalidParameterException: 400,
  InvalidParameterCombinationException: 400,
})

type CloudTrailErrors = typeof CLOUDTRAIL_ERRORS

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds CloudTrail's codes to the catalogue
  interface ErrorCatalogue extends CloudTrailErrors {}
}
