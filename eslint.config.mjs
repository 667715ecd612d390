// SPDX-License-Identifier: Apache-2.0
// Lint: typescript-eslint's recommended rules plus the domain boundaries of docs/ARCHITECTURE.md:
// other domains import only `src/<domain>/index.ts`, and lower domains never import higher ones.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** Domains from the bottom (packet) to the top (cli); a domain may import only those before it. */
const ORDER = [
  'runtime',
  'packet',
  'capture',
  'flowlogs',
  'mirror',
  'mirror-target',
  'control',
  'api',
  'agent',
  'analytics',
  'lab',
  'cli',
]

const boundaryConfigs = ORDER.map((domain, i) => {
  const forbidden = ORDER.slice(i + 1)
  const patterns = [
    // Deep imports into another domain are forbidden: go through its index.ts.
    {
      group: ORDER.filter((d) => d !== domain)
        .map((d) => `../${d}/*`)
        .concat(['!../*/index.ts']),
      message: 'import another domain only through its index.ts',
    },
  ]
  if (forbidden.length > 0) {
    patterns.push({
      group: forbidden.map((d) => `../${d}/index.ts`),
      message: `src/${domain} must not import higher domains (${forbidden.join(', ')})`,
    })
  }
  if (domain === 'control') patterns.push({ group: ['../api/*'], message: 'control/ never imports api/' })
  return {
    files: [`src/${domain}/**/*.ts`],
    ignores: [`src/${domain}/**/*.test.ts`, `src/${domain}/testing.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  }
})

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'results/**', '**/testdata/**', 'web/dist/**'] },
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
  ...boundaryConfigs,
)
