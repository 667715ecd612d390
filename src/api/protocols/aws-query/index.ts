// SPDX-License-Identifier: Apache-2.0
/**
 * The AWS Query protocol (IAM, STS): form-encoded requests, XML answers in the service's
 * namespace, `<ErrorResponse>` errors.
 * @module
 */
export * from './endpoint.ts'
