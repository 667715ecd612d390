// SPDX-License-Identifier: Apache-2.0
/**
 * The GuardDuty error catalogue. GuardDuty answers every client error with `BadRequestException`
 * (HTTP 400), its body's `__type` naming the cause (`InvalidInputException`); nothing else is added.
 * @module
 */
import { defineErrors } from '../core/errors.ts'

export const GUARDDUTY_ERRORS = defineErrors({
  BadRequestException: 400,
})

type GuardDutyErrors = typeof GUARDDUTY_ERRORS

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds GuardDuty's codes to the catalogue
  interface ErrorCatalogue extends GuardDutyErrors {}
}
