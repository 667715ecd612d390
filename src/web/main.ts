// SPDX-License-Identifier: Apache-2.0
/**
 * The console's entry point: sign-in, the navigation, and a router over the location's hash
 * (`#/overview`, `#/resources/<kind>[/<id>]`, `#/flows`, `#/findings[/<id>]`, `#/packets?…`).
 * @module
 */
import 'uplot/dist/uPlot.min.css'
import './console.css'
import { ApiFailure, loadSession, session, setSignedOutHandler, signIn, signOut } from './api.ts'
import { renderFindings } from './findings.ts'
import { renderFlows } from './flows.ts'
import { renderOverview } from './overview.ts'
import { renderPackets } from './packets.ts'
import { renderResources } from './resources.ts'
import { field, formValues, h, notice } from './ui.ts'

const PAGES: Array<[string, string]> = [
  ['overview', 'Overview'],
  ['resources', 'Resources'],
  ['flows', 'Flows'],
  ['findings', 'Findings'],
]

const app = document.getElementById('app')!

function signInView(message?: HTMLElement): void {
  const form = h('form', { class: 'signin', 'aria-labelledby': 'signin-title' }) as HTMLFormElement
  const out = h('div', { 'aria-live': 'polite' }, message ?? null)
  form.append(
    h('h1', { id: 'signin-title' }, 'mirrorflow console'),
    h('p', {}, 'Sign in with an access key. The console acts with exactly that key’s permissions.'),
    field({ name: 'accessKeyId', label: 'Access key ID', required: true }),
    field({ name: 'secretAccessKey', label: 'Secret access key', required: true }),
    h('button', { type: 'submit' }, 'Sign in'),
    out,
  )
  ;(form.querySelector('input[name=secretAccessKey]') as HTMLInputElement).type = 'password'
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const v = formValues(form)
    signIn(v.accessKeyId ?? '', v.secretAccessKey ?? '').then(
      () => {
        if (location.hash === '' || location.hash === '#/') location.hash = '#/overview'
        route()
      },
      (err: unknown) =>
        out.replaceChildren(
          err instanceof ApiFailure ? notice('error', err.message, err.code) : notice('error', String(err)),
        ),
    )
  })
  document.title = 'Sign in · mirrorflow console'
  app.replaceChildren(h('main', { id: 'main' }, form))
  ;(form.querySelector('input') as HTMLInputElement).focus()
}

function shell(page: string): HTMLElement {
  const s = session()!
  const main = h('main', { id: 'main', tabindex: '-1' })
  app.replaceChildren(
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'mirrorflow'),
      h(
        'nav',
        { 'aria-label': 'Pages' },
        h(
          'ul',
          {},
          PAGES.map(([k, t]) =>
            h('li', {}, h('a', { href: `#/${k}`, 'aria-current': k === page ? 'page' : undefined }, t)),
          ),
        ),
      ),
      h(
        'span',
        { class: 'who' },
        h('span', { title: `role ${s.role ?? '?'}` }, s.accessKeyId),
        ' ',
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              void signOut().then(() => signInView(notice('info', 'Signed out.')))
            },
          },
          'Sign out',
        ),
      ),
    ),
    main,
  )
  return main
}

async function route(): Promise<void> {
  if (session() === null) return signInView()
  const [pathPart, queryPart] = location.hash.replace(/^#\/?/, '').split('?') as [string, string | undefined]
  const parts = pathPart
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent)
  const page = parts[0] ?? 'overview'
  const query = new URLSearchParams(queryPart ?? '')
  const title = PAGES.find(([k]) => k === page)?.[1] ?? 'Packets'
  document.title = `${title} · mirrorflow console`
  const main = shell(page)
  try {
    if (page === 'resources') await renderResources(main, parts.slice(1))
    else if (page === 'flows') await renderFlows(main, query)
    else if (page === 'findings') await renderFindings(main, parts.slice(1))
    else if (page === 'packets') await renderPackets(main, query)
    else await renderOverview(main, query)
  } catch (err) {
    main.append(
      err instanceof ApiFailure ? notice('error', err.message, err.code) : notice('error', String(err)),
    )
  }
}

setSignedOutHandler(() => signInView(notice('info', 'The session has ended; sign in again.')))
window.addEventListener('hashchange', () => void route())
loadSession().then(
  () => route(),
  () => signInView(),
)
