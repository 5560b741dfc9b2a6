import { CSRF_FIELD } from '../plugins/csrf.js';
import { html, type SafeHtml } from '../plugins/html.js';
import type { AdminSessionData } from './context.js';
import { icon, type IconName } from './icons.js';
import type { Badge } from './nav.js';

/**
 * The console's building blocks, all server-rendered with `html` (every interpolation escaped).
 * Pages are made of these so that they look alike and stay accessible: labels on every control,
 * `aria-current`/`aria-sort`, focus styles and keyboard-reachable menus.
 */

type Content = SafeHtml | string | null | undefined | false | readonly (SafeHtml | string | null | undefined | false)[];

export const csrfField = (token: string) => html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;

export const badge = (b: Badge | undefined) => (b ? html`<span class="badge badge-${b.toLowerCase()}">${b}</span>` : '');

export type PillKind = 'ok' | 'warn' | 'bad' | 'muted' | 'info';
export const pill = (text: string, kind: PillKind = 'muted') => html`<span class="pill pill-${kind}">${text}</span>`;

export function initials(name: string): string {
  const words = name.replace(/@.*$/, '').split(/[\s._-]+/).filter(Boolean);
  const letters = words.length >= 2 ? words[0]![0]! + words[1]![0]! : (words[0] ?? '?').slice(0, 2);
  return letters.toUpperCase();
}

export const avatar = (name: string, size: 'sm' | 'lg' = 'sm') => html`<span class="avatar avatar-${size}" aria-hidden="true">${initials(name)}</span>`;

export function flashBox(flash: AdminSessionData['flash'] | undefined): SafeHtml | '' {
  if (!flash) return '';
  const i: IconName = flash.kind === 'error' ? 'alert' : flash.kind === 'ok' ? 'check' : 'info';
  return html`<div class="notice notice-${flash.kind}" role="${flash.kind === 'error' ? 'alert' : 'status'}">${icon(i)}<span>${flash.text}</span></div>`;
}

export interface Crumb {
  label: string;
  href?: string;
}

export function pageHeader(o: { title: string; subtitle?: Content; crumbs?: Crumb[]; actions?: Content; lead?: Content }): SafeHtml {
  return html`<div class="page-head">
  ${o.crumbs && o.crumbs.length > 0 ? html`<nav class="crumbs" aria-label="Breadcrumb"><ol>${o.crumbs.map((c) => html`<li>${c.href ? html`<a href="${c.href}">${c.label}</a>` : html`<span aria-current="page">${c.label}</span>`}</li>`)}</ol></nav>` : ''}
  <div class="page-title-row">
    ${o.lead ?? ''}
    <div class="page-title"><h1>${o.title}</h1>${o.subtitle ? html`<p class="subtitle">${o.subtitle}</p>` : ''}</div>
    ${o.actions ? html`<div class="page-actions">${o.actions}</div>` : ''}
  </div>
</div>`;
}

export interface FieldOptions {
  label: string;
  name: string;
  value?: string | number;
  type?: 'text' | 'email' | 'password' | 'number' | 'url';
  hint?: string;
  error?: string;
  required?: boolean;
  autocomplete?: string;
  placeholder?: string;
  min?: number;
  max?: number;
  id?: string;
  readonly?: boolean;
  inputmode?: string;
  wide?: boolean;
  autofocus?: boolean;
}

export function textField(o: FieldOptions): SafeHtml {
  const id = o.id ?? `f-${o.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  const described = [o.hint ? `${id}-hint` : '', o.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field${o.wide ? ' field-wide' : ''}${o.error ? ' has-error' : ''}">
  <label for="${id}"${o.required ? html` class="required"` : ''}>${o.label}</label>
  <input id="${id}" name="${o.name}" type="${o.type ?? 'text'}" value="${o.value ?? ''}"${o.required ? html` required` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.placeholder ? html` placeholder="${o.placeholder}"` : ''}${o.min !== undefined ? html` min="${o.min}"` : ''}${o.max !== undefined ? html` max="${o.max}"` : ''}${o.readonly ? html` readonly` : ''}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''}${o.autofocus ? html` autofocus` : ''}${described ? html` aria-describedby="${described}"` : ''}${o.error ? html` aria-invalid="true"` : ''}>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  ${o.error ? html`<p class="field-error" id="${id}-error">${o.error}</p>` : ''}
</div>`;
}

