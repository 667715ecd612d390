// SPDX-License-Identifier: Apache-2.0
// Lint: typescript-eslint's recommended rules plus the domain boundaries of docs/architecture.md
// (scripts/eslint-boundaries.mjs, type-aware): a file in src/<domain>/, at any depth, imports another
// domain only through its index.ts, and only a domain below its own in ORDER.
import js from '@eslint/js'
import { join } from 'node:path'
import tseslint from 'typescript-eslint'
import { boundaryConfig } from './scripts/eslint-boundaries.mjs'

/** Domains from the bottom (packet) to the top (cli); a domain may import only those before it. */
const ORDER = [
  'web',
  'runtime',
  'packet',
  'capture',
  'flowlogs',
  'logs',
  'mirror',
  'policy',
  'mirror-target',
  'control',
  'api',
  'agent',
  'analytics',
  'lab',
  'cli',
]

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'results/**',
      '**/testdata/**',
      'web/dist/**',
      'test/lint/fixture/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...boundaryConfig({
    order: ORDER,
    srcDir: join(import.meta.dirname, 'src'),
    tsconfigRootDir: import.meta.dirname,
  }),
)
