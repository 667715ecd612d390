// SPDX-License-Identifier: Apache-2.0
/**
 * A few DOM helpers in place of a framework: `h()` builds elements (text is always a text node,
 * never HTML), `field()` a labelled control, `table()` a sortable, keyboard-usable table.
 * @module
 */

type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>

/** An element with attributes (`on…` are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Child | Child[]>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(typeof c === 'object' ? c : document.createTextNode(String(c)))
  }
  return el
}

let seq = 0
/** A unique element id. */
export function uid(prefix: string): string {
  return `${prefix}-${++seq}`
}

export interface FieldSpec {
  name: string
  label: string
  type?: 'text' | 'number' | 'select' | 'checkbox' | 'datetime-local'
  options?: Array<[string, string]>
  required?: boolean
  placeholder?: string
  value?: string
  help?: string
}

/** A `<label>`led control; its value is read by name from the form. */
export function field(f: FieldSpec): HTMLElement {
  const id = uid(`f-${f.name}`)
  let control: HTMLElement
  if (f.type === 'select') {
    control = h(
      'select',
      { id, name: f.name, required: f.required },
      (f.options ?? []).map(([v, t]) => h('option', { value: v, selected: v === f.value }, t)),
    )
  } else if (f.type === 'checkbox') {
    control = h('input', { id, name: f.name, type: 'checkbox', checked: f.value === 'true' })
  } else {
    control = h('input', {
      id,
      name: f.name,
      type: f.type ?? 'text',
      required: f.required,
      placeholder: f.placeholder,
      value: f.value,
      autocomplete: 'off',
    })
  }
  return h(
    'div',
    { class: f.type === 'checkbox' ? 'field check' : 'field' },
    h(
      'label',
      { for: id },
      f.label,
      f.required ? h('span', { 'aria-hidden': 'true', class: 'req' }, ' *') : null,
    ),
    control,
    f.help !== undefined ? h('small', {}, f.help) : null,
  )
}

/** The form's values by control name (checkboxes as 'true'/'false'; empty fields left out). */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {}
  for (const el of Array.from(form.elements)) {
    const c = el as HTMLInputElement
    if (c.name === '' || c.disabled) continue
    if (c.type === 'checkbox') out[c.name] = c.checked ? 'true' : 'false'
    else if (c.value.trim() !== '') out[c.name] = c.value.trim()
  }
  return out
}

export interface Column<T> {
  label: string
  get: (row: T) => string | number
  /** A cell other than the plain value (a link, a button). */
  render?: (row: T) => Node | string
  numeric?: boolean
}

/**
 * A table whose headers sort it (click or Enter/Space on the header button; again for the other
 * direction). `onOpen` makes each row's first cell a button opening the row.
 */
export function table<T>(
  caption: string,
  cols: Array<Column<T>>,
  rows: T[],
  opts: { onOpen?: (row: T) => void; sortable?: boolean; onSort?: (col: number, desc: boolean) => void } = {},
): HTMLElement {
  let sortCol = -1
  let desc = false
  const tbody = h('tbody')
  const draw = (): void => {
    const data = rows.slice()
    if (sortCol >= 0 && opts.onSort === undefined) {
      const c = cols[sortCol]!
      data.sort((a, b) => {
        const x = c.get(a)
        const y = c.get(b)
        const r = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))
        return desc ? -r : r
      })
    }
    tbody.replaceChildren(
      ...data.map((r) =>
        h(
          'tr',
          {},
          cols.map((c, i) => {
            const content = c.render !== undefined ? c.render(r) : String(c.get(r))
            const cell =
              i === 0 && opts.onOpen !== undefined
                ? h('button', { type: 'button', class: 'link', onclick: () => opts.onOpen!(r) }, content)
                : content
            return h(
              i === 0 ? 'th' : 'td',
              i === 0 ? { scope: 'row' } : { class: c.numeric ? 'num' : '' },
              cell,
            )
          }),
        ),
      ),
    )
    if (data.length === 0)
      tbody.append(h('tr', {}, h('td', { colspan: cols.length, class: 'empty' }, 'None.')))
  }
  const heads = cols.map((c, i) => {
    if (opts.sortable === false) return h('th', { scope: 'col' }, c.label)
    const th = h('th', { scope: 'col', 'aria-sort': 'none' })
    th.append(
      h(
        'button',
        {
          type: 'button',
          class: 'sort',
          onclick: () => {
            desc = sortCol === i ? !desc : false
            sortCol = i
            for (const o of Array.from(th.parentElement!.children)) o.setAttribute('aria-sort', 'none')
            th.setAttribute('aria-sort', desc ? 'descending' : 'ascending')
            if (opts.onSort !== undefined) opts.onSort(i, desc)
            else draw()
          },
        },
        c.label,
      ),
    )
    return th
  })
  draw()
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', {}, h('caption', {}, caption), h('thead', {}, h('tr', {}, heads)), tbody),
  )
}

/** A status line for results and errors (announced to screen readers). */
export function notice(kind: 'error' | 'ok' | 'info', msg: string, code?: string): HTMLElement {
  return h(
    'p',
    { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    code !== undefined ? h('strong', {}, code + ': ') : null,
    msg,
  )
}

/** Bytes in B/KB/MB/GB (decimal). */
export function fmtBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const u = ['KB', 'MB', 'GB', 'TB']
  let v = n
  let i = -1
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000
    i++
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${u[i]}`
}