export function textArea(o: Omit<FieldOptions, 'type'> & { rows?: number; mono?: boolean }): SafeHtml {
  const id = o.id ?? `f-${o.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  return html`<div class="field field-wide${o.error ? ' has-error' : ''}">
  <label for="${id}">${o.label}</label>
  <textarea id="${id}" name="${o.name}" rows="${o.rows ?? 4}"${o.mono ? html` class="mono"` : ''}${o.placeholder ? html` placeholder="${o.placeholder}"` : ''}${o.hint ? html` aria-describedby="${id}-hint"` : ''}${o.error ? html` aria-invalid="true"` : ''}${o.readonly ? html` readonly` : ''}>${o.value ?? ''}</textarea>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  ${o.error ? html`<p class="field-error">${o.error}</p>` : ''}
</div>`;
}

export function checkField(o: { label: string; name: string; checked: boolean; hint?: string; value?: string; id?: string; disabled?: boolean }): SafeHtml {
  const id = o.id ?? `f-${o.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  return html`<div class="field field-check">
  <input type="checkbox" id="${id}" name="${o.name}" value="${o.value ?? 'on'}"${o.checked ? html` checked` : ''}${o.disabled ? html` disabled` : ''}${o.hint ? html` aria-describedby="${id}-hint"` : ''}>
  <label for="${id}">${o.label}</label>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
</div>`;
}

export function selectField(o: { label: string; name: string; value: string; options: { value: string; label: string }[]; hint?: string; id?: string; error?: string }): SafeHtml {
  const id = o.id ?? `f-${o.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  return html`<div class="field${o.error ? ' has-error' : ''}">
  <label for="${id}">${o.label}</label>
  <select id="${id}" name="${o.name}"${o.hint ? html` aria-describedby="${id}-hint"` : ''}>${o.options.map((x) => html`<option value="${x.value}"${x.value === o.value ? html` selected` : ''}>${x.label}</option>`)}</select>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  ${o.error ? html`<p class="field-error">${o.error}</p>` : ''}
</div>`;
}

/** A form that posts one action (a button), with the CSRF token. `confirm` asks first (console.js). */
export function actionForm(o: { action: string; csrf: string; label: string; kind?: 'primary' | 'secondary' | 'danger'; confirm?: string; icon?: IconName; hidden?: Record<string, string> }): SafeHtml {
  return html`<form method="post" action="${o.action}" class="inline-form"${o.confirm ? html` data-confirm="${o.confirm}"` : ''}>
  ${csrfField(o.csrf)}${Object.entries(o.hidden ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
  <button type="submit" class="btn btn-${o.kind ?? 'secondary'}">${o.icon ? icon(o.icon) : ''}<span>${o.label}</span></button>
</form>`;
}

export const linkButton = (href: string, label: string, kind: 'primary' | 'secondary' = 'primary', i?: IconName) =>
  html`<a class="btn btn-${kind}" href="${href}">${i ? icon(i) : ''}<span>${label}</span></a>`;

export function tabs(items: { label: string; href: string; current: boolean; count?: number }[], label = 'Sections'): SafeHtml {
  return html`<nav class="tabs" aria-label="${label}"><ul>${items.map(
    (t) => html`<li><a href="${t.href}"${t.current ? html` aria-current="page" class="current"` : ''}>${t.label}${t.count !== undefined ? html` <span class="count">${t.count}</span>` : ''}</a></li>`,
  )}</ul></nav>`;
}

export function emptyState(o: { title: string; text: string; action?: Content; icon?: IconName }): SafeHtml {
  return html`<div class="empty">${icon(o.icon ?? 'search', 'empty-icon')}<h2>${o.title}</h2><p>${o.text}</p>${o.action ?? ''}</div>`;
}

export function card(o: { title?: string; id?: string; actions?: Content; body: Content; cls?: string; description?: Content }): SafeHtml {
  return html`<section class="card ${o.cls ?? ''}"${o.id ? html` id="${o.id}"` : ''}${o.title ? html` aria-labelledby="${o.id ?? ''}h"` : ''}>
  ${o.title ? html`<div class="card-head"><h2 id="${o.id ?? ''}h">${o.title}</h2>${o.actions ? html`<div class="card-actions">${o.actions}</div>` : ''}</div>` : ''}
  ${o.description ? html`<p class="card-desc">${o.description}</p>` : ''}
  ${o.body}
</section>`;
}

/** A definition list of label → value. */
export function facts(rows: [string, Content][]): SafeHtml {
  return html`<dl class="facts">${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v === '' || v === null || v === undefined ? html`<span class="muted">—</span>` : v}</dd></div>`)}</dl>`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12 Nov 2026, 14:03 UTC` (the appliance shows UTC everywhere, like its logs). */
export function fmtDate(d: Date | string | null | undefined, withTime = true, seconds = false): string {
  if (!d) return '';
  const x = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(x.getTime())) return '';
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${x.getUTCDate()} ${MONTHS[x.getUTCMonth()]} ${x.getUTCFullYear()}`;
  return withTime ? `${date}, ${two(x.getUTCHours())}:${two(x.getUTCMinutes())}${seconds ? `:${two(x.getUTCSeconds())}` : ''} UTC` : date;
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A time element with the exact time as its title. */
export const when = (d: Date | string | null | undefined) =>
  d ? html`<time datetime="${typeof d === 'string' ? d : d.toISOString()}" title="${fmtDate(d)}">${fmtDate(d)}</time>` : html`<span class="muted">—</span>`;

// ---------------------------------------------------------------- lists

export interface ListState {
  q: string;
  view: string;
  sort: string;
  desc: boolean;
  page: number;
  size: number;
}

export const PAGE_SIZES = [25, 50, 100] as const;

/** Reads a list's query parameters, falling back to defaults for anything not offered. */
export function parseListState(
  query: unknown,
  o: { views: readonly string[]; sorts: readonly string[]; defaultSort: string; pageSize: number },
): ListState {
  const get = (k: string) => {
    const v = query && typeof query === 'object' ? (query as Record<string, unknown>)[k] : undefined;
    return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
  };
  const rawSort = get('sort');
  const desc = rawSort.startsWith('-');
  const sortKey = rawSort.replace(/^-/, '');
  const size = Number(get('size'));
  const page = Number(get('page'));
  return {
    q: get('q').slice(0, 200),
    view: o.views.includes(get('view')) ? get('view') : (o.views[0] ?? 'all'),
    sort: o.sorts.includes(sortKey) ? sortKey : o.defaultSort,
    desc: o.sorts.includes(sortKey) ? desc : false,
    page: Number.isInteger(page) && page >= 1 && page <= 1_000_000 ? page : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : o.pageSize,
  };
}

/** The URL of a list with some of its parameters changed (defaults left out, so URLs stay short). */
export function listHref(base: string, s: ListState, patch: Partial<ListState> = {}): string {
  const n = { ...s, ...patch };
  const p = new URLSearchParams();
  if (n.q) p.set('q', n.q);
  if (n.view && n.view !== 'all') p.set('view', n.view);
  p.set('sort', `${n.desc ? '-' : ''}${n.sort}`);
  if (n.page > 1) p.set('page', String(n.page));
  p.set('size', String(n.size));
  return `${base}?${p.toString()}`;
}

/** A column header that sorts the list (aria-sort tells screen readers the current order). */
export function sortHeader(label: string, key: string, base: string, s: ListState): SafeHtml {
  const active = s.sort === key;
  const next = listHref(base, s, { sort: key, desc: active ? !s.desc : false, page: 1 });
  return html`<th scope="col"${active ? html` aria-sort="${s.desc ? 'descending' : 'ascending'}"` : ''}><a href="${next}" class="sort${active ? ' active' : ''}">${label}<span class="sort-mark" aria-hidden="true">${active ? (s.desc ? '▼' : '▲') : '↕'}</span></a></th>`;
}

export function pager(base: string, s: ListState, total: number, label: string): SafeHtml {
  const pages = Math.max(1, Math.ceil(total / s.size));
  const page = Math.min(s.page, pages);
  const from = total === 0 ? 0 : (page - 1) * s.size + 1;
  const to = Math.min(total, page * s.size);
  return html`<nav class="pager" aria-label="${label} pages">
  <span class="range" role="status">${fmtCount(from)}–${fmtCount(to)} of ${fmtCount(total)}</span>
  <span class="sizes">Rows per page: ${PAGE_SIZES.map((n) => (n === s.size ? html`<strong aria-current="true">${n}</strong>` : html`<a href="${listHref(base, s, { size: n, page: 1 })}">${n}</a>`))}</span>
  <span class="pages">
    ${page > 1 ? html`<a class="btn btn-icon" href="${listHref(base, s, { page: page - 1 })}" aria-label="Previous page">${icon('chevronLeft')}</a>` : html`<span class="btn btn-icon disabled" aria-hidden="true">${icon('chevronLeft')}</span>`}
    <span>Page ${fmtCount(page)} of ${fmtCount(pages)}</span>
    ${page < pages ? html`<a class="btn btn-icon" href="${listHref(base, s, { page: page + 1 })}" aria-label="Next page">${icon('chevronRight')}</a>` : html`<span class="btn btn-icon disabled" aria-hidden="true">${icon('chevronRight')}</span>`}
  </span>
</nav>`;
}

/** The search box and "Filter by" menu of a list (a GET form: lists are bookmarkable). */
export function listToolbar(o: {
  base: string;
  state: ListState;
  searchLabel: string;
  views: readonly string[];
  viewLabels: Record<string, string>;
  viewCounts?: Record<string, number>;
  extra?: Content;
}): SafeHtml {
  const s = o.state;
  return html`<div class="list-toolbar">
  <form method="get" action="${o.base}" class="search-form" role="search">
    <label class="visually-hidden" for="list-search">${o.searchLabel}</label>
    <span class="search-box">${icon('search')}<input id="list-search" type="search" name="q" value="${s.q}" placeholder="${o.searchLabel}" autocomplete="off"></span>
    ${s.view !== 'all' ? html`<input type="hidden" name="view" value="${s.view}">` : ''}
    <input type="hidden" name="sort" value="${s.desc ? '-' : ''}${s.sort}"><input type="hidden" name="size" value="${s.size}">
    <button type="submit" class="btn btn-secondary">Search</button>
  </form>
  <details class="menu filter-menu" data-menu>
    <summary class="btn btn-secondary" aria-haspopup="menu">${icon('filter')}<span>Filter by${s.view !== 'all' ? html`: <strong>${o.viewLabels[s.view] ?? s.view}</strong>` : ''}</span>${icon('chevron', 'chev')}</summary>
    <ul class="menu-list" role="menu" aria-label="Filter by">
      ${o.views.map(
        (v) =>
          html`<li role="none"><a role="menuitemradio" aria-checked="${v === s.view ? 'true' : 'false'}" href="${listHref(o.base, s, { view: v, page: 1 })}">${o.viewLabels[v] ?? v}${o.viewCounts?.[v] !== undefined ? html` <span class="count">${fmtCount(o.viewCounts[v]!)}</span>` : ''}</a></li>`,
      )}
    </ul>
  </details>
  ${s.view !== 'all' ? html`<a class="chip" href="${listHref(o.base, s, { view: 'all', page: 1 })}" aria-label="Remove filter ${o.viewLabels[s.view] ?? s.view}">${o.viewLabels[s.view] ?? s.view} ${icon('x')}</a>` : ''}
  ${s.q ? html`<a class="chip" href="${listHref(o.base, s, { q: '', page: 1 })}" aria-label="Clear search ${s.q}">“${s.q}” ${icon('x')}</a>` : ''}
  ${o.extra ? html`<span class="toolbar-end">${o.extra}</span>` : ''}
</div>`;
}

/**
 * The "More actions" menu of a list: greyed out (console.js) until a row is selected; each entry
 * submits the selection with its action. Without script the menu works and the server checks.
 */
export function moreActions(actions: readonly string[], labels: Record<string, string>, formId: string): SafeHtml {
  return html`<details class="menu more-actions" data-menu data-requires-selection="${formId}">
  <summary class="btn btn-secondary" aria-haspopup="menu">More actions${icon('chevron', 'chev')}</summary>
  <ul class="menu-list" role="menu" aria-label="More actions">
    ${actions.map((a) => html`<li role="none"><button type="submit" form="${formId}" name="action" value="${a}" role="menuitem">${labels[a] ?? a}</button></li>`)}
  </ul>
</details>`;
}

/** The selection checkbox of a row, and the select-all of the page. */
export const rowCheck = (formId: string, id: string, name: string) =>
  html`<td class="check"><input type="checkbox" name="ids" value="${id}" form="${formId}" aria-label="Select ${name}" data-row-check></td>`;
export const allCheck = (formId: string) =>
  html`<th scope="col" class="check"><input type="checkbox" aria-label="Select all on this page" data-select-all="${formId}"></th>`;

/** Per-item results of a bulk action. */
export function bulkResults(o: { title: string; results: { id: string; name: string; status: 'done' | 'skipped' | 'failed'; message: string }[]; itemHref: (id: string) => string; back: string; backLabel: string }): SafeHtml {
  const n = (st: string) => o.results.filter((r) => r.status === st).length;
  return html`<div class="bulk-summary" role="status">
  <span class="pill pill-ok">${n('done')} done</span> <span class="pill pill-muted">${n('skipped')} skipped</span> <span class="pill pill-bad">${n('failed')} failed</span>
</div>
<div class="table-wrap"><table class="data-table">
  <caption class="visually-hidden">${o.title}: result per item</caption>
  <thead><tr><th scope="col">Item</th><th scope="col">Result</th><th scope="col">Details</th></tr></thead>
  <tbody>${o.results.map(
    (r) =>
      html`<tr class="result-${r.status}"><td><a href="${o.itemHref(r.id)}">${r.name}</a></td><td>${pill(r.status === 'done' ? 'Done' : r.status === 'skipped' ? 'Skipped' : 'Failed', r.status === 'done' ? 'ok' : r.status === 'skipped' ? 'muted' : 'bad')}</td><td>${r.message}</td></tr>`,
  )}</tbody>
</table></div>
<p class="form-actions"><a class="btn btn-primary" href="${o.back}">${o.backLabel}</a></p>`;
}
