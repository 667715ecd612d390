// SPDX-License-Identifier: Apache-2.0
/** mirrorflow's version, as in package.json (a unit test keeps the two equal). @module */
export const VERSION = '0.1.0'
