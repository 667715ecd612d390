// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import fc from 'fast-check'
import { compileWildcard, hasWildcard, matchWildcard } from './wildcard.ts'

const m = (pattern: string, text: string): boolean => matchWildcard(compileWildcard(pattern), text)

test('wildcard: * is any run, ? is one character, exact otherwise', () => {
  const cases: [string, string, boolean][] = [
    ['', '', true],
    ['', 'a', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['**', '', true],
    ['?', '', false],
    ['?', 'a', true],
    ['?', 'ab', false],
    ['web-*', 'web-', true],
    ['web-*', 'web-1', true],
    ['web-*', 'xweb-1', false],
    ['*-prod', 'db-prod', true],
    ['*-prod', 'db-prod2', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*ab*ab*', 'abab', true],
    ['*ab*ab*', 'aba', false],
    ['*aab', 'aaab', true],
    ['f?ur', 'four', true],
    ['f?ur', 'fur', false],
    ['*?', '', false],
    ['*?', 'x', true],
    ['?*?', 'x', false],
    ['?*?', 'xy', true],
    ['a.c', 'abc', false],
    ['a.c*', 'a.cd', true],
    ['(x)+[y]$^|{1}', '(x)+[y]$^|{1}', true],
    ['line1*', 'line1\nline2', true],
  ]
  for (const [p, t, want] of cases)
    assert.equal(m(p, t), want, `${JSON.stringify(p)} vs ${JSON.stringify(t)}`)
})

test('wildcard: a backslash makes *, ? and \\ literal; before anything else it is itself', () => {
  // AWS's own example: \*amazon\?\\ is the literal string *amazon?\ .
  assert.equal(m('\\*amazon\\?\\\\', '*amazon?\\'), true)
  assert.equal(m('\\*amazon\\?\\\\', 'Xamazon?\\'), false)
  assert.equal(m('\\*amazon\\?\\\\', '*amazonX\\'), false)
  assert.equal(m('a\\*', 'a*'), true)
  assert.equal(m('a\\*', 'ab'), false)
  assert.equal(m('C:\\temp*', 'C:\\temp\\x'), true)
  assert.equal(m('end\\', 'end\\'), true)
  assert.equal(m('*\\?', 'why?'), true)
  assert.equal(m('*\\?', 'why!'), false)
  assert.equal(hasWildcard('plain'), false)
  assert.equal(hasWildcard('back\\slash'), true)
})

test('wildcard: ? is one Unicode character, not one UTF-16 unit', () => {
  assert.equal(m('a?b', 'a😀b'), true)
  assert.equal(m('a??b', 'a😀b'), false)
  assert.equal(m('*😀?', 'x😀é'), true)
  assert.equal(m('😀*', '😀'), true)
})

test('wildcard: agrees with a reference matcher on random patterns (long segments too)', () => {
  // Reference: dynamic programming over code points, obviously right and O(n·m).
  const ref = (p: string, t: string): boolean => {
    const pt: (string | number)[] = []
    const pc = [...p]
    for (let i = 0; i < pc.length; i++) {
      if (pc[i] === '*') pt.push(1)
      else if (pc[i] === '?') pt.push(2)
      else if (pc[i] === '\\' && i + 1 < pc.length && '*?\\'.includes(pc[i + 1]!)) pt.push(pc[++i]!)
      else pt.push(pc[i]!)
    }
    const tc = [...t]
    let row = new Array<boolean>(tc.length + 1).fill(false)
    row[0] = true
    for (const tok of pt) {
      const next = new Array<boolean>(tc.length + 1).fill(false)
      for (let j = 0; j <= tc.length; j++) {
        if (tok === 1) next[j] = row[j]! || (j > 0 && next[j - 1]!)
        else if (j > 0) next[j] = row[j - 1]! && (tok === 2 || tok === tc[j - 1])
      }
      row = next
    }
    return row[tc.length]!
  }
  const alpha = fc.constantFrom('a', 'b', '😀')
  const text = fc.array(alpha, { maxLength: 60 }).map((a) => a.join(''))
  const pat = fc
    .array(
      fc.constantFrom(
        'a',
        'b',
        '😀',
        '*',
        '?',
        '\\*',
        '\\?',
        '\\\\',
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab',
        '?a'.repeat(40),
      ),
      {
        maxLength: 12,
      },
    )
    .map((a) => a.join(''))
  fc.assert(
    fc.property(pat, text, (p, t) => m(p, t) === ref(p, t)),
    { numRuns: 3000, seed: 9 },
  )
  fc.assert(
    fc.property(pat, pat, (p, t) => m(p, t) === ref(p, t)),
    { numRuns: 2000, seed: 10 },
  )
})

test('wildcard: *a*a*a*a*b (and worse) against 255 characters finishes (was a ReDoS)', async () => {
  // Through the Describe filter path, exactly where the regular expression was. The match runs in
  // a worker so that a blocked event loop fails the test instead of hanging it: with the old
  // RegExp (`^.*a.*a.*a.*a.*b$`) one such match took minutes; now all of them take microseconds.
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads')
    import('tsx/esm/api').then((tsx) => { tsx.register(); return import(workerData.url) }).then(({ compileFilters }) => {
      const match = compileFilters([{ name: 'description', values: workerData.patterns }], {
        description: (r) => r.d,
      })
      const out = []
      for (const d of workerData.texts) out.push(match({ tags: [], d }))
      parentPort.postMessage(out)
    })
    `,
    {
      eval: true,
      workerData: {
        url: new URL('./describe.ts', import.meta.url).href,
        patterns: [
          '*a*a*a*a*b',
          '*a*a*a*a*a*a*a*a*a*a*a*a*b',
          `*${'a'.repeat(100)}b*`,
          `*${'?'.repeat(120)}b`,
          `${'*?'.repeat(60)}b`,
        ],
        texts: ['a'.repeat(255), 'a'.repeat(254) + 'c', 'a'.repeat(254) + 'b'],
      },
    },
  )
  try {
    const result = await Promise.race([
      new Promise((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
      }),
      new Promise((resolve) => setTimeout(() => resolve('blocked'), 15_000).unref()),
    ])
    assert.deepEqual(result, [false, false, true])
  } finally {
    await worker.terminate()
  }
})
