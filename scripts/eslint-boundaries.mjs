// SPDX-License-Identifier: Apache-2.0
// The domain-boundary lint rule, `mirrorflow/boundaries` (docs/architecture.md, "Dependency order").
//
// src/ holds one folder per domain, ordered from the bottom (packet) to the top (cli). For every module
// reference in a source file — import and export declarations, `import()` expressions, `import type`,
// `typeof import('…')` types — the rule asks TypeScript's type checker which file the reference resolves
// to (so it sees through any folder depth, `../../`, re-exports and type-only imports, exactly as the
// compiler does), and reports:
//   - a reference into another domain that is not that domain's `index.ts` (deep import);
//   - a reference to a domain above the file's own in the order (upward import);
//   - a reference to, or a file in, a src/ folder that is not in the order (add it, at its level);
//   - a reference from a top-level src/*.ts file (shared by every domain) into any domain.
// Files directly in src/ (errors.ts, version.ts, entry-points.ts) may be imported from anywhere.
// Test files and `testing.ts` helpers are not checked (config: ignores).
import { dirname, relative, resolve, sep } from 'node:path'
import ts from 'typescript'

/** @param {string} file @param {string} srcDir @returns {{ domain: string | null, rest: string } | null} */
function locate(file, srcDir) {
  const rel = relative(srcDir, file)
  if (rel.startsWith('..') || rel === '' || rel.startsWith(sep)) return null
  const parts = rel.split(sep)
  if (parts.length === 1) return { domain: null, rest: parts[0] }
  return { domain: parts[0], rest: parts.slice(1).join('/') }
}

/** The file a module reference resolves to: the checker's module symbol, else TypeScript's resolver. */
function resolveReference(literal, services, fileName) {
  const checker = services.program.getTypeChecker()
  const tsNode = services.esTreeNodeToTSNodeMap.get(literal)
  const sym = tsNode === undefined ? undefined : checker.getSymbolAtLocation(tsNode)
  const decl = sym?.valueDeclaration ?? sym?.declarations?.[0]
  if (decl !== undefined && ts.isSourceFile(decl)) return decl.fileName
  const r = ts.resolveModuleName(literal.value, fileName, services.program.getCompilerOptions(), ts.sys)
  if (r.resolvedModule !== undefined) return r.resolvedModule.resolvedFileName
  // Unresolvable (a missing file): judge the path as written.
  return literal.value.startsWith('.') ? resolve(dirname(fileName), literal.value) : null
}

/** @type {import('eslint').Rule.RuleModule} */
const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ domains import lower domains only, and only through their index.ts' },
    schema: [
      {
        type: 'object',
        properties: {
          order: { type: 'array', items: { type: 'string' } },
          srcDir: { type: 'string' },
        },
        required: ['order', 'srcDir'],
        additionalProperties: false,
      },
    ],
    messages: {
      deep: "'{{spec}}' reaches inside src/{{target}}/: import another domain only through its index.ts",
      upward:
        "src/{{own}} must not import src/{{target}} ('{{spec}}'): {{target}} is above {{own}} in the order",
      unknownTarget: "'{{spec}}' resolves into src/{{target}}/, which is not in the domain order: add it",
      unknownOwn: 'src/{{own}}/ is not in the domain order: add it to the boundary rule',
      rootImport: "top-level src/{{file}} must not import a domain ('{{spec}}'): it is shared by all of them",
    },
  },
  create(context) {
    const { order, srcDir } = context.options[0]
    const fileName = context.filename
    const own = locate(fileName, srcDir)
    if (own === null) return {}
    const services = context.sourceCode.parserServices
    if (services?.program == null) {
      throw new Error('mirrorflow/boundaries needs type information (parserOptions.projectService)')
    }
    let reportedOwn = false
    /** @param {import('estree').Node | null | undefined} literal */
    function check(literal) {
      if (literal == null || literal.type !== 'Literal' || typeof literal.value !== 'string') return
      const target = resolveReference(literal, services, fileName)
      if (target === null) return
      const t = locate(target, srcDir)
      if (t === null || t.domain === null || t.domain === own.domain) return
      const data = { spec: literal.value, own: own.domain ?? '', target: t.domain, file: own.rest }
      if (own.domain === null) return context.report({ node: literal, messageId: 'rootImport', data })
      if (!order.includes(own.domain)) {
        if (!reportedOwn) context.report({ node: literal, messageId: 'unknownOwn', data })
        reportedOwn = true
        return
      }
      if (!order.includes(t.domain))
        return context.report({ node: literal, messageId: 'unknownTarget', data })
      if (order.indexOf(t.domain) > order.indexOf(own.domain)) {
        return context.report({ node: literal, messageId: 'upward', data })
      }
      if (t.rest !== 'index.ts') context.report({ node: literal, messageId: 'deep', data })
    }
    return {
      ImportDeclaration: (n) => check(n.source),
      ExportNamedDeclaration: (n) => check(n.source),
      ExportAllDeclaration: (n) => check(n.source),
      ImportExpression: (n) => check(n.source),
      TSImportType: (n) => check(n.argument?.type === 'TSLiteralType' ? n.argument.literal : n.argument),
      TSExternalModuleReference: (n) => check(n.expression),
    }
  },
}

export const plugin = { meta: { name: 'mirrorflow' }, rules: { boundaries } }

/**
 * The flat-config entries that apply the rule to `srcDir` (absolute) with the given domain order.
 * `tsconfigRootDir` is where the TypeScript project service looks for tsconfig.json.
 */
export function boundaryConfig({ order, srcDir, tsconfigRootDir }) {
  const files = [`${relative(tsconfigRootDir, srcDir) || '.'}/**/*.ts`]
  return [
    { files, languageOptions: { parserOptions: { projectService: true, tsconfigRootDir } } },
    {
      files,
      ignores: ['**/*.test.ts', '**/testing.ts'],
      plugins: { mirrorflow: plugin },
      rules: { 'mirrorflow/boundaries': ['error', { order, srcDir }] },
    },
  ]
}
