#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
/** The `mirrorflow` program: runs the command line on this process's arguments. @module */
import { main } from './main.ts'

await main(process.argv)
